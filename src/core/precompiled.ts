// Schema validators precompiled at build time (scripts/build-validators.mjs writes Ajv's
// standalone code under dist/src/validators/), so a CLI start neither loads Ajv (some 180
// modules) nor compiles a schema. A generated module is used only while the schema file's text
// still has the hash it was made from; otherwise (an edited schema, the sources run under
// vitest) the caller compiles with Ajv as before, loaded only then. Both give the same errors:
// the generated code is what Ajv compiles for the same schema and options.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
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

/** The `ajv` package, loaded when a schema is compiled at run time. */
export function loadAjv(): typeof import('ajv') {
  return require('ajv') as typeof import('ajv');
}

/** The `ajv/dist/2020.js` entry (draft 2020-12), loaded when a schema is compiled at run time. */
export function loadAjv2020(): typeof import('ajv/dist/2020.js') {
  return require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
}
