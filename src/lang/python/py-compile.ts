// Compile many sources with one python3 process (not one per file), in memory: the
// sources travel on stdin, so nothing is written next to the agents and no __pycache__
// appears in the user's tree. This is `python3 -m py_compile` minus the .pyc. Given
// bytes, it compiles exactly the bytes that will be written (coding line and all).
//
// A session streams: each source goes to python3 as soon as it is known (one JSON line)
// and its verdict comes back on its own line, so CPython compiles on the second core
// while this process parses the next file, instead of all at the end with this process idle.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { learnPython3, python3Command } from './python3.js';

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

  constructor() {
    const python3 = python3Command();
    // Wrapped in an object, as the child is handed out only once it is started.
    this.started = Promise.resolve().then(() => {
      const child = spawn(python3, ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
      // At most 10 minutes (as before); cleared when it ends or could not start (spawn's own
      // timeout option is not cleared when the start fails, and kept the process alive).
      const timer = setTimeout(() => child.kill('SIGTERM'), 600_000);
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
          next.resolve(r ? `${next.name}:${r.line}: python3 refuses it: ${r.msg}` : null);
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
          clearTimeout(timer);
          this.fail(err.code === 'ENOENT' ? 'python3 not found on PATH; cannot byte-compile' : `python3 failed: ${err.message}`);
          resolve();
        });
        // 'close': the exit code and every line it wrote (the verdicts are all read by then).
        child.on('close', (code, signal) => {
          clearTimeout(timer);
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
    child.stdin.end();
    await ended;
  }
}

/** One error string per input (`name:line: message`), or null when it compiled. */
export async function pyCompileAll(inputs: CompileInput[]): Promise<Array<string | null>> {
  if (inputs.length === 0) return [];
  const session = new PyCompileSession();
  try {
    return await Promise.all(inputs.map((i) => session.compile(i)));
  } finally {
    await session.close();
  }
}
