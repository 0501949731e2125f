// Self and inclusive time per function over one or more V8 CPU profiles (`node --cpu-prof`;
// worker threads write their own .cpuprofile beside the main thread's, pass them all), with the
// callers and callees of one function: where a stage's time goes, per project function.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bin/migrate.js run --all --no-validate --no-commit --run-in-band
//   node dist/test/bench/cpu-profile.js /tmp/prof/*.cpuprofile                 # top self and inclusive
//   node dist/test/bench/cpu-profile.js --only dist/ --top 80 /tmp/prof/*      # project functions only
//   node dist/test/bench/cpu-profile.js --around rewriteTree /tmp/prof/*       # its callers and callees
//   node dist/test/bench/cpu-profile.js --stages /tmp/prof/*                   # time per part of the run (STAGES)
//
// Inclusive time counts a sample once per function however deep it recurses. The profiler samples
// wall time on each thread: on a loaded machine the seconds are inflated, compare shares.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Per sample: its stack, innermost first, as "function file:line" keys, and the time it stands for (µs). */
function stacks(file: string): Array<{ chain: string[]; us: number }> {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => {
    const url = n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '$1/');
    return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
  };
  const chains = new Map<number, string[]>();
  const chainOf = (id: number): string[] => {
    let c = chains.get(id);
    if (!c) {
      const up = parent.get(id);
      chains.set(id, (c = [key(byId.get(id)!), ...(up === undefined ? [] : chainOf(up))]));
    }
    return c;
  };
  return p.samples.map((s, i) => ({ chain: chainOf(s), us: p.timeDeltas[i] ?? 0 }));
}

/**
 * The parts of a run `--stages` charges each sample to: the first whose functions are all on its
 * stack (a function named by its key's start, "name file"), tried in order; the rest is "other".
 * The idempotency passes come first (they run the rewrite again), parses before the work around them.
 */
const STAGES: Array<[name: string, onStack: string[]]> = [
  ['python idempotency + lost-method check (rewrite of the output)', ['verifyOutput ']],
  ['typescript idempotency (rewrite of the output)', ['idempotencyError ']],
  ['typescript verify (type check of the outputs)', ['verifyTypeScript ']],
  ['typescript rewrite', ['rewriteTypeScript ']],
  ['typescript scan', ['scanTypeScript ']],
  // The scan's floor in two (see scanFloor in bench.ts): tree-sitter's parse, and the cursor read of its tree.
  ['python scan: tree-sitter parse', ['readPythonFile ', 'nativeParse ']],
  ['python scan: flat read (cursor walk)', ['readPythonFile ', 'FlatTree ']],
  ['python scan: parse (the rest of parsePython)', ['readPythonFile ', 'parsePython ']],
  ['python scan: classification', ['readPythonFile ']],
  ['python rewrite: output parse', ['rewriteTree ', 'parsePython ']],
  ['python rewrite: output parse', ['rewriteTree ', 'reparsePython ']],
  ['python rewrite: output parse', ['rewriteTree ', 'reparsePythonFromFlat ']],
  // A scan answered from its cache parses nothing, so keeps no parse for the rewrite.
  ['python rewrite: input parse (no parse kept by the scan)', ['rewritePythonTrees ', 'parseStrictEditable ']],
  ['python rewrite: flat tree from the scan\'s data', ['rewrite dist/src/lang/python/adapter', 'FlatTree ']],
  ['python rewrite: transforms and checks', ['rewriteTree ']],
  ['garbage collector', ['(garbage collector) ']],
  ['module loading', ['compileFunction ']],
  ['module loading', ['wrapSafe ']],
  // A thread waiting (the main thread while the pool works): wall time, no CPU.
  ['idle', ['(idle) ']],
];

function stageOf(chain: string[]): string {
  for (const [name, on] of STAGES) if (on.every((f) => chain.some((k) => k.startsWith(f)))) return name;
  return 'other';
}

function add(m: Map<string, number>, k: string, us: number): void {
  m.set(k, (m.get(k) ?? 0) + us);
}

function print(title: string, m: Map<string, number>, top: number, only?: string): void {
  console.log(`== ${title}`);
  const rows = [...m].filter(([k]) => !only || k.includes(only)).sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, us] of rows) console.log(`${(us / 1e6).toFixed(2).padStart(8)} s  ${k}`);
}

function main(): void {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const only = opt('--only');
  const top = Number(opt('--top') ?? 40);
  const around = opt('--around');
  const byStage = args.indexOf('--stages') >= 0 ? !!args.splice(args.indexOf('--stages'), 1) : false;
  if (!args.length) {
    console.error('usage: cpu-profile [--only TEXT] [--top N] [--around FUNCTION] [--stages] FILE.cpuprofile...');
    process.exit(2);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const callers = new Map<string, number>();
  const callees = new Map<string, number>();
  const stages = new Map<string, number>();
  let total = 0;
  for (const file of args) {
    for (const { chain, us } of stacks(file)) {
      total += us;
      if (byStage) add(stages, stageOf(chain), us);
      add(self, chain[0]!, us);
      for (const k of new Set(chain)) add(inclusive, k, us);
      if (around) {
        const at = chain.findIndex((k) => k.startsWith(`${around} `));
        if (at < 0) continue;
        add(callers, chain.slice(at + 1, at + 4).join(' < ') || '(root)', us);
        add(callees, at > 0 ? chain[at - 1]! : '(self)', us);
      }
    }
  }
  console.log(`${args.length} profile(s), ${(total / 1e6).toFixed(2)} s sampled`);
  if (byStage) {
    console.log('== stages');
    for (const [k, us] of [...stages].sort((a, b) => b[1] - a[1])) console.log(`${(us / 1e6).toFixed(2).padStart(8)} s ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
    return;
  }
  if (around) {
    print(`callers of ${around} (three frames up)`, callers, top);
    print(`callees of ${around}`, callees, top);
    return;
  }
  print('self', self, top, only);
  print('inclusive', inclusive, top, only);
}

main();
