// A TypeScript fixture case laid out as a repository to start its agents from: the fixture's other
// files (bin/ scripts), input.* at the agent's path, expected.* as its _v2 sibling, the reference base.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { templatesDir } from '../../src/profile/profile.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'typescript');

/** The _v2 sibling of an agent file (`services/a.ts` -> `services/a_v2.ts`). */
export const v2 = (file: string): string => file.replace(/(\.[cm]?[jt]s)$/, '_v2$1');

/** A new temporary repository of fixture `name` with its agent at `agent`; `roots` collects it for removal. */
export function fixtureRepo(name: string, agent: string, roots: string[]): string {
  const dir = path.join(fixtures, name);
  const root = mkdtempSync(path.join(os.tmpdir(), `migrate-ts-${name.slice(0, 24)}-`));
  roots.push(root);
  cpSync(dir, root, { recursive: true, filter: (src) => !/^(input|expected)\.[cm]?[jt]s$|^case\.yaml$/.test(path.relative(dir, src)) });
  const ext = readdirSync(dir).find((f) => f.startsWith('input.'))!.slice('input.'.length);
  mkdirSync(path.join(root, path.dirname(agent)), { recursive: true });
  writeFileSync(path.join(root, agent), readFileSync(path.join(dir, `input.${ext}`), 'utf8'));
  writeFileSync(path.join(root, v2(agent)), readFileSync(path.join(dir, `expected.${ext}`), 'utf8'));
  addReferenceBase(root);
  return root;
}

/** The reference TypeScript base where the profile imports it from, and a package.json (ESM with `esm`). */
export function addReferenceBase(root: string, esm = false): void {
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), `{ "name": "fixture", "private": true${esm ? ', "type": "module"' : ''} }\n`);
}

/** A new temporary repository holding `files` (repository path -> text); `roots` collects it for removal. */
export function filesRepo(files: Record<string, string>, roots: string[], prefix = 'migrate-ts-files-'): string {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  roots.push(root);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), text);
  }
  return root;
}

/** Removes the repositories fixtureRepo() and filesRepo() made. */
export function removeRepos(roots: string[]): void {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
}
