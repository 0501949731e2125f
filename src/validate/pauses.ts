// The tool's own pauses: a process stopped (Ctrl-Z, SIGSTOP), a suspended machine or a long
// synchronous step runs no timer meanwhile, while the watchdog (a process of its own) still kills
// an agent at its deadline. Such an agent was reported "killed at the time limit" as if it hung
// (probe-fault55: the CLI stopped for 70 s failed two healthy agents so); the exit now says how
// long the tool itself was held up.
const TICK_MS = 500;
/** A tick this much later than due is a pause of the tool, not timer jitter. */
const PAUSE_MS = 2_000;
/** Pauses ended (performance.now()) and how long each was; the last ones only. */
const pauses: Array<{ end: number; ms: number }> = [];
let last = 0;
let ticker: NodeJS.Timeout | undefined;

/** Start noting this process's pauses (once; the ticker never keeps the process alive). */
export function watchPauses(): void {
  if (ticker) return;
  last = performance.now();
  ticker = setInterval(() => {
    const now = performance.now();
    const late = now - last - TICK_MS;
    if (late >= PAUSE_MS) {
      pauses.push({ end: now, ms: late });
      if (pauses.length > 64) pauses.shift();
    }
    last = now;
  }, TICK_MS);
  ticker.unref();
}

/** How long this process was held up since `since` (performance.now()): ended pauses and one still under way. */
export function pausedSince(since: number): number {
  const ongoing = performance.now() - last - TICK_MS;
  const ended = pauses.filter((p) => p.end > since).reduce((sum, p) => sum + p.ms, 0);
  return ended + (ticker && ongoing >= PAUSE_MS ? ongoing : 0);
}
