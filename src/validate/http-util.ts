// Small helpers shared by the embedded servers and the checks (loopback HTTP only).
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';

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

/** Redirects followed, as fetch did (its limit). */
const MAX_REDIRECTS = 20;

/**
 * GET with a bounded timeout (for the whole answer, body included); rejects with the network
 * error (e.g. ECONNREFUSED), or one named TimeoutError. Through node:http, one connection per
 * request (closed after it): fetch (undici) cost each request some 2.8 ms of CPU against 0.5 ms
 * here, plus about 0.1 s to load in every process that validates, and a validation polls health
 * many times a second; its pool also handed out kept-alive connections the agent's server was
 * closing (see CLOSED in checks/survival.ts). What fetch did is kept: redirects followed
 * (credentials dropped when one leaves the origin), a compressed body decoded, UTF-8 text
 * without a byte order mark.
 */
export function httpGet(url: string, timeoutMs = 1000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const { stage, track, done } = deadline(timeoutMs, reject);
    const get = (u: URL, authorization: string | undefined, redirects: number) => {
      const lib = libFor(u);
      if (!lib) return done(() => reject(new TypeError(`fetch failed: unknown scheme ${u.protocol}`)));
      const headers: Record<string, string> = { Accept: '*/*', 'Accept-Encoding': 'gzip, deflate, br' };
      if (authorization) headers.Authorization = authorization;
      const target = withoutCredentials(u);
      const current = lib.get(target, { agent: false, headers }, (res) => {
        stage.answered = true;
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if ([301, 302, 303, 307, 308].includes(status) && location) {
          res.resume();
          if (redirects >= MAX_REDIRECTS) return done(() => reject(new TypeError('fetch failed: redirect count exceeded')));
          let next: URL;
          try {
            next = new URL(location, u);
          } catch (err) {
            return done(() => reject(err));
          }
          return get(next, next.origin === u.origin ? authorization : undefined, redirects + 1);
        }
        const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
        const body: NodeJS.ReadableStream =
          encoding === 'gzip' || encoding === 'x-gzip' ? res.pipe(zlib.createGunzip()) : encoding === 'deflate' ? res.pipe(zlib.createInflate()) : encoding === 'br' ? res.pipe(zlib.createBrotliDecompress()) : res;
        const chunks: Buffer[] = [];
        body.on('data', (c: Buffer) => chunks.push(c));
        body.on('end', () => done(() => resolve({ status, body: new TextDecoder().decode(Buffer.concat(chunks)) })));
        // A body that cannot be decoded: the connection is closed, not left open to an answer no one reads.
        body.on('error', (err) =>
          done(() => {
            res.destroy();
            reject(err);
          }),
        );
        res.on('error', (err) => done(() => reject(err)));
      });
      current.on('error', (err) => done(() => reject(err)));
      track(current);
    };
    let u: URL;
    try {
      u = new URL(url);
    } catch (err) {
      return done(() => reject(err));
    }
    get(u, basicAuthorization(u), 0);
  });
}

function libFor(u: URL): typeof http | typeof https | null {
  return u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
}

/** Credentials in the URL travel as Basic authorization, as fetch needed them to. */
function basicAuthorization(u: URL): string | undefined {
  return u.username || u.password ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` : undefined;
}

/** The URL a request goes to: the credentials go in the Authorization header, not the request line. */
function withoutCredentials(u: URL): URL {
  const target = new URL(u);
  target.username = '';
  target.password = '';
  return target;
}

/** How far a request that timed out got: connected (the server accepted), answered (its status line came). */
export interface TimeoutStage {
  connected: boolean;
  answered: boolean;
}

function timeoutError(timeoutMs: number, stage: TimeoutStage): Error {
  const err = new Error(`The operation was aborted due to timeout`) as Error & TimeoutStage & { timeoutMs: number };
  err.name = 'TimeoutError';
  Object.assign(err, { connected: stage.connected, answered: stage.answered, timeoutMs });
  return err;
}

/**
 * A request's deadline: at timeoutMs the request in flight (the last one tracked, a redirect's)
 * is destroyed and reject gets a TimeoutError saying how far it got; done() clears it first.
 */
function deadline(timeoutMs: number, reject: (err: Error) => void): { stage: TimeoutStage; track: (req: http.ClientRequest) => void; done: (f: () => void) => void } {
  const stage: TimeoutStage = { connected: false, answered: false };
  let current: http.ClientRequest | undefined;
  const timer = setTimeout(() => {
    const err = timeoutError(timeoutMs, stage);
    current?.destroy(err);
    reject(err);
  }, timeoutMs);
  return {
    stage,
    track: (req) => {
      // A redirect's request starts over: how far the first got (its 3xx answered) says nothing of this one.
      stage.connected = false;
      stage.answered = false;
      current = req;
      watchConnect(req, stage);
    },
    done: (f) => {
      clearTimeout(timer);
      f();
    },
  };
}

function watchConnect(req: http.ClientRequest, stage: TimeoutStage): void {
  req.on('socket', (socket) => {
    if (!(socket as { connecting?: boolean }).connecting) stage.connected = true;
    else socket.once('connect', () => (stage.connected = true));
  });
}

/**
 * What a timed-out request met, in words: "accepted the connection but sent no answer within
 * 3 s", "sent its status but not the whole answer within 3 s", "did not accept a connection
 * within 3 s"; null when err is not a timeout of httpGet / httpPostJson.
 */
export function timeoutDetail(err: unknown): string | null {
  const e = err as Partial<TimeoutStage> & { name?: string; timeoutMs?: number };
  if (e?.name !== 'TimeoutError' || typeof e.timeoutMs !== 'number' || typeof e.connected !== 'boolean') return null;
  const within = `within ${Number((e.timeoutMs / 1000).toFixed(1))} s`;
  if (e.answered) return `answered but did not send the whole answer ${within}`;
  if (e.connected) return `accepted the connection but sent no answer ${within}`;
  return `did not accept a connection ${within}`;
}

/**
 * POST a JSON body (no redirects followed: a registry answers where it is asked). The answer's
 * status, body and Content-Type; rejects like httpGet (a TimeoutError saying how far it got).
 */
export function httpPostJson(url: string, payload: unknown, timeoutMs = 1000): Promise<HttpAnswer & { type: string }> {
  return new Promise((resolve, reject) => {
    const { stage, track, done } = deadline(timeoutMs, reject);
    let u: URL;
    try {
      u = new URL(url);
    } catch (err) {
      return done(() => reject(err));
    }
    const lib = libFor(u);
    if (!lib) return done(() => reject(new TypeError(`fetch failed: unknown scheme ${u.protocol}`)));
    const text = JSON.stringify(payload);
    const headers: Record<string, string> = { Accept: '*/*', 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) };
    const authorization = basicAuthorization(u);
    if (authorization) headers.Authorization = authorization;
    const target = withoutCredentials(u);
    const req = lib.request(target, { method: 'POST', agent: false, headers }, (res) => {
      stage.answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        done(() => resolve({ status: res.statusCode ?? 0, body: new TextDecoder().decode(Buffer.concat(chunks)), type: String(res.headers['content-type'] ?? '') })),
      );
      res.on('error', (err) => done(() => reject(err)));
    });
    req.on('error', (err) => done(() => reject(err)));
    track(req);
    req.end(text);
  });
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
