// The startup-config JSON schema (seed 000, section VI) and its findings: ajv
// (draft 2020-12) validates the parsed document, and every error is placed at the
// YAML node it is about, the key itself for unknown and missing keys.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { isMap, isPair, isSeq } from '../core/yaml.js';
import type { Node } from 'yaml';
import { templatesDir } from '../profile/profile.js';
import type { StartupConfigFile } from '../discover/startup-config.js';
import { ajvFor, precompiled, type SchemaValidator } from '../core/precompiled.js';
import { agentAt, at, pathLabel, type ConfigFinding } from './findings.js';

export function schemaPath(): string {
  return path.join(templatesDir(), 'config', 'startup-config.schema.json');
}

/** The schema's text as shipped (what `check-config --schema` prints). */
export function schemaText(): string {
  return readFileSync(schemaPath(), 'utf8');
}

type Validate = SchemaValidator & { errors?: ErrorObject[] | null };
let validator: Validate | undefined;

function compiled(): Validate {
  if (!validator) {
    // Generated at build time from this schema (scripts/build-validators.mjs), or compiled now.
    const text = schemaText();
    validator = (precompiled('startup-config', text)?.default as Validate | undefined) ?? ajvFor('startup-config').compile(JSON.parse(text));
  }
  return validator;
}

export function schemaFindings(config: StartupConfigFile): ConfigFinding[] {
  const validate = compiled();
  if (validate(config.doc.toJS({ maxAliasCount: 1000 }))) return [];
  const out: ConfigFinding[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    const f = findingOf(config, e);
    const key = `${f.line}:${f.col}:${f.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  return out;
}

function segmentsOf(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The node at a JSON pointer, and the key node of the pair holding it (when it is a mapping value). */
function locate(config: StartupConfigFile, segments: string[]): { node?: Node; key?: Node } {
  let node: unknown = config.doc.contents;
  let key: Node | undefined;
  for (const s of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && String((p.key as { value?: unknown })?.value ?? p.key) === s);
      if (!pair) return { node: node as Node, key };
      key = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node)) {
      key = undefined;
      node = node.items[Number(s)];
    } else {
      break;
    }
  }
  return { node: (node as Node | null) ?? undefined, key };
}

function findingOf(config: StartupConfigFile, e: ErrorObject): ConfigFinding {
  const segments = segmentsOf(e.instancePath);
  const here = locate(config, segments);
  const agent = agentAt(config, segments);
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') {
    const extra = String(p.additionalProperty);
    const child = locate(config, [...segments, extra]);
    return at(config, child.key ?? here.node, 'error', 'schema', `${pathLabel([...segments, extra])}: key not allowed by the schema`, agent);
  }
  if (e.keyword === 'required') {
    return at(config, here.key ?? here.node, 'error', 'schema', `${pathLabel(segments)}: missing required key ${String(p.missingProperty)}`, agent);
  }
  return at(config, here.node ?? here.key, 'error', 'schema', `${pathLabel(segments)}: ${e.message ?? 'is invalid'}`, agent);
}
