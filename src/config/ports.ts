// Ports across every startup config (seed 000, risk C): one port used twice within or
// across the configs, a port and health port that are one number, ports outside the
// fleet's block, and configured ports the agent's code would not bind when started
// without being told (its defaults, from src/analysis/port-defaults.ts).
import type { Node } from 'yaml';
import type { ConfigAgent, StartupConfigFile } from '../discover/startup-config.js';
import type { AgentPortDefaults } from '../analysis/port-defaults.js';
import { at, where, type ConfigFinding } from './findings.js';

type Role = 'port' | 'health_check_port';

interface PortUse {
  config: StartupConfigFile;
  agent: ConfigAgent;
  role: Role;
  value: number;
  node: Node;
}

export interface CodePorts {
  /** The agent's file, relative to the root. */
  file: string;
  defaults: AgentPortDefaults;
}

const SCHEMA_RANGE: [number, number] = [1024, 65535];
const ANY_HOST = new Set(['0.0.0.0', '*', '::', '']);

/** Two entries can bind one port number without colliding only on two different named hosts. */
function sameHost(a: ConfigAgent, b: ConfigAgent): boolean {
  const norm = (h: string | undefined) => (h === undefined ? '' : h === 'localhost' ? '127.0.0.1' : h.trim());
  const x = norm(a.host);
  const y = norm(b.host);
  return ANY_HOST.has(x) || ANY_HOST.has(y) || x === y;
}

export function portFindings(
  configs: StartupConfigFile[],
  opts: { range: [number, number]; code: (config: StartupConfigFile, agent: ConfigAgent) => CodePorts | null },
): ConfigFinding[] {
  const out: ConfigFinding[] = [];
  const uses: PortUse[] = [];
  for (const config of configs) {
    for (const agent of config.agents) {
      for (const role of ['port', 'health_check_port'] as const) {
        const p = agent[role];
        if (p) uses.push({ config, agent, role, value: p.value, node: p.node });
      }
    }
  }
  uses.forEach((u, i) => {
    const earlier = uses.slice(0, i).find((e) => e.value === u.value && (e.agent === u.agent || sameHost(e.agent, u.agent)));
    if (earlier) {
      const whose = earlier.agent === u.agent ? 'its own' : `the ${earlier.role} of ${earlier.agent.name} at ${where(earlier.config, earlier.node)}`;
      out.push(at(u.config, u.node, 'error', 'port-duplicate', `${u.role} ${u.value} of ${u.agent.name} is also ${whose}`, u.agent.name));
    }
    const [lo, hi] = opts.range;
    if (u.value >= SCHEMA_RANGE[0] && u.value <= SCHEMA_RANGE[1] && (u.value < lo || u.value > hi)) {
      out.push(
        at(u.config, u.node, 'warning', 'port-range',
          `${u.role} ${u.value} of ${u.agent.name} is outside the fleet's port range ${lo}-${hi}, where port audits and allocation look`, u.agent.name),
      );
    }
  });
  for (const config of configs) {
    for (const agent of config.agents) out.push(...codeFindings(config, agent, opts.code(config, agent)));
  }
  return out;
}

function codeFindings(config: StartupConfigFile, agent: ConfigAgent, code: CodePorts | null): ConfigFinding[] {
  if (!code) return [];
  const out: ConfigFinding[] = [];
  const { defaults, file } = code;
  const bound = new Set(defaults.binds.map((b) => b.value));
  const check = (role: Role, configured: ConfigAgent[Role], own: AgentPortDefaults['port']) => {
    if (!configured) return;
    if (own) {
      if (own.value !== configured.value) {
        out.push(
          at(config, configured.node, 'warning', 'port-not-bound',
            `${role} ${configured.value} of ${agent.name} is not the port its code binds: ${own.value} by default (${file}:${own.line}, ${own.name}); unless the launcher passes the port, the agent listens on ${own.value}`, agent.name),
        );
      }
    } else if (bound.size && !bound.has(configured.value)) {
      const list = [...bound].sort((a, b) => a - b).join(', ');
      out.push(
        at(config, configured.node, 'warning', 'port-not-bound',
          `${role} ${configured.value} of ${agent.name} is not a port its code binds: it binds ${list} by default (${file}:${defaults.binds[0]!.line})`, agent.name),
      );
    }
  };
  check('port', agent.port, defaults.port);
  check('health_check_port', agent.health_check_port, defaults.health);
  return out;
}
