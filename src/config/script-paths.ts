// script_path against the project root (seed 000, section III and risk A): the
// launcher's bug was `os.path.exists(script_path)` without the project-root prefix, so
// a path worked or not depending on where start_system_v2.py was started from. With the
// fix a path that resolves from the root is right wherever the launcher runs; one that
// resolves only from another directory (the config's machine directory, the current
// directory) is the bug's other half.
import path from 'node:path';
import { type ConfigAgent, type ResolvedScript, type StartupConfigFile } from '../discover/startup-config.js';
import { at, type ConfigFinding } from './findings.js';

const FROM: Record<string, string> = {
  machine: "the config's machine directory",
  config: "the config's own directory",
  cwd: 'the current directory',
};

export function scriptFindings(root: string, config: StartupConfigFile, agent: ConfigAgent, resolved: ResolvedScript): ConfigFinding[] {
  const script = agent.script!;
  const value = script.value;
  const out: ConfigFinding[] = [];
  const f = (severity: ConfigFinding['severity'], rule: string, message: string) => out.push(at(config, script.node, severity, rule, message, agent.name));
  if (path.isAbsolute(value)) {
    f('warning', 'script-absolute', `script_path of ${agent.name} is absolute: it holds only on one machine's layout; write it relative to the project root`);
  }
  if (resolved.from === null) {
    f('error', 'script-missing', `script_path ${value} of ${agent.name} does not exist under the project root (nor from the config's directories or the current directory)`);
    return out;
  }
  if (resolved.from !== 'root') {
    const dir = resolved.from === 'cwd' ? path.relative(root, process.cwd()) : baseDir(root, config, resolved.from);
    f('error', 'script-not-from-root',
      `script_path ${value} of ${agent.name} is missing under the project root and resolves only from ${dir || '.'}/ (${FROM[resolved.from]}); a launcher that resolves against the project root (PathManager.resolve_script) cannot start it: write ${resolved.rel}`);
    return out;
  }
  return out;
}

/** The machine (parent of config/) or config directory relative to the root; null when outside it. */
function baseDir(root: string, config: StartupConfigFile, which: 'machine' | 'config'): string | null {
  const dir = which === 'config' ? path.dirname(config.file) : path.dirname(path.dirname(config.file));
  const rel = path.relative(path.resolve(root), dir).split(path.sep).join('/');
  return rel.startsWith('..') || path.isAbsolute(rel) ? null : rel;
}

