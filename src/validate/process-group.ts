// Everything an agent started, not only its process group: a double-forked, setsid
// daemon leaves the group but stays in the agent's cgroup (where we could make one)
// and keeps the marker we put in the agent's environment; children are also found
// by parent pid while the agent lives. Live trees are killed when the tool exits or
// gets a signal, and a journal or the watchdog is told about each, so no agent
// outlives the tool.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { cgroupPids, killCgroup, removeCgroup } from './cgroup.js';
import { bootId, childrenOf, commandLine, descendantsIn, hasChildrenFiles, environCarries, environHas, hasProc, holdsPipe, listProcs, readStat, startFloorNow, stdioPipes, type ProcStat } from './proc.js';

/** The environment variable that marks every process started for validation. */
export const MARK_VAR = 'MIGRATE_AGENT_MARK';
/** This tool process's token: every marker it hands out starts with it. */
export const RUN_TOKEN = randomBytes(8).toString('hex');
let markSeq = 0;
export function newMark(): string {
  return `${RUN_TOKEN}:${++markSeq}`;
}

/**
 * What a journal needs to find (and prove it found) an agent's processes again after a
 * crash. It is recorded twice: before the agent is spawned (no pid yet; its marker and
 * cgroup already name it, so a crash in between strands nothing), then with its pid.
 */
export interface TreeRecord {
  /** The agent's pid, which is also its process group (0 until it is spawned). */
  pgid: number;
  /** The agent's start time (clock ticks after boot; before the spawn, a time it cannot start before) and the boot it belongs to. */
  start?: number;
  boot?: string;
  /** The value of MIGRATE_AGENT_MARK in its environment (unique: the key of the record). */
  mark: string;
  /** Its cgroup directory, when it has one. */
  cgroup?: string;
  /** The pipes it got as stdout and stderr ("pipe:[inode]"): whoever holds them came from it. */
  pipes?: string[];
  /** Epoch ms after which it must not be running any more (its time limit). */
  deadline?: number;
  /**
   * Processes seen in the tree while the agent ran (its descendants and group), each named by
   * pid and start time: found again after they lost every other link (a worker started with
   * an environment of its own, output on /dev/null, in a session of its own, orphaned when
   * the agent exited), and never confused with a later process reusing the pid.
   */
  members?: Array<{ pid: number; start: number }>;
  /**
   * `pgid` is the subreaper launcher (reaper.ts), not the agent: what the agent's processes
   * fork while they are being killed is reparented to it, so it is killed last, once nothing
   * is left below it (killRecordedTree).
   */
  reaper?: boolean;
}

/** Pids of the live (non-zombie) processes whose process group is `pgid` (Linux /proc). */
export function groupMembers(pgid: number): number[] {
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
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
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

/**
 * One agent and everything it started. Membership is the union of: its cgroup,
 * its process group, its descendants by parent pid, processes seen in it before
 * (pid and start time, so a reused pid never counts), and processes carrying its
 * marker that started after it.
 */
export class AgentTree {
  /** Set by the runner once the agent itself has exited and been reaped. */
  leaderExited = false;
  /** Members found that the journal or the watchdog could not be told of yet. */
  unannounced = false;
  private readonly known = new Map<number, number>();
  /**
   * Processes (pid -> start time) started after the agent that members() found carrying
   * neither its marker nor its pipes. A process gets its environment and its descriptors when
   * it is forked (a later exec only replaces what it had, never takes in what another process
   * holds), so one look decides for its whole life; the next members() reads its environ and
   * descriptors again only when the pid names a new process. Before, every call read both of
   * every process younger than the agent: most of the cost of a call on a busy machine, and
   * the kill loop, the shutdown check's waits and the ports check call it again and again.
   */
  private readonly cleared = new Map<number, number>();
  private readonly leaderStart: number | undefined;
  private readonly pipes: string[];

  /** Through the subreaper launcher (reaper.ts): the agent's own pid, once the launcher told it. */
  agentPid: number | undefined;

  /**
   * `reaper`: `pid` is the subreaper launcher (reaper.ts), not the agent: every process the
   * agent starts stays below it, orphans included. It is the root of the tree, never one of
   * its members (nothing to report, and killed last: killed first, it would let what is
   * below it go to init).
   */
  constructor(
    readonly pid: number,
    readonly mark: string,
    readonly cgroup?: string,
    readonly deadline?: number,
    public reaper = false,
  ) {
    this.leaderStart = readStat(pid)?.start;
    if (this.leaderStart !== undefined) this.known.set(pid, this.leaderStart);
    this.pipes = stdioPipes(pid);
  }

  record(): TreeRecord {
    const members = [...this.known].filter(([pid]) => pid !== this.pid).map(([pid, start]) => ({ pid, start }));
    return {
      pgid: this.pid,
      start: this.leaderStart,
      boot: hasProc() ? bootId() : undefined,
      mark: this.mark,
      cgroup: this.cgroup,
      pipes: this.pipes,
      deadline: this.deadline,
      ...(members.length ? { members } : {}),
      ...(this.reaper ? { reaper: true } : {}),
    };
  }

  /**
   * Remember the processes the agent has started so far, from a snapshot of /proc (cheap: no
   * file but each process's stat): its descendants and its group while it runs. A worker
   * that drops the marker, the pipes and the group is only linked to the agent by its parent,
   * a link gone the moment the agent exits; remembered here, it is found (and killed) after.
   * True when something new was found.
   */
  sample(procs: ProcStat[]): boolean {
    return this.remember(procs, undefined);
  }

  /**
   * The same without a snapshot of every process: from the agent down, each process's
   * children files (a few reads per process of the tree; the snapshot cost a read per process
   * of the machine, 100 ms and more per scan on a loaded one).
   */
  sampleChildren(): boolean {
    return this.remember(undefined, childrenOf);
  }

  private remember(procs: ProcStat[] | undefined, children: ((pid: number) => number[]) | undefined): boolean {
    if (this.leaderExited || this.leaderStart === undefined) return false;
    const statOf = procs ? ((m) => (pid: number) => m.get(pid))(new Map(procs.map((p) => [p.pid, p]))) : readStat;
    const roots = new Set<number>();
    for (const [pid, start] of this.known) {
      const p = statOf(pid);
      if (p && p.state !== 'Z' && p.start === start) roots.add(pid);
      // Ended (an agent running a short command every second): nothing to find any more.
      else if (pid !== this.pid) this.known.delete(pid);
    }
    if (!roots.has(this.pid)) return false; // the agent is gone: nothing can be told by its parent link any more
    let grew = false;
    const add = (p: ProcStat | undefined) => {
      if (!p || p.state === 'Z' || this.known.has(p.pid)) return false;
      this.known.set(p.pid, p.start);
      grew = true;
      return true;
    };
    if (procs) {
      for (const p of procs) if (p.pgid === this.pid && p.start >= this.leaderStart) add(p);
      for (const p of descendantsIn(procs, roots)) add(p);
    } else {
      const queue = [...roots];
      for (let i = 0; i < queue.length; i++) {
        for (const child of children!(queue[i]!)) if (add(readStat(child))) queue.push(child);
      }
    }
    return grew;
  }

  /** True when `pid` is the agent or one of the processes it started. */
  has(pid: number): boolean {
    if (pid === this.pid) return true;
    // Seen in the tree before and still the very same process: no scan needed to say so.
    const start = this.known.get(pid);
    if (start !== undefined) {
      const s = readStat(pid);
      if (s && s.state !== 'Z' && s.start === start) return true;
    }
    return this.members().includes(pid);
  }

  /** Live processes of the tree (the agent included while it runs), remembered for later. */
  members(): number[] {
    if (!hasProc()) return this.leaderExited ? [] : groupMembers(this.pid);
    const procs = listProcs().filter((p) => p.state !== 'Z');
    const found = new Map<number, ProcStat>();
    const byPid = new Map(procs.map((p) => [p.pid, p]));
    const add = (p: ProcStat | undefined) => p && found.set(p.pid, p);
    if (this.cgroup) for (const pid of cgroupPids(this.cgroup)) add(byPid.get(pid));
    for (const [pid, start] of this.known) {
      const p = byPid.get(pid);
      if (p && p.start === start) add(p);
    }
    for (const p of procs) {
      if (p.pgid === this.pid && (this.leaderStart === undefined || p.start >= this.leaderStart)) add(p);
    }
    for (const p of descendantsIn(procs, new Set(found.keys()))) add(p);
    if (this.leaderStart !== undefined) {
      // Started after the agent and carrying its marker, or holding its output pipes:
      // a daemon that double-forked, left the group, even cleared its environment.
      const entry = `${MARK_VAR}=${this.mark}`;
      const cleared = new Map<number, number>();
      for (const p of procs) {
        if (found.has(p.pid) || p.start < this.leaderStart) continue;
        if (this.cleared.get(p.pid) === p.start) cleared.set(p.pid, p.start);
        else {
          const carries = environCarries(p.pid, entry);
          if (carries || holdsPipe(p.pid, this.pipes)) add(p);
          // An environ not readable yet (a process mid-exec) is looked at again next time.
          else if (carries === false) cleared.set(p.pid, p.start);
        }
      }
      // Only processes still there: a pid reused by a later process is looked at afresh.
      this.cleared.clear();
      for (const [pid, start] of cleared) this.cleared.set(pid, start);
    }
    for (const p of found.values()) this.known.set(p.pid, p.start);
    if (this.reaper) found.delete(this.pid);
    return [...found.keys()].sort((a, b) => a - b);
  }

  /** Something of the tree is left: a member, or the launcher. */
  alive(): boolean {
    return this.members().length > 0 || this.launcherLives();
  }

  /** The launcher is still there (unreaped and not a zombie). */
  private launcherLives(): boolean {
    if (!this.reaper || this.leaderExited) return false;
    const s = readStat(this.pid);
    return Boolean(s && s.state !== 'Z' && s.start === this.leaderStart);
  }

  /** "pid 1234 (python3 agents/x_v2.py)". */
  describe(pid: number): string {
    return `pid ${pid} (${commandLine(pid)})`;
  }

  /**
   * SIGKILL every member once (synchronous: also usable while the tool exits). `seen`: the
   * members the caller has just listed (kill's loop), not listed again.
   */
  killNow(seen?: number[]): void {
    if (this.cgroup) killCgroup(this.cgroup);
    // The group id cannot name anyone else while the agent is unreaped: its pid is still taken.
    // Not through the launcher: the group kill would take it first, and what its members
    // leave orphaned would go to init instead of to it.
    if (!this.leaderExited && !this.reaper) killGroupNow(this.pid);
    const members = seen ?? this.members();
    for (const pid of members) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    // The launcher last, once nothing is left below it (it exits by itself then; this is for
    // one that cannot). Unreaped, its pid names no one else.
    if (!members.length && this.launcherLives()) killGroupNow(this.pid);
  }

  /** Kill until nothing is left (bounded); true when the tree is empty. */
  async kill(timeoutMs = 2000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      // One look at the tree a round: killNow kills what it shows (a process forked since is
      // taken by the cgroup or group kill, or found at the next round; the launcher, with
      // nothing left below it, goes only once a look shows no member).
      const members = this.members();
      if (!members.length && !this.launcherLives()) break;
      if (Date.now() >= end) return false;
      this.killNow(members);
      await new Promise((r) => setTimeout(r, 20));
    }
    // A killed child lingers as a zombie until reaped: the cgroup goes once it is empty.
    while (this.cgroup && !removeCgroup(this.cgroup) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return true;
  }

  /** Wait until the tree is empty or the time passes; the survivors (empty when none). */
  async waitGone(timeoutMs: number): Promise<number[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const left = this.members();
      if (left.length === 0 || Date.now() >= end) return left;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

const live = new Set<AgentTree>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killAll(): void {
  const trees = [...live];
  live.clear();
  for (const t of trees) t.killNow();
  // The tool is exiting: wait (briefly, synchronously) for the kills to land so the
  // agents' cgroups can go too, and a launcher goes last, once nothing is left below it.
  const end = Date.now() + 500;
  for (const t of trees.filter((x) => x.reaper)) {
    while (t.alive() && Date.now() < end) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      t.killNow();
    }
  }
  for (const t of trees.filter((x) => x.cgroup)) {
    while (!removeCgroup(t.cgroup!) && Date.now() < end) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  uninstall();
  // Only our listener was there: re-raise so the tool dies the way it would have.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** How often the live trees are sampled for the processes they start (a snapshot of every process only one time in ten). */
const SAMPLE_MS = 200;
let sampler: NodeJS.Timeout | undefined;
let tick = 0;

/**
 * Each live tree walked from its agent down (children files), or where the kernel has no
 * children files, one snapshot of every process for all trees every tenth tick; a tree that
 * found new processes is recorded again (journal, watchdog).
 */
function sampleAll(): void {
  if (!live.size) return;
  const walk = hasChildrenFiles();
  if (!walk && tick++ % 10 !== 0) return;
  const procs = walk ? undefined : listProcs();
  for (const t of live) if ((procs ? t.sample(procs) : t.sampleChildren()) || t.unannounced) t.unannounced = !announce(t.record());
}

/** Tell the journal and the watchdog; false when one could not take it (tried again at the next sample). */
function announce(rec: TreeRecord): boolean {
  let ok = true;
  for (const l of listeners) {
    try {
      l(rec, true);
    } catch {
      // A journal that cannot be saved now (a full disk) must not bring the tool down from a
      // timer: this tool still knows the members and kills them itself.
      ok = false;
    }
  }
  return ok;
}

let installed = false;
function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const s of SIGNALS) process.on(s, onSignal);
  if (hasProc()) {
    sampler = setInterval(sampleAll, SAMPLE_MS);
    sampler.unref();
  }
}
function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', killAll);
  for (const s of SIGNALS) process.off(s, onSignal);
  if (sampler) clearInterval(sampler);
  sampler = undefined;
}

const listeners = new Set<(tree: TreeRecord, live: boolean) => void>();

/** Be told when a tree starts or ends (the run journal and the watchdog record them). */
export function onGroupChange(fn: (tree: TreeRecord, live: boolean) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Announce an agent about to be spawned (its marker and cgroup), before there is a pid to track. */
export function announceTree(rec: Omit<TreeRecord, 'pgid' | 'start' | 'boot'>): TreeRecord {
  const full: TreeRecord = { ...rec, pgid: 0, start: startFloorNow(), boot: hasProc() ? bootId() : undefined };
  for (const l of listeners) l(full, true);
  return full;
}

/** The announced agent was never spawned. */
export function withdrawTree(rec: TreeRecord): void {
  for (const l of listeners) l(rec, false);
}

/** Track a live tree; signal handlers exist only while some tree is live. */
export function trackTree(tree: AgentTree): void {
  live.add(tree);
  install();
  const rec = tree.record();
  for (const l of listeners) l(rec, true);
}

export function untrackTree(tree: AgentTree): void {
  if (!live.delete(tree)) return;
  if (live.size === 0) uninstall();
  const rec = tree.record();
  for (const l of listeners) l(rec, false);
}

/** Process groups (agent pids) of the live trees. */
export function liveGroups(): number[] {
  return [...live].map((t) => t.pid);
}

export function liveTrees(): TreeRecord[] {
  return [...live].map((t) => t.record());
}

// ---- trees of another (dead) tool process: the watchdog and crash recovery --------

export interface RecordedTreeState {
  /** Live processes provably started for that agent. */
  ours: number[];
  /** Why something was left alone, when it was (one line). */
  leftAlone?: string;
}

/**
 * The live processes of a tree another tool process recorded, counting only what can
 * be proven to be that agent's: its marker in the environment, its cgroup, and its
 * process group and descendants only while the agent itself is provably the same
 * process (same pid, start time and boot). A pid that now names another process is
 * left alone and said so.
 */
export function recordedTreeState(rec: TreeRecord): RecordedTreeState {
  if (!hasProc()) {
    return { ours: [], leftAlone: `cannot tell whether pid ${rec.pgid} is still the agent that run started (no /proc); left alone` };
  }
  const procs = listProcs().filter((p) => p.state !== 'Z');
  const found = new Map<number, ProcStat>();
  const sameBoot = rec.boot === bootId();
  const leader = rec.pgid ? procs.find((p) => p.pid === rec.pgid) : undefined;
  const leaderIsOurs = Boolean(leader && sameBoot && rec.start !== undefined && leader.start === rec.start);
  const cgroup = recordedCgroup(rec);
  if (cgroup) {
    for (const pid of cgroupPids(cgroup)) {
      const p = procs.find((x) => x.pid === pid);
      if (p) found.set(pid, p);
    }
  }
  if (leaderIsOurs) {
    found.set(leader!.pid, leader!);
    for (const p of procs) if (p.pgid === rec.pgid && p.start >= rec.start!) found.set(p.pid, p);
  }
  if (sameBoot) {
    // Seen in the tree while the agent ran, and still the very same process (pid and start time).
    for (const m of Array.isArray(rec.members) ? rec.members : []) {
      const p = procs.find((x) => x.pid === m?.pid);
      if (p && typeof m.start === 'number' && p.start === m.start) found.set(p.pid, p);
    }
  }
  if (sameBoot && rec.start !== undefined) {
    const entry = `${MARK_VAR}=${rec.mark}`;
    for (const p of procs) {
      if (found.has(p.pid) || p.start < rec.start) continue;
      if ((rec.mark && environHas(p.pid, entry)) || holdsPipe(p.pid, rec.pipes ?? [])) found.set(p.pid, p);
    }
  }
  if (found.size) for (const p of descendantsIn(procs, new Set(found.keys()))) found.set(p.pid, p);
  const ours = [...found.keys()].sort((a, b) => a - b);
  let leftAlone: string | undefined;
  if (leader && !leaderIsOurs && !found.has(leader.pid)) {
    const why = rec.start === undefined ? 'its start time was not recorded' : !sameBoot ? 'the machine was restarted since' : 'its start time differs';
    leftAlone = `pid ${rec.pgid} (${commandLine(rec.pgid)}) is not the agent that run started (${why}); left alone`;
  }
  return { ours, leftAlone };
}

/** How long the launcher gets to exit by itself once nothing is left below it. */
const LAUNCHER_EXIT_MS = 500;

export interface KillOutcome {
  /** Processes proven ours and killed. */
  killed: number[];
  /** Proven ours but still alive at the end (could not be killed). */
  left: number[];
  leftAlone?: string;
}

/**
 * SIGKILL what recordedTreeState proves ours, until none is left (bounded). Through the
 * subreaper launcher, the launcher goes last: while it lives, whatever a process of the agent
 * forks between a look at the tree and its kill is reparented to it and found (and killed) at
 * the next pass; killed in the same pass, it let those children go to init, out of reach (a
 * worker's job in a session of its own, with an environment of its own, on /dev/null). Once
 * nothing is left below it, it reaps and exits by itself; SIGKILLed only if it does not.
 */
export async function killRecordedTree(rec: TreeRecord, timeoutMs = 2000): Promise<KillOutcome> {
  const end = Date.now() + timeoutMs;
  let state = recordedTreeState(rec);
  const first = state;
  const launcher = rec.reaper && rec.pgid && first.ours.includes(rec.pgid) ? rec.pgid : undefined;
  let launcherAlone: number | undefined;
  while (state.ours.length && Date.now() < end) {
    const cgroup = recordedCgroup(rec);
    // cgroup.kill takes the launcher too, but in one step that nothing forks across.
    if (cgroup) killCgroup(cgroup);
    const below = state.ours.filter((p) => p !== launcher);
    // Only the launcher left: it has reaped (or is reaping) what was below it; give it a moment to exit.
    if (below.length) launcherAlone = undefined;
    else launcherAlone ??= Date.now();
    const targets = below.length ? below : Date.now() - launcherAlone! >= LAUNCHER_EXIT_MS ? state.ours : [];
    for (const pid of targets) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 20));
    state = recordedTreeState(rec);
  }
  const cgroup = recordedCgroup(rec);
  if (cgroup && state.ours.length === 0) {
    // Killed processes linger a moment as zombies until reaped; only then can the cgroup go.
    const until = Date.now() + 1000;
    while (!removeCgroup(cgroup) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }
  return { killed: first.ours.filter((p) => !state.ours.includes(p)), left: state.ours, leftAlone: first.leftAlone };
}

/** The recorded cgroup when it is one this tool makes (its name) on this boot. */
function recordedCgroup(rec: TreeRecord): string | undefined {
  return rec.cgroup && rec.boot === bootId() && /\/migrate-[0-9a-f]+-\d+$/.test(rec.cgroup) ? rec.cgroup : undefined;
}
