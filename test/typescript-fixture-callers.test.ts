// The agent's callers in other files keep compiling: for every TypeScript fixture that carries
// other files of its repository (a controller, a subclass, a barrel, a test), those files are
// type-checked twice, once beside the agent's input and once beside its expected output (at the
// agent's path, on the reference base). The output may bring no error the input did not have: a
// member another file calls, overrides or reads was removed or renamed without its caller.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Project } from 'ts-morph';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { templatesDir } from '../src/profile/profile.js';
import { compilerOptionsFor } from '../src/lang/typescript/project.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixturesDir = path.join(here, '..', 'fixtures', 'typescript');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The fixture's other .ts files (not input/expected, not ambient types), relative to it. */
function otherFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, rel))) {
    const r = path.join(rel, name);
    if (statSync(path.join(dir, r)).isDirectory()) {
      if (name !== 'types' && name !== 'node_modules') out.push(...otherFiles(dir, r));
    } else if (/\.tsx?$/.test(name) && !/\.d\.ts$/.test(name) && !(rel === '' && /^(input|expected)\./.test(name))) out.push(r);
  }
  return out;
}

const cases = readdirSync(fixturesDir)
  .filter((d) => existsSync(path.join(fixturesDir, d, 'input.ts')) && existsSync(path.join(fixturesDir, d, 'expected.ts')))
  .map((d) => ({ name: d, dir: path.join(fixturesDir, d), others: otherFiles(path.join(fixturesDir, d)) }))
  .filter((c) => c.others.length > 0);

/**
 * Every case's repository in one temporary folder each, the agent's file holding `pick`'s text;
 * then one program over all of them (one type-check for the lot, not one per case): per case, the
 * `file(code): message` of each error in its other files.
 */
function callerErrors(pick: 'input.ts' | 'expected.ts'): Map<string, string[]> {
  const project = new Project({ compilerOptions: compilerOptionsFor(os.tmpdir()), skipAddingFilesFromTsConfig: true });
  const perCase: Array<{ name: string; root: string; files: import('ts-morph').SourceFile[] }> = [];
  for (const c of cases) {
    const meta = YAML.parse(readFileSync(path.join(c.dir, 'case.yaml'), 'utf8'));
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-callers-'));
    roots.push(root);
    cpSync(c.dir, root, { recursive: true });
    const base = path.join(root, 'common', 'core', 'base-agent.ts');
    if (!existsSync(base)) {
      mkdirSync(path.dirname(base), { recursive: true });
      cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), base);
    }
    const agent = path.join(root, meta.path ?? 'agents/agent.ts');
    mkdirSync(path.dirname(agent), { recursive: true });
    writeFileSync(agent, readFileSync(path.join(c.dir, pick), 'utf8'));
    perCase.push({ name: c.name, root, files: c.others.map((f) => project.addSourceFileAtPath(path.join(root, f))) });
    project.addSourceFileAtPath(agent);
  }
  const program = project.getProgram();
  return new Map(
    perCase.map(({ name, root, files }) => [
      name,
      files.flatMap((sf) =>
        program.getSemanticDiagnostics(sf).map((d) => {
          const m = d.getMessageText();
          return `${path.relative(root, sf.getFilePath())}(${d.getCode()}): ${typeof m === 'string' ? m : m.getMessageText()}`;
        }),
      ),
    ]),
  );
}

let before: Map<string, string[]>;
let after: Map<string, string[]>;
beforeAll(() => {
  before = callerErrors('input.ts');
  after = callerErrors('expected.ts');
}, 300_000);

describe('TypeScript fixtures: other files of the repository keep compiling against the output', () => {
  it('has fixtures with callers in other files', () => {
    expect(cases.length).toBeGreaterThanOrEqual(2);
  });
  for (const c of cases) {
    it(c.name, () => {
      const had = new Set(before.get(c.name));
      expect(after.get(c.name)!.filter((e) => !had.has(e))).toEqual([]);
    });
  }
});
