// The batch: every selected agent goes rewrite → verify → write → validate → record.
// Rewrites run across cores, verification is one compiler process per language,
// validations run up to --concurrency at once, and commits happen one at a time in a
// stable order. A failed agent never stops the others and leaves nothing behind.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { AgentInfo, RunResult, RunStatus, ValidationReport } from '../core/types.js';
import { oneLine, UsageError } from '../core/errors.js';
import type { Profile } from '../profile/profile.js';
import { scanRepository } from '../discover/scan.js';
import { findAgent } from '../discover/resolve.js';
import { adapterFor } from '../lang/registry.js';
import { decodePythonSource } from '../lang/python/parser.js';
import { rewriteAll, type RewriteJob } from './rewrite-pool.js';
import { shardOf } from './shard.js';
import { writeOutputAtomic } from './write-output.js';
import { runValidationStage } from './validate-stage.js';
import { runRecordStage, prepareRecordStage } from './record-stage.js';
import { RunJournal } from './journal.js';
import { recordPath } from '../record/migration-log.js';
import type { RunPreview } from '../record/run-results.js';

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
  registryUrl?: string;
  metricsUrl?: string;
  onStage?: (done: number, total: number, stage: string, failures: number) => void;
  signal?: AbortSignal;
}

export interface BatchOutcome {
  results: RunResult[];
  summary: Partial<Record<RunStatus, number>>;
  /** Unified diffs, for --dry-run. */
  diffs: string[];
  /** Each rewritten agent's original and output text (reviewers' patches, failed agents' diffs). */
  previews: RunPreview[];
  ms: number;
  interrupted: boolean;
}

interface Item {
  agent: AgentInfo;
  abs: string;
  outAbs: string;
  source?: string;
  output?: string;
  result: RunResult;
  written: boolean;
}

export async function runBatch(opts: BatchOptions): Promise<BatchOutcome> {
  const started = Date.now();
  const root = path.resolve(opts.root);
  const scan = await scanRepository(root, opts.profile);
  let selected: AgentInfo[];
  const unreadable: RunResult[] = [];
  if (opts.agents.length) {
    selected = opts.agents.map((a) => findAgent(scan, root, a));
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

  const items: Item[] = selected.map((agent) => {
    const abs = path.join(root, agent.file);
    const outAbs = adapterFor(agent.language).outputPath(abs);
    return { agent, abs, outAbs, result: result(agent, 'unchanged', { output: rel(root, outAbs) }), written: false };
  });
  const total = items.length;
  let done = 0;
  const failures = () => items.filter((i) => i.result.status === 'failed').length + unreadable.length;
  const progress = (stage: string) => opts.onStage?.(done, total, stage, failures());
  const finish = (i: Item) => {
    done++;
    progress(`${i.agent.name}: ${i.result.status}`);
  };
  const aborted = () => opts.signal?.aborted ?? false;

  // Recover from a killed run, then refuse a dirty tree before anything is written.
  const recording = opts.commit && !opts.dryRun;
  const journal = recording ? RunJournal.open(root) : null;
  try {
    if (recording) await prepareRecordStage(root, items.map((i) => i.outAbs), items.map((i) => recordPath(i.agent.name)), opts);
    return await runStages();
  } finally {
    journal?.close();
  }

  async function runStages(): Promise<BatchOutcome> {
    // 1. rewrite
    progress('rewrite');
    const jobs: Array<{ item: Item; job: RewriteJob }> = [];
    for (const item of items) {
      if (item.agent.status === 'migrated') {
        item.result = result(item.agent, 'unchanged', { output: null });
        finish(item);
        continue;
      }
      try {
        const bytes = readFileSync(item.abs);
        item.source = item.agent.language === 'python' ? decodePythonSource(bytes, item.agent.file) : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        jobs.push({ item, job: { root, file: item.abs, source: item.source, agent: item.agent } });
      } catch (err) {
        item.result = result(item.agent, 'failed', { error: oneLine(err) });
        finish(item);
      }
    }
    const outcomes = await rewriteAll(
      jobs.map((j) => j.job),
      opts.profile,
      { inBand: opts.runInBand },
    );
    for (let k = 0; k < jobs.length; k++) {
      const { item } = jobs[k]!;
      const o = outcomes[k]!;
      const base = { removed: o.removed, kept_for_review: o.kept_for_review, warnings: o.warnings };
      if (o.status === 'failed' || o.status === 'skipped') {
        item.result = result(item.agent, o.status, { ...base, error: o.error ?? 'rewrite failed' });
        finish(item);
      } else if (o.status === 'unchanged') {
        item.result = result(item.agent, 'unchanged', { ...base, output: null });
        finish(item);
      } else {
        item.output = o.output!;
        item.result = result(item.agent, o.kept_for_review.length ? 'needs-review' : 'migrated', { ...base, output: rel(root, item.outAbs) });
      }
    }
    if (opts.transforms?.length) {
      const { applyUserTransformsStage } = await import('./user-transform-stage.js');
      await applyUserTransformsStage(root, opts.transforms, items.filter(pending));
    }

    // 2. verify, one batch per language
    progress('verify');
    for (const language of ['python', 'typescript'] as const) {
      const batch = items.filter((i) => pending(i) && i.agent.language === language);
      if (!batch.length) continue;
      const errors = await adapterFor(language).verify(
        batch.map((i) => ({ root, outputFile: i.outAbs, output: i.output!, agent: i.agent, profile: opts.profile })),
      );
      batch.forEach((i, k) => {
        if (errors[k]) {
          i.result = { ...i.result, status: 'failed', output: null, error: `verify: ${errors[k]}` };
          finish(i);
        }
      });
    }

    const diffs: string[] = [];
    if (opts.dryRun) {
      for (const i of items.filter(pending)) {
        diffs.push(createTwoFilesPatch(i.agent.file, rel(root, i.outAbs), i.source!, i.output!));
        finish(i);
      }
      return summarise(items, unreadable, diffs, started, false, root);
    }

    // 3. write (atomic; an existing different _v2 needs --force)
    progress('write');
    for (const i of items.filter(pending)) {
      if (aborted()) break;
      if (existsSync(i.outAbs)) {
        const current = readFileSync(i.outAbs, 'utf8');
        if (current === i.output) {
          i.result = { ...i.result, status: 'unchanged' };
          finish(i);
          continue;
        }
        if (!opts.force) {
          i.result = { ...i.result, status: 'failed', output: null, error: `${rel(root, i.outAbs)} already exists and differs; pass --force to overwrite it` };
          finish(i);
          continue;
        }
      }
      try {
        journal?.willCreate(rel(root, i.outAbs));
        writeOutputAtomic(i.outAbs, i.output!);
        i.written = true;
      } catch (err) {
        i.result = { ...i.result, status: 'failed', output: null, error: `${rel(root, i.outAbs)}: cannot write: ${oneLine(err)}` };
        finish(i);
      }
    }

    // 4. validate
    if (opts.validate && !aborted()) {
      progress('validate');
      const toValidate = items.filter((i) => pending(i) && i.written);
      const reports = await runValidationStage(root, toValidate.map((i) => ({ agent: i.agent, file: i.outAbs, legacyFile: i.abs })), opts);
      toValidate.forEach((i, k) => {
        const report: ValidationReport = reports[k]!;
        i.result = { ...i.result, validation: report };
        if (!report.ok) {
          const failed = report.checks.find((c) => !c.ok && !c.skipped);
          i.result = { ...i.result, status: 'failed', error: report.error ?? `validation: ${failed ? `${failed.name}: ${failed.detail}` : 'failed'}` };
        }
      });
    }

    // 5. record and commit, one at a time in file order
    if (recording) {
      progress('commit');
      for (const i of items.filter((x) => x.written && pending(x))) {
        if (aborted()) break;
        try {
          journal?.willCreate(recordPath(i.agent.name));
          i.result = { ...i.result, commit: await runRecordStage(root, i, opts) };
          journal?.committed([rel(root, i.outAbs), recordPath(i.agent.name)]);
        } catch (err) {
          i.result = { ...i.result, status: 'failed', error: `commit: ${oneLine(err)}` };
        }
        finish(i);
      }
    } else {
      for (const i of items.filter(pending)) finish(i);
    }

    // Nothing half-done stays: when committing, a _v2 that did not make it into a commit goes.
    const interrupted = aborted();
    for (const i of items) {
      if (i.written && recording && !i.result.commit) {
        rmSync(i.outAbs, { force: true });
        i.result = { ...i.result, output: null, ...(interrupted && !i.result.error ? { status: 'failed' as const, error: 'interrupted before commit' } : {}) };
      }
    }
    return summarise(items, unreadable, diffs, started, interrupted, root);
  }
}

/** Still on its way through the stages (not failed, skipped or settled as unchanged). */
function pending(i: Item): boolean {
  return (i.result.status === 'migrated' || i.result.status === 'needs-review') && i.output !== undefined;
}

function summarise(items: Item[], unreadable: RunResult[], diffs: string[], started: number, interrupted: boolean, root: string): BatchOutcome {
  const results = [...items.map((i) => i.result), ...unreadable];
  const summary: Partial<Record<RunStatus, number>> = {};
  for (const r of results) summary[r.status] = (summary[r.status] ?? 0) + 1;
  const previews = items
    .filter((i) => i.source !== undefined && i.output !== undefined)
    .map((i) => ({ agent: i.agent.name, outputFile: rel(root, i.outAbs), source: i.source!, text: i.output! }));
  return { results, summary, diffs, previews, ms: Date.now() - started, interrupted };
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
