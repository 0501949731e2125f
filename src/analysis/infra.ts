// Telling infrastructure from business code, statement by statement. A statement is
// "infrastructure" when all it does is log, sleep, flip the running flag, or touch
// members that are being removed or that the base owns. Anything else is business.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { FlatTree } from '../lang/python/flat-tree.js';
import { callee, expressionOf, selfAttribute, statements, stringValue, walk, walkTypes } from '../lang/python/syntax.js';
import { lowerBound } from '../core/sorted.js';

// The node types the typed walks below act on (see walkTypes): the others are passed over
// without being made into node objects (these walks run on every statement the removal plan
// looks at, in every round of its fixpoint).
const MEMBER_NODES: ReadonlySet<string> = new Set(['class_definition', 'attribute', 'call']);
const ATTRIBUTE_OR_CLASS: ReadonlySet<string> = new Set(['class_definition', 'attribute']);
const CALL: ReadonlySet<string> = new Set(['call']);
const KEYWORD_ARGUMENT: ReadonlySet<string> = new Set(['keyword_argument']);

export interface InfraScope {
  /** Members being removed (methods and attributes of the agent). */
  removed: Set<string>;
  /** Attributes/methods the base owns (uses of them stay valid after removal). */
  baseOwned: Set<string>;
  /** Locals holding transport helpers (a zmq.Poller, what it polled), filled while reading a body. */
  transportLocals?: Set<string>;
}

/** Constructors of polling helpers a main loop uses around the base's sockets. */
const TRANSPORT_CTOR = /(^|\.)(Poller|poll|epoll|DefaultSelector|SelectSelector)$/;

/** `self.a.b.c(...)` → "a": the agent attribute a call or attribute chain starts from. */
export function selfRoot(node: SyntaxNode): string | null {
  let n: SyntaxNode | null = node;
  while (n) {
    if (n.type === 'call') n = n.childForFieldName('function');
    else if (n.type === 'attribute') {
      const direct = selfAttribute(n);
      if (direct) return direct;
      n = n.childForFieldName('object');
    } else if (n.type === 'subscript') n = n.childForFieldName('value');
    else return null;
  }
  return null;
}

/** Agent members a piece of code mentions: `self.x`, and `'x'` in hasattr/getattr(self, 'x'). */
export function selfMembers(node: SyntaxNode): Set<string> {
  return new Set(memberSet(node));
}

/**
 * selfMembers, computed once per node: the removal plan asks it of every statement at every
 * nesting level in every round of its fixpoint (each a walk of the statement's whole
 * subtree), and a tree never changes.
 */
const memberSets = new WeakMap<FlatTree, Array<ReadonlySet<string> | undefined>>();
export function memberSet(node: SyntaxNode): ReadonlySet<string> {
  // Kept per tree by node position, not in a WeakMap keyed by node: a weak entry per statement
  // (hundreds of thousands over a fleet) made the insertions and the collector's ephemeron
  // passes cost more than the walks they saved.
  let sets = memberSets.get(node.tree);
  if (!sets) memberSets.set(node.tree, (sets = new Array(node.tree.count)));
  return (sets[node.index] ??= collectMembers(node));
}

/**
 * Every mention of an agent member in a tree, in pre-order, read in one walk: its position, the
 * member, and the innermost class_definition around it (-1 when none). A node's members are the
 * mentions within its subtree outside any class defined in it, so each statement at each nesting
 * level is answered from this list instead of a walk of its whole subtree.
 */
interface Mentions {
  at: Int32Array;
  member: string[];
  inClass: Int32Array;
}
const mentionsByTree = new WeakMap<FlatTree, Mentions>();

function mentionsOf(tree: FlatTree): Mentions {
  let m = mentionsByTree.get(tree);
  if (m) return m;
  const at: number[] = [];
  const member: string[] = [];
  const inClass: number[] = [];
  // The classes open at the current position, innermost last.
  const classes: number[] = [];
  const { subtreeEnd } = tree;
  walkTypes(tree.rootNode, MEMBER_NODES, (n) => {
    while (classes.length && subtreeEnd[classes[classes.length - 1]!]! <= n.index) classes.pop();
    if (n.type === 'class_definition') {
      classes.push(n.index);
      return;
    }
    const name = mentionedMember(n);
    if (name === null) return;
    at.push(n.index);
    member.push(name);
    inClass.push(classes.length ? classes[classes.length - 1]! : -1);
  });
  mentionsByTree.set(tree, (m = { at: Int32Array.from(at), member, inClass: Int32Array.from(inClass) }));
  return m;
}

/** The member an attribute or call node names on the agent (`self.x`, `getattr(self, 'x')`), else null. */
function mentionedMember(n: SyntaxNode): string | null {
  const a = selfAttribute(n);
  if (a) return a;
  if (n.type === 'call' && /^(hasattr|getattr|setattr|delattr)$/.test(callee(n) ?? '')) {
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    if (args[0]?.text === 'self' && args[1]) return stringValue(args[1]) || null;
  }
  return null;
}

function collectMembers(node: SyntaxNode): Set<string> {
  const out = new Set<string>();
  // A class definition's own members are not the agent's (its walk stopped at it).
  if (node.type === 'class_definition') return out;
  const tree = node.tree;
  const { at, member, inClass } = mentionsOf(tree);
  const from = node.index;
  const stop = tree.subtreeEnd[from]!;
  // A mention inside a class defined within the node is that class's (the innermost one is then within it too).
  for (let k = lowerBound(at, from); k < at.length && at[k]! < stop; k++) if (inClass[k]! < from) out.add(member[k]!);
  return out;
}

const LOG_CALL = /^(self\.)?(logger|log|_logger|_log|logging)\.(debug|info|warning|warn|error|exception|critical)$|^print$/;

const LOG_METHOD = /^(debug|info|warning|warn|error|exception|critical)$/;

export function isLogCall(expr: SyntaxNode | null): boolean {
  if (!expr || expr.type !== 'call') return false;
  const name = callee(expr) ?? '';
  if (LOG_CALL.test(name)) return true;
  // `LOG.info(...)` where the module binds `LOG = logging.getLogger(__name__)`: a logger by what it is bound to.
  const dot = name.indexOf('.');
  return dot > 0 && dot === name.lastIndexOf('.') && LOG_METHOD.test(name.slice(dot + 1)) && moduleLoggers(expr.tree).has(name.slice(0, dot));
}

const loggersByTree = new WeakMap<FlatTree, Set<string>>();

/** The names the module binds, at its top level and only there, to `logging.getLogger(...)` alone. */
function moduleLoggers(tree: FlatTree): Set<string> {
  let out = loggersByTree.get(tree);
  if (out) return out;
  const loggers = new Set<string>();
  const other = new Set<string>();
  for (const s of tree.rootNode.namedChildren) {
    const e = expressionOf(s);
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    if (left?.type !== 'identifier') continue;
    const right = e!.childForFieldName('right');
    (right?.type === 'call' && callee(right) === 'logging.getLogger' ? loggers : other).add(left.text);
  }
  for (const n of other) loggers.delete(n);
  loggersByTree.set(tree, (out = loggers));
  return out;
}

/**
 * A log line in the block that reports the agent's own state (`logger.info("stopped; %d
 * alerts", len(self.alerts))`, a property such as `self.worst_mount`): what an operator reads
 * at the end of a run, not bookkeeping. Members removed or owned by the base do not count.
 */
export function logsAgentState(block: SyntaxNode | null, scope: InfraScope): boolean {
  if (!block) return false;
  let found = false;
  walk(block, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'call' || !isLogCall(n)) return;
    const args = n.childForFieldName('arguments');
    if (args && [...memberSet(args)].some((m) => !scope.removed.has(m) && !scope.baseOwned.has(m))) found = true;
    return false;
  });
  return found;
}

/** pass / a log line / a sleep / a bare return of a constant. */
export function isTrivial(stmt: SyntaxNode): boolean {
  if (stmt.type === 'pass_statement' || stmt.type === 'comment') return true;
  if (stmt.type === 'return_statement') {
    const v = stmt.namedChild(0);
    return !v || ['none', 'true', 'false', 'integer', 'string'].includes(v.type);
  }
  const e = expressionOf(stmt);
  if (!e) return false;
  if (e.type === 'string') return true; // docstring
  if (isLogCall(e)) return true;
  return e.type === 'call' && /^time\.sleep$|^sleep$/.test(callee(e) ?? '');
}

/** Calls that set up or tear down a transport object (not its business use). */
const SETUP_TEARDOWN = /^(bind|bind_to_random_port|connect|setsockopt|setsockopt_string|set_hwm|close|term|destroy|unbind|disconnect|shutdown|server_close|join|start|cancel|register|unregister)$/;

/**
 * The statement only sets up, uses or tears down members in `removed` (so it goes with them).
 * For members in `setupOnly` (the base provides them, so business uses stay valid) only their
 * assignment, set-up and teardown go: `self.socket.bind(...)` does, `self.socket.recv()` does not.
 */
export function belongsTo(
  stmt: SyntaxNode,
  removed: Set<string>,
  setupOnly: ReadonlySet<string> = NONE,
  methods: ReadonlySet<string> = NONE,
): boolean {
  if (removed.size === 0) return false;
  // Every rule below needs a removed member mentioned in the statement (`self.<m>` as its target,
  // its call's root, a thread's target, a condition, a try body's statement that goes): a
  // statement mentioning none stays, told from its member set (read once per tree) without the
  // walks of the rules (threadOf and handsKeptMethod walked every statement in every round).
  if (!someIn(memberSet(stmt), removed)) return false;
  // A statement that hands a kept method to someone (thread target, callback) stays with it,
  // unless that someone goes too (a sidecar class given the agent's stats function).
  if (methods.size && handsKeptMethod(stmt, removed, methods)) return false;
  switch (stmt.type) {
    case 'expression_statement': {
      const e = stmt.namedChild(0);
      if (!e || stmt.namedChildCount !== 1) return false;
      if (e.type === 'assignment' || e.type === 'augmented_assignment') {
        const left = e.childForFieldName('left');
        const targets = left?.type === 'pattern_list' ? left.namedChildren : left ? [left] : [];
        // self.health_server = ..., and self.health_server.agent = self (set-up of a removed member)
        return targets.length > 0 && targets.every((t) => {
          const a = selfAttribute(t) ?? (t.type === 'attribute' || t.type === 'subscript' ? selfRoot(t) : null);
          return a !== null && removed.has(a);
        }) && !callsKeptSelfMethod(e.childForFieldName('right'), removed);
      }
      const call = e.type === 'await' ? e.namedChild(0) : e;
      if (call?.type !== 'call') return false;
      const root = selfRoot(call);
      if (root && removed.has(root)) {
        if (!setupOnly.has(root)) return true;
        const fn = call.childForFieldName('function');
        const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
        return !!obj && selfAttribute(obj) === root && SETUP_TEARDOWN.test(fn!.childForFieldName('attribute')!.text);
      }
      // threading.Thread(target=self._health_loop, daemon=True).start()
      return threadOf(call, removed) || handsOnlyRemovedLoop(call, removed) || registersRemovedTeardown(call, removed);
    }
    case 'if_statement': {
      const cond = stmt.childForFieldName('condition');
      if (!cond) return false;
      const members = memberSet(cond);
      if (members.size === 0 || !someIn(members, removed)) return false;
      return blocksOf(stmt).every((b) => allGo(b, removed, setupOnly, methods));
    }
    case 'try_statement': {
      const body = stmt.childForFieldName('body');
      if (!body || !statements(body).some((s) => belongsTo(s, removed, setupOnly, methods))) return false;
      return blocksOf(stmt).every((b) => allGo(b, removed, setupOnly, methods));
    }
    default:
      return false;
  }
}

function handsKeptMethod(stmt: SyntaxNode, removed: Set<string>, methods: ReadonlySet<string>): boolean {
  // Only a kept method the statement mentions can be handed over: most statements mention
  // none, and their member set is known without walking them again.
  let mentions = false;
  for (const m of memberSet(stmt)) if (methods.has(m) && !removed.has(m)) mentions = true;
  if (!mentions) return false;
  let hands = false;
  walkTypes(stmt, ATTRIBUTE_OR_CLASS, (n) => {
    if (hands || n.type === 'class_definition') return false;
    const m = selfAttribute(n);
    if (!m || !methods.has(m) || removed.has(m) || isCalledAsRoot(stmt, m)) return;
    const p = n.parent;
    const call = p?.type === 'argument_list' ? p.parent : p?.type === 'keyword_argument' ? p.parent?.parent : null;
    const receiver = call?.type === 'call' ? callee(call) : null;
    if (receiver && removed.has(receiver)) return;
    // self.health.status_fn = self.status: handed to a member that goes too
    if (p?.type === 'assignment' && p.childForFieldName('right')?.id === n.id) {
      const left = p.childForFieldName('left');
      const root = left?.type === 'attribute' ? selfRoot(left) : null;
      if (root && removed.has(root)) return;
    }
    // self.m(...) called inside the statement is a call, not a hand-over
    if (p?.type === 'call' && p.childForFieldName('function')?.id === n.id) return;
    hands = true;
  });
  return hands;
}

/** `self.m(...)` as the statement's own call (that is the statement, not a callback it passes). */
function isCalledAsRoot(stmt: SyntaxNode, m: string): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (e?.type !== 'call') return false;
  const fn = e.childForFieldName('function');
  return fn?.type === 'attribute' && selfAttribute(fn) === m;
}

function callsKeptSelfMethod(expr: SyntaxNode | null, removed: Set<string>): boolean {
  if (!expr) return false;
  let found = false;
  walkTypes(expr, CALL, (n) => {
    if (found) return false;
    if (n.type === 'call') {
      // self.make_x(): a kept method of the agent runs; a factory of a kept object
      // (self.context.socket(zmq.REP)) only makes the removed member.
      const fn = n.childForFieldName('function');
      const method = fn ? selfAttribute(fn) : null;
      if (method && !removed.has(method)) found = true;
    }
  });
  return found;
}

/**
 * `spawn(self.httpd.serve_forever, "health")`: a call of a plain function (a module helper that starts
 * a thread, a pool's submit) handed a removed member's serving loop, not called, and nothing else of the
 * agent: running that loop is all it is for.
 */
function handsOnlyRemovedLoop(call: SyntaxNode, removed: Set<string>): boolean {
  const fn = call.childForFieldName('function');
  if (!fn || selfRoot(fn) !== null) return false;
  const members = memberSet(call);
  if (members.size === 0 || ![...members].every((m) => removed.has(m))) return false;
  let loop = false;
  for (const a of call.childForFieldName('arguments')?.namedChildren ?? []) {
    const v = a.type === 'keyword_argument' ? a.childForFieldName('value') : a;
    if (v?.type === 'attribute' && /^(serve_forever|handle_request|run|start|loop|run_forever)$/.test(v.childForFieldName('attribute')!.text) && selfRoot(v) && removed.has(selfRoot(v)!)) loop = true;
  }
  return loop;
}

/**
 * `self._stack.callback(self.health_server.shutdown)`, `atexit.register(self.httpd.server_close)`,
 * `stack.push(self.health_server)`: the teardown of a removed member handed to an exit registry (a
 * contextlib.ExitStack, atexit) as its one argument. It goes with that member: left, it would call
 * the teardown of something no longer there.
 */
function registersRemovedTeardown(call: SyntaxNode, removed: Set<string>): boolean {
  const fn = call.childForFieldName('function');
  const how = fn?.type === 'attribute' ? fn.childForFieldName('attribute')!.text : '';
  if (!/^(callback|register|push)$/.test(how)) return false;
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  if (args.length !== 1 || args[0]!.type !== 'attribute') return false;
  const arg = args[0]!;
  const root = selfRoot(arg);
  if (!root || !removed.has(root)) return false;
  // push(self.server): the member's own __exit__ is what the stack calls.
  if (selfAttribute(arg) === root) return how === 'push';
  const obj = arg.childForFieldName('object');
  return !!obj && selfAttribute(obj) === root && /^(close|term|destroy|unbind|disconnect|shutdown|server_close|join|cancel|stop)$/.test(arg.childForFieldName('attribute')!.text);
}

function threadOf(call: SyntaxNode, removed: Set<string>): boolean {
  let found = false;
  walkTypes(call, KEYWORD_ARGUMENT, (n) => {
    if (found) return false;
    if (n.type === 'keyword_argument' && n.childForFieldName('name')?.text === 'target') {
      // target=self._health_loop, target=self.health_server.serve_forever
      const v = n.childForFieldName('value');
      const a = v ? selfRoot(v) : null;
      if (a && removed.has(a)) found = true;
    }
  });
  return found;
}

const CLAUSES: ReadonlySet<string> = new Set(['elif_clause', 'else_clause', 'except_clause', 'finally_clause', 'except_group_clause']);

/** Every block of a compound statement: body, elif/else/except/finally bodies. */
export function blocksOf(stmt: SyntaxNode): SyntaxNode[] {
  // Over the flat tree's arrays: the removal plan asks this of every compound statement in
  // every round, and listing each one's named children (and each clause's) made arrays of nodes.
  const out: SyntaxNode[] = [];
  const { tree } = stmt;
  const { subtreeEnd } = tree;
  for (let c = stmt.index + 1, stop = subtreeEnd[stmt.index]!; c < stop; c = subtreeEnd[c]!) {
    if (!tree.isNamed(c)) continue;
    const type = tree.typeName(c);
    if (type === 'block') out.push(tree.node(c));
    else if (CLAUSES.has(type)) {
      for (let cc = c + 1, end = subtreeEnd[c]!; cc < end; cc = subtreeEnd[cc]!) if (tree.isNamed(cc) && tree.typeName(cc) === 'block') out.push(tree.node(cc));
    }
  }
  return out;
}

function allGo(block: SyntaxNode, removed: Set<string>, setupOnly: ReadonlySet<string>, methods: ReadonlySet<string>): boolean {
  return statements(block).every((s) => isTrivial(s) || belongsTo(s, removed, setupOnly, methods));
}

/**
 * Pure infrastructure: every statement (recursively) is trivial, goes with removed members,
 * flips/reads only base-owned or removed state, or calls base-owned/removed methods.
 */
export function isInfraBlock(block: SyntaxNode | null, scope: InfraScope): boolean {
  if (!block) return true;
  return statements(block).every((s) => isInfraStatement(s, scope));
}

export function isInfraStatement(stmt: SyntaxNode, scope: InfraScope): boolean {
  // Members the base provides keep their business uses: only their set-up and teardown "belong".
  const shared = new Set([...scope.removed].filter((m) => scope.baseOwned.has(m)));
  if (isTrivial(stmt) || belongsTo(stmt, scope.removed, shared)) return true;
  const infra = (m: string) => scope.removed.has(m) || scope.baseOwned.has(m);
  switch (stmt.type) {
    case 'break_statement':
    case 'continue_statement':
      return true;
    case 'global_statement':
      return false;
    case 'expression_statement': {
      const e = stmt.namedChild(0);
      if (!e) return false;
      if (e.type === 'assignment') {
        const left = e.childForFieldName('left')!;
        const right = e.childForFieldName('right');
        if (left.type === 'identifier' && right) {
          // A local fed only by the base's own API (request = self.socket.recv_json(),
          // response = self.handle_request(request)) is what the base's loop does too;
          // so is a poller over the base's sockets and what it returns.
          if (right.type === 'call') {
            const root = selfRoot(right);
            const fn = callee(right) ?? '';
            const transport =
              TRANSPORT_CTOR.test(fn) || isTransportCall(right, scope) ||
              (/^(dict|list|set|tuple)$/.test(fn) && (right.childForFieldName('arguments')?.namedChildren ?? []).every((a) => a.type === 'call' && isTransportCall(a, scope)));
            if (transport && !callsArgumentsWithBusiness(right, scope)) {
              (scope.transportLocals ??= new Set()).add(left.text);
              return true;
            }
            if (root !== null) return infra(root) && !callsArgumentsWithBusiness(right, scope);
            // json.loads(self.socket.recv_string()): decoding what the base's socket returned
            const args = right.childForFieldName('arguments')?.namedChildren ?? [];
            return /^(json\.(loads|dumps)|dict|str|bytes|int)$/.test(fn) && args.length > 0 &&
              args.every((a) => a.type !== 'call' || (selfRoot(a) !== null && infra(selfRoot(a)!)) || isTransportCall(a, scope)) &&
              !callsArgumentsWithBusiness(right, scope);
          }
          return ['dictionary', 'string', 'none', 'true', 'false', 'integer'].includes(right.type) && [...memberSet(right)].every(infra);
        }
        const a = selfAttribute(left);
        return a !== null && infra(a) && (right === null || ['true', 'false', 'none', 'integer'].includes(right.type));
      }
      if (e.type === 'call') {
        const fn = callee(e) ?? '';
        if (/^(sys\.exit|os\._exit|exit)$/.test(fn)) return true;
        const root = selfRoot(e);
        if (root && infra(root) && !callsArgumentsWithBusiness(e, scope)) return true;
        if (isTransportCall(e, scope) && !callsArgumentsWithBusiness(e, scope)) return true;
      }
      return false;
    }
    case 'if_statement':
    case 'while_statement': {
      const cond = stmt.childForFieldName('condition');
      const members = cond ? memberSet(cond) : new Set<string>();
      if (![...members].every(infra)) return false;
      if (cond && hasCallOutsideSelfInfra(cond, scope)) return false;
      if (cond && usesOtherLocals(cond, scope)) return false;
      return blocksOf(stmt).every((b) => isInfraBlock(b, scope));
    }
    case 'try_statement':
      return blocksOf(stmt).every((b) => isInfraBlock(b, scope));
    default:
      return false;
  }
}

/** `poller.register(...)`, `poller.poll(1000)`: a call on a transport local. */
function isTransportCall(call: SyntaxNode, scope: InfraScope): boolean {
  const fn = call.childForFieldName('function');
  if (fn?.type !== 'attribute') return false;
  const obj = fn.childForFieldName('object');
  return obj?.type === 'identifier' && (scope.transportLocals?.has(obj.text) ?? false);
}

function callsArgumentsWithBusiness(call: SyntaxNode, scope: InfraScope): boolean {
  const args = call.childForFieldName('arguments');
  if (!args) return false;
  const members = memberSet(args);
  return [...members].some((m) => !scope.removed.has(m) && !scope.baseOwned.has(m));
}

/** Conditions may read self members and transport locals, nothing else of the method's. */
function usesOtherLocals(cond: SyntaxNode, scope: InfraScope): boolean {
  let other = false;
  walk(cond, (n) => {
    if (other) return false;
    if (n.type === 'attribute') return false;
    if (n.type === 'identifier' && n.text !== 'self' && !/^(True|False|None|hasattr|getattr|isinstance|len|zmq|select)$/.test(n.text)) {
      if (!(scope.transportLocals?.has(n.text) ?? false) && !/^[A-Z_][A-Z0-9_]*$/.test(n.text)) other = true;
    }
  });
  return other;
}

function hasCallOutsideSelfInfra(cond: SyntaxNode, scope: InfraScope): boolean {
  let bad = false;
  walk(cond, (n) => {
    if (bad) return false;
    if (n.type === 'call') {
      const root = selfRoot(n);
      const fn = callee(n) ?? '';
      if (root ? !(scope.removed.has(root) || scope.baseOwned.has(root)) : !/^(hasattr|getattr|isinstance|len)$/.test(fn)) {
        bad = true;
      }
    }
  });
  return bad;
}

/** The defaults of belongsTo's optional sets (never written to: a new set per call was a third of its allocations). */
const NONE: ReadonlySet<string> = new Set();

/** Does any member of `a` belong to `b` (without spreading `a` into an array first)? */
function someIn(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const m of a) if (b.has(m)) return true;
  return false;
}
