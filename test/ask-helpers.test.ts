// The helpers the runtime tests talk to their agents with (test/helpers/ask.ts): a refused connection
// is asked again until the listener binds, and only that failure; the ports lie outside the range the
// kernel hands out itself; a background question's failure is kept, never thrown into the void.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ephemeralRange } from '../src/validate/ports.js';
import { fetchWhenBound, freePort, inBackground, refused } from './helpers/ask.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
const listen = (s: net.Server, port: number) => {
  servers.push(s);
  return new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
};

describe('fetchWhenBound', () => {
  it('waits for a listener bound after the first ask, then returns its answer', async () => {
    const port = await freePort();
    const late = setTimeout(() => void listen(http.createServer((_req, res) => res.end('bound')), port), 400);
    try {
      const r = await fetchWhenBound(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
      expect(await r.text()).toBe('bound');
    } finally {
      clearTimeout(late);
    }
  });

  it('gives up on a port nothing ever binds once its deadline has passed, with the refusal', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const err = await fetchWhenBound(`http://127.0.0.1:${port}/`, undefined, 600).catch((e: unknown) => e);
    expect(refused(err), String(err)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
  });

  it('asks once when the connection is accepted and then dropped: only a refusal is asked again', async () => {
    const port = await freePort();
    let connections = 0;
    await listen(net.createServer((sock) => (connections++, sock.destroy())), port);
    const err = await fetchWhenBound(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(refused(err)).toBe(false);
    expect(connections).toBe(1);
  });

  it('returns an HTTP error answer as it is', async () => {
    const port = await freePort();
    await listen(http.createServer((_req, res) => res.writeHead(503).end('draining')), port);
    expect((await fetchWhenBound(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })).status).toBe(503);
  });
});

describe('freePort', () => {
  it('hands out distinct ports below the kernel\'s ephemeral range that a listener can bind', async () => {
    const [a, b] = [await freePort(), await freePort()];
    expect(a).not.toBe(b);
    for (const p of [a, b]) {
      expect(p).toBeLessThan(ephemeralRange()[0]);
      await listen(net.createServer(), p);
    }
  });
});

describe('inBackground', () => {
  it('keeps a failure as its error and ends done; a success ends done without one', async () => {
    const failed = inBackground(async () => {
      throw new Error('agent refused');
    });
    const passed = inBackground(async () => 'answer');
    await new Promise((r) => setTimeout(r, 10));
    expect(failed).toMatchObject({ done: true, error: new Error('agent refused') });
    expect(passed).toEqual({ done: true });
  });
});
