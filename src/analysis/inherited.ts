// The agent's parents defined in the repository (a legacy in-repo mixin such as
// `from utils.agent_mixins import HealthServerMixin`, or one defined above the agent in its own
// file): their methods run on the agent's `self`, so
// the agent's calls to them are the agent's own behaviour (a health server started on the health
// port from a mixin clashes with the base's like one the agent starts itself).
import path from 'node:path';
import { repoFile, type ExternalUse, type Indexed } from './repo-references.js';
import { selfAttribute, stringValue, walk } from '../lang/python/syntax.js';
import { buildModuleModel, baseName, type ModuleModel, type PyClass } from '../lang/python/module-model.js';
import { parsePython, type Tree } from '../lang/python/parser.js';
import { repoTree } from '../lang/python/repo-trees.js';

/**
 * The parse of the repository file `rel`, whose text is `text` (repoFile's): the run's kept parse
 * (repoTree), since every agent of a fleet on one parent asks for the same file, in its rewrite and
 * again in its idempotency pass; an empty text, which repoTree does not keep, parsed here.
 */
function parseRepoFile(files: Indexed, rel: string, text: string): Tree {
  return (text ? repoTree(files, rel)?.tree : undefined) ?? parsePython(text);
}

export interface InheritedClass {
  cls: PyClass;
  module: ModuleModel;
  /** Path relative to the repository root. */
  file: string;
}

/** A repository file (path from the root) read into its module model; null when it is not there or cannot be read. */
export type ReadModule = (rel: string) => ModuleModel | null;

/** The rewrite's reader: the run's index of the repository (repoFile) and its kept parses. */
export function indexedModules(files: Indexed): ReadModule {
  return (rel) => {
    const text = repoFile(files, rel);
    if (text === undefined) return null;
    try {
      return buildModuleModel(text, parseRepoFile(files, rel, text));
    } catch {
      return null;
    }
  };
}

/**
 * The in-repository classes the agent class derives from, nearest first (their own in-repository
 * parents follow, in the same file or imported), five levels up at most: imported ones, and those of the
 * agent's own file (`class InventorySyncAgent(RetryMixin, HealthServerMixin):` with both mixins defined
 * above it). `read` gives the repository's files: the rewrite's index (indexedModules), or the files on
 * disk for the validator. An imported parent is looked for in each of candidateFiles' guesses in turn, the
 * first defining it taken (where the importer's directory is on the path is not known).
 */
export function inheritedClasses(read: ReadModule, agentFile: string, module: ModuleModel, cls: PyClass, skip: Set<string>): InheritedClass[] {
  const out: InheritedClass[] = [];
  const seen = new Set<string>([`${agentFile}:${cls.name}`]);
  const visit = (from: ModuleModel, fromFile: string, c: PyClass, depth: number) => {
    if (depth > 4) return;
    for (const b of c.bases) {
      const name = baseName(b);
      if (!name || skip.has(name)) continue;
      // `class Agent(Agent)`: the base is the name bound before this class, not the class itself.
      const local = from.classes.find((k) => k.name === name && k !== c);
      if (local) {
        if (seen.has(`${fromFile}:${name}`)) continue;
        seen.add(`${fromFile}:${name}`);
        out.push({ cls: local, module: from, file: fromFile });
        visit(from, fromFile, local, depth + 1);
        continue;
      }
      const imp = from.imports.get(name);
      if (!imp || imp.name === null) continue;
      for (const rel of candidateFiles(imp.module, fromFile)) {
        // Taken already (a diamond: two parents importing one class): only a file defining it is in seen, so it is the one found.
        const key = `${rel}:${imp.name}`;
        if (seen.has(key)) break;
        const model = read(rel);
        const parent = model?.classes.find((k) => k.name === imp.name);
        if (!model || !parent) continue;
        seen.add(key);
        out.push({ cls: parent, module: model, file: rel });
        visit(model, rel, parent, depth + 1);
        break;
      }
    }
  };
  visit(module, agentFile, cls, 0);
  return out;
}

/** Where `from <module> import X` may live: from the root and each directory above the importing file; `.x` beside it. */
export function candidateFiles(mod: string, fromFile: string): string[] {
  const dir = path.posix.dirname(fromFile);
  const dots = /^\.+/.exec(mod)?.[0].length ?? 0;
  const parts = mod.slice(dots).split('.').filter(Boolean);
  const bases: string[] = [];
  if (dots > 0) {
    let d = dir;
    for (let i = 1; i < dots; i++) d = path.posix.dirname(d);
    bases.push(d === '.' ? '' : d);
  } else {
    bases.push('');
    for (let d = dir; d !== '.' && d !== '/' && d !== ''; d = path.posix.dirname(d)) bases.push(d);
  }
  const out: string[] = [];
  for (const b of bases) {
    const p = [b, ...parts].filter(Boolean).join('/');
    if (!p) continue;
    out.push(`${p}.py`, `${p}/__init__.py`);
  }
  return out;
}

export interface ImportedTarget {
  /** The in-repository module the name comes from (or is). */
  module: ModuleModel;
  /** Path relative to the repository root. */
  file: string;
  /** The name inside that module (`from m import f` → f); null when the local name is the module itself. */
  name: string | null;
}

/**
 * What a module-level name of the agent's file stands for when it comes from a file of the repository:
 * `from agents import registry_client` / `import agents.registry_client as rc` → that module;
 * `from agents.registry_client import register` → `register` in it. Null when it is not imported, or
 * not from a file of the repository.
 */
export function importedTarget(files: Indexed, agentFile: string, module: ModuleModel, local: string): ImportedTarget | null {
  const imp = module.imports.get(local);
  if (!imp) return null;
  const load = indexedModules(files);
  // `from pkg import mod` names a module first, a name defined in pkg/__init__.py otherwise.
  const tries: Array<[string, string | null]> = imp.name === null
    ? [[imp.module, null]]
    : [[`${imp.module}.${imp.name}`.replace(/^(\.+)\./, '$1'), null], [imp.module, imp.name]];
  for (const [mod, name] of tries) {
    for (const rel of candidateFiles(mod, agentFile)) {
      const model = load(rel);
      if (model) return { module: model, file: rel, name };
    }
  }
  return null;
}

/**
 * Where a method of an in-repository parent in another file reads `self.<name>` (or `getattr(self, "<name>")`):
 * that method runs on the agent, so the agent's member of that name is still used there though nothing in the
 * agent's file reads it (`self.health_port = health_port` in the agent, bound by the mixin's
 * `start_health_server()`). Methods the agent overrides are its own; classes nested in a method have their own `self`.
 */
export function inheritedSelfUses(parents: InheritedClass[], agentFile: string, overridden: Set<string>, name: string): ExternalUse[] {
  const out: ExternalUse[] = [];
  for (const p of parents) {
    if (p.file === agentFile) continue;
    for (const [method, fn] of p.cls.methods) {
      if (overridden.has(method)) continue;
      const selfName = fn.params[0]?.name ?? 'self';
      walk(fn.body, (n) => {
        if (n.type === 'class_definition') return false;
        let hit = selfAttribute(n, selfName) === name;
        if (!hit && n.type === 'call' && /^(getattr|hasattr)$/.test(n.childForFieldName('function')?.text ?? '')) {
          const [obj, key] = n.childForFieldName('arguments')?.namedChildren ?? [];
          hit = obj?.text === selfName && !!key && stringValue(key) === name;
        }
        if (!hit) return;
        const line = n.startPosition.row + 1;
        out.push({ file: p.file, line, text: p.module.source.split('\n')[line - 1]?.trim() ?? n.text });
        return false;
      });
    }
  }
  return out;
}
