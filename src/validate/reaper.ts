// A subreaper between the tool and each agent (Linux): a few lines of the machine's python3
// that mark themselves a child subreaper (prctl PR_SET_CHILD_SUBREAPER), fork the agent and
// wait. Whatever the agent starts and orphans (a double-forked daemon, a setsid worker with an
// environment of its own and output on /dev/null, a worker left behind by an agent that exits
// at once) is reparented to this launcher instead of init, so it stays a descendant of the
// process the tool tracks, found by any walk of the tree however fast it got away: before,
// a worker started and orphaned between two 200 ms samples was missed and ran on.
//
// The launcher
// - forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the agent while it runs;
// - starts the agent as the leader of a process group of its own (pid = process group, as
//   without the launcher): a legacy agent whose shutdown handler signals its own group to
//   take its workers with it (`os.killpg(0, SIGTERM)`, `process.kill(-process.pid)`) reaches
//   its workers and itself, never the launcher. Before, the launcher's group was the agent's:
//   the launcher got that SIGTERM too and forwarded it, a second SIGTERM that interrupted the
//   agent's shutdown (killed it once its handler restored the default action), and
//   `process.kill(-process.pid)` threw ESRCH (no group of that id);
// - reports on fd 3 the agent's pid ("pid N") and its end ("exit N" or "signal N"): the tool's
//   checks judge the agent, not the launcher;
// - after the agent ended, stays (reaping) while anything it started lives, so a leftover is
//   still found and named by the shutdown check; then exits with the agent's status (its code,
//   or the same signal);
// - when the tool dies in any way (kill -9 with its watchdog), is told by the kernel
//   (PR_SET_PDEATHSIG) or sees its parent change (checked every second), and SIGKILLs
//   everything below it before it exits: no agent or worker outlives the tool for long.
// Without python3 (a Node agent's machine), or where the kernel refuses the prctl, the agent
// is started as before (sampling of its tree, setpriv's parent-death signal), and
// `reaperNote()` says so.
import { accessSync, constants, statSync } from 'node:fs';

export const LAUNCHER_SOURCE = String.raw`
import ctypes, os, sys, time
# signal's C half: the Python module wraps it in enums (importing enum), some 10-15 ms of CPU at each
# of the two launcher starts of a validated agent (measured: 88 -> 75 ms a launcher, load 13); the
# launcher only needs the numbers and the functions, which are the same ones.
import _signal as signal
tool = int(sys.argv[2]); argv = sys.argv[3:]
try:
    status = os.fdopen(3, "w", buffering=1)
except OSError:
    status = None
def say(line):
    if status is None:
        return  # no fd 3 (started by hand): nobody to tell, and the agent must still be started and waited for
    try:
        status.write(line + "\n"); status.flush()
    except (OSError, ValueError):
        pass
libc = ctypes.CDLL(None, use_errno=True)
FORWARD = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
PDEATH = signal.SIGRTMIN + 2
if libc.prctl(36, 1, 0, 0, 0) != 0:
    # No subreaper here: become the agent (same pid), dying with the tool at least.
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    say("noreaper")
    if status: status.close()
    for s in (signal.SIGPIPE, signal.SIGXFSZ): signal.signal(s, signal.SIG_DFL)
    os.execv(argv[0], argv)
class Orphaned(BaseException):
    pass
orphaned = False
def gone(*_):
    # Once: a second raise while the first is handled would end the launcher before its work.
    global orphaned
    if not orphaned:
        orphaned = True
        raise Orphaned()
def tick(*_):
    if os.getppid() != tool: gone()
blocked = set(FORWARD) | {PDEATH, signal.SIGALRM}
signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
libc.prctl(1, PDEATH, 0, 0, 0)
agent = os.fork()
if agent == 0:
    try:
        for s in blocked | {signal.SIGPIPE, signal.SIGXFSZ}: signal.signal(s, signal.SIG_DFL)
        # The agent leads a process group of its own, as it did without the launcher: its
        # killpg(0) / kill(-pid) stops its own workers, never the launcher (which would pass
        # that SIGTERM back to it a second time).
        os.setpgid(0, 0)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
        if status: os.close(3)
        os.execv(argv[0], argv)
    except BaseException as e:
        try: os.write(2, ("cannot start %s: %s\n" % (argv[0], e)).encode())
        except Exception: pass
    os._exit(127)
say("pid %d" % agent)
ended = None
def forward(sig, _):
    if ended is None:
        try: os.kill(agent, sig)
        except OSError: pass
    else:
        gone()
for s in FORWARD: signal.signal(s, forward)
signal.signal(PDEATH, gone)
signal.signal(signal.SIGALRM, tick)
signal.setitimer(signal.ITIMER_REAL, 1, 1)
def below():
    out, stack = [], [os.getpid()]
    while stack:
        p = stack.pop()
        try: tids = os.listdir("/proc/%d/task" % p)
        except OSError: continue
        for t in tids:
            try:
                with open("/proc/%d/task/%s/children" % (p, t)) as f: kids = [int(k) for k in f.read().split()]
            except OSError: continue
            out += kids; stack += kids
    return out
def kill_all():
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
    for s in blocked: signal.signal(s, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
    end = time.time() + 10
    while time.time() < end:
        for p in below():
            try: os.kill(p, signal.SIGKILL)
            except OSError: pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]: pass
        except ChildProcessError:
            return
        time.sleep(0.02)
try:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
    tick()
    while True:
        try:
            pid, st = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid == agent:
            ended = st
            say("signal %d" % os.WTERMSIG(st) if os.WIFSIGNALED(st) else "exit %d" % os.waitstatus_to_exitcode(st))
except Orphaned:
    kill_all()
if ended is None:
    os._exit(137)
if os.WIFSIGNALED(ended):
    sig = os.WTERMSIG(ended)
    signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
    os.kill(os.getpid(), sig)
os._exit(os.waitstatus_to_exitcode(ended) & 255)
`;

/** The word after the source on the launcher's command line (ps, and commandLine() in proc.ts, show it). */
export const LAUNCHER_WORD = 'migrate-launcher';

let python: string | null | undefined;

/** The machine's python3 (a real interpreter, not a version manager's shim: checked at fixed places first). */
function findPython(): string | null {
  if (python !== undefined) return python;
  python = null;
  if (process.platform !== 'linux' || process.env.MIGRATE_NO_REAPER === '1') return python;
  const candidates = ['/usr/bin/python3', '/usr/local/bin/python3', '/bin/python3'];
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(`${dir}/python3`);
  for (const f of candidates) {
    try {
      accessSync(f, constants.X_OK);
      if (statSync(f).isFile()) {
        python = f;
        break;
      }
    } catch {
      // not there
    }
  }
  return python;
}

/** The words to put before the agent's (resolved) command, or [] when there is no subreaper launcher here. */
export function reaperLauncher(): string[] {
  const py = findPython();
  return py ? [py, '-I', '-S', '-c', LAUNCHER_SOURCE, LAUNCHER_WORD, String(process.pid)] : [];
}

/** Why agents run without the launcher here, or undefined when they run with it. */
export function reaperNote(): string | undefined {
  if (findPython()) return undefined;
  if (process.platform !== 'linux') return undefined;
  if (process.env.MIGRATE_NO_REAPER === '1') return 'agents started without a subreaper launcher (MIGRATE_NO_REAPER=1): a worker orphaned between two samples of its tree may be missed';
  return 'no python3 on this machine: agents started without a subreaper launcher; a worker orphaned between two samples of its tree may be missed';
}

/** For tests: forget what was found (the environment changed). */
export function resetReaper(): void {
  python = undefined;
}
