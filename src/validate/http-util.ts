// Small helpers shared by the embedded servers and the checks (loopback HTTP only).
import http from 'node:http';

export function readBody(req: http.IncomingMessage, limit = 4 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function send(res: http.ServerResponse, code: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function listen(server: http.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** GET with a bounded timeout; rejects with the network error (e.g. ECONNREFUSED). */
export async function httpGet(url: string, timeoutMs = 1000): Promise<HttpAnswer> {
  // fetch refuses a URL with credentials in it: they travel as Basic authorization instead.
  const u = new URL(url);
  const headers: Record<string, string> = {};
  if (u.username || u.password) {
    headers.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs), headers });
  return { status: res.status, body: await res.text() };
}

/** The short reason of a failed request: "connection refused", "timed out", ... */
export function networkReason(err: unknown): string {
  const e = err as { cause?: { code?: string; message?: string }; name?: string; message?: string; code?: string };
  const code = e?.cause?.code ?? e?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return 'connection reset';
  if (code === 'ENOTFOUND') return 'host not found';
  if (e?.name === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timed out';
  return (e?.cause?.message ?? e?.message ?? String(err)).replace(/\s*\n\s*/g, ' ');
}
