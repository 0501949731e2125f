// Credentials in plain text (seed 000, risk H and section VII): keys named like
// *_PASSWORD, *_TOKEN, *_SECRET, *_KEY and URLs carrying a password
// (nats://user:pass@, redis://:pass@). Findings name the key and its place, never the
// value; the same rules tell validation which values to keep out of everything it stores.
import { isMap, isScalar, isSeq } from '../core/yaml.js';
import type { Node } from 'yaml';
import type { StartupConfigFile } from '../discover/startup-config.js';
import { agentAt, at, pathLabel, type ConfigFinding } from './findings.js';

const CREDENTIAL_KEY = /(^|_)(PASSWORD|PASSWD|SECRET|TOKEN)$|_KEY$|^API_?KEY$/i;
/** `${NAME}` or `$NAME`: the value comes from the environment (the seed's remediation). */
const PLACEHOLDER = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$|^\$[A-Za-z_][A-Za-z0-9_]*$/;
/** A reference to a secret kept elsewhere, or the path of a key file, is not the secret. */
const REFERENCE = /^(vault|file|env|secret|secrets|k8s):|^(\/|\.{0,2}\/)?[\w.-]+(\/[\w.-]+)*\.(key|pem|crt|cer|p12|pfx|jks)$/i;
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*):\/\/([^\s:@/]*):([^\s@/]+)@/gi;
/** Shorter values are not redacted from free text: replacing every "ok" would wreck the report. */
export const MIN_REDACTED_LENGTH = 4;

export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEY.test(key);
}

/** True when a credential key's value is the secret itself (not empty, a placeholder or a reference). */
export function isPlainCredential(value: string): boolean {
  const v = value.trim();
  return v !== '' && !PLACEHOLDER.test(v) && !REFERENCE.test(v);
}

/** Schemes of the URLs in `value` that carry a plain password. */
export function urlPasswords(value: string): Array<{ scheme: string; password: string }> {
  const out: Array<{ scheme: string; password: string }> = [];
  for (const m of value.matchAll(URL_PASSWORD)) {
    if (!PLACEHOLDER.test(m[3]!)) out.push({ scheme: m[1]!.toLowerCase(), password: m[3]! });
  }
  return out;
}

/** The values in an environment that must never be shown or stored: credentials and URL passwords. */
export function secretValues(env: Record<string, string | undefined>): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (isCredentialKey(k) && isPlainCredential(v)) out.add(v);
    for (const u of urlPasswords(v)) {
      out.add(u.password);
      try {
        out.add(decodeURIComponent(u.password));
      } catch {
        // not percent-encoded
      }
    }
  }
  return [...out].filter((s) => s.length >= MIN_REDACTED_LENGTH);
}

/** Replace every occurrence of every secret by `***` (longest first, so a secret inside another goes too). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length >= MIN_REDACTED_LENGTH) out = out.split(s).join('***');
  }
  return out;
}

/** Redact every string inside a JSON-like value. */
export function redactDeep<T>(value: T, secrets: readonly string[]): T {
  if (!secrets.length) return value;
  if (typeof value === 'string') return redact(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, secrets)])) as T;
  }
  return value;
}

/** Plain-text credentials anywhere in a config, by key path and position. */
export function secretFindings(config: StartupConfigFile): ConfigFinding[] {
  const out: ConfigFinding[] = [];
  const visit = (node: unknown, segments: string[]) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        const where = [...segments, key];
        const v = pair.value;
        if (isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number')) {
          const text = String(v.value);
          const agent = agentAt(config, where);
          const label = pathLabel(where);
          if (isCredentialKey(key) && isPlainCredential(text)) {
            out.push(
              at(config, pair.key as Node, 'error', 'plain-text-secret',
                `plain-text credential in ${label}${agent ? ` (agent ${agent})` : ''}: inject it from a secret store and write \${${key}} here`, agent),
            );
          } else {
            for (const scheme of new Set(urlPasswords(text).map((u) => u.scheme))) {
              out.push(
                at(config, pair.key as Node, 'error', 'plain-text-secret',
                  `plain-text password in the ${scheme}:// URL of ${label}${agent ? ` (agent ${agent})` : ''}: take the password out of the URL and inject it from a secret store`, agent),
              );
            }
          }
        } else {
          visit(v, where);
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...segments, String(i)]));
    }
  };
  visit(config.doc.contents, []);
  return out;
}
