// Byte-identical outputs across an optimisation: the whole rewrite (`run --all --no-validate
// --no-commit --json`, with the pool and in band) and `scan --json` over the demo fleet, the
// three fixture suites and a generated fleet, recorded as a snapshot (every `_v2` file's text,
// the JSON results) and compared with the snapshot another build recorded.
//
//   node dist/test/bench/same-outputs.js --cli /checkout/of/unoptimised/bin/migrate.js --save base.json
//   node dist/test/bench/same-outputs.js --against base.json      # this build; exit 1 on any difference
//   --pool adds a run with the worker pool (-j 2) on every corpus, whatever its size.
//
// Paths of the temporary copies are written as <root>, so two runs compare as text.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { writeFleet } from './fleet/fleet.js';
import { dropRepositoryGitEnv } from '../../src/record/git-env.js';

// Started from a git hook (GIT_DIR set), the temporary fleets' `git init` would re-initialise the hook's repository.
dropRepositoryGitEnv();

interface CorpusSnapshot {
  /** Per command line: its normalised JSON standard output and exit code. */
  commands: Record<string, { exit: number | null; json: unknown }>;
  /** Every `_v2` file a run wrote, by path from the root, per command line. */
  outputs: Record<string, Record<string, string>>;
}

export type Snapshot = Record<string, CorpusSnapshot>;

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'fixtures', 'python'))) dir = path.dirname(dir);
  return dir;
}

interface Corpus {
  name: string;
  /** Fills an empty directory with the corpus. */
  fill: (dir: string) => void;
  profile?: string;
  /** CLI commands run (by the build under test) before the corpus is committed, e.g. `init`. */
  setup?: string[][];
}

/** Each fixture case of a suite at the path its case.yaml names, under `cases/<case>/` when `apart`. */
function fixtureSuite(suite: string, input: string, support: string | null, apart: boolean): (dir: string) => void {
  return (dir) => {
    const fx = path.join(repoRoot(), 'fixtures', suite);
    const copySupport = (to: string) => support && cpSync(path.join(fx, support), to, { recursive: true, filter: (s) => !s.endsWith('README.md') });
    if (!apart) copySupport(dir);
    for (const c of readdirSync(fx).sort()) {
      const file = path.join(fx, c, input);
      if (c.startsWith('_') || !existsSync(file)) continue;
      const spec = existsSync(path.join(fx, c, 'case.yaml')) ? (YAML.parse(readFileSync(path.join(fx, c, 'case.yaml'), 'utf8')) ?? {}) : {};
      const into = apart ? path.join(dir, 'cases', c) : dir;
      if (apart) copySupport(into);
      if (existsSync(path.join(fx, c, 'repo'))) cpSync(path.join(fx, c, 'repo'), into, { recursive: true });
      const rel = (spec.path as string | undefined) ?? `agents/${c.replace(/-/g, '_')}${path.extname(input)}`;
      mkdirSync(path.dirname(path.join(into, rel)), { recursive: true });
      cpSync(file, path.join(into, rel));
    }
  };
}

export function corpora(agents: number): Corpus[] {
  const root = repoRoot();
  return [
    // As the demo runs it: the reference base class first.
    { name: 'demo-fleet', fill: (dir) => cpSync(path.join(root, 'fixtures', 'demo-fleet'), dir, { recursive: true }), setup: [['init']] },
    { name: 'python-fixtures', fill: fixtureSuite('python', 'input.py', '_base', false) },
    { name: 'python-hardened-fixtures', fill: fixtureSuite('python-hardened', 'input.py', '_support', true), profile: 'hardened-agent-base' },
    { name: 'typescript-fixtures', fill: fixtureSuite('typescript', 'input.ts', null, true) },
    { name: `generated-fleet-${agents}`, fill: (dir) => writeFleet(dir, agents, { baseDir: path.join(root, 'fixtures', 'python', '_base') }) },
    // TypeScript only, for the TypeScript path (verify checks 50 outputs per program: more than one program).
    { name: 'generated-typescript-fleet-60', fill: (dir) => writeFleet(dir, 60, { baseDir: path.join(root, 'fixtures', 'python', '_base'), typescriptShare: 1, seed: 50 }) },
  ];
}

function git(dir: string, ...args: string[]): void {
  const r = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

function outputsUnder(dir: string, root = dir, out: Record<string, string> = {}): Record<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === '.git' || e.name === '.migrate') continue;
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) outputsUnder(abs, root, out);
    else if (/_v2\.[a-z]+$/.test(e.name)) out[path.relative(root, abs).split(path.sep).join('/')] = readFileSync(abs, 'latin1');
  }
  return out;
}

/** Run the CLI over one corpus and record what it printed and wrote. */
function snapshotCorpus(cli: string, corpus: Corpus, only?: string[], pool = false): CorpusSnapshot {
  const template = mkdtempSync(path.join(os.tmpdir(), `migrate-same-${corpus.name}-`));
  const snap: CorpusSnapshot = { commands: {}, outputs: {} };
  try {
    corpus.fill(template);
    git(template, 'init', '-q', '-b', 'main');
    for (const args of corpus.setup ?? []) {
      const r = spawnSync(process.execPath, [cli, ...args], { cwd: template, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${corpus.name}: migrate ${args.join(' ')}: ${r.stderr}`);
    }
    git(template, 'add', '-A');
    git(template, 'commit', '-q', '-m', 'corpus');
    const profile = corpus.profile ? ['--profile', corpus.profile] : [];
    const commands = [
      ['scan', '--json'],
      ['run', '--all', '--no-validate', '--no-commit', '--json', ...profile],
      ['run', '--all', '--no-validate', '--no-commit', '--json', '--run-in-band', ...profile],
      // `--pool`: the worker pool for a corpus of any size too (left to choose, under 300 agents the run stays in band).
      ...(pool ? [['run', '--all', '--no-validate', '--no-commit', '--json', '-j', '2', ...profile]] : []),
    ].filter((c) => !only || only.includes(c[0]!));
    for (const args of commands) {
      // Every command on a fresh copy, so no run sees another's outputs.
      const dir = mkdtempSync(path.join(os.tmpdir(), `migrate-same-run-`));
      try {
        cpSync(template, dir, { recursive: true });
        const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, FORCE_COLOR: '0' } });
        const key = args.join(' ');
        const text = (r.stdout ?? '').split(dir).join('<root>').split(realpathSync(dir)).join('<root>');
        let json: unknown = text;
        try {
          json = JSON.parse(text);
        } catch {
          json = { unparsable: text, stderr: r.stderr };
        }
        snap.commands[key] = { exit: r.status, json };
        snap.outputs[key] = outputsUnder(dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(template, { recursive: true, force: true });
  }
  return snap;
}

export function snapshot(cli: string, agents: number, only?: string[], commands?: string[], pool = false): Snapshot {
  const out: Snapshot = {};
  for (const c of corpora(agents)) {
    if (only && !only.includes(c.name)) continue;
    const t = performance.now();
    out[c.name] = snapshotCorpus(cli, c, commands, pool);
    process.stderr.write(`  ${c.name}: ${Object.keys(Object.values(out[c.name]!.outputs)[1] ?? {}).length} outputs, ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  return out;
}

/** Every difference between two snapshots, one line each (empty when identical). */
export function differences(before: Snapshot, after: Snapshot): string[] {
  const diffs: string[] = [];
  for (const name of Object.keys(before)) {
    const a = before[name]!;
    const b = after[name];
    if (!b) {
      diffs.push(`${name}: missing from the new snapshot`);
      continue;
    }
    for (const cmd of Object.keys(a.commands)) {
      const ja = JSON.stringify(a.commands[cmd]);
      const jb = JSON.stringify(b.commands[cmd]);
      if (ja !== jb) diffs.push(`${name}: \`${cmd}\` printed different JSON or exit code (${firstDifference(ja, jb)})`);
      const oa = a.outputs[cmd] ?? {};
      const ob = b.outputs[cmd] ?? {};
      for (const f of new Set([...Object.keys(oa), ...Object.keys(ob)])) {
        if (oa[f] === undefined) diffs.push(`${name}: \`${cmd}\` wrote ${f} that the baseline did not`);
        else if (ob[f] === undefined) diffs.push(`${name}: \`${cmd}\` did not write ${f}`);
        else if (oa[f] !== ob[f]) diffs.push(`${name}: \`${cmd}\` wrote a different ${f} (${firstDifference(oa[f]!, ob[f]!)})`);
      }
    }
  }
  return diffs;
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at ${i}: ${JSON.stringify(a.slice(Math.max(0, i - 30), i + 40))} vs ${JSON.stringify(b.slice(Math.max(0, i - 30), i + 40))}`;
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const cli = path.resolve(opt('--cli') ?? path.join(repoRoot(), 'bin', 'migrate.js'));
  const agents = Number(opt('--agents') ?? 150);
  const only = opt('--only')?.split(',');
  // `--commands scan`: only those commands (a change to the scan alone need not rerun every rewrite).
  const commands = opt('--commands')?.split(',');
  const pool = args.includes('--pool');
  const save = opt('--save');
  const against = opt('--against');
  if (!save && !against) {
    console.error('usage: same-outputs [--cli bin/migrate.js] [--agents N] [--only corpus,...] [--pool] (--save FILE | --against FILE)');
    process.exit(2);
  }
  process.stderr.write(`snapshot of ${cli}\n`);
  const snap = snapshot(cli, agents, only, commands, pool);
  if (save) writeFileSync(save, JSON.stringify(snap));
  if (against) {
    const before = JSON.parse(readFileSync(against, 'utf8')) as Snapshot;
    for (const k of Object.keys(before)) if (only && !only.includes(k)) delete before[k];
    const diffs = differences(before, snap);
    // Pool and in band must agree with each other too.
    for (const [name, s] of Object.entries(snap)) {
      const keys = Object.keys(s.outputs).filter((k) => k.startsWith('run '));
      for (const k of keys.slice(1)) {
        if (JSON.stringify(s.outputs[k]) !== JSON.stringify(s.outputs[keys[0]!])) diffs.push(`${name}: \`${k}\` and \`${keys[0]}\` wrote different outputs`);
      }
    }
    for (const d of diffs) console.log(d);
    const files = Object.values(snap).reduce((n, s) => n + Object.values(s.outputs).reduce((m, o) => m + Object.keys(o).length, 0), 0);
    console.log(diffs.length ? `${diffs.length} differences` : `identical: ${Object.keys(snap).length} corpora, ${files} output files and every JSON result`);
    if (diffs.length) process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
