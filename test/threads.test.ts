// How many worker threads a stage uses: left to choose, a fleet too small for the workers to pay
// for their start stays in this process; asked for with -j, the workers start from a few items.
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { POOL_FROM_AGENTS, workerThreads } from '../src/pipeline/threads.js';

const cores = Math.min(os.availableParallelism?.() ?? os.cpus().length, 4);

describe('workerThreads', () => {
  it('left to choose: in this process below POOL_FROM_AGENTS, one thread per core (at most 4) from there', () => {
    expect(workerThreads(100, 4, {})).toBe(0);
    expect(workerThreads(POOL_FROM_AGENTS - 1, 48, {})).toBe(0);
    expect(workerThreads(POOL_FROM_AGENTS, 48, {})).toBe(cores < 2 ? 0 : cores);
  });

  it('-j N asks for the workers: they start from the stage minimum; -j 1 and --run-in-band never start any', () => {
    expect(workerThreads(60, 48, { jobs: 2 })).toBe(2);
    expect(workerThreads(40, 48, { jobs: 2 })).toBe(0);
    expect(workerThreads(5000, 48, { jobs: 1 })).toBe(0);
    expect(workerThreads(5000, 48, { inBand: true })).toBe(0);
    expect(workerThreads(3, 4, { jobs: 8 })).toBe(0);
    expect(workerThreads(6, 4, { jobs: 8 })).toBe(6);
  });
});
