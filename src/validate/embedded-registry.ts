// The embedded service registry: a real HTTP server on 127.0.0.1 that agents
// register with (POST /register) and that the registry check queries
// (GET /agents/<name>) exactly as it queries an external HTTP registry.
// Every started agent gets a scope of its own (REGISTRY_URL = <url>/s/<scope>), so a
// registration can only come from that agent: the legacy baseline run, an earlier
// run of it or another agent of the same name register elsewhere.
import http from 'node:http';
import { closeServer, listen, readBody, send } from './http-util.js';
import { serveInThread, type Served } from './server-thread.js';

export interface Registration {
  name: string;
  /** The scope it registered in ('' for the unscoped root). */
  scope: string;
  /** Everything the agent sent (host, port, health_check_port, pid, ...). */
  record: Record<string, unknown>;
  /** Epoch milliseconds of the registration. */
  at: number;
}

export interface EmbeddedRegistry {
  url: string;
  port: number;
  /** The URL an agent gets: a scope of its own under this registry. */
  scoped(scope: string): string;
  registrations(): Registration[];
  /** Every deregistration asked for, held or not: (scope, name) in the order they came. */
  deregistrations(): Array<{ scope: string; name: string }>;
  close(): Promise<void>;
}

/** The registry, in its own thread where the tool runs built (see server-thread.ts), else in this one. */
export async function startEmbeddedRegistry(): Promise<EmbeddedRegistry> {
  const served = (await serveInThread('registry')) ?? (await serveEmbeddedRegistry());
  return {
    url: `http://127.0.0.1:${served.port}`,
    port: served.port,
    scoped: (scope) => `http://127.0.0.1:${served.port}/s/${encodeURIComponent(scope)}`,
    registrations: () => served.query('registrations') as Registration[],
    deregistrations: () => served.query('deregistrations') as Array<{ scope: string; name: string }>,
    close: () => served.close(),
  };
}

/** Serve the registry in this thread: its port, its state's answers, its close. */
export async function serveEmbeddedRegistry(): Promise<Served> {
  const agents = new Map<string, Registration>();
  // The names agents asked to deregister, found or not (GET <scope>/deregistered): a name that
  // differs from the one registered is what the deregister check then names, not a signal handler.
  const deregistered: Array<{ scope: string; name: string }> = [];
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://registry');
      let parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      let scope = '';
      if (parts[0] === 's' && parts.length >= 2) {
        scope = parts[1]!;
        parts = parts.slice(2);
      }
      const key = (name: string) => `${scope}\0${name}`;
      if (req.method === 'POST' && (parts[0] === 'register' || parts[0] === 'deregister') && parts.length === 1) {
        let record: unknown;
        try {
          record = JSON.parse(await readBody(req));
        } catch {
          return send(res, 400, { error: 'body is not JSON' });
        }
        const name = (record as { name?: unknown })?.name;
        if (typeof name !== 'string' || name === '') return send(res, 400, { error: 'field "name" is required' });
        if (parts[0] === 'register') {
          agents.set(key(name), { name, scope, record: record as Record<string, unknown>, at: Date.now() });
          return send(res, 200, { registered: name });
        }
        agents.delete(key(name));
        deregistered.push({ scope, name });
        return send(res, 200, { deregistered: name });
      }
      if (req.method === 'GET' && parts[0] === 'deregistered' && parts.length === 1) {
        return send(res, 200, { names: deregistered.filter((d) => d.scope === scope).map((d) => d.name) });
      }
      if (req.method === 'GET' && parts[0] === 'agents' && parts.length === 1) {
        return send(res, 200, { agents: [...agents.values()].filter((a) => a.scope === scope) });
      }
      if (req.method === 'GET' && parts[0] === 'agents' && parts.length === 2) {
        const found = agents.get(key(parts[1]!));
        return found ? send(res, 200, found) : send(res, 404, { error: `${parts[1]} is not registered` });
      }
      if (req.method === 'GET' && parts.length === 1 && parts[0] === 'health') return send(res, 200, { status: 'ok' });
      send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    } catch (err) {
      send(res, 500, { error: (err as Error).message });
    }
  });
  const port = await listen(server);
  return {
    port,
    query: (what) => (what === 'registrations' ? [...agents.values()] : what === 'deregistrations' ? [...deregistered] : undefined),
    close: () => closeServer(server),
  };
}
