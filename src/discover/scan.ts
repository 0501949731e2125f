// `scan` over a repository: list files once, let each language adapter classify its
// own, attach existing `_v2` outputs to their legacy agent, name agents from startup
// configs, and keep agent names unique.
import path from 'node:path';
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import type { AgentInfo, ScanResult } from '../core/types.js';
import { ownsPythonFile, profileFor, type Profile } from '../profile/profile.js';
import { throwIfInterrupted } from '../core/errors.js';
// Every language adapter registered before the first scan, whoever imports this.
import '../lang/adapters.js';
import { allAdapters } from '../lang/registry.js';
import { listSourceFiles } from './files.js';
import { isStartupConfig, readStartupConfigs } from './startup-config.js';
import { ignoredBy } from './ignore.js';
import type { ParseStore } from '../pipeline/parse-store.js';

export interface ScanOptions {
  /** .gitignore-style patterns to leave out, besides the config's `ignore:` (--ignore). */
  ignore?: string[];
  /** Read every file in this process, not across worker threads (--run-in-band). */
  inBand?: boolean;
  /** Worker threads (-j). */
  jobs?: number;
  /** Ctrl-C: the scan stops at its next file and throws InterruptedError. */
  signal?: AbortSignal;
  /** Keep the parses the rewrites of a run can reuse here (see ParseStore). */
  parses?: ParseStore;
}

export async function scanRepository(root: string, profile: Profile, opts: ScanOptions = {}): Promise<ScanResult> {
  const abs = path.resolve(root);
  const adapters = allAdapters();
  const ignored = ignoredBy(abs, opts.ignore);
  const listed = listSourceFiles(abs, [...adapters.flatMap((a) => a.extensions), '.yaml', '.yml']);
  const kept = ignored ? listed.filter((f) => !ignored(path.relative(abs, f).split(path.sep).join('/'))) : listed;
  const agents: AgentInfo[] = [];
  const skipped: ScanResult['skipped'] = [];
  // One file reached by two paths (a symlink beside its target, in the repository) is one agent:
  // before, both were scanned, the link's class renamed `X__real_x`, and `run --all` migrated it twice.
  const aliases = symlinkAliases(abs, kept);
  for (const [link, target] of aliases) {
    skipped.push({ file: link, reason: `a symlink to ${target}, which is scanned itself: that file is the agent (migrate it by that path or its class)` });
  }
  const all = aliases.size ? kept.filter((f) => !aliases.has(path.relative(abs, f).split(path.sep).join('/'))) : kept;
  const units: NonNullable<ScanResult['units']> = [];
  // The languages are scanned at once: Python's readers work in threads while TypeScript's
  // scan has this one (results are taken in adapter order all the same).
  // Settled, not all: an interrupted language must not leave the other reading on its own.
  const settled = await Promise.allSettled(
    adapters.map((adapter) => {
      const mine = all.filter((f) => adapter.extensions.some((e) => f.endsWith(e)));
      // `_v2` files are outputs of a legacy sibling; classify them only when they stand alone.
      const sources = mine.filter((f) => {
        const legacy = legacyOf(f, adapter.extensions);
        return !legacy || !existsSync(legacy);
      });
      const scanOpts = { inBand: opts.inBand, jobs: opts.jobs, signal: opts.signal };
      const split = adapter.language === 'python' ? profile.pythonSplit : undefined;
      if (!split) return adapter.scan(abs, sources, profileFor(profile, adapter.language), scanOpts, opts.parses);
      // Two Python fleets (see Profile.pythonSplit): each part is scanned against its own base.
      const owned = (f: string) => ownsPythonFile(split, path.relative(abs, f));
      // One after the other: the two share the reader pool and the scan cache.
      const own = async () => {
        const mine = await adapter.scan(abs, sources.filter(owned), profile, scanOpts, opts.parses);
        const others = await adapter.scan(abs, sources.filter((f) => !owned(f)), split.other, scanOpts, opts.parses);
        return mergeScans([mine, others]);
      };
      return own();
    }),
  );
  throwIfInterrupted(opts.signal);
  const results = settled.map((s) => {
    if (s.status === 'rejected') throw s.reason;
    return s.value;
  });
  for (const [k, adapter] of adapters.entries()) {
    const result = results[k]!;
    for (const a of result.agents) {
      const out = adapter.outputPath(path.join(abs, a.file));
      if (existsSync(out)) a.output = path.relative(abs, out).split(path.sep).join('/');
    }
    agents.push(...result.agents);
    skipped.push(...result.skipped);
    if (result.units?.length) units.push(...result.units);
  }
  const configs = readStartupConfigs(abs, all.filter((f) => isStartupConfig(path.relative(abs, f).split(path.sep).join('/'))));
  for (const a of agents) {
    // A config promoted to the `_v2` (promote --mode script_path) still starts this agent.
    const names = configs.filter((c) => c.script === a.file || (a.output !== undefined && c.script === a.output)).map((c) => c.name);
    if (names.length) a.config_names = [...new Set(names)];
  }
  // Two files may hold classes of one name: qualify the later ones by file so names stay unique.
  const seen = new Map<string, number>();
  for (const a of agents.sort((x, y) => x.file.localeCompare(y.file))) {
    const n = seen.get(a.name) ?? 0;
    seen.set(a.name, n + 1);
    if (n > 0) a.name = `${a.name}__${a.file.replace(/\.[^./]+$/, "").replace(/[^A-Za-z0-9_]/g, "_")}`;
  }
  skipped.sort((x, y) => x.file.localeCompare(y.file));
  return units.length ? { agents, skipped, units } : { agents, skipped };
}

function mergeScans(parts: ScanResult[]): ScanResult {
  const units = parts.flatMap((p) => p.units ?? []);
  const merged: ScanResult = { agents: parts.flatMap((p) => p.agents), skipped: parts.flatMap((p) => p.skipped) };
  return units.length ? { ...merged, units } : merged;
}

function legacyOf(file: string, extensions: string[]): string | null {
  for (const e of extensions) {
    if (file.endsWith(`_v2${e}`)) return file.slice(0, -(`_v2${e}`.length)) + e;
  }
  return null;
}

/**
 * The listed files that are symlinks to another listed file (its real path the same): each
 * link's path from the root, to the path that stays (a regular file when one is listed, else the
 * first link in order). A link to a file not listed is no alias: it is the only way to the file.
 */
function symlinkAliases(root: string, files: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const links = files.filter((f) => {
    try {
      return lstatSync(f).isSymbolicLink();
    } catch {
      return false;
    }
  });
  if (!links.length) return out;
  const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');
  const real = (f: string) => {
    try {
      return realpathSync(f);
    } catch {
      return null;
    }
  };
  const linkSet = new Set(links);
  const owner = new Map<string, string>();
  // A listed regular file's real path is the root's real path and its path from there (git lists no
  // file through a linked folder): only the links are resolved.
  const realRoot = real(root) ?? root;
  // Regular files first, then links in order: the first to claim a real path keeps it.
  for (const f of [...files.filter((x) => !linkSet.has(x)), ...links]) {
    const r = linkSet.has(f) ? real(f) : path.join(realRoot, path.relative(root, f));
    if (r === null) continue;
    const first = owner.get(r);
    if (first === undefined) owner.set(r, f);
    else if (linkSet.has(f)) out.set(rel(f), rel(first));
  }
  return out;
}
