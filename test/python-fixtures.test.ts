// The Python fixture suite: for every case, the scan classifies the file as case.yaml
// says, the rewrite equals expected.py byte for byte, the output parses, byte-compiles
// (one python3 for the whole suite) and is a fixed point of the transforms, and the
// case's semantic expectations (removed / kept / kept for review / error) hold.
// UPDATE_FIXTURES=1 writes expected.py from the current output (review the diff!).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize, type FixtureCase } from './helpers/python-fixtures.js';
import { reviewLineMisses } from './helpers/review-lines.js';
import { loadProfile } from '../src/profile/profile.js';
import { parsePython, firstSyntaxError, decodePythonSource } from '../src/lang/python/parser.js';
import { cliRefusals, rewriteAsCli, verifyRequestAsCli } from './helpers/cli-verify.js';
import type { VerifyRequest } from '../src/pipeline/language.js';
import { ReferenceIndex } from '../src/analysis/references.js';
import { scanRepository } from '../src/discover/scan.js';
import { ParseStore } from '../src/pipeline/parse-store.js';
import type { AgentInfo, RewriteOutcome } from '../src/core/types.js';

const profile = loadProfile('base-agent');
const cases = listCases();
const update = process.env.UPDATE_FIXTURES === '1';
const roots: string[] = [];
const toVerify: Array<{ name: string; req: VerifyRequest }> = [];

afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function migrateCase(c: FixtureCase): Promise<{ agent?: AgentInfo; skippedReason?: string; error?: string; outcome?: RewriteOutcome; root: string; source?: string }> {
  const root = materialize(c);
  roots.push(root);
  // The scan keeps its parses for the rewrite, as `migrate run` does (batch.ts): the input is parsed once.
  const parses = new ParseStore();
  const scan = await scanRepository(root, profile, { parses });
  const agent = scan.agents.find((a) => a.file === c.rel);
  const skipped = scan.skipped.find((s) => s.file === c.rel);
  if (!agent) return { skippedReason: skipped?.reason, error: skipped?.error ? skipped.reason : undefined, root };
  const source = decodePythonSource(readFileSync(path.join(root, c.rel)), c.rel);
  const kept = parses.take(path.join(root, c.rel), source);
  expect(kept, `${c.rel}: the scan's parse is handed to the rewrite`).toBeDefined();
  const outcome = await rewriteAsCli(root, c.rel, source, agent, profile, kept);
  return { agent, outcome, root, source, error: outcome.status === 'failed' ? outcome.error : undefined };
}

/** A definition of the name left in the code: def, class, or an assignment to self.<name>. */
function stillDefined(output: string, name: string): boolean {
  return new RegExp(`\\b(def|class)\\s+${name}\\b|self\\.${name}\\s*(:[^=\\n]+)?=[^=]`).test(output);
}

/** Any mention of the name (definition or use). */
function stillMentioned(refs: ReferenceIndex, output: string, name: string): boolean {
  return refs.of(name).length > 0 || stillDefined(output, name);
}

describe('python fixtures', () => {
  it('has at least 25 realistic cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const r = await migrateCase(c);
      const spec = c.spec;
      // scan classification (a file that must be refused is never classified)
      if (spec.expect?.error_contains) {
        expect(r.agent, `${c.rel} must be refused`).toBeUndefined();
      } else if (spec.scan?.status === 'skipped') {
        expect(r.agent, `${c.rel} must not be an agent`).toBeUndefined();
        if (spec.scan.reason_contains) expect(r.skippedReason ?? '').toContain(spec.scan.reason_contains);
      } else if (spec.scan) {
        expect(r.agent?.class, `${c.rel}: agent class`).toBe(spec.scan.class);
        expect(r.agent?.status).toBe(spec.scan.status);
      }
      // refused inputs
      if (spec.expect?.error_contains) {
        expect(r.error ?? '').toContain(spec.expect.error_contains);
        expect(r.error ?? '').toContain(c.rel);
        if (spec.expect.error_line) expect(r.error ?? '').toContain(`${c.rel}:${spec.expect.error_line}`);
        expect(existsSync(c.expectedFile)).toBe(false);
        return;
      }
      if (!r.outcome) {
        expect(existsSync(c.expectedFile), `${c.name} has no agent but an expected.py`).toBe(false);
        return;
      }
      if (spec.expect?.rewrite_error_contains) {
        // Classified as an agent, then refused by the rewrite (a port the base binds too): nothing written.
        expect(r.outcome.status).toBe('failed');
        expect(r.outcome.output).toBeUndefined();
        expect(r.outcome.error ?? '').toContain(spec.expect.rewrite_error_contains);
        for (const part of spec.expect.rewrite_error_also_contains ?? []) expect(r.outcome.error ?? '').toContain(part);
        if (spec.expect.rewrite_error_line) expect(r.outcome.error ?? '').toContain(`${c.rel}:${spec.expect.rewrite_error_line}:`);
        expect(existsSync(c.expectedFile), `${c.name} is refused; it must not have an expected.py`).toBe(false);
        return;
      }
      expect(r.outcome.error ?? null).toBeNull();
      const output = r.outcome.output!;
      if (r.agent!.status === 'migrated') {
        // Already on the base: `run` reports it unchanged and writes nothing, so no expected.py.
        expect(existsSync(c.expectedFile), `${c.name} is migrated; it must not have an expected.py`).toBe(false);
        return;
      }
      if (update) writeFileSync(c.expectedFile, output);
      expect(existsSync(c.expectedFile), `${c.name}/expected.py`).toBe(true);
      expect(output).toBe(readFileSync(c.expectedFile, 'utf8'));
      const tree = parsePython(output);
      expect(firstSyntaxError(tree)).toBeNull();
      const refs = new ReferenceIndex(tree.rootNode);
      // What `migrate run` checks before it writes, on the rewrite's own trees: the transforms change
      // nothing in their own output (idempotent), and no method that ran in the original is left uncalled.
      expect(r.outcome.idempotency ?? null, 'migrate run would refuse this output').toBeNull();
      toVerify.push({ name: `${c.name}/expected.py`, req: verifyRequestAsCli(r.root, c.rel, r.agent!, profile, r.outcome) });
      for (const name of spec.expect?.removed ?? []) expect(stillDefined(output, name), `${name} must be removed`).toBe(false);
      for (const name of spec.expect?.kept ?? []) expect(stillMentioned(refs, output, name), `${name} must be kept`).toBe(true);
      for (const text of spec.expect?.output_contains ?? []) expect(output, `the output must contain ${text}`).toContain(text);
      for (const text of spec.expect?.output_lacks ?? []) expect(output, `the output must not contain ${text}`).not.toContain(text);
      for (const name of spec.expect?.kept_for_review ?? []) {
        expect(r.outcome.kept_for_review.map((k) => k.symbol), `${name} must be reported for review`).toContain(name);
      }
      // A case that lists what stays for review lists all of it: a resolved hazard is not one.
      if (spec.expect?.kept_for_review) {
        expect([...new Set(r.outcome.kept_for_review.map((k) => k.symbol))].sort(), 'review items').toEqual([...new Set(spec.expect.kept_for_review)].sort());
      }
      // A case naming why `migrate run` writes no _v2 for it: the rewrite says so, for that reason.
      if (spec.expect?.unstartable) expect(r.outcome.unstartable?.because ?? '(not set aside)').toContain(spec.expect.unstartable);
      // Each review item's line, and each line its reason quotes, holds the code it names (a person goes there).
      expect(reviewLineMisses(r.source!, c.rel, r.outcome.kept_for_review)).toEqual([]);
      for (const text of spec.expect?.review_contains ?? []) {
        expect(r.outcome.kept_for_review.some((k) => k.reason.includes(text)), `a review item must say: ${text}\n${r.outcome.kept_for_review.map((k) => `${k.symbol}: ${k.reason}`).join('\n')}`).toBe(true);
      }
      for (const text of spec.expect?.warnings_contain ?? []) {
        expect(r.outcome.warnings.some((w) => w.includes(text)), `a warning must say: ${text}\n${r.outcome.warnings.join('\n')}`).toBe(true);
      }
      for (const text of spec.expect?.warnings_absent ?? []) {
        expect(r.outcome.warnings.filter((w) => w.includes(text)), `no warning may say: ${text}`).toEqual([]);
      }
    }, 180_000); // a 2 MB case on a busy 2-core machine
  }

  it("every output passes the CLI's verify step and byte-compiles (one python3 process for the suite)", async () => {
    expect(toVerify.length).toBeGreaterThan(0);
    expect(await cliRefusals(toVerify)).toBe('');
  });
});
