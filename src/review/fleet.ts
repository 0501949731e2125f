// The fleet as a reviewer sees it, from what the repository holds (the migration log,
// the records in the tree and in commits, the trailers of history, the `_v2` files on
// disk) plus what this clone remembers of runs that left no commit (.git/migrate/).
// Nothing is re-run: `migrate report` works on any clone of the repository.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AgentInfo, Finding, KeptForReview, Language, OtherAgent, ScanResult, ValidationReport } from '../core/types.js';
import { readRecords, sha256File, v2Sibling, type MigrationRecord } from '../record/migration-log.js';
import { unreadableNote } from '../record/unreadable-note.js';
import { readHistory, recordAtCommit, showPrefix, type AgentHistory, type MigrationHistory } from '../record/git.js';
import { UsageError } from '../core/errors.js';
import { rememberedFor, rememberedResults, type RememberedResult } from '../record/run-results.js';
import { reviewedWithoutOutput } from '../record/status.js';
import { recalledValidation } from '../record/validation-cache.js';
import { reviewAnswers, type ReviewAnswer } from '../record/review-log.js';
import { unitValidationState } from '../pipeline/unit-validation.js';
import { pendingUnits, type PendingUnit } from './pending-units.js';

export type FleetStatus = 'failed' | 'not-validated' | 'needs-review' | 'migrated' | 'committed' | 'promoted' | 'reverted' | 'legacy';

/** Failures first, then what waits for a person (a validation this machine could not run, review items), then what is done. */
export const STATUS_ORDER: FleetStatus[] = ['failed', 'not-validated', 'needs-review', 'migrated', 'committed', 'promoted', 'reverted', 'legacy'];

export interface FleetAgent {
  name: string;
  status: FleetStatus;
  /** One line: where the agent stands (e.g. "committed 1a2b3c4d5e on 2026-11-30, 4 items left for review"). */
  state: string;
  language: Language | null;
  profile: string | null;
  /** The legacy file and the `_v2` file, relative to the root. */
  file: string;
  output: string | null;
  removed: string[];
  kept_for_review: KeptForReview[];
  warnings: string[];
  validation: ValidationReport | null;
  error: string | null;
  migratedAt: string | null;
  commit: { sha: string; date: string } | null;
  promotion: { sha: string; date: string; mode: string | null } | null;
  reverts: Array<{ sha: string; date: string; undid?: 'promotion' }>;
  /** Answers given in `migrate review` (from the record, or this clone's log). */
  review: ReviewAnswer[];
  /** The original and the `_v2` text the diff is made of (null: nothing to compare). */
  texts: { source: string; output: string } | null;
  /** The scan's findings in the original, when the file on disk is the one migrated. */
  findings: Finding[];
  /** Commands a reviewer may copy, with what each does. */
  commands: Array<{ label: string; command: string }>;
  /** Where the data came from, shown in the report (e.g. "record at 1a2b3c4d5e"). */
  source: string;
  /** A base migration unit (the entry is its base), written or committed: each agent's `_v2` and validation. */
  unit?: FleetUnit;
  /** Another agent class of the file of the agent named here (AgentInfo.other_agents), which migrate never migrates. */
  second_agent_of?: string;
}

/** The agents of a base migration unit: a written one's as `migrate commit <base>` judges them, a committed one's as its commit holds them. */
export interface FleetUnit {
  /** Every `_v2` of the unit, the base's first. */
  files: string[];
  members: Array<{
    class: string;
    file: string;
    output: string;
    texts: { source: string; output: string } | null;
    validation: ValidationReport | null;
    /** Why commit refuses this agent's `_v2` now (not validated as it is, validated before the base's `_v2` changed, failed), or null. */
    problem: string | null;
  }>;
}

export interface Fleet {
  root: string;
  agents: FleetAgent[];
  counts: Record<FleetStatus, number>;
  /**
   * migration-log/ records that do not read (cut short, edited into invalid JSON), one line each as status
   * says it (unreadableNote): their agents are shown without them. Before, one such file failed
   * `migrate report` and `migrate review` whole.
   */
  unreadable: string[];
}

/** Blobs from git in one `git cat-file --batch` call (null for a missing path). */
function readBlobs(root: string, specs: string[]): Array<string | null> {
  if (!specs.length) return [];
  const out = execFileSync('git', ['cat-file', '--batch'], { cwd: root, input: `${specs.join('\n')}\n`, maxBuffer: 1 << 30 });
  const blobs: Array<string | null> = [];
  let at = 0;
  for (let k = 0; k < specs.length; k++) {
    const nl = out.indexOf(0x0a, at);
    const header = out.subarray(at, nl).toString('utf8');
    at = nl + 1;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) {
      blobs.push(null); // "<spec> missing"
      continue;
    }
    const size = Number(m[2]);
    blobs.push(m[1] === 'blob' ? out.subarray(at, at + size).toString('utf8') : null);
    at += size + 1;
  }
  return blobs;
}

const short = (sha: string) => sha.slice(0, 10);
const day = (iso: string) => iso.slice(0, 10);

export async function gatherFleet(root: string, scan: ScanResult): Promise<Fleet> {
  // Outside git there is no history: agents are then what the disk shows.
  const inGit = await showPrefix(root).then(
    (prefix) => ({ prefix }),
    (err) => {
      if (err instanceof UsageError) return null;
      throw err;
    },
  );
  const history: MigrationHistory = inGit ? await readHistory(root) : new Map();
  const prefix = inGit?.prefix ?? '';
  const { records: readable, unreadable } = readRecords(root);
  const records = new Map(readable.map((r) => [r.agent, r]));
  const remembered = rememberedResults(root);
  const outputs = new Set(scan.agents.map((a) => a.output).filter(Boolean));
  const scanned = new Map<string, AgentInfo>();
  for (const a of scan.agents) if (!outputs.has(a.file) && !scanned.has(a.name)) scanned.set(a.name, a);
  const names = [...new Set([...scanned.keys(), ...history.keys(), ...records.keys(), ...remembered.keys()])];

  // Records and texts held by commits, fetched in one batch.
  const wanted: Array<{ name: string; sha: string; record: MigrationRecord }> = [];
  for (const name of names) {
    const h = history.get(name);
    const step = h?.active ?? h?.migrations[h.migrations.length - 1];
    if (!step) continue;
    const inTree = h?.active ? records.get(name) : undefined;
    const record = inTree ?? (await recordAtCommit(root, step.sha, name).catch(() => null));
    if (record) wanted.push({ name, sha: step.sha, record });
  }
  const blobs = readBlobs(
    root,
    wanted.flatMap((w) => [`${w.sha}:${prefix}${w.record.source.path}`, `${w.sha}:${prefix}${w.record.output.path}`]),
  );
  // A unit's commit holds every agent's _v2 besides the base's: each agent's texts as that commit has them.
  const memberSpecs = wanted.flatMap((w) => (w.record.unit?.members ?? []).flatMap((m) => [`${w.sha}:${prefix}${m.source.path}`, `${w.sha}:${prefix}${m.output.path}`]));
  const memberBlobs = readBlobs(root, memberSpecs);
  let at = 0;
  const atCommit = new Map(
    wanted.map((w, k) => {
      const members = (w.record.unit?.members ?? []).map((m) => {
        const [source, output] = [memberBlobs[at++], memberBlobs[at++]];
        return { class: m.class, file: m.source.path, output: m.output.path, texts: source != null && output != null ? { source, output } : null, validation: m.validation, problem: null };
      });
      const unit: FleetUnit | undefined = w.record.unit ? { files: [w.record.output.path, ...members.map((m) => m.output)], members } : undefined;
      return [w.name, { sha: w.sha, record: w.record, source: blobs[2 * k], output: blobs[2 * k + 1], unit }];
    }),
  );

  // A unit a --no-commit run left is one entry, named by its base (its agents are no entries, as in status).
  const units = pendingUnits(root, scan.units).map((u) => describeUnit(root, u));
  const agents = [
    ...names.filter((name) => !units.some((u) => u.name === name)).map((name) => describe(root, name, scanned.get(name), history.get(name), atCommit.get(name), remembered.get(name))),
    ...units,
    ...[...scanned.values()].flatMap((a) => (a.other_agents ?? []).filter((o) => !names.includes(o.class)).map((o) => describeSecond(a, o))),
  ];
  agents.sort((a, b) => STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) || a.name.localeCompare(b.name));
  const counts = Object.fromEntries(STATUS_ORDER.map((s) => [s, agents.filter((a) => a.status === s).length])) as Record<FleetStatus, number>;
  return { root, agents, counts, unreadable: unreadable.map((u) => unreadableNote(root, u).line) };
}

/**
 * The fleet in one phrase, `2 agents (1 committed, 1 legacy); 1 unit committed (3 agents with it)`: a base
 * migration unit is one entry of the report, named by its base, and no agent (its agents are counted with
 * it, as in run's and status's summaries). Before, the unit was counted as an agent ("1 agents (1 committed)"
 * for a fleet of three agents moved as one unit).
 */
export function fleetCountLine(fleet: Fleet): string {
  const agents = fleet.agents.filter((a) => !a.unit);
  const units = fleet.agents.filter((a) => a.unit);
  const counts = STATUS_ORDER.map((s) => [s, agents.filter((a) => a.status === s).length] as const)
    .filter(([, n]) => n)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  const parts = agents.length || !units.length ? [`${agents.length} agent${agents.length === 1 ? '' : 's'} (${counts || 'none'})`] : [];
  for (const s of STATUS_ORDER) {
    const these = units.filter((u) => u.status === s);
    if (!these.length) continue;
    const with_ = these.reduce((k, u) => k + u.unit!.members.length, 0);
    parts.push(`${these.length} unit${these.length === 1 ? '' : 's'} ${s} (${with_} agent${with_ === 1 ? '' : 's'} with ${these.length === 1 ? 'it' : 'them'})`);
  }
  return parts.join('; ');
}

function readText(root: string, rel: string): string | null {
  const abs = path.join(root, rel);
  return existsSync(abs) ? readFileSync(abs, 'utf8') : null;
}

/** An agent nothing has been done to yet: legacy, no `_v2`, record, commit or review; what describe() then fills in. */
function unmigrated(name: string, file: string, language: Language | null): FleetAgent {
  return {
    name, status: 'legacy', state: '', language, profile: null, file, output: null, removed: [], kept_for_review: [], warnings: [],
    validation: null, error: null, migratedAt: null, commit: null, promotion: null, reverts: [], review: [], texts: null,
    findings: [], commands: [], source: '',
  };
}

function describe(
  root: string,
  name: string,
  scanned: AgentInfo | undefined,
  h: AgentHistory | undefined,
  committed: { sha: string; record: MigrationRecord; source: string | null | undefined; output: string | null | undefined; unit?: FleetUnit } | undefined,
  remembered: RememberedResult | undefined,
): FleetAgent {
  const base: FleetAgent = {
    ...unmigrated(name, scanned?.file ?? committed?.record.source.path ?? remembered?.result.file ?? '', scanned?.language ?? remembered?.language ?? committed?.record.language ?? null),
    profile: committed?.record.profile ?? remembered?.profile ?? null,
    reverts: (h?.reverts ?? []).map((r) => ({ sha: r.sha, date: r.date, ...(r.promotion ? { undid: 'promotion' as const } : {}) })),
    review: reviewAnswers(root, name),
  };
  const fromRecord = (r: MigrationRecord) => ({
    profile: r.profile,
    language: r.language,
    file: r.source.path,
    output: r.output.path,
    removed: r.removed,
    // A unit's record made before the base's missing entry point stopped being an item (the base is never started alone).
    kept_for_review: r.unit ? r.kept_for_review.filter((k) => k.symbol !== '__main__') : r.kept_for_review,
    warnings: [...r.warnings, ...(r.promotion?.warnings ?? [])],
    validation: r.validation,
    migratedAt: r.migrated_at,
    review: r.review ?? base.review,
  });
  // Findings line up with the diff only when the file on disk is the original that was migrated.
  const findingsFor = (sha256: string | null) => {
    if (!scanned || !sha256) return [];
    const abs = path.join(root, scanned.file);
    return existsSync(abs) && sha256File(abs) === sha256 ? scanned.findings : [];
  };
  const texts = (source: string | null | undefined, output: string | null | undefined) => (source != null && output != null ? { source, output } : null);

  // 1. A migration commit in force: committed, promoted, or committed with items still to review.
  if (h?.active && committed) {
    const r = committed.record;
    const a: FleetAgent = { ...base, ...fromRecord(r), commit: { sha: h.active.sha, date: h.active.date }, texts: texts(committed.source, committed.output), ...(committed.unit ? { unit: committed.unit } : {}) };
    a.findings = findingsFor(r.source.sha256);
    a.source = `record ${r.agent}.json at ${short(h.active.sha)}`;
    if (h.promoted) {
      a.status = 'promoted';
      a.promotion = { sha: h.promoted.sha, date: h.promoted.date, mode: r.promotion?.mode ?? null };
      a.state = `promoted${r.promotion ? ` (${r.promotion.mode})` : ''} by ${short(h.promoted.sha)} on ${day(h.promoted.date)}`;
      a.commands = [
        { label: 'undo the promotion (the migration stays)', command: `migrate revert ${name}` },
        { label: 'the promotion commit', command: `git show ${h.promoted.sha}` },
      ];
      return a;
    }
    const accepted = a.review.some((x) => x.answer === 'accept');
    a.status = a.kept_for_review.length && !accepted ? 'needs-review' : 'committed';
    a.state = `committed ${short(h.active.sha)} on ${day(h.active.date)}${a.status === 'needs-review' ? `, ${a.kept_for_review.length} item(s) left for review` : accepted ? ', accepted in review' : ''}`;
    a.commands = [
      { label: 'undo this migration', command: `migrate revert ${name}` },
      { label: 'cut the fleet over to the _v2', command: `migrate promote ${name}` },
      { label: 'the migration commit', command: `git show ${h.active.sha}` },
    ];
    return a;
  }

  // 2. An uncommitted `_v2` on disk.
  const out = scanned && !h?.active ? [scanned.output, v2Sibling(scanned.file)].find((p) => p && existsSync(path.join(root, p))) : undefined;
  if (scanned && out) {
    const entry = rememberedFor(root, name, out);
    const recalled = recalledValidation(root, name, out);
    const validation = recalled?.report ?? entry?.result.validation ?? null;
    const a: FleetAgent = {
      ...base,
      profile: entry?.profile ?? null,
      output: out,
      removed: entry?.result.removed ?? [],
      kept_for_review: entry?.result.kept_for_review ?? [],
      warnings: entry?.result.warnings ?? [],
      validation,
      error: entry?.result.status === 'failed' || entry?.result.status === 'not-validated' ? entry.result.error : null,
      migratedAt: entry?.at ?? null,
      texts: texts(readText(root, scanned.file), readText(root, out)),
      findings: scanned.findings,
      source: entry ? `this clone's last run (${day(entry.at)})` : `${out} on disk (no run of this clone wrote these bytes: edited by hand, or made elsewhere)`,
    };
    const validationFailed = validation !== null && !validation.ok;
    if (validationFailed && !a.error) {
      const c = validation.checks.find((x) => !x.ok && !x.skipped);
      a.error = validation.error ?? `validation: ${c ? `${c.name}: ${c.detail}` : 'failed'}`;
    }
    // A validation that could not run here (a module both runs lack) proved nothing: not a failure.
    const notRun = !!validation?.not_run;
    a.status = notRun ? 'not-validated' : a.error ? 'failed' : a.kept_for_review.length ? 'needs-review' : 'migrated';
    a.state = `${out} written, not committed; ${validation ? (validation.ok ? 'validated' : notRun ? `validation could not run here (${validation.not_run})` : 'validation failed') : 'not validated'}`;
    a.commands = [
      { label: 'review: accept commits it, reject deletes it', command: `migrate review ${name}` },
      { label: 'run the runtime checks again', command: `migrate validate ${name}` },
      { label: 'the diff in a terminal', command: `migrate diff ${name}` },
    ];
    return a;
  }

  // 3. A failure this clone remembers, newer than anything in history.
  if ((remembered?.result.status === 'failed' || remembered?.result.status === 'not-validated') && (!h || remembered.at > h.last.date)) {
    const r = remembered.result;
    const a: FleetAgent = {
      ...base,
      output: remembered.texts?.outputFile ?? null,
      removed: r.removed,
      kept_for_review: r.kept_for_review,
      warnings: r.warnings,
      validation: r.validation,
      error: r.error,
      migratedAt: remembered.at,
      texts: remembered.texts ? { source: remembered.texts.source, output: remembered.texts.output } : null,
      findings: scanned?.findings ?? [],
      status: r.status === 'not-validated' ? 'not-validated' : 'failed',
      state: `${r.status === 'not-validated' ? 'not validated here' : 'failed'} on ${day(remembered.at)}; nothing was written or committed`,
      source: `this clone's last run (${day(remembered.at)})`,
    };
    a.commands = [
      { label: 'try again and keep the _v2 to inspect it', command: `migrate run ${name} --no-commit` },
      { label: 'preview the rewrite', command: `migrate run ${name} --dry-run` },
    ];
    return a;
  }

  // 3b. A run this clone remembers that kept for review what keeps the base from starting, so it wrote no
  // `_v2`, on the legacy file as it is now (what `migrate status` shows as needs-review).
  const reviewed = !h?.active && scanned && scanned.status !== 'migrated' ? reviewedWithoutOutput(root, scanned.file, remembered, h?.last.date) : null;
  if (reviewed && remembered) {
    const r = remembered.result;
    const a: FleetAgent = {
      ...base,
      removed: r.removed,
      kept_for_review: r.kept_for_review,
      warnings: r.warnings,
      migratedAt: remembered.at,
      findings: scanned?.findings ?? [],
      status: 'needs-review',
      state: `needs-review on ${day(remembered.at)}: what it kept keeps the base from starting, so no _v2 was written or committed`,
      source: reviewed.source,
    };
    a.commands = [
      { label: 'the rewrite so far', command: `migrate run ${name} --dry-run` },
      { label: 'run it again once the kept lines are resolved', command: `migrate run ${name}` },
    ];
    return a;
  }

  // 4. Every migration undone.
  if (h && committed) {
    const r = committed.record;
    const last = h.reverts[h.reverts.length - 1];
    const a: FleetAgent = { ...base, ...fromRecord(r), texts: texts(committed.source, committed.output), status: 'reverted', ...(committed.unit ? { unit: committed.unit } : {}) };
    a.findings = findingsFor(r.source.sha256);
    a.source = `record ${r.agent}.json at ${short(committed.sha)} (reverted)`;
    a.state = last ? `reverted by ${short(last.sha)} on ${day(last.date)}` : 'reverted';
    a.commands = [
      { label: 'migrate it again', command: `migrate run ${name}` },
      ...(last ? [{ label: 'the revert commit', command: `git show ${last.sha}` }] : []),
    ];
    return a;
  }

  // 5. Not migrated (or already on the base without migrate).
  const rejected = [...base.review].reverse().find((x) => x.answer === 'reject');
  return {
    ...base,
    status: scanned?.status === 'migrated' ? 'migrated' : 'legacy',
    state:
      scanned?.status === 'migrated'
        ? 'already on the base class (no _v2 needed)'
        : `legacy${rejected ? `; its _v2 was rejected in review on ${day(rejected.at)}` : ''}`,
    findings: scanned?.findings ?? [],
    source: 'scan',
    commands: scanned?.status === 'migrated' ? [] : [
      { label: 'preview the rewrite', command: `migrate run ${name} --dry-run` },
      { label: 'migrate, validate and commit it', command: `migrate run ${name}` },
    ],
  };
}

/**
 * A file's other agent (as scan and status list it): legacy with why and what to do (no command to copy:
 * `migrate run` refuses it on its own), or migrated once moved onto the base by hand. The file's `_v2`,
 * commits and records are its agent's, never this one's.
 */
function describeSecond(of: AgentInfo, o: OtherAgent): FleetAgent {
  return {
    ...unmigrated(o.class, of.file, of.language),
    status: o.status,
    state: `${o.status === 'migrated' ? 'already on the base class' : 'legacy'}: ${o.reason}`,
    findings: o.findings,
    source: 'scan',
    second_agent_of: of.name,
  };
}

/**
 * A base migration unit whose `_v2` files a --no-commit run left: `migrated` (written, not committed) like
 * an agent's uncommitted `_v2`, or `failed` when an agent's validation of its bytes failed; the state and
 * commands say what `migrate status` says of it and what commit needs (each agent validated as it is now,
 * after the base's `_v2` last changed).
 */
function describeUnit(root: string, p: PendingUnit): FleetAgent {
  const { unit, files } = p;
  const state = unitValidationState(root, unit, files);
  const members = state.map((m, k) => {
    const file = unit.members[k]!.file;
    const source = readText(root, file);
    const output = readText(root, m.output);
    return { class: m.class, file, output: m.output, texts: source !== null && output !== null ? { source, output } : null, validation: m.report, problem: m.problem };
  });
  const failed = state.filter((m) => m.report && !m.report.ok);
  const waiting = state.filter((m) => m.problem);
  const source = readText(root, unit.base.file);
  const output = readText(root, files[0]!);
  const agents = `${unit.members.length} agent${unit.members.length === 1 ? '' : 's'}`;
  const error = failed.length
    ? failed
        .map((m) => {
          const c = m.report!.checks.find((x) => !x.ok && !x.skipped);
          return `validation of ${m.class} (${m.output}): ${m.report!.error ?? (c ? `${c.name}: ${c.detail}` : 'failed')}`;
        })
        .join('; ')
    : null;
  const commands = waiting.length
    ? [
        { label: `start each agent's _v2 on the base's _v2 under the validator (commit needs it: ${waiting.map((m) => `${m.class}: ${m.problem}`).join('; ')})`, command: `migrate validate ${unit.name}` },
        { label: 'review: edit the base\'s _v2, or reject: delete every _v2 of the unit', command: `migrate review ${unit.name}` },
      ]
    : [
        { label: 'review: accept commits the unit as one commit, reject deletes every _v2 of it', command: `migrate review ${unit.name}` },
        { label: 'commit the unit as one commit with its record', command: `migrate commit ${unit.name}` },
      ];
  commands.push({ label: 'the diff of every file of the unit in a terminal', command: `migrate diff ${unit.name}` });
  return {
    name: unit.name,
    status: error ? 'failed' : 'migrated',
    state: `base migration unit with its ${agents} (${unit.members.map((m) => m.class).join(', ')}): ${files.length} _v2 files written, not committed; ${
      waiting.length ? `${waiting.length} of its ${agents} not validated as ${waiting.length === 1 ? 'it is' : 'they are'} now` : `each agent validated on it: migrate commit ${unit.name} (or migrate review) commits it`
    }`,
    language: 'python',
    profile: null,
    file: unit.base.file,
    output: files[0]!,
    removed: [],
    kept_for_review: [],
    warnings: [],
    validation: null,
    error,
    migratedAt: null,
    commit: null,
    promotion: null,
    reverts: [],
    review: reviewAnswers(root, unit.name),
    texts: source !== null && output !== null ? { source, output } : null,
    findings: [],
    commands,
    source: `the unit's _v2 files on disk (${files.join(', ')})`,
    unit: { files, members },
  };
}
