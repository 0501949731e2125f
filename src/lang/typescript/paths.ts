// TypeScript and JavaScript file names: which files the adapter reads, and the `_v2` sibling
// of each. Kept apart from ts-morph, so a run over Python agents never loads the compiler.
import { existsSync } from 'node:fs';
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

/** A relative module specifier in an import, a dynamic import() or a require() (group 2). */
export const IMPORT_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\1/g;

/** A module's path without its extension (and `/index`): what a specifier and a file have in common. */
export function moduleStem(file: string): string {
  return file.replace(/\.(d\.)?[cm]?[jt]sx?$/, '').replace(/\/index$/, '');
}

/** The files among `files` (absolute paths) that `text`, the source of `file`, imports by a relative specifier. */
export function importedAmong(text: string, file: string, files: Iterable<string>): string[] {
  const byStem = new Map<string, string>();
  for (const f of files) byStem.set(moduleStem(f), f);
  const out = new Set<string>();
  for (const m of text.matchAll(IMPORT_SPECIFIER)) {
    const hit = byStem.get(moduleStem(path.resolve(path.dirname(file), m[2]!)));
    if (hit && hit !== file) out.add(hit);
  }
  return [...out];
}

/**
 * The tsconfig.json nearest the file below the root (a sub-project's own, `scheduler/tsconfig.json`), or
 * null when none is nearer than the root's. `dirs` keeps each folder's answer for the caller's other files.
 */
export function nestedTsconfig(root: string, file: string, dirs: Map<string, string | null>): string | null {
  const top = path.resolve(root);
  const walked: string[] = [];
  let found: string | null = null;
  for (let d = path.dirname(path.resolve(file)); d !== top && d.startsWith(top + path.sep); d = path.dirname(d)) {
    const known = dirs.get(d);
    if (known !== undefined) {
      found = known;
      break;
    }
    walked.push(d);
    if (existsSync(path.join(d, 'tsconfig.json'))) {
      found = path.join(d, 'tsconfig.json');
      break;
    }
  }
  for (const d of walked) dirs.set(d, found);
  return found;
}
