// Uses of a member name in the rest of the repository: other Python files (callers, helpers,
// tests) that reach it as `x.name`, or name it in a string (`getattr(agent, "name")`,
// `patch.object(Agent, "name")`). A migration that removes or renames a member looks here
// first, so a caller elsewhere keeps working or is reported with its file and line.
// The files are read once per repository (and again only when one changes).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { listSourceFiles } from '../discover/files.js';

export interface ExternalUse {
  /** Path relative to the repository root. */
  file: string;
  line: number;
  text: string;
}

export interface Indexed {
  files: Array<{ rel: string; text: string }>;
  stamp: string;
}

const cache = new Map<string, Indexed>();

/** The repository's Python files, read once per rewrite (and from the cache while none changed). */
export function repoIndex(root: string): Indexed {
  const files = listSourceFiles(root, ['.py']);
  const stamp = files.map((f) => {
    try {
      const st = statSync(f);
      return `${f}:${st.size}:${st.mtimeMs}`;
    } catch {
      return f;
    }
  }).join('|');
  const hit = cache.get(root);
  if (hit && hit.stamp === stamp) return hit;
  const out: Indexed = { files: [], stamp };
  for (const f of files) {
    try {
      out.files.push({ rel: path.relative(root, f).split(path.sep).join('/'), text: readFileSync(f, 'utf8') });
    } catch {
      // unreadable files are the scan's to report
    }
  }
  cache.set(root, out);
  return out;
}

/**
 * Where other files use `name` as an attribute or a string. `exclude` are the agent's own file
 * and its _v2 (relative paths); generated `_v2` files of other agents are skipped too (they are
 * copies of files already searched).
 */
export function externalUses(files: Indexed, exclude: string[], name: string, agent: { className: string; module: string }): ExternalUse[] {
  const out: ExternalUse[] = [];
  const attr = new RegExp(`\\.${name}\\b|["']${name}["']`);
  // Only files that reach this agent (name its class, or import its module) can be its callers;
  // another agent's `self.health_socket` is that agent's own.
  const mod = agent.module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const reaches = new RegExp(`\\b${className(agent.className)}\\b|\\bimport\\s+${mod}\\b|\\b${mod}\\s+import\\b|\\.${mod}\\s+import\\b`);
  for (const f of files.files) {
    if (exclude.includes(f.rel) || /_v2\.py$/.test(f.rel) || !f.text.includes(name) || !reaches.test(f.text)) continue;
    const lines = f.text.split('\n');
    lines.forEach((l, i) => {
      const code = l.replace(/#.*$/, '');
      if (attr.test(code)) out.push({ file: f.rel, line: i + 1, text: l.trim().slice(0, 80) });
    });
  }
  return out;
}

function className(n: string): string {
  return n.replace(/[^\w]/g, '');
}
