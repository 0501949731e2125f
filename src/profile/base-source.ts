// Where a Python profile's base class is in a repository: at `python.source` from the root (where
// the profile imports it from), or under a folder the package is imported from, as in a src/ layout
// (src/amoskys/agents/common/base.py for amoskys.agents.common.base). The profile choice finds it
// there (choose.ts), and the base model, `migrate init` and --verbose read it from the same place:
// before, a base under src/ chose its profile but the rewrite fell back to the profile's declared
// lists, as if the repository had no base.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { forgetOnReset } from '../core/invocation.js';
import { listSourceFiles } from '../discover/files.js';
import { ignoredBy } from '../discover/ignore.js';
import type { PythonProfile } from './profile.js';

/** The files a base module may be (relative, `/` separators): the profile's source, `<module>.py`, `<module>/__init__.py`. */
export function pythonBaseHomes(py: PythonProfile): string[] {
  const modPath = py.module.replace(/\./g, '/');
  return [...new Set([py.source, `${modPath}.py`, `${modPath}/__init__.py`].filter((h): h is string => !!h))];
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The first of `rels` (relative paths, `/` separators) that defines `className` at one of the
 * profile's homes: at the root first, then under a folder (the shallowest, then by name).
 * `read` gives a file's whole text.
 */
export function pythonBaseIn(rels: readonly string[], py: PythonProfile, className: string, read: (rel: string) => string): string | undefined {
  const homes = pythonBaseHomes(py);
  const defines = new RegExp(`^class\\s+${escape(className)}\\b`, 'm');
  const depth = (rel: string) => rel.split('/').length;
  const atRoot = rels.filter((rel) => homes.includes(rel));
  const nested = rels.filter((rel) => !homes.includes(rel) && homes.some((h) => rel.endsWith(`/${h}`))).sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
  return [...atRoot, ...nested].find((rel) => defines.test(read(rel)));
}

const located = new Map<string, string | null>();
forgetOnReset(() => located.clear());

/**
 * The absolute path of the file defining the profile's base class in the repository: `python.source`
 * from the root when that file exists (what the profile says; no look further), else the file
 * pythonBaseIn finds among the repository's Python files (looked up once per invocation), else
 * undefined.
 */
export function findPythonBase(root: string, py: PythonProfile, className: string): string | undefined {
  if (py.source && existsSync(path.join(root, py.source))) return path.join(root, py.source);
  const key = `${path.resolve(root)}\0${py.module}\0${py.source ?? ''}\0${className}`;
  let rel = located.get(key);
  if (rel === undefined) {
    const abs = path.resolve(root);
    // Files the config's `ignore:` leaves out (a vendored copy) are not the repository's base, as for the profile choice.
    const ignored = ignoredBy(abs);
    const rels = listSourceFiles(abs, ['.py'])
      .map((f) => path.relative(abs, f).split(path.sep).join('/'))
      .filter((rel) => !ignored?.(rel));
    rel =
      pythonBaseIn(rels, py, className, (r) => {
        try {
          return readFileSync(path.join(abs, r), 'utf8');
        } catch {
          return '';
        }
      }) ?? null;
    located.set(key, rel);
  }
  return rel === null ? undefined : path.join(root, rel);
}
