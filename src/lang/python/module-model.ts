// A read-only model of one Python module: classes, methods, functions, imports,
// aliases and the `__main__` guard. Built once per parse and shared by all transforms.
import type { SyntaxNode, Tree } from './parser.js';
import { callee, isMainGuard, statements, stringValue, walk, walkTypes } from './syntax.js';

// The node types each search below reads (see walkTypes).
const CALLS: ReadonlySet<string> = new Set(['call']);
const FACTORY_TYPES: ReadonlySet<string> = new Set(['function_definition', 'class_definition', 'lambda', 'return_statement']);
const SCOPE_ASSIGNMENT_TYPES: ReadonlySet<string> = new Set(['function_definition', 'class_definition', 'lambda', 'assignment']);

export interface PyParam {
  name: string;
  kind: 'plain' | 'default' | 'args' | 'kwargs' | 'separator';
  node: SyntaxNode;
  default?: SyntaxNode;
}

export interface PyFunction {
  name: string;
  /** The function_definition node. */
  node: SyntaxNode;
  /** The decorated_definition around it when decorated, else the function itself. */
  outer: SyntaxNode;
  params: PyParam[];
  parameters: SyntaxNode;
  body: SyntaxNode;
  isAsync: boolean;
  decorators: string[];
  line: number;
}

export interface PyClass {
  name: string;
  node: SyntaxNode;
  outer: SyntaxNode;
  line: number;
  /** The `( ... )` after the name, or null for `class X:`. */
  superclasses: SyntaxNode | null;
  /** Positional bases as written (`object`, `BaseAgent`, `mod.Base`). */
  bases: SyntaxNode[];
  /** Keyword arguments such as `metaclass=...`. */
  keywords: SyntaxNode[];
  body: SyntaxNode;
  methods: Map<string, PyFunction>;
  decorators: string[];
}

export interface ImportedName {
  module: string;
  /** Name imported from the module; null for `import module [as x]`. */
  name: string | null;
  node: SyntaxNode;
}

export interface ModuleModel {
  source: string;
  tree: Tree;
  root: SyntaxNode;
  /** Classes defined at module level (also inside top-level if/try blocks). */
  classes: PyClass[];
  functions: Map<string, PyFunction>;
  mainGuard: SyntaxNode | null;
  /** Local name → where it was imported from. */
  imports: Map<string, ImportedName>;
  /** `Alias = A if cond else B` / `Alias = A` → the names it may stand for. */
  aliases: Map<string, string[]>;
}

export function functionModel(node: SyntaxNode): PyFunction {
  const outer = node.parent?.type === 'decorated_definition' ? node.parent : node;
  const decorators =
    outer === node ? [] : outer.namedChildren.filter((c) => c.type === 'decorator').map((d) => d.text.slice(1).trim());
  const parameters = node.childForFieldName('parameters')!;
  const params: PyParam[] = [];
  for (const p of parameters.namedChildren) {
    switch (p.type) {
      case 'identifier':
        params.push({ name: p.text, kind: 'plain', node: p });
        break;
      case 'typed_parameter': {
        const id = p.namedChildren.find((c) => c.type === 'identifier');
        const splat = p.namedChildren.find((c) => c.type === 'list_splat_pattern' || c.type === 'dictionary_splat_pattern');
        if (splat) {
          params.push({ name: splat.text.replace(/^\*+/, ''), kind: splat.type === 'list_splat_pattern' ? 'args' : 'kwargs', node: p });
        } else params.push({ name: id?.text ?? p.text, kind: 'plain', node: p });
        break;
      }
      case 'default_parameter':
      case 'typed_default_parameter':
        params.push({
          name: p.childForFieldName('name')!.text,
          kind: 'default',
          node: p,
          default: p.childForFieldName('value') ?? undefined,
        });
        break;
      case 'list_splat_pattern':
        params.push({ name: p.text.replace(/^\*/, ''), kind: 'args', node: p });
        break;
      case 'dictionary_splat_pattern':
        params.push({ name: p.text.replace(/^\*\*/, ''), kind: 'kwargs', node: p });
        break;
      default:
        params.push({ name: p.text, kind: 'separator', node: p });
    }
  }
  return {
    name: node.childForFieldName('name')!.text,
    node,
    outer,
    params,
    parameters,
    body: node.childForFieldName('body')!,
    isAsync: node.children.some((c) => c.type === 'async'),
    decorators,
    line: outer.startPosition.row + 1,
  };
}

export function classModel(node: SyntaxNode): PyClass {
  const outer = node.parent?.type === 'decorated_definition' ? node.parent : node;
  const superclasses = node.childForFieldName('superclasses');
  const bases: SyntaxNode[] = [];
  const keywords: SyntaxNode[] = [];
  for (const a of superclasses?.namedChildren ?? []) {
    if (a.type === 'comment') continue;
    if (a.type === 'keyword_argument') keywords.push(a);
    else bases.push(a);
  }
  const body = node.childForFieldName('body')!;
  const methods = new Map<string, PyFunction>();
  for (const stmt of body.namedChildren) {
    const fn = stmt.type === 'decorated_definition' ? stmt.childForFieldName('definition') : stmt;
    if (fn?.type === 'function_definition') {
      const m = functionModel(fn);
      if (!methods.has(m.name)) methods.set(m.name, m);
      else methods.set(m.name, m); // a later definition wins, as in Python
    }
  }
  return {
    name: node.childForFieldName('name')!.text,
    node,
    outer,
    line: outer.startPosition.row + 1,
    superclasses,
    bases,
    keywords,
    body,
    methods,
    decorators:
      outer === node ? [] : outer.namedChildren.filter((c) => c.type === 'decorator').map((d) => d.text.slice(1).trim()),
  };
}

/** Top-level statements, looking inside module-level if/try/with blocks (not the main guard). */
function topLevelDefinitions(root: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const visit = (block: SyntaxNode, depth: number) => {
    for (const stmt of block.namedChildren) {
      if (stmt.type === 'class_definition' || stmt.type === 'function_definition') out.push(stmt);
      else if (stmt.type === 'decorated_definition') {
        const def = stmt.childForFieldName('definition');
        if (def) out.push(def);
      } else if (depth < 3 && ['if_statement', 'try_statement', 'with_statement'].includes(stmt.type) && !isMainGuard(stmt)) {
        for (const c of stmt.namedChildren) {
          if (c.type === 'block') visit(c, depth + 1);
          else for (const cc of c.namedChildren) if (cc.type === 'block') visit(cc, depth + 1);
        }
      }
    }
  };
  visit(root, 0);
  return out;
}

/** The model of each tree handed out by readModuleModel (never to a rewrite, whose transforms may add to it). */
const readOnly = new WeakMap<Tree, ModuleModel>();

/**
 * The module model of a tree for code that only reads it (the dangling-reference check, the lost-method
 * check): built once per tree and shared. A rewrite builds its own (buildModuleModel), since its
 * transforms may record what they change in it; the output's checks ran the same build up to three times.
 */
export function readModuleModel(source: string, tree: Tree): ModuleModel {
  if (source !== tree.source) return buildModuleModel(source, tree);
  let model = readOnly.get(tree);
  if (!model) readOnly.set(tree, (model = buildModuleModel(source, tree)));
  return model;
}

export function buildModuleModel(source: string, tree: Tree): ModuleModel {
  const root = tree.rootNode;
  const classes: PyClass[] = [];
  const functions = new Map<string, PyFunction>();
  for (const def of topLevelDefinitions(root)) {
    if (def.type === 'class_definition') classes.push(classModel(def));
    else {
      const f = functionModel(def);
      functions.set(f.name, f);
    }
  }
  // Classes defined after the guard are still module-level; classes inside the guard are not agents.
  const mainGuard = root.namedChildren.find(isMainGuard) ?? null;
  const imports = new Map<string, ImportedName>();
  const aliases = new Map<string, string[]>();
  const visitImports = (block: SyntaxNode, depth: number) => {
    for (const stmt of block.namedChildren) {
      if (stmt.type === 'import_statement') {
        for (const n of stmt.namedChildren) {
          if (n.type === 'dotted_name') imports.set(n.text.split('.')[0]!, { module: n.text, name: null, node: stmt });
          else if (n.type === 'aliased_import') {
            const mod = n.childForFieldName('name')!.text;
            imports.set(n.childForFieldName('alias')!.text, { module: mod, name: null, node: stmt });
          }
        }
      } else if (stmt.type === 'import_from_statement') {
        const mod = stmt.childForFieldName('module_name')?.text ?? '';
        for (const n of stmt.childrenForFieldName('name')) {
          if (n.type === 'dotted_name') imports.set(n.text, { module: mod, name: n.text, node: stmt });
          else if (n.type === 'aliased_import') {
            imports.set(n.childForFieldName('alias')!.text, {
              module: mod,
              name: n.childForFieldName('name')!.text,
              node: stmt,
            });
          }
        }
      } else if (stmt.type === 'expression_statement') {
        const a = stmt.namedChild(0);
        if (a?.type === 'assignment') {
          const left = a.childForFieldName('left');
          const right = a.childForFieldName('right');
          if (left?.type === 'identifier' && right) {
            const names = aliasTargets(right);
            if (names) aliases.set(left.text, names);
          }
        }
      } else if (depth < 3 && ['if_statement', 'try_statement'].includes(stmt.type) && !isMainGuard(stmt)) {
        for (const c of stmt.namedChildren) {
          if (c.type === 'block') visitImports(c, depth + 1);
          else for (const cc of c.namedChildren) if (cc.type === 'block') visitImports(cc, depth + 1);
        }
      }
    }
  };
  visitImports(root, 0);
  return { source, tree, root, classes, functions, mainGuard, imports, aliases };
}

/** `A`, `mod.A`, `A if c else B` → the class names an alias may stand for. */
function aliasTargets(expr: SyntaxNode): string[] | null {
  if (expr.type === 'identifier') return [expr.text];
  if (expr.type === 'attribute') return [expr.childForFieldName('attribute')!.text];
  if (expr.type === 'conditional_expression') {
    const parts = expr.namedChildren;
    const a = aliasTargets(parts[0]!);
    const b = aliasTargets(parts[2]!);
    if (a && b) return [...a, ...b];
  }
  return null;
}

/** The simple name of a base expression: `BaseAgent`, `core.BaseAgent` → `BaseAgent`. */
export function baseName(base: SyntaxNode): string | null {
  if (base.type === 'identifier') return base.text;
  if (base.type === 'attribute') return base.childForFieldName('attribute')!.text;
  if (base.type === 'call' || base.type === 'subscript') return null;
  const s = stringValue(base);
  return s ?? null;
}

/**
 * The entry point's code: the `__main__` guard and the module functions it runs, followed through
 * the functions those run: called by name (`main()` calling `serve()`), or dispatched: an argparse
 * subcommand's handler (`sub.set_defaults(func=cmd_serve)`, later `args.func(args)`) and a function
 * in a dispatch table (`{"serve": cmd_serve}[args.cmd]()`).
 */
export function entryScopes(module: ModuleModel): SyntaxNode[] {
  const guard = module.mainGuard;
  if (!guard) return [];
  const scopes = [guard];
  const add = (name: string | null | undefined) => {
    const fn = module.functions.get(name ?? '');
    if (fn && !scopes.includes(fn.node)) scopes.push(fn.node);
  };
  for (let i = 0; i < scopes.length; i++) {
    walkTypes(scopes[i]!, ENTRY_RUNS, (n) => {
      if (n.type === 'call') {
        add(callee(n));
        if (/(^|\.)set_defaults$/.test(callee(n) ?? '')) {
          for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) {
            if (a.type === 'keyword_argument') add(identifierText(a.childForFieldName('value')));
          }
        }
      } else if (n.type === 'pair') add(identifierText(n.childForFieldName('value')));
    });
  }
  return scopes;
}

const ENTRY_RUNS: ReadonlySet<string> = new Set(['call', 'pair']);

function identifierText(n: SyntaxNode | null): string | null {
  return n?.type === 'identifier' ? n.text : null;
}

/**
 * Alternate constructors of a class: its classmethods (and staticmethods) that return a new
 * instance (`return cls(...)`, `return Agent(...)`), like `from_env()` building a config first.
 */
export function factoryMethods(cls: PyClass): Set<string> {
  const out = new Set<string>();
  for (const [name, m] of cls.methods) {
    const kind = m.decorators.find((d) => /^(classmethod|staticmethod)$/.test(d));
    if (!kind) continue;
    const self = kind === 'classmethod' ? m.params[0]?.name : null;
    let builds = false;
    walkTypes(m.body, FACTORY_TYPES, (n) => {
      if (builds || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type !== 'return_statement') return;
      const v = n.namedChild(0);
      const fn = v?.type === 'call' ? callee(v) : null;
      if (fn && (fn === cls.name || fn === self)) builds = true;
    });
    if (builds) out.add(name);
  }
  return out;
}

/**
 * A call that makes an instance of the class: `Agent(...)` or `Agent.from_env(...)` (see factoryMethods), or of a
 * class of the same module that only tunes it with class constants (see constantSubclasses).
 */
export function constructsClass(call: SyntaxNode, cls: PyClass, factories: Set<string> = factoryMethods(cls)): boolean {
  // `ROLE_TABLE[role](**kwargs)`: the class looked up in a registry of classes and called at once.
  const looked = call.childForFieldName('function');
  if (looked?.type === 'subscript' && classNames(looked)?.includes(cls.name)) return true;
  const fn = callee(call);
  if (!fn) return false;
  if (fn === cls.name || constantSubclasses(call.tree, cls.name).has(fn)) return true;
  const dot = fn.lastIndexOf('.');
  if (dot > 0) return fn.slice(0, dot) === cls.name && factories.has(fn.slice(dot + 1));
  return chosenClasses(call, fn).has(cls.name);
}

const tuned = new WeakMap<Tree, Map<string, Set<string>>>();

/**
 * The module-level classes of the module built on `name` alone whose body defines no function (class constants,
 * a docstring: `class DiskPressureMonitor(MountWatcher): CHECK_SECONDS = 0.5`): an instance of one is an
 * instance of `name` with other constants, which `name`'s methods read through self.
 */
export function constantSubclasses(tree: Tree, name: string): Set<string> {
  let byParent = tuned.get(tree);
  if (!byParent) {
    byParent = new Map();
    tuned.set(tree, byParent);
    for (const st of tree.rootNode.namedChildren) {
      if (st.type !== 'class_definition') continue;
      const bases = st.childForFieldName('superclasses')?.namedChildren ?? [];
      const body = st.childForFieldName('body')?.namedChildren ?? [];
      if (bases.length !== 1 || bases[0]!.type !== 'identifier') continue;
      if (!body.every((b) => b.type === 'comment' || b.type === 'pass_statement' || (b.type === 'expression_statement' && /^(assignment|string)$/.test(b.namedChild(0)?.type ?? '')))) continue;
      const set = byParent.get(bases[0]!.text) ?? new Set<string>();
      set.add(st.childForFieldName('name')!.text);
      byParent.set(bases[0]!.text, set);
    }
  }
  return byParent.get(name) ?? new Set();
}

/**
 * `cls = AuditedLedgerAgent if args.audited else LedgerAgent; agent = cls(...)`: the classes a local of
 * the call's scope (its function, or the module) is assigned, when every value it is given names a class
 * or chooses between classes by a conditional expression.
 */
export function chosenClasses(call: SyntaxNode, local: string): Set<string> {
  const out = new Set<string>();
  let scope: SyntaxNode | null = call.parent;
  while (scope && scope.type !== 'function_definition' && scope.type !== 'module') scope = scope.parent;
  if (!scope) return out;
  const body = scope.type === 'function_definition' ? scope.childForFieldName('body') : scope;
  if (!body) return out;
  let other = false;
  walkTypes(body, SCOPE_ASSIGNMENT_TYPES, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'assignment' || n.childForFieldName('left')?.text !== local || n.childForFieldName('left')?.type !== 'identifier') return;
    const named = classNames(n.childForFieldName('right'));
    if (named) named.forEach((c) => out.add(c));
    else other = true;
  });
  return other ? new Set() : out;
}

function classNames(expr: SyntaxNode | null): string[] | null {
  if (!expr) return null;
  if (expr.type === 'identifier') return /^[A-Z]\w*$/.test(expr.text) ? [expr.text] : null;
  // `PROBES[args.probe]`, `PROBES.get(name)`: a class looked up in a module-level registry of classes.
  if (expr.type === 'subscript') return registryClasses(expr.childForFieldName('value'));
  if (expr.type === 'call') {
    const fn = expr.childForFieldName('function');
    const args = expr.childForFieldName('arguments')?.namedChildren ?? [];
    if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'get' || args.length < 1 || args.length > 2) return null;
    const named = registryClasses(fn.childForFieldName('object'));
    const fallback = args.length === 2 ? classNames(args[1]!) : [];
    return named && fallback ? [...named, ...fallback] : null;
  }
  if (expr.type === 'parenthesized_expression') return classNames(expr.namedChild(0));
  if (expr.type === 'conditional_expression') {
    const [a, , b] = expr.namedChildren;
    const x = classNames(a ?? null);
    const y = classNames(b ?? null);
    return x && y ? [...x, ...y] : null;
  }
  return null;
}

/**
 * `PROBES = {"disk": DiskProbeAgent, "tcp": TcpProbeAgent}`: the classes of a registry the module binds
 * once, at its top level, to a dict literal whose every value names a class (a `**` spread or any other
 * value: null). `name` is the identifier looked up in it.
 */
function registryClasses(name: SyntaxNode | null): string[] | null {
  if (name?.type !== 'identifier') return null;
  let root: SyntaxNode = name;
  while (root.parent) root = root.parent;
  let dict: SyntaxNode | null = null;
  let bindings = 0;
  for (const st of root.namedChildren) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    // `PROBES["gpu"] = GpuProbe`, `PROBES.update(...)`: filled in later, maybe with something else.
    const target = e?.type === 'call' ? e.childForFieldName('function')?.childForFieldName('object') : e?.childForFieldName('left')?.childForFieldName('value');
    if (target?.type === 'identifier' && target.text === name.text) return null;
    if (e?.type !== 'assignment' && e?.type !== 'augmented_assignment') continue;
    const left = e.childForFieldName('left');
    if (left?.type !== 'identifier' || left.text !== name.text) continue;
    bindings++;
    dict = e.type === 'assignment' ? e.childForFieldName('right') : null;
  }
  if (bindings === 1 && dict?.type === 'dictionary' && dict.namedChildCount === 0) return decoratorRegistered(root, name.text);
  if (bindings !== 1 || dict?.type !== 'dictionary' || dict.namedChildCount === 0) return null;
  const out: string[] = [];
  for (const pair of dict.namedChildren) {
    if (pair.type === 'comment') continue;
    const v = pair.type === 'pair' ? pair.childForFieldName('value') : null;
    if (v?.type !== 'identifier' || !/^[A-Z]\w*$/.test(v.text)) return null;
    out.push(v.text);
  }
  return out;
}

/**
 * `VOICE_AGENTS = {}` filled only by a class decorator of the module (`def voice_agent(role): def wrap(cls):
 * VOICE_AGENTS[role] = cls; return cls`): its classes are the module-level classes that decorator decorates.
 * Null when anything else writes into the table (a store of another value, a store outside a decorator, a
 * call on it such as `.update(...)`/`.setdefault(...)`) or no class is decorated.
 */
function decoratorRegistered(root: SyntaxNode, table: string): string[] | null {
  const decorators = new Set<string>();
  let foreign = false;
  walk(root, (n) => {
    if (foreign) return false;
    if (n.type === 'call') {
      const obj = n.childForFieldName('function');
      if (obj?.type === 'attribute' && obj.childForFieldName('object')?.text === table && obj.childForFieldName('attribute')?.text !== 'get') foreign = true;
      return;
    }
    if (n.type !== 'assignment' && n.type !== 'augmented_assignment') return;
    const left = n.childForFieldName('left');
    if (left?.type !== 'subscript' || left.childForFieldName('value')?.text !== table) return;
    // The store must be `TABLE[...] = cls` in a function taking cls first and returning it: a class decorator.
    let fn: SyntaxNode | null = n.parent;
    while (fn && fn.type !== 'function_definition') fn = fn.parent;
    const first = fn?.childForFieldName('parameters')?.namedChildren[0];
    const value = n.childForFieldName('right');
    const returnsIt = !!fn && !!first && statements(fn.childForFieldName('body')!).some((st) => st.type === 'return_statement' && st.namedChild(0)?.text === first.text);
    if (n.type !== 'assignment' || !fn || first?.type !== 'identifier' || value?.text !== first.text || !returnsIt) {
      foreign = true;
      return;
    }
    // The decorator as the class names it: the function itself, or the module function it is nested in (a factory).
    let top: SyntaxNode = fn;
    for (let p = fn.parent; p; p = p.parent) if (p.type === 'function_definition') top = p;
    if (top.parent?.type !== 'module' && top.parent?.parent?.type !== 'module') {
      foreign = true;
      return;
    }
    decorators.add(top.childForFieldName('name')!.text);
  });
  if (foreign || !decorators.size) return null;
  const out: string[] = [];
  for (const st of root.namedChildren) {
    if (st.type !== 'decorated_definition' || st.childForFieldName('definition')?.type !== 'class_definition') continue;
    const uses = st.namedChildren.filter((d) => d.type === 'decorator').some((d) => {
      const e = d.namedChild(0);
      const named = e?.type === 'call' ? e.childForFieldName('function') : e;
      return named?.type === 'identifier' && decorators.has(named.text);
    });
    if (uses) out.push(st.childForFieldName('definition')!.childForFieldName('name')!.text);
  }
  return out.length ? out : null;
}
