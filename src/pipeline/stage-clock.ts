// Wall time per stage of a batch (`run --timings`, the benchmark): each stage runs from its
// start to the next one's, so the stages add up to the run. With MIGRATE_MEMORY=1 it also
// says on stderr, per stage, the peak and final memory of the process (sampled every 50 ms):
// what a stage keeps per agent shows as growth with the fleet, which one peak RSS hides.
import { writeHeapSnapshot } from 'node:v8';

const tracingMemory = process.env.MIGRATE_MEMORY === '1';
// MIGRATE_HEAP_SNAPSHOT=<stage>: a heap snapshot of the main thread as that stage ends, to name what it keeps.
const snapshotStage = process.env.MIGRATE_HEAP_SNAPSHOT;

interface MemoryPeak {
  rss: number;
  heapUsed: number;
  external: number;
}

export class StageClock {
  private current: { name: string; at: number; peak?: MemoryPeak } | null = null;
  private sampler: ReturnType<typeof setInterval> | null = null;
  readonly ms: Record<string, number> = {};

  /** The previous stage ends, this one begins. */
  begin(name: string): void {
    this.end();
    this.current = { name, at: performance.now() };
    if (tracingMemory) {
      this.current.peak = { rss: 0, heapUsed: 0, external: 0 };
      this.sample();
      this.sampler ??= setInterval(() => this.sample(), 50).unref();
    }
  }

  /** The current stage (if any) ends. */
  end(): void {
    if (!this.current) return;
    if (snapshotStage === this.current.name) process.stderr.write(`heap snapshot: ${writeHeapSnapshot()}\n`);
    this.ms[this.current.name] = (this.ms[this.current.name] ?? 0) + performance.now() - this.current.at;
    if (this.current.peak) {
      this.sample();
      const mb = (n: number) => `${Math.round(n / 1048576)} MB`;
      const now = process.memoryUsage();
      const p = this.current.peak;
      process.stderr.write(`memory: ${this.current.name}: peak rss ${mb(p.rss)}, heap ${mb(p.heapUsed)}, external ${mb(p.external)}; at its end rss ${mb(now.rss)}, heap ${mb(now.heapUsed)}, external ${mb(now.external)}\n`);
      clearInterval(this.sampler!);
      this.sampler = null;
    }
    this.current = null;
  }

  private sample(): void {
    const p = this.current?.peak;
    if (!p) return;
    const m = process.memoryUsage();
    p.rss = Math.max(p.rss, m.rss);
    p.heapUsed = Math.max(p.heapUsed, m.heapUsed);
    p.external = Math.max(p.external, m.external);
  }
}

/** `scan 0.52 s, rewrite 3.10 s, ...` */
export function formatTimings(ms: Record<string, number>): string {
  return Object.entries(ms)
    .map(([name, t]) => `${name} ${(t / 1000).toFixed(2)} s`)
    .join(', ');
}
