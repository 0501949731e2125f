// `migrate init`: put the profile's reference base class where the profile
// imports it from, when the repository has none. Never overwrites a base.
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MigrateError, UsageError, oneLine } from '../core/errors.js';
import { loadProfile, templatesDir } from '../profile/profile.js';
import { commandProfile, resolveRoot, verbose, type CommonFlags } from './common.js';
import { basePackage, chooseProfile, DEFAULT_PROFILE } from '../profile/choose.js';
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

/**
 * A repository defining the default profile's Python base (BaseAgent in common/core/base_agent.py) holds a
 * second Python fleet on another base only in that base's package (amoskys/ for amoskys.agents.common.base) or
 * in files importing it: that is how the profile choice splits the Python files when both bases are there. A
 * second base made where no Python file would be taken by it would migrate nothing and only sit beside the
 * first: refused in one line. (With such files, both bases are legitimate and init creates the second.)
 */
function refuseIdleSecondBase(root: string, name: string, module: string, target: string): void {
  const fallback = loadProfile(DEFAULT_PROFILE, root);
  if (name === fallback.name || !fallback.python) return;
  const other = findPythonBase(root, fallback.python, fallback.base_class);
  if (!other) return;
  const home = basePackage(module, target);
  if (!home) return;
  const { pkg, top, imports } = home;
  const rels = listSourceFiles(root, ['.py']).map((f) => path.relative(root, f).split(path.sep).join('/'));
  const taken = rels.some((rel) => (rel.startsWith(pkg) && !rel.endsWith('__init__.py')) || (rel !== path.relative(root, other).split(path.sep).join('/') && imports.test(readFileSync(path.join(root, rel), 'utf8'))));
  if (taken) return;
  const rel = path.relative(root, other).split(path.sep).join('/');
  throw new UsageError(
    `${rel} already defines ${fallback.base_class} (profile ${fallback.name}), and no Python file is under ${pkg} or imports ${top}, the only files ${name} would take beside it: not creating a second base at ${target} that would migrate no agent`,
  );
}

/**
 * Copy a template to `target` whole or not at all: into a temporary file beside it, then put in
 * place. A copy cut short (a full disk, a file-size limit, a kill) once left a truncated base that
 * every later `migrate init` refused to overwrite ("already exists") and every run migrated onto.
 * Put in place by a hard link, which (unlike rename) never replaces a base another init made
 * meanwhile (false then); where the file system has no hard links, by rename.
 */
function copyWhole(template: string, target: string, rel: string): boolean {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    try {
      copyFileSync(template, tmp);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new MigrateError(`cannot write ${rel} (${e.code ?? oneLine(err)}${e.code === 'EFBIG' ? ': a file-size limit' : e.code === 'ENOSPC' ? ': the disk is full' : ''}); nothing of it was written: run migrate init again once it can be`);
    }
    try {
      linkSync(tmp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      renameSync(tmp, target);
    }
    return true;
  } finally {
    rmSync(tmp, { force: true });
  }
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
  if (py && lang === 'python') refuseIdleSecondBase(root, choice.profile.name, py.module, plan.target);
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
  if (!copyWhole(plan.template, target, plan.target)) throw new UsageError(`${plan.target} already exists (made while init ran): the repository has its base class; not overwriting it`);
  for (const c of plan.companions ?? []) {
    const abs = path.join(root, c.target);
    if (!existsSync(abs) && existsSync(c.template) && copyWhole(c.template, abs, c.target)) {
      created.push(c.target);
    }
  }
  io.stdout.write(
    `created ${plan.target} from ${path.relative(templatesDir(), plan.template)}${created.length ? ` (and ${created.join(', ')})` : ''}\n`,
  );
  return 0;
}
