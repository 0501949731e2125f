// User transforms in jscodeshift format: the shipped example runs on a migrated agent and the
// result still type-checks against the base; loading, chaining and failures behave as documented.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { applyUserTransforms } from '../src/pipeline/user-transform.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { loadProfile } from '../src/profile/profile.js';
import type { AgentInfo } from '../src/core/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const example = path.join(here, '..', 'transforms', 'examples', 'rename-logger.js');
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'http-health-interval');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'migrate-user-transform-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
}

describe('rename-logger example', () => {
  const source = readFileSync(path.join(fixture, 'expected.ts'), 'utf8');

  it('rewrites console calls inside the agent class only, keeping the rest byte for byte', async () => {
    const extra = `${source}\nfunction outside(): void {\n  console.log('not an agent');\n}\n`;
    const out = await applyUserTransforms([example], { path: 'agents/order_router_v2.ts', source: extra });
    expect(out).toContain('this.logger.info(`routed ${n} orders on port ${this.port}`);');
    expect(out).toContain("console.log('not an agent');");
    expect(out).not.toBe(extra);
    // Only the rewritten lines differ: each a console call of the class, now the logger's.
    const a = extra.split('\n');
    const b = out.split('\n');
    expect(b.length).toBe(a.length);
    const changed = a.map((l, i) => (l === b[i] ? null : i)).filter((i) => i !== null);
    expect(changed.length).toBeGreaterThan(0);
    for (const i of changed) {
      expect(a[i]).toMatch(/\bconsole\.(log|info|warn|error)\(/);
      expect(b[i]).toMatch(/\bthis\.logger\.(info|warn|error)\(/);
    }
    // Idempotent: a second application changes nothing.
    expect(await applyUserTransforms([example], { path: 'agents/order_router_v2.ts', source: out })).toBe(out);
  });

  it('keeps the output type-checking against the base', async () => {
    const out = await applyUserTransforms([example], { path: 'agents/order_router_v2.ts', source });
    const agent: AgentInfo = { name: 'OrderRouter', file: 'agents/order_router.ts', language: 'typescript', class: 'OrderRouter', status: 'legacy', findings: [], line: 1, evidence: [] };
    const [err] = await typescriptAdapter.verify([
      { root: fixture, outputFile: path.join(fixture, 'agents', 'order_router_v2.ts'), output: out, agent, profile: loadProfile('base-agent') },
    ]);
    expect(err).toBeNull();
  });
});

describe('applyUserTransforms', () => {
  it('chains transforms in order; undefined, null and empty results mean unchanged', async () => {
    const upper = write('upper.cjs', "module.exports = (file) => file.source.replace('alpha', 'ALPHA');");
    const none = write('none.cjs', 'module.exports = () => undefined;');
    const empty = write('empty.mjs', "export default function () { return ''; }");
    const suffix = write('suffix.mjs', "export default function (file, api, options) { return file.source + '// ' + options.tag + '\\n'; }");
    const out = await applyUserTransforms([upper, none, empty, suffix], { path: 'a.ts', source: 'const alpha = 1;\n' }, { tag: 'x' });
    expect(out).toBe('const ALPHA = 1;\n// x\n');
  });

  it('loads a module.exports transform that sits in an ESM package', async () => {
    const dir = mkdtempSync(path.join(tmp, 'esm-'));
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    const file = path.join(dir, 'cjs-style.js');
    writeFileSync(file, "module.exports = function (file, api) { return api.j(file.source).find(api.j.Identifier, { name: 'a' }).forEach((p) => { p.node.name = 'b'; }).toSource(); };");
    expect(await applyUserTransforms([file], { path: 'x.ts', source: 'const a: number = 1;\n' })).toBe('const b: number = 1;\n');
  });

  it('names the transform file in a one-line error when it throws', async () => {
    const bad = write('explodes.cjs', "module.exports = () => { throw new Error('boom\\nsecond line'); };");
    await expect(applyUserTransforms([bad], { path: 'agents/a.ts', source: 'x' })).rejects.toThrow(/^transform explodes\.cjs failed on agents\/a\.ts: boom$/);
  });

  it('refuses a module that exports no function', async () => {
    const bad = write('nothing.cjs', 'module.exports = { answer: 42 };');
    await expect(applyUserTransforms([bad], { path: 'a.ts', source: 'x' })).rejects.toThrow(/nothing\.cjs.*exports no function/);
  });
});
