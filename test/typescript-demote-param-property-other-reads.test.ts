// A private parameter property the plan proposed to remove is demoted to a plain parameter once every
// `this.x` read of it went with removed code (for-await-spool-consumer-hand-deregister-param-property).
// A read of another shape left in the class (`const { registryUrl } = this`, `this['registryUrl']`,
// `other.registryUrl` of another instance) still needs the property: it is not demoted then.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { rewriteTypeScript } from '../src/lang/typescript/rewrite.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'for-await-spool-consumer-hand-deregister-param-property');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function rewrite(extra: string): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-demote-'));
  roots.push(root);
  mkdirSync(path.join(root, 'workers'), { recursive: true });
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  const input = readFileSync(path.join(fixture, 'input.ts'), 'utf8');
  const source = extra ? input.replace('  async stop(): Promise<void> {', `${extra}\n\n  async stop(): Promise<void> {`) : input;
  expect(source).not.toBe(extra ? input : '');
  const file = path.join(root, 'workers', 'ledger-consumer.ts');
  writeFileSync(file, source);
  const out = rewriteTypeScript({ root, file, source, className: 'LedgerConsumer', profile: loadProfile('base-agent') });
  expect(out.output, out.error ?? '').toBeTruthy();
  return out.output!;
}

describe('a dead private parameter property is demoted only when no read of it is left', () => {
  it('every read was this.registryUrl in removed code: demoted', () => {
    expect(rewrite('')).toMatch(/^\s+registryUrl = process\.env\.REGISTRY_URL \?\? '',$/m);
  });
  for (const [shape, method] of [
    ['destructured from this', "  registryTarget(): string {\n    const { registryUrl } = this;\n    return registryUrl;\n  }"],
    ['read by element access', "  registryTarget(): string {\n    return this['registryUrl'];\n  }"],
    ['read on another instance', '  sameRegistry(other: LedgerConsumer): boolean {\n    return other.registryUrl === process.env.REGISTRY_URL;\n  }'],
  ] as const) {
    it(`${shape}: stays a property`, () => {
      expect(rewrite(method)).toMatch(/private readonly registryUrl = process\.env\.REGISTRY_URL \?\? '',$/m);
    });
  }
});
