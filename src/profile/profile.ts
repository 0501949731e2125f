// Profiles are YAML data under templates/profiles/, checked against
// templates/profiles/profile.schema.json (ajv) so a team's own profile fails
// with a clear message instead of a crash deep in a transform.
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from '../core/yaml.js';
import { UsageError } from '../core/errors.js';
import { ajvFor, precompiled, precompiledYaml, type SchemaValidator } from '../core/precompiled.js';
import { forgetOnReset } from '../core/invocation.js';
import type { Language } from '../core/types.js';

export interface PythonProfile {
  module: string;
  import: string;
  source?: string;
  runtime_template?: string;
  /** Modules `migrate init` copies beside the base (paths under templates/). */
  runtime_companions?: string[];
  super_call: {
    name_keyword: string;
    pass_through?: Record<string, string[]>;
    forward_kwargs?: boolean;
    /**
     * The base's flag (given `=True`) saying the health port it is handed also carried the agent's business
     * routes, which then stay on that port whatever the environment says the health port is.
     */
    keep_routes_keyword?: string;
  };
  entrypoint: string;
  main_loop_method?: string;
  /** The base's one pass of its loop (HardenedAgentBase.run_cycle()): what a one-shot entry point's cycle call becomes. */
  cycle_method?: string;
  /**
   * The field of health_hook's summary counting what cycle_method() caught and logged (a failed
   * collect_data() among them): a one-shot entry point whose legacy cycle could raise (exit status 1)
   * reads it after the pass to exit 1 the same way.
   */
  cycle_failures?: string;
  /** health_summary()'s count of the events run_cycle() could not publish and kept in local_queue (`ok = agent.collect()` one-shot modes). */
  cycle_queued?: string;
  hooks?: string[];
  remove: string[];
  fallback: {
    owned_attributes: string[];
    methods: string[];
    init_calls: string[];
    /** The base's "publish these events or keep them in the local queue, answer True/False" method (learned from the source when present). */
    queued_publish?: string;
  };
  /** Ports the base binds when its source is not in the repository ("port", "health_check_port", "port + 2"). */
  base_binds?: string[];
  /** The base method its health endpoint reports (an override built on super() adds the agent's fields). */
  health_hook?: string;
  /** The base's teardown: what a kept business teardown ends with (once). */
  teardown?: string;
}

export interface TypeScriptProfile {
  import_name: string;
  module: string;
  runtime_template?: string;
  super_call: { name_property: string; pass_through?: Record<string, string[]> };
  entrypoint: string;
  main_loop_method?: string;
  hooks?: string[];
  remove?: string[];
}

export interface ValidationProfile {
  /** How the base exposes health: HTTP GET /health, or a ZMQ REQ on the health port. */
  health?: 'http' | 'zmq';
  /** The environment variable through which the base learns its health port. */
  health_port_env?: string;
  /** How the base registers: HTTP POST to REGISTRY_URL, a Redis hash, or not at all. */
  registry?: 'http' | 'redis' | 'none';
  /** The environment variable naming the registry. */
  registry_env?: string;
  /** Which checks apply; listing `deregister` says the base deregisters at stop what it registered. */
  checks?: Array<'health' | 'registry' | 'metrics' | 'shutdown' | 'deregister' | 'log' | 'eventbus' | 'survival' | 'ports'>;
  registry_deadline_s?: number;
  shutdown_deadline_s?: number;
  /** After its first healthy answer the agent must stay up and keep answering this long (default 30). */
  survival_window_s?: number;
  /** Seconds between two health probes during the window (default 2). */
  survival_interval_s?: number;
  /** How many windows in a row (default 1). */
  survival_repeats?: number;
}

/**
 * A base-to-base profile's old base: agents whose parent is `class` move onto the profile's
 * base_class, its hooks and constructor options renamed to the new base's.
 */
export interface FromBaseProfile {
  class: string;
  /** Module specifiers the old base is imported from, matched by their last path segment; any when absent. */
  modules?: string[];
  /** Old hook name → new base hook (init → onStart, start → runOnce, stop → onStop). */
  hooks?: Record<string, string>;
  /** Keys of the object passed to the old base's constructor → the new base's option keys. */
  options?: Record<string, string>;
  /** Members only the old base had → an expression on the new base (`this.x` written out), or null for none. */
  members?: Record<string, string | null>;
  /** The old base's running flag (its `while (this.<flag>)` loop is the one the new base runs). */
  running_flag?: string;
}

export interface Profile {
  name: string;
  description?: string;
  base_class: string;
  /** The profile this one starts from (its keys win). */
  extends?: string;
  from_base?: FromBaseProfile;
  python?: PythonProfile;
  typescript?: TypeScriptProfile;
  validation: ValidationProfile;
  /** Absolute path of the file the profile was read from. */
  file: string;
  /**
   * Not data (never in a profile's YAML): set by the profile choice (profile/choose.ts) when the
   * repository's TypeScript and JavaScript files take another profile than its Python files (a
   * Python-only profile detected beside TypeScript classes: those keep the default's typescript
   * section). Read it through profileFor().
   */
  typescriptProfile?: Profile;
  /**
   * Not data either: set by the profile choice when the repository defines both the default's
   * Python base and the detected profile's (a seed-000 fleet beside a hardened one): this profile
   * takes the Python files of its base's package and those importing that package, the others
   * keep `other`. Read it through profileFor() with the file.
   */
  pythonSplit?: PythonSplit;
}

export interface PythonSplit {
  /** The profile of the Python files this profile does not own. */
  other: Profile;
  /** Folders (relative, ending in `/`) of the package this profile's base sits in: `amoskys/`, `src/amoskys/`. */
  packages: string[];
  /** Python files outside those folders that import the package (relative, `/` separators). */
  importers: string[];
}

/**
 * The profile a file of this language is migrated with (see Profile.typescriptProfile and
 * Profile.pythonSplit); `file` is the agent's path from the root.
 */
export function profileFor(profile: Profile, language: Language, file?: string): Profile {
  if (language === 'typescript') return profile.typescriptProfile ?? profile;
  const split = profile.pythonSplit;
  if (!split || file === undefined) return profile;
  return ownsPythonFile(split, file) ? profile : split.other;
}

/** Whether the split's own profile takes this Python file (a `_v2` goes with its legacy file). */
export function ownsPythonFile(split: PythonSplit, file: string): boolean {
  const rel = file.split(path.sep).join('/').replace(/^\.\//, '');
  const legacy = rel.replace(/_v2\.py$/, '.py');
  return split.packages.some((dir) => rel.startsWith(dir)) || split.importers.includes(rel) || split.importers.includes(legacy);
}

/** `profile` for Python files and `typescript` for TypeScript and JavaScript files (a new object: loaded profiles are shared). */
export function withTypeScriptProfile(profile: Profile, typescript: Profile): Profile {
  return typescript === profile ? profile : { ...profile, typescriptProfile: typescript };
}

/** The package's own templates/ folder (works from src/ under vitest and from dist/src/). */
export function templatesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'templates');
    if (existsSync(path.join(candidate, 'profiles'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the templates/ folder of migrate');
}

let validator: SchemaValidator | undefined;

function validate(data: unknown, file: string): asserts data is Omit<Profile, 'file'> {
  if (!validator) {
    // Generated at build time from this schema (scripts/build-validators.mjs), or compiled now.
    const text = readFileSync(path.join(templatesDir(), 'profiles', 'profile.schema.json'), 'utf8');
    validator = precompiled('profile', text)?.default ?? ajvFor('profile').compile(JSON.parse(text));
  }
  if (!validator!(data)) {
    const errors = (validator!.errors as Array<{ instancePath: string; message?: string }>) ?? [];
    const first = errors[0];
    throw new UsageError(
      `${file}: invalid profile: ${first ? `${first.instancePath || '/'} ${first.message}` : 'schema violation'}`,
    );
  }
}

const cache = new Map<string, Profile>();
forgetOnReset(() => cache.clear());

/**
 * Load a profile by name (a file templates/profiles/<name>.yaml of the tool, or
 * <root>/.migrate/profiles/<name>.yaml of the repository) or by path.
 */
export function loadProfile(nameOrPath = 'base-agent', root?: string): Profile {
  const candidates: string[] = [];
  if (nameOrPath.endsWith('.yaml') || nameOrPath.endsWith('.yml') || nameOrPath.includes('/')) {
    candidates.push(path.resolve(root ?? process.cwd(), nameOrPath));
  } else {
    if (root) candidates.push(path.join(root, '.migrate', 'profiles', `${nameOrPath}.yaml`));
    candidates.push(path.join(templatesDir(), 'profiles', `${nameOrPath}.yaml`));
  }
  const file = candidates.find((c) => existsSync(c));
  if (!file) {
    throw new UsageError(`unknown profile "${nameOrPath}" (known: ${listProfiles().join(', ')})`);
  }
  const cached = cache.get(file);
  if (cached) return cached;
  const data = withParent(readProfileData(file), file, root, new Set([file]));
  validate(data, file);
  const profile: Profile = { ...(data as Omit<Profile, 'file'>), file };
  cache.set(file, profile);
  return profile;
}

function readProfileData(file: string): Record<string, unknown> {
  let data: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    data = precompiledYaml(text) ?? YAML.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: profile is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`${file}: invalid profile: / must be object`);
  return data as Record<string, unknown>;
}

/** `extends: <profile>`: the parent's keys, then this file's (checked as a whole afterwards). */
function withParent(data: Record<string, unknown>, file: string, root: string | undefined, seen: Set<string>): Record<string, unknown> {
  const parentName = data.extends;
  if (typeof parentName !== 'string') return data;
  const parentFile = [...(root ? [path.join(root, '.migrate', 'profiles', `${parentName}.yaml`)] : []), path.join(templatesDir(), 'profiles', `${parentName}.yaml`)].find(
    (c) => existsSync(c) && c !== file,
  );
  if (!parentFile) throw new UsageError(`${file}: invalid profile: /extends names an unknown profile "${parentName}"`);
  if (seen.has(parentFile)) throw new UsageError(`${file}: invalid profile: /extends forms a cycle through ${parentFile}`);
  seen.add(parentFile);
  const parent = withParent(readProfileData(parentFile), parentFile, root, seen);
  return { ...parent, ...data };
}

/**
 * Base-to-base profiles that move agents onto the given profile's base: every profile (the
 * repository's under .migrate/profiles first, then migrate's own) with a `from_base` section
 * and the same base_class. A run with the target profile uses them for classes on an old base.
 */
export function rebaseProfiles(target: Profile, root?: string): Profile[] {
  const dirs = [...(root ? [path.join(root, '.migrate', 'profiles')] : []), path.join(templatesDir(), 'profiles')];
  const out: Profile[] = [];
  const names = new Set<string>();
  if (target.from_base) {
    out.push(target);
    names.add(target.name);
  }
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml')).sort()) {
      let p: Profile;
      try {
        p = loadProfile(path.join(dir, f), root);
      } catch {
        continue; // a broken profile is reported when it is selected, not on every run
      }
      if (!p.from_base || p.base_class !== target.base_class || names.has(p.name)) continue;
      names.add(p.name);
      out.push(p);
    }
  }
  return out;
}

export function listProfiles(): string[] {
  return readdirSync(path.join(templatesDir(), 'profiles'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort();
}
