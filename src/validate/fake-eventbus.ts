// A fake EventBus on loopback for the seed-001 run-time checks: a real HTTP server that takes
// every POST as one published envelope (JSON when it parses) and acks it with {"status": "OK"}.
// It can go down (listener closed, open connections cut: the agent sees connection refused)
// and come back on the same port, which is how "bus down -> queued locally, bus back ->
// queue drains" is proven. Agents find it through EVENTBUS_ADDRESS (host:port) and
// EVENTBUS_URL (http://host:port).
import http from 'node:http';
import { closeServer, listen, readBody, send } from './http-util.js';

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

export async function startFakeEventBus(port = 0): Promise<FakeEventBus> {
  const got: unknown[] = [];
  let server: http.Server | null = null;
  const open = async (at: number): Promise<number> => {
    const s = http.createServer(async (req, res) => {
      if (req.method !== 'POST') return send(res, req.url === '/health' ? 200 : 404, { status: req.url === '/health' ? 'ok' : 'not found' });
      try {
        const body = await readBody(req);
        let envelope: unknown = body;
        try {
          envelope = JSON.parse(body);
        } catch {
          // Not JSON: kept as text, still one envelope.
        }
        got.push(envelope);
        send(res, 200, { status: 'OK', received: got.length });
      } catch (err) {
        send(res, 400, { status: 'ERROR', error: (err as Error).message });
      }
    });
    const p = await listen(s, at);
    server = s;
    return p;
  };
  const bound = await open(port);
  const stop = async () => {
    const s = server;
    server = null;
    if (s) await closeServer(s);
  };
  return {
    port: bound,
    address: `127.0.0.1:${bound}`,
    url: `http://127.0.0.1:${bound}`,
    up: () => server !== null,
    received: () => [...got],
    stop,
    async start() {
      if (!server) await open(bound);
    },
    close: stop,
  };
}
