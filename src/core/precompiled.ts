// Schema validators precompiled at build time (scripts/build-validators.mjs writes Ajv's
// standalone code under dist/src/validators/), so a CLI start neither loads Ajv (some 180
// modules) nor compiles a schema. A generated module is used only while the schema file's text
// still has the hash it was made from; otherwise (an edited schema, the sources run under
// vitest) the caller compiles with Ajv as before, loaded only then. Both give the same errors:
// the generated code is what Ajv compiles for the same schema and options.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export type SchemaValidator = ((data: unknown) => boolean) & { errors?: unknown[] | null };

/** The validators generated for `name` from exactly this schema text (by export name; `default` for one), or null. */
export function precompiled(name: string, schemaText: string): Record<string, SchemaValidator> | null {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'validators', `${name}.cjs`);
  if (!existsSync(file)) return null;
  try {
    const mod = require(file) as Record<string, SchemaValidator> & { schemaSha256?: string };
    return mod.schemaSha256 === createHash('sha256').update(schemaText).digest('hex') ? mod : null;
  } catch {
    return null;
  }
}

/**
 * How each schema is compiled (Ajv class and options): the one definition both the run-time
 * compilation and scripts/build-validators.mjs use, so a generated validator cannot drift from
 * what the CLI would compile for the same schema.
 */
const AJV_BUILDS = {
  profile: { draft2020: false, options: { allErrors: true } },
  record: { draft2020: false, options: { allErrors: true } },
  'startup-config': { draft2020: true, options: { allErrors: true, strict: true } },
} as const;

/** A new Ajv instance for schema `name` (loaded only then); `extra` adds options (the build's `code.source`). */
export function ajvFor(name: keyof typeof AJV_BUILDS, extra: Record<string, unknown> = {}): import('ajv').default {
  const b = AJV_BUILDS[name];
  return b.draft2020
    ? new (require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js')).Ajv2020({ ...b.options, ...extra })
    : new (require('ajv') as typeof import('ajv')).Ajv({ ...b.options, ...extra });
}

let parsedYaml: Map<string, unknown> | null | undefined;

/**
 * The data of a YAML text parsed at build time (scripts/build-profiles.mjs: the shipped profiles),
 * by the sha256 of the text, or undefined: loading the yaml package and parsing the three
 * profiles every command reads was about 0.11 s of CPU on each start.
 */
export function precompiledYaml(text: string): unknown {
  if (parsedYaml === undefined) {
    parsedYaml = null;
    try {
      const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'validators', 'profiles.json');
      if (existsSync(file)) parsedYaml = new Map(Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>));
    } catch {
      parsedYaml = null; // parsed at run time, as before
    }
  }
  if (!parsedYaml) return undefined;
  // Structured copies: a caller may change what it was given.
  const data = parsedYaml.get(createHash('sha256').update(text).digest('hex'));
  return data === undefined ? undefined : structuredClone(data);
}
