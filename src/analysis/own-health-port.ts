// The port a legacy agent's own health server binds, read from its code for the validator (AgentInfo.health_port).
// A health server speaking the fleet's raw JSON-line protocol (`{"action": "health_check"}` over a plain TCP
// socket) answers none of the validator's HTTP, ZMQ or UDP probes, so only its code says which of the legacy's
// listening ports was its health: the agent's health-port attribute (the profile's names for it, `health_port`,
// `health_check_port`). That is the role the rewrite hands to the base (`health_check_port=` in its super call),
// never a business port, which has a name of its own; the validator counts it only when the legacy listened there.
import type { Finding } from '../core/types.js';
import { buildAgentModel, type AgentModel } from './agent-model.js';
import { propertyReturn, roleDefault, type PortScope } from './port-defaults.js';
import type { ModuleModel, PyClass } from '../lang/python/module-model.js';

export interface HealthPortFact {
  /** The port it binds when started without arguments (`self.port + 1` with the port defaulting to 5590: 5591). */
  value?: number;
  /** How far past the agent's own port it lies when derived from it (`self.port + 1`: 1), the port read from wherever. */
  fromPort?: number;
  /** Where the code fixes it: the line of the attribute's assignment (or parameter). */
  line: number;
}

/** The agent's names for its two ports (the profile's pass-through lists, or the usual ones). */
export interface PortNames {
  port: string[];
  health: string[];
}

export function portNamesOf(passThrough: Record<string, string[]> | undefined): PortNames {
  return { port: passThrough?.port ?? ['port'], health: passThrough?.health_check_port ?? ['health_check_port', 'health_port'] };
}

/**
 * The class's own health port (its health-port attribute or `__init__` parameter); null when it has none, or the
 * code fixes neither its default nor its distance from the agent's port. The health server bound on it need not
 * look like one by name (a `probe_listener`, a `ping_listener` answering "PING"): the port's name says its role.
 */
export function ownHealthPort(cls: PyClass, module: ModuleModel, names: PortNames, findings: Finding[], agent: AgentModel = buildAgentModel(cls)): HealthPortFact | null {
  // Read only of a class with health code or a health-port parameter: most classes have neither.
  const init = cls.methods.get('__init__');
  if (!findings.some((f) => f.kind === 'health') && !init?.params.some((p) => names.health.includes(p.name))) return null;
  const scope: PortScope = { agent, module };
  const name = names.health.find((n) => agent.assignments.some((a) => a.method === '__init__' && a.attr === n) || propertyReturn(agent, n) || init?.params.some((p) => p.name === n));
  if (!name) return null;
  const fixed = roleDefault(scope, [name]);
  const assigned = agent.assignments.find((a) => a.method === '__init__' && a.attr === name && a.value);
  const expr = assigned?.value ?? propertyReturn(agent, name);
  const fromPort = expr ? offsetFromPort(expr.text, names.port) : undefined;
  if (!fixed && fromPort === undefined) return null;
  return { ...(fixed ? { value: fixed.value } : {}), ...(fromPort !== undefined ? { fromPort } : {}), line: fixed?.line ?? assigned?.line ?? cls.line };
}

/** `self.port + 1`, `health_port or port + 1`: how far past one of the agent's port names the expression lies. */
function offsetFromPort(text: string, portNames: string[]): number | undefined {
  for (const m of text.matchAll(/(?<![\w.])(?:self\.)?([A-Za-z_]\w*)\s*\+\s*(\d+)/g)) if (portNames.includes(m[1]!)) return Number(m[2]);
  return undefined;
}

/** The agent's own port when started without arguments (AgentInfo.port_default; a health port its parent derives from it). */
export function ownPortDefault(cls: PyClass, module: ModuleModel, names: PortNames, agent: AgentModel = buildAgentModel(cls)): number | undefined {
  // Most classes with a base name no port in their __init__: their assignments are not gathered for nothing.
  const init = cls.methods.get('__init__');
  if (!init || !names.port.some((n) => new RegExp(`\\b${n}\\b`).test(init.node.text))) return undefined;
  return roleDefault({ agent, module }, names.port)?.value;
}

/** What the scan keeps of a class for inheritedHealthPort. */
interface PortFacts {
  healthPort?: HealthPortFact;
  portDefault?: number;
}

/**
 * The health port an agent gets from an in-repository parent the rewrite replaces (an older home-made
 * AgentBase binding `self.port + 1` for its health listener), the agent's own port default carried over.
 */
export function inheritedHealthPort<C extends PortFacts, M>(
  parents: (cls: C, module: M) => Array<{ cls: C; module: M; rel: string }>,
  cls: C,
  module: M,
  portDefault = cls.portDefault,
  depth = 0,
): (HealthPortFact & { file: string }) | undefined {
  if (depth > 4) return undefined;
  for (const p of parents(cls, module)) {
    const h = p.cls.healthPort;
    if (h) {
      const value = h.fromPort !== undefined && portDefault !== undefined ? portDefault + h.fromPort : h.value;
      return { ...h, ...(value !== undefined ? { value } : {}), file: p.rel };
    }
    const higher = inheritedHealthPort(parents, p.cls, p.module, portDefault, depth + 1);
    if (higher) return higher;
  }
  return undefined;
}
