// Registration authority: the decisions, split by job as Boulder's RA is. Each job loads what it decides on (the WFE
// hands over IDs, not objects), asks policy what is allowed, the VA to prove control and check CAA, the issuer to
// lint and sign, the rate limiter what is left, and the SA to remember.
import { Accounts } from './accounts.js';
import { RenewalInfo } from './ari.js';
import { Authorizations } from './authorizations.js';
import { Certificates } from './certificates.js';
import type { RaContext } from './context.js';
import { Finalizer } from './finalize.js';
import { Orders } from './orders.js';
import { Revocation } from './revocation.js';

export { checkContacts, publicPart } from './accounts.js';
export { keyAuthorization } from './authorizations.js';
export type { RaContext, RaSettings } from './context.js';
export { Profiles, brMaxValidityMs, type Profile } from './profiles.js';

export class RegistrationAuthority {
  readonly accounts: Accounts;
  readonly orders: Orders;
  readonly authorizations: Authorizations;
  readonly finalizer: Finalizer;
  readonly revocation: Revocation;
  readonly certificates: Certificates;
  readonly renewalInfo: RenewalInfo;

  constructor(readonly context: RaContext) {
    this.renewalInfo = new RenewalInfo(context);
    this.accounts = new Accounts(context);
    this.orders = new Orders(context, this.renewalInfo);
    this.authorizations = new Authorizations(context);
    this.finalizer = new Finalizer(context, this.renewalInfo);
    this.revocation = new Revocation(context);
    this.certificates = new Certificates(context);
  }

  /** Waits for validations in flight. */
  close(): Promise<void> {
    return this.authorizations.close();
  }
}
