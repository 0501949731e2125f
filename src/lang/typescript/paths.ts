// TypeScript and JavaScript file names: which files the adapter reads, and the `_v2` sibling
// of each. Kept apart from ts-morph, so a run over Python agents never loads the compiler.
import path from 'node:path';

/** TypeScript and JavaScript sources (JavaScript through allowJs: parsed, scanned and rewritten alike). */
export const TS_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.cjs', '.mjs'];
const SOURCE_EXT = /\.(ts|tsx|mts|cts|js|cjs|mjs)$/;
const V2 = /_v2(\.(?:ts|tsx|mts|cts|js|cjs|mjs))$/;

export function isV2(file: string): boolean {
  return V2.test(file);
}

export function v2Path(file: string): string {
  return file.replace(SOURCE_EXT, '_v2$&');
}

/** The legacy sibling of a `_v2` file (the file itself when it is not one). */
export function legacyPath(file: string): string {
  return file.replace(V2, '$1');
}

/** Outputs one ts-morph program type-checks (see verify.ts): also the group in which outputs are verified as they arrive. */
export const OUTPUTS_PER_PROGRAM = 50;

// `import ... from './x'`, `export ... from './x'`, `import('./x')`, `require('./x')`, `import './x'`.
const RELATIVE_IMPORT = /(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*|\bimport\s+)(['"`])(\.{1,2}\/[^'"`\n]+)\1/g;

/**
 * Every file a relative import of `text` (a module at `file`) can resolve to, as resolveModule
 * tries them, without looking at the disk: a `_v2` it imports may not be written yet.
 */
export function relativeImportCandidates(file: string, text: string): string[] {
  const out = new Set<string>();
  const dir = path.dirname(file);
  for (const m of text.matchAll(RELATIVE_IMPORT)) {
    const exact = path.resolve(dir, m[2]!);
    const stem = path.resolve(dir, m[2]!.replace(/\.[cm]?js$/, ''));
    out.add(exact);
    for (const e of TS_EXTENSIONS) out.add(stem + e);
    for (const e of ['.ts', '.js']) out.add(path.join(stem, `index${e}`));
  }
  return [...out];
}

