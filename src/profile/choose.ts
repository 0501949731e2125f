// Which profile a command works with when the user did not say: `--profile` always wins; else
// `profile: NAME` in <root>/.migrate/config.yaml; else the repository's own structure: a Python
// profile whose base class is defined at its import location (amoskys/agents/common/base.py
// holding HardenedAgentBase, also under a source folder such as src/) or which the repository's
// files already import (`from amoskys.agents.common.base import HardenedAgentBase`), when exactly
// one profile other than the default matches (and, when it has no typescript section, the repository
// holds no TypeScript class its agents could be); else the default (base-agent: its TypeScript
// section and the base-to-base profiles it brings, such as base-service, stay as they are).
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError, oneLine } from '../core/errors.js';
import { readRepoSettings } from '../config/settings.js';
import { listSourceFiles } from '../discover/files.js';
import { ignoredBy } from '../discover/ignore.js';
import { TS_EXTENSIONS } from '../lang/typescript/paths.js';
import { loadProfile, templatesDir, type Profile } from './profile.js';

export const DEFAULT_PROFILE = 'base-agent';

export type ProfileSource = 'flag' | 'config' | 'detected' | 'default';

export interface ProfileChoice {
  profile: Profile;
  chosen_by: ProfileSource;
  /** Why, in one line: the flag, the config's file:line, the files that showed the base, or why the default stayed. */
  reason: string;
}

export interface ChooseOptions {
  /** Look at the repository's structure when neither the flag nor the config says (init does not: it creates the base). */
  detect?: boolean;
  /** Patterns left out of the look, besides the config's `ignore:` (--ignore). */
  ignore?: string[];
}

export function chooseProfile(root: string, flag: string | undefined, opts: ChooseOptions = {}): ProfileChoice {
  if (flag !== undefined) return { profile: loadProfile(flag, root), chosen_by: 'flag', reason: `--profile ${flag}` };
  const pinned = readRepoSettings(root).profile;
  if (pinned) {
    let profile: Profile;
    try {
      profile = loadProfile(pinned.name, root);
    } catch (err) {
      throw new UsageError(`${pinned.origin}: profile: ${oneLine(err)}`);
    }
    return { profile, chosen_by: 'config', reason: `profile: ${pinned.name} in ${pinned.origin}` };
  }
  const fallback = loadProfile(DEFAULT_PROFILE, root);
  if (opts.detect === false) {
    return { profile: fallback, chosen_by: 'default', reason: `the default (no --profile, no profile: in .migrate/config.yaml)` };
  }
  const matches = detectProfiles(root, fallback, opts.ignore);
  if (matches.length === 1) {
    const m = matches[0]!;
    // A Python-only profile would fail every TypeScript agent the default migrates today: keep the default.
    const tsClass = m.profile.typescript ? undefined : typeScriptClassFile(root, opts.ignore);
    if (tsClass) {
      return {
        profile: fallback,
        chosen_by: 'default',
        reason: `the default: ${m.evidence}, but ${tsClass} holds a TypeScript class and ${m.profile.name} has no typescript section; choose with --profile (per language) or profile: in .migrate/config.yaml`,
      };
    }
    return { profile: m.profile, chosen_by: 'detected', reason: `${m.evidence}; --profile or profile: in .migrate/config.yaml chooses another` };
  }
  if (matches.length > 1) {
    const each = matches.map((m) => `${m.profile.name} (${m.evidence})`).join('; ');
    return { profile: fallback, chosen_by: 'default', reason: `the default: the repository matches ${matches.length} profiles, ${each}; choose one with --profile or profile: in .migrate/config.yaml` };
  }
  return { profile: fallback, chosen_by: 'default', reason: `the default: no other profile's base class is defined or imported in the repository` };
}

/** The `profile` object of scan, run and status --json. */
export interface ProfileJson {
  name: string;
  chosen_by: ProfileSource;
  reason: string;
}

interface Match {
  profile: Profile;
  evidence: string;
}

/** Python profiles besides the default (the repository's under .migrate/profiles first), base-to-base ones left out. */
function candidateProfiles(root: string, fallback: Profile): Profile[] {
  const out: Profile[] = [];
  const names = new Set<string>([fallback.name]);
  for (const dir of [path.join(root, '.migrate', 'profiles'), path.join(templatesDir(), 'profiles')]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml')).sort()) {
      let p: Profile;
      try {
        p = loadProfile(f.replace(/\.yaml$/, ''), root);
      } catch {
        continue; // a broken profile is reported when it is selected, not on every command
      }
      if (names.has(p.name)) continue;
      names.add(p.name);
      // A base-to-base profile is used by the default's run for classes on its old base; one with
      // the default's base and module is the default under another name.
      if (p.from_base || !p.python) continue;
      if (p.base_class === fallback.base_class && p.python.module === fallback.python?.module) continue;
      out.push(p);
    }
  }
  return out;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The first TypeScript/JavaScript file of the repository declaring a class (where its agents would be), if any. */
function typeScriptClassFile(root: string, ignore?: string[]): string | undefined {
  const abs = path.resolve(root);
  const ignored = ignoredBy(abs, ignore);
  const declares = /^[ \t]*(?:export[ \t]+)?(?:default[ \t]+)?(?:abstract[ \t]+)?class[ \t]+[A-Za-z_$]/m;
  for (const f of listSourceFiles(abs, TS_EXTENSIONS)) {
    const rel = path.relative(abs, f).split(path.sep).join('/');
    if (/\.d\.[cm]?ts$/.test(rel) || ignored?.(rel)) continue;
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    if (declares.test(text)) return rel;
  }
  return undefined;
}

/**
 * The start of a file, where a module's imports and a base module's class are: on a repository that
 * matches no profile (the usual case) every Python file is looked at, on every command, and reading
 * them whole cost a tenth of a cached scan of 1,000 agents.
 */
function head(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.allocUnsafe(HEAD_BYTES);
    const n = readSync(fd, buf, 0, HEAD_BYTES, 0);
    return buf.toString('utf8', 0, n);
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
const HEAD_BYTES = 16 * 1024;

/** Each candidate profile with the first file showing its base: defined at its import location, or imported from there. */
function detectProfiles(root: string, fallback: Profile, ignore?: string[]): Match[] {
  const candidates = candidateProfiles(root, fallback);
  if (!candidates.length) return [];
  const abs = path.resolve(root);
  const ignored = ignoredBy(abs, ignore);
  const rels = listSourceFiles(abs, ['.py'])
    .map((f) => path.relative(abs, f).split(path.sep).join('/'))
    .filter((rel) => !ignored?.(rel))
    .sort();
  const texts = new Map<string, string>();
  const text = (rel: string): string => {
    let t = texts.get(rel);
    if (t === undefined) {
      t = head(path.join(abs, rel));
      texts.set(rel, t);
    }
    return t;
  };
  // A base module is read whole (its class may follow long helpers); the others only for their imports.
  const whole = (rel: string): string => {
    try {
      return readFileSync(path.join(abs, rel), 'utf8');
    } catch {
      return '';
    }
  };
  const out: Match[] = [];
  for (const p of candidates) {
    const py = p.python!;
    const modPath = py.module.replace(/\./g, '/');
    const homes = [...new Set([py.source, `${modPath}.py`, `${modPath}/__init__.py`].filter((h): h is string => !!h))];
    // At its import location, or under a folder the package is imported from (src/amoskys/...).
    const atHome = (rel: string) => homes.some((h) => rel === h || rel.endsWith(`/${h}`));
    const defines = new RegExp(`^class\\s+${escape(p.base_class)}\\b`, 'm');
    const home = rels.find((rel) => atHome(rel) && defines.test(whole(rel)));
    if (home) {
      out.push({ profile: p, evidence: `${p.base_class} is defined in ${home}, where ${p.name} imports it from (${py.module})` });
      continue;
    }
    // `from amoskys.agents.common.base import HardenedAgentBase` (also `(..., HardenedAgentBase)`
    // over several lines, or the module reached through a source folder: src.amoskys...).
    const imports = new RegExp(`^[ \\t]*from[ \\t]+(?:[\\w.]+\\.)?${escape(py.module)}[ \\t]+import[ \\t]+(?:\\([^)]*|[^\\n]*)\\b${escape(p.base_class)}\\b`, 'm');
    const importer = rels.find((rel) => text(rel).includes(p.base_class) && imports.test(text(rel)));
    if (importer) out.push({ profile: p, evidence: `${importer} imports ${p.base_class} from ${py.module}, the base of ${p.name}` });
  }
  return out;
}
