// The Python scan's facts are kept between scans (src/discover/scan-cache.ts): an unchanged
// file is not parsed again. Never stale: an edited file, another target base or another build
// is a miss; MIGRATE_CACHE=0 turns it off; the cache lives outside the repository. The
// TypeScript scan's result is kept whole (src/lang/typescript/scan-cache.ts): any changed input,
// including a file the type checker read outside the scan (a package's declarations), is a miss.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanRepository } from '../src/discover/scan.js';
import { loadProfile } from '../src/profile/profile.js';
import { git, initGit, REPO, tempDirsOfThisFile } from './helpers/cli.js';
import { writeFleet } from './bench/fleet/fleet.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { templatesDir } from '../src/profile/profile.js';
import type { ScanResult } from '../src/core/types.js';

const temps = tempDirsOfThisFile();
const cacheHome = mkdtempSync(path.join(os.tmpdir(), 'migrate-cache-home-'));
temps.push(cacheHome);
const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, MIGRATE_CACHE: process.env.MIGRATE_CACHE };

function cacheFiles(kind = 'python-scan'): string[] {
  const dir = path.join(cacheHome, 'migrate', kind);
  return existsSync(dir) ? readdirSync(dir).map((f) => path.join(dir, f)) : [];
}

describe('scan cache', () => {
  let root: string;
  beforeAll(() => {
    process.env.XDG_CACHE_HOME = cacheHome;
    delete process.env.MIGRATE_CACHE;
    root = mkdtempSync(path.join(os.tmpdir(), 'migrate-scan-cache-'));
    temps.push(root);
    writeFleet(root, 12, { baseDir: path.join(REPO, 'fixtures', 'python', '_base'), typescriptShare: 0, minLines: 80, maxLines: 140, seed: 3 });
    initGit(root);
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  });

  it('answers an unchanged fleet from the cache, with the same scan, writing nothing into the repository', async () => {
    const profile = loadProfile('base-agent', root);
    const first = await scanRepository(root, profile, { inBand: true });
    expect(first.agents.length).toBe(12);
    const [file] = cacheFiles();
    expect(file).toBeDefined();
    const before = { text: readFileSync(file!, 'utf8'), mtime: statSync(file!).mtimeMs };
    const second = await scanRepository(root, profile, { inBand: true });
    expect(second).toEqual(first);
    // Every file was a hit: nothing new to save.
    expect(statSync(file!).mtimeMs).toBe(before.mtime);
    expect(readFileSync(file!, 'utf8')).toBe(before.text);
    expect(git(root, ['status', '--porcelain', '--ignored'])).toBe('');
  });

  it('reads an edited file again (never a stale answer)', async () => {
    const profile = loadProfile('base-agent', root);
    const agent = (await scanRepository(root, profile, { inBand: true })).agents[0]!;
    const abs = path.join(root, agent.file);
    const text = readFileSync(abs, 'utf8');
    // The same agent under another class name: a stale entry would still say the old one.
    writeFileSync(abs, text.replaceAll(agent.class, `${agent.class}Renamed`));
    const after = await scanRepository(root, profile, { inBand: true });
    expect(after.agents.map((a) => a.class)).toContain(`${agent.class}Renamed`);
    expect(after.agents.map((a) => a.class)).not.toContain(agent.class);
    writeFileSync(abs, text);
  });

  it('keeps another target base apart', async () => {
    const hardened = await scanRepository(root, loadProfile('hardened-agent-base', root), { inBand: true });
    const uncached = await (async () => {
      process.env.MIGRATE_CACHE = '0';
      try {
        return await scanRepository(root, loadProfile('hardened-agent-base', root), { inBand: true });
      } finally {
        delete process.env.MIGRATE_CACHE;
      }
    })();
    expect(hardened).toEqual(uncached);
  });

  it('is off with MIGRATE_CACHE=0', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'migrate-scan-nocache-'));
    temps.push(other);
    writeFleet(other, 3, { baseDir: path.join(REPO, 'fixtures', 'python', '_base'), typescriptShare: 0, minLines: 80, maxLines: 120, seed: 9 });
    initGit(other);
    const count = cacheFiles().length;
    process.env.MIGRATE_CACHE = '0';
    try {
      await scanRepository(other, loadProfile('base-agent', other), { inBand: true });
    } finally {
      delete process.env.MIGRATE_CACHE;
    }
    expect(cacheFiles().length).toBe(count);
  });
});

describe('TypeScript scan cache', () => {
  let root: string;
  const files: string[] = [];
  const put = (rel: string, text: string, scanned = true) => {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    if (scanned && !files.includes(abs)) files.push(abs);
  };
  // The parent comes from an installed package the walk never hands to the scan: only the type checker reads it.
  const kit = (extendsBase: boolean) =>
    `import { BaseAgent } from '../../common/core/base-agent';\nexport declare class KitAgent${extendsBase ? ' extends BaseAgent' : ''} {\n  protected readonly kitVersion: string;\n}\n`;
  const scanTs = async (): Promise<ScanResult> => typescriptAdapter.scan(root, files, loadProfile('base-agent'));
  const uncached = async (): Promise<ScanResult> => {
    process.env.MIGRATE_CACHE = '0';
    try {
      return await scanTs();
    } finally {
      delete process.env.MIGRATE_CACHE;
    }
  };
  const status = (r: ScanResult, name: string) => r.agents.find((a) => a.name === name)?.status;

  beforeAll(() => {
    process.env.XDG_CACHE_HOME = cacheHome;
    delete process.env.MIGRATE_CACHE;
    root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-scan-cache-'));
    temps.push(root);
    mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
    cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
    files.push(path.join(root, 'common', 'core', 'base-agent.ts'));
    put('node_modules/agent-kit/package.json', JSON.stringify({ name: 'agent-kit', version: '1.0.0', types: 'index.d.ts' }), false);
    put('node_modules/agent-kit/index.d.ts', kit(true), false);
    put('agents/ingest.ts', [
      "import { KitAgent } from 'agent-kit';",
      '',
      'export class IngestAgent extends KitAgent {',
      '  private timer?: NodeJS.Timeout;',
      '  start(): void {',
      '    this.timer = setInterval(() => this.drain(), 5_000);',
      "    process.on('SIGTERM', () => this.stop());",
      '  }',
      '  stop(): void {',
      '    if (this.timer) clearInterval(this.timer);',
      '  }',
      '  private drain(): void {}',
      '}',
      '',
      'if (require.main === module) new IngestAgent().start();',
      '',
    ].join('\n'));
    put('agents/poller.ts', [
      "import http from 'node:http';",
      '',
      'export class InventoryPoller {',
      '  private polled = 0;',
      '  start(): void {',
      "    http.createServer((_req, res) => res.end(JSON.stringify({ status: 'ok', polled: this.polled }))).listen(8081);",
      '    setInterval(() => this.polled++, 10_000);',
      '  }',
      '}',
      '',
      'if (require.main === module) new InventoryPoller().start();',
      '',
    ].join('\n'));
  });

  it('answers an unchanged fleet from the cache with the same scan, reading the package the checker read', async () => {
    const first = await scanTs();
    expect(status(first, 'IngestAgent')).toBe('migrated');
    expect(status(first, 'InventoryPoller')).toBe('legacy');
    const [file] = cacheFiles('typescript-scan');
    expect(file).toBeDefined();
    const saved = JSON.parse(readFileSync(file!, 'utf8')) as { deps: Array<[string, number, number]> };
    expect(saved.deps.map(([f]) => f)).toContain(path.join(root, 'node_modules', 'agent-kit', 'index.d.ts'));
    const mtime = statSync(file!).mtimeMs;
    const second = await scanTs();
    expect(second).toEqual(first);
    expect(statSync(file!).mtimeMs).toBe(mtime);
  });

  it('scans again when a file the checker read outside the scan changes (a package no longer reaching the base)', async () => {
    put('node_modules/agent-kit/index.d.ts', kit(false), false);
    const after = await scanTs();
    expect(status(after, 'IngestAgent')).toBe('legacy');
    expect(after).toEqual(await uncached());
    put('node_modules/agent-kit/index.d.ts', kit(true), false);
    expect(status(await scanTs(), 'IngestAgent')).toBe('migrated');
  });

  it('scans again when a scanned file changes or a _v2 output appears', async () => {
    const poller = path.join(root, 'agents', 'poller.ts');
    const text = readFileSync(poller, 'utf8');
    writeFileSync(poller, text.replaceAll('InventoryPoller', 'StockPoller'));
    const renamed = await scanTs();
    expect(status(renamed, 'StockPoller')).toBe('legacy');
    expect(status(renamed, 'InventoryPoller')).toBeUndefined();
    writeFileSync(poller, text);
    // An output the walk does not hand in (an ignored file) still links to its agent.
    put('agents/poller_v2.ts', text, false);
    const linked = await scanTs();
    expect(linked.agents.find((a) => a.name === 'InventoryPoller')?.output).toBe('agents/poller_v2.ts');
    expect(linked).toEqual(await uncached());
  });

  it('keeps nothing for a tsconfig that extends another (a chain it would have to follow)', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-scan-nocache-'));
    temps.push(other);
    const count = cacheFiles('typescript-scan').length;
    writeFileSync(path.join(other, 'tsconfig.base.json'), JSON.stringify({ compilerOptions: { strict: true } }));
    writeFileSync(path.join(other, 'tsconfig.json'), JSON.stringify({ extends: './tsconfig.base.json', include: ['*.ts'] }));
    writeFileSync(path.join(other, 'poller.ts'), readFileSync(path.join(root, 'agents', 'poller.ts')));
    const r = await typescriptAdapter.scan(other, [path.join(other, 'poller.ts')], loadProfile('base-agent'));
    expect(status(r, 'InventoryPoller')).toBe('legacy');
    expect(cacheFiles('typescript-scan').length).toBe(count);
  });
});

// The engine's stamp is read from its compiled files' stats, not their text: an installed tool whose
// files all carry npm's one fixed mtime must still get another stamp when a file is written anew with
// the same size and that same mtime (a reinstall of another release), or the cache would answer with
// the old engine's scan.
describe('engine fingerprint', () => {
  it('changes when a compiled file is rewritten with its size and mtime kept', () => {
    const top = mkdtempSync(path.join(os.tmpdir(), 'migrate-engine-stamp-'));
    try {
      const dist = path.resolve('dist');
      for (const sub of ['src', 'transforms']) cpSync(path.join(dist, sub), path.join(top, sub), { recursive: true, preserveTimestamps: true });
      const stamp = () =>
        execFileSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(path.join(top, 'src', 'discover', 'scan-cache.js'))}).then((m) => console.log(m.engineFingerprint()))`], { cwd: path.resolve('.'), encoding: 'utf8', env: { ...process.env, NODE_PATH: path.resolve('node_modules') } }).trim();
      // npm's fixed mtime for every packed file (1985-10-26 08:15:00 UTC), whole seconds: set back exactly.
      const file = path.join(top, 'src', 'core', 'counters.js');
      const npmTime = 499162500;
      utimesSync(file, npmTime, npmTime);
      const before = stamp();
      expect(stamp()).toBe(before);
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.replace(/\n$/, ' '));
      utimesSync(file, npmTime, npmTime);
      expect(statSync(file).size).toBe(text.length);
      expect(statSync(file).mtimeMs).toBe(npmTime * 1000);
      expect(stamp()).not.toBe(before);
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });
});
