// Concern: names left unused by the removals (zmq, signal, http.server ...; the retry constants of a
// removed registration loop). Only names whose every use was in removed code go; names that were
// already unused are not ours to touch. An import statement whose every name went goes whole; one that
// keeps some names loses only the others (`from helpers import (load_config, start_health_server)`),
// the rest of its text kept byte for byte, or stays whole when the name cannot be cut out cleanly.
// A module constant (`MAX_REGISTER_TRIES = 5`, no call on its right) goes when every use went,
// unless another file of the repository imports it, `__all__` names it, or the module reaches its
// names dynamically (globals(), eval, exec).
// A statement that only configures such a name for the removed code
// (`HTTPServer.allow_reuse_address = True` before a removed health server) goes with it.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, writtenTexts } from '../../src/lang/python/transform-context.js';
import { movedCodeUses } from './hardened-shapes.js';

/**
 * Code the transforms wrote (an expression moved into super().__init__, a hook) counts as a use, and so
 * does the replacement text of a statement the plan replaces (collect()'s `self._publish(Telemetry(...,
 * timestamp_ns=time.time_ns()))` gathered as `events.append(Telemetry(..., time.time_ns()))`): its range is
 * the plan's, not the edit buffer's, and its text is in the output.
 */
function writtenUses(ctx: PythonTransformContext): (name: string) => boolean {
  // Even when its original went with a removal: erring this way keeps a name, never a NameError.
  const written = writtenTexts(ctx).join('\n');
  return (name) => new RegExp(`(?<![.\\w])${name}(?!\\w)`).test(written);
}

/** Per top-level import statement: its names, those whose every use went, and the settings made only for removed code. */
function importsGone(ctx: PythonTransformContext, used: (name: string) => boolean) {
  const byStatement = new Map<number, { node: SyntaxNode; names: string[] }>();
  for (const [local, imp] of ctx.module.imports) {
    if (imp.node.parent?.type !== 'module') continue;
    const entry = byStatement.get(imp.node.id) ?? { node: imp.node, names: [] };
    entry.names.push(local);
    byStatement.set(imp.node.id, entry);
  }
  const out: Array<{ node: SyntaxNode; names: string[]; gone: string[]; dropSettings: (name: string) => void }> = [];
  for (const { node, names } of byStatement.values()) {
    if (isRemoved(ctx, node)) continue;
    const settings = new Map<string, SyntaxNode[]>();
    const gone = names.filter((name) => {
      if (ctx.introduced.has(name) || used(name)) return false;
      const uses = ctx.refs
        .of(name)
        .filter((r) => r.kind === 'identifier' && !(node.startIndex <= r.start && r.end <= node.endIndex));
      // A use an edit replaced (teardown-super's `sys.exit(0)` now `super().shutdown()`) is gone too:
      // a replacement that names it again counts through `used`.
      const live = uses.filter((r) => !isRemoved(ctx, r.node) && !ctx.edits.covered(r.start, r.end));
      const config = live.map((r) => configuration(r.node)).filter((s): s is SyntaxNode => s !== null);
      // Configuration alone does not keep a name alive, but only when some real use went.
      if (config.length === live.length && live.length < uses.length) {
        settings.set(name, config);
        return true;
      }
      return uses.length > 0 && live.length === 0 && !reachedElsewhere(ctx, name);
    });
    if (!gone.length) continue;
    const dropSettings = (name: string) => {
      for (const s of settings.get(name) ?? []) ctx.deletions.push({ node: s, symbol: `${s.text.split('=')[0]!.trim()} (set for the removed code)` });
    };
    out.push({ node, names, gone, dropSettings });
  }
  return out;
}

/**
 * Another file imports the name through this module (`from agent import sys`), or the module reaches
 * its names by string (globals(), eval): the import stays though no use is left in the output.
 */
function reachedElsewhere(ctx: PythonTransformContext, name: string): boolean {
  return ctx.moduleUses(name).length > 0 || DYNAMIC.some((d) => ctx.refs.of(d).some((r) => r.kind === 'identifier'));
}

function dropWhole(ctx: PythonTransformContext, s: { node: SyntaxNode; names: string[]; dropSettings: (name: string) => void }): void {
  s.names.forEach(s.dropSettings);
  ctx.deletions.push({ node: s.node, symbol: `import ${s.names.join(', ')}` });
}

/** Whole import statements every name of which went (before the hardened transforms move code: see keepMovedImports). */
export const pruneImports: PythonTransform = {
  name: 'prune-imports',
  phase: 'edit',
  run(ctx) {
    for (const s of importsGone(ctx, writtenUses(ctx))) if (s.gone.length === s.names.length) dropWhole(ctx, s);
  },
};

/**
 * Single names cut out of an import that keeps others, and module constants only removed code read:
 * last, once every transform has written and moved its code (the transport moved into
 * EventBusPublisher uses names its removed original used), so what is cut is unused in the output.
 */
export const pruneLeftoverNames: PythonTransform = {
  name: 'prune-leftover-names',
  phase: 'edit',
  run(ctx) {
    const written = writtenUses(ctx);
    const used = (name: string) => written(name) || movedCodeUses(ctx, name);
    // Constants first: an import only a removed constant used goes with it.
    pruneConstants(ctx, used);
    for (const s of importsGone(ctx, used)) {
      if (s.gone.length === s.names.length) {
        dropWhole(ctx, s);
        continue;
      }
      // Some names stay: only the others are cut out of the statement (another file importing one
      // through the agent's module keeps it).
      for (const name of s.gone) {
        if (ctx.moduleUses(name).length) continue;
        const span = nameSpan(ctx, s.node, name);
        if (!span) continue;
        ctx.edits.delete(span.start, span.end, 'prune-imports');
        s.dropSettings(name);
        ctx.removed.push(`import ${name}`);
      }
    }
  },
};

/** The imported names of an import statement (dotted_name / aliased_import nodes), in order. */
function importedNames(stmt: SyntaxNode): SyntaxNode[] {
  if (stmt.type === 'import_from_statement') return stmt.childrenForFieldName('name');
  return stmt.namedChildren.filter((n) => n.type === 'dotted_name' || n.type === 'aliased_import');
}

/** The local name an imported-name node binds (`a.b` binds a; `x as y` binds y). */
function localName(stmt: SyntaxNode, n: SyntaxNode): string {
  if (n.type === 'aliased_import') return n.childForFieldName('alias')!.text;
  return stmt.type === 'import_from_statement' ? n.text : n.text.split('.')[0]!;
}

/**
 * The text to delete to drop one name of a statement that keeps others, or null (keep it all) when it
 * cannot be cut out cleanly: the name binds more than once, the edit buffer already edits the statement,
 * or what lies between it and its neighbour is more than a comma and blanks (a comment, a backslash).
 * A name alone on its line inside parentheses goes with its line (and the comment ending that line, which
 * is about it); otherwise with the comma after it, or before it when it is the last.
 */
function nameSpan(ctx: PythonTransformContext, stmt: SyntaxNode, name: string): { start: number; end: number } | null {
  const src = ctx.source;
  const all = importedNames(stmt);
  const mine = all.filter((n) => localName(stmt, n) === name);
  if (mine.length !== 1 || all.length < 2) return null;
  if (ctx.edits.hunks().some((h) => h.start < stmt.endIndex && stmt.startIndex < h.end)) return null;
  const n = mine[0]!;
  const i = all.indexOf(n);
  const parenthesised = stmt.children.some((c) => c.type === '(');
  const lineStart = src.lastIndexOf('\n', n.startIndex - 1) + 1;
  const nl = src.indexOf('\n', n.endIndex);
  const lineEnd = nl < 0 ? src.length : nl + 1;
  const before = src.slice(lineStart, n.startIndex);
  const after = src.slice(n.endIndex, lineEnd);
  if (parenthesised && /^[ \t]*$/.test(before) && /^[ \t]*,?[ \t]*(#[^\n]*)?\r?\n$/.test(after)) {
    // Alone on its line. The names left must still be separated by commas (the last one's comma
    // before it stays as a trailing comma, which parentheses allow).
    if (all[i + 1] && !/,/.test(after)) return null;
    return { start: lineStart, end: lineEnd };
  }
  const clean = (s: string) => /^[ \t]*,[ \t]*$/.test(s);
  const next = all[i + 1];
  if (next && clean(src.slice(n.endIndex, next.startIndex))) return { start: n.startIndex, end: next.startIndex };
  const prev = all[i - 1];
  if (!next && prev && clean(src.slice(prev.endIndex, n.startIndex))) return { start: prev.endIndex, end: n.endIndex };
  return null;
}

/** `@name` / `@name(...)` / `@name.attr`: the name inside a decorator line. */
function asDecorator(n: SyntaxNode): boolean {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'decorator') return true;
    if (p.type === 'block' || p.type === 'module' || p.type === 'function_definition') return false;
  }
  return false;
}

/** Calls the module makes that reach its names by string: constants are then never pruned. */
const DYNAMIC = ['globals', 'vars', 'locals', 'eval', 'exec', '__import__'];

/**
 * Module constants (`NAME = <literal or call-free expression>`, one binding of the name in the module)
 * whose every use is in removed code: queued for deletion, to a fixed point (a constant only another
 * removed constant read goes too). Never without the repository to ask (another file may import it).
 */
function pruneConstants(ctx: PythonTransformContext, writtenUse: (name: string) => boolean): void {
  if (!ctx.location) return;
  if (DYNAMIC.some((d) => ctx.refs.of(d).some((r) => r.kind === 'identifier'))) return;
  const exported = new Set<string>();
  for (const st of ctx.module.root.namedChildren) {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if ((a?.type === 'assignment' || a?.type === 'augmented_assignment') && a.childForFieldName('left')?.text === '__all__') {
      // Any __all__ the module builds: the names it lists as strings (unreadable forms list everything).
      const right = a.childForFieldName('right');
      if (!right || !/^(list|tuple)$/.test(right.type)) return;
      for (const s of right.namedChildren) exported.add(s.text.replace(/^['"]|['"]$/g, ''));
    }
  }
  const candidates: Array<{ name: string; stmt: SyntaxNode; left: SyntaxNode; fn?: boolean }> = [];
  for (const st of ctx.module.root.namedChildren) {
    const a = st.type === 'expression_statement' && st.namedChildCount === 1 ? st.namedChild(0) : null;
    if (a?.type !== 'assignment') continue;
    const left = a.childForFieldName('left');
    const right = a.childForFieldName('right');
    if (left?.type !== 'identifier' || !right || !simple(right) || left.text.startsWith('__')) continue;
    if (exported.has(left.text) || isRemoved(ctx, st)) continue;
    candidates.push({ name: left.text, stmt: st, left });
  }
  // Module decorators too (a `retry` decorator of a removed registration method): a function whose every
  // use is as a decorator only wrapped what it decorated, so once that went it serves nothing. A function
  // removed code called (an idempotency key, a formatter) may be business a person still wants: it stays.
  // A plain `def` runs nothing when defined; a decorated one may register itself somewhere, so it stays.
  for (const st of ctx.module.root.namedChildren) {
    const left = st.type === 'function_definition' ? st.childForFieldName('name') : null;
    if (!left || left.text.startsWith('__') || exported.has(left.text) || isRemoved(ctx, st)) continue;
    candidates.push({ name: left.text, stmt: st, left, fn: true });
  }
  const done = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const c of candidates) {
      if (done.has(c.name) || ctx.introduced.has(c.name) || writtenUse(c.name)) continue;
      const refs = ctx.refs.of(c.name);
      // One binding: every other mention is a read (no second assignment, `global`, del, or attribute).
      // (a function's own body calling it, recursion, is not a use from outside)
      const uses = refs.filter((r) => r.node.id !== c.left.id && !(c.fn && c.stmt.startIndex <= r.start && r.end <= c.stmt.endIndex));
      if (!uses.length || uses.some((r) => r.kind !== 'identifier' || binds(r.node))) continue;
      if (c.fn && !uses.every((r) => asDecorator(r.node))) continue;
      if (uses.some((r) => !isRemoved(ctx, r.node)) || ctx.moduleUses(c.name).length) continue;
      done.add(c.name);
      changed = true;
      ctx.deletions.push({ node: c.stmt, symbol: `${c.name} (a module ${c.fn ? 'function' : 'constant'} only removed code used)`, plain: true });
    }
  }
}

/** A literal, a name, or operators, containers and attribute reads of those: nothing that runs code of its own. */
function simple(n: SyntaxNode): boolean {
  switch (n.type) {
    case 'integer':
    case 'float':
    case 'true':
    case 'false':
    case 'none':
    case 'identifier':
      return true;
    case 'string':
      return !n.namedChildren.some((c) => c.type === 'interpolation');
    case 'concatenated_string':
    case 'unary_operator':
    case 'binary_operator':
    case 'parenthesized_expression':
    case 'tuple':
    case 'list':
    case 'set':
    case 'dictionary':
    case 'pair':
      return n.namedChildren.every((c) => c.type === 'comment' || simple(c));
    case 'attribute':
      return simple(n.childForFieldName('object')!);
    default:
      return false;
  }
}

/** Where an identifier is bound whatever its place inside: `global`, `del`, parameters, `as` targets, imports. */
const BINDING_CONTEXT = /^(global_statement|nonlocal_statement|delete_statement|parameters|lambda_parameters|default_parameter|typed_parameter|typed_default_parameter|as_pattern_target|dotted_name|aliased_import|import_statement|import_from_statement)$/;
/** What an assignment target can be built of (`A, B = ...`, `for (A, B) in ...`). */
const TARGET_PARTS = /^(pattern_list|tuple_pattern|list_pattern|tuple|list|parenthesized_expression|list_splat_pattern)$/;

/** The identifier is bound there (an assignment, loop or `as` target, a def, `global`, `del`, a parameter, an import). */
function binds(id: SyntaxNode): boolean {
  for (let n: SyntaxNode = id, p = id.parent; p; n = p, p = p.parent) {
    if (BINDING_CONTEXT.test(p.type)) return true;
    const field = /^(assignment|augmented_assignment|for_statement|for_in_clause)$/.test(p.type) ? 'left' : /^(named_expression|function_definition|class_definition)$/.test(p.type) ? 'name' : null;
    if (field && p.childForFieldName(field)?.id === n.id) return true;
    if (!TARGET_PARTS.test(p.type)) return false;
  }
  return false;
}

/** `Name.attr = <literal>` as a whole statement: the statement, else null. */
function configuration(id: SyntaxNode): SyntaxNode | null {
  const attr = id.parent;
  if (attr?.type !== 'attribute' || attr.childForFieldName('object')?.id !== id.id) return null;
  const assign = attr.parent;
  if (assign?.type !== 'assignment' || assign.childForFieldName('left')?.id !== attr.id) return null;
  if (!/^(true|false|none|integer|float|string)$/.test(assign.childForFieldName('right')?.type ?? '')) return null;
  const stmt = assign.parent;
  return stmt?.type === 'expression_statement' ? stmt : null;
}
