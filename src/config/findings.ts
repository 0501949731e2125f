// A check-config finding: one problem at one place in a file, printed as
// `file:line:col: severity: message` (the compiler convention editors and CI understand).
import type { Node } from 'yaml';
import { positionOf, type StartupConfigFile } from '../discover/startup-config.js';

/** error: the fleet breaks (exit 1 unless --warn); warning: a risk to fix; note: worth knowing, never fails. */
export type Severity = 'error' | 'warning' | 'note';

export interface ConfigFinding {
  /** POSIX path relative to the root. */
  file: string;
  line: number;
  col: number;
  severity: Severity;
  /** Stable id of the check (schema, script-missing, port-duplicate, plain-text-secret, ...). */
  rule: string;
  /** One line; never holds a credential's value. */
  message: string;
  /** The agent the finding is about, when there is one. */
  agent?: string;
}

/** A finding at a YAML node of a config. */
export function at(config: StartupConfigFile, node: Node | undefined, severity: Severity, rule: string, message: string, agent?: string): ConfigFinding {
  const { line, col } = positionOf(config, node);
  return { file: config.rel, line, col, severity, rule, message, ...(agent ? { agent } : {}) };
}

/** `file:line:col` of a node, for messages that point at a second place. */
export function where(config: StartupConfigFile, node: Node | undefined): string {
  const { line, col } = positionOf(config, node);
  return `${config.rel}:${line}:${col}`;
}

export function compareFindings(a: ConfigFinding, b: ConfigFinding): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.rule.localeCompare(b.rule);
}

/** `agent_groups.core.KVCacheAgent.port`, `pc2_services[2].env_vars.NATS_URL`. */
export function pathLabel(segments: Array<string | number>): string {
  let out = '';
  for (const s of segments.map(String)) out += /^\d+$/.test(s) ? `[${s}]` : out ? `.${s}` : s;
  return out || 'the document';
}

/** The agent entry a document path lies inside. */
export function agentAt(config: StartupConfigFile, segments: Array<string | number>): string | undefined {
  const hit = config.agents.find((a) => a.path.length <= segments.length && a.path.every((p, i) => String(p) === String(segments[i])));
  return hit?.name;
}
