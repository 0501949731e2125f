// Concern: ad-hoc health code the base replaces — health sockets and threads, their loop
// methods, HTTP handlers used only for health, sidecar health classes. Health that is
// business (checking other agents, payloads with business data, in-band health actions
// used by the dispatcher) fails the conditions below or the plan's use check and stays.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { selfMembers } from '../../src/analysis/infra.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import { baseName } from '../../src/lang/python/module-model.js';
import { stringValue, walk } from '../../src/lang/python/syntax.js';
import {
  HEALTH_ATTRIBUTE,
  HEALTH_LOOP_METHOD,
  HEALTH_PAYLOAD_KEYS,
  HEALTH_PAYLOAD_METHOD,
  HEALTH_SIDECAR_CLASS,
  HTTP_HANDLER_BASE,
} from './health-patterns.js';

/** Transport and bookkeeping a health loop may touch without being business. */
const TRANSPORT = /^(_?context|_?ctx|zmq_context|_?poller|_?logger|_?log|_?running|start_time|name|agent_name|port|host|_?stop_event|_?shutdown_event|initialized|initialization_error)$/;

const healthish = (m: string) => HEALTH_ATTRIBUTE.test(m) || HEALTH_LOOP_METHOD.test(m) || HEALTH_PAYLOAD_METHOD.test(m);

export const removeHealth: PythonTransform = {
  name: 'remove-health',
  phase: 'propose',
  run(ctx) {
    const { agent } = ctx;
    for (const [name, fn] of agent.methods) {
      if (HEALTH_LOOP_METHOD.test(name)) {
        ctx.plan.proposeMember({
          name,
          kind: 'method',
          finding: 'health',
          reason: 'ad-hoc health server/loop (the base serves /health)',
          condition: (scope) => {
            const business = [...membersUsed(fn.body)].filter(
              (m) => !scope.removed.has(m) && !scope.baseOwned.has(m) && !healthish(m) && !TRANSPORT.test(m) && agentHas(ctx, m),
            );
            return business.length
              ? `health code that also touches business state (self.${business.join(', self.')}); kept`
              : null;
          },
        });
      } else if (HEALTH_PAYLOAD_METHOD.test(name)) {
        ctx.plan.proposeMember({
          name,
          kind: 'method',
          finding: 'health',
          reason: 'ad-hoc health payload (the base builds its own)',
          condition: (scope) => {
            const why = businessPayload(ctx, fn.body, scope);
            return why ? `health payload carries business data (${why}); kept: the base's /health does not report it` : null;
          },
          reviewHint: 'business code calls it (in-band health action?)',
        });
      }
    }
    for (const attr of agent.attributes) {
      if (HEALTH_ATTRIBUTE.test(attr) && !ctx.baseOwned.has(attr)) {
        ctx.plan.proposeMember({
          name: attr,
          kind: 'attribute',
          finding: 'health',
          reason: 'ad-hoc health socket/thread/server',
          condition: (scope) => createdOutsideRemoved(ctx, attr, scope.removed),
        });
      }
    }
    for (const cls of ctx.module.classes) {
      if (cls.name === agent.cls.name || ctx.otherClasses.has(cls.name)) continue;
      const bases = cls.bases.map(baseName);
      if (bases.some((b) => b && HTTP_HANDLER_BASE.test(b)) && (/health/i.test(cls.name) || servesOnlyHealth(cls.body))) {
        ctx.plan.proposeMember({ name: cls.name, kind: 'module-class', finding: 'health', reason: 'HTTP handler used only for health' });
      } else if (HEALTH_SIDECAR_CLASS.test(cls.name)) {
        ctx.plan.proposeMember({ name: cls.name, kind: 'module-class', finding: 'health', reason: 'sidecar health class' });
      }
    }
  },
};

/**
 * An attribute may go with its set-up only when it is created in __init__ (plain set-up) or
 * in a method that goes too; created anywhere else (or from a local closure), removing the
 * assignment would orphan the code that made it.
 */
function createdOutsideRemoved(ctx: PythonTransformContext, attr: string, removed: Set<string>): string | null {
  for (const a of ctx.agent.assignments.filter((x) => x.attr === attr)) {
    if (removed.has(a.method)) continue;
    if (a.method !== '__init__') return `self.${attr} is created in ${a.method}(), which stays; kept`;
    const init = ctx.agent.methods.get('__init__')!;
    const locals = new Set<string>();
    walk(init.body, (n) => {
      if (n.type === 'function_definition') locals.add(n.childForFieldName('name')!.text);
      if (n.type === 'assignment' && n.childForFieldName('left')?.type === 'identifier') locals.add(n.childForFieldName('left')!.text);
    });
    let usesLocal = false;
    if (a.value) walk(a.value, (n) => {
      if (n.type === 'identifier' && locals.has(n.text)) usesLocal = true;
    });
    if (usesLocal) return `self.${attr} is created from a local of __init__ that stays; kept`;
  }
  return null;
}

function agentHas(ctx: PythonTransformContext, m: string): boolean {
  return ctx.agent.attributes.has(m) || ctx.agent.methods.has(m);
}

function membersUsed(body: SyntaxNode): Set<string> {
  return selfMembers(body);
}

/** Why a payload method is business (a reason), or null when it is a pure health payload. */
function businessPayload(
  ctx: PythonTransformContext,
  body: SyntaxNode,
  scope: { removed: Set<string>; baseOwned: Set<string> },
): string | null {
  const reasons: string[] = [];
  const fn = [...ctx.agent.methods.values()].find((f) => f.body.id === body.id);
  if (fn) {
    walkAgentCode(fn, (n) => {
      if (n.type === 'pair') {
        const key = stringValue(n.childForFieldName('key')!);
        if (key !== null && !HEALTH_PAYLOAD_KEYS.has(key)) reasons.push(`"${key}"`);
      }
    });
  }
  const business = [...membersUsed(body)].filter(
    (m) => !scope.removed.has(m) && !scope.baseOwned.has(m) && !healthish(m) && !/^(initialized|initialization_error|start_time|running|name|port)$/.test(m),
  );
  reasons.push(...business.map((m) => `self.${m}`));
  return reasons.length ? [...new Set(reasons)].slice(0, 4).join(', ') : null;
}

/** An HTTP handler whose GET answers only health paths. */
function servesOnlyHealth(body: SyntaxNode): boolean {
  const paths: string[] = [];
  walk(body, (n) => {
    const s = stringValue(n);
    if (s && s.startsWith('/')) paths.push(s);
  });
  return paths.length > 0 && paths.every((p) => /^\/(health|healthz|status|ping|ready|live)/.test(p));
}
