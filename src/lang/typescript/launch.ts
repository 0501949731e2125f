// How validation starts a TypeScript or JavaScript `_v2` agent: compile it (and what it imports,
// the TypeScript base included; JavaScript passes through allowJs) with the TypeScript compiler
// API into a temporary directory, then run the JavaScript with this Node. The directory sits in
// the repository's node_modules/.cache when there is one, so the agent's packages resolve.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ts } from 'ts-morph';
import type { LaunchCommand } from '../../pipeline/language.js';
import type { Profile } from '../../profile/profile.js';
import { MigrateError } from '../../core/errors.js';
import { baseFileInRepo, loadBaseModel, tsProfile } from './base-model.js';
import { typeRoots } from './project.js';
import { moduleKind } from './syntax.js';
import { parseTs } from './rewrite.js';

export async function launchTypeScript(root: string, file: string, profile: Profile): Promise<LaunchCommand> {
  const abs = path.resolve(root, file);
  const source = readFileSync(abs, 'utf8');
  const { sf } = parseTs(abs, source);
  const cjs = !abs.endsWith('.mjs') && !abs.endsWith('.mts') && (moduleKind(sf) === 'cjs' || abs.endsWith('.cts') || abs.endsWith('.cjs'));
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
    };
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
    const program = ts.createProgram({ rootNames: [abs], options, host });
    const emitted = program.emit();
    if (emitted.emitSkipped) throw new MigrateError('the TypeScript compiler emitted nothing', file);
    await writeFile(path.join(outDir, 'package.json'), JSON.stringify({ type: cjs ? 'commonjs' : 'module' }));
    const relOut = path.relative(root, abs).replace(/\.(ts|tsx)$/, '.js').replace(/\.mts$/, '.mjs').replace(/\.cts$/, '.cjs');
    const js = path.join(outDir, relOut);
    if (!existsSync(js)) throw new MigrateError(`compiled output ${relOut} is missing`, file);
    return { command: process.execPath, args: [js], cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
