// Records (schema, deterministic text), sharding and the progress reporter.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterEach, describe, expect, it } from 'vitest';
import { MigrateError, UsageError } from '../src/core/errors.js';
import { TOOL_VERSION } from '../src/core/version.js';
import {
  buildRecord,
  legacyOf,
  listRecords,
  readRecord,
  recordPath,
  serializeRecord,
  serializeRevertRecord,
  sha256,
  v2Sibling,
  writeRecord,
  type MigrationRecord,
} from '../src/record/migration-log.js';
import { parseShard, shardBranch, shardOf } from '../src/pipeline/shard.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-log-'));
  dirs.push(root);
  mkdirSync(path.join(root, 'agents'));
  writeFileSync(path.join(root, 'agents/w.py'), 'class WeatherAgent:\n    pass\n');
  writeFileSync(path.join(root, 'agents/w_v2.py'), 'class WeatherAgent(BaseAgent):\n    pass\n');
  return root;
}

function record(root: string, over: Partial<Parameters<typeof buildRecord>[1]> = {}): MigrationRecord {
  return buildRecord(root, {
    agent: 'WeatherAgent',
    language: 'python',
    profile: 'base-agent',
    source: 'agents/w.py',
    output: path.join(root, 'agents/w_v2.py'), // absolute inside the root is accepted
    removed: ['_health_loop'],
    kept_for_review: [{ reason: 'used by poll()', line: 7, symbol: '_retry' }],
    warnings: ['kept signal handler'],
    validation: {
      ports: { metrics: 2, health: 1 },
      checks: [{ detail: 'ok', ms: 3.25, ok: true, name: 'health' }],
      ms: 10,
      ok: true,
    },
    migratedAt: new Date('2026-11-21T04:00:00.000Z'),
    ...over,
  });
}

describe('records', () => {
  it('hold hashes of the files on disk, the tool version and relative POSIX paths', () => {
    const root = tree();
    const r = record(root);
    expect(r.source).toEqual({ path: 'agents/w.py', sha256: sha256(readFileSync(path.join(root, 'agents/w.py'))) });
    expect(r.output.path).toBe('agents/w_v2.py');
    expect(r.output.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.output.sha256).not.toBe(r.source.sha256);
    expect(r.tool_version).toBe(TOOL_VERSION);
    expect(r.migrated_at).toBe('2026-11-21T04:00:00.000Z');
    expect(() => record(root, { source: '../outside.py' })).toThrow(/outside the root/);
  });

  it('serialise deterministically: schema key order, 2-space indent, trailing newline', () => {
    const root = tree();
    const text = serializeRecord(record(root));
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe('  "record_version": 1,');
    const top = Object.keys(JSON.parse(text));
    expect(top).toEqual([
      'record_version', 'agent', 'language', 'profile', 'tool_version', 'source', 'output',
      'removed', 'kept_for_review', 'warnings', 'validation', 'migrated_at',
    ]);
    const parsed = JSON.parse(text);
    expect(Object.keys(parsed.kept_for_review[0])).toEqual(['symbol', 'line', 'reason']);
    expect(Object.keys(parsed.validation)).toEqual(['ok', 'ms', 'checks', 'ports']);
    expect(Object.keys(parsed.validation.checks[0])).toEqual(['name', 'ok', 'ms', 'detail']);
    expect(Object.keys(parsed.validation.ports)).toEqual(['health', 'metrics']);
    // same content in any key order gives the same bytes
    const shuffled = JSON.parse(text, function (this: unknown, _k, v) {
      return v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v;
    });
    expect(Object.keys(shuffled)[0]).toBe('migrated_at');
    expect(serializeRecord(shuffled)).toBe(text);
  });

  it('are checked against migration-log/record.schema.json (draft-07, ajv) and violations throw', () => {
    const root = tree();
    const schema = JSON.parse(readFileSync(new URL('../migration-log/record.schema.json', import.meta.url), 'utf8'));
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    const validate = new Ajv().compile(schema);
    const good = JSON.parse(serializeRecord(record(root)));
    expect(validate(good)).toBe(true);
    expect(validate({ ...good, validation: null })).toBe(true);
    expect(validate({ ...good, commit: 'abc' })).toBe(false);
    expect(validate({ ...good, source: { path: '/abs/w.py', sha256: good.source.sha256 } })).toBe(false);

    expect(() => serializeRecord({ ...record(root), source: { path: 'agents/w.py', sha256: 'nothex' } })).toThrow(
      /invalid migration record: \/source\/sha256 must match pattern/,
    );
    expect(() => serializeRecord({ ...record(root), language: 'ruby' as never })).toThrow(/\/language/);
    expect(() => serializeRecord({ ...record(root), kept_for_review: [{ symbol: 'x', line: 0, reason: 'r' }] })).toThrow(
      /\/kept_for_review\/0\/line/,
    );
    expect(() =>
      serializeRevertRecord({
        record_version: 1, agent: 'WeatherAgent', reverted_commit: 'not-a-sha',
        reverted_at: '2026-11-21T04:00:00.000Z', tool_version: '0.1.0', files: [],
      }),
    ).toThrow(/invalid revert record: \/reverted_commit/);
  });

  it('are written one file per agent and read back; a broken record names its file', () => {
    const root = tree();
    const rel = writeRecord(root, record(root));
    expect(rel).toBe('migration-log/WeatherAgent.json');
    expect(recordPath('WeatherAgent')).toBe(rel);
    expect(readRecord(root, 'WeatherAgent')).toEqual(JSON.parse(serializeRecord(record(root))));
    expect(readRecord(root, 'NoSuchAgent')).toBeNull();
    writeFileSync(path.join(root, 'migration-log/README.md'), '# log\n');
    writeFileSync(path.join(root, 'migration-log/record.schema.json'), '{}\n');
    expect(listRecords(root).map((r) => r.agent)).toEqual(['WeatherAgent']);
    writeFileSync(path.join(root, 'migration-log/Broken.json'), '{"agent": ');
    const err = (() => {
      try {
        listRecords(root);
      } catch (e) {
        return e as MigrateError;
      }
    })();
    expect(err).toBeInstanceOf(MigrateError);
    expect(err!.oneLine()).toMatch(/^migration-log\/Broken\.json: not valid JSON/);
    expect(() => recordPath('../etc')).toThrow(UsageError);
  });

  it('pair legacy and _v2 names', () => {
    expect(v2Sibling('agents/w.py')).toBe('agents/w_v2.py');
    expect(v2Sibling('src/a.agent.ts')).toBe('src/a.agent_v2.ts');
    expect(legacyOf('agents/w_v2.py')).toBe('agents/w.py');
    expect(legacyOf('agents/w.py')).toBeNull();
  });
});

describe('shards', () => {
  const names = Array.from({ length: 200 }, (_, i) => `Agent${i}`);

  it('cover every item exactly once, keep the input order, and are deterministic', () => {
    const n = 4;
    const shards = Array.from({ length: n }, (_, i) => shardOf(names, (s) => s, `${i + 1}/${n}`));
    const all = shards.flat();
    expect(all.length).toBe(names.length);
    expect(new Set(all).size).toBe(names.length);
    for (const s of shards) {
      expect(s.length).toBeGreaterThan(20); // a hash spreads 200 names, none is starved
      expect(s).toEqual(names.filter((x) => s.includes(x)));
    }
    expect(shardOf(names, (s) => s, '3/4')).toEqual(shards[2]);
    expect(shardOf(names, (s) => s, '1/1')).toEqual(names);
  });

  it('do not reshuffle existing items when one is added', () => {
    const before = Array.from({ length: 5 }, (_, i) => shardOf(names, (s) => s, `${i + 1}/5`));
    const more = [...names, 'BrandNewAgent'];
    const after = Array.from({ length: 5 }, (_, i) => shardOf(more, (s) => s, `${i + 1}/5`));
    for (let i = 0; i < 5; i++) expect(after[i].filter((x) => x !== 'BrandNewAgent')).toEqual(before[i]);
  });

  it('reject bad specs with a usage error and name branches', () => {
    for (const bad of ['0/3', '4/3', 'x', '1/0', '1', '-1/3', '1/3/4', '']) {
      expect(() => shardOf(names, (s) => s, bad)).toThrow(UsageError);
    }
    expect(() => parseShard('4/3')).toThrow('--shard takes i/n with 1 <= i <= n (for example 1/4), not "4/3"');
    expect(parseShard(' 2 / 3 ')).toEqual({ index: 2, count: 3 });
    expect(shardBranch('1/4')).toBe('migrate/shard-1-of-4');
  });
});

