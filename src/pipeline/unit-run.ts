// A base migration unit with no blocker, migrated as one change: the engine's rewrite of the
// home-made base written as the base's `_v2`, and for each subclass a `_v2` whose only change is
// importing the base from the base's `_v2` module; all of them verified (compile, a second run
// changes nothing, every name a subclass imports from the base's `_v2` is defined there), each
// subclass's `_v2` started under the normal validator, and one commit (trailer: the base's name)
// adding every `_v2` and the unit's record. Any step failing fails the unit and puts every file
// back: no partial `_v2`, no record, no commit.
//
// Why the subclasses import the base's `_v2` (and not the base rewritten in place): DESIGN.md's
// contract is that `run` never modifies an original; the legacy fleet keeps running on the legacy
// base while the `_v2` fleet runs on the `_v2` base, and `git revert` of the one commit removes
// every `_v2` together. Promoting one agent of it alone would leave an original importing a `_v2`
// module the unit's revert removes, so promote and revert refuse a unit's member alone
// (src/record/resolve.ts) and promote cuts the whole unit over as one (src/record/promote.ts).
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { BaseUnit, ValidationReport } from '../core/types.js';
import { MigrateError, oneLine } from '../core/errors.js';
import { profileFor, type Profile } from '../profile/profile.js';
import { loadBaseModel } from '../analysis/base-model.js';
import { rewritePythonTrees } from '../lang/python/rewrite.js';
import { previewBase } from '../discover/base-preview.js';
import { memberAgent, retargetImports, unitModules } from '../discover/base-units.js';
import { unitCycleTexts } from '../discover/unit-cycle.js';
import { buildRecord, recordPath, sha256, v2Sibling, writeRecord } from '../record/migration-log.js';
import { commitAgent, readHistory, type BranchOrigin } from '../record/git.js';
import type { RunJournal } from './journal.js';
import { rememberValidation } from '../record/validation-cache.js';
import type { ReviewAnswer } from '../record/review-log.js';
import { handWrittenRecordCheck } from '../record/hand-written-record.js';
import { tempPathOf, writeOutputAtomic } from './write-output.js';
import { python3Command } from '../lang/python/python3.js';
import type { ValidationEnvironment } from '../validate/environment.js';

export interface UnitRunOptions {
  profile: Profile;
  force: boolean;
  /** false (--no-commit): write, verify and validate, then leave the files uncommitted for `migrate commit` / `migrate review`. */
  commit?: boolean;
  concurrency: number;
  registryUrl?: string;
  metricsUrl?: string;
  signal?: AbortSignal;
  /** The branch HEAD named when the run began: the unit's commit is made only on it (commitAgent). */
  branch?: string | null;
}

/** A file of the unit to write: its path, its legacy file and its new text. */
export interface UnitFile {
  rel: string;
  legacy: string;
  text: string;
}

/**
 * Migrate one `ready` unit (anything else is returned as it is). `env` gives the validation
 * environment (prepared on first use). The unit comes back `migrated` (with files and commit),
 * `unchanged` (the active unit commit already holds exactly these files) or `failed` (error),
 * and only `migrated` leaves anything on disk or in history.
 */
export async function migrateUnit(root: string, unit: BaseUnit, opts: UnitRunOptions, journal: RunJournal | null, env: () => Promise<ValidationEnvironment>): Promise<BaseUnit> {
  if (unit.status !== 'ready') return unit;
  // The unit's own fleet's profile (see Profile.pythonSplit): its members are scanned against it.
  opts = { ...opts, profile: profileFor(opts.profile, 'python', unit.base.file) };
  const fail = (error: string): BaseUnit => ({ ...unit, status: 'failed', files: [], commit: null, error });
  let files: UnitFile[];
  let baseOutcome: BaseRewrite;
  try {
    ({ files, base: baseOutcome } = unitTexts(root, unit, opts.profile));
  } catch (err) {
    return fail(oneLine(err));
  }
  const verified = verifyUnit(root, unit, files);
  if (verified) return fail(`verify: ${verified}`);

  // A second run: the active unit commit already holds exactly these files.
  const same = files.every((f) => {
    try {
      return lstatSync(path.join(root, f.rel)).isFile() && readFileSync(path.join(root, f.rel), 'utf8') === f.text;
    } catch {
      return false; // absent (or unreadable: the write below says why)
    }
  });
  if (same) {
    const active = (await readHistory(root)).get(unit.name)?.active;
    if (active) return { ...unit, status: 'unchanged', files: files.map((f) => f.rel), commit: active.sha, error: null };
    // What a --no-commit run left, uncommitted: committed by `migrate commit`, written again only with --force.
    if (!opts.force) return fail(`${files[0]!.rel} and the unit's other _v2 files are already written and not committed (a --no-commit run): \`migrate commit ${unit.name}\` or \`migrate review\` commits them; pass --force to write and validate them again`);
  }
  // A directory, symlink or FIFO at a _v2 path is the user's, never replaced, even with --force.
  const odd = files.find((f) => isLink(path.join(root, f.rel)) || (existsSync(path.join(root, f.rel)) && !lstatSync(path.join(root, f.rel)).isFile()));
  if (odd) return fail(`${odd.rel} already exists and is not a file; move it away to migrate unit ${unit.name}`);
  if (!opts.force) {
    const there = files.find((f) => existsSync(path.join(root, f.rel)));
    if (there) return fail(`${there.rel} already exists and differs (or is not committed); pass --force to overwrite it`);
  }

  // Write: every output and its temporary name in the journal before the first is created.
  const rels = files.map((f) => f.rel);
  const recordRel = recordPath(unit.name);
  let recordWritten = false;
  const putBack = (error: string): BaseUnit => {
    const left: string[] = [];
    for (const r of recordWritten ? [...rels, recordRel] : rels) {
      try {
        journal?.undo(r);
      } catch (err) {
        left.push(`${r}: ${oneLine(err)}`);
      }
    }
    return fail(left.length ? `${error}; could not put back ${left.join(', ')} (the next run puts it back)` : error);
  };
  journal?.willCreateAll([...rels, ...rels.map((r) => path.relative(root, tempPathOf(path.join(root, r))).split(path.sep).join('/'))]);
  const shas = new Map<string, string>();
  try {
    for (const f of files) {
      const bytes = Buffer.from(f.text, 'utf8');
      writeOutputAtomic(path.join(root, f.rel), bytes);
      shas.set(f.rel, sha256(bytes));
    }
  } catch (err) {
    return putBack(`cannot write: ${oneLine(err)}`);
  } finally {
    journal?.settled(rels.map((r) => path.relative(root, tempPathOf(path.join(root, r))).split(path.sep).join('/')));
  }

  // Validate each member's `_v2` as any agent's: one failing member fails the unit.
  const members = unit.members.map((m, k) => ({ m, file: files[k + 1]! }));
  let reports: ValidationReport[];
  try {
    const { runValidationStage } = await import('./validate-stage.js');
    reports = await runValidationStage(
      root,
      members.map(({ m, file }) => ({ agent: memberAgent(m), file: path.join(root, file.rel), legacyFile: path.join(root, m.file) })),
      { profile: opts.profile, concurrency: opts.concurrency, registryUrl: opts.registryUrl, metricsUrl: opts.metricsUrl, signal: opts.signal },
      await env(),
    );
  } catch (err) {
    return putBack(`validation: ${oneLine(err)}`);
  }
  const validation = Object.fromEntries(members.map(({ m }, k) => [m.class, reports[k]!]));
  const bad = members.findIndex((_, k) => !reports[k]?.ok);
  if (bad >= 0) {
    const r = reports[bad]!;
    const check = r.checks.find((c) => !c.ok && !c.skipped);
    const { m, file } = members[bad]!;
    return { ...putBack(`validation of ${m.class} (${file.rel}): ${r.error ?? (check ? `${check.name}: ${check.detail ?? 'failed'}` : 'failed')}`), validation };
  }
  if (opts.signal?.aborted) return putBack('interrupted before commit');
  // What is committed is what was verified and run: nothing changed the files meanwhile.
  const drift = files.find((f) => {
    try {
      return sha256(readFileSync(path.join(root, f.rel))) !== shas.get(f.rel);
    } catch {
      return true;
    }
  });
  if (drift) return { ...putBack(`${drift.rel} changed after migrate wrote it, while the unit was validated: not committed`), validation };

  // --no-commit: the files stay, uncommitted, with each member's validation remembered for
  // `migrate commit <base>` / `migrate review`, which commit them as this run would have.
  if (opts.commit === false) {
    for (const { m, file } of members) rememberValidation(root, m.class, file.rel, validation[m.class]!, shas.get(file.rel) ?? null);
    journal?.settled(rels);
    return { ...unit, status: 'migrated', files: rels, commit: null, error: null, validation };
  }

  // Record and one commit.
  try {
    const sha = await commitUnit(root, unit, { profile: opts.profile, files: rels, base: baseOutcome, validation, journal, branch: opts.branch, force: opts.force, onRecord: () => (recordWritten = true) });
    return { ...unit, status: 'migrated', files: rels, commit: sha, error: null, validation };
  } catch (err) {
    try {
      journal?.commitFailed();
    } catch {
      // the files are put back all the same
    }
    return { ...putBack(`commit: ${oneLine(err)}`), validation };
  }
}

/**
 * The unit's record and its one commit of `files` (the base's `_v2` first, then each member's, in the
 * unit's order) and the record: what `run` commits, and `migrate commit <base>` / `migrate review` for a
 * unit a --no-commit run left. `onRecord` is called once the record is in the journal (about to be
 * written). Throws on failure; the caller puts the files back.
 */
export async function commitUnit(
  root: string,
  unit: BaseUnit,
  opts: { profile: Profile; files: string[]; base: BaseRewrite; validation: Record<string, ValidationReport>; journal: RunJournal | null; onRecord?: () => void; review?: ReviewAnswer[]; branch?: string | null; branchOrigin?: BranchOrigin; force?: boolean; retry?: string },
): Promise<string> {
  const { files: rels, base: baseOutcome, validation, journal } = opts;
  const profile = profileFor(opts.profile, 'python', unit.base.file);
  const recordRel = recordPath(unit.name);
  const members = unit.members.map((m, k) => ({ m, rel: rels[k + 1]! }));
  // A record someone else wrote at the unit's record path is replaced only with --force, and said so in the record.
  const hand = handWrittenRecordCheck(root, unit.name, opts.force === true, opts.retry ?? 'pass --force to overwrite it');
  if (hand.error) throw new MigrateError(hand.error);
  const base = buildRecord(root, {
    agent: unit.name,
    language: 'python',
    profile: profile.name,
    source: unit.base.file,
    output: rels[0]!,
    removed: baseOutcome.removed,
    kept_for_review: baseOutcome.kept,
    warnings: hand.warning ? [...baseOutcome.warnings, hand.warning] : baseOutcome.warnings,
    validation: null,
    review: opts.review,
  });
  const hashOf = (rel: string) => ({ path: rel, sha256: sha256(readFileSync(path.join(root, rel))) });
  const middles = (unit.middles ?? []).map((m, k) => ({ class: m.class, source: hashOf(m.file), output: hashOf(rels[unit.members.length + 1 + k]!) }));
  const record = { ...base, unit: { members: members.map(({ m, rel }) => ({ class: m.class, source: hashOf(m.file), output: hashOf(rel), validation: validation[m.class]! })), ...(middles.length ? { middles } : {}) } };
  journal?.willCreate(recordRel);
  opts.onRecord?.();
  writeRecord(root, record);
  const names = unit.members.map((m) => m.class);
  const body = [
    `Base migration unit ${unit.name} (${unit.base.file}:${unit.base.line}) with ${names.join(', ')}: ${unit.name}'s _v2 is the engine's rewrite onto ${profile.base_class}; each agent's _v2 only imports ${unit.name} from it${unit.middles?.length ? ` (or ${unit.middles.map((m) => m.class).join(', ')}, which stand${unit.middles.length === 1 ? 's' : ''} between them, from ${unit.middles.length === 1 ? 'its' : 'their'} _v2, which only import${unit.middles.length === 1 ? 's' : ''} ${unit.name}'s)` : ''}.`,
    `Removed from ${unit.name}: ${baseOutcome.removed.length ? baseOutcome.removed.join(', ') : 'nothing'}.`,
    ...(opts.review?.length ? [`Reviewed: ${opts.review.map((a) => a.answer).join(', ')}${opts.review[opts.review.length - 1]!.by ? ` by ${opts.review[opts.review.length - 1]!.by}` : ''}.`] : []),
    `Validation: ${members.map(({ m }) => `${m.class} ${validation[m.class]!.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'}`).join(', ')}`).join('; ')}.`,
  ].join('\n');
  journal?.committing([...rels, recordRel]);
  const sha = await commitAgent(root, {
    agent: unit.name,
    profile: profile.name,
    baseClass: profile.base_class,
    files: [...rels, recordRel],
    subject: `migrate(${unit.name}): move base migration unit ${unit.name} (${names.join(', ')}) onto ${profile.base_class}`,
    body,
    branch: opts.branch,
    branchOrigin: opts.branchOrigin,
  });
  journal?.committed([...rels, recordRel]);
  return sha;
}

/** What the base's rewrite removed, kept and warned of (the record keeps it). */
export interface BaseRewrite {
  removed: string[];
  kept: Array<{ symbol: string; line: number; reason: string }>;
  warnings: string[];
}

/**
 * The unit's texts: the base's `_v2` (the engine's rewrite, which must be `changed`, keep nothing for
 * review but the entry point a base has none of, and change nothing when run again) and each member's
 * `_v2` (its source with every `from <the base's module> import ...` importing from the base's `_v2`
 * module instead). Throws one line naming the file and line when a text cannot be made.
 */
export function unitTexts(root: string, unit: BaseUnit, chosen: Profile): { files: UnitFile[]; base: BaseRewrite } {
  const profile = profileFor(chosen, 'python', unit.base.file);
  const baseRel = unit.base.file;
  // An abstract cycle the unit hands to the target: the base's rewrite as the unit's base and each agent's
  // file edited with it (unit-cycle.ts), as the scan found it could.
  const cycled = unit.cycle ? unitCycleTexts(
    (text, u) => previewBase(root, baseRel, unit.base.class, profile, text, u).outcome,
    { cls: unit.base.class, rel: baseRel, text: readFileSync(path.join(root, baseRel), 'utf8') },
    unit.cycle,
    unit.members.map((m) => ({ cls: m.class, rel: m.file, text: readFileSync(path.join(root, m.file), 'utf8') })),
    (unit.middles ?? []).map((m) => ({ cls: m.class, rel: m.file, text: readFileSync(path.join(root, m.file), 'utf8') })),
  ) : null;
  if (cycled && 'blockers' in cycled) throw new Error(`${cycled.blockers[0]!.rel}:${cycled.blockers[0]!.line}: ${cycled.blockers[0]!.reason}`);
  const outcome = cycled ? { ...cycled.outcome, output: cycled.output } : previewBase(root, baseRel, unit.base.class, profile).outcome;
  if (outcome.status !== 'changed' || outcome.output === undefined) {
    throw new Error(`${baseRel}:${unit.base.line}: the engine's rewrite of ${unit.base.class} is ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
  }
  const kept = outcome.kept_for_review.filter((k) => k.symbol !== '__main__');
  if (kept.length) throw new Error(`${baseRel}:${kept[0]!.line}: the engine's rewrite of ${unit.base.class} keeps ${kept[0]!.symbol} for review: ${kept[0]!.reason}`);
  const baseOut = v2Sibling(baseRel);
  // A second run changes nothing: the rewrite of the base's `_v2` is unchanged.
  const again = rewritePythonTrees({ file: baseOut, source: outcome.output, className: unit.base.class, profile, base: loadBaseModel(root, profile.python!, profile.base_class), root, verdictOnly: true, ...(cycled ? { unit: { rewritten: () => false, loop: unit.cycle!.loop } } : {}) }).outcome;
  if (again.status !== 'unchanged' && !(again.status === 'changed' && again.output === outcome.output)) {
    throw new Error(`${baseOut}: a second run of the rewrite of ${unit.base.class} is ${again.status}${again.error ? `: ${again.error}` : ' (it would change it again)'}`);
  }
  const files: UnitFile[] = [{ rel: baseOut, legacy: baseRel, text: outcome.output }];
  // The agents' files, then the classes' between the base and them (their order in unitOutputs):
  // each imports the base or a middle class, from its _v2 module now.
  const modules = unitModules(unit);
  for (const m of [...unit.members, ...(unit.middles ?? [])]) {
    const source = cycled?.agents.find((a) => a.rel === m.file)?.text ?? readFileSync(path.join(root, m.file), 'utf8');
    const text = retargetImports(source, m.file, modules);
    if (text === source) throw new Error(`${m.file}:${m.line}: ${m.class} does not import ${unit.base.class}${modules.length > 1 ? ' or a class between them' : ''} with \`from <module> import ...\` from ${modules.join(', ')}, so its _v2 cannot be pointed at ${baseOut}`);
    // Idempotent: the _v2's imports already point at the _v2 modules.
    if (retargetImports(text, v2Sibling(m.file), modules) !== text) throw new Error(`${v2Sibling(m.file)}: pointing its imports at ${baseOut} again would change it`);
    files.push({ rel: v2Sibling(m.file), legacy: m.file, text });
  }
  // The entry point a base has none of is no item: the base is never started alone (its agents' files
  // keep theirs). Kept, it made the record of every committed unit one "left for review" ("add the entry
  // point by hand"), which the report showed as needs-review and review printed as an item.
  return { files, base: { removed: outcome.removed, kept, warnings: outcome.warnings } };
}

/** Checks of the texts before anything is written: each compiles, and each member's `_v2` imports nothing the base's `_v2` lacks. */
export function verifyUnit(root: string, unit: BaseUnit, files: UnitFile[]): string | null {
  const script = [
    'import ast, json, sys',
    'data = json.load(sys.stdin)',
    'def top(tree):',
    '    names = set()',
    '    for n in tree.body:',
    '        if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)): names.add(n.name)',
    '        elif isinstance(n, (ast.Import, ast.ImportFrom)): names.update((a.asname or a.name).split(".")[0] for a in n.names)',
    '        elif isinstance(n, (ast.Assign, ast.AnnAssign)):',
    '            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):',
    '                for x in ast.walk(t):',
    '                    if isinstance(x, ast.Name): names.add(x.id)',
    '        elif isinstance(n, (ast.If, ast.Try)):',
    '            for x in ast.walk(n):',
    '                if isinstance(x, (ast.ClassDef, ast.FunctionDef)): names.add(x.name)',
    '                elif isinstance(x, ast.Name) and isinstance(x.ctx, ast.Store): names.add(x.id)',
    '                elif isinstance(x, (ast.Import, ast.ImportFrom)): names.update((a.asname or a.name).split(".")[0] for a in x.names)',
    '    return names',
    // The unit's abstract cycle handed to the target (unit-cycle.ts), made again here on the legacy tree:
    // the agent's _v2 may differ from its file by that and the import only.
    'cycle = data.get("cycle")',
    'def handed(tree, cls, c):',
    '    k = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)',
    '    for fn in k.body:',
    '        if isinstance(fn, ast.FunctionDef) and fn.name == c["method"]:',
    '            fn.name = c["hook"]',
    '            last = fn.body[-1]',
    '            fn.body[-1] = ast.Return(value=ast.List(elts=[last.value.args[0]], ctx=ast.Load()))',
    '        if isinstance(fn, ast.FunctionDef) and fn.name == "__init__":',
    '            fn.args.kwarg = fn.args.kwarg or ast.arg(arg="kwargs")',
    '            for x in ast.walk(fn):',
    '                if isinstance(x, ast.Call) and isinstance(x.func, ast.Attribute) and x.func.attr == "__init__" and not any(w.arg is None for w in x.keywords):',
    '                    x.keywords.append(ast.keyword(arg=None, value=ast.Name(id=fn.args.kwarg.arg, ctx=ast.Load())))',
    '    made = {}',
    '    for x in ast.walk(tree):',
    '        if isinstance(x, ast.Assign) and len(x.targets) == 1 and isinstance(x.targets[0], ast.Name) and isinstance(x.value, ast.Call) and isinstance(x.value.func, ast.Name) and x.value.func.id == cls: made[x.targets[0].id] = x.value',
    '    for x in ast.walk(tree):',
    '        if isinstance(x, ast.Call) and isinstance(x.func, ast.Attribute) and x.func.attr == c["loop"]:',
    '            r = x.func.value',
    '            con = r if isinstance(r, ast.Call) and isinstance(r.func, ast.Name) and r.func.id == cls else made.get(r.id) if isinstance(r, ast.Name) else None',
    '            if con is None: continue',
    '            given = x.args[0] if x.args else next((w.value for w in x.keywords if w.arg == c["param"]), None)',
    '            con.keywords.append(ast.keyword(arg=c["keyword"], value=given if given is not None else ast.parse(c["value"], mode="eval").body))',
    '            x.func.attr, x.args, x.keywords = c["runForever"], [], []',
    'trees = []',
    'for f in data["files"]:',
    '    try:',
    '        compile(f["text"], f["rel"], "exec")',
    '        trees.append(ast.parse(f["text"], f["rel"]))',
    '    except SyntaxError as e:',
    '        print("%s:%s: %s" % (f["rel"], e.lineno, e.msg)); sys.exit(0)',
    'base = top(trees[0])',
    'if data["cls"] not in base: print("%s: %s is not defined in it" % (data["files"][0]["rel"], data["cls"])); sys.exit(0)',
    // Each unit module's _v2 (the base's, a middle class's) and the names it defines.
    'defs = {m: (data["files"][k]["rel"], top(trees[k])) for m, k in data["mods"].items()}',
    'for f, tree in zip(data["files"][1:], trees[1:]):',
    // The member's _v2 is its legacy file but for the module of the imports of the base (or a middle class): nothing else changed.
    '    legacy = ast.parse(f["legacy_text"], f["legacy"])',
    '    for n in ast.walk(legacy):',
    '        if isinstance(n, ast.ImportFrom) and n.module and n.module.split(".")[-1] in defs: n.module += "_v2"',
    '    if cycle and f.get("cls"): handed(legacy, f["cls"], cycle)',
    '    if cycle and f.get("middle"): handed(legacy, f["middle"], dict(cycle, method=None, loop=None))',
    '    if ast.dump(legacy) != ast.dump(tree): print("%s: differs from %s by more than the import of %s%s" % (f["rel"], f["legacy"], data["cls"], " and handing %s() to %s()" % (cycle["method"], cycle["hook"]) if cycle and (f.get("cls") or f.get("middle")) else "")); sys.exit(0)',
    '    for n in ast.walk(tree):',
    '        if isinstance(n, ast.ImportFrom) and n.module and n.module.endswith("_v2") and n.module.split(".")[-1][:-3] in defs:',
    '            rel, names = defs[n.module.split(".")[-1][:-3]]',
    '            for a in n.names:',
    '                if a.name != "*" and a.name not in names:',
    '                    print("%s:%s: imports %s from %s, which does not define it" % (f["rel"], n.lineno, a.name, rel)); sys.exit(0)',
    'print("")',
  ].join('\n');
  // Module name -> the index of its _v2 in files: the base's first, each middle class's after the agents'.
  const mods = Object.fromEntries(unitModules(unit).map((rel, k) => [path.posix.basename(rel).replace(/\.py$/, ''), k === 0 ? 0 : unit.members.length + k]));
  // -S: the check imports ast, json and sys only; the site module's .pth files were half of its start.
  // The interpreter a first python3 of this process reported, not a version manager's shim again (python3.ts).
  const r = spawnSync(python3Command(), ['-S', '-c', script], { cwd: root, input: JSON.stringify({ files: files.map((f, k) => ({ ...f, legacy_text: readFileSync(path.join(root, f.legacy), 'utf8'), cls: k >= 1 && k <= unit.members.length ? unit.members[k - 1]!.class : null, middle: k > unit.members.length ? unit.middles![k - 1 - unit.members.length]!.class : null })), cls: unit.base.class, mods, cycle: unit.cycle ?? null }), encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) return `python3 could not check the unit: ${r.error ? oneLine(r.error) : oneLine(r.stderr || `exit ${r.status}`)}`;
  return r.stdout.trim() || null;
}

/** A symlink (even a dangling one, which existsSync does not see) at `abs`. */
function isLink(abs: string): boolean {
  try {
    return lstatSync(abs).isSymbolicLink();
  } catch {
    return false;
  }
}
