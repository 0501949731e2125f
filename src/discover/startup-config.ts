// Startup configs in the fleet's two schemas (seed 000): MainPC's nested
// `agent_groups: {group: {Name: {script_path, port, ...}}}` and PC2's flat
// `pc2_services: [{name, script_path, port, ...}]`. They give agents their names,
// and `check-config` / `promote` read them with their YAML nodes so every finding
// and every edit has an exact source position.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { listSourceFiles } from './files.js';
import YAML, { isMap, isScalar, isSeq, LineCounter } from '../core/yaml.js';
import type { Document, Node, Pair, Scalar, YAMLMap } from 'yaml';

/** One agent entry of a startup config, as the scan uses it. */
export interface ConfigEntry {
  name: string;
  /** Script path relative to the repository root. */
  script: string;
  port?: number;
  health_check_port?: number;
  config: string;
}

/** Where the agent lists live: the nested MainPC mapping and the flat lists. */
export type ConfigShape = 'agent_groups' | 'pc2_services' | 'services' | 'agents';
const FLAT_LISTS: ConfigShape[] = ['pc2_services', 'services', 'agents'];

export interface Located<T> {
  value: T;
  node: Node;
}

/** One agent entry with the YAML nodes it came from. */
export interface ConfigAgent {
  name: string;
  shape: ConfigShape;
  /** agent_groups: the group name. */
  group?: string;
  /** Flat lists: the index in the list. */
  index?: number;
  /** Path of the entry in the document, e.g. ['agent_groups', 'core', 'KVCacheAgent'] or ['pc2_services', 3]. */
  path: Array<string | number>;
  /** The entry's mapping. */
  node: YAMLMap;
  /** The key of a nested entry (its name), or the entry itself for list items: where findings about the entry point. */
  anchor: Node;
  script?: Located<string>;
  port?: Located<number>;
  health_check_port?: Located<number>;
  host?: string;
  dependencies: Array<Located<string>>;
}

export interface StartupConfigFile {
  /** Absolute path. */
  file: string;
  /** POSIX path relative to the root. */
  rel: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
  shapes: ConfigShape[];
  agents: ConfigAgent[];
}

export function isStartupConfig(rel: string): boolean {
  return /(^|\/)startup_config[^/]*\.ya?ml$/.test(rel);
}

/** Every startup config under the root (the files a scan reads: git's view, .gitignore honoured). */
export function findStartupConfigs(root: string): string[] {
  return listSourceFiles(root, ['.yaml', '.yml']).filter((f) => isStartupConfig(path.relative(root, f).split(path.sep).join('/')));
}

/** Parse one startup config; YAML errors stay in `doc.errors` (check-config reports them). */
export function parseStartupConfig(root: string, file: string, text = readFileSync(file, 'utf8')): StartupConfigFile {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, keepSourceTokens: true, prettyErrors: false });
  const rel = path.relative(root, file).split(path.sep).join('/');
  const out: StartupConfigFile = { file, rel, text, doc, lines, shapes: [], agents: [] };
  if (!isMap(doc.contents)) return out;
  const top = doc.contents;
  const groups = top.get('agent_groups', true);
  if (isMap(groups)) {
    out.shapes.push('agent_groups');
    for (const g of groups.items) {
      if (!isMap(g.value)) continue;
      const group = scalarText(g.key);
      for (const pair of g.value.items) {
        const key = scalarText(pair.key);
        if (!isMap(pair.value) || group === undefined || key === undefined) continue;
        const nameField = stringAt(pair.value, 'name');
        out.agents.push(
          entryOf(pair.value, { name: nameField?.value ?? key, shape: 'agent_groups', group, path: ['agent_groups', group, key], anchor: pair.key as Node }),
        );
      }
    }
  }
  for (const shape of FLAT_LISTS) {
    const list = top.get(shape, true);
    if (!isSeq(list)) continue;
    out.shapes.push(shape);
    list.items.forEach((item, index) => {
      if (!isMap(item)) return;
      const name = stringAt(item, 'name')?.value;
      if (!name) return;
      out.agents.push(entryOf(item, { name, shape, index, path: [shape, index], anchor: item }));
    });
  }
  return out;
}

function entryOf(node: YAMLMap, base: Pick<ConfigAgent, 'name' | 'shape' | 'group' | 'index' | 'path' | 'anchor'>): ConfigAgent {
  const deps = node.get('dependencies', true);
  return {
    ...base,
    node,
    script: stringAt(node, 'script_path'),
    port: intAt(node, 'port'),
    health_check_port: intAt(node, 'health_check_port'),
    host: stringAt(node, 'host')?.value,
    dependencies: isSeq(deps)
      ? deps.items.flatMap((d) => (isScalar(d) && typeof d.value === 'string' ? [{ value: d.value, node: d as Node }] : []))
      : [],
  };
}

function scalarText(node: unknown): string | undefined {
  return isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number') ? String(node.value) : undefined;
}

export function stringAt(map: YAMLMap, key: string): Located<string> | undefined {
  const n = map.get(key, true);
  return isScalar(n) && typeof n.value === 'string' ? { value: n.value, node: n as Node } : undefined;
}

function intAt(map: YAMLMap, key: string): Located<number> | undefined {
  const n = map.get(key, true);
  return isScalar(n) && typeof n.value === 'number' && Number.isInteger(n.value) ? { value: n.value, node: n as Node } : undefined;
}

/** The key/value pair of `key` in a mapping (for pointing at a key rather than its value). */
export function pairOf(map: YAMLMap, key: string): Pair<Scalar, unknown> | undefined {
  return map.items.find((p) => scalarText(p.key) === key) as Pair<Scalar, unknown> | undefined;
}

/** 1-based line and column of a node's start. */
export function positionOf(config: StartupConfigFile, node: Node | undefined): { line: number; col: number } {
  const offset = node?.range?.[0] ?? 0;
  return config.lines.linePos(offset);
}

// ---- script paths -----------------------------------------------------------

/** Where a script_path was found: the project root (the seed's PathManager.resolve_script fix) or elsewhere. */
export type ScriptBase = 'root' | 'machine' | 'config' | 'cwd';

export interface ResolvedScript {
  /** Path relative to the root (POSIX) of the file found, or of where it should be under the root. */
  rel: string;
  /** Which base the path resolved from (the root first); null when it exists nowhere. */
  from: ScriptBase | null;
}

/**
 * Resolve a script_path the way seed 000's fix does (against the project root); when it
 * is not there, tell where else it resolves: the config's machine directory (the parent
 * of its `config/` folder, e.g. main_pc_code/, where start_system_v2.py ran from), the
 * config's own directory, or the current directory.
 */
export function resolveScriptPath(root: string, configFile: string, script: string, cwd = process.cwd()): ResolvedScript {
  const absRoot = path.resolve(root);
  const configDir = path.dirname(configFile);
  const bases: Array<[ScriptBase, string]> = [
    ['root', absRoot],
    ['machine', path.dirname(configDir)],
    ['config', configDir],
    ['cwd', path.resolve(cwd)],
  ];
  const relOf = (abs: string) => path.relative(absRoot, abs).split(path.sep).join('/');
  for (const [from, dir] of bases) {
    const abs = path.resolve(dir, script);
    if (isFile(abs) && !relOf(abs).startsWith('..')) return { rel: relOf(abs), from };
  }
  return { rel: relOf(path.resolve(absRoot, script)), from: null };
}

function isFile(abs: string): boolean {
  try {
    return statSync(abs).isFile();
  } catch {
    return false;
  }
}

/** Every agent entry of the given configs (unreadable configs are skipped: check-config reports them). */
export function readStartupConfigs(root: string, files: string[]): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  for (const file of files) {
    let config: StartupConfigFile;
    try {
      config = parseStartupConfig(root, file);
    } catch {
      continue;
    }
    if (config.doc.errors.length) continue;
    for (const a of config.agents) {
      if (!a.script) continue;
      out.push({
        name: a.name,
        // The scan's names must not depend on where migrate was started: no cwd base here.
        script: resolveScriptPath(root, file, a.script.value, root).rel,
        port: a.port?.value,
        health_check_port: a.health_check_port?.value,
        config: config.rel,
      });
    }
  }
  return out;
}
