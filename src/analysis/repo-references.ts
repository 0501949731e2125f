// Uses of a member name in the rest of the repository: other Python files (callers, helpers,
// tests) that reach it as `x.name`, or name it in a string (`getattr(agent, "name")`,
// `patch.object(Agent, "name")`). A migration that removes or renames a member looks here
// first, so a caller elsewhere keeps working or is reported with its file and line.
// The files are read once per repository (and again only when one changes).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { listSourceFiles } from '../discover/files.js';
import { forgetOnReset } from '../core/invocation.js';
import { lowerBound } from '../core/sorted.js';

export interface ExternalUse {
  /** Path relative to the repository root. */
  file: string;
  line: number;
  text: string;
}

export interface Indexed {
  /** The root the paths are relative to (texts are read from it on demand, see fileText). */
  root: string;
  /** Each Python file, by path relative to the root, in listing order. */
  files: Array<{ rel: string }>;
  stamp: string;
  /** The batch whose snapshot of the repository this is (see repoIndex). */
  snapshot?: string;
  /** Word → the files (positions in `files`, ascending) where it occurs as a whole word. */
  words: Map<string, number[]>;
  /**
   * Texts kept as they were listed: those of `_v2` files, the only Python files a run writes, so a
   * batch sees them as it first read them. Every other file's text is read again when a search's
   * word prefilter picks it: holding the whole fleet's texts grew the run with the fleet.
   */
  held: Map<number, string>;
  /** Path relative to the root → its position in `files`; built on first lookup (see repoFile). */
  byRel?: Map<string, number>;
}

/** The text of the file at position `i` of the index ('' when it can no longer be read). */
export function fileText(files: Indexed, i: number): string {
  const held = files.held.get(i);
  if (held !== undefined) return held;
  try {
    return readFileSync(path.join(files.root, files.files[i]!.rel), 'utf8');
  } catch {
    return '';
  }
}

/**
 * The text of the file at `rel` (relative to the root), if the index holds it: every rewrite looks up
 * the candidate files of each of its imports (stdlib ones included) and a scan of the whole list per
 * lookup made a fleet's rewrites quadratic in its size.
 */
export function repoFile(files: Indexed, rel: string): string | undefined {
  if (!files.byRel) files.byRel = new Map(files.files.map((f, i) => [f.rel, i]));
  const i = files.byRel.get(rel);
  return i === undefined ? undefined : fileText(files, i);
}

const cache = new Map<string, Indexed>();
forgetOnReset(() => cache.clear());

/**
 * The repository's Python files, read once per rewrite (and from the cache while none changed).
 * A batch passes its `snapshot` id: within one batch the repository is taken as it was when
 * first read (all it writes while its rewrites run is `_v2` outputs, which every search here skips), so the files are listed
 * and read once per batch and process instead of once per agent. What is kept of each file is its
 * words (see Indexed.held for its text).
 */
export function repoIndex(root: string, snapshot?: string): Indexed {
  const held = cache.get(root);
  if (snapshot !== undefined && held?.snapshot === snapshot) return held;
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
  if (hit && hit.stamp === stamp) {
    hit.snapshot = snapshot;
    return hit;
  }
  const out: Indexed = { root, files: [], stamp, snapshot, words: new Map(), held: new Map() };
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue; // unreadable files are the scan's to report
    }
    const i = out.files.length;
    out.files.push({ rel: path.relative(root, f).split(path.sep).join('/') });
    if (/_v2\.py$/.test(f)) out.held.set(i, text);
    for (const w of new Set(text.match(/\w+/g) ?? [])) {
      const at = out.words.get(w);
      if (at) at.push(i);
      else out.words.set(ownCopy(w), [i]);
    }
  }
  cache.set(root, out);
  return out;
}

/**
 * A copy of a word of a file's text that does not keep the text alive: V8 answers a regular
 * expression's match of 13 characters or more with a slice pointing into the whole string.
 */
function ownCopy(word: string): string {
  return word.length < 13 ? word : word.split('').join('');
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
  const imports = new RegExp(`\\bimport\\s+${mod}\\b|\\b${mod}\\s+import\\b|\\.${mod}\\s+import\\b`);
  const cls = className(agent.className);
  for (const i of candidates(files, name, [cls, agent.module])) {
    const rel = files.files[i]!.rel;
    if (exclude.includes(rel) || /_v2\.py$/.test(rel)) continue;
    const text = fileText(files, i);
    if (!text.includes(name)) continue;
    // A file that defines a class of the same name (another agent's `class SessionStoreAgent`) and
    // does not import this agent's module names its own class, not this one.
    if (!imports.test(text) && (!namesClass(text, cls) || definesClass(text, cls))) continue;
    const lines = text.split('\n');
    const overrides = new Set(subclassOverrides(lines, agent.className, name));
    lines.forEach((l, i) => {
      const code = l.replace(/#.*$/, '');
      if (attr.test(code) || overrides.has(i)) out.push({ file: rel, line: i + 1, text: l.trim().slice(0, 80) });
    });
  }
  return out;
}

function definesClass(text: string, cls: string): boolean {
  return !!cls && new RegExp(`^class\\s+${cls}\\b`, 'm').test(text);
}

/**
 * Does the file name the class where it can reach it: as a name in its code (`LedgerAgent(...)`,
 * `isinstance(x, LedgerAgent)`), or as a string that is only that name or a dotted path ending in it,
 * as dynamic uses spell it (`getattr(mod, "LedgerAgent")`, `AGENTS["LedgerAgent"]`,
 * `"agents.ledger:LedgerAgent"`). The name inside a longer string (another agent's log line,
 * `"LedgerAgent listening on %d"`) or a comment reaches nothing.
 */
export function namesClass(text: string, cls: string): boolean {
  if (!cls) return false;
  const word = new RegExp(`\\b${cls}\\b`, 'g');
  let spans: LiteralSpan[] | undefined;
  let ends: number[] = [];
  for (let m = word.exec(text); m; m = word.exec(text)) {
    if (!spans) {
      spans = literalSpans(text);
      ends = spans.map((x) => x.end);
    }
    const at = m.index;
    const span = spans[lowerBound(ends, at + 1)];
    if (!span || at < span.start) return true;
    if (span.kind === 'comment') continue;
    const content = text.slice(span.contentStart, span.contentEnd);
    // A logger's name (`logging.getLogger("LedgerAgent")`, kept by an agent copied from this one) names a logger.
    if (/\bgetLogger\(\s*$/.test(text.slice(Math.max(0, span.start - 40), span.start))) continue;
    // So does the name a fork gives itself (`self.name = "LedgerAgent"`): that agent's own name, not this class.
    if (/\bself\.name\s*=\s*$/.test(text.slice(Math.max(0, span.start - 40), span.start))) continue;
    if (new RegExp(`^\\s*(?:[\\w.]+[.:])?${cls}\\s*$`).test(content)) return true;
    // An f-string's replacement field is code: `f"{LedgerAgent.__name__}"`.
    if (span.fstring) {
      const before = text.slice(span.contentStart, at);
      if ((before.match(/\{/g)?.length ?? 0) > (before.match(/\}/g)?.length ?? 0)) return true;
    }
  }
  return false;
}

interface LiteralSpan {
  kind: 'string' | 'comment';
  start: number;
  end: number;
  contentStart: number;
  contentEnd: number;
  fstring?: boolean;
}

/** The string literals and comments of Python source, in order (a lexer's view, enough to tell code from text). */
function literalSpans(text: string): LiteralSpan[] {
  const out: LiteralSpan[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      const end = nl < 0 ? n : nl;
      out.push({ kind: 'comment', start: i, end, contentStart: i + 1, contentEnd: end });
      i = end;
      continue;
    }
    if (c !== '"' && c !== "'") {
      i++;
      continue;
    }
    let p = i;
    // Its prefix (f, rb, ...): at most two letters not ending a longer name.
    while (p > 0 && i - p < 2 && /[rRbBuUfF]/.test(text[p - 1]!)) p--;
    if (p > 0 && /\w/.test(text[p - 1]!)) p = i;
    const fstring = /[fF]/.test(text.slice(p, i));
    const triple = text.startsWith(c.repeat(3), i);
    const quote = triple ? c.repeat(3) : c;
    const contentStart = i + quote.length;
    let j = contentStart;
    while (j < n) {
      if (text[j] === '\\') {
        j += 2;
        continue;
      }
      if (!triple && text[j] === '\n') break;
      if (text.startsWith(quote, j)) break;
      j++;
    }
    const contentEnd = Math.min(j, n);
    const end = Math.min(text.startsWith(quote, j) ? j + quote.length : j, n);
    out.push({ kind: 'string', start: p, end, contentStart, contentEnd, ...(fstring ? { fstring } : {}) });
    i = end > i ? end : i + 1;
  }
  return out;
}

/**
 * Lines (0-based) where a subclass of the agent defined in this file overrides `name`: a
 * `def name(` or `name = ...` in the body of `class X(Agent)` / `class X(mod.Agent, Mixin)`. The
 * agent's own code calls such a member (a signal handler it installs, a hook its __init__ calls):
 * removing it leaves the override behind, never called.
 */
function subclassOverrides(lines: string[], agentClass: string, name: string): number[] {
  const out: number[] = [];
  const head = new RegExp(`^(\\s*)class\\s+\\w+\\s*\\(([^)]*)\\)\\s*:`);
  const base = new RegExp(`(^|[\\s,.])${className(agentClass)}\\s*(,|$)`);
  const member = new RegExp(`^\\s*(?:(?:async\\s+)?def\\s+${name}\\s*\\(|${name}\\s*(?::[^=]*)?=(?!=))`);
  for (let i = 0; i < lines.length; i++) {
    const m = head.exec(lines[i]!);
    if (!m || !base.test(m[2]!.trim())) continue;
    const indent = m[1]!.length;
    let bodyIndent = -1;
    for (let j = i + 1; j < lines.length; j++) {
      const l = lines[j]!;
      if (!l.trim() || /^\s*#/.test(l)) continue;
      const at = l.length - l.trimStart().length;
      if (at <= indent) break;
      if (bodyIndent < 0) bodyIndent = at;
      if (at === bodyIndent && member.test(l)) out.push(j);
    }
  }
  return out;
}

/**
 * Where other files use a module-level name of the agent's file (a mixin, a handler class, a helper
 * function): files that import the agent's module (`from agents.x import HealthServerMixin`,
 * `import agents.x as m`, a star import) and name it as a word, each such line. A file holding its own
 * copy of a class of that name (copy-pasted mixins) without importing the agent's module is not a user.
 */
export function moduleNameUses(files: Indexed, exclude: string[], name: string, module: string): ExternalUse[] {
  const out: ExternalUse[] = [];
  if (!/^\w+$/.test(name) || !/^\w+$/.test(module)) return out;
  const imports = new RegExp(`\\bimport\\s+([\\w.]+\\.)?${module}\\b|\\b${module}\\s+import\\b|\\bimport\\s+\\(?[^\\n]*\\b${module}\\b`);
  const word = new RegExp(`\\b${name}\\b`);
  for (const i of intersect(files.words.get(name) ?? [], files.words.get(module) ?? [])) {
    const rel = files.files[i]!.rel;
    if (exclude.includes(rel) || /_v2\.py$/.test(rel)) continue;
    const text = fileText(files, i);
    if (!imports.test(text)) continue;
    text.split('\n').forEach((l, at) => {
      if (word.test(l.replace(/#.*$/, ''))) out.push({ file: rel, line: at + 1, text: l.trim().slice(0, 80) });
    });
  }
  return out;
}

/**
 * The files (positions in the index) that can hold a use of `name` by a caller of the agent, in their order: every use
 * is `.name` or a quoted "name", a word of its own, and a file reaches the agent only by naming
 * its class or its module as words (`reach`). Only those files go through the checks, not the
 * whole repository once per name and agent (in a fleet, names like `health_socket` are in
 * every file, the agent's class in one or two).
 */
function candidates(files: Indexed, name: string, reach: string[]): number[] {
  if (!/^\w+$/.test(name)) return files.files.map((_, i) => i);
  const found = files.words.get(name) ?? [];
  if (!reach.every((w) => /^\w+$/.test(w))) return found;
  const reaching = [...new Set(reach.flatMap((w) => files.words.get(w) ?? []))].sort((a, b) => a - b);
  return intersect(found, reaching);
}

/**
 * The positions in both ascending lists, ascending: the shorter one is looked up in the longer.
 * A word every agent file holds (`health_socket`) lists the whole fleet, the agent's class or
 * module one or two files: filtering the long list made each search linear in the fleet's size.
 */
function intersect(a: readonly number[], b: readonly number[]): number[] {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.filter((i) => long[lowerBound(long, i)] === i);
}

function className(n: string): string {
  return n.replace(/[^\w]/g, '');
}
