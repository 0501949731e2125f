// `check-config` as a function: every startup_config*.yaml under the root, checked
// against the schema, the file system (script paths), each other (ports, names) and
// the scan (agents and the ports their code binds). Returns findings; prints nothing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AgentInfo } from '../core/types.js';
import { UsageError } from '../core/errors.js';
import type { Profile } from '../profile/profile.js';
import { scanRepository } from '../discover/scan.js';
import { findStartupConfigs, parseStartupConfig, resolveScriptPath, type ConfigShape, type StartupConfigFile } from '../discover/startup-config.js';
import { decodePythonSource, parseStrict } from '../lang/python/parser.js';
import { buildModuleModel } from '../lang/python/module-model.js';
import { buildAgentModel } from '../analysis/agent-model.js';
import { agentPortDefaults } from '../analysis/port-defaults.js';
import { compareFindings, type ConfigFinding } from './findings.js';
import { schemaFindings } from './schema.js';
import { secretFindings } from './secrets.js';
import { scriptFindings } from './script-paths.js';
import { portFindings, type CodePorts } from './ports.js';
import { joinFindings, nameFindings, type ConfiguredScript } from './join.js';
import { readRepoSettings } from './settings.js';

export interface CheckedConfig {
  file: string;
  shapes: ConfigShape[];
  agents: number;
}

export interface CheckConfigResult {
  configs: CheckedConfig[];
  findings: ConfigFinding[];
}

export async function checkStartupConfigs(root: string, opts: { profile: Profile; cwd?: string }): Promise<CheckConfigResult> {
  const files = findStartupConfigs(root);
  if (!files.length) throw new UsageError(`no startup_config*.yaml under ${root}`);
  const settings = readRepoSettings(root);
  const findings: ConfigFinding[] = [];
  const configs: StartupConfigFile[] = [];
  for (const file of files) {
    const config = parseStartupConfig(root, file);
    if (config.doc.errors.length) {
      // A broken document has no reliable structure: report the YAML errors alone.
      for (const e of config.doc.errors) {
        const pos = config.lines.linePos(e.pos[0]);
        findings.push({ file: config.rel, line: pos.line, col: pos.col, severity: 'error', rule: 'yaml', message: `invalid YAML: ${e.message.split('\n')[0]}` });
      }
      continue;
    }
    configs.push(config);
    findings.push(...schemaFindings(config), ...secretFindings(config));
  }

  const scan = await scanRepository(root, opts.profile);
  const scripts: ConfiguredScript[] = [];
  for (const config of configs) {
    for (const agent of config.agents) {
      if (!agent.script) continue;
      const resolved = resolveScriptPath(root, config.file, agent.script.value, opts.cwd ?? process.cwd());
      findings.push(...scriptFindings(root, config, agent, resolved));
      scripts.push({ config, agent, file: resolved.from !== null ? resolved.rel : null });
    }
  }
  findings.push(...joinFindings(scan, scripts), ...nameFindings(configs));

  const codePorts = codePortReader(root, scan.agents, opts.profile);
  const byEntry = new Map(scripts.map((s) => [s.agent, s.file]));
  findings.push(
    ...portFindings(configs, {
      range: settings.portRange,
      code: (_config, agent) => {
        const file = byEntry.get(agent);
        return file ? codePorts(file) : null;
      },
    }),
  );
  const checked = configs
    .map((c): CheckedConfig => ({ file: c.rel, shapes: c.shapes, agents: c.agents.length }))
    .concat(files.filter((f) => !configs.some((c) => c.file === f)).map((f) => ({ file: path.relative(root, f).split(path.sep).join('/'), shapes: [], agents: 0 })));
  return { configs: checked.sort((a, b) => a.file.localeCompare(b.file)), findings: findings.sort(compareFindings) };
}

/** The default ports of the Python agent a configured script holds (its legacy file or its `_v2`). */
function codePortReader(root: string, agents: AgentInfo[], profile: Profile): (file: string) => CodePorts | null {
  const passThrough = profile.python?.super_call.pass_through ?? {};
  const names = {
    port: [...new Set(['port', ...(passThrough.port ?? [])])],
    health: [...new Set([...(passThrough.health_check_port ?? []), 'health_check_port'])],
  };
  const cache = new Map<string, CodePorts | null>();
  return (file) => {
    if (cache.has(file)) return cache.get(file)!;
    const agent = agents.find((a) => a.file === file || a.output === file);
    let result: CodePorts | null = null;
    if (agent?.language === 'python') {
      try {
        const source = decodePythonSource(readFileSync(path.join(root, file)), file);
        const module = buildModuleModel(source, parseStrict(source, file));
        const cls = module.classes.find((c) => c.name === agent.class);
        if (cls) result = { file, defaults: agentPortDefaults({ agent: buildAgentModel(cls), module }, names) };
      } catch {
        result = null; // an unreadable file is the scan's finding, not a port finding
      }
    }
    cache.set(file, result);
    return result;
  };
}
