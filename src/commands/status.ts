// `migrate status`: every agent's state (legacy / migrated / validated / committed / reverted).
import { UsageError } from '../core/errors.js';
import { unitOutputs } from '../discover/base-units.js';
import { readHistory, type MigrationHistory } from '../record/git.js';
import { gitMissingHere } from '../record/repo-facts.js';
import { computeStatus } from '../record/status.js';
import { runLockHolder, unfinishedRun } from '../pipeline/journal.js';
import { statusJson, statusTable } from '../report/status-table.js';
import { useColor } from '../report/terminal.js';
import { profiledScan, profileJson, resolveRoot, type CommonFlags } from './common.js';
import { unfinishedNote } from '../report/status-table.js';
import { io } from '../core/invocation.js';
import { existsSync, readFileSync } from 'node:fs';
import { isTracked } from '../record/work-tree.js';
import { unitValidationState } from '../pipeline/unit-validation.js';
import path from 'node:path';
import type { BaseUnit, ScanResult } from '../core/types.js';
import { readRecords, recordPath, v2Sibling, type MigrationRecord, type UnreadableRecord } from '../record/migration-log.js';
import { describeInterrupted, interruptedLeftovers } from '../validate/leftovers.js';
import { unreadableNote } from '../record/unreadable-note.js';

export async function statusCommand(opts: CommonFlags & { profile?: string; json?: boolean }): Promise<number> {
  const root = resolveRoot(opts);
  // The profile's detection and the scan read one listing of the root (nothing is written in between).
  const { choice, scan } = await profiledScan(opts, root);
  const profile = choice.profile;
  let history: MigrationHistory = new Map();
  let gitMissing: string | null = null;
  try {
    history = await readHistory(root);
  } catch (err) {
    // Outside git there is no history: every agent is then legacy or on disk only.
    if (!(err instanceof UsageError)) throw err;
    // A repository read without its git: committed agents show by their files alone (validated,
    // migrated), not as committed or reverted; said, so the table is not taken for the history.
    gitMissing = gitMissingHere(root);
    if (gitMissing) io.stderr.write(`migrate: note: ${gitMissing}: the states below are read from the files alone, not from the commits\n`);
  }
  // A record cut short or edited into invalid JSON is one agent's trouble: the others are still
  // shown (before, status failed whole with no table and, with --json, nothing on stdout).
  const { records, unreadable } = readRecords(root);
  const units = unitsOfStatus(root, scan, history, records);
  // A unit's agents are shown with their unit, never as rows of their own (once a promotion put the
  // base's _v2 content on the base's path, the scan sees them on the target, migrated by the unit).
  const inUnit = new Set((units ?? []).filter((u) => u.status === 'migrated' || u.status === 'promoted').flatMap((u) => u.members.map((m) => m.class)));
  const rows = (await computeStatus(root, scan, history, records)).filter((r) => !inUnit.has(r.name));
  // A killed run's leftovers look migrated on disk, yet the next writing command puts them
  // back: say so (read as recovery reads it, nothing touched: status stays read-only).
  const unfinished = unfinishedRun(root);
  const pending = unfinished ? unfinishedNote(unfinished, scan.agents) : undefined;
  const lock = runLockHolder(root);
  const broken = unreadable.map((u) => unreadableNote(root, u));
  io.stdout.write(opts.json ? statusJson(rows, pending, profileJson(choice), units, lock ?? undefined, gitMissing ?? undefined, broken) : statusTable(rows, { color: useColor(), pending, units }));
  if (lock && !opts.json) io.stderr.write(`migrate: note: ${lock.line}\n`);
  for (const b of broken) io.stderr.write(`migrate: note: ${b.line}\n`);
  // A source file that cannot be parsed (a syntax error, a Python 2 print, bad encoding) is in no
  // row: before, "12 agents: 12 committed" read as a finished fleet while one agent file was never read.
  for (const s of scan.skipped.filter((k) => k.error)) {
    io.stderr.write(`migrate: note: ${s.reason.startsWith(`${s.file}:`) ? s.reason : `${s.file}: ${s.reason}`}: not in the table (no agent can be read from it; \`migrate run --all\` reports it as failed)\n`);
  }
  // Files a validation killed mid-way may have left (read only: status removes nothing).
  const left = await interruptedLeftovers(root);
  if (left) io.stderr.write(`migrate: note: ${describeInterrupted(left)}\n`);
  return 0;
}

/**
 * A ready unit whose every `_v2` a --no-commit run left on disk, none committed: still `ready` (not
 * migrated until its commit), with its `files` and a reason saying what commits it. Before, status
 * said "migrate run X migrates it" while run refused the files as uncommitted content.
 */
function written(root: string, u: BaseUnit): BaseUnit {
  const files = unitOutputs(u);
  if (!files.every((f) => existsSync(path.join(root, f)) && !isTracked(root, path.join(root, f)))) return u;
  // `validation`: each agent's passing validation as commit judges it (of its bytes, since the base's _v2
  // last changed). Before, status said "migrate commit commits it" while commit refused a stale validation.
  const state = unitValidationState(root, u, files);
  const validation = Object.fromEntries(state.filter((m) => !m.problem).map((m) => [m.class, m.report!]));
  const waiting = state.filter((m) => m.problem);
  const next = waiting.length
    ? `${waiting.map((m) => `${m.class}: ${m.problem}`).join('; ')}: migrate validate ${u.name}, then migrate commit ${u.name} (or migrate review) commits them as one`
    : `migrate commit ${u.name} (or migrate review) commits them as one`;
  // Each agent names its written `_v2` (`output`, as a committed unit's do): before, the table listed them as legacy.
  const members = u.members.map((m, k) => ({ ...m, output: files[k + 1]! }));
  return { ...u, members, files, validation, reason: `${u.reason}; its _v2 files are written and not committed (${files.join(', ')}): ${next}` };
}

/**
 * The units status reports: the scan's, a unit whose commit is active `migrated` (`promoted` once its
 * promotion is active), and a unit the scan no longer sees because its promotion replaced the legacy
 * base (read from its record). Each member of an active unit names the file it is started from.
 */
function unitsOfStatus(root: string, scan: ScanResult, history: MigrationHistory, records: MigrationRecord[]): BaseUnit[] | undefined {
  const out: BaseUnit[] = [];
  const recordOf = (name: string) => records.find((r) => r.agent === name) ?? null;
  const active = (name: string) => history.get(name)?.active ?? null;
  const applied = (u: BaseUnit, record: MigrationRecord | null): BaseUnit => {
    const h = history.get(u.name)!;
    const promotion = h.promoted ? record?.promotion : undefined;
    const started = new Map(promotion?.members?.map((m) => [m.class, m.script.path]) ?? []);
    return {
      ...u,
      status: h.promoted ? 'promoted' : 'migrated',
      members: u.members.map((m) => ({ ...m, output: started.get(m.class) ?? v2Sibling(m.file) })),
      files: h.promoted && promotion?.mode === 'replace' ? [] : unitOutputs(u),
      commit: (h.promoted ?? h.active)!.sha,
      error: null,
    };
  };
  for (const u of scan.units ?? []) {
    const record = recordOf(u.name);
    if (active(u.name) && u.status !== 'refused') out.push(applied(u, record));
    else out.push(u.status === 'ready' ? written(root, u) : u);
  }
  for (const record of records) {
    if (!record.unit || !active(record.agent) || out.some((u) => u.name === record.agent)) continue;
    const lineOf = (file: string, cls: string) => {
      try {
        const k = readFileSync(path.join(root, file), 'utf8').split('\n').findIndex((l) => new RegExp(`^class ${cls}\\b`).test(l));
        return k >= 0 ? k + 1 : 1;
      } catch {
        return 1;
      }
    };
    const u: BaseUnit = {
      name: record.agent,
      language: 'python',
      base: { class: record.agent, file: record.source.path, line: lineOf(record.source.path, record.agent), holds: [] },
      members: record.unit.members.map((m) => ({ class: m.class, file: m.source.path, line: lineOf(m.source.path, m.class) })),
      status: 'migrated',
      blockers: [],
      reason: `migrated as a base migration unit (${recordPath(record.agent)})`,
    };
    out.push(applied(u, record));
  }
  return out.length ? out : undefined;
}
