// frozen-fields.ts: a field whose every update went with removed code while kept code reads it is said
// (private-singleton-namespace-port-started-by-main: heartbeats++ only in the removed heartbeatLoop()).
// An update in a callback the constructor hands out (`this.on('quote', () => this.heartbeats++)`) is no
// initial value: it stays, so the field is still updated and nothing is said. Nor is a removed write of a
// local object that shares the name (`beat.heartbeats++`): no field of the agent was updated there.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfile } from '../src/profile/profile.js';
import { rewriteTypeScript } from '../src/lang/typescript/rewrite.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'private-singleton-namespace-port-started-by-main');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function warnings(ctorBody: string, edit: (source: string) => string = (s) => s): string[] {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-frozen-'));
  roots.push(root);
  cpSync(fixture, root, { recursive: true });
  const input = readFileSync(path.join(fixture, 'input.ts'), 'utf8');
  const source = edit(input).replace('  private constructor() {\n    super();\n  }', `  private constructor() {\n    super();\n${ctorBody}  }`);
  expect(source.includes(ctorBody)).toBe(true);
  const file = path.join(root, 'services', 'pricefeed', 'price-feed.ts');
  writeFileSync(file, source);
  const out = rewriteTypeScript({ root, file, source, className: 'PriceFeed', profile: loadProfile('base-agent') });
  expect(out.output, out.error ?? '').toBeTruthy();
  return out.warnings;
}

describe('a field no longer updated', () => {
  it('its only update went with the removed heartbeatLoop(): said', () => {
    expect(warnings('').some((w) => w.startsWith('this.heartbeats is no longer updated'))).toBe(true);
  });
  it('a callback the constructor hands out still updates it: not said', () => {
    const ws = warnings("    this.on('quote', () => {\n      this.heartbeats++;\n    });\n");
    expect(ws.filter((w) => w.startsWith('this.heartbeats is no longer updated'))).toEqual([]);
  });
  it('the write that went was to a local object of the same name (beat.heartbeats++): not said', () => {
    const local = '        const beat = { heartbeats: 0 };\n        beat.heartbeats++;\n';
    const ws = warnings('', (s) => {
      const edited = s.replace('        this.heartbeats++;\n', local);
      expect(edited).toContain(local);
      return edited;
    });
    expect(ws.filter((w) => w.startsWith('this.heartbeats is no longer updated'))).toEqual([]);
  });
});
