// Startup configs joined with the scan: configured agents whose script is not an
// agent, agent files no config starts, one name given to two entries, and
// dependencies on names no config defines (seed 000, risks B and G).
import type { ScanResult } from '../core/types.js';
import type { ConfigAgent, StartupConfigFile } from '../discover/startup-config.js';
import { at, where, type ConfigFinding } from './findings.js';

export interface ConfiguredScript {
  config: StartupConfigFile;
  agent: ConfigAgent;
  /** The script's path relative to the root, when it exists. */
  file: string | null;
}

export function joinFindings(scan: ScanResult, scripts: ConfiguredScript[]): ConfigFinding[] {
  const out: ConfigFinding[] = [];
  const started = new Set(scripts.map((s) => s.file).filter((f): f is string => !!f));
  for (const s of scripts) {
    if (!s.file || scan.agents.some((a) => a.file === s.file || a.output === s.file)) continue;
    const skipped = scan.skipped.find((k) => k.file === s.file);
    if (skipped) {
      const reason = skipped.reason.replace(new RegExp(`^${escape(s.file)}(:\\d+)?:\\s*`), '');
      out.push(at(s.config, s.agent.script!.node, 'warning', 'not-an-agent', `script_path ${s.agent.script!.value} of ${s.agent.name} is not an agent: ${reason}`, s.agent.name));
    }
  }
  const outputs = new Set(scan.agents.map((a) => a.output).filter(Boolean));
  for (const a of scan.agents) {
    if (outputs.has(a.file) || started.has(a.file) || (a.output && started.has(a.output))) continue;
    out.push({
      file: a.file,
      line: a.line,
      col: 1,
      severity: 'warning',
      rule: 'unconfigured-agent',
      message: `${a.status} agent ${a.name} is started by no startup config`,
      agent: a.name,
    });
  }
  return out;
}

export function nameFindings(configs: StartupConfigFile[]): ConfigFinding[] {
  const out: ConfigFinding[] = [];
  const first = new Map<string, { config: StartupConfigFile; agent: ConfigAgent }>();
  for (const config of configs) {
    for (const agent of config.agents) {
      const seen = first.get(agent.name);
      if (seen) {
        out.push(at(config, agent.anchor, 'error', 'duplicate-name', `agent name ${agent.name} is also defined at ${where(seen.config, seen.agent.anchor)}`, agent.name));
      } else first.set(agent.name, { config, agent });
    }
  }
  for (const config of configs) {
    for (const agent of config.agents) {
      for (const d of agent.dependencies) {
        if (!first.has(d.value)) {
          out.push(at(config, d.node, 'warning', 'unknown-dependency', `${agent.name} depends on ${d.value}, which no startup config defines`, agent.name));
        }
      }
    }
  }
  return out;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
