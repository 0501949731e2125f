// Loading fixtures/python/<case>/ into a temporary repository the way the tool sees a
// real one: the production-like base under common/core/, extra files from repo/, and
// input.py at the path case.yaml names.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

export const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/python');
export const FIXTURE_BASE = path.join(FIXTURES, '_base');

export interface CaseSpec {
  description?: string;
  path?: string;
  scan?: { status: 'legacy' | 'migrated' | 'skipped'; class?: string; reason_contains?: string };
  expect?: {
    removed?: string[];
    kept?: string[];
    kept_for_review?: string[];
    /** Resolved hazards: each text must appear in one of the result's warnings. */
    warnings_contain?: string[];
    error_contains?: string;
    error_line?: number;
    /** The rewrite itself refuses the agent (a port clash): its one-line error, and no expected.py. */
    rewrite_error_contains?: string;
    rewrite_error_line?: number;
  };
}

export interface FixtureCase {
  name: string;
  dir: string;
  spec: CaseSpec;
  /** Path of the input inside the temporary repository. */
  rel: string;
  expectedFile: string;
}

export function listCases(): FixtureCase[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('_') && existsSync(path.join(FIXTURES, d.name, 'input.py')))
    .map((d) => {
      const dir = path.join(FIXTURES, d.name);
      const specFile = path.join(dir, 'case.yaml');
      const spec: CaseSpec = existsSync(specFile) ? YAML.parse(readFileSync(specFile, 'utf8')) ?? {} : {};
      return { name: d.name, dir, spec, rel: spec.path ?? `agents/${d.name.replace(/-/g, '_')}.py`, expectedFile: path.join(dir, 'expected.py') };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A fresh repository holding the fixture base, the case's extra files and its input. */
export function materialize(c: FixtureCase, into?: string): string {
  const root = into ?? mkdtempSync(path.join(os.tmpdir(), `migrate-fx-${c.name}-`));
  cpSync(FIXTURE_BASE, root, { recursive: true, filter: (src) => !src.endsWith('README.md') });
  const extra = path.join(c.dir, 'repo');
  if (existsSync(extra)) cpSync(extra, root, { recursive: true });
  const dest = path.join(root, c.rel);
  mkdirSync(path.dirname(dest), { recursive: true });
  writeFileSync(dest, readFileSync(path.join(c.dir, 'input.py')));
  return root;
}

/** Every case in one repository (for CLI tests of scan and run --all). */
export function materializeAll(cases: FixtureCase[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-fx-all-'));
  for (const c of cases) materialize(c, root);
  return root;
}
