// The default way to start a Python agent: the machine's python3 with the
// repository root on PYTHONPATH (so `from common.core.base_agent import ...` resolves), and the
// source folder of a src/ layout its imports come from (src/, for `from amoskys.agents.common.base
// import HardenedAgentBase` with the package at src/amoskys/).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LaunchCommand } from '../pipeline/language.js';
import { MigrateError } from '../core/errors.js';
import { python3Command } from '../lang/python/python3.js';

/** Per environment, per repository root: the interpreter python3 names there. */
const interpreters = new WeakMap<object, Map<string, Promise<string>>>();

/**
 * The interpreter `python3` starts in `root` under `env`, asked once. A version manager's
 * shim (pyenv's is a shell script choosing the version at every start) cost 0.2 s of CPU
 * per start on a quiet machine and seconds on a loaded one, taken out of the agent's short
 * baseline window; the interpreter it picks is the same one for every agent of the run.
 * Plain `python3` when it cannot be asked: the start then fails the usual way ("not found").
 * Asked with -S: sys.executable does not depend on the site module, and site's .pth files (a
 * setuptools shim, a CA bundle hook importing certifi) made the question cost 0.10-0.15 s of CPU
 * instead of 0.03 on the CI machine, once per validated repository.
 */
export function python3In(root: string, env: Record<string, string | undefined> = process.env): Promise<string> {
  let byRoot = interpreters.get(env);
  if (!byRoot) interpreters.set(env, (byRoot = new Map()));
  let exe = byRoot.get(root);
  // The scan before a validation asked the same python3 already when it ran in this directory
  // and environment (python3.ts): that answer is this one, and a second start of the shim cost a
  // run 0.4-0.5 s of CPU (pyenv: some 45 processes of bash).
  if (!exe && path.resolve(root) === process.cwd() && sameEnvironment(env, process.env)) {
    const learnt = python3Command();
    if (path.isAbsolute(learnt)) byRoot.set(root, (exe = Promise.resolve(learnt)));
  }
  if (!exe) {
    // execa loaded here, when an agent is started: a scan never does (some 100 modules).
    exe = import('execa')
      .then(({ execa }) => execa('python3', ['-S', '-c', 'import sys; print(sys.executable)'], { cwd: root, env, extendEnv: false, reject: false, timeout: 30_000 }))
      .then(
      (r) => {
        // python3 started and failed before running a line (a pyenv shim for a version that is
        // not installed exits 127): every agent, legacy and _v2 alike, would exit the same way,
        // reported as "agent exited with code 1 (no output)", the agent blamed for the interpreter.
        if (typeof r.exitCode === 'number' && r.exitCode !== 0 && !r.timedOut) {
          const said = String(r.stderr).trim().split('\n').pop();
          throw new MigrateError(`python3 in ${root} exited with code ${r.exitCode}${said ? ` (${said})` : ''} before running anything: no agent can be started with it; fix python3 on PATH`);
        }
        const out = r.exitCode === 0 ? String(r.stdout).trim() : '';
        return out.startsWith('/') ? out : 'python3';
      },
      (err) => {
        if (err instanceof MigrateError) throw err;
        return 'python3';
      },
    );
    byRoot.set(root, exe);
  }
  return exe;
}

/** The same variables with the same values. */
function sameEnvironment(a: Record<string, string | undefined>, b: Record<string, string | undefined>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a).filter((k) => a[k] !== undefined);
  return keys.length === Object.keys(b).filter((k) => b[k] !== undefined).length && keys.every((k) => a[k] === b[k]);
}

export async function pythonLaunch(root: string, file: string, env: Record<string, string | undefined> = process.env, agentClass?: string): Promise<LaunchCommand> {
  // The environment the agent starts in (a run in-process has its own): a stub module path given there is honoured.
  const inherited = env.PYTHONPATH;
  const mod = packageModule(root, file);
  const paths = [root, ...sourceFolders(root, file), ...(inherited ? [inherited] : [])];
  const sub = agentClass ? serviceSubcommand(root, file, agentClass) : null;
  return {
    command: await python3In(root, env),
    args: [...(mod ? ['-m', mod] : [file]), ...(sub ? [sub] : [])],
    env: {
      PYTHONPATH: paths.join(':'),
      // Unbuffered output: the log check must see every line even when the agent is killed.
      PYTHONUNBUFFERED: '1',
      // Validation must not leave __pycache__ folders in the repository.
      PYTHONDONTWRITEBYTECODE: '1',
    },
  };
}

/**
 * An entry point whose argparse sub-command is required (`add_subparsers(dest="command", required=True)`,
 * or `.required = True`) runs nothing without one: started bare, the agent and its legacy run both exit 2
 * ("the following arguments are required: command") and validation fails on the parser, not the agent.
 * The sub-command to give is the one whose branch constructs the agent's class (`if args.command ==
 * "serve": InvoiceBatcher(...).run()`); null when the sub-command is optional, or no branch of one named
 * sub-command constructs it.
 */
export function serviceSubcommand(root: string, file: string, agentClass: string): string | null {
  let text: string;
  try {
    text = readFileSync(path.resolve(root, file), 'utf8');
  } catch {
    return null;
  }
  const lines = text.split(/\r?\n/);
  const constructs = new RegExp(`\\b${agentClass}\\s*\\(`);
  if (/\badd_subparsers\s*\(/.test(text)) {
    if (!/\badd_subparsers\s*\([^)]*\brequired\s*=\s*True/.test(text) && !/\.required\s*=\s*True\b/.test(text)) return null;
    const names = [...text.matchAll(/\.add_parser\(\s*(['"])([\w-]+)\1/g)].map((m) => m[2]!);
    const found = [...new Set(names)].filter((name) => branches(lines, name).some((b) => b.some((l) => constructs.test(l))));
    return found.length === 1 ? found[0]! : null;
  }
  return positionalCommand(text, lines, constructs);
}

/**
 * `parser.add_argument("command", choices=["run", "ping"])`: a required positional (no nargs) the entry
 * point dispatches on. The choice to give is the one whose branch (`if args.command == "run":`) constructs
 * the agent; when no branch does, the one left once every choice whose branch ends the entry point
 * (`if args.command == "ping": ping(...); return`) is set aside, provided the file constructs the agent.
 * Started bare, the legacy and its _v2 both exit 2 ("the following arguments are required: command").
 */
function positionalCommand(text: string, lines: string[], constructs: RegExp): string | null {
  const found = new Set<string>();
  for (const m of text.matchAll(/\.add_argument\(\s*(['"])([A-Za-z_]\w*)\1\s*,([^)]*(?:\([^)]*\)[^)]*)*)\)/g)) {
    const rest = m[3]!;
    if (/\bnargs\s*=/.test(rest)) continue;
    const list = /\bchoices\s*=\s*[[(]([^\])]*)[\])]/.exec(rest)?.[1];
    if (!list) continue;
    const choices = [...list.matchAll(/(['"])([\w-]+)\1/g)].map((c) => c[2]!);
    const starting = choices.filter((c) => branches(lines, c).some((b) => b.some((l) => constructs.test(l))));
    if (starting.length) {
      starting.forEach((c) => found.add(c));
      continue;
    }
    if (!lines.some((l) => constructs.test(l))) continue;
    const left = choices.filter((c) => !branches(lines, c).some((b) => /^\s*(return\b|sys\.exit\(|exit\(|raise\b)/.test(b[b.length - 1] ?? '')));
    if (left.length === 1) found.add(left[0]!);
  }
  return found.size === 1 ? [...found][0]! : null;
}

/** The blocks of `if`/`elif` branches testing `== "name"`: each block's non-blank lines (those indented deeper than the test). */
function branches(lines: string[], name: string): string[][] {
  const test = new RegExp(`^([ \\t]*)(?:if|elif)\\b.*==\\s*(['"])${name.replace(/[-]/g, '\\-')}\\2\\s*:\\s*(#.*)?$`);
  const out: string[][] = [];
  lines.forEach((line, i) => {
    const m = test.exec(line);
    if (!m) return;
    const indent = m[1]!.length;
    const block: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const l = lines[j]!;
      if (!l.trim()) continue;
      if (l.length - l.trimStart().length <= indent) break;
      block.push(l);
    }
    out.push(block);
  });
  return out;
}

/**
 * A module of a package that imports its siblings relatively (`from .config import IngestConfig` in
 * agents/ingest/agent_v2.py, started through the package's __main__.py): run as a script it fails at
 * once ("attempted relative import with no known parent package"), so it is run as the module it is
 * (`python3 -m agents.ingest.agent_v2`, the repository root on PYTHONPATH), which runs its __main__
 * guard the same way. Null for any other file (run as a script, as before).
 */
function packageModule(root: string, file: string): string | null {
  const abs = path.resolve(root, file);
  const rel = path.relative(root, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel) || !rel.endsWith('.py')) return null;
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch {
    return null;
  }
  if (!/^[ \t]*from[ \t]+\.+[\w.]*[ \t]+import\b/m.test(text)) return null;
  const parts = rel.slice(0, -3).split(path.sep);
  if (parts.length < 2 || !parts.every((p) => /^[A-Za-z_]\w*$/.test(p))) return null;
  return parts.join('.');
}

/**
 * The folders between the root and the agent's file (src/ of src/amoskys/agents/proc/proc_agent.py)
 * holding a package or module the file imports absolutely that the root itself does not hold
 * (`from amoskys.agents.common.base import ...`, `import grpc` with src/amoskys/, src/grpc/): what an
 * installed src/ layout or the project's own `PYTHONPATH=src` gives it. Before, such an agent and its
 * legacy one both stopped at start with ModuleNotFoundError, and validation could not run.
 */
function sourceFolders(root: string, file: string): string[] {
  const abs = path.resolve(root, file);
  const rel = path.relative(root, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return [];
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch {
    return [];
  }
  const names = new Set<string>();
  for (const m of text.matchAll(/^[ \t]*(?:from[ \t]+([A-Za-z_]\w*)[\w.]*[ \t]+import\b|import[ \t]+([A-Za-z_]\w*(?:[ \t]*\.[ \t]*\w+)*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*))/gm)) {
    if (m[1]) names.add(m[1]);
    else for (const part of m[2]!.split(',')) names.add(part.trim().split(/[ \t.]/)[0]!);
  }
  const holds = (dir: string, name: string) => existsSync(path.join(dir, name)) || existsSync(path.join(dir, `${name}.py`));
  const missing = [...names].filter((n) => n && !holds(root, n));
  const out: string[] = [];
  // From the folder nearest the root down to the file's parent's parent (its own folder is sys.path[0] already).
  const parts = rel.split(path.sep).slice(0, -2);
  for (let i = 1; i <= parts.length; i++) {
    const dir = path.join(root, ...parts.slice(0, i));
    if (missing.some((n) => holds(dir, n))) out.push(dir);
  }
  return out;
}
