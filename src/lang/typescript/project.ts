// Compiler settings shared by the scan, verify and launch: strict TypeScript for Node with
// migrate's own @types/node, so a repository without node_modules still type-checks.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ts, type Project } from 'ts-morph';
import { count, counting } from '../../core/counters.js';
import { collector } from '../../core/heap.js';

/** migrate's node_modules/@types (found from this file under src/ or dist/src/). */
export function typeRoots(): string[] {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'node_modules', '@types');
    if (existsSync(path.join(candidate, 'node'))) return [candidate];
    dir = path.dirname(dir);
  }
  return [];
}

/** Options for type-checking agents: `preserve` accepts both ESM (import.meta) and CommonJS (require) files. */
export function compilerOptionsFor(_root: string): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Preserve,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    allowJs: false,
    jsx: ts.JsxEmit.Preserve,
    types: ['node'],
    typeRoots: typeRoots(),
  };
}

/**
 * Parsed declaration files of libraries (TypeScript's lib.*.d.ts, node_modules/@types and other
 * installed packages), kept across verify calls: every call makes a new project, and each
 * parsed the same lib declarations again (about a second of CPU per call); the rewrite's
 * one-file projects share them too. A kept file is
 * given only for the same path, text, target and script kind, so a program sees exactly what
 * a fresh parse would give (TypeScript's own document registry shares files between programs
 * the same way: binding a declaration file does not depend on the compiler options).
 */
const libraryDeclarations = new Map<string, { text: string; file: ts.SourceFile }>();
/** Bound on the files kept (a process verifying many repositories, each with its own node_modules). */
const LIBRARY_DECLARATIONS_KEPT = 2000;

function isLibraryDeclaration(fileName: string): boolean {
  return fileName.endsWith('.d.ts') && fileName.includes('/node_modules/');
}

/** Make the project's document registry give the kept parse of a library declaration file. */
export function shareLibraryDeclarations(project: Project): void {
  // ts-morph creates every compiler SourceFile through its document registry (compiler factory):
  // the project's own files and program through createOrUpdateSourceFile, its language service's
  // program (findReferences) through acquireDocument, which before parsed and bound every lib file
  // again for each project that asked for references (~8 % of a TypeScript rewrite's CPU).
  const registry = (project as unknown as { _context?: { compilerFactory?: { documentRegistry?: unknown } } })._context?.compilerFactory
    ?.documentRegistry as unknown as SharedRegistry | undefined;
  const create = registry?.createOrUpdateSourceFile;
  const acquire = registry?.acquireDocument;
  if (!registry || typeof create !== 'function' || typeof acquire !== 'function') return; // another ts-morph: parse as before
  // A kept declaration belongs to this module's cache, not to the project that was handed it: a
  // release (a no-op in ts-morph 28; a reference-counting registry would drop or reuse the file
  // under the other projects holding it) never reaches the registry for one.
  for (const name of ['releaseDocument', 'releaseDocumentWithKey'] as const) {
    const release = registry[name];
    if (typeof release === 'function')
      registry[name] = (fileName: string, ...rest: unknown[]) => (isLibraryDeclaration(fileName) ? undefined : release.call(registry, fileName, ...rest));
  }
  registry.createOrUpdateSourceFile = (fileName, settings, snapshot, scriptKind) =>
    isLibraryDeclaration(fileName) ? keptDeclaration(fileName, settings, snapshot, scriptKind, () => create.call(registry, fileName, settings, snapshot, scriptKind)) : create.call(registry, fileName, settings, snapshot, scriptKind);
  registry.acquireDocument = (fileName, settings, snapshot, version, scriptKind, sourceFileOptions) =>
    isLibraryDeclaration(fileName)
      ? keptDeclaration(fileName, settings, snapshot, scriptKind, () => acquire.call(registry, fileName, settings, snapshot, version, scriptKind, sourceFileOptions))
      : acquire.call(registry, fileName, settings, snapshot, version, scriptKind, sourceFileOptions);
}

/** The kept parse of a library declaration file with this text, target and script kind, else `parse()`'s (then kept). */
function keptDeclaration(fileName: string, settings: ts.CompilerOptions, snapshot: ts.IScriptSnapshot, scriptKind: ts.ScriptKind | undefined, parse: () => ts.SourceFile): ts.SourceFile {
  const text = snapshot.getText(0, snapshot.getLength());
  const key = `${fileName}\0${settings.target ?? ''}\0${scriptKind ?? ''}`;
  usedLibraryDeclarations();
  const kept = libraryDeclarations.get(key);
  if (kept && kept.text === text) {
    if (counting) count('ts library declarations shared');
    return kept.file;
  }
  if (counting) count('ts library declarations parsed');
  const file = parse();
  if (libraryDeclarations.size >= LIBRARY_DECLARATIONS_KEPT) libraryDeclarations.clear();
  libraryDeclarations.set(key, { text, file });
  return file;
}

/**
 * The kept declarations go once no TypeScript work has held them (holdingLibraryDeclarations) or
 * asked for one for IDLE_RELEASE_MS, with a full collection: bound, they are about 80 MB of live
 * heap, which the main thread held through the write and validate stages after its verify (with
 * the last verifier's garbage: 375 MB of heap at the end of a 1,000-agent run), and a worker
 * after its last TypeScript rewrite. A run's TypeScript work comes in bursts (the scan, rewrites
 * a few files apart, verify's programs back to back), so a pause that long means the burst is
 * over; a later one parses them again (about a second of CPU).
 */
export const IDLE_RELEASE_MS = 10_000;
let lastUse = 0;
let holders = 0;
let releaser: ReturnType<typeof setTimeout> | null = null;

function usedLibraryDeclarations(): void {
  lastUse = performance.now();
  releaser ??= setTimeout(releaseIfIdle, IDLE_RELEASE_MS).unref();
}

function releaseIfIdle(): void {
  const idle = performance.now() - lastUse;
  // A type check can run longer than the pause without asking for a declaration: held, not idle.
  const busy = holders > 0 || idle < IDLE_RELEASE_MS;
  releaser = busy ? setTimeout(releaseIfIdle, holders > 0 ? IDLE_RELEASE_MS : IDLE_RELEASE_MS - idle).unref() : null;
  if (!busy) releaseLibraryDeclarations();
}

/** `work` with the kept declarations held: the pause before they go counts from its end. */
export async function holdingLibraryDeclarations<T>(work: () => Promise<T>): Promise<T> {
  holders++;
  usedLibraryDeclarations();
  try {
    return await work();
  } finally {
    holders--;
    usedLibraryDeclarations();
  }
}

/** Let go of the kept declarations now, and collect what they (and the projects that used them) held. */
export function releaseLibraryDeclarations(): void {
  if (!libraryDeclarations.size) return;
  libraryDeclarations.clear();
  if (counting) count('ts library declarations released');
  collector()?.();
}

/** How many parsed library declaration files are kept (for the tests). */
export function keptLibraryDeclarations(): number {
  return libraryDeclarations.size;
}

type CreateOrUpdate = (fileName: string, settings: ts.CompilerOptions, snapshot: ts.IScriptSnapshot, scriptKind: ts.ScriptKind | undefined) => ts.SourceFile;
type Acquire = (fileName: string, settings: ts.CompilerOptions, snapshot: ts.IScriptSnapshot, version: string, scriptKind?: ts.ScriptKind, sourceFileOptions?: unknown) => ts.SourceFile;
type Release = (fileName: string, ...rest: unknown[]) => unknown;
type SharedRegistry = { createOrUpdateSourceFile?: CreateOrUpdate; acquireDocument?: Acquire; releaseDocument?: Release; releaseDocumentWithKey?: Release };
