// How validation starts a TypeScript or JavaScript `_v2` agent: compile it (and what it imports,
// the TypeScript base included; JavaScript passes through allowJs) with the TypeScript compiler
// API into a temporary directory, then run the JavaScript with this Node. The directory sits in
// the repository's node_modules/.cache when there is one, so the agent's packages resolve.
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Node, SyntaxKind, ts } from 'ts-morph';
import type { LaunchCommand } from '../../pipeline/language.js';
import type { Profile } from '../../profile/profile.js';
import { MigrateError } from '../../core/errors.js';
import { baseFileInRepo, loadBaseModel, tsProfile } from './base-model.js';
import { typeRoots } from './project.js';
import { fileClasses, moduleKind } from './syntax.js';
import { isV2 } from './scan.js';
import { IMPORT_SPECIFIER, legacyPath, moduleStem } from './paths.js';
import { listSourceFiles } from '../../discover/files.js';
import { parseTs } from './rewrite.js';
import { launchCommandFor } from './launch-command.js';
import { startPlan, withStartPlan } from './start-script.js';
import { emitSemantics, moduleAliases } from './build-kind.js';
import { forgetOnReset } from '../../core/invocation.js';
import { count, counting } from '../../core/counters.js';

export async function launchTypeScript(root: string, file: string, profile: Profile): Promise<LaunchCommand> {
  const { js, outDir } = await compileForLaunch(root, file, profile);
  return withStartPlan(launchCommandFor(js, outDir), startPlan(root, file));
}

/**
 * The file a launch of `file` runs: the file itself, the concrete subclass that runs an abstract
 * family parent, or the file that starts a module which only declares the agent (with that
 * starter's text, importing the side being validated).
 */
export function launchTarget(root: string, file: string): { abs: string; sf: import('ts-morph').SourceFile; starterText: string | null } {
  let abs = path.resolve(root, file);
  let { sf } = parseTs(abs, readFileSync(abs, 'utf8'));
  // An abstract family parent does not run by itself: a subclass that follows it runs it.
  const classes = fileClasses(sf);
  if (classes.length > 0 && classes.every((c) => c.cls.isAbstract())) {
    const standIn = concreteSubclass(root, abs, classes.map((c) => c.name).filter((n): n is string => !!n));
    if (!standIn) throw new MigrateError(`${classes[0]!.name} is abstract and no subclass ${isV2(abs) ? 'migrated with it (_v2) ' : ''}runs it: migrate a subclass too`, file);
    abs = standIn;
    sf = parseTs(abs, readFileSync(abs, 'utf8')).sf;
  }
  // A module that only declares the agent (no entry point: the service's main.ts / index.ts /
  // bin script builds and starts it) runs through the file that starts it, importing the side
  // being validated (the _v2 sibling for a _v2 run).
  let starterText: string | null = null;
  if (classes.length > 0 && !runsAtTopLevel(sf)) {
    const names = classes.map((c) => c.name).filter((n): n is string => !!n);
    const instances = exportedInstances(sf, names);
    const starter = starterOf(root, abs, [...names, ...instances.names], instances.whole);
    if (starter) {
      abs = starter.file;
      starterText = starter.text;
      sf = parseTs(abs, starterText).sf;
    }
  }
  return { abs, sf, starterText };
}

/** Compile the agent (and what it imports) into a new build directory: the JavaScript to run, and the directory. */
export async function compileForLaunch(root: string, file: string, profile: Profile): Promise<{ js: string; outDir: string }> {
  let { abs, sf, starterText } = launchTarget(root, file);
  const baseStem = baseFileInRepo(root, tsProfile(profile))?.replace(/\.[cm]?ts$/, '') ?? null;
  const cjs = !abs.endsWith('.mjs') && !abs.endsWith('.mts') && (moduleKind(sf) === 'cjs' || abs.endsWith('.cts') || abs.endsWith('.cjs') || builtAsCommonJs(abs, sf, baseStem));
  const modules = path.join(root, 'node_modules');
  const cacheDir = path.join(modules, '.cache', 'migrate');
  if (existsSync(modules)) await mkdir(cacheDir, { recursive: true });
  const outDir = await mkdtemp(path.join(existsSync(modules) ? cacheDir : os.tmpdir(), 'migrate-ts-'));
  const cleanup = () => rm(outDir, { recursive: true, force: true });
  try {
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: cjs ? ts.ModuleKind.CommonJS : ts.ModuleKind.ES2022,
      moduleResolution: cjs ? ts.ModuleResolutionKind.Node10 : ts.ModuleResolutionKind.Bundler,
      esModuleInterop: true,
      skipLibCheck: true,
      strict: false,
      outDir,
      rootDir: root,
      types: ['node'],
      typeRoots: typeRoots(),
      sourceMap: false,
      noEmitOnError: false,
      allowJs: true,
      resolveJsonModule: true,
      // The launch only runs the JavaScript (type errors never stop it: noEmitOnError is off, and
      // verify type-checks the output elsewhere), yet emit type-checked every file of the program
      // first. Without that pass the compiler marks only what import elision needs: the same
      // JavaScript (all 96 compiles of the runtime fixture cases byte-identical), ~13 % less CPU.
      noCheck: true,
      // The repository's build decides what decorators and class fields compile to.
      ...emitSemantics(root, path.relative(root, abs)),
    };
    // The service's own tsconfig may alias modules (`@fleet/index`): resolve them as its build does.
    const aliases = moduleAliases(root, abs);
    if (aliases) Object.assign(options, aliases);
    const host = ts.createCompilerHost(options);
    // The repository may not hold the base yet: serve the reference template where it is imported from.
    const baseFile = baseFileInRepo(root, tsProfile(profile));
    const virtualBase = baseFile && !existsSync(baseFile) ? { file: baseFile, text: loadBaseModel(root, profile).source } : null;
    if (virtualBase) {
      const { fileExists, readFile, getSourceFile, directoryExists } = host;
      const baseDir = path.dirname(virtualBase.file);
      host.fileExists = (f) => path.resolve(f) === virtualBase.file || fileExists.call(host, f);
      host.directoryExists = (d) => baseDir === path.resolve(d) || baseDir.startsWith(path.resolve(d) + path.sep) || (directoryExists?.call(host, d) ?? false);
      host.readFile = (f) => (path.resolve(f) === virtualBase.file ? virtualBase.text : readFile.call(host, f));
      host.getSourceFile = (f, lang, onError, create) =>
        path.resolve(f) === virtualBase.file ? ts.createSourceFile(f, virtualBase.text, lang) : getSourceFile.call(host, f, lang, onError, create);
    }
    if (starterText !== null) {
      const starterFile = abs;
      const text = starterText;
      const { readFile, getSourceFile } = host;
      host.readFile = (f) => (path.resolve(f) === starterFile ? text : readFile.call(host, f));
      host.getSourceFile = (f, lang, onError, create) =>
        path.resolve(f) === starterFile ? ts.createSourceFile(f, text, lang) : getSourceFile.call(host, f, lang, onError, create);
    }
    shareDeclarations(host, cjs, options);
    const program = programForEmit(abs, options, host);
    const keptInPlace = cjs ? new Set<string>() : commonJsScripts(root, abs, program);
    const emitted = program.emit(
      undefined,
      (name, text, bom, onError, sources) => {
        if (sources?.length === 1 && keptInPlace.has(path.resolve(sources[0]!.fileName))) return;
        host.writeFile(name, text, bom, onError, sources);
      },
      undefined,
      undefined,
      { after: [...(aliases ? [aliasSpecifiers(program, cjs)] : []), ...(cjs ? [] : [esmSpecifiers(program)])] },
    );
    if (emitted.emitSkipped) throw new MigrateError('the TypeScript compiler emitted nothing', file);
    await writeFile(path.join(outDir, 'package.json'), JSON.stringify({ type: cjs ? 'commonjs' : 'module' }));
    await linkSiblingData(root, outDir, program);
    const relOut = path.relative(root, abs).replace(/\.(ts|tsx)$/, '.js').replace(/\.mts$/, '.mjs').replace(/\.cts$/, '.cjs');
    const js = path.join(outDir, relOut);
    if (!existsSync(js)) throw new MigrateError(`compiled output ${relOut} is missing`, file);
    return { js, outDir };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * The launch's program, compiled as isolated modules where that emits the same JavaScript. Even
 * with noCheck, emit asks the checker about const enums at every `a.b` of every file: whether
 * an import is only read through a const enum member (then elided) and what constant the member
 * is (then inlined). That typed each receiver of each property access, about two fifths of a
 * launch's CPU. isolatedModules skips both questions, and without a const enum in the program
 * the answers are "no" and "none" anyway. It changes more only for what is ruled out here: a
 * file that is not an ES module (script files become modules), an enum in the sources (their
 * members' values are computed differently) and decorator metadata (which imports it keeps).
 * A CommonJS file (`require`, `module.exports`) of a CommonJS build qualifies: that build's
 * module transform takes a file as a module by its own syntax, not by isolatedModules, and the
 * file keeps every import a JavaScript file writes. Made whole, each `.js`/`.cjs` agent's launch
 * typed its receivers (`process.env.X`, `this.server.close`) for the const enum question: 20 of
 * the 22 whole programs of the runtime fixture cases, every JavaScript one (2026-12-07).
 */
export function programForEmit(abs: string, options: ts.CompilerOptions, host: ts.CompilerHost): ts.Program {
  if (options.emitDecoratorMetadata) {
    if (counting) count('ts launch programs whole');
    return ts.createProgram({ rootNames: [abs], options, host });
  }
  // Parsed once for both programs when the first does not qualify (parsing does not read isolatedModules).
  const parsed = new Map<string, ts.SourceFile | undefined>();
  const { getSourceFile } = host;
  const reusing: ts.CompilerHost = {
    ...host,
    getSourceFile: (f, lang, onError, create) => {
      const key = `${path.resolve(f)}\0${JSON.stringify(lang)}`;
      if (!create && parsed.has(key)) return parsed.get(key);
      const sf = getSourceFile.call(host, f, lang, onError, create);
      parsed.set(key, sf);
      return sf;
    },
  };
  const isolated = ts.createProgram({ rootNames: [abs], options: { ...options, isolatedModules: true }, host: reusing });
  // (Which files are CommonJS the binder says: the type checker binds them, as the emit would.)
  // The module kind the compiler emits: `module` when set, else the one the target implies.
  const commonJsBuild = (ts as unknown as { getEmitModuleKind(o: ts.CompilerOptions): ts.ModuleKind }).getEmitModuleKind(options) === ts.ModuleKind.CommonJS;
  if (commonJsBuild) isolated.getTypeChecker();
  if (isolated.getSourceFiles().every((sf) => emitsAlikeIsolated(sf, commonJsBuild))) {
    if (counting) count('ts launch programs isolated');
    return isolated;
  }
  if (counting) count('ts launch programs made again whole');
  return ts.createProgram({ rootNames: [abs], options, host: reusing });
}

/** Declaration files read once per process (shareDeclarations): what each says, asked once. */
const constEnumFree = new WeakMap<ts.SourceFile, boolean>();

function emitsAlikeIsolated(sf: ts.SourceFile, commonJsBuild: boolean): boolean {
  if (sf.isDeclarationFile) {
    let free = constEnumFree.get(sf);
    if (free === undefined) constEnumFree.set(sf, (free = !/\bconst\s+enum\b/.test(sf.text)));
    return free;
  }
  // A JSON module (resolveJsonModule) is no ES module, yet is emitted alike either way.
  if (sf.fileName.endsWith(ts.Extension.Json)) return true;
  const commonJs = commonJsBuild && !!(sf as ts.SourceFile & { commonJsModuleIndicator?: ts.Node }).commonJsModuleIndicator;
  return (ts.isExternalModule(sf) || commonJs) && !/\benum\b/.test(sf.text);
}

/**
 * An ES-module build of an `.mjs` agent reaches the repository's TypeScript helpers, which other
 * agents import without an extension (`from './config'`): their repository builds them as CommonJS,
 * where that resolves. Emitted as ES modules, Node cannot resolve it ("Cannot find module
 * .../lib/config"), and the _v2 failed validation at start where the legacy ran. Each relative
 * specifier without an extension that the compiler resolved to a file of the build is written
 * with the emitted file's ending (`./config.js`, `./lib/index.js`).
 */
function esmSpecifiers(program: ts.Program): ts.TransformerFactory<ts.SourceFile> {
  return (context) => (sf) => {
    const original = program.getSourceFile(sf.fileName) ?? sf;
    const emittedAs = (spec: string): string | null => {
      if (!/^\.{1,2}\//.test(spec) || /\.[cm]?[jt]sx?$|\.json$/.test(spec)) return null;
      const resolved = ts.resolveModuleName(spec, original.fileName, program.getCompilerOptions(), ts.sys).resolvedModule;
      if (!resolved || resolved.isExternalLibraryImport || /\.d\.[cm]?ts$/.test(resolved.resolvedFileName)) return null;
      const target = resolved.resolvedFileName;
      const ext = /\.m[jt]s$/.test(target) ? '.mjs' : /\.c[jt]s$/.test(target) ? '.cjs' : '.js';
      const stem = target.replace(/\.[cm]?[jt]sx?$/, '');
      const base = path.resolve(path.dirname(original.fileName), spec);
      // `./lib` resolved to lib/index.ts: `./lib/index.js`.
      return stem === base ? `${spec}${ext}` : path.basename(stem) === 'index' && path.dirname(stem) === base ? `${spec.replace(/\/$/, '')}/index${ext}` : null;
    };
    const visit = (node: ts.Node): ts.Node => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const to = emittedAs(node.moduleSpecifier.text);
        if (to) {
          const spec = context.factory.createStringLiteral(to);
          return ts.isImportDeclaration(node)
            ? context.factory.updateImportDeclaration(node, node.modifiers, node.importClause, spec, node.attributes)
            : context.factory.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, spec, node.attributes);
        }
      }
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]!)) {
        const to = emittedAs((node.arguments[0] as ts.StringLiteral).text);
        if (to) return context.factory.updateCallExpression(node, node.expression, node.typeArguments, [context.factory.createStringLiteral(to)]);
      }
      return ts.visitEachChild(node, visit, context);
    };
    return ts.visitNode(sf, visit) as ts.SourceFile;
  };
}

/**
 * A specifier the tsconfig aliases (`@fleet/index` through `paths`, `lib/clock` through `baseUrl`)
 * resolves at compile time only: tsc writes it unchanged, and Node, with no alias of its own, stopped
 * the agent at start ("Cannot find module '@fleet/index'") where the service's build (tsconfig-paths,
 * a bundler) ran it. Each non-relative specifier the compiler resolved to a source file of the build
 * is written as the relative path to that file's output (with its ending in an ES-module build).
 */
function aliasSpecifiers(program: ts.Program, cjs: boolean): ts.TransformerFactory<ts.SourceFile> {
  return (context) => (sf) => {
    const original = program.getSourceFile(sf.fileName) ?? sf;
    const emittedAs = (spec: string): string | null => {
      if (/^\.{0,2}\//.test(spec) || spec.startsWith('node:')) return null;
      const resolved = ts.resolveModuleName(spec, original.fileName, program.getCompilerOptions(), ts.sys).resolvedModule;
      if (!resolved || resolved.isExternalLibraryImport || /\.d\.[cm]?ts$|\.json$/.test(resolved.resolvedFileName)) return null;
      const target = resolved.resolvedFileName;
      const ext = cjs ? '' : /\.m[jt]s$/.test(target) ? '.mjs' : /\.c[jt]s$/.test(target) ? '.cjs' : '.js';
      const rel = path.relative(path.dirname(original.fileName), target.replace(/\.[cm]?[jt]sx?$/, '')).split(path.sep).join('/');
      return `${rel.startsWith('.') ? '' : './'}${rel}${ext}`;
    };
    const literal = (node: ts.Expression | undefined): string | null => (node && ts.isStringLiteral(node) ? emittedAs(node.text) : null);
    const visit = (node: ts.Node): ts.Node => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
        const to = literal(node.moduleSpecifier);
        if (to) {
          const spec = context.factory.createStringLiteral(to);
          return ts.isImportDeclaration(node)
            ? context.factory.updateImportDeclaration(node, node.modifiers, node.importClause, spec, node.attributes)
            : context.factory.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, spec, node.attributes);
        }
      }
      // require('@fleet/index') of the CommonJS emit, and import('@fleet/index').
      if (ts.isCallExpression(node) && node.arguments.length === 1 && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
        const to = literal(node.arguments[0]);
        if (to) return context.factory.updateCallExpression(node, node.expression, node.typeArguments, [context.factory.createStringLiteral(to)]);
      }
      return ts.visitEachChild(node, visit, context);
    };
    return ts.visitNode(sf, visit) as ts.SourceFile;
  };
}

/**
 * The plain `.js` files of the repository an ES-module build reaches that are CommonJS by their
 * own syntax (`module.exports`, `exports.x`, `require(...)`): a helper loaded through
 * `createRequire(import.meta.url)` or imported from the agent. The compiler follows them and
 * would write them unchanged into the build, whose package.json says `type: module`, so Node
 * would load them as ES modules and `module.exports` would fail at start ("module is not defined
 * in ES module scope"). They are not written: linkSiblingData links the original in their place,
 * and Node, following the link to its real path, loads it from the repository under the
 * repository's own package scope, as the legacy agent did. `.cjs` files keep their ending in the
 * build and need nothing.
 */
function commonJsScripts(root: string, entry: string, program: ts.Program): Set<string> {
  const rootAbs = path.resolve(root);
  const kept = new Set<string>();
  for (const f of program.getSourceFiles()) {
    const abs = path.resolve(f.fileName);
    if (abs === entry || !/\.jsx?$/.test(abs) || abs.includes(`${path.sep}node_modules${path.sep}`) || !abs.startsWith(rootAbs + path.sep)) continue;
    // ES-module syntax (an import or export declaration) wins: the build is where such a file runs.
    if (f.statements.some((s) => ts.isImportDeclaration(s) || ts.isExportDeclaration(s) || ts.isExportAssignment(s) || hasExportModifier(s))) continue;
    if (moduleKind(parseTs(abs, f.text).sf) === 'cjs') kept.add(abs);
  }
  return kept;
}

function hasExportModifier(s: ts.Statement): boolean {
  return ts.canHaveModifiers(s) && (ts.getModifiers(s) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/**
 * Declaration files that never change during a run (the compiler's lib, and packages' under
 * node_modules: @types/node above all), parsed and bound once per process and module kind and
 * reused by every launch's program, as the language service's document registry does. Each
 * launch compiles one agent, and parsing them again took most of its time (0.7 s of 0.8).
 */
const declarations = new Map<string, ts.SourceFile>();
forgetOnReset(() => declarations.clear());

/**
 * The modules those declaration files import, resolved once per process and setting: @types/node's
 * files import one another and `node:*` names inside their `declare module` blocks, and each launch's
 * program resolved every one of them again, probing the disk up from node_modules for each (a third
 * of a launch's program, a quarter of its CPU). What such a resolution finds depends only on the name,
 * the importing file, the settings below and the disk under node_modules, which a command does not
 * change (the parsed files above are kept on the same terms). The agent's and the repository's own
 * files are resolved per program, as before.
 */
const declarationResolutions = new Map<string, ts.ResolvedModuleWithFailedLookupLocations>();
forgetOnReset(() => declarationResolutions.clear());

/** The settings a module resolution reads (the launch's programs differ in others: outDir, isolatedModules). */
function resolutionSettings(o: ts.CompilerOptions): string {
  return JSON.stringify([
    o.moduleResolution, o.module, o.baseUrl, o.paths, (o as { pathsBasePath?: string }).pathsBasePath, o.typeRoots, o.resolveJsonModule, o.allowJs,
    o.customConditions, o.moduleSuffixes, o.resolvePackageJsonExports, o.resolvePackageJsonImports, o.preserveSymlinks, o.allowArbitraryExtensions, o.allowImportingTsExtensions, o.rootDirs,
  ]);
}

function shareDeclarations(host: ts.CompilerHost, cjs: boolean, options: ts.CompilerOptions): void {
  const { getSourceFile } = host;
  const libDir = path.dirname(ts.getDefaultLibFilePath({}));
  const shared = (abs: string) => /\.d\.[cm]?ts$/.test(abs) && (abs.includes(`${path.sep}node_modules${path.sep}`) || path.dirname(abs) === libDir);
  // The compiler's own per-program resolution, as it resolves without a host resolver (the same cache
  // serves the program's package.json lookups), with the shared declarations' answers kept.
  const cache = ts.createModuleResolutionCache(host.getCurrentDirectory(), (f) => host.getCanonicalFileName(f), options);
  host.getModuleResolutionCache = () => cache;
  host.resolveModuleNameLiterals = (literals, containingFile, redirectedReference, opts, containingSourceFile) => {
    const abs = path.resolve(containingFile);
    const settings = !redirectedReference && shared(abs) ? resolutionSettings(opts) : null;
    return literals.map((literal) => {
      const mode = ts.getModeForUsageLocation(containingSourceFile, literal, opts);
      const key = settings === null ? null : `${settings}\0${mode ?? ''}\0${abs}\0${literal.text}`;
      const kept = key === null ? undefined : declarationResolutions.get(key);
      if (kept) {
        if (counting) count('ts launch declaration resolutions shared');
        return kept;
      }
      const resolved = ts.resolveModuleName(literal.text, containingFile, opts, host, cache, redirectedReference, mode);
      if (key !== null) declarationResolutions.set(key, resolved);
      return resolved;
    });
  };
  host.getSourceFile = (f, lang, onError, create) => {
    const abs = path.resolve(f);
    if (create || !shared(abs)) return getSourceFile.call(host, f, lang, onError, create);
    const how = typeof lang === 'object' ? `${lang.languageVersion}:${lang.impliedNodeFormat ?? ''}` : `${lang}`;
    const key = `${cjs ? 'cjs' : 'esm'}:${how}:${abs}`;
    let sf = declarations.get(key);
    if (!sf) {
      sf = getSourceFile.call(host, f, lang, onError, create);
      if (sf) declarations.set(key, sf);
    }
    return sf;
  };
}

/**
 * The compiled agent runs from outDir, so `path.join(__dirname, 'x.config.json')` or
 * `new URL('../config/x.yaml', import.meta.url)` would look there for a file that only sits in
 * the repository (the agent failed at launch with ENOENT, before and after the migration alike).
 * Every directory a compiled file comes from, and its parents up to the root, gets in outDir a
 * symlink to each of its entries the compiler did not write (data files, asset directories);
 * dot entries, node_modules and package.json (written above: it sets the module kind) excepted.
 */
async function linkSiblingData(root: string, outDir: string, program: ts.Program): Promise<void> {
  const dirs = new Set<string>();
  const rootAbs = path.resolve(root);
  for (const f of program.getSourceFiles()) {
    const abs = path.resolve(f.fileName);
    if (f.isDeclarationFile || abs.includes(`${path.sep}node_modules${path.sep}`) || !abs.startsWith(rootAbs + path.sep)) continue;
    for (let d = path.dirname(abs); d.startsWith(rootAbs); d = path.dirname(d)) {
      dirs.add(d);
      if (d === rootAbs) break;
    }
  }
  for (const dir of dirs) {
    const target = path.join(outDir, path.relative(rootAbs, dir));
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (name.startsWith('.') || name === 'node_modules' || name === 'package.json') continue;
      const to = path.join(target, name);
      if (existsSync(to)) continue;
      await mkdir(target, { recursive: true });
      await symlink(path.join(dir, name), to).catch(() => {});
    }
  }
}

/**
 * Does the module do anything when it is run: a statement at its top level other than
 * declarations, imports, exports and `module.exports = ...` / `exports.x = ...` assignments
 * (a main guard, a call, a top-level await)?
 */
function runsAtTopLevel(sf: ts.SourceFile | import('ts-morph').SourceFile): boolean {
  const node = ('compilerNode' in sf ? sf.compilerNode : sf) as ts.SourceFile;
  return node.statements.some((st) => {
    if (ts.isImportDeclaration(st) || ts.isImportEqualsDeclaration(st) || ts.isExportDeclaration(st) || ts.isExportAssignment(st)) return false;
    if (ts.isClassDeclaration(st) || ts.isFunctionDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isEnumDeclaration(st) || ts.isModuleDeclaration(st)) return false;
    if (ts.isVariableStatement(st)) {
      // `const x = await start()` runs; `const DEFAULTS = {...}`, `const http = require('http')` declare.
      return st.declarationList.declarations.some((d) => !!d.initializer && containsAwait(d.initializer));
    }
    if (ts.isExpressionStatement(st)) {
      const e = st.expression;
      if (ts.isStringLiteral(e)) return false; // 'use strict'
      if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.EqualsToken && /^(module\.exports|exports)\b/.test(e.left.getText(node))) return false;
      // `MetricsWindow.prototype.push = function (v) {...}`: a helper's method, declared.
      if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.EqualsToken && /^[\w$]+\.prototype(\.[\w$]+)?$/.test(e.left.getText(node)) && (ts.isFunctionExpression(e.right) || ts.isArrowFunction(e.right) || !containsCall(e.right))) return false;
    }
    return !settingDefault(st, node);
  });
}

/**
 * `process.env.AGENT_HOST ||= '0.0.0.0'`, `process.env.REGISTRY_URL ??= '...'`, `if (process.env.Q)
 * process.env.REGISTRY_URL = process.env.Q`: a setting given its default before the class (the
 * rewrite writes these for the base), which starts nothing. Counted as running, it made a module
 * that only declares the agent look like its own entry point, so the _v2 ran without its starter
 * (main.ts) and exited at once.
 */
function settingDefault(st: ts.Statement, sf: ts.SourceFile): boolean {
  const isEnvAssignment = (s: ts.Statement): boolean => {
    if (!ts.isExpressionStatement(s) || !ts.isBinaryExpression(s.expression)) return false;
    const op = s.expression.operatorToken.kind;
    if (op !== ts.SyntaxKind.EqualsToken && op !== ts.SyntaxKind.BarBarEqualsToken && op !== ts.SyntaxKind.QuestionQuestionEqualsToken) return false;
    return /^process\.env(\.|\[)/.test(s.expression.left.getText(sf)) && !containsCall(s.expression.right);
  };
  if (isEnvAssignment(st)) return true;
  if (!ts.isIfStatement(st) || st.elseStatement || containsCall(st.expression)) return false;
  const then = ts.isBlock(st.thenStatement) ? [...st.thenStatement.statements] : [st.thenStatement];
  return then.length > 0 && then.every(isEnvAssignment);
}

function containsCall(n: ts.Node): boolean {
  if (ts.isCallExpression(n) || ts.isNewExpression(n) || ts.isAwaitExpression(n)) return true;
  return ts.forEachChild(n, containsCall) ?? false;
}

function containsAwait(n: ts.Node): boolean {
  if (ts.isAwaitExpression(n)) return true;
  if (ts.isFunctionLike(n)) return false;
  return !!ts.forEachChild(n, (c) => (containsAwait(c) ? true : undefined));
}

/**
 * The file of the repository that starts an agent declared in `file` (which has no entry point):
 * it imports the legacy module by a relative specifier, builds one of `names` (`new X(`, or a
 * static factory `X.create(`), and runs something at its top level. Tests are not starters. Its
 * text imports the side being run: for a _v2 file, the specifier is pointed at the _v2 sibling.
 */
function starterOf(root: string, file: string, names: string[], anyImporter = false): { file: string; text: string } | null {
  const legacy = legacyPath(file);
  const stem = moduleStem;
  const builds = new RegExp(`\\bnew\\s+(${names.join('|')})\\s*[(<]|\\b(${names.join('|')})\\.\\w+\\s*\\(`);
  for (const f of listSourceFiles(root, ['.ts', '.mts', '.cts', '.js', '.cjs', '.mjs'])) {
    const abs = path.resolve(f);
    if (abs === legacy || abs === file || isV2(abs) || /\.d\.[cm]?ts$/.test(abs)) continue;
    const rel = path.relative(root, abs);
    if (/(^|\/)(test|tests|__tests__|spec)\//.test(rel) || /\.(test|spec)\.[cm]?[jt]sx?$/.test(rel)) continue;
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch {
      continue;
    }
    // (The module's export is the agent itself: whatever its importer calls it, importing is building.)
    if (!anyImporter && !builds.test(text)) continue;
    let importsIt = false;
    const out = text.replace(IMPORT_SPECIFIER, (whole, _q: string, spec: string) => {
      if (stem(path.resolve(path.dirname(abs), spec)) !== stem(legacy)) return whole;
      importsIt = true;
      if (file === legacy) return whole;
      // './service.js' -> './service_v2.js' (the extension as written, or none).
      const base = path.posix.basename(spec);
      const dot = base.search(/\.[cm]?[jt]sx?$/);
      const v2 = dot >= 0 ? `${base.slice(0, dot)}_v2${base.slice(dot)}` : `${base}_v2`;
      return whole.replace(spec, `${spec.slice(0, spec.length - base.length)}${v2}`);
    });
    if (!importsIt || !runsAtTopLevel(parseTs(abs, text).sf)) continue;
    return { file: abs, text: out };
  }
  return null;
}

/**
 * A `.ts` file in import syntax whose relative imports name no extension (`from '../lib/relay'`):
 * Node's ES loader cannot resolve those, so the project compiles it to CommonJS (tsc's `module:
 * commonjs`), as long as nothing in it needs ESM (top-level await, import.meta).
 */
function builtAsCommonJs(file: string, sf: import('ts-morph').SourceFile, baseStem: string | null): boolean {
  if (!/\.tsx?$/.test(file)) return false;
  // The base's import is the one the rewrite wrote (`'../common/core/base-agent.js'`, which both
  // module systems resolve): the agent's own imports say how its repository builds it.
  const isBase = (m: string) => !!baseStem && path.resolve(path.dirname(file), m).replace(/\.[cm]?[jt]s$/, '') === baseStem;
  const specs = sf.getImportDeclarations().map((d) => d.getModuleSpecifierValue()).filter((m) => m.startsWith('.') && !isBase(m));
  if (specs.length === 0 || !specs.every((m) => !/\.[cm]?[jt]sx?$|\.json$/.test(m))) return false;
  const esmOnly = (n: Node): boolean => {
    if (Node.isMetaProperty(n) || (Node.isAwaitExpression(n) && !n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)))) return true;
    return false;
  };
  return !sf.getDescendants().some(esmOnly);
}

/**
 * `export const relay = new MetricsRelay()`: the names under which the module exports an instance
 * of one of its classes; the module that starts it calls `relay.start()` on its import. `whole`:
 * the module's export is such an instance itself (its importers name it as they like).
 */
function exportedInstances(sf: import('ts-morph').SourceFile, names: string[]): { names: string[]; whole: boolean } {
  const out: string[] = [];
  let whole = false;
  for (const st of sf.getVariableStatements()) {
    if (!st.hasExportKeyword()) continue;
    for (const d of st.getDeclarations()) {
      const init = d.getInitializer();
      if (init && Node.isNewExpression(init) && names.includes(init.getExpression().getText()) && Node.isIdentifier(d.getNameNode())) out.push(d.getName());
    }
  }
  // CommonJS: `module.exports = new DigestPoller()` (the importer names it as it likes) and
  // `exports.poller = new DigestPoller()`; ESM's `export default new FlagCache()` (and TypeScript's
  // `export = new X()`) is the whole module's export too.
  for (const st of sf.getStatements()) {
    if (Node.isExportAssignment(st)) {
      let e: Node = st.getExpression();
      while (Node.isParenthesizedExpression(e)) e = e.getExpression();
      if (Node.isNewExpression(e) && names.includes(e.getExpression().getText())) whole = true;
      continue;
    }
    const b = Node.isExpressionStatement(st) ? st.getExpression() : null;
    if (!b || !Node.isBinaryExpression(b) || b.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const right = b.getRight();
    if (!Node.isNewExpression(right) || !names.includes(right.getExpression().getText())) continue;
    const m = /^(?:module\.exports|exports)(?:\.([A-Za-z_$][\w$]*))?$/.exec(b.getLeft().getText());
    if (m?.[1]) out.push(m[1]);
    else if (m) whole = true;
  }
  return { names: out, whole };
}

/** A file of the repository with a class extending one of `names`, on the same side (_v2 or legacy) as `file`. */
function concreteSubclass(root: string, file: string, names: string[]): string | null {
  const wantV2 = isV2(file);
  const extendsRe = new RegExp(`\\bextends\\s+(${names.join('|')})\\b`);
  for (const f of listSourceFiles(root, ['.ts', '.mts', '.cts', '.js', '.cjs', '.mjs'])) {
    if (path.resolve(f) === file || isV2(f) !== wantV2 || /\.d\.[cm]?ts$/.test(f)) continue;
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    if (extendsRe.test(text) && !/\babstract\s+class\b/.test(text)) return path.resolve(f);
  }
  return null;
}
