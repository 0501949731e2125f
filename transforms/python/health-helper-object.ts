// Concern: a health server owned by a helper object the agent builds and keeps (has-a, not inherits):
// `self.board = StatusBoard(health_port, HOT_IDS)` then `self.board.start()`, where the helper class of
// the same file stores the port it is given and one of its methods binds an HTTP server on it answering
// /health only (its payload read from the helper: `board.snapshot()`), another only shuts that server
// down. Handed the agent's health port, the helper binds what the base binds. When it is provably safe,
// the helper loses its server and nothing else: the agent's calls of the start/stop methods go, the two
// methods go, and the `self._server = None` of the helper's __init__; what the helper's handler answered
// reaches the base's health hook read on the agent's member (`self.board.snapshot()`). The helper keeps
// every other member (its counters, bump(), snapshot()).
//
// Provably safe means: the helper class is built by this agent only (no other class, module code or
// other file of the repository names it, no subclass), the agent holds it in one attribute it uses only
// as `self.<attr>.<member>` (never handed on whole), the start/stop methods and the server attribute are
// reached by nothing but the agent's whole-statement calls, and the start method does nothing but set up
// that server. Otherwise nothing is proposed and the port plan refuses the agent, naming the helper's bind.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { PyClass, PyFunction } from '../../src/lang/python/module-model.js';
import { bindArgument, normPort, portRoles, serverSubclasses, type ServerClasses } from '../../src/analysis/ports.js';
import { argumentFor, classBoundParams } from '../../src/analysis/port-handoff.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import { callee, isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { payloadScope, servesNoOtherPath } from './remove-health.js';
import { answersHealth } from './health-helper-server.js';

export const removeHealthHelperObject: PythonTransform = {
  name: 'health-helper-object',
  phase: 'propose',
  run(ctx) {
    const healthPorts = portRoles(ctx.py.super_call.pass_through ?? {}).health;
    const servers = serverSubclasses(ctx.module.root);
    for (const h of helperObjects(ctx, servers)) {
      const arg = argumentFor(h.construct, h.port);
      if (!arg || h.port.off || !healthPorts.has(normPort(arg.text))) continue;
      const use = agentUses(ctx, h);
      if (!use) continue;
      const reason = `${h.cls.name}.${h.start.name}() (line ${h.start.line}) binds a health server on the health port the agent hands it; the base serves /health there`;
      const params = new Map(h.aliases.map((a) => [a, use.holder] as [string, SyntaxNode]));
      const payloadRegion = { node: h.start.body, scope: { ...payloadScope(ctx), params } };
      for (const s of use.starts) ctx.plan.proposeStatement({ node: s, symbol: `${h.attr}.${h.start.name}`, finding: 'health', reason, payloadRegion });
      for (const s of use.stops) ctx.plan.proposeStatement({ node: s, symbol: `${h.attr}.${s.text.replace(/^self\.\w+\.|\(\)$/g, '')}`, finding: 'health', reason: `stops the health server of ${h.cls.name}` });
      // Another class, file or tool builds the helper too and starts its server on a port of its own: the
      // class stays whole for them, and only this agent's calls go (its board never serves).
      if (use.shared) {
        ctx.warnings.push(
          `${h.cls.name} stays whole (${use.shared}); only this agent's ${[...use.starts, ...use.stops].map((st) => st.text.trim()).join(' and ')} ` +
            `went: its ${h.cls.name} serves no /health of its own, the base does`,
        );
        continue;
      }
      const helperReason = `${h.cls.name}'s health server (the base serves /health)`;
      // The start method carries what its handler answered too (read once: the same payload is added once).
      for (const m of [h.start, ...h.stops]) ctx.plan.proposeStatement({ node: m.outer, symbol: `${h.cls.name}.${m.name}`, finding: 'health', reason: helperReason, ...(m === h.start ? { payloadRegion } : {}) });
      for (const s of h.initServer) ctx.plan.proposeStatement({ node: s, symbol: `${h.cls.name}.${h.server}`, finding: 'health', reason: helperReason });
    }
  },
};

interface HelperObject {
  cls: PyClass;
  /** The agent attribute holding the helper and the construction call. */
  attr: string;
  construct: SyntaxNode;
  port: ReturnType<typeof classBoundParams>[number];
  start: PyFunction;
  stops: PyFunction[];
  /** The helper's attribute holding the server. */
  server: string;
  /** `self.<server> = None` statements of the helper's __init__. */
  initServer: SyntaxNode[];
  /** Locals of the start method standing for the helper (`board = self`). */
  aliases: string[];
}

const selfRefs = (n: SyntaxNode): string[] => {
  const out: string[] = [];
  walk(n, (x) => {
    if (x.type === 'class_definition') return false;
    const a = x.type === 'attribute' ? selfAttribute(x) : null;
    if (a && x.childForFieldName('object')?.text === 'self') out.push(a);
  });
  return out;
};

function helperObjects(ctx: PythonTransformContext, servers: ServerClasses): HelperObject[] {
  const out: HelperObject[] = [];
  for (const cls of ctx.module.classes) {
    if (cls.name === ctx.agent.cls.name || servers.has(cls.name) || cls.decorators.length || cls.keywords.length) continue;
    if (cls.bases.some((b) => b.text !== 'object')) continue;
    // Built by the agent, held in one attribute of its __init__.
    const holders = ctx.agent.assignments.filter((a) => a.value?.type === 'call' && callee(a.value) === cls.name);
    if (holders.length !== 1 || holders[0]!.method !== '__init__') continue;
    const holder = holders[0]!;
    if (ctx.agent.assignments.filter((a) => a.attr === holder.attr).length !== 1) continue;
    const bound = classBoundParams(cls, servers, ctx.module);
    if (bound.length !== 1) continue;
    const start = [...cls.methods.values()].find((m) => `${cls.name}.${m.name}()` === bound[0]!.via);
    if (!start || start.name === '__init__' || start.isAsync || start.decorators.length || start.params.length !== 1) continue;
    // The start method: `self.<server> = Server((host, self.<port>), Handler)`, served, answering /health only.
    let server: string | null = null;
    let binds = 0;
    let serves = false;
    walk(start.body, (n) => {
      if (n.type === 'attribute' && n.childForFieldName('attribute')?.text === 'serve_forever') serves = true;
      if (n.type !== 'call' || !bindArgument(n, servers)) return;
      binds++;
      const p = n.parent;
      if (p?.type === 'assignment' && p.childForFieldName('right')?.id === n.id) server = selfAttribute(p.childForFieldName('left')!);
    });
    if (binds !== 1 || !server || !serves || !servesNoOtherPath(start.body) || !answersHealth(start.body)) continue;
    const portAttr = storedAttr(cls, bound[0]!.name);
    // It touches nothing of the helper but the server and the port; it returns nothing.
    if (selfRefs(start.body).some((a) => a !== server && a !== portAttr)) continue;
    let returns = false;
    walk(start.body, (n) => {
      if (n.type === 'class_definition' || n.type === 'function_definition') return false;
      if (n.type === 'return_statement' || n.type === 'yield') returns = true;
    });
    if (returns) continue;
    const aliases = statements(start.body)
      .map((s) => (s.type === 'expression_statement' ? s.namedChild(0) : null))
      .filter((a) => a?.type === 'assignment' && a.childForFieldName('left')?.type === 'identifier' && a.childForFieldName('right')?.text === 'self')
      .map((a) => a!.childForFieldName('left')!.text);
    // Stop methods: every self reference is the server, every call is on it.
    const stops: PyFunction[] = [];
    let ok = true;
    for (const m of cls.methods.values()) {
      if (m === start || m.name === '__init__') continue;
      const refs = selfRefs(m.body);
      if (!refs.includes(server)) continue;
      let calls = true;
      walk(m.body, (n) => {
        if (n.type === 'call' && !(n.childForFieldName('function')?.text ?? '').startsWith(`self.${server}.`)) calls = false;
      });
      if (m.isAsync || m.decorators.length || m.params.length !== 1 || refs.some((a) => a !== server) || !calls) ok = false;
      else stops.push(m);
    }
    if (!ok) continue;
    // __init__ only sets the server attribute to None.
    const init = cls.methods.get('__init__');
    const initServer: SyntaxNode[] = [];
    if (init) {
      for (const s of statements(init.body)) {
        if (!selfRefs(s).includes(server)) continue;
        if (s.text.replace(/\s+/g, '') !== `self.${server}=None`) ok = false;
        else initServer.push(s);
      }
    }
    if (!ok) continue;
    // Nothing else of the helper reaches the start/stop methods or the server.
    const going = [start, ...stops];
    const names = new Set(going.map((m) => m.name));
    for (const m of cls.methods.values()) {
      if (going.includes(m)) continue;
      walk(m.body, (n) => {
        if (n.type === 'attribute' && n.childForFieldName('object')?.text === 'self' && (names.has(n.childForFieldName('attribute')!.text) || (m.name !== '__init__' && n.childForFieldName('attribute')!.text === server))) ok = false;
      });
    }
    if (!ok) continue;
    out.push({ cls, attr: holder.attr, construct: holder.value!, port: bound[0]!, start, stops, server, initServer, aliases });
  }
  return out;
}

/** The attribute the helper's __init__ stores a parameter in (`self.port = port`). */
function storedAttr(cls: PyClass, param: string): string | null {
  const init = cls.methods.get('__init__');
  let attr: string | null = null;
  if (init) {
    walk(init.body, (n) => {
      if (n.type !== 'assignment' || n.childForFieldName('right')?.text !== param) return;
      attr ??= selfAttribute(n.childForFieldName('left')!);
    });
  }
  return attr;
}

/**
 * The agent's uses of the helper: each `self.<attr>` is `self.<attr>.<member>`, the start/stop methods
 * only called as whole statements without arguments; nothing outside the agent and the helper names the
 * helper class, its start/stop methods or its server. Null when any use escapes.
 */
function agentUses(ctx: PythonTransformContext, h: HelperObject): { holder: SyntaxNode; starts: SyntaxNode[]; stops: SyntaxNode[]; shared: string | null } | null {
  const going = new Map([[h.start.name, 'start'], ...h.stops.map((m) => [m.name, 'stop'] as [string, string])]);
  const starts: SyntaxNode[] = [];
  const stops: SyntaxNode[] = [];
  let holder: SyntaxNode | null = null;
  let ok = true;
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      if (n.type !== 'attribute' || n.childForFieldName('object')?.text !== 'self' || n.childForFieldName('attribute')?.text !== h.attr) return;
      const outer = n.parent;
      if (outer?.type === 'assignment' && outer.childForFieldName('left')?.id === n.id) {
        holder = n;
        return;
      }
      if (outer?.type !== 'attribute' || outer.childForFieldName('object')?.id !== n.id) {
        ok = false;
        return;
      }
      const member = outer.childForFieldName('attribute')!.text;
      if (member === h.server) ok = false;
      const role = going.get(member);
      if (!role) return;
      const call = outer.parent;
      const stmt = call?.type === 'call' ? call.parent : null;
      if (call?.type !== 'call' || call.childForFieldName('arguments')?.namedChildCount || stmt?.type !== 'expression_statement' || stmt.namedChildCount !== 1) ok = false;
      else (role === 'start' ? starts : stops).push(stmt);
    });
  }
  if (!ok || !holder || !starts.length) return null;
  const inAgent = (i: number) => ctx.agent.cls.outer.startIndex <= i && i < ctx.agent.cls.outer.endIndex;
  const inside = (i: number) => inAgent(i) || (h.cls.outer.startIndex <= i && i < h.cls.outer.endIndex);
  const members = [...going.keys(), h.server];
  // The helper class: named nowhere but its definition and the agent's construction, in no other file.
  const refs = ctx.refs.of(h.cls.name).filter((r) => r.kind !== 'attribute' && !(h.cls.outer.startIndex <= r.start && r.start < h.cls.outer.endIndex));
  const otherBuilders = refs.filter((r) => r.start !== h.construct.startIndex).length;
  const otherFiles = ctx.moduleUses(h.cls.name);
  const subclassed = ctx.module.classes.some((c) => c.bases.some((b) => b.text.replace(/\s+/g, '').split('.').pop() === h.cls.name));
  const outsiders = members.some((name) => ctx.refs.of(name).some((r) => !inside(r.start)) || ctx.external(name).length);
  if (!otherBuilders && !otherFiles.length && !subclassed && !outsiders) return { holder, starts, stops, shared: null };
  // Shared: others build the helper and use its server on their own instances. Only this agent's instance loses
  // its server, so nothing may reach that instance's start/stop/server but the agent's own calls: no code outside
  // the agent names `<x>.<attr>.<member>` (other than another class's own `self.<attr>`), no other file reaches it.
  if (subclassed) return null;
  for (const name of members) {
    for (const r of ctx.refs.of(name)) {
      if (inside(r.start)) continue;
      if (r.kind === 'string') return null;
      const obj = r.node.parent?.type === 'attribute' ? r.node.parent.childForFieldName('object') : null;
      if (obj && obj.text !== `self.${h.attr}` && new RegExp(`(^|\\.)${h.attr}$`).test(obj.text)) return null;
    }
  }
  const reach = new RegExp(`\\.${h.attr}\\s*\\.\\s*(${members.join('|')})\\b`);
  if (ctx.external(h.attr).some((u) => reach.test(u.text))) return null;
  const by = otherFiles.length ? `${otherFiles[0]!.file}:${otherFiles[0]!.line} uses it` : otherBuilders ? 'other code of this file builds it' : 'other code uses its server';
  return { holder, starts, stops, shared: by };
}
