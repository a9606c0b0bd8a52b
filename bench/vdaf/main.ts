// Prio3 (VDAF-08) per-report cost: cobble's @cobble/vdaf vs @divviup/prio3 0.8.0, measured in the same run.
// shard = one client report; prepare = both aggregators' prep init, prep-shares-to-prep and prep next.
// Run: npm run bench -- vdaf [--quick]
import { randomBytes } from 'node:crypto';
import { Prio3Count, Prio3Histogram, Prio3Sum, Prio3SumVec } from '@divviup/prio3';
import { prio3Count, prio3Histogram, prio3Sum, prio3SumVec, type Prio3 } from '@cobble/vdaf';

const quick = process.argv.includes('--quick');
const MIN_MS = quick ? 150 : 1000;

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

/** Mean ms per call of fn over at least MIN_MS (and at least 3 calls), after one warm-up call. */
async function time(fn: (i: number) => unknown | Promise<unknown>): Promise<number> {
  await fn(0);
  let n = 0;
  const start = performance.now();
  let now = start;
  while (n < 3 || now - start < MIN_MS) {
    await fn(n + 1);
    n++;
    now = performance.now();
  }
  return (now - start) / n;
}

const verifyKey = randomBytes(16);
const rows: string[] = [];
for (const c of cases) {
  const pool = Array.from({ length: 16 }, () => ({ m: c.measurement(), nonce: randomBytes(16) }));

  const cobbleShard = await time((i) => {
    const r = pool[i % pool.length]!;
    return c.cobble.shard(r.m, r.nonce, randomBytes(c.cobble.randSize));
  });
  const cobbleReports = pool.map((r) => ({ nonce: r.nonce, ...c.cobble.shard(r.m, r.nonce, randomBytes(c.cobble.randSize)) }));
  const cobblePrep = await time((i) => {
    const r = cobbleReports[i % cobbleReports.length]!;
    const a = c.cobble.prepInit(verifyKey, 0, r.nonce, r.publicShare, r.inputShares[0]!);
    const b = c.cobble.prepInit(verifyKey, 1, r.nonce, r.publicShare, r.inputShares[1]!);
    const msg = c.cobble.prepSharesToPrep([a.prepShare, b.prepShare]);
    c.cobble.prepNext(a.state, msg);
    return c.cobble.prepNext(b.state, msg);
  });

  const divShard = await time(async (i) => {
    const r = pool[i % pool.length]!;
    return c.divviup.shard(r.m, r.nonce, randomBytes(c.divviup.randSize));
  });
  const divReports = await Promise.all(pool.map(async (r) => ({ nonce: r.nonce, ...(await c.divviup.shard(r.m, r.nonce, randomBytes(c.divviup.randSize))) })));
  const divPrep = await time(async (i) => {
    const r = divReports[i % divReports.length]!;
    const a = await c.divviup.prepareInit(verifyKey, 0, null, r.nonce, r.publicShare, r.inputShares[0]);
    const b = await c.divviup.prepareInit(verifyKey, 1, null, r.nonce, r.publicShare, r.inputShares[1]);
    const msg = await c.divviup.unshardPreparationShares(null, [a.preparationShare, b.preparationShare]);
    c.divviup.prepareNext(a.preparationState, msg);
    return c.divviup.prepareNext(b.preparationState, msg);
  });

  const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
  const row = `| ${c.name} | ${fmt(cobbleShard)} | ${fmt(divShard)} | ${(divShard / cobbleShard).toFixed(1)}× | ${fmt(cobblePrep)} | ${fmt(divPrep)} | ${(divPrep / cobblePrep).toFixed(1)}× |`;
  rows.push(row);
  console.error(row);
}

console.log('| Prio3 (VDAF-08, 2 aggregators) | shard, cobble | shard, @divviup/prio3 | speed-up | prepare (both), cobble | prepare (both), @divviup/prio3 | speed-up |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
