// A registry client the agent builds itself (`this.registry = new RegistryClient(url)` in the constructor) is
// judged by its class when the rewrite can read it: one whose register() requests the registry's /register keeps
// its registration as a review item (the base registers too: two entries); one that makes no request at all (a
// map of handlers) is no registry, and no item is raised for it (registry-client-built-in-constructor-health-answer-names-service).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { rewriteTypeScript } from '../src/lang/typescript/rewrite.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'registry-client-built-in-constructor-health-answer-names-service');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The case's agent rewritten in a repository of its own, with `client` as its utils' registry-client.ts. */
function keptSymbols(client?: string): string[] {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-built-client-'));
  roots.push(root);
  cpSync(path.join(fixture, 'packages'), path.join(root, 'packages'), { recursive: true });
  if (client) writeFileSync(path.join(root, 'packages', 'utils', 'src', 'registry-client.ts'), client);
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  const file = path.join(root, 'packages', 'catalog-sync', 'src', 'catalog-sync.ts');
  const source = readFileSync(path.join(fixture, 'input.ts'), 'utf8');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, source);
  const out = rewriteTypeScript({ root, file, source, className: 'CatalogSync', profile: loadProfile('base-agent') });
  expect(out.output, out.error ?? '').toBeTruthy();
  return out.kept_for_review.map((k) => k.symbol);
}

const HANDLER_MAP = `// Named handlers for catalogue events, kept in memory.
export class RegistryClient {
  private readonly handlers = new Map<string, unknown>();
  constructor(readonly label: string) {}
  register(entry: { name: string }): Promise<void> {
    this.handlers.set(entry.name, entry);
    return Promise.resolve();
  }
  heartbeat(name: string): Promise<void> {
    return Promise.resolve(void this.handlers.get(name));
  }
  deregister(name: string): Promise<void> {
    this.handlers.delete(name);
    return Promise.resolve();
  }
}
`;

describe('a client the agent builds in its constructor', () => {
  it('whose register() requests /register: its registration beside the base is a review item', () => {
    expect(keptSymbols()).toContain('this.registry.register()');
  });
  it('that makes no request (a map of handlers): no registry item, though its name says registry', () => {
    expect(keptSymbols(HANDLER_MAP)).not.toContain('this.registry.register()');
  });
});
