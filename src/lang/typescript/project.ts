// Compiler settings shared by the scan, verify and launch: strict TypeScript for Node with
// migrate's own @types/node, so a repository without node_modules still type-checks.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ts } from 'ts-morph';

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
