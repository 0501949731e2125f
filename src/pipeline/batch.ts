// The batch: every selected agent goes rewrite → verify → write → validate → record.
// Rewrites run across cores, verification is one compiler process per language,
// validations run up to --concurrency at once, and commits happen one at a time in a
// stable order. A failed agent never stops the others and leaves nothing behind.
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { AgentInfo, BaseUnit, KeptForReview, RewriteOutcome, RunResult, RunStatus, ValidationReport } from '../core/types.js';
import { middlePath, oneLine, oneLineAbout, UsageError } from '../core/errors.js';
import { profileFor, type Profile } from '../profile/profile.js';
import { scanRepository } from '../discover/scan.js';
import { selectAgents } from '../discover/resolve.js';
import { adapterFor } from '../lang/registry.js';
import { decodePythonSource } from '../lang/python/parser.js';
import { rewriteAll, type RewriteJob } from './rewrite-pool.js';
import { ParseStore } from './parse-store.js';
import type { OutputPrecheck, VerifyRequest } from './language.js';
import { shardOf } from './shard.js';
import { unitOutputs, unitSources } from '../discover/base-units.js';
import { tempPathOf, writeOutputAtomic } from './write-output.js';
// The validation stage (agent runner, checks, and execa with them: ~0.4 s of CPU to load) is
// imported when a run validates, not at every start of `run`.
import { runRecordStage, prepareRecordStage } from './record-stage.js';
import { RunJournal } from './journal.js';
import { StageClock } from './stage-clock.js';
import { recordPath, sha256 } from '../record/migration-log.js';
import { handWrittenRecordCheck } from '../record/hand-written-record.js';
import { committedOutputDiffers } from '../record/committed-output.js';
import { isTracked } from '../record/work-tree.js';
import { showPrefix } from '../record/git.js';
import { gitDirOf } from '../record/repo-facts.js';
import { resolveEndpoints, type ValidationEnvironment } from '../validate/environment.js';
import { readLaunchTemplate } from '../validate/launch.js';
import type { RunPreview } from '../record/run-results.js';
import { io } from '../core/invocation.js';
import { importedAmong } from '../lang/typescript/paths.js';

export interface BatchOptions {
  root: string;
  profile: Profile;
  agents: string[];
  all: boolean;
  dryRun: boolean;
  validate: boolean;
  commit: boolean;
  force: boolean;
  allowDirty: boolean;
  concurrency: number;
  shard?: string;
  transforms?: string[];
  runInBand: boolean;
  /** Worker threads for scan and rewrite (-j); 1 is in band. */
  jobs?: number;
  registryUrl?: string;
  metricsUrl?: string;
  /** .gitignore-style patterns the scan leaves out (--ignore), besides the config's. */
  ignore?: string[];
  /**
   * Which agents' texts (original and output) the outcome's previews carry: 'all' (a patch of
   * the run is wanted), or 'unwritten' — only agents whose output is not on disk at the end (what
   * `review` and `report` cannot read back), so a large fleet's texts are let go as agents finish.
   */
  previews?: 'all' | 'unwritten';
  /** Told when a stage starts, when an agent gets through a stage, and when an agent's outcome is final. */
  onProgress?: (event: BatchProgress) => void;
  signal?: AbortSignal;
}

export type BatchStage = 'rewrite' | 'verify' | 'write' | 'validate' | 'commit';

export interface BatchProgress {
  stage: BatchStage;
  /** Agents past the current stage: through it, or settled before it (every stage ends at total). */
  past: number;
  total: number;
  /** Agents whose outcome is final. */
  done: number;
  failures: number;
  /** Set when this event makes one agent's outcome final. */
  finished?: RunResult;
  /** Set when an agent got through the validation stage (its outcome may still change at commit). */
  validated?: RunResult;
}

export interface BatchOutcome {
  results: RunResult[];
  summary: Partial<Record<RunStatus, number>>;
  /** Unified diffs, for --dry-run. */
  diffs: string[];
  /** Each rewritten agent's original and output text (reviewers' patches, failed agents' diffs). */
  previews: RunPreview[];
  ms: number;
  /** Wall time per stage (scan, rewrite, verify, write, validate, commit), in ms. */
  timings: Record<string, number>;
  interrupted: boolean;
  /** What the end of the run could not clean up (a full disk): said on stderr, exit 1. */
  cleanupErrors?: string[];
  /** The base migration units of the run's scope (each refused, with why): see BaseUnit. */
  units?: BaseUnit[];
}

interface Item {
  agent: AgentInfo;
  abs: string;
  outAbs: string;
  /** The kept item that keeps the output from starting on the base: never written, validated or committed. */
  unstartable?: KeptForReview & { because?: string };
  sourceBytes?: Buffer;
  /** sha256 of the legacy file as read, and of the _v2 as written: a commit holds exactly what was validated. */
  sourceSha?: string;
  outSha?: string;
  /** The same two as they were when the agent's validation ended (its processes stopped): who changed a file is told by when. */
  atValidationEnd?: { out: string | null; source: string | null };
  source?: string;
  output?: string;
  /** The rewrite's own idempotency verdict on `output` (see RewriteOutcome.idempotency). */
  idempotency?: { output: string; error: string | null };
  /** The output encoded as it is written. */
  bytes?: Buffer;
  /** The language's precheck of `output` as `bytes`, started when the rewrite came back. */
  precheck?: Promise<string | null>;
  result: RunResult;
  /** Its `_v2` is (or may be, mid-write) on disk from this run. */
  written: boolean;
  /** An identical, uncommitted `_v2` left by an earlier --no-commit run: validated again, never deleted. */
  leftover?: boolean;
  /** The write replaced an existing file (--force): the journal holds a backup. */
  replaced?: boolean;
  /** Verified and written as its rewrite came back (see streamOutput), not in the verify and write stages. */
  streamed?: boolean;
}

export async function runBatch(opts: BatchOptions): Promise<BatchOutcome> {
  const started = Date.now();
  const root = path.resolve(opts.root);
  const writing = !opts.dryRun;
  const recording = opts.commit && writing;
  const validating = opts.validate && writing;
  // Every option is checked before anything is written or started: a malformed URL or
  // launch template is a usage error of the whole run, not a leftover _v2 per agent.
  const endpoints = validating ? resolveEndpoints({ registryUrl: opts.registryUrl, metricsUrl: opts.metricsUrl }) : {};
  if (recording) await showPrefix(root); // "not inside a git work tree", before any journal
  const clock = new StageClock();
  clock.begin('scan');
  // The scan parses every file anyway: the rewrites take its parses instead of parsing again.
  const parses = new ParseStore();
  // Ctrl-C during the scan stops it at its next file (InterruptedError: nothing was written yet).
  const scan = await scanRepository(root, opts.profile, { ignore: opts.ignore, inBand: opts.runInBand, jobs: opts.jobs, parses, signal: opts.signal });
  clock.end();
  let selected: AgentInfo[];
  const unreadable: RunResult[] = [];
  // A unit no subclass blocks, named by its base, one of its agents or their files, is migrated as a
  // unit; a refused one is a usage error naming its blockers (selectAgents, as before).
  const namedUnits = new Set<BaseUnit>();
  const names = opts.agents.filter((a) => {
    const u = (scan.units ?? []).find((x) => x.status === 'ready' && unitNamed(x, a));
    if (u) namedUnits.add(u);
    return !u;
  });
  if (opts.agents.length) {
    selected = names.length ? selectAgents(scan, root, names) : [];
  } else if (opts.all) {
    selected = scan.agents;
    for (const s of scan.skipped.filter((s) => s.error)) {
      unreadable.push(result({ name: path.basename(s.file), file: s.file } as AgentInfo, 'failed', { error: s.reason }));
    }
  } else {
    throw new UsageError('name the agents to migrate, or pass --all');
  }
  if (opts.shard) {
    selected = shardOf(selected, (a) => a.file, opts.shard);
    // A refused file belongs to one shard too, or every shard of a CI matrix would fail on it.
    unreadable.splice(0, unreadable.length, ...shardOf(unreadable, (r) => r.file, opts.shard));
  }
  selected = [...new Map(selected.map((a) => [a.file, a])).values()].sort((a, b) => a.file.localeCompare(b.file));
  // --all reports the base migration units it leaves (their files are skipped, not results).
  const allUnits = opts.all && !opts.agents.length ? scan.units ?? [] : [...namedUnits];
  let units = opts.shard ? shardOf(allUnits, (u) => u.base.file, opts.shard) : allUnits;
  const withUnits = (o: BatchOutcome): BatchOutcome => (units.length ? { ...o, units } : o);
  // A unit is migrated only with every step: written, verified, each agent validated, committed; with
  // --no-commit it is written, verified and validated, and left for `migrate commit` / `migrate review`
  // to commit as one (as agents are).
  const migratingUnits = validating;
  if (!migratingUnits) {
    const why = `not migrated by this run: a unit is migrated only together with each agent's runtime validation (run without ${opts.dryRun ? '--dry-run' : '--no-validate'})`;
    units = units.map((u) => (u.status === 'ready' ? { ...u, reason: `${u.reason}; ${why}` } : u));
  }
  const unitsToRun = migratingUnits ? units.filter((u) => u.status === 'ready') : [];
  // A unit's files are the unit's to write: its base, when its own module also runs it as an agent, is not
  // migrated alone besides (its _v2 would stand in the unit's way), as `migrate run <base>` migrates the unit.
  if (unitsToRun.length) {
    const unitFiles = new Set(unitsToRun.flatMap(unitSources));
    selected = selected.filter((a) => !unitFiles.has(a.file));
  }
  if (validating) for (const language of new Set(selected.map((a) => a.language))) readLaunchTemplate(root, language);

  const items: Item[] = selected.map((agent) => {
    const abs = path.join(root, agent.file);
    const outAbs = adapterFor(agent.language).outputPath(abs);
    return { agent, abs, outAbs, result: result(agent, 'unchanged', { output: rel(root, outAbs) }), written: false };
  });
  // Progress: every stage counts from the agents already past it up to all of them, one
  // agent at a time; unreadable files are settled (failed) before the first stage.
  const total = items.length + unreadable.length;
  let done = 0;
  let stage: BatchStage = 'rewrite';
  let past = 0;
  const failures = () => items.filter((i) => i.result.status === 'failed').length + unreadable.length;
  const emit = (extra: Partial<BatchProgress> = {}) => opts.onProgress?.({ stage, past, total, done, failures: failures(), ...extra });
  const beginStage = (name: BatchStage, entering: number) => {
    clock.begin(name);
    stage = name;
    past = total - entering;
    emit();
  };
  /** One agent got through the current stage and goes on. */
  const step = (extra: Partial<BatchProgress> = {}) => {
    past++;
    emit(extra);
  };
  /** One agent's outcome is final (it also got through, or out of, the current stage unless already past it). */
  const finish = (i: Item | RunResult, alreadyPast = false) => {
    done++;
    if (!alreadyPast) past++;
    emit({ finished: 'result' in i ? i.result : i });
    if ('result' in i) releaseTexts(i);
  };
  /** A finished agent whose output is on disk to stay needs no preview: its texts go now (memory flat in fleet size). */
  const releaseTexts = (i: Item) => {
    if (opts.previews !== 'unwritten' || opts.dryRun || !i.written || aborted()) return;
    if (i.result.status !== 'migrated' && i.result.status !== 'needs-review') return;
    if (recording && !i.result.commit) return;
    i.source = undefined;
    i.output = undefined;
    i.idempotency = undefined;
  };
  const aborted = () => opts.signal?.aborted ?? false;

  // A name no record can carry fails that agent alone, never the batch (settled when the first stage begins).
  const recordOf = new Map<Item, string>();
  const unrecordable: Item[] = [];
  for (const i of items) {
    try {
      recordOf.set(i, recordPath(i.agent.name));
    } catch (err) {
      if (!recording) continue;
      i.result = result(i.agent, 'failed', { error: `${i.agent.file}:${i.agent.line}: ${oneLine(err)}` });
      i.output = undefined;
      unrecordable.push(i);
    }
  }

  // Recover from a killed run, then refuse a dirty tree before anything is written.
  const journal = writing ? await RunJournal.open(root, 'run') : null;
  let env: ValidationEnvironment | undefined;
  const prechecks = new Map<string, OutputPrecheck>();
  const cleanupErrors: string[] = [];
  let outcome: BatchOutcome | undefined;
  // The branch HEAD named once the run could write (undefined: a run that commits nothing).
  let branch: string | null | undefined;
  try {
    if (recording) {
      const recordable = items.filter((i) => recordOf.has(i));
      branch = await prepareRecordStage(
        root,
        [...recordable.map((i) => i.outAbs), ...unitsToRun.flatMap((u) => unitOutputs(u).map((f) => path.join(root, f)))],
        [...recordable.map((i) => recordOf.get(i)!), ...unitsToRun.map((u) => recordPath(u.name))],
        opts,
        (line) => io.stderr.write(`migrate: warning: ${line}\n`),
      );
    }
    outcome = await runStages();
  } finally {
    // Whatever happened (a fault of ours included), nothing half-done stays. Each step runs
    // even when one before it failed: a full disk failing putBack's journal write once
    // skipped closing python3's compile session, and the tool hung on it for good; and the
    // report is still printed, with what could not be cleaned up.
    const attempt = async (step: () => unknown) => {
      try {
        await step();
      } catch (err) {
        cleanupErrors.push(oneLine(err));
      }
    };
    await attempt(putBack);
    await attempt(() => env?.close());
    await attempt(() => Promise.all([...prechecks.values()].map((p) => p.close())));
    await attempt(() => journal?.finish());
    if (!outcome) for (const e of cleanupErrors) io.stderr.write(`migrate: cleanup: ${e}\n`);
  }
  return cleanupErrors.length ? { ...outcome, cleanupErrors } : outcome;

  /**
   * Files of agents that did not make it go back to how they were: committing runs
   * keep only committed files; a --no-commit run keeps its outputs, except that a
   * failed one never replaces what --force overwrote.
   */
  function putBack(): void {
    // Files that stay are settled together: one write of the journal, not one per agent.
    const kept: string[] = [];
    for (const i of items) {
      if (!i.written) continue;
      const failed = i.result.status === 'failed';
      if (recording ? i.result.commit : !failed) {
        kept.push(rel(root, i.outAbs));
        continue;
      }
      if (!recording && !i.replaced) {
        kept.push(rel(root, i.outAbs));
        continue;
      }
      try {
        if (journal) journal.undo(rel(root, i.outAbs));
        else rmSync(i.outAbs, { force: true });
        i.written = false;
        i.result = { ...i.result, output: null };
      } catch (err) {
        i.result = { ...i.result, status: 'failed', error: `${i.result.error ? `${i.result.error}; ` : ''}${oneLine(err)} (the next run puts it back)` };
      }
    }
    if (kept.length) journal?.settled(kept);
  }

  function encodeOutput(i: Item): Buffer {
    const adapter = adapterFor(i.agent.language);
    return adapter.encode ? adapter.encode(i.output!, i.sourceBytes!, rel(root, i.outAbs)) : Buffer.from(i.output!, 'utf8');
  }

  /**
   * The outputs of this run that each output imports: a family's subclass extends its parent's
   * `_v2` (TypeScript, by a relative specifier). Read once the rewrites are back, while the texts are here.
   */
  function outputImports(): Map<Item, Item[]> {
    const byOut = new Map(items.filter((i) => i.agent.language === 'typescript').map((i) => [i.outAbs, i]));
    const deps = new Map<Item, Item[]>();
    for (const i of byOut.values()) {
      if (!pending(i)) continue;
      const found = importedAmong(i.output!, i.outAbs, byOut.keys()).map((f) => byOut.get(f)!);
      if (found.length) deps.set(i, found);
    }
    return deps;
  }

  /**
   * An output stands only with the outputs it imports: checked with its parent's output, a subclass
   * type-checked, but when the parent then failed (its own verify, validation) or was set aside, the
   * parent's `_v2` is never kept, and the subclass's, written and committed, imported a file that
   * is not there ("Cannot find module" at its first start). It fails with the parent, named.
   */
  function failFollowers(deps: Map<Item, Item[]>): void {
    const gone = (d: Item) => d.result.status === 'failed' || d.result.status === 'skipped' || (d.output === undefined && !d.written);
    for (let changed = true; changed; ) {
      changed = false;
      for (const [i, ds] of deps) {
        const d = ds.find(gone);
        if (!d || !pending(i)) continue;
        const why = d.result.error ? oneLine(d.result.error) : `${d.result.status}, no _v2 written`;
        i.result = { ...i.result, status: 'failed', output: null, error: `${i.agent.name}'s output imports ${rel(root, d.outAbs)}, the output of ${d.agent.name} (it follows that class), which this run does not keep: ${d.agent.name} ${why.length > 300 ? `${why.slice(0, 300)}…` : why}; nothing of ${i.agent.name} is kept: run both again once ${d.agent.name} migrates` };
        if (!i.written) i.output = undefined;
        finish(i, i.streamed);
        changed = true;
      }
    }
  }

  function verifyRequest(i: Item): VerifyRequest {
    return {
      root,
      outputFile: i.outAbs,
      output: i.output!,
      source: i.source,
      bytes: i.bytes,
      agent: i.agent,
      profile: profileFor(opts.profile, i.agent.language, i.agent.file),
      // A user transform may have changed the output since: then verify checks it again.
      idempotency: i.idempotency && i.idempotency.output === i.output ? i.idempotency.error : undefined,
      review: i.result.kept_for_review,
    };
  }

  /** The final outcome of an item in a stage: a streamed one (see streamOutput) is past every stage already. */
  function settleFinal(i: Item): void {
    finish(i, i.streamed);
  }

  /**
   * An output that cannot start on the base (its entry point still runs a kept legacy loop) would only
   * fail validation: the agent ends needs-review, naming that item, and nothing of it is written.
   */
  function setAsideOne(i: Item): void {
    const u = i.unstartable!;
    i.result = {
      ...i.result,
      status: 'needs-review',
      output: null,
      warnings: [...i.result.warnings, `no _v2 written: ${u.symbol} (line ${u.line}) is kept for review ${u.because ?? 'and the entry point never starts the base with it'}, so the output could only fail validation; \`migrate run --dry-run ${i.agent.name}\` shows the rewrite so far`],
    };
    i.output = undefined;
    settleFinal(i);
  }

  /**
   * Write outputs (atomic; an existing different _v2 needs --force, and is kept aside until the
   * new one is final). The group's outputs and their temporary names are in the journal before
   * the first is created: one journal write per group, not per file (quadratic in the fleet).
   */
  function writeOutputs(group: Item[]): void {
    const toWrite: Item[] = [];
    for (const i of group) {
      if (aborted()) break;
      const outRel = rel(root, i.outAbs);
      // Before the _v2 is written and validated: the commit would refuse (or, --force, replace) it.
      const hand = recording ? handWrittenRecordCheck(root, i.agent.name, opts.force, 'pass --force to overwrite it') : {};
      if (hand.error) {
        i.result = { ...i.result, status: 'failed', output: null, error: hand.error };
        settleFinal(i);
        continue;
      }
      if (hand.warning) i.result = { ...i.result, warnings: [...i.result.warnings, hand.warning] };
      const kind = pathKind(i.outAbs);
      if (kind && kind !== 'file') {
        // A directory, FIFO, socket or symlink at the _v2 path is the user's, never ours to
        // read (a FIFO would block) or to replace, even with --force: that agent fails alone.
        i.result = { ...i.result, status: 'failed', output: null, error: `${outRel} already exists and is ${kind}, not a file; move it away to migrate ${i.agent.name}` };
        settleFinal(i);
        continue;
      }
      if (kind) {
        if (readFileSync(i.outAbs).equals(i.bytes!)) {
          // A committing run refused an uncommitted _v2 up front, so this one is committed.
          // Otherwise it may be a leftover of a --no-commit run whose validation failed:
          // when this run validates, validate it again rather than call it unchanged.
          if (recording || !opts.validate || isTracked(root, i.outAbs)) {
            i.result = { ...i.result, status: 'unchanged' };
            settleFinal(i);
          } else {
            i.leftover = true;
            step();
          }
          continue;
        }
        if (!opts.force) {
          // A committed migration's _v2: say what changed since and the ways on, not just --force.
          const committed = recording ? committedOutputDiffers(root, i.agent.name, { source: rel(root, i.abs), output: outRel, outAbs: i.outAbs, sourceSha: i.sourceSha ?? sha256(readFileSync(i.abs)) }) : null;
          i.result = { ...i.result, status: 'failed', output: null, error: committed ?? `${outRel} already exists and differs; pass --force to overwrite it` };
          settleFinal(i);
          continue;
        }
        i.replaced = true;
      }
      toWrite.push(i);
    }
    journal?.willCreateAll(toWrite.flatMap((i) => [rel(root, i.outAbs), rel(root, tempPathOf(i.outAbs))]));
    for (const i of toWrite) {
      try {
        i.written = true;
        i.outSha = sha256(i.bytes!);
        writeOutputAtomic(i.outAbs, i.bytes!);
        // A streamed output of a run that neither validates nor commits is final once on disk.
        if (!i.streamed) step();
        else if (!recording) finish(i, true);
      } catch (err) {
        i.result = { ...i.result, status: 'failed', output: null, error: `${middlePath(rel(root, i.outAbs))}: cannot write: ${oneLineAbout(err, [i.outAbs, tempPathOf(i.outAbs)])}` };
        settleFinal(i);
      }
    }
    journal?.settled(toWrite.map((i) => rel(root, tempPathOf(i.outAbs))));
    for (const i of group) i.bytes = undefined;
  }

  async function runStages(): Promise<BatchOutcome> {
    // 1. rewrite
    beginStage('rewrite', total);
    for (const u of unreadable) finish(u);
    for (const i of unrecordable) finish(i);
    const jobs: Array<{ item: Item; job: RewriteJob }> = [];
    const snapshot = randomUUID();
    for (const item of items.filter((i) => i.result.status !== 'failed')) {
      if (item.agent.status === 'migrated') {
        item.result = result(item.agent, 'unchanged', { output: null });
        finish(item);
        continue;
      }
      // Its file is read when its rewrite starts (readInput): a fleet's texts read all at once before
      // the first rewrite were a third of the peak at 10,000 agents.
      jobs.push({ item, job: { root, file: item.abs, source: '', agent: item.agent, snapshot } });
    }
    // Parses of files not selected (or not agents) are let go of now.
    parses.retainOnly(new Set(jobs.map((j) => j.item.abs)));
    /** Job k's input, read as its rewrite starts; false when it cannot be read or decoded (the agent fails alone). */
    const readInput = (k: number): boolean => {
      const { item, job } = jobs[k]!;
      try {
        const bytes = readFileSync(item.abs);
        item.sourceSha = sha256(bytes);
        item.source = item.agent.language === 'python' ? decodePythonSource(bytes, item.agent.file) : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        // Only a language that writes its output in its source's encoding needs the bytes again (see
        // encodeOutput): TypeScript's changed agents held theirs until verify, past the last rewrite.
        if (adapterFor(item.agent.language).encode) item.sourceBytes = bytes;
        const kept = parses.take(item.abs, item.source);
        Object.assign(job, { source: item.source, parsed: kept?.data, native: kept?.native });
        return true;
      } catch (err) {
        // Renamed or deleted since the scan (a checkout, an editor's rename beside the run): said as such,
        // not as Node's "ENOENT: no such file or directory, open '/abs/...'".
        const gone = (err as NodeJS.ErrnoException).code === 'ENOENT';
        const error = gone ? `${item.agent.file} was moved or deleted after the scan found ${item.agent.name} in it, before its rewrite: nothing written; run again to migrate it where it is now` : oneLine(err);
        item.result = result(item.agent, 'failed', { error });
        settled.add(k);
        finish(item);
        return false;
      }
    };
    // Memory flat in fleet size: an output prechecked as it came back (Python's compile) is verified
    // and written then, and its texts go, instead of every agent's texts waiting for the last rewrite.
    // Not when the run validates: its environment is prepared before the first write, after the rewrites.
    const streaming = writing && !validating;
    const toWriteNext: Item[] = [];
    const streams = new Set<Promise<void>>();
    let streamError: { err: unknown } | undefined;
    const streamOutput = (item: Item) => {
      item.streamed = true;
      const p = verifyAndQueue(item).catch((err: unknown) => void (streamError ??= { err })).finally(() => streams.delete(p));
      streams.add(p);
    };
    const verifyAndQueue = async (item: Item) => {
      // A rewrite that refused its own output: verify would only report what the refusal already names.
      if (item.unstartable?.because !== undefined) return setAsideOne(item);
      const [error] = await adapterFor(item.agent.language).verify([{ ...verifyRequest(item), precheck: item.precheck }]);
      // Interrupted: as in the stages, what was not verified yet is not written.
      if (aborted()) return item.unstartable ? setAsideOne(item) : undefined;
      // A stream failed (the journal could not be saved): the run fails with it, and writes nothing more.
      if (streamError) return;
      if (error) {
        item.result = { ...item.result, status: 'failed', output: null, error: `verify: ${error}` };
        return settleFinal(item);
      }
      if (item.unstartable) return setAsideOne(item);
      toWriteNext.push(item);
      if (toWriteNext.length >= writeGroup) writeOutputs(toWriteNext.splice(0));
    };
    // Streamed outputs are written in groups, one journal write each (a write per file rewrites the
    // growing journal every time: quadratic): a small run's each at once, a large one's 50 at a time.
    const writeGroup = Math.min(50, Math.ceil(jobs.length / 20));
    const settled = new Set<number>();
    const settle = (k: number, o: RewriteOutcome) => {
      settled.add(k);
      const { item, job } = jobs[k]!;
      // The file's rewrite is done: its kept parse goes, and its source stays with the item alone (memory flat in fleet size).
      delete job.parsed;
      delete job.native;
      job.source = '';
      const base = { removed: o.removed, kept_for_review: o.kept_for_review, warnings: o.warnings };
      // The source's bytes serve only to encode the output like them: an agent with no output
      // lets them go now, and startPrecheck once it has encoded and prechecked its output.
      if (o.status !== 'changed') item.sourceBytes = undefined;
      if (o.status === 'failed' || o.status === 'skipped') {
        item.result = result(item.agent, o.status, { ...base, error: o.error ?? 'rewrite failed' });
        finish(item);
      } else if (o.status === 'unchanged') {
        item.result = result(item.agent, 'unchanged', { ...base, output: null });
        finish(item);
      } else {
        item.output = o.output!;
        if (o.idempotency !== undefined) item.idempotency = { output: o.output!, error: o.idempotency };
        item.result = result(item.agent, o.kept_for_review.length || o.unstartable ? 'needs-review' : 'migrated', { ...base, output: rel(root, item.outAbs) });
        item.unstartable = o.unstartable;
        startPrecheck(item);
        step();
        if (streaming && item.precheck) streamOutput(item);
      }
    };
    /** An output no user transform will change is encoded and prechecked now, while the other rewrites go on. */
    const startPrecheck = (item: Item) => {
      const adapter = adapterFor(item.agent.language);
      if (opts.transforms?.length || !adapter.precheck || item.idempotency?.error) return;
      try {
        item.bytes = encodeOutput(item);
      } catch {
        return; // the encoding loop below fails it, with its message
      }
      let precheck = prechecks.get(adapter.language);
      if (!precheck) prechecks.set(adapter.language, (precheck = adapter.precheck()));
      item.precheck = precheck.check(verifyRequest(item));
      // Encoded and prechecked: the encoding loop below skips it, so its source's bytes can go.
      item.sourceBytes = undefined;
    };
    // Each outcome is settled as it arrives, so the bar moves with the workers.
    const outcomes = await rewriteAll(
      jobs.map((j) => j.job),
      opts.profile,
      { inBand: opts.runInBand, jobs: opts.jobs, onDone: settle, prepare: readInput, signal: opts.signal },
    );
    parses.clear();
    // Jobs an interruption kept from the workers come back failed, without a settle call.
    outcomes.forEach((o, k) => settled.has(k) || settle(k, o));
    while (streams.size) await Promise.all(streams);
    if (streamError) throw streamError.err;
    if (toWriteNext.length) writeOutputs(toWriteNext.splice(0));
    if (opts.transforms?.length && !aborted()) {
      const { applyUserTransformsStage } = await import('./user-transform-stage.js');
      const before = items.filter(pending);
      await applyUserTransformsStage(root, opts.transforms, before);
      // A transform that threw failed its agent: final now (it already counted as past the rewrite).
      for (const i of before) if (!pending(i)) finish(i, true);
    }
    // The bytes to write: the output in its source's own encoding.
    for (const i of items.filter(staged)) {
      if (i.bytes && i.precheck) continue;
      try {
        i.bytes = encodeOutput(i);
      } catch (err) {
        i.result = { ...i.result, status: 'failed', output: null, error: `verify: ${oneLine(err)}` };
        finish(i, true);
      }
    }
    // Memory stays flat in fleet size: what no later stage reads is let go at once.
    for (const i of items) i.sourceBytes = undefined;

    // An output that cannot start on the base (its entry point still runs a kept legacy loop) would only
    // fail validation: the agent ends needs-review, naming that item, and nothing of it is written
    // (a --dry-run still shows its diff, the rewrite so far).
    const setAside = (only: (u: NonNullable<Item['unstartable']>) => boolean) => {
      if (opts.dryRun) return;
      for (const i of items.filter((x) => staged(x) && x.unstartable && only(x.unstartable))) setAsideOne(i);
    };
    // A rewrite that refused its own output (because: a kept publisher that would hide refused events)
    // left it half-wired on purpose: verify would only report what the refusal already names.
    setAside((u) => u.because !== undefined);

    const follows = outputImports();
    failFollowers(follows);

    // 2. verify, one batch per language
    beginStage('verify', items.filter(staged).length);
    for (const language of ['python', 'typescript'] as const) {
      if (aborted()) break;
      const batch = items.filter((i) => staged(i) && i.agent.language === language);
      if (!batch.length) continue;
      const errors = await adapterFor(language).verify(batch.map((i) => ({ ...verifyRequest(i), precheck: i.precheck })));
      batch.forEach((i, k) => {
        if (errors[k]) {
          i.result = { ...i.result, status: 'failed', output: null, error: `verify: ${errors[k]}` };
          finish(i);
        } else step();
      });
    }

    setAside(() => true);
    failFollowers(follows);

    const diffs: string[] = [];
    if (opts.dryRun) {
      beginStage('write', items.filter(pending).length);
      for (const i of items.filter(pending)) {
        diffs.push(createTwoFilesPatch(i.agent.file, rel(root, i.outAbs), i.source!, i.output!));
        finish(i);
      }
      return withUnits(summarise(items, unreadable, diffs, started, false, root, clock));
    }

    // The validation environment before the first write: a registry that is down or a
    // wrong password stops the run here, with nothing written.
    if (validating && !aborted() && items.some(pending)) {
      env = await (await import('./validate-stage.js')).prepareValidationEnvironment(endpoints);
    }

    // 3. write (atomic; an existing different _v2 needs --force, and is kept aside until the new one is final)
    beginStage('write', items.filter(staged).length);
    writeOutputs(items.filter(staged));
    for (const i of items) i.bytes = undefined;

    // 4. validate
    if (validating && !aborted()) {
      const toValidate = items.filter((i) => pending(i) && (i.written || i.leftover));
      beginStage('validate', toValidate.length);
      // Each report is settled as it arrives: a failure is final at once; a pass is final
      // now unless a commit follows.
      const settle = (k: number, report: ValidationReport) => {
        const i = toValidate[k]!;
        i.result = { ...i.result, validation: report };
        i.atValidationEnd = { out: fileSha(i.outAbs), source: fileSha(i.abs) };
        if (!report.ok) {
          const failed = report.checks.find((c) => !c.ok && !c.skipped);
          // Not run here: nothing proven either way, so neither failed nor committed; the _v2 stays for `migrate validate` where the module is.
          const status = report.not_run ? 'not-validated' : 'failed';
          i.result = { ...i.result, status, error: report.error ?? `validation: ${failed ? `${failed.name}: ${failed.detail}` : 'failed'}${failed ? keptContext(i.result.kept_for_review, failed.name) : ''}` };
        }
        if (!report.ok || !recording) finish(i);
        else step({ validated: i.result });
      };
      await (await import('./validate-stage.js')).runValidationStage(root, toValidate.map((i) => ({ agent: i.agent, file: i.outAbs, legacyFile: i.abs })), { ...opts, onDone: settle }, env);
    }

    // A parent whose validation failed takes its followers with it (its _v2 goes back; a --no-commit
    // run keeps both for review, and their outcomes were final as each validation ended).
    if (validating && recording) failFollowers(follows);

    // 5. record and commit, one at a time in file order
    if (recording) {
      beginStage('commit', items.filter((x) => x.written && pending(x)).length);
      for (const i of items.filter((x) => x.written && pending(x))) {
        if (aborted()) break;
        // The agent under validation (or anything else) may have written to its own _v2 or
        // to the original: what would be committed is then not what was verified and run.
        const drift = changedSinceWritten(root, i);
        if (drift) {
          const kept = keepChangedOutput(root, i);
          i.result = { ...i.result, status: 'failed', error: kept ? `${drift}; the changed ${rel(root, i.outAbs)} is kept in ${kept}` : drift };
          finish(i);
          continue;
        }
        try {
          i.result = { ...i.result, commit: await runRecordStage(root, i, { ...opts, branch }, journal) };
        } catch (err) {
          i.result = { ...i.result, status: 'failed', error: `commit: ${oneLine(err)}` };
        }
        finish(i);
      }
    } else {
      // A streamed output on disk was final when written.
      for (const i of items.filter((x) => pending(x) && !(x.streamed && x.written) && !(opts.validate && x.result.validation))) finish(i, true);
    }

    // 6. base migration units, one at a time, each as one change (src/pipeline/unit-run.ts)
    if (unitsToRun.length && !aborted()) {
      const { migrateUnit } = await import('./unit-run.js');
      const envOf = async () => (env ??= await (await import('./validate-stage.js')).prepareValidationEnvironment(endpoints));
      const done = new Map<BaseUnit, BaseUnit>();
      for (const u of unitsToRun) {
        if (aborted()) break;
        done.set(u, await migrateUnit(root, u, { ...opts, commit: recording, branch }, journal, envOf));
      }
      units = units.map((u) => done.get(u) ?? u);
    }

    const interrupted = aborted();
    const reached = new Map(items.map((i) => [i, i.written]));
    putBack();
    for (const i of items) {
      if (interrupted && pending(i) && !(recording ? i.result.commit : i.written || i.leftover)) {
        const before = reached.get(i) ? (recording ? 'commit' : 'validation') : 'write';
        i.result = { ...i.result, status: 'failed', output: null, error: i.result.error ?? `interrupted before ${before}` };
      }
      // An output is reported only when it is on disk.
      if (i.result.output && !existsSync(path.join(root, i.result.output))) i.result = { ...i.result, output: null };
    }
    return withUnits(summarise(items, unreadable, diffs, started, interrupted, root, clock));
  }
}

/** The unit `name` means: its base's class, one of its agents' classes, or one of their files. */
function unitNamed(u: BaseUnit, name: string): boolean {
  return u.name === name || u.base.file === name || u.members.some((m) => m.class === name || m.file === name);
}

/** Still on its way through the stages (not failed, skipped or settled as unchanged). */
function pending(i: Item): boolean {
  return (i.result.status === 'migrated' || i.result.status === 'needs-review') && i.output !== undefined;
}

/** Pending and left to the verify and write stages (not streamed through them as its rewrite came back). */
function staged(i: Item): boolean {
  return pending(i) && !i.streamed;
}

function summarise(items: Item[], unreadable: RunResult[], diffs: string[], started: number, interrupted: boolean, root: string, clock: StageClock): BatchOutcome {
  clock.end();
  const results = [...items.map((i) => i.result), ...unreadable];
  const summary: Partial<Record<RunStatus, number>> = {};
  for (const r of results) summary[r.status] = (summary[r.status] ?? 0) + 1;
  const previews = items
    .filter((i) => i.source !== undefined && i.output !== undefined)
    .map((i) => ({ agent: i.agent.name, outputFile: rel(root, i.outAbs), source: i.source!, text: i.output! }));
  return { results, summary, diffs, previews, ms: Date.now() - started, timings: clock.ms, interrupted };
}

function result(agent: AgentInfo, status: RunStatus, extra: Partial<RunResult>): RunResult {
  return {
    agent: agent.name,
    file: agent.file,
    output: null,
    status,
    removed: [],
    kept_for_review: [],
    warnings: [],
    validation: null,
    commit: null,
    error: null,
    ...extra,
  };
}

function rel(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}

/** What is at `abs` without following a symlink: 'file', a description of anything else, or null when nothing is. */
function pathKind(abs: string): string | null {
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return null;
  }
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'a device';
}

/** sha256 of a file's bytes, or null when it cannot be read. */
function fileSha(abs: string): string | null {
  try {
    return sha256(readFileSync(abs));
  } catch {
    return null;
  }
}

/**
 * Why the agent's files are no longer those this run read and wrote, or null when they are.
 * Said by when it happened: while the agent ran (the agent, or anyone else meanwhile), or
 * while no agent of it ran (after its validation, or with none): then not the agent. Before,
 * every change was put on the agent's validation, even a user's edit under --no-validate.
 */
function changedSinceWritten(root: string, i: Item): string | null {
  const at = i.atValidationEnd;
  const changes: Array<{ what: string; during: boolean }> = [];
  const check = (sha: string | undefined, abs: string, before: string | null | undefined, what: string, verb: string) => {
    const now = sha ? fileSha(abs) : sha;
    if (!sha || now === sha) return;
    // A file no longer there was moved or deleted (a rename beside the run), not edited.
    changes.push({ what: `${what} ${now === null ? 'was moved or deleted' : 'changed'} after migrate ${verb} it`, during: before !== undefined && before !== sha });
  };
  check(i.outSha, i.outAbs, at?.out, rel(root, i.outAbs), 'wrote');
  check(i.sourceSha, i.abs, at?.source, `${i.agent.file} (the original)`, 'read');
  if (!changes.length) return null;
  const during = changes.filter((c) => c.during).map((c) => c.what);
  const after = changes.filter((c) => !c.during).map((c) => c.what);
  const said = [
    ...(during.length ? [`${during.join(' and ')}, while the agent was validated (by the agent it ran, or by another program meanwhile)`] : []),
    ...(after.length ? [`${after.join(' and ')}, ${at ? 'after its validation ended' : 'with no validation run'}, so not by the agent (an editor or another program)`] : []),
  ];
  return `${said.join('; ')}: not committed, since that is not what was ${at ? 'verified and run' : 'written and checked'} (git diff shows what changed)`;
}

/**
 * The agent's _v2 as it is now, when it is not what migrate wrote: the failed agent's _v2 is
 * removed next, and the change may be a person's edit (an editor open on it), never to be
 * lost. Copied to <git dir>/migrate/changed-outputs/<time>-<pid>/<path>; null when unchanged or not kept.
 */
function keepChangedOutput(root: string, i: Item): string | null {
  if (!i.outSha || fileSha(i.outAbs) === i.outSha || fileSha(i.outAbs) === null) return null;
  const dir = gitDirOf(root);
  if (!dir) return null;
  const folder = path.join(dir, 'migrate', 'changed-outputs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  try {
    const to = path.join(folder, rel(root, i.outAbs));
    mkdirSync(path.dirname(to), { recursive: true });
    copyFileSync(i.outAbs, to);
    return path.relative(root, folder).split(path.sep).join('/') || folder;
  } catch {
    return null;
  }
}

/**
 * A needs-review agent that fails validation usually fails because of what was kept: its legacy
 * loop still runs instead of the base's (so no /health). Say which item, so nobody hunts for it.
 */
function keptContext(kept: Array<{ symbol: string; line: number; reason: string }>, check: string): string {
  if (!kept.length) return '';
  const loop = kept.find((k) => /\bstarts nothing\b/.test(k.reason));
  const named = loop ?? kept[0]!;
  const more = kept.length > 1 ? ` (and ${kept.length - 1} more kept for review)` : '';
  return loop && check === 'health'
    ? `; expected while ${named.symbol} (line ${named.line}) is kept for review: ${named.reason}${more}`
    : `; ${kept.length} item(s) kept for review, first ${named.symbol} (line ${named.line})`;
}
