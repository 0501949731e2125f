// The seed-001 fixture suite for the hardened-agent-base profile: every case in
// fixtures/python-hardened/ is scanned and rewritten against the reference
// HardenedAgentBase (templates/runtime/python/amoskys, copied into each temporary
// repository); the output equals expected.py byte for byte, parses, byte-compiles, is a
// fixed point, and meets the case's semantic expectations. One migrated agent is then
// validated for real with `migrate validate --profile hardened-agent-base`.
// UPDATE_FIXTURES=1 writes expected.py from the current output (review the diff!).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { pythonAdapter } from '../src/lang/python/adapter.js';
import { parsePython, firstSyntaxError, decodePythonSource } from '../src/lang/python/parser.js';
import { pyCompileAll } from '../src/lang/python/py-compile.js';
import { ReferenceIndex } from '../src/analysis/references.js';
import { scanRepository } from '../src/discover/scan.js';
import type { AgentInfo, RewriteOutcome } from '../src/core/types.js';
import { validateCommand } from '../src/commands/validate.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/python-hardened');
const RUNTIME_BASE = path.join(templatesDir(), 'runtime', 'python', 'amoskys');
const profile = loadProfile('hardened-agent-base');
const update = process.env.UPDATE_FIXTURES === '1';
const roots: string[] = [];
const toCompile: Array<{ name: string; text: string }> = [];

interface Spec {
  description?: string;
  path?: string;
  scan?: { status: 'legacy' | 'migrated'; class?: string };
  /** Rewrite even though the scan calls it migrated (an agent on an older base of the same name). */
  rewrite_migrated?: boolean;
  expect?: {
    removed?: string[];
    kept?: string[];
    /** Symbols that must be reported; an empty list means nothing may be reported. */
    kept_for_review?: string[];
    output_contains?: string[];
    output_lacks?: string[];
    warnings_contain?: string[];
    error_contains?: string;
    error_line?: number;
  };
}

interface Case {
  name: string;
  dir: string;
  spec: Spec;
  rel: string;
  expectedFile: string;
}

const cases: Case[] = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('_') && existsSync(path.join(FIXTURES, d.name, 'input.py')))
  .map((d) => {
    const dir = path.join(FIXTURES, d.name);
    const spec: Spec = YAML.parse(readFileSync(path.join(dir, 'case.yaml'), 'utf8')) ?? {};
    return { name: d.name, dir, spec, rel: spec.path ?? `agents/${d.name.replace(/-/g, '_')}.py`, expectedFile: path.join(dir, 'expected.py') };
  })
  .sort((a, b) => a.name.localeCompare(b.name));

/** A fresh repository: the reference HardenedAgentBase where the profile imports it from, the case's extra files, its input. */
function materialize(c: Case): string {
  const root = mkdtempSync(path.join(os.tmpdir(), `migrate-hx-${c.name}-`));
  roots.push(root);
  cpSync(RUNTIME_BASE, path.join(root, 'amoskys'), { recursive: true });
  const extra = path.join(c.dir, 'repo');
  if (existsSync(extra)) cpSync(extra, root, { recursive: true });
  const dest = path.join(root, c.rel);
  mkdirSync(path.dirname(dest), { recursive: true });
  writeFileSync(dest, readFileSync(path.join(c.dir, 'input.py')));
  return root;
}

async function migrate(c: Case): Promise<{ agent?: AgentInfo; outcome?: RewriteOutcome; root: string; error?: string }> {
  const root = materialize(c);
  const scan = await scanRepository(root, profile);
  const agent = scan.agents.find((a) => a.file === c.rel);
  if (!agent) {
    const skipped = scan.skipped.find((s) => s.file === c.rel);
    return { root, error: skipped?.reason };
  }
  const source = decodePythonSource(readFileSync(path.join(root, c.rel)), c.rel);
  const asLegacy = c.spec.rewrite_migrated ? { ...agent, status: 'legacy' as const } : agent;
  const outcome = await pythonAdapter.rewrite({ root, file: path.join(root, c.rel), source, agent: asLegacy, profile });
  return { agent, outcome, root, error: outcome.status === 'failed' ? outcome.error : undefined };
}

function stillDefined(output: string, name: string): boolean {
  return new RegExp(`\\b(def|class)\\s+${name}\\b|self\\.${name}\\s*(:[^=\\n]+)?=[^=]`).test(output);
}

function stillMentioned(output: string, name: string): boolean {
  return new ReferenceIndex(parsePython(output).rootNode).of(name).length > 0 || stillDefined(output, name);
}

afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('python fixtures, hardened-agent-base profile (seed 001)', () => {
  it('has at least 5 realistic cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(5);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const r = await migrate(c);
      const spec = c.spec;
      const ex = spec.expect ?? {};
      if (ex.error_contains) {
        expect(r.agent, `${c.rel} must be refused`).toBeUndefined();
        expect(r.error ?? '').toContain(ex.error_contains);
        expect(r.error ?? '').toContain(c.rel);
        if (ex.error_line) expect(r.error ?? '').toContain(`${c.rel}:${ex.error_line}`);
        expect(existsSync(c.expectedFile)).toBe(false);
        return;
      }
      expect(r.agent?.class, `${c.rel}: agent class`).toBe(spec.scan?.class);
      expect(r.agent?.status).toBe(spec.scan?.status);
      expect(r.error ?? null).toBeNull();
      const output = r.outcome!.output!;
      if (update) writeFileSync(c.expectedFile, output);
      expect(output).toBe(readFileSync(c.expectedFile, 'utf8'));
      expect(firstSyntaxError(parsePython(output))).toBeNull();
      const again = await pythonAdapter.rewrite({
        root: r.root,
        file: path.join(r.root, c.rel),
        source: output,
        agent: { ...r.agent!, status: 'legacy' },
        profile,
      });
      expect(again.error ?? null).toBeNull();
      expect(again.output, 'idempotent').toBe(output);
      toCompile.push({ name: `${c.name}/expected.py`, text: output });
      for (const name of ex.removed ?? []) {
        expect(stillDefined(output, name), `${name} must be removed`).toBe(false);
        expect(r.outcome!.removed.some((s) => s === name || s.startsWith(`${name} `)), `${name} must be listed as removed`).toBe(true);
      }
      for (const name of ex.kept ?? []) expect(stillMentioned(output, name), `${name} must be kept`).toBe(true);
      const reported = r.outcome!.kept_for_review.map((k) => k.symbol);
      if (ex.kept_for_review) {
        if (ex.kept_for_review.length === 0) expect(r.outcome!.kept_for_review).toEqual([]);
        for (const name of ex.kept_for_review) expect(reported, `${name} must be reported for review`).toContain(name);
        for (const k of r.outcome!.kept_for_review) {
          expect(k.line).toBeGreaterThan(0);
          expect(k.reason.length).toBeGreaterThan(10);
        }
      }
      for (const s of ex.output_contains ?? []) expect(output).toContain(s);
      for (const s of ex.output_lacks ?? []) expect(output).not.toContain(s);
      for (const w of ex.warnings_contain ?? []) expect(r.outcome!.warnings.join('\n')).toContain(w);
    });
  }

  it('every output byte-compiles (one python3 process for the suite)', async () => {
    const errors = await pyCompileAll(toCompile);
    expect(errors.filter(Boolean)).toEqual([]);
  });

  it('the base-agent profile leaves the seed-001 concerns alone (its remove list does not name them)', () => {
    const base = loadProfile('base-agent');
    for (const concern of ['publish', 'queue', 'retry', 'collect_loop', 'old_base']) expect(base.python!.remove).not.toContain(concern);
    expect(profile.python!.remove).toEqual(expect.arrayContaining(['publish', 'queue', 'collect_loop', 'old_base']));
  });
});
