// The 2020 regression (Boulder PR #4690): an order for three names, all validated; afterwards the CAA record of only
// the *second* name forbids this CA. Finalize must recheck every stale name on its own and name exactly that one —
// the bug checked one name N times. Real CA, real DNS (pebble-challtestsrv), real http-01 validations.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../src/core/clock.js';
import { makeCsr, validateHttp01Authorizations, type AcmeTestClient } from './support/acme.js';
import { startHarness, type Harness } from './support/harness.js';
import { assertProblem } from './support/problems.js';

const NAMES = ['first.caa2020.example.com', 'second.caa2020.example.com', 'third.caa2020.example.com'];
const HOUR = 3_600_000;

async function validatedOrder(client: AcmeTestClient, h: Harness, names: string[]) {
  const created = await client.newOrder(names);
  assert.equal(created.status, 201, created.text());
  const order = created.json();
  await validateHttp01Authorizations(client, h.responder, order.authorizations);
  return { url: created.header('location')!, order };
}

async function finalize(client: AcmeTestClient, order: { finalize: string }, names: string[]) {
  const csr = await makeCsr(names);
  return client.post(order.finalize, { csr: csr.csrDer.toString('base64url') });
}

/** The CAA record that forbids this CA (whose identity is the default, cobble.test) for one name only. */
async function forbidSecond(h: Harness) {
  await h.dns.addCAA(NAMES[1]!, [{ tag: 'issue', value: 'another-ca.example' }]);
}

describe('CAA recheck window 0 s: every name is rechecked at finalize', () => {
  let h: Harness;
  after(async () => h?.close());

  test('only the second name forbids: caa problem with exactly one subproblem, for that name; the order is invalid', async () => {
    h = await startHarness({ caa: { recheckAfter: 0 } });
    const client = await h.client();
    await client.register();
    const { url, order } = await validatedOrder(client, h, NAMES);
    await forbidSecond(h);
    const problem = assertProblem(await finalize(client, order, NAMES), 'caa', 403);
    assert.equal(problem.subproblems.length, 1, JSON.stringify(problem));
    assert.deepEqual(problem.subproblems[0].identifier, { type: 'dns', value: NAMES[1] });
    assert.equal(problem.subproblems[0].type, 'urn:ietf:params:acme:error:caa');
    assert.match(problem.subproblems[0].detail, /second\.caa2020\.example\.com/);
    assert.doesNotMatch(problem.detail, /first|third/);
    const after = (await client.post(url, undefined)).json();
    assert.equal(after.status, 'invalid');
    assert.equal(after.error.type, 'urn:ietf:params:acme:error:caa');
    assert.equal(after.certificate, undefined);
  });

  test('with the record removed, the same names issue', async () => {
    await h.dns.clearCAA(NAMES[1]!);
    const client = await h.client();
    await client.register();
    const { url, order } = await validatedOrder(client, h, NAMES);
    assert.equal((await finalize(client, order, NAMES)).status, 200);
    assert.equal((await client.poll(url)).json().status, 'valid');
  });
});

describe('CAA recheck window at its default (7 h), time moved by a fake clock', () => {
  let h: Harness;
  const clock = new FakeClock();
  after(async () => h?.close());

  test('validated an hour ago: no recheck, issuance succeeds although CAA now forbids the second name', async () => {
    h = await startHarness({ start: { clock } });
    const client = await h.client();
    await client.register();
    const { url, order } = await validatedOrder(client, h, NAMES);
    await forbidSecond(h);
    clock.advance(HOUR);
    const finalized = await finalize(client, order, NAMES);
    assert.equal(finalized.status, 200, finalized.text());
    assert.equal((await client.poll(url)).json().status, 'valid');
  });

  test('the same authorizations reused eight hours after validation: rechecked, refused for the second name only', async () => {
    const client = h.clients[0]!;
    const created = await client.newOrder(NAMES);
    assert.equal(created.status, 201);
    assert.equal(created.json().status, 'ready', 'classic reuses valid authorizations for 30 days');
    clock.advance(7 * HOUR);
    const problem = assertProblem(await finalize(client, created.json(), NAMES), 'caa', 403);
    assert.deepEqual(problem.subproblems.map((p: any) => p.identifier.value), [NAMES[1]]);
  });
});
