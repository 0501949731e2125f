// The record stage: the agent's migration-log record and its one commit, which adds
// only the `_v2` file and that record. A failed commit leaves no record behind.
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { AgentInfo, RunResult } from '../core/types.js';
import type { Profile } from '../profile/profile.js';
import { checkTree, checkoutShardBranch, commitAgent } from '../record/git.js';
import { buildRecord, recordPath, writeRecord } from '../record/migration-log.js';
import type { ReviewAnswer } from '../record/review-log.js';

export async function prepareRecordStage(
  root: string,
  outputs: string[],
  records: string[],
  opts: { allowDirty: boolean; shard?: string; profile: Profile },
): Promise<void> {
  const names = [...outputs.map((o) => path.relative(root, o).split(path.sep).join('/')), ...records];
  await checkTree(root, names, { allowDirty: opts.allowDirty });
  if (opts.shard) await checkoutShardBranch(root, opts.shard);
}

export async function runRecordStage(
  root: string,
  item: { agent: AgentInfo; abs: string; outAbs: string; result: RunResult },
  opts: { profile: Profile; review?: ReviewAnswer[] },
): Promise<string> {
  const r = item.result;
  const record = buildRecord(root, {
    agent: item.agent.name,
    language: item.agent.language,
    profile: opts.profile.name,
    source: item.agent.file,
    output: path.relative(root, item.outAbs),
    removed: r.removed,
    kept_for_review: r.kept_for_review,
    warnings: r.warnings,
    validation: r.validation,
    review: opts.review,
  });
  const recordRel = writeRecord(root, record);
  try {
    const body = [
      `Removed: ${r.removed.length ? r.removed.join(', ') : 'nothing'}.`,
      r.kept_for_review.length ? `Kept for review: ${r.kept_for_review.map((k) => `${k.symbol} (line ${k.line})`).join(', ')}.` : 'Nothing kept for review.',
      ...(opts.review?.length ? [`Reviewed: ${opts.review.map((a) => a.answer).join(', ')}${opts.review[opts.review.length - 1]!.by ? ` by ${opts.review[opts.review.length - 1]!.by}` : ''}.`] : []),
      r.validation ? `Validation: ${r.validation.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'} ${c.ms} ms`).join(', ')}.` : 'Validation: not run (--no-validate).',
    ].join('\n');
    return await commitAgent(root, {
      agent: item.agent.name,
      profile: opts.profile.name,
      baseClass: opts.profile.base_class,
      files: [path.relative(root, item.outAbs), recordRel],
      body,
    });
  } catch (err) {
    rmSync(path.join(root, recordPath(item.agent.name)), { force: true });
    throw err;
  }
}
