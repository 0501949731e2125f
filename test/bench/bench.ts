// `npm run bench`: speed and memory at fleet scale, measured side by side in one run and
// reported as ratios (these machines are shared and noisy; absolute numbers mean little).
// On a generated deterministic fleet (test/bench/fleet/) of 100, 1,000 and 10,000 agents:
//  - the limit: raw parse time of the same files on one core (tree-sitter / TypeScript);
//  - the scan's floor, in CPU time: each file parsed and read into the flat tree, and compiled
//    by CPython, once (scanFloor), against the CPU time of a cold `migrate scan`;
//  - `migrate scan` and `migrate run --all --no-validate --no-commit`, with the worker pool
//    and `--run-in-band`, each a separate process: wall time, peak RSS, stages (--timings),
//    and whether pool and in band printed the same results (all without the scan cache), and
//    the scan again with its cache filled (an unchanged fleet scanned a second time);
//  - the peer: ast-grep applying the mechanical subset (add the base, add its import) to the
//    same Python files vs our engine restricted to the same two transforms;
//  - validation: ten agents at concurrency 4, each holding its slot through its windows vs as it runs (test/bench/validate-bench.ts).
// A size whose projected time would pass the budget is reported as skipped, not run.
//
//   BENCH_AGENTS=100,1000,10000   fleet sizes
//   BENCH_BUDGET_S=300            time allowed for the fleet sizes (the whole bench then takes 4-5 min on 2 cores)
//   BENCH_JSON=bench-results.json where the figures are written
//   BENCH_VALIDATE=0              leave out the validation bench
//   BENCH_CLI=path/bin/migrate.js measure another build's CLI (e.g. before an optimisation)
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import '../../src/lang/adapters.js';
import { decodePythonSource, parsePython } from '../../src/lang/python/parser.js';
import { python3Command } from '../../src/lang/python/python3.js';
import { nativeTreeDropped, turnEventLoop } from '../../src/lang/python/native-trees.js';
import { rewritePython } from '../../src/lang/python/rewrite.js';
import { loadBaseModel } from '../../src/analysis/base-model.js';
import { loadProfile } from '../../src/profile/profile.js';
import { inheritBase } from '../../transforms/python/inherit-base.js';
import { addImport } from '../../transforms/python/add-import.js';
import { writeFleet, type Fleet } from './fleet/fleet.js';
import { benchValidation } from './validate-bench.js';
import { dropRepositoryGitEnv } from '../../src/record/git-env.js';

// Started from a git hook (GIT_DIR set), the temporary fleets' `git init` would re-initialise the hook's repository.
dropRepositoryGitEnv();

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'fixtures', 'python'))) dir = path.dirname(dir);
  return dir;
}

const ROOT = repoRoot();
// BENCH_CLI: another build's bin/migrate.js (the figures before an optimisation, side by side).
const CLI = process.env.BENCH_CLI ? path.resolve(process.env.BENCH_CLI) : path.join(ROOT, 'bin', 'migrate.js');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

interface Measured {
  ms: number;
  /** Peak resident set of the process (and its largest child), MB; null without /usr/bin/time. */
  rssMB: number | null;
  /** CPU time of the process and its children (user + system), ms; null without /usr/bin/time. */
  cpuMs: number | null;
  exit: number | null;
  stdout: string;
  stderr: string;
}

/**
 * One CLI process, timed from the outside, with its peak RSS from GNU time. Without the scan
 * cache unless `env` says otherwise: the figures are of a fleet seen for the first time.
 */
function measure(cwd: string, args: string[], env: Record<string, string> = { MIGRATE_CACHE: '0' }): Measured {
  const marker = path.join(cwd, '.bench-rss');
  const cmd = TIME ? TIME : process.execPath;
  const argv = TIME ? ['-f', '%M %U %S', '-o', marker, process.execPath, CLI, ...args] : [CLI, ...args];
  const t = performance.now();
  const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, FORCE_COLOR: '0', ...env } });
  const ms = performance.now() - t;
  let rssMB: number | null = null;
  let cpuMs: number | null = null;
  if (TIME && existsSync(marker)) {
    const [rss, user, sys] = readFileSync(marker, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    rssMB = rss! / 1024;
    cpuMs = (user! + sys!) * 1000;
    rmSync(marker);
  }
  return { ms, rssMB, cpuMs, exit: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function git(dir: string, ...args: string[]): void {
  const r = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

/** Back to the committed fleet: no `_v2`, no run records. */
function reset(dir: string): void {
  git(dir, 'clean', '-fdxq');
}

function stagesOf(stderr: string): Record<string, number> {
  const line = stderr.split('\n').find((l) => l.startsWith('timings: '));
  const out: Record<string, number> = {};
  for (const m of (line ?? '').matchAll(/(\w+) ([\d.]+) s/g)) out[m[1]!] = Number(m[2]) * 1000;
  return out;
}

/**
 * The limit: every file of the fleet parsed once, on one core, by the parsers alone
 * (tree-sitter's own parse, not the engine's flat tree built from it; TypeScript's scanner and parser).
 */
async function rawParse(fleet: Fleet): Promise<number> {
  const require = createRequire(import.meta.url);
  const NativeParser = require('tree-sitter') as new () => { setLanguage(l: unknown): void; parse(s: string, old?: unknown, o?: { bufferSize: number }): unknown };
  const parser = new NativeParser();
  parser.setLanguage(require('tree-sitter-python'));
  const t = performance.now();
  for (const [i, f] of fleet.files.entries()) {
    if (f.language === 'python') parser.parse(f.text, undefined, { bufferSize: Math.max(64 * 1024, f.text.length * 2 + 1024) });
    else ts.createSourceFile(f.rel, f.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    // The trees are freed as the engine frees them (src/lang/python/native-trees.ts), or 10,000 would not fit.
    nativeTreeDropped();
    if (i % 8 === 7) await turnEventLoop();
  }
  return performance.now() - t;
}

/**
 * What a cold `scan` cannot do without, each file once, in CPU time (this machine is shared:
 * wall time follows the other users' load): the engine's parse of each Python file
 * (tree-sitter's parse and the cursor read into the flat tree every analysis works on; the read
 * costs about as much as the parse, native calls per node) and TypeScript's parse, then
 * CPython's compile of each Python file (the check every scanned file gets). `scan` can only get
 * below `(read + compile) / cores` by doing less than that: not by walking less.
 */
async function scanFloor(fleet: Fleet): Promise<{ readMs: number; compileMs: number }> {
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const t = cpu();
  for (const [i, f] of fleet.files.entries()) {
    if (f.language === 'python') parsePython(f.text);
    else ts.createSourceFile(f.rel, f.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    if (i % 8 === 7) await turnEventLoop();
  }
  const readMs = cpu() - t;
  // The compile the scan's python3 makes of each file (src/lang/python/py-compile.ts), timed inside python3.
  const script = 'import json, sys, time\nitems = json.load(sys.stdin)\nt = time.process_time()\nfor i in items:\n    try:\n        compile(i["text"], i["name"], "exec", dont_inherit=True)\n    except (SyntaxError, ValueError, TypeError):\n        pass\nprint(time.process_time() - t)\n';
  const items = fleet.files.filter((f) => f.language === 'python').map((f) => ({ name: f.rel, text: f.text }));
  const r = spawnSync(python3Command(), ['-c', script], { input: JSON.stringify(items), encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`python3 compile: ${r.stderr}`);
  return { readMs, compileMs: Number(r.stdout.trim()) * 1000 };
}

/** The ast-grep binary of @ast-grep/cli (its platform package; no install script needed), or null. */
function astGrep(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const { resolveBinaryPath } = require('@ast-grep/cli/postinstall') as { resolveBinaryPath: () => string | null };
    return resolveBinaryPath();
  } catch {
    return null;
  }
}

// The mechanical subset as ast-grep rules: a legacy agent class (no bases) gets the base,
// and the module's first import gets the base's import before it.
const AST_GREP_RULES = (module: string, base: string, classRegex: string) => `id: inherit-base
language: python
rule:
  pattern: $NAME
  kind: identifier
  regex: ${classRegex}
  inside:
    kind: class_definition
    field: name
    not:
      has:
        field: superclasses
        kind: argument_list
fix: $NAME(${base})
---
id: add-import
language: python
rule:
  pattern: $IMP
  any:
    - kind: import_statement
    - kind: import_from_statement
  inside:
    kind: module
  not:
    follows:
      stopBy: end
      any:
        - kind: import_statement
        - kind: import_from_statement
fix: |-
  from ${module} import ${base}
  $IMP
`;

interface PeerResult {
  files: number;
  astGrepMs: number | null;
  engineMs: number;
  astGrepChanged: number | null;
  engineChanged: number;
}

/** ast-grep vs our engine restricted to inherit-base + add-import, on the fleet's Python files. */
function peer(fleet: Fleet, dir: string): PeerResult {
  const profile = loadProfile('base-agent');
  const py = profile.python!;
  const files = fleet.files.filter((f) => f.language === 'python');
  const base = loadBaseModel(dir, py, profile.base_class);
  const t = performance.now();
  let engineChanged = 0;
  for (const f of files) {
    const source = decodePythonSource(Buffer.from(f.text), f.rel);
    const out = rewritePython({ file: f.rel, source, className: f.className, profile, base, transforms: [inheritBase, addImport] });
    if (out.status === 'changed') engineChanged++;
  }
  const engineMs = performance.now() - t;
  const bin = astGrep();
  let astGrepMs: number | null = null;
  let astGrepChanged: number | null = null;
  if (bin) {
    const rules = path.join(dir, '.bench-rules.yml');
    const importLine = /^from\s+(\S+)\s+import\s+(\w+)/.exec(py.import)!;
    // The agent classes by the last word of their names (Agent, Service, ...), as a rule would say it.
    const suffixes = [...new Set(files.map((f) => /([A-Z][a-z]+)\d*$/.exec(f.className)?.[1]).filter(Boolean))];
    writeFileSync(rules, AST_GREP_RULES(importLine[1]!, importLine[2]!, `(${suffixes.join('|')})\\d*$`));
    const paths = [...new Set(files.map((f) => f.rel.split('/')[0]!))];
    const t2 = performance.now();
    const r = spawnSync(bin, ['scan', '--rule', rules, '--update-all', '--threads', '1', ...paths], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30 });
    astGrepMs = performance.now() - t2;
    if (r.status !== 0) throw new Error(`ast-grep: ${r.stderr}`);
    astGrepChanged = spawnSync('git', ['diff', '--name-only'], { cwd: dir, encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).length;
    rmSync(rules);
    git(dir, 'checkout', '-q', '--', '.');
  }
  return { files: files.length, astGrepMs, engineMs, astGrepChanged, engineChanged };
}

interface SizeResult {
  agents: number;
  files: { python: number; typescript: number; mb: number; lines: number };
  rawParseMs: number;
  /** See scanFloor. */
  scanFloor: { readMs: number; compileMs: number };
  scan: { ms: number; rssMB: number | null; cpuMs: number | null; agents: number; cachedMs: number; cachedSame: boolean };
  pool: { ms: number; rssMB: number | null; cpuMs: number | null; stages: Record<string, number>; summary: unknown };
  inBand: { ms: number; rssMB: number | null; cpuMs: number | null; stages: Record<string, number>; summary: unknown };
  sameResults: boolean;
  peer: PeerResult;
}

function runJson(m: Measured, what: string): { results: unknown[]; summary: unknown } {
  try {
    return JSON.parse(m.stdout);
  } catch {
    throw new Error(`${what} exited ${m.exit} without JSON: ${m.stderr.slice(-2000)}`);
  }
}

async function benchSize(n: number): Promise<SizeResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `migrate-bench-${n}-`));
  try {
    const fleet = writeFleet(dir, n, { baseDir: path.join(ROOT, 'fixtures', 'python', '_base') });
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'fleet');
    const rawParseMs = await rawParse(fleet);
    const floor = await scanFloor(fleet);
    // The first scan fills a cache of this bench's own (empty: the fleet is new to it), the
    // second is answered from it.
    const cacheHome = mkdtempSync(path.join(os.tmpdir(), 'migrate-bench-cache-'));
    const scan = measure(dir, ['scan', '--json'], { XDG_CACHE_HOME: cacheHome });
    const scanned = runJson(scan, 'scan') as unknown as { agents: unknown[] };
    const cachedScan = measure(dir, ['scan', '--json'], { XDG_CACHE_HOME: cacheHome });
    const cachedSame = JSON.stringify(runJson(cachedScan, 'scan (cached)')) === JSON.stringify(scanned);
    rmSync(cacheHome, { recursive: true, force: true });
    const run = ['run', '--all', '--no-validate', '--no-commit', '--json', '--timings'];
    // The pool asked for (-j): left to choose, a fleet below POOL_FROM_AGENTS runs in band.
    const pool = measure(dir, [...run, '-j', String(Math.min(os.availableParallelism?.() ?? os.cpus().length, 4))]);
    const poolJson = runJson(pool, 'run');
    reset(dir);
    const inBand = measure(dir, [...run, '--run-in-band']);
    const inBandJson = runJson(inBand, 'run --run-in-band');
    reset(dir);
    const py = fleet.files.filter((f) => f.language === 'python').length;
    return {
      agents: n,
      files: { python: py, typescript: fleet.files.length - py, mb: fleet.bytes / 1e6, lines: fleet.lines },
      rawParseMs,
      scanFloor: floor,
      scan: { ms: scan.ms, rssMB: scan.rssMB, cpuMs: scan.cpuMs, agents: scanned.agents.length, cachedMs: cachedScan.ms, cachedSame },
      pool: { ms: pool.ms, rssMB: pool.rssMB, cpuMs: pool.cpuMs, stages: stagesOf(pool.stderr), summary: poolJson.summary },
      inBand: { ms: inBand.ms, rssMB: inBand.rssMB, cpuMs: inBand.cpuMs, stages: stagesOf(inBand.stderr), summary: inBandJson.summary },
      sameResults: JSON.stringify(poolJson.results) === JSON.stringify(inBandJson.results),
      peer: peer(fleet, dir),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const s = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(2)} s`);
const mb = (m: number | null) => (m === null ? '-' : `${(m / 1024).toFixed(2)} GB`);
/** Cores a process kept busy on average: its CPU time (children included) over its wall time. */
const cores = (cpu: number | null, wall: number) => (cpu === null ? '-' : (cpu / wall).toFixed(2));
const x = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((v, c) => v.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function report(results: SizeResult[], skipped: Array<{ agents: number; projectedS: number }>): string {
  const main = [
    ['agents', 'MB', 'raw parse', 'scan', 'scan cached', 'run pool', 'run in band', 'speed-up', 'cores pool / in band', 'pool / parse', 'RSS pool', 'RSS in band', 'same results'],
    ...results.map((r) => [
      `${r.agents} (${r.files.typescript} ts)`,
      r.files.mb.toFixed(1),
      s(r.rawParseMs),
      s(r.scan.ms),
      `${s(r.scan.cachedMs)}${r.scan.cachedSame ? '' : ' (DIFFERS)'}`,
      s(r.pool.ms),
      s(r.inBand.ms),
      x(r.inBand.ms, r.pool.ms),
      `${cores(r.pool.cpuMs, r.pool.ms)} / ${cores(r.inBand.cpuMs, r.inBand.ms)}`,
      x(r.pool.ms, r.rawParseMs),
      mb(r.pool.rssMB),
      mb(r.inBand.rssMB),
      r.sameResults ? 'yes' : 'NO',
    ]),
  ];
  const n = os.availableParallelism();
  const floorCpu = (r: SizeResult) => r.scanFloor.readMs + r.scanFloor.compileMs;
  const scanFloors = [
    ['agents', 'scan', 'scan CPU', 'floor: parse + read', 'floor: CPython compile', `floor CPU / ${n} cores`, 'scan / floor', 'scan CPU / floor CPU'],
    ...results.map((r) => [
      String(r.agents),
      s(r.scan.ms),
      s(r.scan.cpuMs),
      s(r.scanFloor.readMs),
      s(r.scanFloor.compileMs),
      s(floorCpu(r) / n),
      x(r.scan.ms, floorCpu(r) / n),
      x(r.scan.cpuMs, floorCpu(r)),
    ]),
  ];
  const stageNames = [...new Set(results.flatMap((r) => [...Object.keys(r.pool.stages), ...Object.keys(r.inBand.stages)]))];
  const stages = [
    ['agents', 'mode', ...stageNames],
    ...results.flatMap((r) => [
      [String(r.agents), 'pool', ...stageNames.map((n) => s(r.pool.stages[n] ?? null))],
      [String(r.agents), 'in band', ...stageNames.map((n) => s(r.inBand.stages[n] ?? null))],
    ]),
  ];
  const peers = [
    ['agents', 'python files', 'ast-grep (1 thread)', 'engine, same 2 transforms', 'engine / ast-grep', 'changed (ast-grep / engine)'],
    ...results.map((r) => [
      String(r.agents),
      String(r.peer.files),
      s(r.peer.astGrepMs),
      s(r.peer.engineMs),
      x(r.peer.engineMs, r.peer.astGrepMs),
      `${r.peer.astGrepChanged ?? '-'} / ${r.peer.engineChanged}`,
    ]),
  ];
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return [
    `cli: ${CLI}`,
    `machine: ${os.availableParallelism()} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, node ${process.version}, load ${os.loadavg()[0]!.toFixed(1)}`,
    '',
    '`run` is `migrate run --all --no-validate --no-commit`; speed-up is in band / pool; cores is CPU time (python3 compile checks included) over wall time: in band is not one core, since each output\'s compile check runs in a python3 beside it; pool / parse is the run against the raw parse of the same files on one core. The runs go without the scan cache (MIGRATE_CACHE=0); "scan" is a first scan (its cache empty), "scan cached" the same scan again, unchanged files answered from the cache the first one filled.',
    table(main),
    '',
    'scan against its floor (scanFloor, CPU time: each file parsed, read into the flat tree and compiled by CPython once, nothing else; over the cores: the wall time of that work split evenly on an idle machine):',
    table(scanFloors),
    '',
    'stages (run --timings):',
    table(stages),
    '',
    'peer: the mechanical subset (add the base, add its import) on the same Python files:',
    table(peers),
    ...skipped.map((k) => `\n${k.agents} agents: skipped (projected ${k.projectedS.toFixed(0)} s, past BENCH_BUDGET_S)`),
  ].join('\n');
}

const FIXED_MS = 8000;

async function main() {
  const sizes = (process.env.BENCH_AGENTS ?? '100,1000,10000').split(',').map(Number).filter((n) => n > 0);
  const budgetMs = Number(process.env.BENCH_BUDGET_S ?? 300) * 1000;
  const out = process.env.BENCH_JSON ?? 'bench-results.json';
  const started = performance.now();
  const results: SizeResult[] = [];
  const skipped: Array<{ agents: number; projectedS: number }> = [];
  let perAgentMs = 0;
  for (const n of sizes) {
    // What a size costs whatever its agents (process start-ups, worker and ts-morph warm-up:
    // about 8 s of the 100-agent size) does not grow with it.
    const projected = perAgentMs * n + FIXED_MS;
    const left = budgetMs - (performance.now() - started);
    if (results.length && projected > left) {
      skipped.push({ agents: n, projectedS: projected / 1000 });
      continue;
    }
    const t = performance.now();
    process.stderr.write(`bench: ${n} agents...\n`);
    results.push(await benchSize(n));
    perAgentMs = Math.max(0, performance.now() - t - FIXED_MS) / n;
  }
  console.log(report(results, skipped));
  const validation = process.env.BENCH_VALIDATE === '0' ? null : await benchValidation();
  if (validation) console.log(`\n${validation}`);
  writeFileSync(out, `${JSON.stringify({ machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, memGB: os.totalmem() / 2 ** 30, node: process.version }, results, skipped, validation }, null, 2)}\n`);
  console.log(`\nfigures written to ${out}`);
  if (results.some((r) => !r.sameResults)) process.exitCode = 1;
}

await main();
