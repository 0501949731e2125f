// The review reason a kept run() gets when no entry point of its file constructs the agent to take its
// interval: written by hardened-main-loop, read back by the base migration units (src/discover/base-units.ts),
// which trace it to the entry points in the agents' files. One place for the phrase both sides need.

/** `nowhere to pass collection_interval=15 (no entry point constructs WatcherAgent)`. */
export function noEntryForInterval(keyword: string, value: string, cls: string): string {
  return `nowhere to pass ${keyword}=${value} (no entry point constructs ${cls})`;
}

/** The keyword and value of such a reason, or null when the reason is another. */
export function readNoEntryForInterval(reason: string): { keyword: string; value: string } | null {
  const m = /^nowhere to pass (\w+)=(.+?) \(no entry point constructs \w+\)/.exec(reason);
  return m ? { keyword: m[1]!, value: m[2]! } : null;
}
