// A consumer whose main() awaits a stream pipeline over an async generator looping until stop, its
// entry `main().then(() => process.exit(0), ...)`: on the base the entry was start(), which resolved
// when the pipeline ended at SIGTERM, and its exit cut the base's stop() short of the
// deregistration (probe-node54). The generator-pipeline-main-then-exit fixture, legacy file and
// _v2, is started for real with a spooled batch; on SIGTERM each must have written the batch to the
// ledger and logged its summary, exit 0, and the _v2 must have deregistered once.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { exitOf, fixtureRepo, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'generator-pipeline-main-then-exit');
const agent = 'consumers/till-ledger.mjs';
const v2 = 'consumers/till-ledger_v2.mjs';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a pipeline main() awaited by the entry point ends with the agent', () => {
  for (const [side, file] of [['legacy', agent], ['_v2', v2]] as const) {
    it(`${side}: the batch reaches the ledger, the summary is logged, exit 0${side === '_v2' ? ', deregistered' : ''}`, async () => {
      const root = fixtureRepo(fixture, { [agent]: 'input.mjs', [v2]: 'expected.mjs' }, roots);
      const spool = path.join(root, 'spool');
      const ledger = path.join(root, 'ledger.ndjson');
      mkdirSync(spool);
      const entries = [{ account: 'cash', cents: 250 }, { account: 'card', cents: 1200 }, { account: 'cash', cents: 50 }];
      writeFileSync(path.join(spool, '0001.json'), JSON.stringify({ till: 't7', entries }));
      const seen: string[] = [];
      const registry = http.createServer((req, res) => {
        seen.push(req.url ?? '');
        req.resume();
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
      });
      await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
      const port = (registry.address() as import('node:net').AddressInfo).port;
      try {
        const { code, log } = await stopWhen(
          root,
          file,
          { REGISTRY_URL: `http://127.0.0.1:${port}`, TILL_SPOOL: spool, TILL_LEDGER: ledger, TILL_HEALTH_PORT: '0' },
          // The batch is read out (its file removed) and, on the base, registered.
          (log) => log.includes('consuming ') && !readdirSafe(spool).includes('0001.json') && (side === 'legacy' || seen.includes('/register')),
        );
        await new Promise((r) => setTimeout(r, 200));
        expect(code, log).toBe(0);
        expect(log).toContain('[till-ledger] stopped: 3 entries, 0 invalid');
        expect(readFileSync(ledger, 'utf8').trim().split('\n').map((l) => JSON.parse(l).cents)).toEqual([250, 1200, 50]);
        if (side === '_v2') expect(seen.filter((s) => s === '/deregister'), log).toEqual(['/deregister']);
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});

// The same consumer whose pipeline fails (a torn batch file): the legacy entry's failure handler
// logged "failed:" and exited 1. On the base the pipeline runs detached from run(), so without
// that handler carried its rejection was unhandled: exit 1, but no log line, no stop(), the agent
// left registered. Each side must log the line and exit 1; the _v2 must deregister once.
describe('a pipeline main() whose failure the entry point handled', () => {
  for (const [side, file] of [['legacy', agent], ['_v2', v2]] as const) {
    it(`${side}: a failing pipeline logs "failed:", exits 1${side === '_v2' ? ', deregistered once' : ''}`, async () => {
      const root = fixtureRepo(fixture, { [agent]: 'input.mjs', [v2]: 'expected.mjs' }, roots);
      const spool = path.join(root, 'spool');
      mkdirSync(spool);
      // A till spools a batch it could not finish writing: from the start for the legacy (it never
      // registers), once registered for the _v2 (its deregistration is what is checked).
      const torn = () => writeFileSync(path.join(spool, '0002.json'), '{"till": "t7", "entr');
      if (side === 'legacy') torn();
      const seen: string[] = [];
      const registry = http.createServer((req, res) => {
        seen.push(req.url ?? '');
        if (req.url === '/register') torn();
        req.resume();
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
      });
      await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
      const port = (registry.address() as import('node:net').AddressInfo).port;
      try {
        const { code, log } = await exitOf(root, file, { REGISTRY_URL: `http://127.0.0.1:${port}`, TILL_SPOOL: spool, TILL_LEDGER: path.join(root, 'ledger.ndjson'), TILL_HEALTH_PORT: '0' });
        expect(code, log).toBe(1);
        expect(log).toMatch(/\[till-ledger\] failed: SyntaxError/);
        if (side === '_v2') expect(seen.filter((s) => s === '/deregister'), log).toEqual(['/deregister']);
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
