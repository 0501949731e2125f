// `migrate review [AGENT...]`: each migrated, uncommitted agent's coloured diff and review
// items, then accept / reject / edit / skip / quit, one key each (ast-grep's and Bowler's
// habit). Keys are read raw on a terminal, else one answer per line of standard input.
import { createInterface } from 'node:readline';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import '../lang/adapters.js';
import { scanRepository } from '../discover/scan.js';
import { oneLine, UsageError } from '../core/errors.js';
import { gatherFleet } from '../review/fleet.js';
import { acceptPending, acceptRefusal, acceptUnit, editPending, editUnit, pendingUnits, rejectPending, rejectUnit, skipPending, skipUnit, unitAcceptPlan, type PendingReview, type PendingUnit } from '../review/session.js';
import { unitValidationState } from '../pipeline/unit-commit.js';
import { selectUnit } from '../discover/resolve.js';
import { unitSources } from '../discover/base-units.js';
import { printDiffs } from '../report/run-printer.js';
import { colours } from '../report/terminal.js';
import { commandProfile, resolveRoot, type CommonFlags } from './common.js';
import { io } from '../core/invocation.js';
import { headBranchNow } from '../record/validation-cache.js';
import { checkSigning, warnFallbackIdentity } from '../record/git.js';

export interface ReviewFlags extends CommonFlags {
  profile?: string;
}

type Key = 'a' | 'r' | 'e' | 's' | 'q';

/** One answer at a time: a raw key on a terminal, else the first letter of each input line (end of input: quit). */
function keyReader() {
  const stdin = io.stdin;
  if (stdin.isTTY) {
    return {
      async next(): Promise<string> {
        stdin.setRawMode(true);
        stdin.resume();
        const data: Buffer = await new Promise((resolve) => stdin.once('data', resolve));
        stdin.setRawMode(false);
        stdin.pause();
        const k = data.toString('utf8');
        return k === '\u0003' || k === '\u0004' ? 'q' : k.toLowerCase();
      },
      close() {
        stdin.pause();
      },
    };
  }
  const lines = createInterface({ input: stdin })[Symbol.asyncIterator]();
  return {
    async next(): Promise<string> {
      const r = await lines.next();
      return r.done ? 'q' : (r.value.trim()[0] ?? '').toLowerCase();
    },
    close() {
      stdin.destroy();
    },
  };
}

export async function reviewCommand(agents: string[], flags: ReviewFlags): Promise<number> {
  const root = resolveRoot(flags);
  const profile = commandProfile(flags, root).profile;
  // What the reviewer is shown is of this branch: an accept commits only on it (or on the branch its _v2 was validated on).
  const started = headBranchNow(root);
  const scan = await scanRepository(root, profile);
  const fleet = await gatherFleet(root, scan);
  for (const line of fleet.unreadable) io.stderr.write(`migrate: note: ${line}\n`);
  const byName = new Map(scan.agents.map((a) => [a.name, a]));
  let pending: PendingReview[] = fleet.agents
    // Only a _v2 on disk waits for a decision: a committing run that failed removed its _v2, and the
    // fleet still shows that failure's diff (the report's), which there is nothing to accept or delete.
    .filter((a) => a.output && !a.commit && a.texts && ['migrated', 'needs-review', 'not-validated', 'failed'].includes(a.status) && byName.has(a.name) && existsSync(path.join(root, a.output)))
    .map((a) => ({ agent: a, info: byName.get(a.name)!, abs: path.join(root, a.file), outAbs: path.join(root, a.output!) }));
  // A base migration unit a --no-commit run left is one item: named by its base, one of its agents or their files.
  let units: PendingUnit[] = pendingUnits(root, scan.units);
  if (agents.length) {
    const wanted = new Set(agents);
    const unitOf = (n: string) => units.find((u) => u.unit.name === selectUnit(scan, root, n)?.unit.name);
    const unknown = agents.filter((n) => !pending.some((p) => p.agent.name === n || p.agent.file === n || p.agent.output === n) && !unitOf(n));
    if (unknown.length) throw new UsageError(`nothing to review for ${unknown.join(', ')}: no uncommitted _v2 (see migrate status)`);
    pending = pending.filter((p) => wanted.has(p.agent.name) || wanted.has(p.agent.file) || wanted.has(p.agent.output!));
    units = units.filter((u) => agents.some((n) => unitOf(n) === u));
  }
  const out = io.stdout;
  const c = colours(out);
  if (!pending.length && !units.length) {
    out.write('nothing to review: no migrated agent is waiting uncommitted (run `migrate run --no-commit` first)\n');
    return 0;
  }
  // An accept is a commit: where signing cannot work, one line before the first diff, as commit and promote
  // refuse (before, the reviewer read and accepted, and only then met git's "gpg failed to sign the data").
  await checkSigning(root, 'then run `migrate review` again (the _v2 files stay as they are)');
  await warnFallbackIdentity(root, (text) => io.stderr.write(text), 'an accept commits');
  const tally = { accept: 0, reject: 0, skip: 0, edit: 0 };
  let failures = 0;
  let left = pending.length + units.length;
  const total = pending.length + units.length;
  const keys = keyReader();
  try {
    for (const [n, u] of units.entries()) {
      let done = false;
      while (!done) {
        const { plan, refusal } = unitAcceptPlan(root, u, profile);
        showUnit(u, n + 1, plan?.base ?? null);
        out.write(`${c.bold('[a]ccept')} commit the unit  ${c.bold('[r]eject')} delete its _v2 files  ${c.bold('[e]dit')} ${u.files[0]} in $EDITOR  ${c.bold('[s]kip')}  ${c.bold('[q]uit')} ? `);
        const key = (await keys.next()) as Key;
        out.write(`${key}\n`);
        try {
          if (key === 'a') {
            if (refusal) {
              out.write(`${c.red('cannot accept')}: ${refusal}\n`);
              continue;
            }
            const sha = await acceptUnit(root, u, profile);
            out.write(`${c.green('accepted')} base migration unit ${u.unit.name}: committed ${sha.slice(0, 10)} (${u.files.join(', ')} and migration-log/${u.unit.name}.json)\n\n`);
            tally.accept++;
            done = true;
          } else if (key === 'r') {
            await rejectUnit(root, u);
            out.write(`${c.red('rejected')} base migration unit ${u.unit.name}: ${u.files.join(', ')} deleted, nothing committed\n\n`);
            tally.reject++;
            done = true;
          } else if (key === 'e') {
            // Only the base's _v2: each agent's _v2 must stay its file but for the import (commit checks it).
            const r = await editUnit(root, u);
            tally.edit++;
            out.write(
              r.problem
                ? `${c.red('the edited unit does not pass')}: ${r.problem}\n`
                : r.changed
                  ? `edited ${u.files[0]}; its agents ran on the old bytes: \`migrate validate ${u.unit.name}\` validates them on it, then \`migrate commit ${u.unit.name}\` (or review's accept) commits the unit\n`
                  : 'no change\n',
            );
          } else if (key === 's') {
            skipUnit(root, u);
            out.write(`skipped base migration unit ${u.unit.name}\n\n`);
            tally.skip++;
            done = true;
          } else if (key === 'q') {
            out.write('quit\n');
            return finish();
          } else {
            out.write('answer a, r, e, s or q\n');
          }
        } catch (err) {
          failures++;
          out.write(`${c.red('error')}: ${u.unit.name}: ${oneLine(err)}\n`);
          done = key !== 'e';
        }
      }
      left--;
    }
    for (const [n, p] of pending.entries()) {
      let done = false;
      while (!done) {
        show(p, units.length + n + 1, total);
        out.write(`${c.bold('[a]ccept')} commit it  ${c.bold('[r]eject')} delete the _v2  ${c.bold('[e]dit')} in $EDITOR  ${c.bold('[s]kip')}  ${c.bold('[q]uit')} ? `);
        const key = (await keys.next()) as Key;
        out.write(`${key}\n`);
        try {
          if (key === 'a') {
            const refusal = acceptRefusal(p);
            if (refusal) {
              out.write(`${c.red('cannot accept')}: ${refusal}\n`);
              continue;
            }
            const sha = await acceptPending(root, p, profile, started);
            out.write(`${c.green('accepted')} ${p.agent.name}: committed ${sha.slice(0, 10)} (${p.agent.output} and migration-log/${p.agent.name}.json)${p.agent.validation ? '' : '; not validated: the record says so (validation null)'}\n\n`);
            tally.accept++;
            done = true;
          } else if (key === 'r') {
            await rejectPending(root, p);
            out.write(`${c.red('rejected')} ${p.agent.name}: ${p.agent.output} deleted, nothing committed\n\n`);
            tally.reject++;
            done = true;
          } else if (key === 'e') {
            const r = await editPending(root, p, profile);
            tally.edit++;
            if (r.changed) {
              // Whatever validated the old bytes says nothing about these.
              p.agent.validation = null;
              p.agent.texts = { source: p.agent.texts!.source, output: readFileSync(p.outAbs, 'utf8') };
            }
            out.write(r.problem ? `${c.red('the edited file does not pass')}: ${r.problem}\n` : r.changed ? 'edited; not validated since (migrate validate checks it)\n' : 'no change\n');
          } else if (key === 's') {
            skipPending(root, p);
            out.write(`skipped ${p.agent.name}\n\n`);
            tally.skip++;
            done = true;
          } else if (key === 'q') {
            out.write('quit\n');
            return finish();
          } else {
            out.write('answer a, r, e, s or q\n');
          }
        } catch (err) {
          failures++;
          out.write(`${c.red('error')}: ${p.agent.name}: ${oneLine(err)}\n`);
          done = key !== 'e';
        }
      }
      left--;
    }
    return finish();
  } finally {
    keys.close();
  }

  function finish(): number {
    out.write(`${tally.accept} accepted, ${tally.reject} rejected, ${tally.skip} skipped, ${tally.edit} edit(s); ${left} left to review\n`);
    return failures ? 1 : 0;
  }

  function showUnit(u: PendingUnit, i: number, base: { removed: string[]; kept: Array<{ symbol: string; line: number; reason: string }>; warnings: string[] } | null): void {
    const { unit, files } = u;
    out.write(`\n${c.bold(`── ${i}/${total} base migration unit ${unit.name}`)} (${unit.members.length} agent${unit.members.length === 1 ? '' : 's'}: ${unit.members.map((m) => m.class).join(', ')}) ${unit.base.file}:${unit.base.line}\n`);
    const sources = unitSources(unit);
    printDiffs(sources.map((src, k) => createTwoFilesPatch(src, files[k]!, readFileSync(path.join(root, src), 'utf8'), readFileSync(path.join(root, files[k]!), 'utf8'))), out);
    if (base) {
      out.write(`removed from ${unit.name}: ${base.removed.length ? base.removed.join(', ') : 'nothing'}\n`);
      for (const k of base.kept) out.write(`${c.yellow('review')}  line ${k.line}: ${k.symbol}: ${k.reason}\n`);
      for (const w of base.warnings) out.write(`${c.yellow('warning')} ${w}\n`);
    }
    // As commit judges it: a validation made before the base's _v2 last changed says nothing of it.
    for (const m of unitValidationState(root, unit, files)) {
      const v = m.report;
      if (v) {
        const checks = v.checks.map((x) => `${x.name} ${x.skipped ? 'skipped' : x.ok ? 'ok' : 'FAILED'} ${(x.ms / 1000).toFixed(1)} s`).join(', ');
        const stale = v.ok && m.problem ? ` (${m.problem})` : '';
        out.write(`${m.class} validation ${v.ok ? (stale ? c.yellow('passed') : c.green('passed')) : c.red('failed')}${stale}: ${checks}\n`);
      } else out.write(`${m.class} validation: ${c.dim('not validated as it is now')}\n`);
    }
  }

  function show(p: PendingReview, i: number, total: number): void {
    const a = p.agent;
    out.write(`\n${c.bold(`── ${i}/${total} ${a.name}`)} (${a.status}) ${a.file} -> ${a.output}\n`);
    printDiffs([createTwoFilesPatch(a.file, a.output!, a.texts!.source, a.texts!.output)], out);
    for (const k of a.kept_for_review) out.write(`${c.yellow('review')}  line ${k.line}: ${k.symbol}: ${k.reason}\n`);
    for (const w of a.warnings) out.write(`${c.yellow('warning')} ${w}\n`);
    const v = a.validation;
    if (v) {
      const checks = v.checks.map((x) => `${x.name} ${x.skipped ? 'skipped' : x.ok ? 'ok' : 'FAILED'} ${(x.ms / 1000).toFixed(1)} s`).join(', ');
      out.write(`validation ${v.ok ? c.green('passed') : c.red('failed')}: ${checks}\n`);
    } else out.write(`validation: ${c.dim('not validated')}\n`);
    if (a.error) out.write(`${c.red('error')}: ${a.error}\n`);
  }
}
