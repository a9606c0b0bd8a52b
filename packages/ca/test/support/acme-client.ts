// The npm package acme-client as the tests drive it: trusting the CA's HTTPS, and http-01 answered by the test's
// own responder.
import https from 'node:https';
import acme from 'acme-client';
import type { Http01Responder } from './acme.js';

/** acme-client talks through its own axios instance: this agent makes it trust `caPem`. Destroy it after the test. */
export function trustForAcmeClient(caPem: string | Buffer, options: https.AgentOptions = {}): https.Agent {
  const agent = new https.Agent({ ...options, ca: caPem });
  acme.axios.defaults.httpsAgent = agent;
  return agent;
}

/** auto() options for http-01 served by `responder`. */
export function http01Through(responder: Pick<Http01Responder, 'set' | 'delete'>) {
  return {
    challengePriority: ['http-01'],
    // acme-client would otherwise fetch the challenge itself through the system resolver on port 80.
    skipChallengeVerification: true,
    challengeCreateFn: async (_authz: unknown, challenge: { token: string }, keyAuthorization: string) => responder.set(challenge.token, keyAuthorization),
    challengeRemoveFn: async (_authz: unknown, challenge: { token: string }) => responder.delete(challenge.token),
  };
}

/** One certificate for `name` (fresh P-256 key) through acme-client's auto() over http-01; the chain PEM. */
export async function issueWithAcmeClient(client: acme.Client, responder: Pick<Http01Responder, 'set' | 'delete'>, name: string): Promise<string> {
  const [, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, await acme.crypto.createPrivateEcdsaKey());
  return client.auto({ csr, termsOfServiceAgreed: true, ...http01Through(responder) });
}
