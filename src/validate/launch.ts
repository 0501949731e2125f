// How an agent is started for validation: the language adapter's default
// command, or a template from <root>/.migrate/config.yaml, e.g.
//   launch:
//     python: "python3 {file} --port {port} --health-port {health_port}"
// Ports and names may be passed as arguments; URLs (which may carry
// credentials) only ever travel in the environment.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML, { isMap, isScalar, LineCounter } from '../core/yaml.js';
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

/** A value as one shell word: single-quoted, with its own single quotes escaped. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

const SHELLS = /^(?:.*\/)?(?:sh|bash|dash|zsh|ksh|mksh|ash|busybox)$/;

/** Indexes of the words a shell will parse as a script: the argument of `-c` (or `-ec`, `-lc`, ...) after a shell. */
function shellScriptWords(words: string[]): Set<number> {
  const out = new Set<number>();
  let shell = false;
  for (let i = 0; i < words.length; i++) {
    if (SHELLS.test(words[i]!)) shell = true;
    else if (shell && /^-[a-zA-Z]*c[a-zA-Z]*$/.test(words[i]!) && i + 1 < words.length) out.add(i + 1);
  }
  return out;
}

/**
 * Apply a template (when there is one) to the adapter's default command. A placeholder
 * in a word that becomes one argument needs no quoting (no shell sees it); inside a
 * `sh -c '...'` script it is shell-quoted, so a path with spaces, quotes or `$(...)`
 * stays one word and runs nothing.
 */
export function applyTemplate(base: LaunchCommand, tpl: LaunchTemplate | undefined, values: LaunchValues, language: Language): LaunchCommand {
  if (!tpl) return base;
  const parsed = parseTemplate(tpl.template, tpl.origin, language);
  const scripts = shellScriptWords(parsed);
  const words = parsed.map((w, i) =>
    scripts.has(i) ? fillScript(w, values) : w.replace(/\{([a-z_]+)\}/g, (_, key: Placeholder) => String(values[key])),
  );
  return { ...base, command: words[0]!, args: words.slice(1) };
}

/** Fill placeholders of a shell script, each escaped for the quoting it stands in ('...', "..." or none). */
function fillScript(script: string, values: LaunchValues): string {
  let out = '';
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < script.length; i++) {
    const ch = script[i]!;
    const m = ch === '{' ? /^\{([a-z_]+)\}/.exec(script.slice(i)) : null;
    if (m && (PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
      const v = String(values[m[1] as Placeholder]);
      out += quote === "'" ? v.replace(/'/g, `'\\''`) : quote === '"' ? v.replace(/([\\"$`])/g, '\\$1') : shellQuote(v);
      i += m[0].length - 1;
      continue;
    }
    if (quote === null && ch === '\\') {
      out += ch + (script[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === "'" && quote !== '"') quote = quote === "'" ? null : "'";
    else if (ch === '"' && quote !== "'") quote = quote === '"' ? null : '"';
    out += ch;
  }
  return out;
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
