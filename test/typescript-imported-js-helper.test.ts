// A starter registering the agent through a helper of the repository written in plain JavaScript: the
// imported-helper case (fixtures/typescript/starter-registers-through-imported-helper) with its registry
// client lib/registry.ts turned into lib/registry.js, still imported as '../lib/registry'. One resolver
// (src/lang/typescript/imported-file.ts) names the module for every reader of an imported module's text;
// importedText()'s list had no .js/.mjs/.cjs, so a resolver without them leaves this registration unsaid.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { ts } from 'ts-morph';
import { afterAll, expect, it } from 'vitest';
import { loadProfile } from '../src/profile/profile.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'starter-registers-through-imported-helper');
const work = mkdtempSync(path.join(os.tmpdir(), 'migrate-js-helper-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// As a compiled package ships it, with its declarations beside (lib/registry.d.ts): the readers of function
// bodies must read the .js, never the .d.ts that a types-first resolver would find first.
it.each([['alone', false], ['with its .d.ts beside it', true]] as const)("a starter's registration through an imported JavaScript helper (%s) is the starter's own (a review item naming it)", async (label, declarations) => {
  const dir = path.join(work, label.replace(/\W+/g, '-'));
  cpSync(fixture, dir, { recursive: true });
  if (!declarations) symlinkSync(path.join(here, '..', 'node_modules'), path.join(work, 'node_modules'));
  // The same client in JavaScript: the TypeScript's types stripped by the compiler, nothing else changed.
  const registryTs = path.join(dir, 'lib', 'registry.ts');
  const js = ts.transpileModule(readFileSync(registryTs, 'utf8'), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
  if (declarations) writeFileSync(path.join(dir, 'lib', 'registry.d.ts'), ts.transpileDeclaration(readFileSync(registryTs, 'utf8'), {}).outputText);
  unlinkSync(registryTs);
  writeFileSync(path.join(dir, 'lib', 'registry.js'), js);
  expect(js).toContain('/register`');
  const meta = YAML.parse(readFileSync(path.join(dir, 'case.yaml'), 'utf8')) as { class: string; path: string; kept: string[] };
  const file = path.join(dir, meta.path);
  const out = await typescriptAdapter.rewrite({
    root: dir, file, source: readFileSync(path.join(dir, 'input.ts'), 'utf8'), profile: loadProfile('base-agent'),
    agent: { name: meta.class, file: meta.path, language: 'typescript', class: meta.class, status: 'legacy', findings: [], line: 1, evidence: [] },
  });
  // The same two items as with the TypeScript client: the starter's registration and its deregistration.
  expect(out.kept_for_review.map((k) => k.symbol).sort()).toEqual([...meta.kept].sort());
  expect(out.kept_for_review.map((k) => k.reason).join('\n')).toContain("dropping it loses the name 'presence-tracker'");
}, 120_000);
