// Which profile a command works with when the user did not say: `--profile` always wins; else
// `profile: NAME` in <root>/.migrate/config.yaml; else the repository's own structure: a Python
// profile whose base class is defined at its import location (amoskys/agents/common/base.py
// holding HardenedAgentBase, also under a source folder such as src/) or which the repository's
// files already import (`from amoskys.agents.common.base import HardenedAgentBase`), when exactly
// one profile other than the default matches; else the default (base-agent: its TypeScript
// section and the base-to-base profiles it brings, such as base-service, stay as they are).
// The choice is per language: a detected profile without a typescript section takes the Python
// files, and the TypeScript and JavaScript files keep the default's. Before, one TypeScript class
// anywhere (a web dashboard's static JS) kept the whole repository on the default, and every
// hardened Python agent was rewritten onto BaseAgent.
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError, oneLine } from '../core/errors.js';
import { readRepoSettings } from '../config/settings.js';
import { listSourceFiles } from '../discover/files.js';
import { ignoredBy } from '../discover/ignore.js';
import type { Language } from '../core/types.js';
import { loadProfile, templatesDir, withTypeScriptProfile, type Profile, type PythonSplit } from './profile.js';
import { pythonBaseIn } from './base-source.js';

export const DEFAULT_PROFILE = 'base-agent';

export type ProfileSource = 'flag' | 'config' | 'detected' | 'default';

/** The profile of one language's files, who chose it and why. */
export interface LanguageChoice {
  profile: Profile;
  chosen_by: ProfileSource;
  /** Why, in one line: the flag, the config's file:line, the files that showed the base, or why the default stayed. */
  reason: string;
}

export interface ProfileChoice extends LanguageChoice {
  /**
   * The profile the commands are given: the Python files' (the one the repository shows), carrying
   * the TypeScript files' as `typescriptProfile` when it differs (profileFor picks per file).
   */
  profile: Profile;
  /** Per language: the same as the whole choice, except a detected Python-only profile's TypeScript side. */
  languages: Record<Language, LanguageChoice>;
}

export interface ChooseOptions {
  /** Look at the repository's structure when neither the flag nor the config says (init does not: it creates the base). */
  detect?: boolean;
  /** Patterns left out of the look, besides the config's `ignore:` (--ignore). */
  ignore?: string[];
}

/** One choice for every language. */
function whole(choice: LanguageChoice): ProfileChoice {
  return { ...choice, languages: { python: choice, typescript: choice } };
}

export function chooseProfile(root: string, flag: string | undefined, opts: ChooseOptions = {}): ProfileChoice {
  if (flag !== undefined) return whole({ profile: loadProfile(flag, root), chosen_by: 'flag', reason: `--profile ${flag}` });
  const pinned = readRepoSettings(root).profile;
  if (pinned) {
    let profile: Profile;
    try {
      profile = loadProfile(pinned.name, root);
    } catch (err) {
      throw new UsageError(`${pinned.origin}: profile: ${oneLine(err)}`);
    }
    return whole({ profile, chosen_by: 'config', reason: `profile: ${pinned.name} in ${pinned.origin}` });
  }
  const fallback = loadProfile(DEFAULT_PROFILE, root);
  if (opts.detect === false) {
    return whole({ profile: fallback, chosen_by: 'default', reason: `the default (no --profile, no profile: in .migrate/config.yaml)` });
  }
  const { matches, repo } = detectProfiles(root, fallback, opts.ignore);
  if (matches.length === 1) {
    const m = matches[0]!;
    // The default's base defined too (a seed-000 fleet beside a hardened one): each keeps its own files.
    const split = m.home ? pythonSplitOf(m, fallback, repo) : null;
    const detected = split ? { ...m.profile, pythonSplit: split.split } : m.profile;
    const python: LanguageChoice = {
      profile: detected,
      chosen_by: 'detected',
      reason: `${m.evidence}${split ? `; ${split.reason}` : ''}; --profile or profile: in .migrate/config.yaml chooses another`,
    };
    if (m.profile.typescript || !fallback.typescript) return whole(python);
    // A Python-only profile: the TypeScript and JavaScript files (agents, a dashboard's scripts) keep the default's.
    const typescript: LanguageChoice = {
      profile: fallback,
      chosen_by: 'default',
      reason: `${m.profile.name}, detected for the Python files, has no typescript section: TypeScript and JavaScript files keep the default`,
    };
    return { ...python, profile: withTypeScriptProfile(detected, fallback), languages: { python, typescript } };
  }
  if (matches.length > 1) {
    const each = matches.map((m) => `${m.profile.name} (${m.evidence})`).join('; ');
    return whole({ profile: fallback, chosen_by: 'default', reason: `the default: the repository matches ${matches.length} profiles, ${each}; choose one with --profile or profile: in .migrate/config.yaml` });
  }
  return whole({ profile: fallback, chosen_by: 'default', reason: `the default: no other profile's base class is defined or imported in the repository` });
}

/** The `profile` object of scan, run and status --json: the Python files' choice, and each language's. */
export interface ProfileJson {
  name: string;
  chosen_by: ProfileSource;
  reason: string;
  languages: Record<Language, { name: string; chosen_by: ProfileSource; reason: string }>;
}

interface Match {
  profile: Profile;
  evidence: string;
  /** The file defining the profile's base, when that is how it was found (not by an importer). */
  home?: string;
}

/** What detection read of the repository's Python files, for the split that may follow. */
interface RepoPython {
  rels: string[];
  head: (rel: string) => string;
  whole: (rel: string) => string;
}

/**
 * A repository defining the default's Python base as well as the detected profile's (BaseAgent in
 * common/core/base_agent.py beside HardenedAgentBase in amoskys/agents/common/base.py) holds two
 * fleets: the detected profile takes the files of its base's package (amoskys/) and the files
 * importing that package; every other Python file keeps the default. Before, every Python agent
 * was rewritten onto the detected base, the seed-000 agents too, and none could start on it.
 */
function pythonSplitOf(m: Match, fallback: Profile, repo: RepoPython): { split: PythonSplit; reason: string } | null {
  const py = fallback.python;
  if (!py || !m.home || !m.profile.python) return null;
  const otherHome = pythonBaseIn(repo.rels, py, fallback.base_class, repo.whole);
  if (!otherHome) return null;
  const home = basePackage(m.profile.python.module, m.home);
  if (!home) return null;
  const { pkg, top, imports } = home;
  const importers = repo.rels.filter((rel) => !rel.startsWith(pkg) && rel !== otherHome && repo.head(rel).includes(top) && imports.test(repo.head(rel)));
  return {
    split: { other: fallback, packages: [pkg], importers },
    reason:
      `${fallback.base_class} (${fallback.name}'s base) is defined in ${otherHome} too: ${m.profile.name} takes the Python files under ${pkg}` +
      `${importers.length ? ` and the ${importers.length} importing ${top}` : ''}, the other Python files keep ${fallback.name}`,
  };
}

/**
 * The package a Python base's module makes its fleet's (the folder the module's first component sits in:
 * amoskys/agents/common/base.py for amoskys.agents.common.base is under amoskys/, src/amoskys/... under
 * src/amoskys/), its first component, and what an import of it looks like. Null when `home` is not the module's file.
 */
export function basePackage(module: string, home: string): { pkg: string; top: string; imports: RegExp } | null {
  const modulePath = module.replace(/\./g, '/');
  const prefix = home.endsWith(`${modulePath}.py`) ? home.slice(0, -`${modulePath}.py`.length) : home.endsWith(`${modulePath}/__init__.py`) ? home.slice(0, -`${modulePath}/__init__.py`.length) : null;
  if (prefix === null) return null;
  const top = module.split('.')[0]!;
  return { pkg: `${prefix}${top}/`, top, imports: new RegExp(`^[ \\t]*(?:from|import)[ \\t]+(?:[\\w.]+\\.)?${escape(top)}\\b`, 'm') };
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
function detectProfiles(root: string, fallback: Profile, ignore?: string[]): { matches: Match[]; repo: RepoPython } {
  const candidates = candidateProfiles(root, fallback);
  if (!candidates.length) return { matches: [], repo: { rels: [], head: () => '', whole: () => '' } };
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
  const wholeText = (rel: string): string => {
    try {
      return readFileSync(path.join(abs, rel), 'utf8');
    } catch {
      return '';
    }
  };
  const out: Match[] = [];
  for (const p of candidates) {
    const py = p.python!;
    // At its import location, or under a folder the package is imported from (src/amoskys/...).
    const home = pythonBaseIn(rels, py, p.base_class, wholeText);
    if (home) {
      out.push({ profile: p, evidence: `${p.base_class} is defined in ${home}, where ${p.name} imports it from (${py.module})`, home });
      continue;
    }
    // `from amoskys.agents.common.base import HardenedAgentBase` (also `(..., HardenedAgentBase)`
    // over several lines, or the module reached through a source folder: src.amoskys...).
    const imports = new RegExp(`^[ \\t]*from[ \\t]+(?:[\\w.]+\\.)?${escape(py.module)}[ \\t]+import[ \\t]+(?:\\([^)]*|[^\\n]*)\\b${escape(p.base_class)}\\b`, 'm');
    const importer = rels.find((rel) => text(rel).includes(p.base_class) && imports.test(text(rel)));
    if (importer) out.push({ profile: p, evidence: `${importer} imports ${p.base_class} from ${py.module}, the base of ${p.name}` });
  }
  return { matches: out, repo: { rels, head: text, whole: wholeText } };
}
