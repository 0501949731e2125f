// Public API kept: the agent's callers in other files keep compiling against its _v2. The
// start-called-elsewhere fixture's controller calls connect(), startPolling(), start() and stop();
// after the rewrite, the controller is type-checked with its import pointed at the _v2 file
// (and, as a control, against an output that lost a delegate, which must fail).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Project } from 'ts-morph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { rewriteTypeScript } from '../src/lang/typescript/rewrite.js';
import { compilerOptionsFor } from '../src/lang/typescript/project.js';
import type { RewriteOutcome } from '../src/core/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'start-called-elsewhere');
const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-public-api-'));
const agent = path.join(root, 'agents', 'report_scheduler.ts');
let outcome: RewriteOutcome;

beforeAll(() => {
  cpSync(path.join(fixture, 'src'), path.join(root, 'src'), { recursive: true });
  cpSync(path.join(fixture, 'test'), path.join(root, 'test'), { recursive: true });
  mkdirSync(path.join(root, 'agents'), { recursive: true });
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  const source = readFileSync(path.join(fixture, 'input.ts'), 'utf8');
  writeFileSync(agent, source);
  outcome = rewriteTypeScript({ root, file: agent, source, className: 'ReportScheduler', profile: loadProfile('base-agent') });
  writeFileSync(path.join(root, 'agents', 'report_scheduler_v2.ts'), outcome.output!);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Type errors of the controller with its import of the agent pointed at `target`. */
function compileCaller(target: string): string[] {
  const controller = readFileSync(path.join(root, 'src', 'ops', 'controller.ts'), 'utf8').replace("'../../agents/report_scheduler.js'", `'../../agents/${target}.js'`);
  const project = new Project({ compilerOptions: compilerOptionsFor(root), skipAddingFilesFromTsConfig: true });
  project.addSourceFileAtPath(path.join(root, 'agents', `${target}.ts`));
  const sf = project.createSourceFile(path.join(root, 'src', 'ops', `controller_${target}.ts`), controller, { overwrite: true });
  return project.getProgram().getSemanticDiagnostics(sf).map((d) => {
    const m = d.getMessageText();
    return typeof m === 'string' ? m : m.getMessageText();
  });
}

describe('public API kept', () => {
  it('rewrites the fixture as expected and reports each outside caller with file:line', () => {
    expect(outcome.status).toBe('changed');
    expect(outcome.output).toBe(readFileSync(path.join(fixture, 'expected.ts'), 'utf8'));
    const w = outcome.warnings.join('\n');
    expect(w).toContain('connect() is called from src/ops/controller.ts:8');
    expect(w).toContain('test/report_scheduler.test.js:6');
  });

  it('the controller compiles against the legacy agent and against its _v2', () => {
    expect(compileCaller('report_scheduler')).toEqual([]);
    expect(compileCaller('report_scheduler_v2')).toEqual([]);
  });

  it('the same check fails for an output that dropped a delegate (the test can fail)', () => {
    const broken = outcome.output!.replace(/\n  connect\(\): Promise<void> \{\n    return this\.start\(\);\n  \}\n/, '\n');
    expect(broken).not.toBe(outcome.output);
    writeFileSync(path.join(root, 'agents', 'report_scheduler_broken.ts'), broken);
    expect(compileCaller('report_scheduler_broken').join('\n')).toMatch(/Property 'connect' does not exist/);
  });

  it('with no outside caller, the same members simply go', () => {
    const lone = mkdtempSync(path.join(os.tmpdir(), 'migrate-public-api-lone-'));
    try {
      const file = path.join(lone, 'agents', 'report_scheduler.ts');
      mkdirSync(path.dirname(file), { recursive: true });
      const source = readFileSync(path.join(fixture, 'input.ts'), 'utf8');
      writeFileSync(file, source);
      const out = rewriteTypeScript({ root: lone, file, source, className: 'ReportScheduler', profile: loadProfile('base-agent') });
      expect(out.output).not.toMatch(/\n  (connect|startPolling)\(\)/);
      expect(out.warnings.join('\n')).not.toMatch(/is called from/);
    } finally {
      rmSync(lone, { recursive: true, force: true });
    }
  });
});
