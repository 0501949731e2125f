// The environment a startup config gives an agent (global_settings.environment, then the
// entry's env_vars), for validation to start it as the fleet's launcher would. Values go
// to the child's environment only, never its command line; `${NAME}` placeholders (the
// seed's remediation) are filled from migrate's own environment, where a secret store
// put them. The credential values are returned too, so everything stored can be redacted.
import { isMap, isScalar } from '../core/yaml.js';
import type { YAMLMap } from 'yaml';
import type { AgentInfo } from '../core/types.js';
import { findStartupConfigs, parseStartupConfig, resolveScriptPath, type ConfigAgent, type StartupConfigFile } from '../discover/startup-config.js';
import { secretValues } from './secrets.js';

export interface ConfigLaunchEnv {
  /** Variables for the agent's environment (empty when no config starts it). */
  configEnv: Record<string, string>;
  /** Values that must not appear in anything stored or printed. */
  secrets: string[];
}

/** Read the repository's startup configs once; then look up any agent's launch environment. */
export function configLaunchEnvironments(root: string, from: Record<string, string | undefined> = process.env): (agent: AgentInfo) => ConfigLaunchEnv {
  const configs: StartupConfigFile[] = [];
  for (const file of findStartupConfigs(root)) {
    try {
      const c = parseStartupConfig(root, file);
      if (!c.doc.errors.length) configs.push(c);
    } catch {
      // an unreadable config gives no environment; check-config reports it
    }
  }
  return (agent) => {
    for (const config of configs) {
      const entry = config.agents.find((a) => startsAgent(root, config, a, agent));
      if (!entry) continue;
      const env: Record<string, string> = {};
      const global = config.doc.getIn(['global_settings', 'environment'], true);
      for (const map of [global, entry.node.get('env_vars', true)]) {
        if (isMap(map)) Object.assign(env, stringsOf(map, from));
      }
      return { configEnv: env, secrets: secretValues(env) };
    }
    return { configEnv: {}, secrets: [] };
  };
}

function startsAgent(root: string, config: StartupConfigFile, entry: ConfigAgent, agent: AgentInfo): boolean {
  if (agent.config_names?.includes(entry.name)) return true;
  if (!entry.script) return false;
  const rel = resolveScriptPath(root, config.file, entry.script.value, root).rel;
  return rel === agent.file || rel === agent.output;
}

function stringsOf(map: YAMLMap, from: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of map.items) {
    if (!isScalar(pair.key) || !isScalar(pair.value) || pair.value.value === null) continue;
    let unset = false;
    const value = String(pair.value.value).replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      if (from[name] === undefined) unset = true;
      return from[name] ?? '';
    });
    // A placeholder nobody filled leaves the variable unset, as a shell launcher would not invent it.
    if (!unset) out[String(pair.key.value)] = value;
  }
  return out;
}
