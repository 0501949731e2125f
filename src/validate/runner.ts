// Start one agent as a child (execa) in its own process group, in a cgroup of its own
// where the machine allows and with a marker in its environment, with captured output
// and a hard time limit; everything it started is killed at the end, and its output
// pipes are closed so a survivor can never keep the tool alive.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createAgentCgroup, procsFile, removeCgroup } from './cgroup.js';
import { AgentTree, announceTree, MARK_VAR, newMark, RUN_TOKEN, trackTree, untrackTree, withdrawTree } from './process-group.js';
import { reaperLauncher } from './reaper.js';
import { errorLines, normalizeLine } from './checks/log.js';
import { pausedSince, watchPauses } from './pauses.js';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** Set when the command could not be started at all (e.g. "python3: not found on PATH"). */
  spawnError?: string;
  /** True when the hard time limit killed it. */
  timedOut: boolean;
  /** With timedOut: how long the tool itself was held up meanwhile (stopped, suspended), when it was. */
  toolPausedMs?: number;
}

export interface StartOptions {
  command: string;
  args: string[];
  /** The complete environment of the child. */
  env: Record<string, string | undefined>;
  cwd: string;
  timeLimitMs: number;
  signal?: AbortSignal;
}

export interface AgentProcess {
  pid: number | undefined;
  startedAt: number;
  /** stdout and stderr interleaved in arrival order. */
  output(): string;
  /** Milliseconds after the start at which an ERROR/Traceback line (normalized, see checks/log.ts) was first printed. */
  errorLineSeenMs?(normalized: string): number | undefined;
  stderr(): string;
  /** Resolves when the child has exited (or could not start) and what it wrote before has been read. */
  exit: Promise<ExitInfo>;
  /** The exit, once it happened (and its output was read, as for `exit`). */
  exited(): ExitInfo | undefined;
  /** True from the moment the exit is seen, while what it wrote before may still be read (`exit` follows within about 100 ms). */
  exitSeen?(): boolean;
  /** Send a signal to the agent only (what `kill PID`, Docker and Kubernetes do: the main process). */
  signal(sig: NodeJS.Signals): boolean;
  /**
   * Send a signal to every process the agent started, not to the agent: with `signal`, what
   * systemd does to stop a service by default (KillMode=control-group: KillSignal to every
   * process of the unit). How many were signalled.
   */
  signalOthers(sig: NodeJS.Signals): number;
  /** Live processes it started (itself included while it runs): group, cgroup, descendants, marker. */
  members(): number[];
  /** True when `pid` is the agent or a process it started. */
  owns(pid: number): boolean;
  /** Wait until nothing of it is left (bounded); the survivors, each as "pid 12 (command)". */
  survivors(graceMs: number): Promise<string[]>;
  /** SIGKILL everything it started and wait until it is gone (bounded). */
  killGroup(): Promise<void>;
}

const MAX_OUTPUT = 512 * 1024;
/** A pause of the tool this long during an agent's run is named when its time limit kills it. */
const TOOL_PAUSE_NOTED_MS = 5_000;

/** How long an output pipe still open after the agent's exit is given before its exit is reported (see outputRead). */
const OUTPUT_SETTLE_MS = 100;

function keepTail(s: string): string {
  return s.length > MAX_OUTPUT ? s.slice(s.length - MAX_OUTPUT) : s;
}

export function describeExit(e: ExitInfo): string {
  if (e.spawnError) return e.spawnError;
  if (e.timedOut) return `killed at the time limit${toolPaused(e)}`;
  if (e.signal) return `killed by ${e.signal}`;
  return `exited with code ${e.code}`;
}

/** What a time-limit kill owes to the tool's own pause, as a clause ('' when nothing). */
export function toolPaused(e: ExitInfo): string {
  if (!e.toolPausedMs) return '';
  return `, reached while migrate itself was held up for ${(e.toolPausedMs / 1000).toFixed(0)} s (stopped with Ctrl-Z or suspended?), so perhaps not the agent's doing: run it again`;
}

/** The executable a command names (PATH search as execvp does), or undefined. */
export function resolveCommand(command: string, env: Record<string, string | undefined>, cwd: string): string | undefined {
  const executable = (f: string) => {
    try {
      accessSync(f, constants.X_OK);
      return statSync(f).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/')) {
    const abs = path.resolve(cwd, command);
    return executable(abs) ? abs : undefined;
  }
  for (const dir of (env.PATH ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const f = path.resolve(cwd, dir || '.', command);
    if (executable(f)) return f;
  }
  return undefined;
}

// Joins the cgroup whose cgroup.procs is $0, then becomes the agent (same pid): no
// process of the agent can exist outside the cgroup, not even for an instant.
const JOIN_CGROUP = '{ echo $$ > "$0"; } 2>/dev/null; exec "$@"';
let cgroupSeq = 0;

let setpriv: string | null | undefined;
/**
 * `setpriv --pdeathsig KILL --` (util-linux) before the agent's command, where the machine has
 * it: the kernel then kills the agent the moment the tool dies, whatever kills it. Before, a
 * tool killed with -9 together with its watchdog (a `kill -9` of both, the OOM killer, a
 * service manager stopping the tool's cgroup while the agent sat in a cgroup of its own)
 * left the agent running, holding its ports, until the next command recovered it. The
 * setting survives the exec into the agent (same pid, same start time: the journal's proof
 * of identity holds) and is not inherited by what the agent forks, which the watchdog and
 * the next command's recovery still cover. `MIGRATE_NO_PDEATHSIG=1` leaves it out.
 */
function parentDeathWrapper(): string[] {
  if (setpriv === undefined) {
    setpriv = null;
    if (process.platform === 'linux' && process.env.MIGRATE_NO_PDEATHSIG !== '1') {
      for (const f of ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv', '/sbin/setpriv']) {
        try {
          accessSync(f, constants.X_OK);
          setpriv = f;
          break;
        } catch {
          // not there
        }
      }
    }
  }
  return setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
}

const SIGNAL_NAMES = new Map(Object.entries(osConstants.signals).map(([name, n]) => [n as number, name]));
function signalName(n: number): string {
  return SIGNAL_NAMES.get(n) ?? `signal ${n}`;
}

export function startAgent(opts: StartOptions): AgentProcess {
  const startedAt = Date.now();
  watchPauses();
  const startedTick = performance.now();
  let output = '';
  let stderr = '';
  let exitInfo: ExitInfo | undefined;
  let timedOut = false;

  const mark = newMark();
  const resolved = resolveCommand(opts.command, opts.env, opts.cwd);
  const cgroup = resolved ? createAgentCgroup(`migrate-${RUN_TOKEN}-${++cgroupSeq}`) : undefined;
  const deadline = startedAt + opts.timeLimitMs;
  // Journal and watchdog learn of it before it exists: killed between the spawn and the
  // tracking, the tool would otherwise strand it.
  const announced = announceTree({ mark, cgroup, deadline });
  // The subreaper launcher (reaper.ts) where python3 is here, else setpriv's parent-death signal.
  const reaper = resolved ? reaperLauncher() : [];
  const wrapper = !resolved ? [] : reaper.length ? reaper : parentDeathWrapper();
  const [file, args] = !resolved
    ? [opts.command, opts.args] // execa reports ENOENT the usual way
    : cgroup
      ? ['/bin/sh', ['-c', JOIN_CGROUP, procsFile(cgroup), ...wrapper, resolved, ...opts.args]]
      : wrapper.length
        ? [wrapper[0]!, [...wrapper.slice(1), resolved, ...opts.args]]
        : [opts.command, opts.args];
  const child = execa(file, args, {
    cwd: opts.cwd,
    env: { ...opts.env, [MARK_VAR]: mark },
    extendEnv: false,
    detached: true, // own process group: the group can be killed as a whole
    cleanup: false, // we kill the group ourselves (execa's cleanup ignores groups)
    buffer: false,
    reject: false,
    // fd 3: the launcher's reports of the agent (its pid, its end).
    stdio: reaper.length ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  const tree = pid ? new AgentTree(pid, mark, cgroup, deadline, reaper.length > 0) : undefined;
  if (tree) trackTree(tree);
  else {
    withdrawTree(announced);
    if (cgroup) removeCgroup(cgroup);
  }
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  // When each error line was first printed: a second legacy run that confirms a late one (validate-agent.ts)
  // needs to run about that long. Complete lines only, per stream; bounded.
  const errorSeen = new Map<string, number>();
  const partial = { out: '', err: '' };
  const noteErrors = (stream: 'out' | 'err', d: string) => {
    const text = partial[stream] + d;
    const cut = text.lastIndexOf('\n');
    partial[stream] = cut < 0 ? text.slice(-4096) : text.slice(cut + 1, cut + 1 + 4096);
    if (cut < 0 || errorSeen.size >= 1000) return;
    for (const l of errorLines(text.slice(0, cut))) {
      const k = normalizeLine(l);
      if (!errorSeen.has(k)) errorSeen.set(k, Date.now() - startedAt);
    }
  };
  child.stdout?.on('data', (d: string) => {
    output = keepTail(output + d);
    noteErrors('out', d);
  });
  child.stderr?.on('data', (d: string) => {
    output = keepTail(output + d);
    stderr = keepTail(stderr + d);
    noteErrors('err', d);
  });

  // Set once a killGroup's two kills both ended with nothing of the tree alive (the launcher at
  // most a zombie) and its cgroup gone: nothing of it is left to fork anything, so a later call
  // (validation calls it at the end of its checks and again in its finally, the legacy run in its
  // own) has nothing to find; each had cost two scans of /proc.
  let emptied = false;
  const killGroup = async () => {
    if (tree && !emptied) {
      const first = await tree.kill(2000);
      await Promise.race([exit, new Promise((r) => setTimeout(r, 2000))]);
      // Again once the agent is reaped: a late fork, and the cgroup can only go when empty.
      const second = await tree.kill(2000);
      untrackTree(tree);
      emptied = first && second && !(tree.cgroup && existsSync(tree.cgroup));
    }
    // A process we could not kill (or did not see) may still hold the pipes: never wait for it.
    child.stdout?.destroy();
    child.stderr?.destroy();
    (child.stdio[3] as { destroy?: () => void } | undefined)?.destroy?.();
  };

  const timer = setTimeout(() => {
    timedOut = true;
    void killGroup();
  }, opts.timeLimitMs);
  timer.unref();
  const onAbort = () => void killGroup();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();

  /**
   * Resolves once what the agent wrote before its exit has been read: both output pipes ended,
   * or (a leftover child of the agent, or the launcher waiting for one, can hold them open long
   * after the agent exited) OUTPUT_SETTLE_MS of no end and then one more turn of the event
   * loop, whose poll reads what the pipes still hold (all of it was written before the exit).
   */
  const outputRead = (): Promise<void> =>
    new Promise((resolve) => {
      const open = [child.stdout, child.stderr].filter((s): s is NonNullable<typeof s> => Boolean(s) && !s!.readableEnded && !s!.destroyed);
      if (!open.length) return resolve();
      let left = open.length;
      let done = false;
      const settle = () => {
        if (done) return;
        done = true;
        clearTimeout(quiet);
        resolve();
      };
      for (const s of open) {
        let counted = false;
        const ended = () => {
          if (counted) return;
          counted = true;
          if (--left === 0) settle();
        };
        s.once('end', ended);
        s.once('close', ended);
      }
      const quiet = setTimeout(() => setImmediate(settle), OUTPUT_SETTLE_MS);
    });
  // The exit as first seen (the 'exit' event or the launcher's report); exitInfo, exited() and
  // the exit promise only once the output written before it has been read (before: the exit,
  // seen first, was reported with the agent's last lines, its traceback, still unread).
  let exitSeen = false;
  const finish = (info: Omit<ExitInfo, 'timedOut'>, resolve: (e: ExitInfo) => void): void => {
    if (exitSeen) return;
    exitSeen = true;
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    // Noted from the agent's start: a pause longer than its time limit ended it, whenever it began.
    const paused = timedOut ? pausedSince(startedTick) : 0;
    const seen = { ...info, timedOut, ...(paused >= TOOL_PAUSE_NOTED_MS ? { toolPausedMs: paused } : {}) };
    void outputRead().then(() => {
      exitInfo ??= seen;
      resolve(exitInfo);
    });
  };
  // The 'exit' event, not execa's promise: that one also waits for the output pipes,
  // which a leftover child of the agent can hold open long after the agent exited.
  const exit: Promise<ExitInfo> = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      if (tree) tree.leaderExited = true;
      finish({ code, signal }, resolve);
    });
    // Through the launcher: the agent's own pid and end, told on fd 3 (the launcher itself
    // stays while anything the agent started lives, and exits with the agent's status).
    const reports = reaper.length ? (child.stdio[3] as NodeJS.ReadableStream | undefined) : undefined;
    if (reports && tree) {
      let buf = '';
      reports.setEncoding('utf8');
      reports.on('error', () => {});
      reports.on('data', (d: string) => {
        buf += d;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const [word, n] = buf.slice(0, nl).split(' ');
          buf = buf.slice(nl + 1);
          if (word === 'pid') tree.agentPid = Number(n);
          else if (word === 'noreaper') tree.reaper = false;
          else if (word === 'exit') finish({ code: Number(n), signal: null }, resolve);
          else if (word === 'signal') finish({ code: null, signal: signalName(Number(n)) }, resolve);
        }
      });
    }
    void child.then((r) => {
      if (pid !== undefined) return;
      const code = (r as { code?: string }).code;
      finish(
        {
          code: null,
          signal: null,
          spawnError:
            code === 'ENOENT'
              ? `${opts.command}: not found on PATH`
              : `cannot start ${opts.command}: ${(r as { originalMessage?: string }).originalMessage ?? r.shortMessage}`,
        },
        resolve,
      );
    });
  });

  return {
    // The agent's own pid (through the launcher, once it told it).
    get pid() {
      return tree?.agentPid ?? pid;
    },
    startedAt,
    output: () => output,
    errorLineSeenMs: (normalized: string) => errorSeen.get(normalized),
    stderr: () => stderr,
    exit,
    exited: () => exitInfo,
    exitSeen: () => exitSeen,
    signal: (sig) => {
      if (!pid || exitSeen) return false;
      try {
        // The launcher passes it on to the agent.
        process.kill(pid, sig);
        return true;
      } catch {
        return false;
      }
    },
    signalOthers: (sig) => {
      if (!pid || !tree) return 0;
      const agent = exitSeen ? undefined : (tree.agentPid ?? pid);
      let sent = 0;
      for (const m of tree.members()) {
        if (m === agent || m === pid) continue;
        try {
          process.kill(m, sig);
          sent++;
        } catch {
          // gone meanwhile
        }
      }
      return sent;
    },
    members: () => tree?.members() ?? [],
    owns: (p) => tree?.has(p) ?? false,
    survivors: async (graceMs) => {
      if (!tree) return [];
      return (await tree.waitGone(graceMs)).map((p) => tree.describe(p));
    },
    killGroup,
  };
}
