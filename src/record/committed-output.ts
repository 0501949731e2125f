// Why a `_v2` already on disk differs from this run's rewrite, when a migration of the agent
// committed it. "already exists and differs; pass --force" sent the user to overwrite a committed
// migration without saying that the legacy file had changed since (probe-fault56): the reason and
// the two ways on (revert then run, or --force: one new migration commit) are named instead.
import { readFileSync } from 'node:fs';
import { lastRecordCommit } from './hand-written-record.js';
import { readRecord, sha256 } from './migration-log.js';

/**
 * The one-line error for an agent whose existing `_v2` (outRel) differs from this run's output and
 * who is committed: `sourceSha` is the legacy file's sha256 as this run read it. Null when no
 * migration commit of the agent wrote its record (a `_v2` written by hand, or by a --no-commit run).
 */
export function committedOutputDiffers(root: string, agent: string, files: { source: string; output: string; outAbs: string; sourceSha: string }): string | null {
  const last = lastRecordCommit(root, agent);
  if (!last?.ours) return null;
  let record;
  try {
    record = readRecord(root, agent);
  } catch {
    return null; // an unreadable record: the plain refusal says enough
  }
  if (!record) return null;
  const commit = last.sha.slice(0, 12);
  const legacyChanged = record.source.sha256 !== files.sourceSha;
  const outputEdited = record.output.sha256 !== sha256(readFileSync(files.outAbs));
  if (outputEdited) {
    return `${files.output} was edited after ${agent} was migrated in commit ${commit}${legacyChanged ? `, and ${files.source} changed too` : ''} (\`git log -- ${files.output}\` shows by whom): keep the edits, or \`migrate run ${agent} --force\` to replace them with a new migration commit (git keeps the old file)`;
  }
  if (legacyChanged) {
    return `${files.source} changed after ${agent} was migrated in commit ${commit}: the committed ${files.output} is the rewrite of the older file. To migrate the new one, \`migrate revert ${agent}\` then \`migrate run ${agent}\`, or \`migrate run ${agent} --force\` (one new migration commit over ${commit}'s, which \`migrate revert ${agent}\` undoes back to ${commit})`;
  }
  return `${files.output}, committed by the migration of ${agent} in ${commit}, differs from this run's rewrite of the unchanged ${files.source} (another migrate version or profile?): \`migrate run ${agent} --dry-run\` shows the new rewrite, \`migrate run ${agent} --force\` commits it over ${commit}'s`;
}
