// Compile many sources with one python3 process (not one per file), in memory: the
// sources travel on stdin, so nothing is written next to the agents and no __pycache__
// appears in the user's tree. This is `python3 -m py_compile` minus the .pyc. Given
// bytes, it compiles exactly the bytes that will be written (coding line and all).
//
// A session streams: each source goes to python3 as soon as it is known (one JSON line)
// and its verdict comes back on its own line, so CPython compiles on the second core
// while this process parses the next file, instead of all at the end with this process idle.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeAtCommandEnd } from '../../core/invocation.js';
import { learnPython3, python3Command, python3Where } from './python3.js';

const SCRIPT = `
import base64, json, sys
sys.stdout.write(json.dumps(sys.executable) + "\\n")
sys.stdout.flush()
for line in sys.stdin:
    item = json.loads(line)
    try:
        source = base64.b64decode(item["b64"]) if "b64" in item else item["text"]
        compile(source, item["name"], "exec", dont_inherit=True)
        result = None
    except SyntaxError as e:
        result = {"line": e.lineno or 0, "msg": "%s: %s" % (type(e).__name__, e.msg)}
    except (ValueError, TypeError) as e:
        result = {"line": 0, "msg": "%s: %s" % (type(e).__name__, e)}
    sys.stdout.write(json.dumps(result) + "\\n")
    sys.stdout.flush()
`;

export interface CompileInput {
  /** Name used in messages (the file's path relative to the root). */
  name: string;
  text: string;
  /** The encoded file as it will be written; compiled instead of `text` when given. */
  bytes?: Uint8Array;
}

type Verdict = { line: number; msg: string } | null;

/** What a compile error says when python3 judged the source (a verdict), as against python3 itself failing. */
const REFUSES = 'python3 refuses it: ';

/**
 * Whether a compile error is python3's own failure (not on PATH, exited, killed, ended early:
 * a pyenv shim for a version not installed exits 127 at every start), which says nothing
 * about the source; the file is neither proven valid nor invalid.
 */
export function isCompilerFailure(error: string): boolean {
  return !error.includes(`: ${REFUSES}`);
}

/** One python3 compiling the sources sent to it, in order, while the caller goes on. */
export class PyCompileSession {
  /** python3, started with node's own child_process: execa (some 100 modules, ~0.3 s of CPU to load) is not needed for a pipe. */
  private readonly started: Promise<{ child: ChildProcessWithoutNullStreams; ended: Promise<void> }>;
  private readonly waiting: Array<{ name: string; resolve: (e: string | null) => void }> = [];
  private buffered = '';
  /** The first line python3 writes is its sys.executable (see python3.ts), then one verdict per line. */
  private toldExecutable = false;
  /** Set when python3 could not run or died: every pending and later compile gets it. */
  private failure: string | null = null;
  /** The bound on a session in use (see hold); cleared while it rests or once it ended. */
  private timer: NodeJS.Timeout | undefined;
  private over = false;
  /** Not in use (a shared session between users): python3 keeps this process from ending no more. */
  private resting = false;

  constructor() {
    const python3 = python3Command();
    // Wrapped in an object, as the child is handed out only once it is started.
    this.started = Promise.resolve().then(() => {
      // -S: compiling imports nothing beyond the three modules above, and neither sys.executable nor a
      // verdict depends on the site module, whose .pth files (a setuptools shim, a CA bundle hook
      // importing certifi) were half of each session's CPU (0.12 -> 0.065 s measured on the CI machine).
      const child = spawn(python3, ['-S', '-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
      // At most 10 minutes in use (as before); cleared when it ends or could not start (spawn's
      // own timeout option is not cleared when the start fails, and kept the process alive).
      if (!this.resting) this.timer = setTimeout(() => child.kill('SIGTERM'), 600_000);
      if (this.resting) unrefChild(child);
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        this.buffered += chunk;
        for (let nl = this.buffered.indexOf('\n'); nl !== -1; nl = this.buffered.indexOf('\n')) {
          const line = this.buffered.slice(0, nl);
          this.buffered = this.buffered.slice(nl + 1);
          if (!this.toldExecutable) {
            this.toldExecutable = true;
            learnPython3(JSON.parse(line) as string);
            continue;
          }
          const next = this.waiting.shift();
          if (!next) continue;
          const r = JSON.parse(line) as Verdict;
          next.resolve(r ? `${next.name}:${r.line}: ${REFUSES}${r.msg}` : null);
        }
      });
      // stderr is drained (a full pipe would stall python3) and kept for the failure message.
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        if (stderr.length < 4000) stderr += chunk;
      });
      child.stdin.on('error', () => undefined);
      const ended = new Promise<void>((resolve) => {
        child.on('error', (err: NodeJS.ErrnoException) => {
          this.over = true;
          clearTimeout(this.timer);
          this.fail(err.code === 'ENOENT' ? 'python3 not found on PATH; cannot byte-compile' : `python3 failed: ${err.message}`);
          resolve();
        });
        // 'close': the exit code and every line it wrote (the verdicts are all read by then).
        child.on('close', (code, signal) => {
          this.over = true;
          clearTimeout(this.timer);
          if (code === 0) this.fail('python3 ended early');
          else {
            const said = stderr.trim().split('\n').pop();
            this.fail(`python3 failed: ${signal ? `killed by ${signal}` : `exit code ${code}`}${said ? `: ${said}` : ''}`);
          }
          resolve();
        });
      });
      return { child, ended };
    });
  }

  /** python3 could not start or ended: every compile now gets the failure, a shared session is not handed out again. */
  get finished(): boolean {
    return this.over || this.failure !== null;
  }

  /** In use: it keeps this process running, and python3 is bounded to 10 minutes from now. */
  hold(): void {
    if (!this.resting) return;
    this.resting = false;
    void this.started.then(({ child }) => {
      if (this.resting || this.over) return;
      refChild(child);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => child.kill('SIGTERM'), 600_000);
    });
  }

  /** Unused for now: it does not keep this process running (python3 ends on its own once this process has gone: its stdin closes). */
  rest(): void {
    if (this.resting) return;
    this.resting = true;
    clearTimeout(this.timer);
    void this.started.then(({ child }) => {
      if (this.resting) unrefChild(child);
    });
  }

  private fail(why: string): void {
    this.failure ??= why;
    for (const w of this.waiting.splice(0)) w.resolve(`${w.name}: ${this.failure}`);
  }

  /** The error (`name:line: message`), or null when it compiled. */
  compile(input: CompileInput): Promise<string | null> {
    if (this.failure) return Promise.resolve(`${input.name}: ${this.failure}`);
    return new Promise((resolve) => {
      this.waiting.push({ name: input.name, resolve });
      const item = input.bytes ? { name: input.name, b64: Buffer.from(input.bytes).toString('base64') } : { name: input.name, text: input.text };
      const line = `${JSON.stringify(item)}\n`;
      // Written in the order asked: every write waits on the same start, and its callbacks run in turn.
      void this.started.then(({ child }) => child.stdin.write(line));
    });
  }

  /** No more sources: python3 ends once it has answered the ones sent. */
  async close(): Promise<void> {
    const { child, ended } = await this.started;
    // Waited for: held again, so that this process does not end before python3 has.
    this.resting = false;
    if (!this.over) refChild(child);
    child.stdin.end();
    await ended;
  }
}

function refChild(child: ChildProcessWithoutNullStreams): void {
  child.ref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { ref?: () => void }).ref?.();
}

function unrefChild(child: ChildProcessWithoutNullStreams): void {
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
}

/** What compiles sources: a session of one's own, or a lease on the shared one. */
export interface PyCompiler {
  compile(input: CompileInput): Promise<string | null>;
  close(): Promise<void>;
}

/**
 * Sessions shared by the compiles of this thread (scans, prechecks, verifies, one after the
 * other or at once), one per place python3 is chosen in (working directory and environment:
 * what `python3` resolves to there, python3.ts). A compile is stateless (`compile()` with
 * dont_inherit, nothing imported or kept between sources) and verdicts come back in the order
 * sent whoever sent them, so one python3 serves them all: a scan or run starts python3 once
 * for its scan, precheck and verify, and a process scanning many repositories (a library
 * user, the tests) once, instead of ~0.1-0.2 CPU-s per start. Unused, a session rests (it
 * keeps no process running) and ends after IDLE_MS; main() ends every resting one when the
 * command returns (closeAtCommandEnd), so the CLI leaves no python3 behind and exits
 * at once. A session whose python3 died is not handed out again.
 */
type Shared = { session: PyCompileSession; users: number; leases: number; idle?: NodeJS.Timeout };
const shared = new Map<string, Shared>();
const IDLE_MS = 30_000;

function acquire(key: string): Shared {
  let entry = shared.get(key);
  if (entry && entry.session.finished) {
    shared.delete(key);
    clearTimeout(entry.idle);
    entry = undefined;
  }
  if (!entry) {
    // Another place (directory, environment): the resting sessions of the others end, so at
    // most one python3 rests whatever the number of places.
    for (const [k, other] of shared) {
      if (other.users > 0) continue;
      shared.delete(k);
      clearTimeout(other.idle);
      void other.session.close();
    }
    shared.set(key, (entry = { session: new PyCompileSession(), users: 0, leases: 0 }));
  }
  entry.users++;
  entry.leases++;
  clearTimeout(entry.idle);
  entry.session.hold();
  return entry;
}

async function release(key: string, e: Shared): Promise<void> {
  if (--e.users > 0) return;
  if (shared.get(key) !== e || e.session.finished) {
    if (shared.get(key) === e) shared.delete(key);
    await e.session.close();
    return;
  }
  e.session.rest();
  e.idle = setTimeout(() => {
    if (shared.get(key) !== e || e.users > 0) return;
    shared.delete(key);
    void e.session.close();
  }, IDLE_MS);
  e.idle.unref();
}

export function sharedCompileSession(): PyCompiler {
  const key = python3Where();
  let e = acquire(key);
  // A python3 that ended while it rested (killed from outside) may be handed out before this
  // process has seen it end: its failure is not the sources'. They go once to a new one.
  let retry = e.leases > 1;
  let released = false;
  return {
    compile: async (input) => {
      const used = e;
      const verdict = await used.session.compile(input);
      if (verdict === null || !used.session.finished || released) return verdict;
      if (used !== e) return e.session.compile(input);
      if (!retry) return verdict;
      retry = false;
      e = acquire(key);
      await release(key, used);
      return e.session.compile(input);
    },
    close: async () => {
      if (released) return;
      released = true;
      await release(key, e);
    },
  };
}

/** End every shared session not in use now (the one in use ends when released); resolves once their python3 have ended. */
export async function closeSharedCompileSessions(): Promise<void> {
  const resting = [...shared.values()].filter((e) => e.users === 0);
  shared.clear();
  await Promise.all(
    resting.map((e) => {
      clearTimeout(e.idle);
      return e.session.close();
    }),
  );
}

closeAtCommandEnd(closeSharedCompileSessions);

/** How many shared sessions this thread holds (in use or resting). */
export function sharedCompileSessionCount(): number {
  return shared.size;
}

/** One error string per input (`name:line: message`), or null when it compiled. */
export async function pyCompileAll(inputs: CompileInput[]): Promise<Array<string | null>> {
  if (inputs.length === 0) return [];
  const session = sharedCompileSession();
  try {
    return await Promise.all(inputs.map((i) => session.compile(i)));
  } finally {
    await session.close();
  }
}
