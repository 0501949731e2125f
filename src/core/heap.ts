// Garbage collection on demand. V8 sizes its heap by how fast it allocates, not by what is
// alive: a TypeScript rewrite leaves a few megabytes of garbage (its project, its checker) that
// V8 let pile up to over a gigabyte in a 200-agent run before collecting it, so peak memory
// grew with the fleet though what is alive did not. A full collection whenever the heap has
// grown by HEAP_SLACK since the last one keeps it flat: 2,000 mixed agents peaked at 1.24 GB
// with 128 MB of slack, 1.60 GB with 256 MB, 1.86 GB without; four collections (0.3 s) in a
// 300-agent run.
import v8 from 'node:v8';
import vm from 'node:vm';

type Collect = (options?: { type: 'minor' | 'major'; execution: 'sync' | 'async' }) => void;
let collect: Collect | null | undefined;

/** V8's gc(), without --expose-gc on the command line (null where it cannot be had). */
export function collector(): Collect | null {
  if (collect === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as Collect;
    } catch {
      collect = null;
    }
  }
  return collect;
}

const HEAP_SLACK = 128 * 1024 * 1024;
/** Heap in use after the last collection this module asked for (each worker thread has its own). */
let floor = 0;

/** A full collection when the heap has grown by HEAP_SLACK since the last: call between two units of work. */
export function collectIfHeapGrew(): void {
  const used = v8.getHeapStatistics().used_heap_size;
  if (used - floor < HEAP_SLACK) return;
  const gc = collector();
  if (!gc) return;
  // Plain gc(): with options, { type: 'major' } left a dead 200 MB array in place (node 20).
  gc();
  floor = v8.getHeapStatistics().used_heap_size;
}

// MIGRATE_HEAP_EVERY=N: every N rewrites, a thread says on stderr what its heap holds after a full
// collection (what it keeps, not its garbage); MIGRATE_HEAP_SNAPSHOT_AT=K writes a heap snapshot
// of the thread at its K-th rewrite (in the working directory), to see what that is.
const traceEvery = Number(process.env.MIGRATE_HEAP_EVERY ?? 0);
const snapshotAt = Number(process.env.MIGRATE_HEAP_SNAPSHOT_AT ?? 0);
let units = 0;

/** Called after each unit of work (a rewrite): the debug traces above, nothing otherwise. */
export function traceHeap(thread: string): void {
  if (!traceEvery && !snapshotAt) return;
  units++;
  if (snapshotAt && units === snapshotAt) {
    collector()?.();
    process.stderr.write(`heap: ${thread}: snapshot ${v8.writeHeapSnapshot()}\n`);
  }
  if (traceEvery && units % traceEvery === 0) {
    collector()?.();
    const m = process.memoryUsage();
    const mb = (n: number) => `${Math.round(n / 1048576)} MB`;
    process.stderr.write(`heap: ${thread}: after ${units}: live heap ${mb(v8.getHeapStatistics().used_heap_size)}, external ${mb(m.external)} (array buffers ${mb(m.arrayBuffers)}), process rss ${mb(m.rss)}\n`);
  }
}
