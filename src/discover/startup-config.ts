// Startup configs in the fleet's two schemas (seed 000): MainPC's nested
// `agent_groups: {group: {Name: {script_path, port, ...}}}` and PC2's flat
// `pc2_services: [{name, script_path, port, ...}]`. They give agents their names.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export interface ConfigEntry {
  name: string;
  /** Script path relative to the repository root. */
  script: string;
  port?: number;
  health_check_port?: number;
  config: string;
}

export function readStartupConfigs(root: string, files: string[]): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  for (const file of files) {
    let doc: unknown;
    try {
      doc = YAML.parse(readFileSync(file, 'utf8'));
    } catch {
      continue; // not ours to validate; the scan just cannot use it
    }
    if (!doc || typeof doc !== 'object') continue;
    const d = doc as Record<string, unknown>;
    const entries: Array<[string | undefined, Record<string, unknown>]> = [];
    if (d.agent_groups && typeof d.agent_groups === 'object') {
      for (const group of Object.values(d.agent_groups as Record<string, unknown>)) {
        if (group && typeof group === 'object') {
          for (const [name, e] of Object.entries(group as Record<string, unknown>)) {
            if (e && typeof e === 'object') entries.push([name, e as Record<string, unknown>]);
          }
        }
      }
    }
    for (const key of ['pc2_services', 'services', 'agents']) {
      const list = d[key];
      if (Array.isArray(list)) for (const e of list) if (e && typeof e === 'object') entries.push([undefined, e as Record<string, unknown>]);
    }
    for (const [name, e] of entries) {
      const script = e.script_path;
      const n = (e.name as string | undefined) ?? name;
      if (typeof script !== 'string' || !n) continue;
      out.push({
        name: n,
        script: resolveScript(root, file, script),
        port: typeof e.port === 'number' ? e.port : undefined,
        health_check_port: typeof e.health_check_port === 'number' ? e.health_check_port : undefined,
        config: path.relative(root, file).split(path.sep).join('/'),
      });
    }
  }
  return out;
}

/** The seed's bug was exactly this: script paths are relative to the project root, not the cwd. */
function resolveScript(root: string, configFile: string, script: string): string {
  const candidates = [path.resolve(root, script), path.resolve(path.dirname(configFile), '..', script)];
  for (const c of candidates) {
    const rel = path.relative(root, c);
    if (!rel.startsWith('..')) return rel.split(path.sep).join('/');
  }
  return script;
}

export function isStartupConfig(rel: string): boolean {
  return /(^|\/)startup_config[^/]*\.ya?ml$/.test(rel);
}
