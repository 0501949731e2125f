// Start one agent as a child (execa) in its own process group with captured
// output and a hard time limit; the whole group is killed at the end.
import { execa } from 'execa';
import { groupMembers, killGroupNow, trackGroup, untrackGroup, waitGroupGone } from './process-group.js';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** Set when the command could not be started at all (e.g. "python3: not found on PATH"). */
  spawnError?: string;
  /** True when the hard time limit killed it. */
  timedOut: boolean;
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
  stderr(): string;
  /** Resolves when the child has exited (or could not start). */
  exit: Promise<ExitInfo>;
  /** The exit, once it happened. */
  exited(): ExitInfo | undefined;
  /** Send a signal to the group leader only (what a supervisor does). */
  signal(sig: NodeJS.Signals): boolean;
  /** Live processes of its group. */
  members(): number[];
  /** SIGKILL the whole group and wait until it is gone (bounded). */
  killGroup(): Promise<void>;
}

const MAX_OUTPUT = 512 * 1024;

function keepTail(s: string): string {
  return s.length > MAX_OUTPUT ? s.slice(s.length - MAX_OUTPUT) : s;
}

export function describeExit(e: ExitInfo): string {
  if (e.spawnError) return e.spawnError;
  if (e.timedOut) return 'killed at the time limit';
  if (e.signal) return `killed by ${e.signal}`;
  return `exited with code ${e.code}`;
}

export function startAgent(opts: StartOptions): AgentProcess {
  const startedAt = Date.now();
  let output = '';
  let stderr = '';
  let exitInfo: ExitInfo | undefined;
  let timedOut = false;

  const child = execa(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: false,
    detached: true, // own process group: the group can be killed as a whole
    cleanup: false, // we kill the group ourselves (execa's cleanup ignores groups)
    buffer: false,
    reject: false,
    stdin: 'ignore',
  });
  const pid = child.pid;
  if (pid) trackGroup(pid);
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => (output = keepTail(output + d)));
  child.stderr?.on('data', (d: string) => {
    output = keepTail(output + d);
    stderr = keepTail(stderr + d);
  });

  const killGroup = async () => {
    if (pid) {
      killGroupNow(pid);
      await Promise.race([exit, new Promise((r) => setTimeout(r, 2000))]);
      await waitGroupGone(pid, 2000);
      untrackGroup(pid);
    }
  };

  const timer = setTimeout(() => {
    timedOut = true;
    void killGroup();
  }, opts.timeLimitMs);
  timer.unref();
  const onAbort = () => void killGroup();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const finish = (info: Omit<ExitInfo, 'timedOut'>): ExitInfo => {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    exitInfo ??= { ...info, timedOut };
    return exitInfo;
  };
  // The 'exit' event, not execa's promise: that one also waits for the output pipes,
  // which a leftover child of the agent can hold open long after the agent exited.
  const exit: Promise<ExitInfo> = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(finish({ code, signal })));
    void child.then((r) => {
      if (pid !== undefined) return;
      const code = (r as { code?: string }).code;
      resolve(
        finish({
          code: null,
          signal: null,
          spawnError:
            code === 'ENOENT'
              ? `${opts.command}: not found on PATH`
              : `cannot start ${opts.command}: ${(r as { originalMessage?: string }).originalMessage ?? r.shortMessage}`,
        }),
      );
    });
  });

  return {
    pid,
    startedAt,
    output: () => output,
    stderr: () => stderr,
    exit,
    exited: () => exitInfo,
    signal: (sig) => {
      if (!pid || exitInfo) return false;
      try {
        process.kill(pid, sig);
        return true;
      } catch {
        return false;
      }
    },
    members: () => (pid ? groupMembers(pid) : []),
    killGroup,
  };
}
