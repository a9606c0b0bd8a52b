// Prio3 (VDAF-08) per-report cost: cobble's @cobble/vdaf vs @divviup/prio3 0.8.0, measured in the same run.
// shard = one client report; prepare = both aggregators' prep init, prep-shares-to-prep and prep next.
// Run: npm run bench -- vdaf [--quick] [--only=NAME-SUBSTRING]
import { randomBytes } from 'node:crypto';
import { Prio3Count, Prio3Histogram, Prio3Sum, Prio3SumVec } from '@divviup/prio3';
import { prio3Count, prio3Histogram, prio3Sum, prio3SumVec, type Prio3 } from '@cobble/vdaf';

const quick = process.argv.includes('--quick');
const MIN_MS = quick ? 400 : 4000; // per implementation and operation

interface Case {
  name: string;
  cobble: Prio3<unknown, unknown>;
  divviup: any;
  measurement: () => unknown;
}

const cases: Case[] = [
  { name: 'Count', cobble: prio3Count('draft-08') as Prio3<unknown, unknown>, divviup: new Prio3Count({ shares: 2 }), measurement: () => Math.random() < 0.5 },
  { name: 'Sum (32 bits)', cobble: prio3Sum('draft-08', { bits: 32 }) as Prio3<unknown, unknown>, divviup: new Prio3Sum({ shares: 2, bits: 32 }), measurement: () => Math.floor(Math.random() * 2 ** 32) },
  {
    name: 'Histogram (100, chunk 10)',
    cobble: prio3Histogram('draft-08', { length: 100, chunkLength: 10 }) as Prio3<unknown, unknown>,
    divviup: new Prio3Histogram({ shares: 2, length: 100, chunkLength: 10 }),
    measurement: () => Math.floor(Math.random() * 100),
  },
  {
    name: 'Histogram (1000, chunk 32)',
    cobble: prio3Histogram('draft-08', { length: 1000, chunkLength: 32 }) as Prio3<unknown, unknown>,
    divviup: new Prio3Histogram({ shares: 2, length: 1000, chunkLength: 32 }),
    measurement: () => Math.floor(Math.random() * 1000),
  },
  {
    name: 'SumVec (1000 x 8 bits, chunk 90)',
    cobble: prio3SumVec('draft-08', { length: 1000, bits: 8, chunkLength: 90 }) as Prio3<unknown, unknown>,
    divviup: new Prio3SumVec({ shares: 2, length: 1000, bits: 8, chunkLength: 90 }),
    measurement: () => Array.from({ length: 1000 }, () => Math.floor(Math.random() * 256)),
  },
];

/**
 * CPU ms (user + system of this process) and call count of fn over about `ms` wall milliseconds (at least
 * 2 calls). CPU time rather than wall time because the 2-core machine is shared with other work.
 */
async function run(fn: (i: number) => unknown, ms: number, offset: number): Promise<[number, number]> {
  let n = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  while (n < 2 || performance.now() - start < ms) {
    await fn(offset + n);
    n++;
  }
  const used = process.cpuUsage(cpu);
  return [(used.user + used.system) / 1000, n];
}

/**
 * Mean CPU ms per call of a and of b. The machine is shared, so the two are measured in alternating rounds
 * (after a warm-up of each) and the ratio compares like with like.
 */
async function compare(a: (i: number) => unknown, b: (i: number) => unknown): Promise<[number, number]> {
  await a(0);
  await b(0);
  const rounds = 4;
  let [ta, na, tb, nb] = [0, 0, 0, 0];
  for (let r = 0; r < rounds; r++) {
    const [t1, n1] = await run(a, MIN_MS / rounds, na);
    ta += t1;
    na += n1;
    const [t2, n2] = await run(b, MIN_MS / rounds, nb);
    tb += t2;
    nb += n2;
  }
  return [ta / na, tb / nb];
}

const verifyKey = randomBytes(16);
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const rows: string[] = [];
for (const c of cases.filter((x) => only === undefined || x.name.includes(only))) {
  const pool = Array.from({ length: 16 }, () => ({ m: c.measurement(), nonce: randomBytes(16) }));
  const cobbleReports = pool.map((r) => ({ nonce: r.nonce, ...c.cobble.shard(r.m, r.nonce, randomBytes(c.cobble.randSize)) }));
  const divReports = await Promise.all(pool.map(async (r) => ({ nonce: r.nonce, ...(await c.divviup.shard(r.m, r.nonce, randomBytes(c.divviup.randSize))) })));

  const [cobbleShard, divShard] = await compare(
    (i) => {
      const r = pool[i % pool.length]!;
      return c.cobble.shard(r.m, r.nonce, randomBytes(c.cobble.randSize));
    },
    async (i) => {
      const r = pool[i % pool.length]!;
      return c.divviup.shard(r.m, r.nonce, randomBytes(c.divviup.randSize));
    },
  );
  const [cobblePrep, divPrep] = await compare(
    (i) => {
      const r = cobbleReports[i % cobbleReports.length]!;
      const a = c.cobble.prepInit(verifyKey, 0, r.nonce, r.publicShare, r.inputShares[0]!);
      const b = c.cobble.prepInit(verifyKey, 1, r.nonce, r.publicShare, r.inputShares[1]!);
      const msg = c.cobble.prepSharesToPrep([a.prepShare, b.prepShare]);
      c.cobble.prepNext(a.state, msg);
      return c.cobble.prepNext(b.state, msg);
    },
    async (i) => {
      const r = divReports[i % divReports.length]!;
      const a = await c.divviup.prepareInit(verifyKey, 0, null, r.nonce, r.publicShare, r.inputShares[0]);
      const b = await c.divviup.prepareInit(verifyKey, 1, null, r.nonce, r.publicShare, r.inputShares[1]);
      const msg = await c.divviup.unshardPreparationShares(null, [a.preparationShare, b.preparationShare]);
      c.divviup.prepareNext(a.preparationState, msg);
      return c.divviup.prepareNext(b.preparationState, msg);
    },
  );

  const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
  const row = `| ${c.name} | ${fmt(cobbleShard)} | ${fmt(divShard)} | ${(divShard / cobbleShard).toFixed(1)}× | ${fmt(cobblePrep)} | ${fmt(divPrep)} | ${(divPrep / cobblePrep).toFixed(1)}× |`;
  rows.push(row);
  console.error(row);
}

console.log('| Prio3 (VDAF-08, 2 aggregators), CPU time per report | shard, cobble | shard, @divviup/prio3 | speed-up | prepare (both), cobble | prepare (both), @divviup/prio3 | speed-up |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
