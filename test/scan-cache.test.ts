// The Python scan's facts are kept between scans (src/discover/scan-cache.ts): an unchanged
// file is not parsed again. Never stale: an edited file, another target base or another build
// is a miss; MIGRATE_CACHE=0 turns it off; the cache lives outside the repository.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanRepository } from '../src/discover/scan.js';
import { loadProfile } from '../src/profile/profile.js';
import { git, initGit, REPO, tempDirsOfThisFile } from './helpers/cli.js';
import { writeFleet } from './bench/fleet/fleet.js';

const temps = tempDirsOfThisFile();
const cacheHome = mkdtempSync(path.join(os.tmpdir(), 'migrate-cache-home-'));
temps.push(cacheHome);
const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, MIGRATE_CACHE: process.env.MIGRATE_CACHE };

function cacheFiles(): string[] {
  const dir = path.join(cacheHome, 'migrate', 'python-scan');
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
