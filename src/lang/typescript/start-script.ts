// The service's own start (package.json "start": `FOO=1 node dist/x.js`, `node --require ./otel.js
// dist/x.js`, `sh scripts/start.sh` setting `export FOO=${FOO:-1}` before `exec node ...`): the
// environment defaults and preloads it gives the agent. Validation runs the compiled agent with
// plain `node`, so without them the legacy and the _v2 ran without a setting or a preload their
// deployment always has (a tracer that patches http, a feature flag read at import). Only a start
// that runs the agent's own file (its build output, or the source) is followed.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LaunchCommand } from '../../pipeline/language.js';
import { legacyPath } from './paths.js';

export interface StartPlan {
  /** Set by the start whatever the environment says (`FOO=1 node ...`). */
  env: Record<string, string>;
  /** Set only where the environment has none (`export FOO=${FOO:-1}` in a start script). */
  defaults: Record<string, string>;
  /** Node options that load code first (`--require X`, `--import X`), paths made absolute. */
  preloads: string[];
}

/** The start plan of the package holding `file` (legacy or _v2) when its "start" runs that file; else null. */
export function startPlan(root: string, file: string): StartPlan | null {
  const abs = path.resolve(root, legacyPath(file));
  for (let dir = path.dirname(abs); dir.startsWith(root); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      let start: unknown;
      try {
        start = JSON.parse(readFileSync(pkg, 'utf8'))?.scripts?.start;
      } catch {
        return null;
      }
      return typeof start === 'string' ? planOf(dir, start, abs, 0) : null;
    }
    if (dir === root) break;
  }
  return null;
}

/** The launch with the start's environment and preloads, before the agent's script. */
export function withStartPlan(cmd: LaunchCommand, plan: StartPlan | null, environment: NodeJS.ProcessEnv = process.env): LaunchCommand {
  if (!plan) return cmd;
  const env: Record<string, string> = { ...cmd.env };
  for (const [k, v] of Object.entries(plan.defaults)) if (environment[k] === undefined || environment[k] === '') env[k] = v;
  Object.assign(env, plan.env);
  return { ...cmd, args: [...plan.preloads, ...cmd.args], env };
}

function planOf(dir: string, command: string, agent: string, depth: number): StartPlan | null {
  if (depth > 2) return null;
  // One command: what follows `&&` or `;` is not the agent's start (a build step comes before it).
  const last = command.split(/&&|;|\n/).map((c) => c.trim()).filter(Boolean).pop() ?? '';
  const words = last.split(/\s+/).filter(Boolean);
  const plan: StartPlan = { env: {}, defaults: {}, preloads: [] };
  let i = 0;
  if (words[i] === 'exec') i++;
  if (words[i] === 'cross-env' || words[i] === 'env') i++;
  for (; i < words.length && /^[A-Za-z_]\w*=/.test(words[i]!); i++) {
    const [k, ...v] = words[i]!.split('=');
    plan.env[k!] = unquote(v.join('='));
  }
  const prog = words[i];
  if (prog === 'sh' || prog === 'bash' || (prog && /\.sh$/.test(prog))) {
    const script = path.resolve(dir, prog.endsWith('.sh') ? prog : (words[i + 1] ?? ''));
    if (!existsSync(script) || !script.endsWith('.sh')) return null;
    const inner = shellScript(readFileSync(script, 'utf8'));
    if (!inner) return null;
    const nested = planOf(dir, inner.command, agent, depth + 1);
    if (!nested) return null;
    return { ...nested, env: { ...inner.env, ...plan.env, ...nested.env }, defaults: { ...inner.defaults, ...nested.defaults } };
  }
  if (prog !== 'node') return null;
  for (i++; i < words.length && words[i]!.startsWith('-'); i++) {
    const w = words[i]!;
    const joined = /^(--require|--import|-r)=(.+)$/.exec(w);
    if (joined) plan.preloads.push(preloadFlag(joined[1]!), preload(dir, joined[2]!));
    else if (w === '--require' || w === '-r' || w === '--import') plan.preloads.push(preloadFlag(w), preload(dir, words[++i] ?? ''));
  }
  const started = words[i];
  if (!started || !runsAgent(dir, started, agent)) return null;
  return plan;
}

function preloadFlag(flag: string): string {
  return flag === '--import' ? '--import' : '--require';
}

/** `./otel.js` from the package's directory (validation runs the agent from the repository root); a package name as it is. */
function preload(dir: string, spec: string): string {
  const s = unquote(spec);
  return /^\.{1,2}\//.test(s) ? path.resolve(dir, s) : s;
}

function unquote(s: string): string {
  return /^(['"]).*\1$/.test(s) ? s.slice(1, -1) : s;
}

/** Does `node <started>` run the agent: its source path, or its build output (dist/, build/, lib/ or tsconfig's outDir for src/ or tsconfig's rootDir)? */
function runsAgent(dir: string, started: string, agent: string): boolean {
  const stem = (p: string) => p.replace(/\.(ts|tsx|mts|cts|js|cjs|mjs)$/, '');
  const target = stem(path.resolve(dir, unquote(started)));
  if (target === stem(agent)) return true;
  const { outDir, rootDir } = tsconfigDirs(dir);
  const rel = path.relative(dir, target).split(path.sep);
  const agentRel = stem(path.relative(dir, agent));
  for (const out of outDir ? [outDir] : ['dist', 'build', 'lib']) {
    const outParts = out.split('/').filter((x) => x && x !== '.');
    if (rel.slice(0, outParts.length).join('/') !== outParts.join('/')) continue;
    const rest = rel.slice(outParts.length).join('/');
    for (const src of rootDir !== null ? [rootDir] : ['src', '']) {
      const srcParts = src.split('/').filter((x) => x && x !== '.');
      if ([...srcParts, rest].filter(Boolean).join('/') === agentRel.split(path.sep).join('/')) return true;
    }
  }
  return false;
}

function tsconfigDirs(dir: string): { outDir: string | null; rootDir: string | null } {
  const file = path.join(dir, 'tsconfig.json');
  if (!existsSync(file)) return { outDir: null, rootDir: null };
  try {
    // tsconfig allows comments and trailing commas.
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|(^|[^:"'])\/\/.*$/gm, '$1').replace(/,(\s*[}\]])/g, '$1');
    const o = JSON.parse(text)?.compilerOptions ?? {};
    return { outDir: typeof o.outDir === 'string' ? o.outDir : null, rootDir: typeof o.rootDir === 'string' ? o.rootDir : null };
  } catch {
    return { outDir: null, rootDir: null };
  }
}

/**
 * A start script's settings and its `exec node ...` line: `export FOO=bar` and `FOO=bar` set,
 * `export FOO=${FOO:-bar}` and `: "${FOO:=bar}"` give a default. A script that branches or loops
 * is not followed (what it runs is not known here).
 */
function shellScript(text: string): { env: Record<string, string>; defaults: Record<string, string>; command: string } | null {
  const env: Record<string, string> = {};
  const defaults: Record<string, string> = {};
  let command: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || /^set\s+-[a-z]+$/.test(line)) continue;
    if (/^(if|for|while|case|until)\b/.test(line)) return null;
    const colon = /^:\s+"?\$\{(\w+):?=([^}]*)\}"?$/.exec(line);
    if (colon) {
      defaults[colon[1]!] = unquote(colon[2]!);
      continue;
    }
    const assign = /^(?:export\s+)?([A-Za-z_]\w*)=(.*)$/.exec(line);
    if (assign) {
      const value = unquote(assign[2]!.trim());
      const dflt = new RegExp(`^\\$\\{${assign[1]}:?-([^}]*)\\}$`).exec(value);
      if (dflt) defaults[assign[1]!] = unquote(dflt[1]!);
      else if (!/[$`]/.test(value)) env[assign[1]!] = value;
      else return null;
      continue;
    }
    if (/^(exec\s+)?([A-Za-z_]\w*=\S+\s+)*node\b/.test(line)) {
      command = line.replace(/\s+"\$@"\s*$/, '');
      continue;
    }
    return null;
  }
  return command ? { env, defaults, command } : null;
}
