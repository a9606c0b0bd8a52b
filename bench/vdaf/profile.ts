// Profiling driver (not a benchmark): node --cpu-prof --import tsx bench/vdaf/profile.ts <count|hist1000> [iterations] [shard]
import { randomBytes } from 'node:crypto';
import { prio3Count, prio3Histogram, type Prio3 } from '@cobble/vdaf';

const which = process.argv[2] ?? 'count';
const iterations = Number(process.argv[3] ?? 20000);
const p = (which === 'count' ? prio3Count('draft-08') : prio3Histogram('draft-08', { length: 1000, chunkLength: 32 })) as Prio3<unknown, unknown>;
const m = which === 'count' ? 1 : 7;
const key = randomBytes(16);
const nonce = randomBytes(16);
const r = p.shard(m, nonce, randomBytes(p.randSize));
if (process.argv[4] === 'shard') {
  const t = performance.now();
  for (let i = 0; i < iterations; i++) p.shard(m, nonce, randomBytes(p.randSize));
  console.log(which, 'shard µs/report', ((performance.now() - t) * 1000) / iterations);
  process.exit(0);
}
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < iterations; i++) {
  const a = p.prepInit(key, 0, nonce, r.publicShare, r.inputShares[0]!);
  const b = p.prepInit(key, 1, nonce, r.publicShare, r.inputShares[1]!);
  const msg = p.prepSharesToPrep([a.prepShare, b.prepShare]);
  p.prepNext(a.state, msg);
  p.prepNext(b.state, msg);
}
console.log(which, "prepare µs/report wall", ((performance.now() - t0) * 1000) / iterations, "cpu", (process.cpuUsage(c0).user) / iterations);
