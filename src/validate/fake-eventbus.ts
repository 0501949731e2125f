// A fake EventBus on loopback for the seed-001 run-time checks. One TCP port speaks what the
// fleet's transports send: HTTP (every POST is one published envelope, JSON when it parses,
// acked with {"status": "OK"}) and newline-delimited JSON over a plain socket (each line one
// envelope). It can go down (listener closed, open connections cut: the agent sees connection
// refused or a reset) and come back on the same port, which is how "bus down -> queued
// locally, bus back -> queue drains" is proven. Agents find it through EVENTBUS_ADDRESS
// (host:port) and EVENTBUS_URL (http://host:port).
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { readBody, send } from './http-util.js';
import { allocatePorts, releasePorts } from './ports.js';

export interface FakeEventBus {
  port: number;
  address: string;
  url: string;
  up(): boolean;
  /** Envelopes received so far, oldest first. */
  received(): unknown[];
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const HTTP_METHOD = /^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH) /;

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// MIGRATE_EVENTBUS_LOG=FILE (`log`): every envelope is also appended to FILE as one JSON line
// (`{"envelope": ...}`, with `"path"` and `"headers"` when it came over HTTP), so a reviewer (or
// a test) can read what the migrated agent actually sent, not only how many.
//
// With no port given it takes a claimed one below the kernel's ephemeral range (ports.ts), held
// until close(): the bus goes down and comes back on its port, and a port the kernel picked
// (listen(0)) could meanwhile become any connection's own end, failing the restart with
// EADDRINUSE, a failure of no agent (seen in a suite run). Port 0 still asks the kernel.
export async function startFakeEventBus(port?: number, log: string | undefined = process.env.MIGRATE_EVENTBUS_LOG): Promise<FakeEventBus> {
  const claimed = port === undefined ? await allocatePorts(1) : [];
  const received: unknown[] = [];
  const got = {
    get length() {
      return received.length;
    },
    /** One envelope; over HTTP with its request's path and headers (for the log only). */
    push(x: unknown, request?: { path: string; headers: http.IncomingHttpHeaders }) {
      received.push(x);
      if (log) {
        try {
          appendFileSync(log, JSON.stringify(request ? { path: request.path, headers: request.headers, envelope: x } : { envelope: x }) + '\n');
        } catch {
          // evidence only: a full disk never fails the check
        }
      }
    },
  };
  const sockets = new Set<net.Socket>();
  const web = http.createServer(async (req, res) => {
    if (req.method !== 'POST') return send(res, req.url === '/health' ? 200 : 404, { status: req.url === '/health' ? 'ok' : 'not found' });
    try {
      got.push(parsed(await readBody(req)), { path: req.url ?? '', headers: req.headers });
      send(res, 200, { status: 'OK', received: got.length });
    } catch (err) {
      send(res, 400, { status: 'ERROR', error: (err as Error).message });
    }
  });
  let server: net.Server | null = null;
  const open = (at: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = net.createServer((sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => sock.destroy());
        sock.once('data', (first) => {
          sock.pause();
          sock.unshift(first);
          if (HTTP_METHOD.test(first.toString('latin1', 0, 8))) {
            web.emit('connection', sock);
            sock.resume();
            return;
          }
          let buffer = '';
          sock.setEncoding('utf8');
          sock.on('data', (chunk: string) => {
            buffer += chunk;
            for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
              const line = buffer.slice(0, nl).trim();
              buffer = buffer.slice(nl + 1);
              if (line) got.push(parsed(line));
            }
          });
          sock.resume();
        });
      });
      s.once('error', reject);
      s.listen(at, '127.0.0.1', () => {
        s.off('error', reject);
        server = s;
        resolve((s.address() as net.AddressInfo).port);
      });
    });
  let bound: number;
  try {
    bound = await open(port ?? claimed[0]!);
  } catch (err) {
    releasePorts(claimed);
    throw err;
  }
  const stop = async () => {
    const s = server;
    server = null;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      for (const sock of sockets) sock.destroy();
    });
  };
  return {
    port: bound,
    address: `127.0.0.1:${bound}`,
    url: `http://127.0.0.1:${bound}`,
    up: () => server !== null,
    received: () => [...received],
    stop,
    async start() {
      if (!server) await open(bound);
    },
    async close() {
      await stop();
      releasePorts(claimed);
    },
  };
}
