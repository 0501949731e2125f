// Files a repository keeps out of every scan: `ignore:` in <root>/.migrate/config.yaml
// plus `--ignore` patterns from the command line, both in .gitignore syntax
// (`vendor/`, `**/*_test.py`, `!keep_me.py`), matched against root-relative paths.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ignore from 'ignore';
import YAML, { isScalar, isSeq, LineCounter } from '../core/yaml.js';
import { UsageError } from '../core/errors.js';

/** The `ignore:` patterns of <root>/.migrate/config.yaml (a string or a list of strings). */
export function configIgnorePatterns(root: string): string[] {
  const file = path.join(root, '.migrate', 'config.yaml');
  if (!existsSync(file)) return [];
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'), { lineCounter });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new UsageError(`${file}:${e.linePos?.[0]?.line ?? 1}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const node = doc.get('ignore', true);
  if (node === undefined || node === null) return [];
  const lineOf = (n: unknown) => {
    const range = (n as { range?: [number, number, number] }).range;
    return range ? lineCounter.linePos(range[0]).line : 1;
  };
  const items = isSeq(node) ? node.items : [node];
  return items.map((item) => {
    if (!isScalar(item) || typeof item.value !== 'string' || !item.value.trim()) {
      throw new UsageError(`${file}:${lineOf(item)}: ignore: takes .gitignore-style patterns (strings), one per list item`);
    }
    return item.value.trim();
  });
}

/** A predicate on root-relative POSIX paths: true for a file the scan must leave out. */
export function ignoredBy(root: string, cliPatterns: string[] = []): ((rel: string) => boolean) | null {
  const patterns = [...configIgnorePatterns(root), ...cliPatterns];
  if (!patterns.length) return null;
  const ig = ignore().add(patterns);
  return (rel) => ig.ignores(rel);
}
