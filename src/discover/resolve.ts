// AGENT on the command line: a class name (any case), a file path (the legacy file or its
// `_v2`), a directory, a glob, or a name from a startup config. Paths are taken relative
// to the current directory first, then to the root, so `migrate run x.py` works from
// `agents/` as well as from the top.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { closeMatch } from '../core/suggest.js';
import type { AgentInfo, BaseUnit, ScanResult } from '../core/types.js';
import { v2Sibling } from '../record/migration-log.js';
import { UsageError } from '../core/errors.js';
import type { Profile } from '../profile/profile.js';
import { scanRepository } from './scan.js';

const GLOB = /[*?[\]{}]/;

const posix = (p: string) => p.split(path.sep).join('/');

/** Root-relative spellings of a path argument: from the current directory, then from the root. */
function relativeCandidates(root: string, arg: string, cwd: string): string[] {
  const out = new Set<string>();
  if (path.isAbsolute(arg)) out.add(posix(path.relative(root, arg)));
  else {
    out.add(posix(path.relative(root, path.resolve(cwd, arg))));
    out.add(posix(path.normalize(arg)));
  }
  return [...out].map((p) => p.replace(/\/+$/, '') || '.');
}

/** The one agent AGENT names (never a directory or glob). Throws a one-line UsageError. */
export function findAgent(scan: ScanResult, root: string, nameOrPath: string, cwd = process.cwd()): AgentInfo {
  const hit = byName(scan, nameOrPath) ?? byFile(scan, relativeCandidates(root, nameOrPath, cwd)) ?? byNameIgnoringCase(scan, nameOrPath);
  if (hit) return hit;
  for (const rel of relativeCandidates(root, nameOrPath, cwd)) {
    const skipped = scan.skipped.find((s) => s.file === rel);
    if (skipped) throw new UsageError(`${rel} is not an agent: ${skipped.reason}`);
  }
  // A file's second legacy agent, which scan lists: why the run does not take it on its own.
  for (const a of scan.agents) {
    const other = a.other_agents?.find((o) => o.class === nameOrPath);
    if (other) throw new UsageError(`${other.class} (${a.file}:${other.line}) is not migrated on its own: ${other.reason}`);
  }
  // A base migration unit named by its base or one of its agents: what the scan said of it.
  for (const u of scan.units ?? []) {
    if (u.name === nameOrPath) throw new UsageError(`${u.name} is not an agent: ${u.reason}`);
    const member = u.members.find((m) => m.class === nameOrPath);
    const skip = member && scan.skipped.find((s) => s.file === member.file);
    if (skip) throw new UsageError(`${nameOrPath} (${skip.file}) is not migrated on its own: ${skip.reason}`);
  }
  // A file the scan could not parse (a syntax error, bad encoding) may hold it: say which and where,
  // not "no agent named" (the scan's one line names the file and line).
  const broken = scan.skipped.filter((s) => s.error);
  const holder = broken.find((s) => declaresClass(path.join(root, s.file), nameOrPath));
  if (holder) throw new UsageError(`${nameOrPath} is declared in ${holder.file}, which cannot be migrated: ${holder.reason}`, 'unknown-agent');
  const unread = broken.length ? `; ${broken.length} file${broken.length > 1 ? 's' : ''} could not be parsed (${broken[0]!.reason}${broken.length > 1 ? ', ...' : ''})` : '';
  throw new UsageError(`no agent named "${nameOrPath}" under ${root}${suggestion(scan, nameOrPath)}${unread}`, 'unknown-agent');
}

/** The file's text declares a class of that name (`class X`, `class X(Base):`, `export class X extends`). */
function declaresClass(file: string, name: string): boolean {
  if (!/^[A-Za-z_$][\w$]*$/.test(name)) return false;
  try {
    return new RegExp(`(^|[\\s;{}])class\\s+${name.replace(/\$/g, '\\$')}(?![\\w$])`, 'm').test(readFileSync(file, 'latin1'));
  } catch {
    return false;
  }
}

/**
 * Every agent the arguments select, in argument order without repeats: names and files
 * as findAgent, plus directories (every agent under them) and globs (every agent whose
 * file, relative to the root or to the current directory, matches).
 */
export function selectAgents(scan: ScanResult, root: string, args: string[], cwd = process.cwd()): AgentInfo[] {
  const picked = new Map<string, AgentInfo>();
  for (const arg of args) {
    for (const a of selectOne(scan, root, arg, cwd)) picked.set(a.file, a);
  }
  return [...picked.values()];
}

function selectOne(scan: ScanResult, root: string, arg: string, cwd: string): AgentInfo[] {
  const named = byName(scan, arg);
  if (named) return [named];
  const scope = argumentScope(root, arg, cwd);
  if (!scope || scope.kind === 'file') return [findAgent(scan, root, arg, cwd)];
  const hits = scan.agents.filter((a) => scope.covers(a.file) || (a.output !== undefined && scope.covers(a.output)));
  if (!hits.length) {
    throw new UsageError(scope.kind === 'glob' ? `no agent file matches "${arg}" under ${root}` : `no agents in ${arg} (try \`migrate scan\`)`, 'unknown-agent');
  }
  return hits;
}

/**
 * What a path-like argument covers, as a test on root-relative files: a glob, a directory
 * (everything under it) or an existing file. Null for anything else (a name).
 */
export function argumentScope(root: string, arg: string, cwd = process.cwd()): { kind: 'glob' | 'directory' | 'file'; covers: (rel: string) => boolean } | null {
  const rels = relativeCandidates(root, arg, cwd);
  if (GLOB.test(arg)) {
    const matchers = rels.map((p) => picomatch(p, { dot: true }));
    return { kind: 'glob', covers: (f) => matchers.some((m) => m(f)) };
  }
  for (const rel of rels) {
    const abs = path.join(root, rel);
    if (!existsSync(abs)) continue;
    if (statSync(abs).isDirectory()) return { kind: 'directory', covers: (f) => rel === '.' || f.startsWith(`${rel}/`) };
    return { kind: 'file', covers: (f) => f === rel };
  }
  return null;
}

function byName(scan: ScanResult, arg: string): AgentInfo | undefined {
  const hit = scan.agents.find((a) => a.name === arg || a.class === arg) ?? scan.agents.find((a) => a.config_names?.includes(arg));
  if (hit) {
    const sameClass = scan.agents.filter((a) => a.class === arg);
    if (sameClass.length > 1 && hit.name !== arg) {
      throw new UsageError(`"${arg}" is ambiguous: ${sameClass.map((a) => a.file).join(', ')}; name the file instead`);
    }
  }
  return hit;
}

function byFile(scan: ScanResult, rels: string[]): AgentInfo | undefined {
  for (const rel of rels) {
    const hit = scan.agents.find((a) => a.file === rel || a.output === rel);
    if (hit) return hit;
  }
  return undefined;
}

/** `kvcacheagent` for `KVCacheAgent`: accepted when exactly one agent matches. */
function byNameIgnoringCase(scan: ScanResult, arg: string): AgentInfo | undefined {
  const lower = arg.toLowerCase();
  const hits = [...new Set(scan.agents.filter((a) => namesOf(a).some((n) => n.toLowerCase() === lower)))];
  if (hits.length > 1) throw new UsageError(`"${arg}" matches ${hits.map((a) => a.name).join(', ')} (names differ only in case); name one exactly`);
  return hits[0];
}

function namesOf(a: AgentInfo): string[] {
  return [a.name, a.class, ...(a.config_names ?? [])];
}

/** `; did you mean "X"?` for the closest agent name or file, when one is close enough. */
function suggestion(scan: ScanResult, arg: string): string {
  const candidates = [...new Set(scan.agents.flatMap((a) => [...namesOf(a), a.file]))];
  if (!candidates.length) return ' (the scan found no agents; try `migrate scan`)';
  const guess = closeMatch(arg, candidates);
  return guess ? `; did you mean "${guess}"?` : ' (try `migrate scan`)';
}

export async function resolveAgent(root: string, nameOrPath: string, profile: Profile): Promise<AgentInfo> {
  return findAgent(await scanRepository(root, profile), path.resolve(root), nameOrPath);
}

/**
 * The base migration unit AGENT names, for the commands that act on a unit's files (diff, validate):
 * its base (the class, its legacy or `_v2` file) means the whole unit; one of its agents (the class,
 * its legacy or `_v2` file) that agent alone. Null when AGENT names no unit of the scan.
 */
export function selectUnit(scan: ScanResult, root: string, arg: string, cwd = process.cwd()): { unit: BaseUnit; member: BaseUnit['members'][number] | null } | null {
  const rels = relativeCandidates(root, arg, cwd);
  const names = (file: string) => rels.includes(file) || rels.includes(v2Sibling(file));
  for (const u of scan.units ?? []) {
    if (u.name === arg || names(u.base.file)) return { unit: u, member: null };
    const member = u.members.find((m) => m.class === arg || names(m.file));
    if (member) return { unit: u, member };
  }
  return null;
}

/** Why a unit named to a command that needs its `_v2` files has none: refused (its blockers), or not run yet. */
export function unitNotWritten(unit: BaseUnit, missing: string[]): string {
  if (unit.status === 'refused') {
    return `base migration unit ${unit.name} (${unit.base.file}:${unit.base.line}) is refused, so it has no _v2: ${unit.blockers.length} blocker${unit.blockers.length === 1 ? '' : 's'} (${unit.blockers.map((b) => `${b.class} ${b.file}:${b.line}`).join(', ')}; migrate scan says why)`;
  }
  return `base migration unit ${unit.name} has no ${missing.join(', ')} (run \`migrate run ${unit.name}\` first, or --dry-run to preview)`;
}
