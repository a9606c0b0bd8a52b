// HPKE key rotation mid-stream: after a new key is made current, reports sealed to the old key and to the new one
// both aggregate; once the old key is retired, a report sealed to it is refused with outdatedConfig, and the
// independent @divviup/dap client refetches the configs and succeeds. Plus `cobble dap keys add|activate|retire|list`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Task from '@divviup/dap';
import { DapClient, DapCollector, DapStore, HpkeKeyring, KeyError } from '../src/index.js';
import { decodeHpkeConfigList } from '../src/messages/index.js';
import { currentInterval, provision, startPair, type Pair } from './harness.js';
import { cobbleBin } from './support/processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the leader has no report waiting for a job and no job running. */
async function drained(pair: Pair, taskId: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const s = await pair.leader.ctx.store.stats(taskId);
    if (!s.reports[0] && !s.jobs.active) return;
    await sleep(20);
  }
  throw new Error('aggregation did not finish');
}

test('key rotation mid-stream: old and new keys both aggregate; a retired key gets outdatedConfig and @divviup/dap refetches and succeeds', async () => {
  const pair = await startPair();
  try {
    const t = await provision(pair, { version: 'dap-09', vdaf: { type: 'Prio3Count' }, minBatchSize: 5, timePrecision: 300 });
    let configFetches = 0;
    const divviup = new Task({ type: 'count', id: t.client.taskId, leader: pair.leader.url, helper: pair.helper.url, timePrecisionSeconds: 300 });
    divviup.fetch = ((input: string, init?: RequestInit) => {
      if (String(input).includes('/hpke_config')) configFetches++;
      return fetch(input, init);
    }) as typeof fetch;
    await divviup.sendMeasurement(true);
    assert.equal(configFetches, 2, '@divviup/dap fetched both aggregators’ configs once');

    const oldClient = new DapClient(t.client);
    const [oldLeaderKey] = await oldClient.hpkeConfigs();
    const held = await Promise.all([1, 0, 1].map((v) => oldClient.prepareReport(v))); // sealed to the old keys

    // Rotate by hand on both aggregators: a new pending key, then made current.
    const rings = [pair.leader.ctx.keyring, pair.helper.ctx.keyring];
    const olds = rings.map((r) => r.advertised()[0].id);
    const news = [];
    for (const ring of rings) {
      const added = await ring.add();
      assert.ok(!ring.advertised().some((c) => c.id === added.id), 'a pending key is not advertised');
      assert.deepEqual(await ring.activate(added.id), [ring === rings[0] ? olds[0] : olds[1]]);
      news.push(added.id);
    }
    const res = await fetch(`${pair.leader.url}hpke_config?task_id=${t.client.taskId}`);
    assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/);
    assert.equal(decodeHpkeConfigList(new Uint8Array(await res.arrayBuffer()))[0].id, news[0], 'the current key comes first');

    // Mid-stream: reports sealed to the old keys (held, and from @divviup/dap's cache) and to the new ones.
    assert.deepEqual(await oldClient.uploadReports(held), { uploaded: 3, rejected: [] });
    await divviup.sendMeasurement(false);
    const newClient = new DapClient(t.client);
    assert.equal((await newClient.hpkeConfigs())[0].id, news[0]);
    assert.equal((await newClient.upload([1, 1])).uploaded, 2);
    assert.equal(configFetches, 2, '@divviup/dap still used its cached (old, expired) configs');
    await drained(pair, t.client.taskId);

    // Retire the old keys: a report sealed to the leader's old key is refused with outdatedConfig.
    for (const [i, ring] of rings.entries()) await ring.retire(olds[i]);
    const stale = await oldClient.prepareReport(1);
    assert.equal(stale.leaderShare.configId, oldLeaderKey.id);
    const refused = await oldClient.uploadReports([stale]);
    assert.deepEqual(refused.rejected.map((r) => r.error), ['outdatedConfig']);
    // @divviup/dap gets the same answer, refetches the configs and uploads again, successfully.
    await divviup.sendMeasurement(true);
    assert.equal(configFetches, 4, '@divviup/dap refetched both configs after outdatedConfig');
    // Our client refetches too.
    assert.equal((await oldClient.upload([1])).uploaded, 1);

    await assert.rejects(rings[0].retire(news[0]), (e: unknown) => e instanceof KeyError && /current key; activate another one first/.test((e as Error).message));
    await assert.rejects(rings[0].activate(999), KeyError);

    const r = await new DapCollector(t.collector).collect({ interval: currentInterval(300) }, { timeoutMs: 30_000, pollMs: 50 });
    // divviup: true, false, true; held: 1, 0, 1; new: 1, 1; refetched client: 1. The refused one is not counted.
    assert.equal(r.reportCount, 9);
    assert.equal(r.aggregate, 7);
  } finally {
    await pair.close();
  }
});

test('cobble dap keys add|activate|retire|list against an aggregator store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-keys-'));
  const config = join(dir, 'leader.yaml');
  writeFileSync(config, `role: leader\nstorage: { sqlite: ${join(dir, 'leader.sqlite')} }\n`);
  const run = (...args: string[]) => spawnSync(process.execPath, [cobbleBin, 'dap', 'keys', ...args, '--config', config], { encoding: 'utf8' });
  try {
    const store = await DapStore.open({ sqlite: join(dir, 'leader.sqlite') });
    const ring = new HpkeKeyring(store);
    await ring.ensureActive();
    const first = ring.advertised()[0].id;
    await store.close();

    const added = run('add');
    assert.equal(added.status, 0, added.stderr);
    const id = Number(/added HPKE key (\d+)/.exec(added.stdout)?.[1]);
    assert.match(run('list').stdout, new RegExp(`${id}\\s+pending`));
    const activated = run('activate', String(id));
    assert.equal(activated.status, 0, activated.stderr);
    assert.match(activated.stdout, new RegExp(`${first} expired`));
    const list = run('list').stdout;
    assert.match(list, new RegExp(`${id}\\s+active .*\\(current\\)`));
    assert.match(list, new RegExp(`${first}\\s+expired`));
    const current = run('retire', String(id));
    assert.equal(current.status, 1);
    assert.match(current.stderr, /is the current key; activate another one first/);
    assert.equal(run('retire', String(first)).status, 0);
    assert.doesNotMatch(run('list').stdout, new RegExp(`^\\s*${first}\\s`, 'm'));
    const bad = run('activate', 'x');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /takes one config ID/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
