// Concern: a health sidecar class imported from another file of the repository
// (`self.health = HealthSidecar(self.health_check_port, self.health_status)` then `.start()`), a
// whole HTTP server on the health port the base binds too. When that class provably serves
// nothing but GET /health, answered from the callable it is given, the sidecar is the base's
// health endpoint under another name: the construction and its start()/stop() go, and the
// callable's fields reach the base's health hook. Anything less certain is left alone (the port
// plan then refuses the agent, naming the sidecar's file and line).
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { StatementProposal } from '../../src/analysis/removal-plan.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import { normPort, serverSubclasses } from '../../src/analysis/ports.js';
import { portHandoffs } from '../../src/analysis/port-handoff.js';
import { selfMembers } from '../../src/analysis/infra.js';
import { baseName, type PyClass } from '../../src/lang/python/module-model.js';
import { selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { HTTP_HANDLER_BASE } from './health-patterns.js';
import { importedCallee } from './port-plan.js';

export interface ImportedSidecar {
  /** The callee as the agent's file spells it (`HealthSidecar`, `kit.HealthSidecar`). */
  callee: string;
  attr: string;
  proposals: StatementProposal[];
}

/** Methods of a sidecar the agent may call on it (lifecycle only: they start and stop its server). */
const LIFECYCLE = new Set(['start', 'stop', 'shutdown', 'close']);

export function importedHealthSidecars(ctx: PythonTransformContext, healthPorts: Set<string>): ImportedSidecar[] {
  const out: ImportedSidecar[] = [];
  for (const a of ctx.agent.assignments) {
    if (a.stmt.type !== 'expression_statement' || a.value?.type !== 'call') continue;
    // HealthSidecar(...) or HealthSidecar(...).start() where start() returns the sidecar.
    let call = a.value;
    let chained: string | null = null;
    const fn0 = call.childForFieldName('function')!;
    if (fn0.type === 'attribute' && fn0.childForFieldName('object')?.type === 'call') {
      chained = fn0.childForFieldName('attribute')!.text;
      if ((call.childForFieldName('arguments')?.namedChildCount ?? 0) > 0) continue;
      call = fn0.childForFieldName('object')!;
    }
    const target = importedCallee(ctx, call.childForFieldName('function'));
    const cls = target?.module.classes.find((c) => c.name === target.name);
    if (!target || !cls) continue;
    if (chained && !(LIFECYCLE.has(chained) && returnsSelf(cls, chained))) continue;
    if (ctx.agent.assignments.filter((x) => x.attr === a.attr).length !== 1 || ctx.external(a.attr).length) continue;
    // The port it binds is the health port the base binds.
    const handoffs = portHandoffs(call, target.module, serverSubclasses(target.module.root), [], undefined, cls.name);
    if (handoffs.length !== 1 || !healthPorts.has(normPort(handoffs[0]!.arg.text) + (handoffs[0]!.param.off ? `+${handoffs[0]!.param.off}` : ''))) continue;
    if (!servesOnlyHealth(cls, target.module)) continue;
    // The one other argument is the status callable the class calls for its answer.
    const args = call.childForFieldName('arguments')?.namedChildren ?? [];
    const others = args.filter((x) => x.id !== handoffs[0]!.arg.id && (x.type !== 'keyword_argument' || x.childForFieldName('value')?.id !== handoffs[0]!.arg.id));
    if (others.length !== 1) continue;
    const given = others[0]!.type === 'keyword_argument' ? others[0]!.childForFieldName('value')! : others[0]!;
    const param = paramFor(cls, args, others[0]!);
    if (!param || !callsParam(cls, param)) continue;
    const payload = payloadOf(ctx, given, a.method);
    if (!payload) continue;
    const uses = lifecycleUses(ctx, a.attr, a.stmt, cls);
    if (!uses) continue;
    const name = call.childForFieldName('function')!.text.replace(/\s+/g, '');
    const proposals: StatementProposal[] = [{
      node: a.stmt,
      symbol: a.attr,
      finding: 'health',
      reason: `${name} (${target.file}) serves only GET /health from ${given.text.replace(/\s+/g, ' ')} on the health port the base serves: the base's health hook reports it now`,
      // Only with the member: kept (still used), its construction stays with its start()/stop().
      requires: [a.attr],
      ...(payload.method ? { payloadMethods: [payload.method] } : { payloadCalls: [{ call: payload.call!, members: payload.members }] }),
    }];
    for (const u of uses) proposals.push({ node: u, symbol: a.attr, finding: 'health', reason: `starts or stops the ${name} health sidecar, which goes`, requires: [a.attr] });
    out.push({ callee: name, attr: a.attr, proposals });
  }
  return out;
}

/** `def start(self): ...; return self` (every return gives the instance back). */
function returnsSelf(cls: PyClass, method: string): boolean {
  const fn = cls.methods.get(method);
  if (!fn) return false;
  let returns = 0;
  let other = false;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'return_statement') return;
    returns++;
    if (n.namedChild(0)?.text !== 'self') other = true;
  });
  return returns > 0 && !other;
}

/**
 * The class answers HTTP GET on /health and nothing else: its request handlers (nested in it, or
 * module classes it names) define no request method but GET/HEAD, the only path it names is /health,
 * and it reads no module-level value or function that could route elsewhere.
 */
function servesOnlyHealth(cls: PyClass, module: { classes: PyClass[]; functions: Map<string, unknown>; root: SyntaxNode }): boolean {
  const moduleClasses = module.classes;
  // Module-level values and functions the code could route through (`ROUTES = {"/stats": ...}`): not proven.
  const moduleNames = new Set<string>(module.functions.keys());
  for (const st of module.root.namedChildren) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (e?.type === 'assignment') walk(e.childForFieldName('left')!, (x) => {
      if (x.type === 'identifier') moduleNames.add(x.text);
    });
  }
  if (cls.bases.some((b) => !/^(object|(threading\.)?Thread)$/.test(baseName(b) ?? ''))) return false;
  const handlers: SyntaxNode[] = [];
  const isHandler = (def: SyntaxNode) => (def.childForFieldName('superclasses')?.namedChildren ?? []).some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? ''));
  walk(cls.node, (n) => {
    if (n.type === 'class_definition' && n.id !== cls.node.id && isHandler(n)) handlers.push(n);
  });
  walk(cls.node, (n) => {
    if (n.type !== 'identifier') return;
    const other = moduleClasses.find((c) => c.name === n.text && c.node.id !== cls.node.id);
    if (other && isHandler(other.node) && !handlers.some((h) => h.id === other.node.id)) handlers.push(other.node);
  });
  if (!handlers.length) return false;
  let ok = true;
  for (const h of [cls.node, ...handlers]) {
    walk(h, (n) => {
      if (n.type === 'function_definition' && /^do_/.test(n.childForFieldName('name')!.text) && !/^do_(GET|HEAD)$/.test(n.childForFieldName('name')!.text)) ok = false;
      if (n.type === 'string_content' && /^\//.test(n.text) && n.text.replace(/\/+$/, '') !== '/health' && !pathTrim(n)) ok = false;
    });
  }
  // (in the request handlers: the sidecar's own methods may log through a module logger)
  for (const h of handlers) {
    walk(h, (n) => {
      if (n.type === 'identifier' && moduleNames.has(n.text) && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id)) ok = false;
    });
  }
  return ok;
}

/** A "/" given to a method trimming or splitting the path (`self.path.rstrip("/")`), not a route. */
function pathTrim(content: SyntaxNode): boolean {
  const str = content.parent;
  const call = str?.parent?.type === 'argument_list' ? str.parent.parent : null;
  const fn = call?.type === 'call' ? call.childForFieldName('function') : null;
  return content.text === '/' && fn?.type === 'attribute' && /^(r|l)?strip$|^r?split$|^(starts|ends)with$/.test(fn.childForFieldName('attribute')!.text);
}

/** The constructor parameter an argument binds (by keyword, or by position after self). */
function paramFor(cls: PyClass, args: SyntaxNode[], arg: SyntaxNode): string | null {
  const init = cls.methods.get('__init__');
  if (!init) return null;
  if (arg.type === 'keyword_argument') {
    const name = arg.childForFieldName('name')!.text;
    return init.params.some((p) => p.name === name) ? name : null;
  }
  const index = args.filter((x) => x.type !== 'keyword_argument').findIndex((x) => x.id === arg.id);
  return init.params.filter((p) => p.name !== 'self')[index]?.name ?? null;
}

/**
 * Does the class call what the parameter holds (`status_fn()`, `self.status_fn()`, a local bound to
 * either, or the attribute through a local standing for the instance: `outer = self` in __init__, the
 * nested handler calling `outer.status_fn()`)?
 */
function callsParam(cls: PyClass, param: string): boolean {
  const names = new Set([param]);
  // (a name every assignment of which in the class binds self)
  const selves = new Set<string>();
  const rebound = new Set<string>();
  walk(cls.node, (n) => {
    if (n.type !== 'assignment' || n.childForFieldName('left')?.type !== 'identifier') return;
    (n.childForFieldName('right')?.text === 'self' ? selves : rebound).add(n.childForFieldName('left')!.text);
  });
  for (const r of rebound) selves.delete(r);
  for (let i = 0; i < 3; i++) {
    walk(cls.node, (n) => {
      if (n.type !== 'assignment') return;
      const right = n.childForFieldName('right')?.text.replace(/\s+/g, '') ?? '';
      const left = n.childForFieldName('left')?.text.replace(/\s+/g, '') ?? '';
      if (names.has(right) && /^(self\.)?\w+$/.test(left)) {
        names.add(left);
        if (left.startsWith('self.')) for (const alias of selves) names.add(`${alias}.${left.slice(5)}`);
      }
    });
  }
  let called = false;
  walk(cls.node, (n) => {
    if (n.type === 'call' && names.has(n.childForFieldName('function')!.text.replace(/\s+/g, '')) && (n.childForFieldName('arguments')?.namedChildCount ?? 0) === 0) called = true;
  });
  return called;
}

/**
 * What the hook calls for the callable: an agent method (`self.health_status`), a member's method
 * (`self.monitor.snapshot`), or a lambda's dict read on the agent (`lambda: {"queued": len(self.q)}`).
 */
function payloadOf(ctx: PythonTransformContext, given: SyntaxNode, method: string): { method?: string; call?: string; members: string[] } | null {
  const text = given.text.replace(/\s+/g, '');
  const own = /^self\.(\w+)$/.exec(text)?.[1];
  if (own) {
    const fn = ctx.agent.methods.get(own);
    if (!fn || fn.isAsync || fn.decorators.length || fn.params.some((p) => p.name !== 'self' && p.kind === 'plain')) return null;
    return { method: own, members: [...selfMembers(fn.body)] };
  }
  const held = /^self\.(\w+)\.(\w+)$/.exec(text);
  if (held) return ctx.agent.attributes.has(held[1]!) && !ctx.agent.methods.has(held[1]!) ? { call: `${text}()`, members: [held[1]!] } : null;
  if (given.type !== 'lambda' || given.childForFieldName('parameters') || given.childForFieldName('body')?.type !== 'dictionary') return null;
  const body = given.childForFieldName('body')!;
  // Free names other than self must not be locals of the method that built it (the hook cannot see them).
  const fn = ctx.agent.methods.get(method);
  const locals = new Set<string>(fn?.params.map((p) => p.name) ?? []);
  if (fn) walk(fn.body, (n) => {
    if (n.type === 'assignment' && n.childForFieldName('left')?.type === 'identifier') locals.add(n.childForFieldName('left')!.text);
  });
  locals.delete('self');
  let free = false;
  walk(body, (n) => {
    if (n.type === 'attribute') {
      walk(n.childForFieldName('object')!, (o) => {
        if (o.type === 'identifier' && locals.has(o.text)) free = true;
      });
      return false;
    }
    if (n.type === 'identifier' && locals.has(n.text)) free = true;
  });
  if (free) return null;
  const members = new Set<string>();
  walk(body, (n) => {
    const m = selfAttribute(n);
    if (m) members.add(m);
  });
  return { call: body.text, members: [...members] };
}

/**
 * Every other mention of self.<attr> in the agent is a statement `self.<attr>.start()` / `.stop()` of the
 * sidecar's lifecycle: those statements, or null when the agent does anything else with it.
 */
function lifecycleUses(ctx: PythonTransformContext, attr: string, assignment: SyntaxNode, cls: PyClass): SyntaxNode[] | null {
  const out: SyntaxNode[] = [];
  let ok = true;
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      if (!ok) return false;
      if (n.id === assignment.id) return false;
      if (selfAttribute(n) !== attr) return;
      const member = n.parent?.type === 'attribute' && n.parent.childForFieldName('object')?.id === n.id ? n.parent : null;
      const name = member?.childForFieldName('attribute')!.text ?? '';
      const call = member?.parent?.type === 'call' ? member.parent : null;
      const stmt = call?.parent?.type === 'expression_statement' ? call.parent : null;
      const thread = cls.bases.some((b) => /^(threading\.)?Thread$/.test(baseName(b) ?? ''));
      // Thread.start() runs the sidecar's own run(): its server.
      const defined = cls.methods.has(name) || (thread && name === 'start');
      if (!stmt || !LIFECYCLE.has(name) || !defined || (call!.childForFieldName('arguments')?.namedChildCount ?? 0) > 0) ok = false;
      else out.push(stmt);
      return false;
    });
  }
  return ok ? out : null;
}
