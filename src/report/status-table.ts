// Printers for `migrate status` (and the one-line result of `migrate revert`).
import pc from 'picocolors';
import type { AgentInfo, BaseUnit } from '../core/types.js';
import type { RunLockNote, UnfinishedRun } from '../pipeline/journal.js';
import { LOG_DIR, v2Sibling } from '../record/migration-log.js';
import type { AgentStatusRow, AgentState } from '../record/status.js';
import { jsonText } from './terminal.js';
import { unitCounts } from './unit-counts.js';
import type { ProfileJson } from '../profile/choose.js';

/** `status --json`'s `unfinished_run`: a writing command's journal still there, and its one line. */
export interface PendingNote {
  pid: number;
  started: string;
  state: UnfinishedRun['state'];
  files: Array<{ path: string; action: 'remove' | 'restore'; agent: string | null }>;
  /** Agent processes of the killed command still alive (present only when there are some), and the command that left them. */
  processes?: UnfinishedRun['processes'];
  command?: UnfinishedRun['kind'];
  /** Git's index.lock the killed command left (present only when there is one). */
  git_lock?: NonNullable<UnfinishedRun['gitLock']>;
  message: string;
}

/** "pid 123 (python3 agents/x_v2.py; holds port 4567)", for the first few. */
function processList(procs: UnfinishedRun['processes']): string {
  const one = (p: UnfinishedRun['processes'][number]) =>
    `pid ${p.pid} (${p.command}${p.ports.length ? `; holds port${p.ports.length > 1 ? 's' : ''} ${p.ports.join(', ')}` : ''})`;
  return procs.slice(0, 5).map(one).join(', ') + (procs.length > 5 ? `, ... (${procs.length - 5} more)` : '');
}

/** The agents an unfinished run's files belong to, and the one line `status` prints about it. */
export function unfinishedNote(run: UnfinishedRun, agents: Pick<AgentInfo, 'name' | 'file' | 'output'>[]): PendingNote {
  const byOutput = new Map<string, string>();
  for (const a of agents) {
    byOutput.set(a.output ?? v2Sibling(a.file), a.name);
    byOutput.set(v2Sibling(a.file), a.name);
  }
  const record = new RegExp(`(?:^|/)${LOG_DIR}/([A-Za-z_][A-Za-z0-9_]*)\\.json(?:\\.\\d+)*(?:\\.tmp)?$`);
  const files = run.files.map((f) => {
    const rec = record.exec(f.path);
    // A temporary file of a write cut short is its `_v2`'s.
    const agent = rec ? rec[1]! : byOutput.get(f.path.replace(/(\.\d+)*\.tmp$/, '')) ?? null;
    return { path: f.path, action: f.action, agent };
  });
  const shown = files.slice(0, 5).map((f) => `${f.path}${f.agent ? ` (${f.agent})` : ''}`).join(', ') + (files.length > 5 ? `, ... (${files.length - 5} more)` : '');
  const n = files.length === 1 ? '1 file' : `${files.length} files`;
  const procs = run.processes;
  const p = procs.length === 1 ? '1 agent process' : `${procs.length} agent processes`;
  const itp = procs.length === 1 ? 'it' : 'them';
  const itf = files.length === 1 ? 'it' : 'them';
  let message: string;
  if (run.state === 'running') {
    message = `a migrate run is in progress (pid ${run.pid}, started ${run.started}): ${n} it wrote ${files.length === 1 ? 'is' : 'are'} not final yet: ${shown}`;
  } else if (run.kind === 'validate') {
    message = `a migrate validate that did not end (pid ${run.pid}, started ${run.started}) left ${p} running: ${processList(procs)}; the next migrate validate or writing command (run, commit, review, promote or revert) first stops ${itp}`;
  } else if (!procs.length) {
    message = `a migrate run that did not end (pid ${run.pid}, started ${run.started}) left ${n} not committed (shown above as on disk now); the next writing command (run, commit, review, promote or revert) first puts ${itf} back: ${shown}`;
  } else if (!files.length) {
    message = `a migrate run that did not end (pid ${run.pid}, started ${run.started}) left ${p} running: ${processList(procs)}; the next writing command (run, commit, review, promote or revert) first stops ${itp}`;
  } else {
    message = `a migrate run that did not end (pid ${run.pid}, started ${run.started}) left ${n} not committed (shown above as on disk now) and ${p} running: ${processList(procs)}; the next writing command (run, commit, review, promote or revert) first stops ${itp} and puts the ${files.length === 1 ? 'file' : 'files'} back: ${shown}`;
  }
  const lock = run.gitLock;
  if (lock && run.state === 'killed') {
    message +=
      lock.action === 'remove'
        ? `; it also removes ${lock.path}, ${lock.detail} (until then git commands here fail on it)`
        : `; until then it refuses: ${lock.detail}`;
  }
  return {
    pid: run.pid,
    started: run.started,
    state: run.state,
    files,
    ...(procs.length ? { processes: procs, command: run.kind } : {}),
    ...(lock ? { git_lock: lock } : {}),
    message,
  };
}

export function statusJson(
  rows: AgentStatusRow[],
  pending?: PendingNote,
  profile?: ProfileJson,
  units?: BaseUnit[],
  runLock?: RunLockNote,
  gitMissing?: string,
  unreadable: Array<{ file: string; error: string }> = [],
): string {
  const agents = rows.map((r) => ({
    name: r.name, file: r.file, state: r.state, commit: r.commit, time: r.time,
    ...(r.review ? { review: r.review } : {}),
    ...(r.second ? { second_agent_of: r.second.of, line: r.second.line } : {}),
  }));
  const broken = unreadable.map((u) => ({ file: u.file, error: u.error }));
  return jsonText({
    agents,
    ...(units?.length ? { units } : {}),
    ...(gitMissing ? { git_missing: gitMissing } : {}),
    ...(pending ? { unfinished_run: pending } : {}),
    ...(runLock ? { run_lock: runLock } : {}),
    ...(broken.length ? { unreadable_records: broken } : {}),
    ...(profile ? { profile } : {}),
  });
}

/**
 * One line per base migration unit, then one per agent of it with the file it is started from: its
 * agents are no rows of the table (the scan skips them for their base, or sees them on the target
 * once the unit's promotion replaced the base).
 */
function unitLines(units: BaseUnit[] | undefined): string {
  return (units ?? [])
    .map((u) => {
      const n = `${u.members.length} agent${u.members.length === 1 ? '' : 's'}`;
      // Written by a --no-commit run, not committed (status keeps it `ready` until its commit).
      const written = u.status === 'ready' && !u.blockers.length && !!u.files?.length;
      const head =
        u.status === 'migrated' || u.status === 'promoted'
          ? `unit ${u.name} (${u.base.file}:${u.base.line}): ${u.status} in ${u.commit?.slice(0, 12)}, with its ${n} (${u.members.map((m) => m.class).join(', ')})${u.middles?.length ? ` through ${u.middles.map((m) => m.class).join(', ')}` : ''}; migrate revert ${u.name} undoes ${u.status === 'promoted' ? 'the promotion' : 'it'}${u.status === 'migrated' ? `, migrate promote ${u.name} cuts it over` : ''}`
          : written
            ? `unit ${u.name} (${u.base.file}:${u.base.line}): ${u.status}, its ${n} written with it (${u.members.map((m) => m.class).join(', ')})${u.middles?.length ? ` through ${u.middles.map((m) => m.class).join(', ')}` : ''}; written, not committed (${u.files!.length} _v2 files); ${unvalidated(u)}`
            : `unit ${u.name} (${u.base.file}:${u.base.line}): ${u.status}, its ${n} still legacy (${u.members.map((m) => m.class).join(', ')}); ${u.blockers.length ? `${u.blockers.length} blocker${u.blockers.length === 1 ? '' : 's'}: ${u.blockers.map((b) => `${b.file}:${b.line}`).join(', ')}` : `no subclass blocks it; migrate run ${u.name} migrates it`}`;
      const width = Math.max(...u.members.map((m) => m.class.length));
      const fileWidth = Math.max(...u.members.map((m) => `${m.file}:${m.line}`.length));
      const members = u.members.map((m) => {
        // A written unit's agent: its `_v2` on disk, validated as it is now (what commit needs) or not, as an agent's row says.
        const runs = !m.output
          ? 'legacy'
          : written
            ? `${u.validation?.[m.class] ? 'validated' : 'migrated'}, not committed: ${m.output}`
            : m.output === m.file
              ? `${u.status}: on ${u.base.file}, which holds ${u.name}'s migrated content`
              : `${u.status}: ${m.output}`;
        return `  ${m.class.padEnd(width)}  ${`${m.file}:${m.line}`.padEnd(fileWidth)}  ${runs}\n`;
      });
      return `${head}\n${members.join('')}`;
    })
    .join('');
}

/** What a written unit waits for: each agent validated as it is now (status puts those in `validation`), then its commit. */
function unvalidated(u: BaseUnit): string {
  const waiting = u.members.filter((m) => !u.validation?.[m.class]);
  return waiting.length
    ? `${waiting.length} of its agents not validated as they are now (${waiting.map((m) => m.class).join(', ')}): migrate validate ${u.name}, then migrate commit ${u.name}`
    : `migrate commit ${u.name} (or migrate review) commits it`;
}

const paint: Record<AgentState, (s: string) => string> = {
  legacy: (s) => s,
  'needs-review': pc.red,
  migrated: pc.yellow,
  'not-validated': pc.yellow,
  validated: pc.cyan,
  committed: pc.green,
  promoted: pc.blue,
  reverted: pc.magenta,
};

/** An aligned table, one agent a line, and counts by state at the end. */
export function statusTable(rows: AgentStatusRow[], opts: { color?: boolean; pending?: PendingNote; units?: BaseUnit[] } = {}): string {
  const note = (opts.pending ? `note: ${opts.pending.message}\n` : '') + unitLines(opts.units);
  if (!rows.length) return `${opts.units?.length ? `no agents outside base migration units; ${unitCounts(opts.units)}` : 'no agents found'}\n${note}`;
  const cells = rows.map((r) => [r.name, r.state, r.commit ? r.commit.slice(0, 12) : '-', r.time ?? '-', r.file || '-']);
  const head = ['AGENT', 'STATE', 'COMMIT', 'TIME', 'FILE'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[], state?: AgentState) =>
    c
      .map((v, i) => {
        const padded = i === c.length - 1 ? v : v.padEnd(widths[i]);
        return i === 1 && state && opts.color ? paint[state](padded) : padded;
      })
      .join('  ')
      .trimEnd();
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  const units = opts.units?.length ? `; ${unitCounts(opts.units)}` : '';
  return [line(head), ...cells.map((c, i) => line(c, rows[i].state)), '', `${rows.length} agents: ${summary}${units}`, ''].join('\n') + reviewLines(rows) + byHandLines(rows) + note;
}

/** A file's second agent still legacy: what scan says of it (`by hand ...`), since `migrate run` will not take it. */
function byHandLines(rows: AgentStatusRow[]): string {
  return rows
    .filter((r) => r.second && r.state === 'legacy')
    .map((r) => `  by hand ${r.name} (${r.file}:${r.second!.line}): ${r.second!.reason}\n`)
    .join('');
}

/**
 * Why each needs-review agent with no `_v2` is one: its run kept these for review, and wrote nothing (the
 * legacy file is unchanged). Without these lines the row would read as if no run had looked at it.
 */
function reviewLines(rows: AgentStatusRow[]): string {
  return rows
    .filter((r) => r.review)
    .map((r) => {
      const items = r.review!.kept_for_review;
      const shown = items.map((k) => `  ${r.file}:${k.line} ${k.symbol}: ${k.reason}\n`).join('');
      return `${r.name}: needs-review, no _v2 written: ${items.length} item${items.length === 1 ? '' : 's'} kept for review by ${r.review!.source}; migrate run --dry-run ${r.name} shows the rewrite so far\n${shown}`;
    })
    .join('');
}

interface RevertResult {
  agent: string;
  reverted: string;
  revert_commit: string;
  /** What the revert undid: the promotion of a promoted agent comes first. */
  undid?: 'migration' | 'promotion';
}

export function revertLine(r: RevertResult): string {
  const again = r.undid === 'promotion' ? `; its migration stays (migrate revert ${r.agent} again undoes it)` : '';
  return `reverted ${r.agent}: ${r.undid ?? 'migration'} commit ${r.reverted.slice(0, 12)} undone by ${r.revert_commit.slice(0, 12)}${again}\n`;
}

export function revertJson(r: RevertResult): string {
  // `undid` only for a promotion: a migration's revert prints what it always printed.
  return jsonText({ agent: r.agent, reverted: r.reverted, revert_commit: r.revert_commit, ...(r.undid === 'promotion' ? { undid: r.undid } : {}) });
}
