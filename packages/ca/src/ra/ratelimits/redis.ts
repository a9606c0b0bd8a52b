// Buckets in Redis, shared by every front end. Each batch is one Lua script, which Redis runs atomically: all the
// buckets of a spend are read, judged and written with nothing in between, so two front ends cannot both take the
// last token. Only the TAT is stored, with a TTL that ends when the bucket would be full again.
import type { Redis } from 'ioredis';
import { failFastRedis } from '../../core/redis.js';
import { emissionIntervalMs } from './gcra.js';
import type { BucketOp, Store } from './store.js';

// The judgement is gcra.ts's spendDecision, in Lua: fits when max(TAT, now) + cost×interval − burst×interval ≤ now.
// Every number is a whole number of milliseconds, so Lua's doubles and JavaScript's agree exactly.
// KEYS: the buckets. ARGV: now, then per bucket interval, burst, cost and flags (1: decides, 2: debits).
// Returns each TAT as it was, -1 for none.
const SPEND = `
local now = tonumber(ARGV[1])
local before, after = {}, {}
local allowed = true
for i, key in ipairs(KEYS) do
  local a = 1 + (i - 1) * 4
  local interval, burst, cost, flags = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local tat = tonumber(redis.call('GET', key))
  before[i] = tat or -1
  local newTat = math.max(tat or now, now) + cost * interval
  local fits = newTat - burst * interval <= now
  if fits and flags >= 2 then after[i] = newTat end
  if not fits and flags % 2 == 1 then allowed = false end
end
if allowed then
  for i, key in ipairs(KEYS) do
    if after[i] then redis.call('SET', key, string.format('%d', after[i]), 'PX', string.format('%d', after[i] - now)) end
  end
end
return before
`;

// gcra.ts's refundDecision: the TAT moves back by cost×interval, never before now; a bucket at now is deleted.
// KEYS: the buckets. ARGV: now, then per bucket the refunded time (cost×interval).
const REFUND = `
local now = tonumber(ARGV[1])
local before = {}
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key))
  before[i] = tat or -1
  if tat and tat > now then
    local newTat = math.max(tat - tonumber(ARGV[i + 1]), now)
    if newTat > now then
      redis.call('SET', key, string.format('%d', newTat), 'PX', string.format('%d', newTat - now))
    else
      redis.call('DEL', key)
    end
  end
end
return before
`;

type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<number[]>;

export interface RedisStoreOptions {
  /** redis://127.0.0.1:6379/0 */
  url: string;
  /** Put before every key, so several CAs (or test runs) can share one Redis. */
  prefix: string;
  /** A command that takes longer fails (and the limiter fails open) instead of holding the ACME request. */
  commandTimeoutMs?: number;
  /** Connection errors, reported while ioredis reconnects in the background. */
  onError?: (error: Error) => void;
}

export class RedisStore implements Store {
  readonly client: Redis;
  private readonly prefix: string;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix;
    // A failed command makes the limiter fail open, so the ACME request goes on while Redis is away.
    this.client = failFastRedis(options.url, options);
    this.client.defineCommand('rateLimitSpend', { lua: SPEND });
    this.client.defineCommand('rateLimitRefund', { lua: REFUND });
  }

  /** Connects; rejects when Redis cannot be reached (ioredis keeps trying in the background). */
  async connect(): Promise<void> {
    await this.client.connect();
  }

  async get(keys: string[], now: number): Promise<(number | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await this.client.mget(keys.map((key) => this.prefix + key));
    return values.map((value) => (value === null ? undefined : fresh(Number(value), now)));
  }

  async spend(ops: BucketOp[], now: number): Promise<(number | undefined)[]> {
    if (ops.length === 0) return [];
    const args = ops.flatMap((op) => [emissionIntervalMs(op.limit), op.limit.burst, op.cost, (op.decides ? 1 : 0) + (op.debits ? 2 : 0)]);
    const before = await this.script('rateLimitSpend')(ops.length, ...ops.map((op) => this.prefix + op.key), now, ...args);
    return before.map((tat) => fresh(tat, now));
  }

  async refund(ops: BucketOp[], now: number): Promise<(number | undefined)[]> {
    if (ops.length === 0) return [];
    const refunds = ops.map((op) => op.cost * emissionIntervalMs(op.limit));
    const before = await this.script('rateLimitRefund')(ops.length, ...ops.map((op) => this.prefix + op.key), now, ...refunds);
    return before.map((tat) => fresh(tat, now));
  }

  async close(): Promise<void> {
    // quit() waits for Redis to answer; when it is not connected there is nothing to wait for.
    if (this.client.status === 'ready') await this.client.quit();
    else this.client.disconnect();
  }

  private script(name: 'rateLimitSpend' | 'rateLimitRefund'): ScriptCommand {
    // defineCommand adds the method at run time; ioredis's types cannot know it.
    const command = (this.client as unknown as Record<string, ScriptCommand>)[name]!;
    return command.bind(this.client);
  }
}

/** A TAT that has passed (or -1 from the script) is a full bucket. */
function fresh(tat: number, now: number): number | undefined {
  return tat > now ? tat : undefined;
}
