// How an agent is started for validation: the language adapter's default
// command, or a template from <root>/.migrate/config.yaml, e.g.
//   launch:
//     python: "python3 {file} --port {port} --health-port {health_port}"
// Ports and names may be passed as arguments; URLs (which may carry
// credentials) only ever travel in the environment.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML, { isMap, isScalar, LineCounter } from 'yaml';
import { UsageError } from '../core/errors.js';
import type { Language } from '../core/types.js';
import type { LaunchCommand } from '../pipeline/language.js';

export const PLACEHOLDERS = ['file', 'root', 'port', 'health_port', 'name'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export interface LaunchTemplate {
  template: string;
  /** Where it came from, `file:line`, for error messages. */
  origin: string;
}

export function configPath(root: string): string {
  return path.join(root, '.migrate', 'config.yaml');
}

/** The launch template for a language from the repository's config, if any. */
export function readLaunchTemplate(root: string, language: Language): LaunchTemplate | undefined {
  const file = configPath(root);
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new UsageError(`${file}:${e.linePos?.[0]?.line ?? 1}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const launch = doc.get('launch', true);
  if (launch === undefined || launch === null) return undefined;
  if (!isMap(launch)) throw new UsageError(`${file}:${lineOf(launch, lineCounter)}: "launch" must be a mapping of language to command template`);
  const node = launch.get(language, true);
  if (node === undefined || node === null) return undefined;
  const origin = `${file}:${lineOf(node, lineCounter)}`;
  if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') {
    throw new UsageError(`${origin}: launch.${language} must be a command template string`);
  }
  const template = node.value;
  parseTemplate(template, origin, language); // fail early, at read time
  return { template, origin };
}

function lineOf(node: unknown, lc: LineCounter): number {
  const range = (node as { range?: [number, number, number] })?.range;
  return range ? lc.linePos(range[0]).line : 1;
}

/** Split a template into words (single and double quotes group), checking placeholders. */
export function parseTemplate(template: string, origin: string, language: Language = 'python'): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (const ch of template) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`${origin}: launch.${language}: unterminated ${quote} quote`);
  if (inWord) words.push(current);
  for (const w of words) {
    for (const m of w.matchAll(/\{([^}]*)\}/g)) {
      if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
        throw new UsageError(
          `${origin}: launch.${language}: unknown placeholder {${m[1]}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`,
        );
      }
    }
  }
  if (words.length === 0) throw new UsageError(`${origin}: launch.${language} is empty`);
  return words;
}

export interface LaunchValues {
  file: string;
  root: string;
  port: number;
  health_port: number;
  name: string;
}

/** Apply a template (when there is one) to the adapter's default command. */
export function applyTemplate(base: LaunchCommand, tpl: LaunchTemplate | undefined, values: LaunchValues, language: Language): LaunchCommand {
  if (!tpl) return base;
  const words = parseTemplate(tpl.template, tpl.origin, language).map((w) =>
    w.replace(/\{([a-z_]+)\}/g, (_, key: Placeholder) => String(values[key])),
  );
  return { ...base, command: words[0]!, args: words.slice(1) };
}

export interface ContractEnv {
  name: string;
  port: number;
  healthPort: number;
  registryUrl: string;
  metricsUrl: string;
}

/** The environment variables of the runtime contract (DESIGN.md). */
export function contractEnv(c: ContractEnv): Record<string, string> {
  const env: Record<string, string> = {
    AGENT_NAME: c.name,
    AGENT_PORT: String(c.port),
    HEALTH_CHECK_PORT: String(c.healthPort),
    AGENT_HOST: '127.0.0.1',
    REGISTRY_URL: c.registryUrl,
    // Short push interval: validation wants the first samples within a second or two.
    METRICS_PUSH_INTERVAL: '1',
  };
  if (c.metricsUrl) env.METRICS_URL = c.metricsUrl;
  return env;
}
