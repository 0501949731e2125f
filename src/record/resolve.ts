// Which agent `migrate revert AGENT` means, from the records and the commit
// history alone (no scan needed: an agent can be reverted after its files moved on).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { closeMatch } from '../core/suggest.js';
import { UsageError } from '../core/errors.js';
import { legacyOf, readableRecords, recordPath, toRelative, v2Sibling } from './migration-log.js';
import { commitFiles, readHistory, recordAtCommit, showPrefix } from './git.js';

const CLASS_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Resolve AGENT (a class name, or a legacy or `_v2` file relative to the root)
 * to an agent name. `byConfigName` may map a startup-config name to the
 * agent's legacy file; it is asked only when nothing else matched.
 */
export async function resolveAgent(
  root: string,
  arg: string,
  byConfigName?: (name: string) => Promise<string | null>,
): Promise<string> {
  const history = await readHistory(root);
  if (CLASS_NAME.test(arg) && (history.has(arg) || existsSync(path.join(root, recordPath(arg))))) return arg;
  const known = CLASS_NAME.test(arg) ? [...new Set([...history.keys(), ...readableRecords(root).map((r) => r.agent)])] : [];
  // Any case, as everywhere else: `kvcacheagent` is KVCacheAgent when one migrated agent matches.
  const sameIgnoringCase = known.filter((n) => n.toLowerCase() === arg.toLowerCase());
  if (sameIgnoringCase.length === 1) return sameIgnoringCase[0]!;

  let rel: string;
  try {
    rel = toRelative(root, arg);
  } catch {
    throw new UsageError(`${arg}: no migrated agent has this class name or file (see migrate status)`, 'unknown-agent');
  }
  const wanted = new Set([rel, v2Sibling(rel), legacyOf(rel)].filter((p): p is string => !!p));

  for (const r of readableRecords(root)) {
    if (wanted.has(r.source.path) || wanted.has(r.output.path)) return r.agent;
  }
  const prefix = await showPrefix(root);
  // Newest first: the commit a user most likely means.
  const agents = [...history.values()].sort((a, b) => (a.last.date < b.last.date ? 1 : -1));
  for (const h of agents) {
    for (const m of [...h.migrations].reverse()) {
      const files = (await commitFiles(root, m.sha)).map((f) => (f.startsWith(prefix) ? f.slice(prefix.length) : f));
      if (files.some((f) => wanted.has(f))) return h.agent;
      const record = await recordAtCommit(root, m.sha, h.agent).catch(() => null);
      if (record && (wanted.has(record.source.path) || wanted.has(record.output.path))) return h.agent;
    }
  }
  const file = byConfigName ? await byConfigName(arg).catch(() => null) : null;
  if (file && file !== arg) {
    try {
      return await resolveAgent(root, file);
    } catch (err) {
      // A config name whose file was never migrated: report it under the name the user gave.
      if (!(err instanceof UsageError) || !CLASS_NAME.test(arg)) throw err;
    }
  }
  // A class name with no trace: revertAgent reports it as never migrated, unless it looks
  // like a typo of one that was.
  if (CLASS_NAME.test(arg)) {
    const guess = closeMatch(arg, known);
    if (guess) throw new UsageError(`${arg} was never migrated; did you mean "${guess}"?`, 'unknown-agent');
    return arg;
  }
  throw new UsageError(`${arg}: no migrated agent has this class name or file (see migrate status)`, 'unknown-agent');
}

/**
 * Refuse AGENT when it names an agent of a migrated base migration unit (its class, legacy or `_v2`
 * file): the unit is one commit, undone or promoted as one. `what`: the command's verb.
 */
export function refuseUnitMember(root: string, arg: string, what: string): void {
  let rel: string | null = null;
  try {
    rel = toRelative(root, arg);
  } catch {
    // a class name only
  }
  for (const r of readableRecords(root)) {
    // A class between the base and its agents moved with it too (its _v2 imports the base's _v2).
    const m = [...(r.unit?.members ?? []), ...(r.unit?.middles ?? [])].find((x) => x.class === arg || (rel !== null && (x.source.path === rel || x.output.path === rel)));
    if (m) {
      const head = `${m.class} was migrated with base migration unit ${r.agent} (one commit with ${r.agent}'s _v2, which its _v2 imports)`;
      throw new UsageError(`${head}: ${what} the unit, migrate ${what} ${r.agent}`);
    }
  }
}
