// Web front end: the ACME HTTP API (RFC 8555 §7) on fastify. It authenticates requests (JWS, nonce, url, account),
// shapes JSON and headers, and leaves every decision to the RA.
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Logger } from 'pino';
import type { KeyObject } from 'node:crypto';
import {
  AcmeProblem,
  type Account,
  type Authorization,
  type Challenge,
  type Order,
} from '../core/index.js';
import type { RegistrationAuthority } from '../ra/index.js';
import { isTransientDatabaseError } from '../sa/index.js';
import {
  AccountKeyCache,
  decodePayload,
  importAccountJwk,
  parseJws,
  verifyExternalAccountBinding,
  verifySignature,
} from './jws.js';
import type { NonceStore } from './nonces.js';
import type { Faults } from '../testmode/faults.js';
import { observeHttpRequest } from '../core/metrics.js';

export interface WfeOptions {
  ra: RegistrationAuthority;
  https: { key: string; cert: string };
  logger: Logger;
  meta: {
    termsOfService?: string;
    website?: string;
    caaIdentities: string[];
    /** name → description (draft-ietf-acme-profiles). */
    profiles: Record<string, string>;
  };
  externalAccountBinding?: { required: boolean; keys: Record<string, string> };
  /** In memory for one front end, or shared (Redis) by several; the caller opens and closes it. */
  nonces: NonceStore;
  /** Test mode's fault knobs (refused nonces, serverInternal, dropped connections, slow answers): clients' retries. */
  faults?: Pick<Faults, 'rejectNonce' | 'beforeRequest'>;
}

const ORDERS_PAGE = 100;
const POST_ONLY = /^\/acme\/(new-acct|new-order|revoke-cert|key-change|acct|order|authz|chall|cert)(\/|$|\?)/;

type AuthMode = 'kid' | 'jwk' | 'either';

interface Authenticated {
  payload: unknown;
  account?: Account;
  jwk?: JWK;
  thumbprint?: string;
  url: string;
}

const paths = {
  directory: '/directory',
  newNonce: '/acme/new-nonce',
  newAccount: '/acme/new-acct',
  newOrder: '/acme/new-order',
  revokeCert: '/acme/revoke-cert',
  keyChange: '/acme/key-change',
  account: (id: string) => `/acme/acct/${id}`,
  orders: (id: string) => `/acme/acct/${id}/orders`,
  order: (id: string) => `/acme/order/${id}`,
  finalize: (id: string) => `/acme/order/${id}/finalize`,
  authz: (id: string) => `/acme/authz/${id}`,
  challenge: (authzId: string, id: string) => `/acme/chall/${authzId}/${id}`,
  certificate: (id: string, alternate?: number) => (alternate ? `/acme/cert/${id}/${alternate}` : `/acme/cert/${id}`),
  issuer: (name: string) => `/acme/issuer/${name}`,
  renewalInfo: '/acme/renewal-info',
};

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildWfe(options: WfeOptions) {
  const { ra, nonces } = options;
  const keyCache = new AccountKeyCache();
  const app = Fastify({
    https: { key: options.https.key, cert: options.https.cert },
    loggerInstance: options.logger,
    bodyLimit: 256 * 1024,
    keepAliveTimeout: 30_000,
  });

  const origin = (request: FastifyRequest): string => `https://${request.headers.host ?? `${request.hostname}`}`;
  const requestUrl = (request: FastifyRequest): string => origin(request) + request.url;
  const accountUrl = (request: FastifyRequest, id: string) => origin(request) + paths.account(id);

  // ACME bodies are application/jose+json only (RFC 8555 §6.2); without other parsers fastify answers 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/jose+json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new AcmeProblem('malformed', 'the request body is not valid JSON'), undefined);
    }
  });

  const { faults } = options;
  if (faults) {
    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0];
      const fault = await faults.beforeRequest(path === paths.directory || path === paths.newNonce);
      if (fault === 'serverInternal') throw new AcmeProblem('serverInternal', 'test mode\'s serverInternalPercent failed this request on purpose; please retry');
      if (fault === 'connectionReset') {
        reply.hijack();
        request.raw.socket.destroy();
      }
    });
  }

  // Labelled by route pattern, not URL: order and authorization IDs would make every request a new time series.
  app.addHook('onResponse', async (request, reply) => {
    observeHttpRequest(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
  });

  // Every response names the directory; every POST response carries a fresh nonce (RFC 8555 §6.5).
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('Link', mergeLinks(reply.getHeader('Link'), `<${origin(request)}${paths.directory}>;rel="index"`));
    if (request.method === 'POST') {
      // A response without a nonce is still the right answer; the client's next step is newNonce, which says why.
      await nonces.issue().then(
        // Braces: FastifyReply is a thenable that settles when the response is sent, so returning it from this
        // callback would make the hook wait for its own response (every POST hung until the client gave up).
        (nonce) => {
          reply.header('Replay-Nonce', nonce);
        },
        (err: unknown) => request.log.error({ err }, 'the nonce store failed; the response goes out without Replay-Nonce'),
      );
    }
    reply.header('Cache-Control', reply.getHeader('Cache-Control') ?? 'no-store');
    return payload;
  });

  const sendProblem = (reply: FastifyReply, problem: AcmeProblem) => {
    for (const [name, value] of Object.entries(problem.headers ?? {})) reply.header(name, value);
    return reply.code(problem.status).type('application/problem+json').send(problem.toDocument());
  };

  app.setErrorHandler((error: any, request, reply) => {
    if (error instanceof AcmeProblem) return sendProblem(reply, error);
    const status = typeof error?.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      const detail = error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? 'ACME requests must have Content-Type: application/jose+json'
        : String(error.message ?? 'bad request');
      return sendProblem(reply, new AcmeProblem('malformed', detail, { status }));
    }
    request.log.error({ err: error, url: request.url }, 'internal error');
    const problem = new AcmeProblem('serverInternal', 'the server hit an internal error; please retry');
    // The database was briefly away (restart, failover, killed connection): the same request, sent again, can succeed.
    if (isTransientDatabaseError(error)) problem.headers = { 'Retry-After': '1' };
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) => {
    // RFC 8555 §6.3: resources fetched by POST-as-GET answer a plain GET with 405.
    if ((request.method === 'GET' || request.method === 'HEAD') && POST_ONLY.test(request.url)) {
      reply.header('Allow', 'POST');
      return sendProblem(reply, new AcmeProblem('malformed', `${request.url} is fetched with POST-as-GET, not ${request.method}`, { status: 405 }));
    }
    return sendProblem(reply, new AcmeProblem('malformed', `no ACME resource at ${request.method} ${request.url}`, { status: 404 }));
  });

  const nonceStoreDown = () => new AcmeProblem('serverInternal', 'the nonce store is unavailable; please retry');
  // Fails closed: a nonce that cannot be checked could be a replay.
  const redeemNonce = (nonce: string) =>
    nonces.redeem(nonce).catch((err: unknown) => {
      options.logger.error({ err }, 'the nonce store failed; the request was refused');
      throw nonceStoreDown();
    });
  const issueNonce = () =>
    nonces.issue().catch((err: unknown) => {
      options.logger.error({ err }, 'the nonce store failed; newNonce was refused');
      throw nonceStoreDown();
    });

  async function authenticate(request: FastifyRequest, mode: AuthMode, url = requestUrl(request)): Promise<Authenticated> {
    const { header, jws } = parseJws(request.body);
    const alg = header.alg!;
    let account: Account | undefined;
    let key: KeyObject;
    let jwk: JWK | undefined;
    let thumbprint: string | undefined;
    if (header.kid !== undefined) {
      if (mode === 'jwk') throw new AcmeProblem('malformed', 'this resource needs a "jwk" header, not "kid"');
      const prefix = origin(request) + '/acme/acct/';
      if (typeof header.kid !== 'string' || !header.kid.startsWith(prefix)) {
        throw new AcmeProblem('malformed', `"kid" must be an account URL of this server (${prefix}...)`);
      }
      account = await ra.accounts.get(header.kid.slice(prefix.length));
      if (!account) throw new AcmeProblem('accountDoesNotExist', `no account exists at ${header.kid}`);
      key = await keyCache.get(account, alg);
    } else {
      if (mode === 'kid') throw new AcmeProblem('malformed', 'this resource needs a "kid" header (the account URL), not "jwk"');
      ({ key, jwk, thumbprint } = await importAccountJwk(header.jwk, alg));
    }
    const payloadBytes = await verifySignature(jws, key, alg);
    if (typeof header.nonce !== 'string' || !(await redeemNonce(header.nonce)) || faults?.rejectNonce()) {
      throw new AcmeProblem('badNonce', 'the nonce is unknown, expired or already used; retry with the fresh Replay-Nonce');
    }
    if (header.url !== url) {
      throw new AcmeProblem('unauthorized', `the JWS "url" (${JSON.stringify(header.url)}) is not the request URL (${url})`);
    }
    if (account && account.status !== 'valid') {
      throw new AcmeProblem('unauthorized', `the account is ${account.status}`);
    }
    return { payload: decodePayload(payloadBytes), account, jwk, thumbprint, url };
  }

  const requirePostAsGet = (auth: Authenticated) => {
    if (auth.payload !== undefined) throw new AcmeProblem('malformed', 'this resource is fetched with POST-as-GET (an empty payload)');
  };

  const accountJson = (request: FastifyRequest, account: Account) => ({
    status: account.status,
    contact: account.contact,
    termsOfServiceAgreed: account.termsAgreed,
    orders: origin(request) + paths.orders(account.id),
    key: account.jwk,
  });

  const orderJson = (request: FastifyRequest, order: Order) => {
    const base = origin(request);
    const json: Record<string, unknown> = {
      status: order.status,
      expires: iso(order.expires),
      identifiers: order.identifiers,
      authorizations: order.authzIds.map((id) => base + paths.authz(id)),
      finalize: base + paths.finalize(order.id),
    };
    if (order.notBefore !== undefined) json.notBefore = iso(order.notBefore);
    if (order.notAfter !== undefined) json.notAfter = iso(order.notAfter);
    json.profile = order.profile;
    if (order.replaces !== undefined) json.replaces = order.replaces;
    if (order.error) json.error = order.error;
    if (order.certificateId) json.certificate = base + paths.certificate(order.certificateId);
    return json;
  };

  const challengeJson = (request: FastifyRequest, authz: Authorization, challenge: Challenge) => {
    const json: Record<string, unknown> = {
      type: challenge.type,
      url: origin(request) + paths.challenge(authz.id, challenge.id),
      status: challenge.status,
      token: authz.token,
    };
    if (challenge.validatedAt !== undefined) json.validated = iso(challenge.validatedAt);
    if (challenge.error) json.error = challenge.error;
    if (challenge.validationRecords) json.validationRecord = challenge.validationRecords;
    return json;
  };

  const authzJson = (request: FastifyRequest, authz: Authorization) => {
    const json: Record<string, unknown> = {
      identifier: authz.identifier,
      status: authz.status,
      expires: iso(authz.expires),
      challenges: authz.challenges.map((c) => challengeJson(request, authz, c)),
    };
    if (authz.wildcard) json.wildcard = true;
    return json;
  };

  const retryAfterIfProcessing = (reply: FastifyReply, status: string) => {
    if (status === 'processing') reply.header('Retry-After', '1');
  };

  // ---- directory and nonces ----

  app.get(paths.directory, async (request) => {
    const base = origin(request);
    const meta: Record<string, unknown> = {};
    if (options.meta.termsOfService) meta.termsOfService = options.meta.termsOfService;
    if (options.meta.website) meta.website = options.meta.website;
    meta.caaIdentities = options.meta.caaIdentities;
    meta.profiles = options.meta.profiles;
    if (options.externalAccountBinding) meta.externalAccountRequired = options.externalAccountBinding.required;
    return {
      newNonce: base + paths.newNonce,
      newAccount: base + paths.newAccount,
      newOrder: base + paths.newOrder,
      revokeCert: base + paths.revokeCert,
      keyChange: base + paths.keyChange,
      renewalInfo: base + paths.renewalInfo,
      meta,
    };
  });

  app.route({
    method: 'HEAD',
    url: paths.newNonce,
    // An explicit zero Content-Length: without it Node's HTTP server answers HEAD about ten times slower (measured
    // in bench/acme-issuance --steps, 3 ms against 0.2 ms), and clients call HEAD newNonce before most requests.
    handler: async (_request, reply) => reply.header('Replay-Nonce', await issueNonce()).header('Content-Length', '0').code(200).send(),
  });
  app.route({
    method: 'GET',
    url: paths.newNonce,
    exposeHeadRoute: false,
    handler: async (_request, reply) => reply.header('Replay-Nonce', await issueNonce()).code(204).send(),
  });

  // ---- accounts ----

  app.post(paths.newAccount, async (request, reply) => {
    const auth = await authenticate(request, 'jwk');
    const payload = (auth.payload ?? {}) as Record<string, unknown>;
    if (auth.payload === undefined) throw new AcmeProblem('malformed', 'newAccount needs a JSON payload');
    const existing = await ra.accounts.findByKey(auth.thumbprint!);
    if (existing) {
      return reply.code(200).header('Location', accountUrl(request, existing.id)).send(accountJson(request, existing));
    }
    if (payload.onlyReturnExisting === true) {
      throw new AcmeProblem('accountDoesNotExist', 'no account exists for this key (onlyReturnExisting)');
    }
    let eab: Record<string, unknown> | undefined;
    if (options.externalAccountBinding) {
      if (payload.externalAccountBinding !== undefined) {
        const kid = await verifyExternalAccountBinding(payload.externalAccountBinding, auth.jwk!, auth.url, options.externalAccountBinding.keys);
        eab = { kid };
      } else if (options.externalAccountBinding.required) {
        throw new AcmeProblem('externalAccountRequired', 'this CA requires an External Account Binding on newAccount');
      }
    }
    if (payload.termsOfServiceAgreed !== undefined && typeof payload.termsOfServiceAgreed !== 'boolean') {
      throw new AcmeProblem('malformed', 'termsOfServiceAgreed must be a boolean');
    }
    const { account, created } = await ra.accounts.create({
      jwk: auth.jwk!,
      thumbprint: auth.thumbprint!,
      contact: payload.contact,
      termsAgreed: payload.termsOfServiceAgreed === true,
      externalAccountBinding: eab,
      ip: request.ip,
    });
    return reply.code(created ? 201 : 200).header('Location', accountUrl(request, account.id)).send(accountJson(request, account));
  });

  app.post<{ Params: { id: string } }>('/acme/acct/:id', async (request, reply) => {
    const auth = await authenticate(request, 'kid');
    if (auth.account!.id !== request.params.id) throw new AcmeProblem('unauthorized', 'the "kid" is not this account');
    let account = auth.account!;
    const payload = auth.payload as Record<string, unknown> | undefined;
    if (payload && Object.keys(payload).length > 0) {
      account = await ra.accounts.update(account, payload);
    }
    return reply.header('Location', accountUrl(request, account.id)).send(accountJson(request, account));
  });

  app.post<{ Params: { id: string }; Querystring: { cursor?: string } }>('/acme/acct/:id/orders', async (request, reply) => {
    const auth = await authenticate(request, 'kid');
    requirePostAsGet(auth);
    if (auth.account!.id !== request.params.id) throw new AcmeProblem('unauthorized', 'the orders list belongs to another account');
    let cursor: { createdAt: number; id: string } | undefined;
    if (request.query.cursor) {
      const [createdAt, id] = request.query.cursor.split('.');
      if (!createdAt || !id || !/^\d+$/.test(createdAt)) throw new AcmeProblem('malformed', 'bad cursor');
      cursor = { createdAt: Number(createdAt), id };
    }
    const page = await ra.orders.list(auth.account!, ORDERS_PAGE + 1, cursor);
    const base = origin(request);
    if (page.length > ORDERS_PAGE) {
      const last = page[ORDERS_PAGE - 1]!;
      reply.header('Link', `<${base}${paths.orders(auth.account!.id)}?cursor=${last.createdAt}.${last.id}>;rel="next"`);
    }
    return { orders: page.slice(0, ORDERS_PAGE).map((o) => base + paths.order(o.id)) };
  });

  app.post(paths.keyChange, async (request, reply) => {
    const auth = await authenticate(request, 'kid');
    const account = auth.account!;
    const inner = parseJws((auth.payload as Record<string, unknown> | undefined) ?? null);
    if (inner.header.jwk === undefined || inner.header.kid !== undefined) {
      throw new AcmeProblem('malformed', 'the inner keyChange JWS must carry the new key as "jwk"');
    }
    if (inner.header.url !== auth.url) throw new AcmeProblem('malformed', 'the inner JWS "url" must equal the outer one');
    // RFC 8555 §7.3.5: the inner JWS MAY omit the nonce; one that is present is not checked (the outer one was).
    const newKey = await importAccountJwk(inner.header.jwk, inner.header.alg!);
    const innerPayload = decodePayload(await verifySignature(inner.jws, newKey.key, inner.header.alg!)) as Record<string, unknown> | undefined;
    if (!innerPayload || innerPayload.account !== accountUrl(request, account.id)) {
      throw new AcmeProblem('malformed', 'the inner payload "account" must be the URL of the requesting account');
    }
    const oldThumbprint = await calculateJwkThumbprint(innerPayload.oldKey as JWK, 'sha256').catch(() => '');
    if (oldThumbprint !== account.thumbprint) throw new AcmeProblem('unauthorized', 'the inner payload "oldKey" is not the current account key');
    const result = await ra.accounts.changeKey(account, newKey.jwk);
    if ('conflictAccountId' in result) {
      const problem = new AcmeProblem('malformed', 'the new key is already used by another account', { status: 409 });
      problem.headers = { Location: accountUrl(request, result.conflictAccountId) };
      throw problem;
    }
    return reply.header('Location', accountUrl(request, account.id)).send(accountJson(request, result.account));
  });

  // ---- orders ----

  app.post(paths.newOrder, async (request, reply) => {
    const auth = await authenticate(request, 'kid');
    const payload = auth.payload as Record<string, unknown> | undefined;
    if (!payload) throw new AcmeProblem('malformed', 'newOrder needs a JSON payload with "identifiers"');
    const order = await ra.orders.create(auth.account!, payload);
    return reply.code(201).header('Location', origin(request) + paths.order(order.id)).send(orderJson(request, order));
  });

  app.post<{ Params: { id: string } }>('/acme/order/:id', async (request, reply) => {
    const auth = await authenticate(request, 'kid');
    requirePostAsGet(auth);
    const order = await ra.orders.get(auth.account!, request.params.id);
    retryAfterIfProcessing(reply, order.status);
    return orderJson(request, order);
  });

  app.post<{ Params: { id: string } }>('/acme/order/:id/finalize', async (request, reply) => {
    const auth = await authenticate(request, 'kid');
    const payload = auth.payload as Record<string, unknown> | undefined;
    if (!payload) throw new AcmeProblem('malformed', 'finalize needs a JSON payload with "csr"');
    const finalized = await ra.finalizer.finalize(auth.account!, accountUrl(request, auth.account!.id), request.params.id, payload.csr);
    retryAfterIfProcessing(reply, finalized.status);
    return reply.header('Location', origin(request) + paths.order(finalized.id)).send(orderJson(request, finalized));
  });

  // ---- authorizations and challenges ----

  app.post<{ Params: { id: string } }>('/acme/authz/:id', async (request, reply) => {
    const auth = await authenticate(request, 'kid');
    const payload = auth.payload as Record<string, unknown> | undefined;
    let authz: Authorization;
    if (payload !== undefined) {
      // RFC 8555 §7.5.2: only "status" is acted on; other fields (lego sends "identifier" and "expires") are ignored.
      if (payload?.status !== 'deactivated') {
        throw new AcmeProblem('malformed', 'the only update to an authorization is "status": "deactivated"');
      }
      authz = await ra.authorizations.deactivate(auth.account!, request.params.id);
    } else {
      authz = await ra.authorizations.get(auth.account!, request.params.id);
    }
    if (authz.challenges.some((c) => c.status === 'processing')) reply.header('Retry-After', '1');
    return authzJson(request, authz);
  });

  app.post<{ Params: { authzId: string; id: string } }>('/acme/chall/:authzId/:id', async (request, reply) => {
    const auth = await authenticate(request, 'kid');
    let authz: Authorization;
    if (auth.payload !== undefined) {
      // RFC 8555 §7.5.1: the response is an empty object; anything else is not understood.
      if (typeof auth.payload !== 'object' || auth.payload === null || Object.keys(auth.payload).length !== 0) {
        throw new AcmeProblem('malformed', 'a challenge response payload must be {}');
      }
      authz = await ra.authorizations.respond(auth.account!, accountUrl(request, auth.account!.id), request.params.authzId, request.params.id);
    } else {
      authz = await ra.authorizations.get(auth.account!, request.params.authzId);
    }
    const challenge = authz.challenges.find((c) => c.id === request.params.id);
    if (!challenge) throw new AcmeProblem('malformed', 'no such challenge', { status: 404 });
    reply.header('Link', `<${origin(request)}${paths.authz(authz.id)}>;rel="up"`);
    retryAfterIfProcessing(reply, challenge.status);
    return challengeJson(request, authz, challenge);
  });

  // ---- certificates ----

  const sendCertificate = async (request: FastifyRequest<{ Params: { id: string; alt?: string } }>, reply: FastifyReply) => {
    const record = await ra.certificates.get(request.params.id);
    if (!record) throw new AcmeProblem('malformed', 'no such certificate', { status: 404 });
    const chains = ra.certificates.chainsFor(record);
    const index = request.params.alt === undefined ? 0 : Number(request.params.alt);
    if (!Number.isInteger(index) || index < 0 || index >= chains.length) throw new AcmeProblem('malformed', 'no such alternate chain', { status: 404 });
    const base = origin(request);
    const links = [`<${base}${paths.issuer(record.issuerName)}>;rel="up"`];
    for (let i = 0; i < chains.length; i++) {
      if (i !== index) links.push(`<${base}${paths.certificate(record.id, i)}>;rel="alternate"`);
    }
    reply.header('Link', links);
    return reply.type('application/pem-certificate-chain').send(chains[index]);
  };

  for (const url of ['/acme/cert/:id', '/acme/cert/:id/:alt']) {
    app.post<{ Params: { id: string; alt?: string } }>(url, async (request, reply) => {
      requirePostAsGet(await authenticate(request, 'kid'));
      return sendCertificate(request, reply);
    });
  }

  // RFC 9773 §4.1: an unauthenticated GET, so that caches can serve it; Retry-After says when to ask again.
  app.get<{ Params: { id: string } }>(`${paths.renewalInfo}/:id`, async (request, reply) => {
    const info = await ra.renewalInfo.get(request.params.id);
    reply.header('Retry-After', String(info.retryAfterSeconds));
    return {
      suggestedWindow: { start: iso(info.suggestedWindow.start), end: iso(info.suggestedWindow.end) },
      ...(info.explanationURL ? { explanationURL: info.explanationURL } : {}),
    };
  });

  app.get<{ Params: { name: string } }>('/acme/issuer/:name', async (request, reply) => {
    const chain = ra.certificates.issuer(request.params.name);
    if (!chain) throw new AcmeProblem('malformed', 'no such issuer', { status: 404 });
    return reply.type('application/pem-certificate-chain').send(chain.intermediate.pem);
  });

  app.post(paths.revokeCert, async (request, reply) => {
    const auth = await authenticate(request, 'either');
    const payload = auth.payload as Record<string, unknown> | undefined;
    if (!payload || typeof payload.certificate !== 'string' || !/^[A-Za-z0-9_-]+$/.test(payload.certificate)) {
      throw new AcmeProblem('malformed', 'revokeCert needs "certificate": the base64url DER of the certificate');
    }
    await ra.revocation.revoke({
      certDer: Buffer.from(payload.certificate, 'base64url'),
      reason: payload.reason,
      account: auth.account,
      signerJwk: auth.jwk,
    });
    return reply.code(200).send();
  });

  return app;
}

// One header line per link, as Boulder and Pebble send them: dehydrated reads one link per Link line, so a joined
// list made its --preferred-chain follow the first link (rel="up") instead of rel="alternate".
function mergeLinks(existing: unknown, link: string): string[] {
  if (!existing) return [link];
  return [...(Array.isArray(existing) ? existing.map(String) : [String(existing)]), link];
}
