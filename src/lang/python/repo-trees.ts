// The parse of another Python file of the repository, kept for the next agent or pass that asks for it.
// A file importing agents (a launcher, a table of them) was parsed again for each of them, and again in
// each one's idempotency pass. Few are kept, the latest asked for: memory stays flat in the fleet's size.
import { repoFile, type Indexed } from '../../analysis/repo-references.js';
import { parsePython, type SyntaxNode } from './parser.js';

const KEEP = 4;

/** Per index (one run's snapshot of the repository: a new one when a file changes), its latest parses. */
const kept = new WeakMap<Indexed, Map<string, SyntaxNode>>();

/** The root of the file at `rel` parsed; null when it is not in the index or cannot be read. */
export function repoTree(files: Indexed, rel: string): SyntaxNode | null {
  let latest = kept.get(files);
  if (!latest) kept.set(files, (latest = new Map()));
  const hit = latest.get(rel);
  if (hit) {
    latest.delete(rel);
    latest.set(rel, hit);
    return hit;
  }
  const text = repoFile(files, rel);
  if (!text) return null;
  const root = parsePython(text).rootNode;
  latest.set(rel, root);
  if (latest.size > KEEP) latest.delete(latest.keys().next().value!);
  return root;
}
