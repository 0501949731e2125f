// The entry guard an agent without one gets must compile under the repository's own build: most
// TypeScript services write `import` and compile to CommonJS, where `import.meta` is an error
// (TS1343) and the build breaks. buildsToCommonJs reads the build configuration (package.json's
// "type", the tsconfig governing the file) and, without one, how Node could load the file.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Project, ts } from 'ts-morph';
import { buildsToCommonJs } from '../src/lang/typescript/build-kind.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { stopWhen } from './helpers/ts-agent-process.js';
import { filesRepo } from './helpers/fixture-repo.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A repository with `files` (path -> text). */
const repo = (files: Record<string, string>): string => filesRepo(files, roots, 'migrate-build-kind-');

const AGENT = "import http from 'node:http';\nexport class A { s = http.createServer(); }\n";
function decide(root: string, file = 'agents/a.ts', others: string[] = []): boolean {
  const sf = new Project({ useInMemoryFileSystem: true }).createSourceFile('/a.ts', readFileSync(path.join(root, file), 'utf8'));
  return buildsToCommonJs(root, file, sf, () => others.map((f) => ({ file: path.join(root, f), text: readFileSync(path.join(root, f), 'utf8') })));
}

describe('buildsToCommonJs', () => {
  it('follows tsconfig.json: module commonjs, node16/nodenext without a module package, and tsc default by target', () => {
    expect(decide(repo({ 'agents/a.ts': AGENT, 'tsconfig.json': '{ "compilerOptions": { "module": "commonjs" } }' }))).toBe(true);
    // Comments and `extends` as tsc reads them.
    expect(decide(repo({ 'agents/a.ts': AGENT, 'tsconfig.base.json': '{ "compilerOptions": { "module": "NodeNext", "moduleResolution": "NodeNext" } }', 'tsconfig.json': '// build\n{ "extends": "./tsconfig.base.json" }' }))).toBe(true);
    expect(decide(repo({ 'agents/a.ts': AGENT, 'tsconfig.json': '{ "compilerOptions": { "module": "ES2022" } }' }))).toBe(false);
    expect(decide(repo({ 'agents/a.ts': AGENT, 'tsconfig.json': '{ "compilerOptions": { "target": "es5" } }' }))).toBe(true);
    expect(decide(repo({ 'agents/a.ts': AGENT, 'tsconfig.json': '{ "compilerOptions": { "target": "es2022" } }' }))).toBe(false);
  });

  it('an ES module package is ESM whatever tsconfig says for node16; .cts/.mts decide themselves', () => {
    expect(decide(repo({ 'agents/a.ts': AGENT, 'package.json': '{ "type": "module" }', 'tsconfig.json': '{ "compilerOptions": { "module": "nodenext" } }' }))).toBe(false);
    expect(decide(repo({ 'agents/a.cts': AGENT }), 'agents/a.cts')).toBe(true);
    expect(decide(repo({ 'agents/a.mts': AGENT, 'tsconfig.json': '{ "compilerOptions": { "module": "commonjs" } }' }), 'agents/a.mts')).toBe(false);
  });

  it('without configuration: an extensionless value import, in the file or in a file importing it, means CommonJS; type-only imports and .js specifiers do not', () => {
    expect(decide(repo({ 'agents/a.ts': `import { x } from '../lib/x';\n${AGENT}`, 'lib/x.ts': 'export const x = 1;\n' }))).toBe(true);
    expect(decide(repo({ 'agents/a.ts': `import { type X } from '../lib/x';\nimport type { Y } from '../lib/x';\n${AGENT}`, 'lib/x.ts': 'export type X = 1;\nexport type Y = 2;\n' }))).toBe(false);
    expect(decide(repo({ 'agents/a.ts': AGENT, 'bin/run.ts': "import { A } from '../agents/a';\nnew A();\n" }), 'agents/a.ts', ['bin/run.ts'])).toBe(true);
    expect(decide(repo({ 'agents/a.ts': AGENT, 'bin/run.ts': "import { A } from '../agents/a.js';\nnew A();\n" }), 'agents/a.ts', ['bin/run.ts'])).toBe(false);
    expect(decide(repo({ 'agents/a.ts': AGENT, 'bin/run.ts': "import type { A } from '../agents/a';\nlet a: A;\n" }), 'agents/a.ts', ['bin/run.ts'])).toBe(false);
    expect(decide(repo({ 'agents/a.ts': AGENT }))).toBe(false);
  });
});

describe('the entry guard added to an agent compiles under the repository build', () => {
  // default-export-no-entry: an agent the deployment imported, with no entry point of its own.
  const fixture = path.join(here, '..', 'fixtures', 'typescript', 'default-export-no-entry');
  const agent = 'agents/inventory_sync.ts';
  const profile = loadProfile('base-agent');

  async function rewriteIn(config: Record<string, string>): Promise<{ root: string; output: string }> {
    const root = repo({ [agent]: readFileSync(path.join(fixture, 'input.ts'), 'utf8'), ...config });
    mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
    cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
    const out = await typescriptAdapter.rewrite({
      root,
      file: path.join(root, agent),
      source: readFileSync(path.join(root, agent), 'utf8'),
      agent: { name: 'InventorySync', file: agent, language: 'typescript', class: 'InventorySync', status: 'legacy', findings: [], line: 1, evidence: [] },
      profile,
    });
    expect(out.status, out.error).toBe('changed');
    return { root, output: out.output! };
  }

  /** tsc's diagnostics of the _v2 under the repository's tsconfig.json (module kind errors only: no @types here). */
  function moduleErrors(root: string, output: string): string[] {
    const v2 = path.join(root, agent.replace(/\.ts$/, '_v2.ts'));
    writeFileSync(v2, output);
    const parsed = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), { noEmit: true, types: [] }, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
    const program = ts.createProgram([v2], parsed.options);
    const sf = program.getSourceFile(v2)!;
    return [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]
      .filter((d) => [1343, 1470, 1378].includes(d.code))
      .map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  }

  it('module commonjs: require.main guard, no import.meta (TS1343 before)', async () => {
    const { root, output } = await rewriteIn({ 'tsconfig.json': '{ "compilerOptions": { "module": "commonjs", "target": "es2020", "strict": true } }' });
    expect(output).toMatch(/\nif \(require\.main === module\) \{\n  new InventorySync\(\)\.run\(\);\n\}\n$/);
    expect(output).not.toContain('import.meta');
    expect(output).not.toContain("from 'node:url'");
    expect(moduleErrors(root, output)).toEqual([]);
  });

  // The launcher (migrate validate) compiled the _v2 as an ES module (it imports nothing relative but
  // the base), where `require` does not exist: it died at the guard with "require is not defined".
  it('module commonjs: the _v2 with its require.main guard runs through the launcher and stops on SIGTERM', async () => {
    const { root, output } = await rewriteIn({ 'tsconfig.json': '{ "compilerOptions": { "module": "commonjs", "target": "es2020", "strict": true } }' });
    const v2 = agent.replace(/\.ts$/, '_v2.ts');
    writeFileSync(path.join(root, v2), output);
    writeFileSync(path.join(root, 'package.json'), '{ "name": "inventory", "private": true }\n');
    const { code, log } = await stopWhen(root, v2, {}, (l) => /InventorySync running/.test(l));
    expect(log).not.toMatch(/require is not defined/);
    expect(code, log).toBe(0);
  }, 60_000);

  it('an ES module package: the import.meta guard, which compiles there', async () => {
    const { root, output } = await rewriteIn({ 'package.json': '{ "type": "module" }', 'tsconfig.json': '{ "compilerOptions": { "module": "nodenext", "target": "es2022", "strict": true } }' });
    expect(output).toContain('import.meta.url === pathToFileURL(process.argv[1]).href');
    expect(moduleErrors(root, output)).toEqual([]);
  });
});
