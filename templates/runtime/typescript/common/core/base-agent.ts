// Reference BaseAgent for TypeScript agents (Node standard library only).
//
// The TypeScript twin of templates/runtime/python/common/core/base_agent.py, so that
// agents migrated by `migrate` behave the same in both languages:
//   * GET /health (JSON) and GET /metrics (Prometheus text) over HTTP on the health port;
//   * registration with the registry named by REGISTRY_URL (HTTP POST <url>/register, or
//     for redis:// URLs a hash agent:<name> plus membership of the set `agents`), retried
//     with back-off, never crashing the agent;
//   * metrics pushed Pushgateway-style (PUT <METRICS_URL>/metrics/job/<name>), every sample
//     labelled agent="<name>", promptly after start and then every few seconds;
//   * a main loop: run() calls the overridable runOnce() every intervalMs until stopped;
//   * start() brings all of that up and resolves once it runs (for callers that start a
//     service and go on, as Node services do); run() is start() plus waiting until stopped;
//   * SIGTERM / SIGINT -> stop() (servers and timers closed) and exit code 0, or the code the
//     agent set in process.exitCode;
//   * it is an EventEmitter, like most Node services: subclasses keep their on()/emit().
//
// Environment: AGENT_NAME, AGENT_PORT, HEALTH_CHECK_PORT, REGISTRY_URL, METRICS_URL; optional
// AGENT_HOST (bind address, default 127.0.0.1) and METRICS_PUSH_INTERVAL (seconds, default 5).
// The environment wins over constructor values: migrated agents pass their legacy literal
// ports through, and the deployment (or the validator) must be able to choose ports and name.
//
// Internal state uses ES private fields (#x) so that no legacy member of a subclass can
// clash with it; the public surface is name, host, port, healthCheckPort, startTime, registered,
// logger, run(), start(), stop(), reportMetric(), the EventEmitter methods, stopSignal and the
// hooks runOnce(), onStart(), onStop(), healthStatus(), healthHttpCode(), registrationRecord(), startRegistration(),
// and registerOnce() (register again, for an agent that learns the registry forgot it).
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';

export interface BaseAgentOptions {
  name: string;
  port?: number;
  healthCheckPort?: number;
  /** Milliseconds between two runOnce() calls of the main loop (default 1000). */
  intervalMs?: number;
  /** Passed to EventEmitter (rejections of async listeners become 'error' events). */
  captureRejections?: boolean;
  [key: string]: unknown;
}

type Labels = Record<string, string>;

/** The agent's logger (stderr, one line per message), like the Python base's self.logger. */
export interface AgentLogger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

// Seconds a stopping process may take after SIGTERM before the base forces exit 0.
const STOP_GRACE_MS = 3000;

function envPort(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`environment variable ${name} must be a port number, not ${JSON.stringify(value)}`);
  }
  return port;
}

/**
 * True when a request failed after it was sent, with no answer (a timeout, a dropped connection): the
 * server may have acted on it. A refused connection or an HTTP error answer is not.
 */
function mayHaveLanded(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'ECONNABORTED' || code === 'EPIPE';
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

// The agents of this process that answer SIGTERM / SIGINT (started, not yet stopped). A runner may
// start several; each one's signal handler exits the process, so each waits for all of them to
// stop first, or the first to finish would cut the others' stop (deregistration) short. Kept on
// globalThis under a registered symbol so that agents built on different copies of this file
// share it; an older copy without it still stops only itself and exits, as it always did.
const LIVE_AGENTS = Symbol.for('migrate.base-agent.live');
function liveAgents(): Set<{ stop(): Promise<void> }> {
  const g = globalThis as { [LIVE_AGENTS]?: Set<{ stop(): Promise<void> }> };
  return (g[LIVE_AGENTS] ??= new Set());
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export class BaseAgent extends EventEmitter {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly healthCheckPort: number;
  readonly startTime = Date.now();
  registered = false;
  readonly logger: AgentLogger = {
    debug: (m, ...a) => {
      if ((process.env.LOG_LEVEL ?? '').toUpperCase() === 'DEBUG') this.#log('DEBUG', [m, ...a.map(String)].join(' '));
    },
    info: (m, ...a) => this.#log('INFO', [m, ...a.map(String)].join(' ')),
    warn: (m, ...a) => this.#log('WARNING', [m, ...a.map(String)].join(' ')),
    error: (m, ...a) => this.#log('ERROR', [m, ...a.map(String)].join(' ')),
  };

  #intervalMs: number;
  #registryUrl = process.env.REGISTRY_URL || undefined;
  #metricsUrl = process.env.METRICS_URL || undefined;
  #metrics = new Map<string, { name: string; labels: Labels; value: number }>();
  #stop = new AbortController();
  #starting: Promise<void> | null = null;
  #registering: Promise<void> | null = null;
  // registerOnce() requests in flight: stop() lets them land before it deregisters.
  #reregistering = new Set<Promise<void>>();
  // A registration sent whose answer never came (timed out, connection dropped): the registry may have
  // recorded it, so stop() deregisters all the same.
  #registrationUnsure = false;
  #loop: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;
  #server: http.Server | null = null;
  #signalHandler = (signal: NodeJS.Signals) => this.#onSignal(signal);

  constructor(options: BaseAgentOptions) {
    super(options.captureRejections === undefined ? undefined : { captureRejections: options.captureRejections });
    this.name = process.env.AGENT_NAME || options.name || new.target.name;
    this.host = process.env.AGENT_HOST || '127.0.0.1';
    // 0 means "any free port" (chosen when the server binds).
    this.port = envPort('AGENT_PORT') ?? options.port ?? 0;
    this.healthCheckPort = envPort('HEALTH_CHECK_PORT') ?? options.healthCheckPort ?? (this.port ? this.port + 1 : 0);
    this.#intervalMs = options.intervalMs ?? 1000;
  }

  /** Aborted once the agent stops: hand it to fetch() or timers, or test it in a loop of your own. */
  protected get stopSignal(): AbortSignal {
    return this.#stop.signal;
  }

  // ------------------------------------------------------------------ logging
  #log(level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR', message: string): void {
    process.stderr.write(`${new Date().toISOString()} ${level} ${this.name}: ${message}\n`);
  }

  // ------------------------------------------------------------------- health
  /** The /health payload; override to add fields (keep `status`). */
  protected healthStatus(): Record<string, unknown> {
    return {
      status: 'ok',
      agent: this.name,
      uptime: (Date.now() - this.startTime) / 1000,
      port: this.port,
      health_check_port: this.healthCheckPort,
      pid: process.pid,
      registered: this.registered,
    };
  }

  /**
   * The HTTP code GET /health answers `status` (what healthStatus() returned) with: 200 when its
   * status is ok/healthy, else 503, so a probe reading only the code (a load balancer, curl -f)
   * takes the agent out. Override to answer otherwise (a 'degraded' that still serves: 200).
   */
  protected healthHttpCode(status: Record<string, unknown>): number {
    return ['ok', 'healthy'].includes(String(status.status ?? '').toLowerCase()) ? 200 : 503;
  }

  async #startHealthServer(): Promise<void> {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
      const send = (code: number, type: string, body: string) => {
        res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      };
      try {
        if (req.method === 'GET' && path === '/health') {
          const status = this.healthStatus();
          send(this.healthHttpCode(status), 'application/json', JSON.stringify(status));
        } else if (req.method === 'GET' && path === '/metrics') {
          send(200, 'text/plain; version=0.0.4; charset=utf-8', this.#metricsText(1));
        } else {
          send(404, 'application/json', '{"error":"not found"}');
        }
      } catch (err) {
        // A broken healthStatus() override must not kill the server.
        send(500, 'application/json', JSON.stringify({ status: 'error', error: String(err) }));
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.healthCheckPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : this.healthCheckPort;
    this.#log('INFO', `health check on http://${this.host}:${port}/health`);
  }

  // ----------------------------------------------------------------- registry
  /**
   * The record registered with REGISTRY_URL (the JSON body of POST /register, or the fields of the
   * Redis hash). Override to add fields the registry's readers need, keeping the base's:
   * `return { ...super.registrationRecord(), capabilities: ['ocr'] };`. Read each time the base
   * registers: at start(), after the constructor and before onStart().
   */
  protected registrationRecord(): Record<string, unknown> {
    return { name: this.name, host: this.host, port: this.port, health_check_port: this.healthCheckPort, pid: process.pid };
  }

  #registryDisplay(): string {
    // Never log a password that may be part of the URL.
    try {
      const u = new URL(this.#registryUrl ?? '');
      return `${u.protocol}//${u.host}${u.pathname}`;
    } catch {
      return '(invalid REGISTRY_URL)';
    }
  }

  async #sendRegistration(): Promise<void> {
    const url = this.#registryUrl!;
    if (/^rediss?:\/\//.test(url)) {
      const record = this.registrationRecord();
      const fields = Object.entries(record).flatMap(([k, v]) => [k, String(v)]);
      await this.#redis(url, [['HSET', `agent:${this.name}`, ...fields, 'registered_at', String(Date.now() / 1000)], ['SADD', 'agents', this.name]]);
    } else {
      await this.#http('POST', `${url.replace(/\/+$/, '')}/register`, JSON.stringify(this.registrationRecord()), 'application/json', 2000);
    }
  }

  /**
   * Begin registering with REGISTRY_URL (retried with back-off until it lands); start() calls it once the
   * health server is up, before onStart(). Idempotent. An agent whose registrationRecord() reads what its
   * onStart() sets overrides it to do nothing and calls super.startRegistration() once those are set.
   */
  protected startRegistration(): void {
    this.#registering ??= this.#registrationLoop();
  }

  /**
   * Register again, now: one request of registrationRecord(), rejecting when the registry does not take it
   * (no retry). For an agent that learns the registry has forgotten it (its own heartbeat answered 404 after
   * a registry restart). Does nothing without REGISTRY_URL, or once the agent is stopping (its deregistration
   * may be under way). stop() deregisters what it registered, as it does the base's own registration.
   */
  protected registerOnce(): Promise<void> {
    if (!this.#registryUrl || this.#stop.signal.aborted) return Promise.resolve();
    const request = this.#sendRegistration().then(
      () => {
        this.registered = true;
        this.#log('INFO', `registered again with ${this.#registryDisplay()}`);
      },
      (err) => {
        // As for the first registration: one that timed out may have landed, and stop() deregisters it.
        if (mayHaveLanded(err)) this.#registrationUnsure = true;
        throw err;
      },
    );
    const settled = request.catch(() => {}).finally(() => this.#reregistering.delete(settled));
    this.#reregistering.add(settled);
    return request;
  }

  async #registrationLoop(): Promise<void> {
    if (!this.#registryUrl) {
      this.#log('INFO', 'no REGISTRY_URL set; not registering');
      return;
    }
    let delay = 200;
    while (!this.#stop.signal.aborted) {
      try {
        await this.#sendRegistration();
        this.registered = true;
        this.#log('INFO', `registered with ${this.#registryDisplay()}`);
        return;
      } catch (err) {
        if (mayHaveLanded(err)) this.#registrationUnsure = true;
        this.#log('WARNING', `registration with ${this.#registryDisplay()} failed (${(err as Error).message}); retrying in ${delay} ms`);
      }
      await sleep(delay, this.#stop.signal);
      delay = Math.min(delay * 2, 5000);
    }
  }

  async #deregister(): Promise<void> {
    if (!this.#registryUrl || !(this.registered || this.#registrationUnsure)) return;
    try {
      if (/^rediss?:\/\//.test(this.#registryUrl)) {
        await this.#redis(this.#registryUrl, [['DEL', `agent:${this.name}`], ['SREM', 'agents', this.name]]);
      } else {
        await this.#http('POST', `${this.#registryUrl.replace(/\/+$/, '')}/deregister`, JSON.stringify({ name: this.name }), 'application/json', 1000);
      }
      this.registered = false;
      this.#registrationUnsure = false;
    } catch (err) {
      this.#log('WARNING', `deregistration failed: ${(err as Error).message}`);
    }
  }

  /** Send commands to Redis over RESP on a raw socket; reject on an error reply. */
  #redis(url: string, commands: string[][]): Promise<void> {
    const u = new URL(url);
    if (u.protocol === 'rediss:') return Promise.reject(new Error('rediss:// (TLS) registries are not supported by the reference base'));
    const prelude: string[][] = [];
    if (u.password) prelude.push(u.username ? ['AUTH', decodeURIComponent(u.username), decodeURIComponent(u.password)] : ['AUTH', decodeURIComponent(u.password)]);
    const db = u.pathname.replace(/^\/+|\/+$/g, '');
    if (db && db !== '0') prelude.push(['SELECT', db]);
    const all = [...prelude, ...commands];
    const payload = all
      .map((cmd) => `*${cmd.length}\r\n${cmd.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
      .join('');
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) });
      sock.setTimeout(2000, () => sock.destroy(Object.assign(new Error('redis timed out'), { code: 'ETIMEDOUT' })));
      let buffered = '';
      let replies = 0;
      sock.on('connect', () => sock.write(payload));
      sock.on('data', (chunk) => {
        buffered += chunk.toString('utf8');
        // Count complete replies; every command here answers with one line (+, -, :) or a bulk string.
        let nl: number;
        while ((nl = buffered.indexOf('\r\n')) >= 0) {
          const line = buffered.slice(0, nl);
          if (line.startsWith('-')) {
            sock.destroy();
            return reject(new Error(`redis: ${line.slice(1)}`));
          }
          if (line.startsWith('$')) {
            const size = Number(line.slice(1));
            const need = nl + 2 + (size >= 0 ? size + 2 : 0);
            if (buffered.length < need) break;
            buffered = buffered.slice(need);
          } else {
            buffered = buffered.slice(nl + 2);
          }
          if (++replies === all.length) {
            sock.end();
            return resolve();
          }
        }
      });
      sock.on('error', reject);
      sock.on('close', () => reject(new Error('redis closed the connection')));
    });
  }

  // ------------------------------------------------------------------ metrics
  /** Record a sample; names ending in _total are counters (added), others gauges (set). */
  reportMetric(name: string, value: number, labels: Labels = {}): void {
    const key = `${name}{${Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',')}}`;
    const old = this.#metrics.get(key);
    const next = name.endsWith('_total') ? (old?.value ?? 0) + value : value;
    this.#metrics.set(key, { name, labels, value: next });
  }

  #metricsText(up: number): string {
    const agent = `agent="${escapeLabel(this.name)}"`;
    const lines = [
      '# TYPE agent_up gauge',
      `agent_up{${agent}} ${up}`,
      '# TYPE agent_uptime_seconds gauge',
      `agent_uptime_seconds{${agent}} ${((Date.now() - this.startTime) / 1000).toFixed(3)}`,
    ];
    const typed = new Set<string>();
    for (const [, m] of [...this.#metrics.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!typed.has(m.name)) {
        typed.add(m.name);
        lines.push(`# TYPE ${m.name} ${m.name.endsWith('_total') ? 'counter' : 'gauge'}`);
      }
      const labels = [agent, ...Object.entries(m.labels).filter(([k]) => k !== 'agent').map(([k, v]) => `${k}="${escapeLabel(v)}"`)];
      lines.push(`${m.name}{${labels.join(',')}} ${m.value}`);
    }
    return `${lines.join('\n')}\n`;
  }

  async #pushMetrics(up: number): Promise<void> {
    if (!this.#metricsUrl) return;
    const url = `${this.#metricsUrl.replace(/\/+$/, '')}/metrics/job/${encodeURIComponent(this.name)}`;
    await this.#http('PUT', url, this.#metricsText(up), 'text/plain; version=0.0.4', 2000);
  }

  async #metricsLoop(): Promise<void> {
    if (!this.#metricsUrl) return;
    const seconds = Number(process.env.METRICS_PUSH_INTERVAL ?? '5');
    const interval = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 5000;
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      try {
        await this.#pushMetrics(1);
        failures = 0;
      } catch (err) {
        failures += 1;
        if (failures === 1 || failures === 10 || failures % 100 === 0) {
          this.#log('WARNING', `metrics push to ${this.#metricsUrl} failed: ${(err as Error).message}`);
        }
      }
      // Retry quickly until the first push lands, then settle to the interval.
      await sleep(failures === 0 ? interval : Math.min(interval, 500 * failures), this.#stop.signal);
    }
  }

  #http(method: string, url: string, body: string, contentType: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method, headers: { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) }, timeout: timeoutMs }, (res) => {
        res.resume();
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve();
          else reject(new Error(`HTTP ${code} from ${url}`));
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }

  // ---------------------------------------------------------------- lifecycle
  /** One iteration of the main loop; subclasses put their periodic work here. */
  protected runOnce(): void | Promise<void> {}

  /** Called by run() once the health server is up, before the first runOnce(). */
  protected onStart(): void | Promise<void> {}

  /** Called by stop() after the loop ended, before the servers close. */
  protected onStop(): void | Promise<void> {}

  /**
   * Serve health, register, push metrics, call onStart(), and start calling runOnce() every
   * intervalMs; resolves once all of that runs (rejects when the health port cannot be served).
   * Idempotent: a second call returns the first one's promise.
   */
  start(): Promise<void> {
    this.#starting ??= this.#doStart();
    return this.#starting;
  }

  async #doStart(): Promise<void> {
    process.on('SIGTERM', this.#signalHandler);
    process.on('SIGINT', this.#signalHandler);
    liveAgents().add(this);
    try {
      await this.#startHealthServer();
    } catch (err) {
      this.#log('ERROR', `cannot serve health on ${this.host}:${this.healthCheckPort}: ${(err as Error).message}`);
      process.exitCode = 1;
      await this.stop();
      throw err;
    }
    this.startRegistration();
    void this.#metricsLoop();
    this.#log('INFO', `${this.name} running (port ${this.port}, health port ${this.healthCheckPort})`);
    try {
      await this.onStart();
    } catch (err) {
      this.#log('ERROR', `onStart failed: ${(err as Error).stack ?? err}`);
    }
    this.#loop = this.#mainLoop();
  }

  async #mainLoop(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      try {
        await this.runOnce();
      } catch (err) {
        this.#log('ERROR', `runOnce failed: ${(err as Error).stack ?? err}`);
      }
      await sleep(this.#intervalMs, this.#stop.signal);
    }
  }

  /** start(), then wait until the agent is stopped (SIGTERM, SIGINT or stop()). */
  async run(): Promise<void> {
    try {
      await this.start();
    } catch {
      return; // already logged, exit code set and stopped
    }
    await this.#loop;
    await this.stop();
  }

  /** Stop the loop, the servers and the timers; idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    this.#stop.abort();
    try {
      await this.onStop();
    } catch (err) {
      this.#log('WARNING', `onStop failed: ${(err as Error).message}`);
    }
    const server = this.#server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // (a re-registration sent before the stop lands first, so the deregistration is the registry's last word)
    // The first registration too: one still in flight (the loop ends at its next turn) answers or times out first.
    await Promise.allSettled([...this.#reregistering, ...(this.#registering ? [this.#registering] : [])]);
    await this.#deregister();
    if (this.#metricsUrl) {
      try {
        await this.#pushMetrics(0);
      } catch (err) {
        this.#log('WARNING', `final metrics push failed: ${(err as Error).message}`);
      }
    }
    process.off('SIGTERM', this.#signalHandler);
    process.off('SIGINT', this.#signalHandler);
    liveAgents().delete(this);
    this.#log('INFO', `${this.name} stopped`);
  }

  #onSignal(signal: NodeJS.Signals): void {
    this.#log('INFO', `received ${signal}; stopping`);
    // If a subclass keeps the event loop alive (its own sockets or timers), still exit. The exit
    // keeps a code the agent set (`process.exitCode = 1` after a batch it could not deliver, or
    // in onStop() when its drain failed), as Node's own exit would: 0 when it set none.
    setTimeout(() => process.exit(), STOP_GRACE_MS).unref();
    // Every agent of the process got the signal too: exit once all of them have stopped.
    const all = new Set([this, ...liveAgents()]);
    Promise.allSettled([...all].map((a) => a.stop())).then(() => process.exit());
  }
}
