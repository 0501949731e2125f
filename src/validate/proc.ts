// What Linux's /proc says about processes: parent, group, session, state and start
// time (clock ticks since boot, which with the boot id names a process for good:
// a pid is reused, a pid with its start time is not), and whether a process carries
// a marker in its environment. Everything degrades to "unknown" without /proc.
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** One letter: R, S, D, Z (zombie), T, ... */
  state: string;
  /** Start time in clock ticks after boot. */
  start: number;
  comm: string;
}

/** A process named for good: its pid and start time on this boot. */
export interface ProcIdentity {
  pid: number;
  start: number;
  boot: string;
}

export function hasProc(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

/** One buffer for every stat read (a line is a few hundred bytes): no allocation and no size probe per process. */
const statBuf = Buffer.alloc(4096);

/** /proc/<pid>/stat as text; undefined when the process is gone (or /proc is not there). */
function readStatText(pid: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, statBuf, 0, statBuf.length, 0);
    // A line that fills the buffer (never seen: comm is at most 64 bytes) is read whole instead.
    return n < statBuf.length ? statBuf.toString('utf8', 0, n) : readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // ended between the open and the read
  } finally {
    closeSync(fd);
  }
}

export function readStat(pid: number): ProcStat | undefined {
  const text = readStatText(pid);
  if (text === undefined) return undefined;
  // "pid (comm) state ppid pgrp session ... starttime(22nd)": comm may hold spaces and parentheses.
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  return {
    pid,
    comm: text.slice(text.indexOf('(') + 1, close),
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    sid: Number(f[3]),
    start: Number(f[19]),
  };
}

/** Every process /proc shows (zombies included; callers decide). */
export function listProcs(): ProcStat[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const e of entries) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
    const s = readStat(Number(e));
    if (s) out.push(s);
  }
  return out;
}

let cachedBoot: string | undefined;
export function bootId(): string {
  if (cachedBoot === undefined) {
    try {
      cachedBoot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBoot = '';
    }
  }
  return cachedBoot;
}

/**
 * Now, in the unit of a process's start time (clock ticks after boot, USER_HZ = 100),
 * less a margin: every process started from now on has a start time at least this.
 */
export function startFloorNow(): number | undefined {
  try {
    return Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100) - 2;
  } catch {
    return undefined;
  }
}

export function identityOf(pid: number): ProcIdentity | undefined {
  const s = readStat(pid);
  return s ? { pid, start: s.start, boot: bootId() } : undefined;
}

export type IdentityCheck = 'same' | 'gone' | 'other' | 'unknown';

/** Is `id` still the very process it names? `unknown` when /proc cannot tell. */
export function checkIdentity(id: { pid: number; start?: number; boot?: string }): IdentityCheck {
  if (!hasProc() || id.start === undefined || id.boot === undefined) return pidAlive(id.pid) ? 'unknown' : 'gone';
  if (id.boot !== bootId()) return pidAlive(id.pid) ? 'other' : 'gone';
  const s = readStat(id.pid);
  if (!s || s.state === 'Z') return 'gone';
  return s.start === id.start ? 'same' : 'other';
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the process's environment holds `entry` (e.g. "MIGRATE_AGENT_MARK=abc:1") exactly, or as a prefix when it ends in ':'. */
export function environHas(pid: number, entry: string): boolean {
  return environCarries(pid, entry) === true;
}

/**
 * Whether the process's environment holds the entry: null while it cannot be told yet. An
 * empty environ is what a process shows in the middle of its exec (the new image's
 * environment is not mapped yet, though /proc already shows its new name) and what a
 * kernel thread shows: a look then decides nothing for the process's life.
 */
export function environCarries(pid: number, entry: string): boolean | null {
  let env: Buffer;
  try {
    env = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return false;
  }
  if (env.length === 0) return null;
  const needle = Buffer.from(entry.endsWith(':') ? `\0${entry}` : `\0${entry}\0`);
  // The first variable has no NUL before it: compare with a NUL put in front.
  const hay = Buffer.concat([Buffer.from([0]), env, Buffer.from([0])]);
  return hay.includes(needle);
}

/** "python3 agents/x_v2.py" for messages (the command line, clipped). */
export function commandLine(pid: number): string {
  try {
    let words = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // The subreaper launcher (reaper.ts): "python3 -I -S -c <source> migrate-launcher <tool pid> <agent command>".
    const at = words.indexOf('migrate-launcher');
    if (at > 0 && words[at - 2] === '-c') words = ['migrate-launcher', ...words.slice(at + 2)];
    const cmd = words.join(' ');
    return cmd.length > 80 ? `${cmd.slice(0, 79)}…` : cmd;
  } catch {
    return readStat(pid)?.comm ?? '?';
  }
}

/** Pids of the live descendants of `roots` (children, grandchildren, ...) in a snapshot. */
export function descendantsIn(procs: ProcStat[], roots: Set<number>): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const out: ProcStat[] = [];
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop()!;
    for (const c of children.get(pid) ?? []) {
      if (seen.has(c.pid) || roots.has(c.pid)) continue;
      seen.add(c.pid);
      out.push(c);
      stack.push(c.pid);
    }
  }
  return out;
}

/** The pipes a process has open as stdout and stderr ("pipe:[inode]", or "socket:[inode]": libuv gives children socket pairs). */
export function stdioPipes(pid: number): string[] {
  const out: string[] = [];
  for (const fd of [1, 2]) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('pipe:') || link.startsWith('socket:')) out.push(link);
    } catch {
      // gone, or not ours to look at
    }
  }
  return [...new Set(out)];
}

/** True when the process holds one of these pipes open (on any descriptor). */
export function holdsPipe(pid: number, pipes: string[]): boolean {
  if (!pipes.length) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      if (pipes.includes(readlinkSync(`/proc/${pid}/fd/${fd}`))) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

let childrenFiles: boolean | undefined;
/** Whether the kernel lists each thread's children in /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN). */
export function hasChildrenFiles(): boolean {
  if (childrenFiles === undefined) {
    try {
      readFileSync(`/proc/self/task/${process.pid}/children`);
      childrenFiles = true;
    } catch {
      childrenFiles = false;
    }
  }
  return childrenFiles;
}

/**
 * The direct children of a process, from the children file of each of its threads (a child
 * belongs to the thread that forked it): a few small reads instead of a scan of every
 * process. Empty when the process is gone; needs hasChildrenFiles().
 */
export function childrenOf(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    try {
      for (const w of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (w.trim()) out.push(Number(w));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
