// The schema validators generated at build time (scripts/build-validators.mjs, used by the CLI
// through src/core/precompiled.ts) must say exactly what Ajv compiling the schema at run time
// says: same verdict, same errors in the same order, for profiles, migration records and
// startup configs; and one made from another schema text is never used.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, beforeAll } from 'vitest';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import YAML from 'yaml';
import { ensureBuilt, REPO } from './helpers/cli.js';

const require = createRequire(import.meta.url);
type V = ((d: unknown) => boolean) & { errors?: unknown[] | null };
const generated = (name: string) => require(path.join(REPO, 'dist', 'src', 'validators', `${name}.cjs`)) as Record<string, V> & { schemaSha256: string };
const verdict = (v: V, data: unknown) => [v(data), structuredClone(v.errors ?? null)];
const text = (rel: string) => readFileSync(path.join(REPO, rel), 'utf8');

describe('precompiled schema validators', () => {
  beforeAll(() => ensureBuilt(), 240_000);

  it('profiles: the same verdict and errors as Ajv', () => {
    const ajv = new Ajv({ allErrors: true }).compile(JSON.parse(text('templates/profiles/profile.schema.json')));
    const pre = generated('profile').default!;
    const base = YAML.parse(text('templates/profiles/base-agent.yaml'));
    const cases = [
      base,
      YAML.parse(text('templates/profiles/hardened-agent-base.yaml')),
      { ...base, name: 5 },
      { ...base, bogus: 1 },
      { ...base, base_class: 'not ok', validation: { registry: 'pigeon', survival_repeats: 0, checks: ['health', 'dance'] } },
      { ...base, from_base: { class: 12, members: { a: 3 } } },
      (({ name: _, ...rest }) => rest)(base),
      [],
      'text',
    ];
    for (const c of cases) expect(verdict(pre, c)).toEqual(verdict(ajv, c));
    expect(cases.filter((c) => !pre(c)).length).toBe(cases.length - 2);
  });

  it('migration and revert records: the same verdict and errors as Ajv', () => {
    const schema = JSON.parse(text('migration-log/record.schema.json'));
    const ajv = new Ajv({ allErrors: true });
    ajv.addSchema(schema);
    const pre = generated('record');
    const cases = [{}, { version: 1 }, { version: 'x', agent: 3 }, [], null];
    for (const [name, id] of [['migration', schema.$id], ['revert', `${schema.$id}#/definitions/revert`]] as const) {
      for (const c of cases) expect(verdict(pre[name]!, c)).toEqual(verdict(ajv.getSchema(id) as V, c));
    }
  });

  it('startup configs: the same verdict and errors as Ajv (draft 2020-12, strict)', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(text('templates/config/startup-config.schema.json')));
    const pre = generated('startup-config').default!;
    const cases = [{}, { global_settings: 3 }, { agent_groups: { g: { a: { script_path: 1, port: 'x', bogus: true } } } }, { nope: [] }, 'text'];
    for (const c of cases) expect(verdict(pre, c)).toEqual(verdict(ajv, c));
  });

  it('is used only for the schema text it was made from', async () => {
    const schema = text('templates/profiles/profile.schema.json');
    // The build's own loader (dist/src/core/precompiled.js finds dist/src/validators/).
    const built = (await import(pathToFileURL(path.join(REPO, 'dist', 'src', 'core', 'precompiled.js')).href)) as typeof import('../src/core/precompiled.js');
    expect(built.precompiled('profile', schema)?.default).toBe(generated('profile').default);
    expect(built.precompiled('profile', schema.replace('"name"', '"title_"'))).toBeNull();
    expect(built.precompiled('no-such-schema', schema)).toBeNull();
    // From src/ (vitest) there is none beside it: the caller compiles with Ajv.
    const { precompiled } = await import('../src/core/precompiled.js');
    expect(precompiled('profile', schema)).toBeNull();
  });

  it('shipped profiles parsed at build time: what YAML.parse gives, for that very text only', async () => {
    const built = (await import(pathToFileURL(path.join(REPO, 'dist', 'src', 'core', 'precompiled.js')).href)) as typeof import('../src/core/precompiled.js');
    const dir = path.join(REPO, 'templates', 'profiles');
    const shipped = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(shipped.length).toBeGreaterThan(1);
    for (const f of shipped) {
      const yaml = readFileSync(path.join(dir, f), 'utf8');
      expect(built.precompiledYaml(yaml), f).toEqual(YAML.parse(yaml));
      // A copy: a caller changing it does not change the next answer.
      (built.precompiledYaml(yaml) as Record<string, unknown>).name = 'changed';
      expect(built.precompiledYaml(yaml), f).toEqual(YAML.parse(yaml));
      expect(built.precompiledYaml(`${yaml}\nextra: 1\n`), f).toBeUndefined();
    }
    // From src/ (vitest) there is none beside it: the caller parses.
    const { precompiledYaml } = await import('../src/core/precompiled.js');
    expect(precompiledYaml(readFileSync(path.join(dir, shipped[0]!), 'utf8'))).toBeUndefined();
  });
});
