// Where a relative import of the repository (`../lib/registry`, `./util.js`) points: one resolver for
// every reader of an imported module's text (interfaces, helpers, registrars).
import { existsSync, readFileSync, statSync } from 'node:fs';

/**
 * The file a relative module specifier resolved from the importer's folder (`base`) names: `base` itself
 * when it is a file, else `base` (less a .js/.mjs/.cjs extension, which TypeScript sources import their
 * .ts siblings by) with a TypeScript, declaration or JavaScript extension, or its folder's index. `code`:
 * only files with code (no .d.ts), for a reader of function bodies. Null when none is there.
 */
export function importedFile(base: string, opts: { code?: boolean } = {}): string | null {
  const stem = base.replace(/\.[cm]?js$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.mts`, `${stem}.cts`, ...(opts.code ? [] : [`${stem}.d.ts`]), `${stem}.js`, `${stem}.mjs`, `${stem}.cjs`, `${stem}/index.ts`, `${stem}/index.js`];
  for (const f of candidates) {
    try {
      if (existsSync(f) && statSync(f).isFile()) return f;
    } catch {
      // unreadable: try the next
    }
  }
  return null;
}

/** The text of the module a relative import names (see importedFile; `code` for a reader of function bodies), or null. */
export function importedText(base: string, opts: { code?: boolean } = {}): string | null {
  const f = importedFile(base, opts);
  if (f === null) return null;
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return null;
  }
}
