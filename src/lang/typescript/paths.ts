// TypeScript and JavaScript file names: which files the adapter reads, and the `_v2` sibling
// of each. Kept apart from ts-morph, so a run over Python agents never loads the compiler.

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
