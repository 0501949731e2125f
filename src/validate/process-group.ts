// Process groups of spawned agents: who is still alive in a group, killing a
// whole group, and a registry of live groups killed when the tool itself
// exits or gets Ctrl-C, so no agent outlives the tool.
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of the live (non-zombie) processes whose process group is `pgid` (Linux /proc). */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    // No /proc: fall back to a probe of the whole group.
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ..." — comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) out.push(Number(e));
  }
  return out;
}

export function killGroupNow(pgid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Poll until the group is empty or the deadline passes; true when empty. */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (groupMembers(pgid).length === 0) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const live = new Set<number>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killAll(): void {
  for (const pgid of live) killGroupNow(pgid);
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  uninstall();
  // Only our listener was there: re-raise so the tool dies the way it would have.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

let installed = false;
function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}
function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', killAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

const listeners = new Set<(pgid: number, live: boolean) => void>();

/** Be told when a group starts or ends (the run journal records them for crash recovery). */
export function onGroupChange(fn: (pgid: number, live: boolean) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Track a live group; signal handlers exist only while some group is live. */
export function trackGroup(pgid: number): void {
  live.add(pgid);
  install();
  for (const l of listeners) l(pgid, true);
}

export function untrackGroup(pgid: number): void {
  live.delete(pgid);
  if (live.size === 0) uninstall();
  for (const l of listeners) l(pgid, false);
}

export function liveGroups(): number[] {
  return [...live];
}
