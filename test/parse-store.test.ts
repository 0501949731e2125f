// A run's scan keeps the parses of the files that may hold agents (within a budget) so their
// rewrites do not parse them again (issue 15: each input parsed once). What is kept must be
// exactly the parse the rewrite would have made, for that very source, across worker threads
// and in this process alike; past the budget nothing more is kept.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Parser from 'tree-sitter';
import Python from 'tree-sitter-python';
import { scanRepository } from '../src/discover/scan.js';
import { FlatTree, type FlatTreeData } from '../src/lang/python/flat-tree.js';
import { parsePython } from '../src/lang/python/parser.js';
import { loadProfile } from '../src/profile/profile.js';
import { ParseStore } from '../src/pipeline/parse-store.js';
import { cliInProcess, ensureBuilt, initGit, REPO, tempDirsOfThisFile } from './helpers/cli.js';
import { writeFleet } from './bench/fleet/fleet.js';

const temps = tempDirsOfThisFile();

/** Every node of two trees the same: type, range, field, flags, parent. */
function sameTree(a: FlatTree, b: FlatTree): boolean {
  if (a.count !== b.count || a.source !== b.source) return false;
  for (let i = 0; i < a.count; i++) {
    const x = a.node(i);
    const y = b.node(i);
    if (x.type !== y.type || x.startIndex !== y.startIndex || x.endIndex !== y.endIndex || x.isNamed !== y.isNamed || (x.parent?.index ?? -1) !== (y.parent?.index ?? -1)) return false;
    const f = (t: FlatTree) => (t.fieldId[i] ? t.vocabulary.fieldNames[t.fieldId[i]!] : null);
    if (f(a) !== f(b)) return false;
  }
  return true;
}

describe('parses kept from scan to rewrite', () => {
  // Each scan here must read its files (a cached scan parses nothing, so keeps nothing).
  const cacheSetting = process.env.MIGRATE_CACHE;
  beforeAll(() => {
    process.env.MIGRATE_CACHE = '0';
  });
  afterAll(() => {
    if (cacheSetting === undefined) delete process.env.MIGRATE_CACHE;
    else process.env.MIGRATE_CACHE = cacheSetting;
  });
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-parses-'));
  temps.push(root);
  // 60 agents: past the size where the scan reads in worker threads.
  writeFleet(root, 60, { baseDir: path.join(REPO, 'fixtures', 'python', '_base'), typescriptShare: 0.1, minLines: 80, maxLines: 160, seed: 11 });
  initGit(root);
  const profile = loadProfile('base-agent', root);

  for (const [how, opts] of [
    ['worker threads', { jobs: 2 }],
    ['this process', { inBand: true }],
  ] as const) {
    it(`are the rewrite's own parse of each agent's source (${how})`, { timeout: 120_000 }, async () => {
      ensureBuilt();
      // The reader threads run the compiled worker, found beside the compiled scan only (from src/
      // the scan finds no worker file and reads in this process).
      const scanWith = 'jobs' in opts ? ((await import(pathToFileURL(path.join(REPO, 'dist', 'src', 'discover', 'scan.js')).href)) as typeof import('../src/discover/scan.js')).scanRepository : scanRepository;
      const parses = new ParseStore();
      const scan = await scanWith(root, profile, { ...opts, parses });
      const python = scan.agents.filter((a) => a.language === 'python');
      expect(python.length).toBeGreaterThan(40);
      // Python agents only, and the base module the fleet imports is no agent: it settles itself.
      expect(parses.size).toBeGreaterThanOrEqual(python.length);
      for (const a of python) {
        const abs = path.join(root, a.file);
        const source = readFileSync(abs, 'utf8');
        const kept = parses.take(abs, source);
        const data = kept?.data as FlatTreeData | undefined;
        expect(data, a.file).toBeDefined();
        expect(sameTree(new FlatTree(data!, source, Python), parsePython(source)), a.file).toBe(true);
        // The native tree only where the rewrite can use it: in the thread that parsed it.
        const native = kept?.native as Parser.Tree | undefined;
        if ('jobs' in opts) expect(native, a.file).toBeUndefined();
        else expect(native?.rootNode.text, a.file).toBe(source);
        // Taken once: the rewrite owns it now.
        expect(parses.take(abs, source)).toBeUndefined();
      }
    });
  }

  it('are not used for a source that changed since the scan', async () => {
    const parses = new ParseStore();
    await scanRepository(root, profile, { inBand: true, parses });
    const agent = (await scanRepository(root, profile, { inBand: true })).agents.find((a) => a.language === 'python')!;
    const abs = path.join(root, agent.file);
    expect(parses.take(abs, `${readFileSync(abs, 'utf8')}\n# edited meanwhile\n`)).toBeUndefined();
  });

  it('keep native trees within their own budget, flat arrays past it', async () => {
    const size = readFileSync(path.join(root, (await scanRepository(root, profile, { inBand: true })).agents.find((a) => a.language === 'python')!.file)).length;
    // Room for the native trees of about two of these agents (44 bytes reserved per source byte).
    const parses = new ParseStore(undefined, size * 44 * 2.5);
    const scan = await scanRepository(root, profile, { inBand: true, parses });
    const kept = scan.agents.filter((a) => a.language === 'python').map((a) => parses.take(path.join(root, a.file), readFileSync(path.join(root, a.file), 'utf8')));
    expect(kept.every((k) => k?.data)).toBe(true);
    const natives = kept.filter((k) => k?.native).length;
    expect(natives).toBeGreaterThan(0);
    expect(natives).toBeLessThanOrEqual(3);
  });

  it('stop being kept once the budget is spent', async () => {
    // Room for about two of these agents' parses (8 bytes reserved per source byte).
    const size = readFileSync(path.join(root, (await scanRepository(root, profile, { inBand: true })).agents.find((a) => a.language === 'python')!.file)).length;
    const parses = new ParseStore(size * 8 * 2.5);
    await scanRepository(root, profile, { inBand: true, parses });
    expect(parses.size).toBeGreaterThan(0);
    expect(parses.size).toBeLessThanOrEqual(3);
  });
});

describe('parses per run', () => {
  // The run goes through the compiled CLI in this process, which loads the same tree-sitter
  // module (CommonJS, one instance per process): its Parser#parse is counted per text.
  it("in band, each agent's Python input is parsed once in a run (by the scan, whose native tree its output is reparsed from), its output once, incrementally", { timeout: 180_000 }, async () => {
    ensureBuilt();
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-parse-count-'));
    temps.push(root);
    writeFleet(root, 16, { baseDir: path.join(REPO, 'fixtures', 'python', '_base'), typescriptShare: 0, minLines: 200, maxLines: 400, seed: 5 });
    initGit(root);
    const Parser = createRequire(path.join(REPO, 'package.json'))('tree-sitter') as { prototype: { parse: (input: unknown, ...rest: unknown[]) => unknown } };
    const parse = Parser.prototype.parse;
    const times = new Map<string, number>();
    const incremental = new Set<string>();
    Parser.prototype.parse = function (this: unknown, input: unknown, ...rest: unknown[]) {
      if (typeof input === 'string') {
        const key = createHash('sha1').update(input).digest('hex');
        times.set(key, (times.get(key) ?? 0) + 1);
        if (rest[0]) incremental.add(key);
      }
      return parse.call(this, input, ...rest);
    };
    let r;
    try {
      r = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit', '--run-in-band', '--json'], { env: { MIGRATE_CACHE: '0' } });
    } finally {
      Parser.prototype.parse = parse;
    }
    expect(r.exitCode, r.stderr).toBe(0);
    const results = (JSON.parse(r.stdout) as { results: Array<{ file: string; output: string | null }> }).results.filter((x) => x.output);
    expect(results.length).toBeGreaterThan(10);
    const sha = (file: string) => createHash('sha1').update(readFileSync(path.join(root, file), 'utf8')).digest('hex');
    // The scan's parse of each input goes on to its rewrite in this thread (its flat arrays and its
    // native tree): the output is reparsed from that tree, told of the edits, with unchanged subtrees
    // copied, and that output's parse goes on to the checks of verification.
    const parsed = results.map((x) => `${x.file} ${times.get(sha(x.file)) ?? 0}, ${x.output} ${times.get(sha(x.output!)) ?? 0}${incremental.has(sha(x.output!)) ? ' incremental' : ''}`);
    expect(parsed).toEqual(results.map((x) => `${x.file} 1, ${x.output} 1 incremental`));
  });
});
