// The Python language adapter: tree-sitter scan and rewrite, batch verification
// (parse, py_compile in one process, idempotency) and the default launch command.
import path from 'node:path';
import type { LanguageAdapter, VerifyError, VerifyRequest } from '../../pipeline/language.js';
import type { AgentInfo, KeptForReview } from '../../core/types.js';
import { OTHER_AGENT_BESIDE, OTHER_AGENT_EVIDENCE, scanPython } from '../../discover/python-scan.js';
import { readFileSync } from 'node:fs';
import { loadBaseModel, type BaseModel } from '../../analysis/base-model.js';
import { baseCalledMethods, counterpart, reachableInOriginal, reachableMethods } from '../../analysis/reachability.js';
import { readModuleModel, type ModuleModel, type PyClass } from './module-model.js';
import { decodePythonSource, parsePython, pythonLanguage, type NativeTree, type SyntaxNode, type Tree } from './parser.js';
import { walkTypes } from './syntax.js';
import { externalUses, repoIndex, type ExternalUse } from '../../analysis/repo-references.js';
import { FlatTree, type FlatTreeData } from './flat-tree.js';
import type { Profile, PythonProfile } from '../../profile/profile.js';
import { pyCompileAll, sharedCompileSession } from './py-compile.js';
import { encodePythonOutput } from './encoding.js';
import { UsageError } from '../../core/errors.js';
import { step } from '../../core/counters.js';
import { pythonLaunch } from '../../validate/python-launch.js';

// The definitions a review item can name (a handler class, a method).
const DEFINITION: ReadonlySet<string> = new Set(['class_definition', 'function_definition']);

// The rewrite and its ~100 transform modules (half a CPU-second to load) only where a rewrite or a
// verification runs: `validate`, `status` and `scan` processes load the adapter for its scan alone.
type RewritePass = typeof import('./rewrite.js').rewritePython;
const loadRewrite = () => import('./rewrite.js');

export const pythonAdapter: LanguageAdapter = {
  language: 'python',
  extensions: ['.py'],

  async scan(root, files, profile, threads, parses) {
    return scanPython(root, files, profile, threads, parses);
  },

  async rewrite(req) {
    const py = req.profile.python;
    if (!py) throw new UsageError(`profile ${req.profile.name} has no python section`);
    const base = loadBaseModel(req.root, py, req.profile.base_class);
    const { rewritePython, rewritePythonTrees } = await loadRewrite();
    const { outcome, inputTree, outputTree } = step('py rewrite', () => rewritePythonTrees({
      file: req.agent.file,
      source: req.source,
      className: req.agent.class,
      profile: req.profile,
      base,
      root: req.root,
      repoSnapshot: req.snapshot,
      // The scan's parse of this source (ParseStore checked it is this very text): not parsed again.
      tree: req.parsed ? new FlatTree(req.parsed as FlatTreeData, req.source, pythonLanguage()) : undefined,
      // Its native tree when the scan ran in this thread: the output is reparsed from it.
      native: req.parsed ? (req.native as NativeTree | undefined) : undefined,
    }));
    // Another class of the file the scan found agent-like is not migrated with this one: say so.
    if (outcome.status === 'changed') for (const e of req.agent.evidence) if (e.startsWith(OTHER_AGENT_EVIDENCE)) outcome.warnings.push(e);
    // One the entry point runs beside it stays legacy in the same process: the file is half-done, a person's call.
    if (outcome.status === 'changed') {
      for (const e of req.agent.evidence) {
        const m = e.startsWith(OTHER_AGENT_BESIDE) ? /^(\w+) \(line (\d+): (.*?)\); ([^]*)$/.exec(e.slice(OTHER_AGENT_BESIDE.length + 1)) : null;
        if (m) outcome.kept_for_review.push({ symbol: m[1]!, line: Number(m[2]), reason: `a second legacy agent of this file (${m[3]}); ${m[4]}` });
      }
    }
    // Verification's own passes, here in the worker on the trees at hand (see checkIdempotencyAs).
    if (req.checkIdempotencyAs !== undefined && outcome.status === 'changed' && inputTree && outputTree) {
      outcome.idempotency = verifyOutput(rewritePython, req.checkIdempotencyAs, outcome.output!, req.root, req.agent, req.profile, outcome.kept_for_review, {
        source: req.source,
        input: inputTree,
        output: outputTree,
        snapshot: req.snapshot,
        base,
      });
    }
    return outcome;
  },

  async verify(reqs) {
    const again = reqs.some((r) => r.idempotency === undefined) ? (await loadRewrite()).rewritePython : null;
    const errors: VerifyError[] = reqs.map((r) => {
      if (r.idempotency !== undefined) return r.idempotency;
      return verifyOutput(again!, outputName(r), r.output, r.root, r.agent, r.profile, r.review ?? []);
    });
    // Compiled already (precheck) or now, all in one python3.
    const pending = reqs
      .map((r, i) => ({ i, name: outputName(r), text: r.output, bytes: r.bytes, precheck: r.precheck }))
      .filter((x) => errors[x.i] === null);
    const compiled = await pyCompileAll(pending.filter((p) => !p.precheck));
    let k = 0;
    for (const p of pending) errors[p.i] = (p.precheck ? await p.precheck : compiled[k++]) ?? null;
    return errors;
  },

  precheck() {
    const session = sharedCompileSession();
    return {
      check: (r) => session.compile({ name: outputName(r), text: r.output, bytes: r.bytes }),
      close: () => session.close(),
    };
  },

  outputPath(file) {
    return file.replace(/\.py$/, '_v2.py');
  },

  encode: encodePythonOutput,

  launch: pythonLaunch,
};

/** The output's path from the root, as compile errors name it. */
function outputName(r: VerifyRequest): string {
  return path.relative(r.root, r.outputFile).split(path.sep).join('/');
}

/**
 * Verification's passes on an output (`rel`, its path from the root) before it is compiled:
 * the transforms run on it again must change nothing (idempotency), and no method that ran
 * in the original may be left uncalled. Given the trees of the rewrite (the output parsed
 * cleanly), nothing is parsed or read again; without them the output is parsed strictly, so
 * a syntax error fails here too, and the original is read from disk.
 */
function verifyOutput(
  rewritePython: RewritePass,
  rel: string,
  output: string,
  root: string,
  agent: AgentInfo,
  profile: Profile,
  review: readonly KeptForReview[],
  trees?: { source: string; input: Tree; output: Tree; snapshot?: string; base: BaseModel },
): VerifyError {
  const py = profile.python!;
  // The base the rewrite itself used (looked up once per agent), else looked up now.
  const base = trees?.base ?? loadBaseModel(root, py, profile.base_class);
  const again = step('py idempotency', () => rewritePython({
    file: rel,
    agentFile: agent.file,
    source: output,
    className: agent.class,
    profile,
    base,
    root,
    tree: trees?.output,
    repoSnapshot: trees?.snapshot,
    // Its status and output are all this pass reads (not its review items).
    verdictOnly: true,
  }));
  if (again.status === 'failed') return `${rel}: second run failed: ${again.error}`;
  if (again.output !== output) {
    const line = firstDifferentLine(output, again.output ?? '');
    return `${rel}:${line}: not idempotent: running the transforms on the output changes it`;
  }
  return step('py lost-method check', () => lostMethod(root, agent.file, rel, agent.class, output, base, py, review, trees));
}

/** Where other files of the repository that reach the class (import its module or name it) use `name` on it. */
function externalCallers(root: string, file: string, className: string, name: string): ExternalUse[] {
  return externalUses(repoIndex(root), [file, file.replace(/\.py$/, '_v2.py')], name, { className, module: path.basename(file).replace(/\.py$/, '') });
}

function firstDifferentLine(a: string, b: string): number {
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) if (la[i] !== lb[i]) return i + 1;
  return 1;
}

/**
 * A method that could run in the original (reached from the entry point, the constructor or
 * another reached method) must still be reachable in the output, under its name or its
 * `_agent_` rename, now counting what the base calls (and, for a class already on an older base
 * of the same name, counting it in the original too); an override that became dead code fails
 * the agent, unless the rewrite's review items say so (see reviewedOrphans). Methods the
 * migration removed are the removal plan's, not this check's.
 */
function lostMethod(
  root: string,
  file: string,
  rel: string,
  className: string,
  output: string,
  base: BaseModel,
  py: PythonProfile,
  review: readonly KeptForReview[],
  trees?: { source: string; input: Tree; output: Tree },
): string | null {
  let original: string;
  try {
    original = trees?.source ?? decodePythonSource(readFileSync(path.join(root, file)), file);
  } catch {
    return null;
  }
  const before = readModuleModel(original, trees?.input ?? parsePython(original));
  const after = readModuleModel(output, trees?.output ?? parsePython(output));
  const cb = before.classes.find((c) => c.name === className);
  const ca = after.classes.find((c) => c.name === className);
  if (!cb || !ca) return null;
  // A class already on an older copy of the base (same name, another module) had its hooks called
  // by that base: they ran in the original too, and must still run.
  const was = reachableInOriginal(before, cb, base, py);
  const now = reachableMethods(after, ca, baseCalledMethods(base, py));
  // A method left uncalled in the file but called on the class from another file (a subclass's
  // `self._publish_telemetry(alert)`): the failure names that caller, which this rewrite cannot change.
  let outside: { method: string; use: ExternalUse } | null | undefined;
  const elsewhere = () => {
    if (outside !== undefined) return outside;
    outside = null;
    const unreached = [...was].map((m) => counterpart(ca, m)).filter((k): k is string => !!k && !now.has(k));
    for (const k of unreached) {
      const use = externalCallers(root, file, className, k)[0];
      if (use) return (outside = { method: k, use });
    }
    return outside;
  };
  let reviewed: Set<string> | undefined;
  for (const m of was) {
    const kept = counterpart(ca, m);
    if (!kept || now.has(kept)) continue;
    // Reached in the original only through code a review item names (a removed health server's
    // business route), and named by that item as left uncalled: the person is told, not misled.
    reviewed ??= reviewedOrphans(before, cb, base, py, review);
    if (reviewed.has(m)) continue;
    const o = elsewhere();
    if (o) {
      const via = o.method === kept ? '' : ` (through ${o.method}())`;
      return `${rel}:${ca.methods.get(kept)!.line}: ${kept}() ran in the original (as ${m}()) but nothing in the file calls it after the migration; only ${o.use.file}:${o.use.line} (${o.use.text}) still does${via}, from a file this rewrite does not change: migrate the class there together with this one by hand; nothing written`;
    }
    return `${rel}:${ca.methods.get(kept)!.line}: ${kept}() ran in the original (as ${m}()) but nothing calls it after the migration; nothing written`;
  }
  return null;
}

/**
 * The methods of the original class that a review item says are left uncalled (`m()` in its
 * reason) and that could run only through the code the review items name (the definition each
 * names, at its line): their loss is the reviewed change's, not a silent one.
 */
function reviewedOrphans(module: ModuleModel, cls: PyClass, base: BaseModel, py: PythonProfile, review: readonly KeptForReview[]): Set<string> {
  const regions: SyntaxNode[] = [];
  const items: KeptForReview[] = [];
  walkTypes(module.root, DEFINITION, (n) => {
    const name = n.childForFieldName('name')?.text;
    const named = review.filter((k) => k.symbol === name && k.line === n.startPosition.row + 1);
    if (!named.length) return;
    regions.push(n);
    items.push(...named);
  });
  const out = new Set<string>();
  if (!regions.length) return out;
  const without = reachableInOriginal(module, cls, base, py, regions);
  for (const m of cls.methods.keys()) if (!without.has(m) && items.some((k) => k.reason.includes(`${m}()`))) out.add(m);
  return out;
}
