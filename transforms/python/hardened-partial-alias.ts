// Concern (seed 001): a publish reached through a `functools.partial` alias bound in __init__
// (`self.publish = partial(self._send_batch, "kmod")`, `self._ship = functools.partial(self._publish_batch,
// tag="sudoers", deadline=RPC_DEADLINE)`) and called as `self.publish(telemetry)`. When every bound
// argument is a value fixed when the class is defined (a literal, or a module constant bound once above
// the class) and nothing but that alias uses the target, the alias is the target with other defaults:
// the target's bound parameters take those values as defaults (positionally bound ones moved behind the
// parameters still to be passed, in order), each call of the alias calls the target, and the alias's
// assignment goes. The rewrite then sees a publish called by name. Line numbers stay: the assignment and
// an import left unused become `pass` placeholders that the rewrite removes as whole lines.
// A bound value that is not fixed then (a constructor argument, an attribute of the agent) cannot be a
// default: partialAliasBlocker() says which, for the review item.
import type { SyntaxNode, Tree } from '../../src/lang/python/parser.js';
import { buildModuleModel, type ModuleModel, type PyClass, type PyFunction } from '../../src/lang/python/module-model.js';
import { selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { excerpt } from '../../src/core/excerpt.js';

export interface PartialAlias {
  /** The alias attribute (`publish` of `self.publish = partial(...)`). */
  attr: string;
  target: PyFunction;
  /** The assignment statement. */
  stmt: SyntaxNode;
  call: SyntaxNode;
  /** The partial's arguments after the target. */
  bound: SyntaxNode[];
}

export interface PartialDesugar {
  source: string;
  /** Lines (1-based) of the `pass` placeholders the rewrite removes. */
  placeholders: number[];
  warnings: string[];
}

/** Is `fnText` (the partial call's function) functools.partial as this module imports it? */
function isPartialCallee(module: ModuleModel, fnText: string): boolean {
  const imp = module.imports.get(fnText.split('.')[0]!);
  if (fnText === 'functools.partial') return imp?.module === 'functools' && imp.name === null;
  return !fnText.includes('.') && imp?.module === 'functools' && imp.name === 'partial';
}

/** `self.<attr> = functools.partial(self.<method>, ...)` statements of __init__'s own body. */
export function partialAliases(module: ModuleModel, cls: PyClass): PartialAlias[] {
  const init = cls.methods.get('__init__');
  if (!init) return [];
  const out: PartialAlias[] = [];
  for (const s of statements(init.body)) {
    const a = s.type === 'expression_statement' && s.namedChildCount === 1 ? s.namedChild(0)! : null;
    if (a?.type !== 'assignment') continue;
    const attr = selfAttribute(a.childForFieldName('left')!);
    const right = a.childForFieldName('right');
    if (!attr || cls.methods.has(attr) || right?.type !== 'call') continue;
    if (!isPartialCallee(module, right.childForFieldName('function')!.text)) continue;
    const args = right.childForFieldName('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    const own = args[0] ? selfAttribute(args[0]) : null;
    const target = own ? cls.methods.get(own) : undefined;
    if (!target) continue;
    out.push({ attr, target, stmt: s, call: right, bound: args.slice(1) });
  }
  return out;
}

/** A module constant bound exactly once at the top level, above `before` (so a default can name it). */
function moduleConstant(module: ModuleModel, name: string, before: number): boolean {
  let binds = 0;
  let above = false;
  walk(module.root, (n) => {
    if (n.type === 'global_statement' && n.namedChildren.some((c) => c.text === name)) binds += 2;
    if (n.type !== 'assignment' && n.type !== 'augmented_assignment' && n.type !== 'for_statement') return;
    const left = n.childForFieldName('left');
    if (!left) return;
    let hit = false;
    walk(left, (x) => {
      if (x.type === 'identifier' && x.text === name) hit = true;
    });
    if (!hit) return;
    binds += 1;
    above = n.type === 'assignment' && left.type === 'identifier' && n.parent?.type === 'expression_statement' && n.parent.parent?.id === module.root.id && n.endIndex < before;
  });
  return binds === 1 && above;
}

/** Why the bound value cannot be the target's default, or null when it can. */
function unfixedValue(module: ModuleModel, cls: PyClass, init: PyFunction, value: SyntaxNode): string | null {
  const v = value.type === 'unary_operator' ? value.namedChildren[value.namedChildCount - 1]! : value;
  if (['integer', 'float', 'true', 'false', 'none'].includes(v.type)) return null;
  if (v.type === 'string' && !v.namedChildren.some((c) => c.type === 'interpolation') && !v.text.includes('\n')) return null;
  if (v.type === 'identifier') {
    if (init.params.some((p) => p.name === v.text)) return `${value.text}, the constructor's argument, is a value of each agent, which no default of a method can hold`;
    if (moduleConstant(module, v.text, cls.outer.startIndex)) return null;
    return `${value.text} is no module constant bound once above the class`;
  }
  return `${value.text} is computed when the agent is constructed, not when the class is defined, so no default of a method can hold it`;
}

/** Every `<x>.<name>` in the file (attribute nodes whose attribute is `name`). */
function attributeUses(root: SyntaxNode, name: string): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  walk(root, (n) => {
    if (n.type === 'attribute' && n.childForFieldName('attribute')?.text === name) out.push(n);
  });
  return out;
}

/**
 * The target's reads of its parameter `name` (each to become `self.<name>`), or why it cannot read the
 * agent's attribute instead: the parameter is rebound in the body, or the attribute's name is taken
 * (used anywhere in the file, or owned by the base).
 */
function parameterReads(module: ModuleModel, cls: PyClass, fn: PyFunction, name: string, baseOwned: ReadonlySet<string>): SyntaxNode[] | string {
  if (baseOwned.has(name) || cls.methods.has(name) || attributeUses(module.root, name).length) return `self.${name} is already a name of the agent or its base`;
  const reads: SyntaxNode[] = [];
  let bad: string | null = null;
  walk(fn.body, (n) => {
    if (bad) return false;
    if (['function_definition', 'lambda', 'class_definition', 'list_comprehension', 'dictionary_comprehension', 'set_comprehension', 'generator_expression'].includes(n.type)) {
      let inner = false;
      walk(n, (x) => {
        if (x.type === 'identifier' && x.text === name) inner = true;
      });
      if (inner) bad = `${fn.name}() uses ${name} inside a nested scope (line ${n.startPosition.row + 1})`;
      return false;
    }
    if (n.type !== 'identifier' || n.text !== name) return;
    const p = n.parent!;
    if (p.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    if (p.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    // A binding target (`name = ...`, `for name in`, `as name`, `global name`, `(name := ...)`): rebound.
    for (let c: SyntaxNode = n, a: SyntaxNode | null = p; a && a.id !== fn.body.id; c = a, a = a.parent) {
      const target = ['assignment', 'augmented_assignment', 'for_statement'].includes(a.type) ? a.childForFieldName('left')
        : a.type === 'named_expression' ? a.childForFieldName('name')
          : ['as_pattern_target', 'global_statement', 'nonlocal_statement'].includes(a.type) ? a : null;
      if (target && target.startIndex <= c.startIndex && c.endIndex <= target.endIndex) {
        bad = `${fn.name}() rebinds ${name} (line ${n.startPosition.row + 1})`;
        return;
      }
    }
    reads.push(n);
  });
  return bad ?? reads;
}

/**
 * Why the alias cannot become a call of its target by name (null when it can), and, when it can,
 * the target's new parameter list.
 */
export function partialAliasPlan(
  module: ModuleModel,
  cls: PyClass,
  alias: PartialAlias,
  usedElsewhere: (name: string) => boolean = () => false,
  baseOwned: ReadonlySet<string> = new Set(),
): { blocker: string } | { params: string; calls: SyntaxNode[]; defaults: string[]; kept: Array<{ name: string; value: string; reads: SyntaxNode[] }> } {
  const init = cls.methods.get('__init__')!;
  const t = alias.target;
  const named = `${t.name}()`;
  const calls: SyntaxNode[] = [];
  for (const u of attributeUses(module.root, alias.attr)) {
    if (u.parent?.type === 'assignment' && u.parent.parent?.id === alias.stmt.id) continue;
    const call = u.parent?.type === 'call' && u.parent.childForFieldName('function')?.id === u.id ? u.parent : null;
    const args = call?.childForFieldName('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    if (!call || selfAttribute(u) !== alias.attr || args.some((a) => ['keyword_argument', 'list_splat', 'dictionary_splat'].includes(a.type))) {
      return { blocker: `self.${alias.attr} is also used at line ${u.startPosition.row + 1} (${excerpt(u.parent?.text ?? '', 60)}) other than called with its events` };
    }
    calls.push(call);
  }
  if (!calls.length) return { blocker: `self.${alias.attr} is never called` };
  const first = alias.call.childForFieldName('arguments')!.namedChildren.find((c) => c.type !== 'comment')!;
  for (const u of attributeUses(module.root, t.name)) {
    if (u.id === first.id) continue;
    return { blocker: `${named} is also used at line ${u.startPosition.row + 1}, so its defaults cannot change` };
  }
  if (usedElsewhere(alias.attr) || usedElsewhere(t.name)) return { blocker: `another file of the repository uses ${usedElsewhere(alias.attr) ? `.${alias.attr}` : `.${t.name}`}` };
  if (t.isAsync || t.decorators.length) return { blocker: `${named} is ${t.isAsync ? 'async' : 'decorated'}` };
  if (t.parameters.text.includes('\n')) return { blocker: `${named}'s parameters span lines` };
  const params = t.params.slice(1);
  if (params.some((p) => p.kind !== 'plain' && p.kind !== 'default') || params.some((p) => !['identifier', 'default_parameter'].includes(p.node.type))) {
    return { blocker: `${named} takes *args, **kwargs, keyword-only or annotated parameters` };
  }
  const values = new Map<string, SyntaxNode>();
  const kept = new Map<string, { value: SyntaxNode; reads: SyntaxNode[] }>();
  let positional = 0;
  for (const b of alias.bound) {
    if (b.type === 'list_splat' || b.type === 'dictionary_splat') return { blocker: `the alias binds ${b.text}` };
    const [name, value] = b.type === 'keyword_argument' ? [b.childForFieldName('name')!.text, b.childForFieldName('value')!] : [params[positional++]?.name, b];
    if (!name || !params.some((p) => p.name === name) || values.has(name)) return { blocker: `the alias binds ${b.text}, which ${named} does not take once` };
    const why = unfixedValue(module, cls, init, value);
    if (why) {
      // A value of each agent (a constructor argument, its config): kept as the agent's attribute of the
      // parameter's name at the alias's line, evaluated there as the partial evaluated it, read by the target.
      const reads = why && !values.has(name) ? parameterReads(module, cls, t, name, baseOwned) : null;
      if (typeof reads === 'string') return { blocker: `the alias binds ${b.text}: ${why}, and ${reads}` };
      kept.set(name, { value, reads: reads! });
      continue;
    }
    values.set(name, value);
  }
  // The call's one argument fills the first parameter after those bound by position, as before.
  const receiving = params[positional];
  if (!receiving) return { blocker: `the alias binds every parameter of ${named}` };
  if (values.has(receiving.name) || kept.has(receiving.name)) return { blocker: `the alias binds ${receiving.name} by keyword, the parameter its call fills by position` };
  const missing = params.find((p) => p !== receiving && p.kind === 'plain' && !values.has(p.name) && !kept.has(p.name));
  if (missing) return { blocker: `${named}'s parameter ${missing.name} is neither bound nor passed` };
  const text = (p: (typeof params)[number]) => (values.has(p.name) ? `${p.name}=${values.get(p.name)!.text}` : p.node.text);
  const list = [t.params[0]!.node.text, receiving.node.text, ...params.filter((p) => p !== receiving && !kept.has(p.name)).map(text)];
  return {
    params: `(${list.join(', ')})`,
    calls,
    defaults: [...values].map(([n, v]) => `${n}=${v.text}`),
    kept: [...kept].map(([name, k]) => ({ name, value: k.value.text, reads: k.reads })),
  };
}

/** Why the cycle's alias stays (for the review item), null when there is nothing to say. */
export function partialAliasBlocker(module: ModuleModel, cls: PyClass, attr: string): string | null {
  const alias = partialAliases(module, cls).find((a) => a.attr === attr);
  if (!alias) return null;
  const plan = partialAliasPlan(module, cls, alias);
  return 'blocker' in plan ? plan.blocker : null;
}

/**
 * The source with the agent's partial publish alias resolved (see the file's head), or null when
 * there is none or it cannot be resolved provably. `reachesBus` says whether a method is transport.
 */
export function desugarPartialAlias(
  source: string,
  tree: Tree,
  className: string,
  reachesBus: (module: ModuleModel, cls: PyClass, fn: PyFunction) => boolean,
  usedElsewhere: (name: string) => boolean,
  baseOwned: ReadonlySet<string> = new Set(),
): PartialDesugar | null {
  const module = buildModuleModel(source, tree);
  const cls = module.classes.find((c) => c.name === className);
  if (!cls) return null;
  const edits: Array<{ from: number; to: number; text: string }> = [];
  const placeholders: number[] = [];
  const warnings: string[] = [];
  const gone = new Set<number>();
  for (const alias of partialAliases(module, cls)) {
    if (!reachesBus(module, cls, alias.target)) continue;
    const plan = partialAliasPlan(module, cls, alias, usedElsewhere, baseOwned);
    if ('blocker' in plan) continue;
    const s = alias.stmt;
    if (source.slice(s.endIndex, source.indexOf('\n', s.endIndex) === -1 ? source.length : source.indexOf('\n', s.endIndex)).trim() !== '') continue;
    const lines = s.text.split('\n').length;
    // Values of each agent stay where the partial evaluated them, as attributes the target reads.
    const keep = plan.kept.length ? `${plan.kept.map((k) => `self.${k.name}`).join(', ')} = ${plan.kept.map((k) => k.value).join(', ')}` : null;
    const first = keep ? 1 : 0;
    edits.push({ from: s.startIndex, to: s.endIndex, text: [...(keep ? [keep] : []), ...Array(lines - first).fill('pass')].join('\n' + ' '.repeat(s.startPosition.column)) });
    for (let i = first; i < lines; i++) placeholders.push(s.startPosition.row + 1 + i);
    for (const k of plan.kept) for (const r of k.reads) edits.push({ from: r.startIndex, to: r.endIndex, text: `self.${k.name}` });
    edits.push({ from: alias.target.parameters.startIndex, to: alias.target.parameters.endIndex, text: plan.params });
    for (const c of plan.calls) {
      const f = c.childForFieldName('function')!;
      edits.push({ from: f.startIndex, to: f.endIndex, text: `self.${alias.target.name}` });
    }
    gone.add(alias.call.childForFieldName('function')!.id);
    warnings.push(
      `${cls.name}: self.${alias.attr} = ${alias.call.text.replace(/\s+/g, ' ')} (line ${s.startPosition.row + 1}) is ${alias.target.name}() with arguments bound once: ` +
        `${alias.target.name}() (line ${alias.target.line}, called by nothing else) ` +
        [plan.defaults.length ? `takes ${plan.defaults.join(', ')} as its defaults now` : '', plan.kept.length ? `reads ${plan.kept.map((k) => `self.${k.name}`).join(', ')} where it read its parameter${plan.kept.length > 1 ? 's' : ''} ${plan.kept.map((k) => k.name).join(', ')}, set at that line to ${plan.kept.map((k) => k.value).join(', ')} (the value the alias bound for each agent)` : ''].filter(Boolean).join(' and ') + ', ' +
        `each self.${alias.attr}(...) (line${plan.calls.length > 1 ? 's' : ''} ${plan.calls.map((c) => c.startPosition.row + 1).join(', ')}) calls ${alias.target.name}() by name, and the alias went`,
    );
  }
  if (!edits.length) return null;
  // An import of functools (or of partial) that only the aliases used goes too.
  for (const [local, imp] of module.imports) {
    if (imp.module !== 'functools' || (imp.name !== null && imp.name !== 'partial')) continue;
    let other = false;
    walk(module.root, (n) => {
      if (other || n.type !== 'identifier' || n.text !== local) return;
      if (n.parent?.type === 'dotted_name' || n.parent?.type === 'aliased_import' || n.parent?.type === 'import_statement' || n.parent?.type === 'import_from_statement') return;
      const fnNode = n.parent?.type === 'attribute' ? n.parent : n;
      if (![...gone].includes(fnNode.id)) other = true;
    });
    const stmt = imp.node;
    const names = stmt.type === 'import_statement' ? stmt.namedChildren.length : stmt.childrenForFieldName('name').length;
    if (other || names !== 1 || stmt.text.includes('\n') || stmt.parent?.id !== module.root.id) continue;
    edits.push({ from: stmt.startIndex, to: stmt.endIndex, text: 'pass' });
    placeholders.push(stmt.startPosition.row + 1);
  }
  edits.sort((a, b) => b.from - a.from);
  let out = source;
  for (const e of edits) out = out.slice(0, e.from) + e.text + out.slice(e.to);
  return { source: out, placeholders, warnings };
}
