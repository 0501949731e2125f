// How the repository builds an agent file written in import syntax: to an ES module or to
// CommonJS. The entry guard the rewrite adds must compile and run the way the repository's own
// build does: `import.meta` is a compile error when tsc emits CommonJS (TS1343), and
// `require.main` does not exist in an ES module. The file's own syntax does not say (most
// TypeScript services write `import` and compile to CommonJS); the build configuration does, and
// without one, how Node could load the file and its importers.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ts, type SourceFile } from 'ts-morph';
import { forgetOnReset } from '../../core/invocation.js';

/** `package.json`'s "type" and the compiler's module kind from the configuration nearest the file (not above the root). */
interface BuildConfig {
  packageType: 'module' | 'commonjs' | null;
  /** The module kind tsc emits for the file, when a tsconfig.json governs it. */
  module: ts.ModuleKind | null;
  /** Its options that change what the emitted JavaScript does (decorators, class fields). */
  emit: EmitSemantics;
}

/** Compiler options whose value changes the behaviour of the emitted code, not only its checking. */
export type EmitSemantics = Pick<ts.CompilerOptions, 'experimentalDecorators' | 'emitDecoratorMetadata' | 'useDefineForClassFields'>;

function nearest(root: string, dir: string, name: string): string | null {
  const top = path.resolve(root);
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const f = path.join(d, name);
    if (existsSync(f)) return f;
    if (d === top || path.dirname(d) === d || !d.startsWith(top)) return null;
  }
}

// One answer per directory of a run: every agent of a directory shares its configuration.
const configs = new Map<string, BuildConfig>();
forgetOnReset(() => configs.clear());

function buildConfig(root: string, file: string): BuildConfig {
  const dir = path.dirname(path.resolve(root, file));
  const key = `${path.resolve(root)}\0${dir}`;
  const hit = configs.get(key);
  if (hit) return hit;
  let packageType: BuildConfig['packageType'] = null;
  const pkg = nearest(root, dir, 'package.json');
  if (pkg) {
    try {
      const t = (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: unknown }).type;
      packageType = t === 'module' ? 'module' : 'commonjs';
    } catch {
      packageType = null; // an unreadable package.json says nothing
    }
  }
  let module: ts.ModuleKind | null = null;
  const emit: EmitSemantics = {};
  const cfg = nearest(root, dir, 'tsconfig.json');
  if (cfg) {
    // Only the options (with `extends` followed): no listing of the files `include` would match.
    const host: ts.ParseConfigFileHost = { ...ts.sys, readDirectory: () => [], onUnRecoverableConfigFileDiagnostic: () => undefined };
    const opts = ts.getParsedCommandLineOfConfigFile(cfg, {}, host)?.options;
    if (opts) {
      // tsc's own default: CommonJS below an ES2015 target, ES modules from it.
      module = opts.module ?? ((opts.target ?? ts.ScriptTarget.ES5) >= ts.ScriptTarget.ES2015 ? ts.ModuleKind.ES2015 : ts.ModuleKind.CommonJS);
      for (const k of ['experimentalDecorators', 'emitDecoratorMetadata', 'useDefineForClassFields'] as const) if (opts[k] !== undefined) emit[k] = opts[k];
    }
  }
  const found = { packageType, module, emit };
  configs.set(key, found);
  return found;
}

/**
 * The module aliases of the tsconfig.json nearest the file (not above the root): its `baseUrl` and
 * `paths` (`"@fleet/*": ["../../common/ts/*"]` in services/inventory-sync/tsconfig.json), with the
 * directory `paths` are resolved from (`baseUrl`, else the tsconfig's own directory). Null when that
 * tsconfig has neither, or there is none.
 */
export function moduleAliases(root: string, file: string): ModuleAliases | null {
  const dir = path.dirname(path.resolve(root, file));
  const key = `${path.resolve(root)}\0${dir}`;
  if (aliasesByDir.has(key)) return aliasesByDir.get(key)!;
  let found: ModuleAliases | null = null;
  const cfg = nearest(root, dir, 'tsconfig.json');
  if (cfg) {
    const host: ts.ParseConfigFileHost = { ...ts.sys, readDirectory: () => [], onUnRecoverableConfigFileDiagnostic: () => undefined };
    const opts = ts.getParsedCommandLineOfConfigFile(cfg, {}, host)?.options;
    if (opts && (opts.baseUrl || opts.paths)) found = { baseUrl: opts.baseUrl ?? path.dirname(cfg), ...(opts.paths ? { paths: opts.paths } : {}) };
  }
  aliasesByDir.set(key, found);
  return found;
}

type ModuleAliases = { baseUrl: string; paths?: ts.MapLike<string[]> };
// One answer per directory of a run, as buildConfig's: launch and verify ask for every file.
const aliasesByDir = new Map<string, ModuleAliases | null>();
forgetOnReset(() => aliasesByDir.clear());

/** `import { X } from './x'`: a relative import that loads at run time (not type-only) without an extension. */
function extensionlessValueImport(d: import('ts-morph').ImportDeclaration): boolean {
  const spec = d.getModuleSpecifierValue();
  if (!spec.startsWith('.') || /\.[cm]?[jt]sx?$|\.json$/.test(spec) || d.isTypeOnly()) return false;
  const named = d.getNamedImports();
  const onlyTypes = !d.getDefaultImport() && !d.getNamespaceImport() && named.length > 0 && named.every((n) => n.isTypeOnly());
  return !onlyTypes;
}

const EXTENSIONLESS_IMPORT = /^\s*import\s+(?!type\s)[^;]*?\bfrom\s+['"](\.{1,2}\/[^'"]*)['"]/gm;

/**
 * Whether the file (an agent's, in import syntax) is built to CommonJS:
 *  - `.cts`/`.mts` say it themselves;
 *  - `"type": "module"` in the nearest package.json: an ES module;
 *  - a tsconfig.json governing it: the module kind it emits (node16/nodenext: CommonJS unless the
 *    package is a module);
 *  - neither: Node's ES loader cannot resolve a relative import without an extension, so a file
 *    that imports one, or that `importers` (other files of the repository importing this one in
 *    import syntax) import that way, is built to CommonJS (the launcher reads it the same way).
 */
export function buildsToCommonJs(root: string, file: string, sf: SourceFile, importers: () => Array<{ file: string; text: string }>): boolean {
  const ending = /\.([mc])[jt]s$/.exec(file);
  if (ending) return ending[1] === 'c';
  const { packageType, module } = buildConfig(root, file);
  if (packageType === 'module') return false;
  if (module !== null) {
    if (module === ts.ModuleKind.CommonJS) return true;
    if (module === ts.ModuleKind.Node16 || module === ts.ModuleKind.NodeNext || module === (ts.ModuleKind as unknown as Record<string, number>).Node18) return true;
    return false;
  }
  if (sf.getImportDeclarations().some(extensionlessValueImport)) return true;
  const stem = path.resolve(root, file).replace(/(_v2)?\.[cm]?[jt]sx?$/, '');
  return importers().some(({ file: f, text }) => {
    for (const m of text.matchAll(EXTENSIONLESS_IMPORT)) {
      const spec = m[1]!;
      if (/\.[cm]?[jt]sx?$/.test(spec)) continue;
      const to = path.resolve(path.dirname(f), spec);
      if (to === stem || (path.basename(stem) === 'index' && to === path.dirname(stem))) return true;
    }
    return false;
  });
}

/**
 * The governing tsconfig.json's options that decide what the compiled agent does at run time:
 * legacy decorators (`experimentalDecorators`: a method decorator gets a property descriptor,
 * where a standard one gets the method and a context) and class-field semantics. A launch that
 * compiled without them would run other code than the repository's build does.
 */
export function emitSemantics(root: string, file: string): EmitSemantics {
  return buildConfig(root, file).emit;
}
