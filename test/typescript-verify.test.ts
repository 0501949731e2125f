// TypeScript verify checks a batch in groups, one program per group (memory flat in fleet
// size): the verdicts must be the ones a single program over the whole batch gives.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInfo } from '../src/core/types.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { TsVerifier, verifyTypeScript } from '../src/lang/typescript/verify.js';
import type { VerifyRequest } from '../src/pipeline/language.js';
import { loadProfile } from '../src/profile/profile.js';
import { IDLE_RELEASE_MS, keptLibraryDeclarations, releaseLibraryDeclarations } from '../src/lang/typescript/project.js';
import { collector } from '../src/core/heap.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const input = readFileSync(path.join(here, '..', 'fixtures', 'typescript', 'http-health-interval', 'input.ts'), 'utf8');
const profile = loadProfile('base-agent');

describe('TypeScript verify in groups', () => {
  let dir: string;
  const reqs: VerifyRequest[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-verify-groups-'));
    // Seven agents over two directories: with two outputs per program, the type error (router 3)
    // and the excused legacy error (router 2) sit in the second program, the syntax error in the last.
    for (let n = 0; n < 7; n++) {
      const sub = n < 5 ? 'agents' : 'jobs';
      const cls = `OrderRouter${n}`;
      let legacy = input.replace(/OrderRouter/g, cls);
      // A type error the legacy file already had: not the migration's fault.
      if (n === 2) legacy = legacy.replace('private routed = 0;', "private routed = 0;\n  private misuse: number = 'oops';");
      mkdirSync(path.join(dir, sub), { recursive: true });
      const file = path.join(dir, sub, `order_router${n}.ts`);
      writeFileSync(file, legacy);
      const agent: AgentInfo = { name: cls, file: `${sub}/order_router${n}.ts`, language: 'typescript', class: cls, status: 'legacy', findings: [], line: 1, evidence: [] };
      const out = await typescriptAdapter.rewrite({ root: dir, file, source: legacy, agent, profile });
      expect(out.status).toBe('changed');
      let output = out.output!;
      if (n === 3) output = output.replace('this.poll();', 'this.poll(1);');
      if (n === 6) output = output.replace('private routed = 0;', 'private routed = ;');
      reqs.push({ root: dir, outputFile: path.join(dir, sub, `order_router${n}_v2.ts`), output, agent, profile, idempotency: null });
    }
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the verdicts of one program over the whole batch, whatever the group size', async () => {
    const whole = await verifyTypeScript(reqs, reqs.length);
    expect(whole.map((e) => e === null)).toEqual([true, true, true, false, true, true, false]);
    expect(whole[3]).toMatch(/^agents\/order_router3_v2\.ts:\d+: Expected 0 arguments, but got 1\.$/);
    expect(whole[6]).toMatch(/^jobs\/order_router6_v2\.ts:\d+: Expression expected\.$/);
    for (const size of [1, 2, 3]) expect(await verifyTypeScript(reqs, size)).toEqual(whole);
    // Batch order does not matter either: each verdict follows its output.
    const reversed = await verifyTypeScript([...reqs].reverse(), 2);
    expect(reversed.reverse()).toEqual(whole);
  }, 120_000);

  // A fleet's programs run one after another: what one group parsed and checked must be gone
  // when the next begins, or the stage holds two programs and its memory follows the group size twice.
  it('holds nothing of a checked group while the next waits', () => {
    const gc = collector()!;
    const liveHeap = () => {
      gc();
      return v8.getHeapStatistics().used_heap_size;
    };
    const verifier = new TsVerifier({ root: dir, profile });
    // A first group parses and keeps the declarations every group shares.
    verifier.check(reqs.slice(0, 1));
    const between = liveHeap();
    expect(verifier.check(reqs.slice(1, 6)).map((e) => e === null)).toEqual([true, true, false, true, true]);
    // Held with the last program (its five outputs, legacy files and checker) it was 4.3 MB; without, 1.6 MB
    // (what the repository's index of texts and the first group's resolutions keep).
    expect(liveHeap() - between).toBeLessThan(3 * 1024 * 1024);
  }, 120_000);
});

// Parsed library declarations (lib, node_modules .d.ts) are kept between verify calls: a
// package's declarations that changed since are parsed again, never given from before.
describe('TypeScript verify across calls', () => {
  let dir: string;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sees a changed node_modules declaration file in the next call', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-verify-calls-'));
    const pkg = path.join(dir, 'node_modules', 'router-limits');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'router-limits', version: '1.0.0', types: 'index.d.ts' }));
    const declare = (type: string) => writeFileSync(path.join(pkg, 'index.d.ts'), `export declare const maxRoutes: ${type};\n`);
    mkdirSync(path.join(dir, 'agents'));
    const file = path.join(dir, 'agents', 'order_router.ts');
    const legacy = `import { maxRoutes } from 'router-limits';\n${input}`;
    writeFileSync(file, legacy);
    const agent: AgentInfo = { name: 'OrderRouter', file: 'agents/order_router.ts', language: 'typescript', class: 'OrderRouter', status: 'legacy', findings: [], line: 1, evidence: [] };
    const out = await typescriptAdapter.rewrite({ root: dir, file, source: legacy, agent, profile });
    expect(out.status).toBe('changed');
    const req: VerifyRequest = { root: dir, outputFile: path.join(dir, 'agents', 'order_router_v2.ts'), output: `${out.output!}\nexport const routeLimit: number = maxRoutes;\n`, agent, profile, idempotency: null };
    declare('number');
    expect(await verifyTypeScript([req])).toEqual([null]);
    declare('string');
    expect(await verifyTypeScript([req])).toEqual([expect.stringMatching(/^agents\/order_router_v2\.ts:\d+: Type 'string' is not assignable to type 'number'\.$/)]);
    declare('number');
    expect(await verifyTypeScript([req])).toEqual([null]);
  }, 120_000);
});

// The verifier's project and the library declarations it parsed (lib, @types/node: about 80 MB
// bound) are not held once TypeScript work pauses: the main thread kept them through the write
// and validate stages of a run.
describe('TypeScript verify lets go of what it parsed', () => {
  let dir: string;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the heap back once no project has asked for a declaration for a while', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-verify-release-'));
    mkdirSync(path.join(dir, 'agents'));
    const file = path.join(dir, 'agents', 'order_router.ts');
    writeFileSync(file, input);
    const agent: AgentInfo = { name: 'OrderRouter', file: 'agents/order_router.ts', language: 'typescript', class: 'OrderRouter', status: 'legacy', findings: [], line: 1, evidence: [] };
    const out = await typescriptAdapter.rewrite({ root: dir, file, source: input, agent, profile });
    const req: VerifyRequest = { root: dir, outputFile: path.join(dir, 'agents', 'order_router_v2.ts'), output: out.output!, agent, profile, idempotency: null };
    const gc = collector()!;
    const liveHeap = () => {
      gc();
      return v8.getHeapStatistics().used_heap_size;
    };
    releaseLibraryDeclarations();
    expect(await verifyTypeScript([req])).toEqual([null]);
    // Kept for the next program while the work goes on.
    expect(keptLibraryDeclarations()).toBeGreaterThan(0);
    const held = liveHeap();
    await sleep(IDLE_RELEASE_MS + 500);
    expect(keptLibraryDeclarations()).toBe(0);
    // What they held is given back: lib and @types/node bound are about 80 MB.
    expect(held - liveHeap()).toBeGreaterThan(30 * 1024 * 1024);
  }, 120_000);
});
