// `migrate init`: put the profile's reference base class where the profile
// imports it from, when the repository has none. Never overwrites a base.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { loadProfile, templatesDir } from '../profile/profile.js';
import { commandProfile, resolveRoot, verbose, type CommonFlags } from './common.js';
import { chooseProfile } from '../profile/choose.js';
import { findPythonBase } from '../profile/base-source.js';
import { io } from '../core/invocation.js';
import { listSourceFiles } from '../discover/files.js';

export interface InitPlan {
  /** Absolute path of the template shipped with the tool. */
  template: string;
  /** Target path relative to the root. */
  target: string;
  /** Package `__init__.py` files to create (relative), Python only. */
  packageInits: string[];
  /** Modules shipped beside the base (the hardened profile's LocalQueueAdapter): copied when missing. */
  companions?: Array<{ template: string; target: string }>;
}

export function planInit(root: string, lang: 'python' | 'typescript', profileName: string): InitPlan {
  const profile = loadProfile(profileName, root);
  if (lang === 'python') {
    const py = profile.python;
    if (!py?.runtime_template) throw new UsageError(`profile ${profile.name} names no python.runtime_template to copy`);
    const target = py.source ?? `${py.module.split('.').join('/')}.py`;
    const dirs = path.posix.dirname(target).split('/').filter((d) => d && d !== '.');
    const packageInits = dirs.map((_, i) => `${dirs.slice(0, i + 1).join('/')}/__init__.py`);
    const companions = (py.runtime_companions ?? []).map((t) => ({
      template: path.join(templatesDir(), t),
      target: path.posix.join(path.posix.dirname(target), path.posix.basename(t)),
    }));
    return { template: path.join(templatesDir(), py.runtime_template), target, packageInits, companions };
  }
  const ts = profile.typescript;
  if (!ts?.runtime_template) throw new UsageError(`profile ${profile.name} names no typescript.runtime_template to copy`);
  if (!ts.module.startsWith('.') && !ts.module.includes('/')) {
    throw new UsageError(`profile ${profile.name} imports the base from package "${ts.module}": install that package instead`);
  }
  return { template: path.join(templatesDir(), ts.runtime_template), target: `${ts.module.replace(/^\.\//, '')}.ts`, packageInits: [] };
}

/**
 * The language `init` makes a base for when --lang is not given: Python, unless the repository
 * holds JavaScript/TypeScript sources and no Python file (a Node fleet got a Python base).
 */
export function defaultInitLang(root: string): 'python' | 'typescript' {
  if (listSourceFiles(root, ['.py']).length > 0) return 'python';
  const node = listSourceFiles(root, ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs']).filter((f) => !/\.d\.[cm]?ts$/.test(f));
  return node.length > 0 ? 'typescript' : 'python';
}

export async function initCommand(opts: CommonFlags & { lang?: 'python' | 'typescript'; profile?: string }): Promise<number> {
  const root = resolveRoot(opts);
  const lang = opts.lang ?? defaultInitLang(root);
  // init creates the base detection would look for: --profile, else the config's pin, else the default;
  // but a Python base the repository defines already (HardenedAgentBase under src/) is the one its Python
  // files are migrated onto, and no second base is made beside it.
  let choice = commandProfile(opts, root, { detect: false });
  if (lang === 'python' && choice.chosen_by === 'default') {
    const seen = chooseProfile(root, undefined).languages.python;
    if (seen.chosen_by === 'detected' && findPythonBase(root, seen.profile.python!, seen.profile.base_class)) {
      choice = { ...seen, languages: { python: seen, typescript: seen } };
      verbose(opts, `profile for Python files: ${seen.profile.name} (${seen.profile.file}), detected: ${seen.reason}`);
    }
  }
  const plan = planInit(root, lang, choice.profile.file);
  const target = path.join(root, plan.target);
  if (existsSync(target)) {
    throw new UsageError(`${plan.target} already exists: the repository has its base class; not overwriting it`);
  }
  const py = lang === 'python' ? choice.profile.python : undefined;
  const found = py && findPythonBase(root, py, choice.profile.base_class);
  if (found) {
    const rel = path.relative(root, found).split(path.sep).join('/');
    throw new UsageError(`${rel} already defines ${choice.profile.base_class} (profile ${choice.profile.name}): the repository has its base class; not creating another at ${plan.target}`);
  }
  if (!existsSync(plan.template)) {
    throw new UsageError(`the reference ${lang} base class is not shipped with this version of migrate (missing ${plan.template})`);
  }
  mkdirSync(path.dirname(target), { recursive: true });
  const created: string[] = [];
  for (const init of plan.packageInits) {
    const abs = path.join(root, init);
    if (!existsSync(abs)) {
      writeFileSync(abs, '');
      created.push(init);
    }
  }
  copyFileSync(plan.template, target);
  for (const c of plan.companions ?? []) {
    const abs = path.join(root, c.target);
    if (!existsSync(abs) && existsSync(c.template)) {
      copyFileSync(c.template, abs);
      created.push(c.target);
    }
  }
  io.stdout.write(
    `created ${plan.target} from ${path.relative(templatesDir(), plan.template)}${created.length ? ` (and ${created.join(', ')})` : ''}\n`,
  );
  return 0;
}
