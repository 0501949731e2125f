// The broken-output listeners a writing command puts on its output streams (so that a terminal
// gone after a hang-up does not end the cleanup) are taken off when it is done: in-process runs
// (tests calling the CLI's main with process.stdout) piled one per command up to Node's
// MaxListenersExceededWarning. A write to a closed pipe just before the command ends still must
// not end the tool: its EPIPE is reported a tick after the command returned.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ensureBuilt, REPO } from './helpers/cli.js';

type Main = (argv: string[], opts: { cwd?: string; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream }) => Promise<number>;
async function loadMain(): Promise<Main> {
  ensureBuilt();
  return ((await import(pathToFileURL(path.join(REPO, 'dist', 'src', 'cli.js')).href)) as { main: Main }).main;
}
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('interrupt listeners', () => {
  it('N in-process commands leave no error listener on the streams they wrote to', async () => {
    const main = await loadMain();
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-listeners-'));
    const out = new PassThrough().resume();
    const err = new PassThrough().resume();
    const before = [out.listenerCount('error'), err.listenerCount('error')];
    try {
      // scan listens for Ctrl-C (and adds the listeners) on every call.
      for (let i = 0; i < 12; i++) {
        await main(['scan', '--root', root], { stdout: out as unknown as NodeJS.WriteStream, stderr: err as unknown as NodeJS.WriteStream });
      }
      await turn();
      await turn();
      expect([out.listenerCount('error'), err.listenerCount('error')]).toEqual(before);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an EPIPE a tick after the command returned (its last line went to a closed pipe) is still ignored', async () => {
    const main = await loadMain();
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-listeners-'));
    // A pipe whose reader went away: every write fails, reported asynchronously as an 'error' event.
    const broken = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    const vitestHandlers = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      await main(['scan', '--root', root], { stdout: broken as unknown as NodeJS.WriteStream, stderr: new PassThrough().resume() as unknown as NodeJS.WriteStream });
      await turn();
      await turn();
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const h of vitestHandlers) process.on('uncaughtException', h as (e: Error) => void);
      rmSync(root, { recursive: true, force: true });
    }
    expect(uncaught).toEqual([]);
    expect(broken.listenerCount('error')).toBe(0);
  });
});
