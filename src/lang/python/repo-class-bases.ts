// The names the classes of a repository's other Python files give as their bases, read once per run.
// A transform asking "does a class elsewhere subclass this agent?" for every agent otherwise parsed
// every file naming the agent again, per agent and per pass (rewrite, idempotency).
import type { Indexed } from '../../analysis/repo-references.js';
import { baseName } from './module-model.js';
import { repoTree } from './repo-trees.js';
import { walkTypes } from './syntax.js';

const CLASSES = new Set(['class_definition']);

/**
 * Per index (one run's snapshot of the repository: a new one when a file changes), each file's base names.
 * A set of names, not the tree: what is kept per file stays small however large the fleet.
 */
const memo = new WeakMap<Indexed, Map<string, ReadonlySet<string>>>();

/** The base names (baseName of each superclass) of every class in the file at `rel`; null when it is not in the index or cannot be read. */
export function classBaseNames(files: Indexed, rel: string): ReadonlySet<string> | null {
  let byRel = memo.get(files);
  if (!byRel) memo.set(files, (byRel = new Map()));
  const known = byRel.get(rel);
  if (known) return known;
  // The parse agent-constructions also reads of the same files (those importing the agent's module).
  const root = repoTree(files, rel);
  if (!root) return null;
  const names = new Set<string>();
  walkTypes(root, CLASSES, (n) => {
    for (const b of n.childForFieldName('superclasses')?.namedChildren ?? []) {
      const name = baseName(b);
      if (name) names.add(name);
    }
  });
  byRel.set(rel, names);
  return names;
}
