// Deterministic sharding for CI matrices: an agent's shard depends only on its
// own key (a stable hash), so adding or removing agents never moves the others.
import { createHash } from 'node:crypto';
import { UsageError } from '../core/errors.js';

export interface ShardSpec {
  /** 1-based shard index. */
  index: number;
  count: number;
}

export function parseShard(spec: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count || !Number.isSafeInteger(count)) {
    throw new UsageError(`--shard takes i/n with 1 <= i <= n (for example 1/4), not "${spec}"`);
  }
  return { index, count };
}

/** Which of `count` shards (0-based) a key falls in. */
export function shardIndexOf(key: string, count: number): number {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  // 48 bits keep the arithmetic exact in a double.
  return digest.readUIntBE(0, 6) % count;
}

/** The items of shard i of n (1-based), in their original order. */
export function shardOf<T>(items: T[], key: (t: T) => string, spec: string): T[] {
  const { index, count } = parseShard(spec);
  return items.filter((t) => shardIndexOf(key(t), count) === index - 1);
}

/** The branch a shard's commits land on. */
export function shardBranch(spec: string): string {
  const { index, count } = parseShard(spec);
  return `migrate/shard-${index}-of-${count}`;
}
