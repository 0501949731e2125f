// httpGet (src/validate/http-util.ts), what every health, registry and metrics probe of a validation
// asks through: node:http now, with what fetch did before kept (redirects, credentials, compressed
// bodies, UTF-8 text, a timeout for the whole answer), one connection per request.
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { httpGet, networkReason } from '../src/validate/http-util.js';

const servers: http.Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
}

describe('httpGet', () => {
  it('answers status and body; follows redirects, keeping credentials only within the origin', async () => {
    const seen: Array<{ url: string; auth?: string; connection?: string }> = [];
    const other = await serve((req, res) => {
      seen.push({ url: `other${req.url}`, auth: req.headers.authorization });
      res.writeHead(200).end('there');
    });
    const base = await serve((req, res) => {
      seen.push({ url: req.url!, auth: req.headers.authorization, connection: req.headers.connection });
      if (req.url === '/health') return void res.writeHead(503, { 'Content-Type': 'application/json' }).end('{"status":"degraded"}');
      if (req.url === '/moved') return void res.writeHead(301, { Location: '/health' }).end();
      if (req.url === '/away') return void res.writeHead(302, { Location: `${other}/x` }).end();
      res.writeHead(404).end();
    });
    expect(await httpGet(`${base}/health`)).toEqual({ status: 503, body: '{"status":"degraded"}' });
    const withUser = base.replace('http://', 'http://reg%40user:p%3Ass@');
    expect(await httpGet(`${withUser}/moved`)).toEqual({ status: 503, body: '{"status":"degraded"}' });
    expect(await httpGet(`${withUser}/away`)).toEqual({ status: 200, body: 'there' });
    const basic = `Basic ${Buffer.from('reg@user:p:ss').toString('base64')}`;
    expect(seen).toEqual([
      { url: '/health', auth: undefined, connection: 'close' },
      { url: '/moved', auth: basic, connection: 'close' },
      { url: '/health', auth: basic, connection: 'close' },
      { url: '/away', auth: basic, connection: 'close' },
      { url: 'other/x', auth: undefined },
    ]);
  });

  it('decodes a compressed body and reads UTF-8 without a byte order mark', async () => {
    const base = await serve((req, res) => {
      if (req.url === '/gz') return void res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(gzipSync('{"status":"ok","name":"größe"}'));
      res.writeHead(200).end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"status":"ok"}')]));
    });
    expect(await httpGet(`${base}/gz`)).toEqual({ status: 200, body: '{"status":"ok","name":"größe"}' });
    expect(await httpGet(`${base}/bom`)).toEqual({ status: 200, body: '{"status":"ok"}' });
  });

  it('times out on an answer that does not come whole in time, and says why a request failed', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200);
      res.write('{"status":'); // never ends
    });
    const t0 = Date.now();
    const slow = await httpGet(`${base}/health`, 300).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((slow as Error).name).toBe('TimeoutError');
    expect(networkReason(slow)).toBe('timed out');
    const closed = await serve(() => undefined);
    const port = Number(new URL(closed).port);
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    expect(networkReason(await httpGet(`http://127.0.0.1:${port}/health`).catch((e: unknown) => e))).toBe('connection refused');
    const hangUp = await serve((req) => req.socket.destroy());
    expect(networkReason(await httpGet(`${hangUp}/health`).catch((e: unknown) => e))).toBe('connection reset');
  });
  it('closes the connection of an answer whose compressed body cannot be decoded', async () => {
    let closed!: Promise<void>;
    const base = await serve((req, res) => {
      closed = new Promise((r) => req.socket.on('close', () => r()));
      res.writeHead(200, { 'Content-Encoding': 'gzip' });
      res.write('not gzip at all'); // and never ends: only the client can close it
    });
    await expect(httpGet(`${base}/health`, 5000)).rejects.toThrow();
    const gone = await Promise.race([closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 2000))]);
    expect(gone).toBe(true);
  });
});
