// Concern: constructions of the agent outside its entry point (a decorator or a helper
// that builds the agent on every call). Once the class inherits the base, each such
// construction starts the base too: binds its ports, registers, installs handlers.
// Nothing is rewritten; every such place is reported for review.
//
// Several instances in one process (`[ShardWorker(shard=i, port=7900 + 10 * i) for i in range(3)]`,
// here or in another file of the repository, of the class or of a subclass defined there): each
// starts the base with what the migrated __init__ hands it. A name built from a constructor parameter
// differs per instance: migrated, with a warning naming the line and the contract's variables that would
// make the instances alike again. One name for all (a literal, the class name) is a clash whatever the
// environment (the registry keeps one entry, the first to stop deregisters it): a review item naming the line.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { parsePython } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { entryScopes } from '../../src/lang/python/module-model.js';
import { startCallOn } from './entrypoint.js';
import { walk, walkTypes } from '../../src/lang/python/syntax.js';

export const agentConstructions: PythonTransform = {
  name: 'agent-constructions',
  phase: 'edit',
  run(ctx) {
    const cls = ctx.agent.cls;
    const entry = new Set(entryScopes(ctx.module).map((n) => n.id));
    for (const ref of ctx.refs.of(cls.name)) {
      if (ref.kind !== 'identifier' || ref.node.parent?.type !== 'call' || isRemoved(ctx, ref.node)) continue;
      let top: SyntaxNode = ref.node;
      let inEntry = false;
      for (let n: SyntaxNode | null = ref.node; n; n = n.parent) {
        if (entry.has(n.id)) inEntry = true;
        if (n.parent?.type === 'module') top = n;
      }
      if (cls.node.startIndex <= ref.start && ref.end <= cls.node.endIndex) continue;
      if (inEntry) {
        const loop = repeated(ref.node.parent!);
        if (loop && !runsToEnd(ctx, top, ref.node.parent!)) sharedName(ctx, ctx.file, ref.line, cls.name, loop);
        continue;
      }
      const fn = top.type === 'decorated_definition' ? top.childForFieldName('definition') : top;
      const where = fn?.type === 'function_definition' || fn?.type === 'class_definition' ? fn.childForFieldName('name')!.text : 'module level';
      keep(ctx, where, ref.line,
        `constructs ${cls.name} outside the entry point; each construction now also starts ${ctx.profile.base_class} (binds its ports, registers, installs signal handlers)`);
    }
    for (const b of tableBuilds(ctx.module.root, new Set([cls.name]))) classTable(ctx, ctx.file, ctx.module.root, b);
    elsewhere(ctx);
  },
};

/** Constructions in the repository's other files that import the agent's module, in a loop or comprehension. */
function elsewhere(ctx: PythonTransformContext): void {
  if (!ctx.repoTree) return;
  const cls = ctx.agent.cls.name;
  const files = [...new Set(ctx.moduleUses(cls).map((u) => u.file))].sort();
  for (const rel of files) {
    const root = ctx.repoTree(rel);
    if (!root) continue;
    // The class and the subclasses that file defines on it (a subclass of a subclass too).
    const names = new Set([cls]);
    for (let grew = true; grew; ) {
      grew = false;
      walk(root, (n) => {
        if (n.type !== 'class_definition') return;
        const name = n.childForFieldName('name')!.text;
        const bases = n.childForFieldName('superclasses')?.namedChildren ?? [];
        if (!names.has(name) && bases.some((b) => names.has(b.text.replace(/^.*\./, '')))) {
          names.add(name);
          grew = true;
        }
      });
    }
    walk(root, (n) => {
      if (n.type !== 'call') return;
      const fn = n.childForFieldName('function')!;
      const called = fn.type === 'identifier' ? fn.text : fn.type === 'attribute' ? fn.childForFieldName('attribute')!.text : null;
      if (!called || !names.has(called)) return;
      const loop = repeated(n);
      if (loop) sharedName(ctx, rel, n.startPosition.row + 1, called === cls ? cls : `${called} (a subclass of ${cls})`, loop);
    });
    for (const b of tableBuilds(root, names)) classTable(ctx, rel, root, b);
  }
}

/** A loop that builds the classes of a table (`AGENTS = {"a": AlphaAgent, "b": BetaAgent}`), the agent's among them. */
export interface TableBuild {
  line: number;
  loop: string;
  table: string;
  /** The table's entries, in order (a class may be there twice). */
  entries: string[];
}

// The node types tableBuilds looks at: walkTypes steps through the file's index of them, not every node.
const TABLE_LITERALS: ReadonlySet<string> = new Set(['dictionary', 'list', 'tuple', 'set', 'expression_list']);
const CALLS: ReadonlySet<string> = new Set(['call']);

/**
 * Classes constructed through a table of them: a dict, list, tuple or set literal naming classes (the agent's
 * among `names`) bound to a name, then called in a loop over it (`for key, cls in AGENTS.items(): cls(**cfg)`,
 * `[cls() for cls in AGENTS]`, `AGENTS[key](...)` in a loop), or iterated in place (`for cls in (A, B): cls()`).
 * The agent's class is never called by name there, so the constructions above do not see it.
 */
export function tableBuilds(root: SyntaxNode, names: ReadonlySet<string>): TableBuild[] {
  const tables = new Map<string, { node: SyntaxNode; entries: string[] }>();
  const inPlace: Array<{ node: SyntaxNode; entries: string[] }> = [];
  walkTypes(root, TABLE_LITERALS, (n) => {
    const items = n.type === 'dictionary' ? n.namedChildren.map((p) => (p.type === 'pair' ? p.childForFieldName('value') : null)) : n.namedChildren;
    const entries = items.map((i) => (i?.type === 'identifier' || i?.type === 'attribute' ? i.text.replace(/^.*\./, '') : null));
    if (!entries.some((e) => e !== null && names.has(e))) return;
    const classes = entries.filter((e): e is string => e !== null);
    const parent = n.parent;
    const bound = parent?.type === 'assignment' && parent.childForFieldName('right')?.id === n.id ? parent.childForFieldName('left') : null;
    if (bound?.type === 'identifier') tables.set(bound.text, { node: n, entries: classes });
    else if ((parent?.type === 'for_statement' || parent?.type === 'for_in_clause') && parent.childForFieldName('right')?.id === n.id) inPlace.push({ node: n, entries: classes });
  });
  const out: TableBuild[] = [];
  // Without a table naming the classes no call below can be a table's construction.
  if (!tables.size && !inPlace.length) return out;
  // The loop variable bound to a table's class: `cls` of `for cls in T`, `T.values()`, `for k, cls in T.items()`.
  const classVariable = (clause: SyntaxNode, table: string | null, literal: SyntaxNode | null): string | null => {
    const right = clause.childForFieldName('right');
    const left = clause.childForFieldName('left');
    if (!right || !left) return null;
    if (literal) return right.id === literal.id && left.type === 'identifier' ? left.text : null;
    const over = /^(?:sorted\()?(\w+)(\.(?:items|values)\(\))?\)?$/.exec(right.text.replace(/\s+/g, ''));
    if (!over || over[1] !== table) return null;
    if (over[2] === '.items()') {
      const pair = left.type === 'pattern_list' || left.type === 'tuple_pattern' ? left.namedChildren : [];
      return pair.length === 2 && pair[1]!.type === 'identifier' ? pair[1]!.text : null;
    }
    return left.type === 'identifier' ? left.text : null;
  };
  const loopKind = (clause: SyntaxNode) => (clause.type === 'for_statement' ? 'a for loop' : 'a comprehension');
  walkTypes(root, CALLS, (call) => {
    const fn = call.childForFieldName('function')!;
    if (fn.type === 'subscript') {
      const t = tables.get(fn.childForFieldName('value')?.text ?? '');
      const loop = t ? repeated(call) : null;
      if (t && loop) out.push({ line: call.startPosition.row + 1, loop, table: fn.childForFieldName('value')!.text, entries: t.entries });
      return;
    }
    if (fn.type !== 'identifier') return;
    for (let up = call.parent; up; up = up.parent) {
      if (up.type === 'function_definition' || up.type === 'class_definition' || up.type === 'module') return;
      const clauses = up.type === 'for_statement' ? [up] : /comprehension|generator_expression/.test(up.type) ? up.namedChildren.filter((c) => c.type === 'for_in_clause') : [];
      for (const clause of clauses) {
        for (const [name, t] of tables) {
          if (classVariable(clause, name, null) === fn.text) {
            out.push({ line: call.startPosition.row + 1, loop: loopKind(clause), table: name, entries: t.entries });
            return;
          }
        }
        for (const t of inPlace) {
          if (classVariable(clause, null, t.node) === fn.text) {
            out.push({ line: call.startPosition.row + 1, loop: loopKind(clause), table: `(${t.entries.join(', ')})`, entries: t.entries });
            return;
          }
        }
      }
    }
  });
  return out;
}

/**
 * Several agent classes of a table built in one process: each starts the base, which takes its name and ports
 * from the contract's variables over what the constructor is given, so a process started with them set (a
 * launcher, `migrate validate`) gives every agent one name and one health port; and each construction installs
 * the base's signal handlers over the previous one's. A warning naming the line; the agent's class in the
 * table twice is several instances of it under one name (the review item above).
 */
function classTable(ctx: PythonTransformContext, file: string, root: SyntaxNode, b: TableBuild): void {
  const cls = ctx.agent.cls.name;
  if (b.entries.filter((e) => e === cls).length > 1) {
    sharedName(ctx, file, b.line, `${cls} (entries of ${b.table})`, b.loop);
    return;
  }
  const others = [...new Set(b.entries.filter((e) => e !== cls))];
  if (!others.length) return;
  const base = ctx.profile.base_class;
  const env = ctx.profile.validation?.health_port_env;
  // A supervisor that installs its own handlers decides what a signal stops.
  let ownSignals = false;
  walk(root, (n) => {
    if (n.type === 'call' && /^(signal\.)?signal$/.test(n.childForFieldName('function')?.text ?? '')) ownSignals = true;
  });
  ctx.warnings.push(
    `${file}:${b.line} builds ${cls} and ${others.join(', ')} (the classes of ${b.table}) in one process (in ${b.loop}): each of them on ${base} starts it, ` +
      `and ${base} takes AGENT_NAME${env ? `, AGENT_PORT and ${env}` : ' and AGENT_PORT'} from the environment over what the constructor is given, so with them set for that process ` +
      `(a launcher's environment) every such agent registers under that one name (the first to stop deregisters it for the others)` +
      (env ? ` and takes that one health port (the second fails to bind it)` : '') +
      (ctx.base.signalsAtInit && !ownSignals
        ? `; and each construction installs ${base}'s SIGTERM/SIGINT handlers over the previous one's, so a signal stops only the last agent built (the others are not deregistered)`
        : ''),
  );
}

/**
 * A restart loop (`while True: agent = Agent(); try: agent.run(); return 0 except Exception: restarts += 1`)
 * builds one instance per round, each after the last one's loop ended: the construction is bound to a name
 * that goes nowhere else, and the same round starts the base's loop on it (the base's own main loop method, or
 * a legacy one the rewrite points at it), which returns only once that instance stopped. Never two at once.
 */
function runsToEnd(ctx: PythonTransformContext, scope: SyntaxNode, construction: SyntaxNode): boolean {
  const bound = construction.parent?.type === 'assignment' ? construction.parent.childForFieldName('left') : null;
  if (bound?.type !== 'identifier') return false;
  const started = startCallOn(ctx, scope, construction);
  const method = started?.childForFieldName('function')?.childForFieldName('attribute')?.text;
  if (!started || !method) return false;
  const runMethod = ctx.py.main_loop_method ?? 'run';
  const baseLoop = (method === runMethod && !ctx.agent.methods.has(method)) || (ctx.resolved?.members.has(method) ?? false);
  if (!baseLoop) return false;
  // Started in the round that built it: the innermost loop around the construction holds the start call too.
  let loop: SyntaxNode | null = construction.parent;
  while (loop && loop.type !== 'for_statement' && loop.type !== 'while_statement') loop = loop.parent;
  const body = loop?.childForFieldName('body');
  if (!body || !inside(started, body)) return false;
  // The name is only ever the receiver of its own calls there (never stored, passed or handed to a thread).
  let escapes = false;
  walk(body, (n) => {
    if (escapes) return false;
    if (n.type !== 'identifier' || n.text !== bound.text || n.id === bound.id) return;
    if (n.parent?.type !== 'attribute' || n.parent.childForFieldName('object')?.id !== n.id) escapes = true;
  });
  return !escapes;
}

/** The loop or comprehension, within the same function, that runs this call more than once. */
function repeated(call: SyntaxNode): string | null {
  for (let n: SyntaxNode | null = call.parent; n; n = n.parent) {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda' || n.type === 'module') return null;
    if (n.type === 'list_comprehension' || n.type === 'set_comprehension' || n.type === 'dictionary_comprehension' || n.type === 'generator_expression') {
      return 'a comprehension';
    }
    // In the loop's body, not its header (`for w in make_workers():` builds once).
    if ((n.type === 'for_statement' || n.type === 'while_statement') && n.childForFieldName('body') && inside(call, n.childForFieldName('body')!)) {
      return `a ${n.type === 'for_statement' ? 'for' : 'while'} loop`;
    }
  }
  return null;
}

function inside(n: SyntaxNode, outer: SyntaxNode): boolean {
  return outer.startIndex <= n.startIndex && n.endIndex <= outer.endIndex;
}

function sharedName(ctx: PythonTransformContext, file: string, line: number, what: string, loop: string): void {
  const name = ctx.py.super_call.name_keyword;
  const given = ctx.passThrough.get(name);
  // A name built from a constructor parameter (`"CacheWarmerAgent-%s" % region`) differs per instance already.
  const params = (ctx.agent.methods.get('__init__')?.params ?? []).slice(1).map((p) => p.name);
  const perInstance = given !== undefined && readsAny(given, new Set(params));
  if (perInstance) {
    ctx.warnings.push(
      `${file}:${line} builds several ${what} in one process (in ${loop}): each now starts ${ctx.profile.base_class} and registers under its own name (${given}), ` +
        `unless AGENT_NAME is set, which names them all alike (the first to stop then deregisters that name for the others)${sharedPort(ctx, file === ctx.file)}`,
    );
    return;
  }
  // One name for every instance is a clash whatever the environment: each registration replaces the last
  // (the registry keeps one instance's ports) and the first instance to stop deregisters the others. The
  // class holds no per-instance value the name is built from, so which one names an instance is a person's call;
  // and a caller's own name= cannot reach the base (the migrated __init__ already passes it one: a TypeError).
  const init = ctx.agent.methods.get('__init__');
  keep(
    ctx,
    init ? '__init__' : ctx.agent.cls.name,
    init ? init.node.startPosition.row + 1 : ctx.agent.cls.node.startPosition.row + 1,
    `${file}:${line} builds several ${what} in one process (in ${loop}): ${ctx.profile.base_class} registers each under the one name it is given ` +
      `(${given ?? 'the class name'}), so each registration replaces the last (the registry keeps one instance's ports) and the first instance to stop ` +
      `deregisters it while the others run; build the ${name}= given to ${ctx.profile.base_class} from a constructor parameter that tells them apart` +
      `${sharedPort(ctx, file === ctx.file)}`,
  );
}

/**
 * The runtime contract's variables name the base's ports and are read by every instance alike: a process
 * started with them set gives every instance one health port (the second fails to bind it, EADDRINUSE) and
 * one self.port, which the agent's own server still binds when it does (the second fails there).
 * `migrate validate` starts the agent's own file with them set.
 */
function sharedPort(ctx: PythonTransformContext, ownEntry: boolean): string {
  const env = ctx.profile.validation?.health_port_env;
  if (!env) return '';
  const bound = ownPortRead(ctx);
  return `; with ${env} set, every instance takes that one health port and the second fails to bind it` +
    (ownEntry ? ` (\`migrate validate\` starts this file with it set, so validation fails there: the entry point has to start one instance)` : ` (a launcher that sets it for that script)`) +
    (bound ? `; with AGENT_PORT set, every instance's self.port is that one port, which the agent's own code reads at line ${bound} (a server of its own bound there fails on the second instance)` : '');
}

/** The first line of the agent's kept code that reads self.<port keyword> (the base sets it, the environment first). */
function ownPortRead(ctx: PythonTransformContext): number | null {
  if (!ctx.passThrough.has('port')) return null;
  let found: number | null = null;
  walk(ctx.agent.cls.node, (n) => {
    if (found !== null || n.type !== 'attribute' || n.text.replace(/\s+/g, '') !== 'self.port' || isRemoved(ctx, n)) return;
    const p = n.parent;
    if (p?.type === 'assignment' && p.childForFieldName('left')?.id === n.id) return;
    found = n.startPosition.row + 1;
  });
  return found;
}

/** Does the expression read one of these names (an identifier, not an attribute's or a keyword's name)? */
function readsAny(expression: string, names: Set<string>): boolean {
  let hit = false;
  walk(parsePython(`(${expression})\n`).rootNode, (n) => {
    if (hit || n.type !== 'identifier' || !names.has(n.text)) return;
    const p = n.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    hit = true;
  });
  return hit;
}
