// Wall time per stage of a batch (`run --timings`, the benchmark): each stage runs from its
// start to the next one's, so the stages add up to the run.
export class StageClock {
  private current: { name: string; at: number } | null = null;
  readonly ms: Record<string, number> = {};

  /** The previous stage ends, this one begins. */
  begin(name: string): void {
    this.end();
    this.current = { name, at: performance.now() };
  }

  /** The current stage (if any) ends. */
  end(): void {
    if (!this.current) return;
    this.ms[this.current.name] = (this.ms[this.current.name] ?? 0) + performance.now() - this.current.at;
    this.current = null;
  }

}

/** `scan 0.52 s, rewrite 3.10 s, ...` */
export function formatTimings(ms: Record<string, number>): string {
  return Object.entries(ms)
    .map(([name, t]) => `${name} ${(t / 1000).toFixed(2)} s`)
    .join(', ');
}
