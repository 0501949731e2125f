// Which variables of another file hold an instance of the agent (callerSignalTails, starterRegistrations):
// `new AlertRelay(...)`, or a static factory of its class that returns one (`AlertRelay.create(...)`,
// `AlertRelay.fromEnv()`). Any other static of the class (`AlertRelay.metricsExporter(9464)`, returning a
// MetricsExporter) builds none: its result's close() is not the agent's, and a file holding only that
// does not start the agent.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callerSignalTails, starterRegistrations } from '../src/lang/typescript/references.js';
import { filesRepo, removeRepos } from './helpers/fixture-repo.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

const AGENT = `import http from 'node:http';

export interface RelaySettings {
  channels: string[];
  retryMs: number;
}

/** Prometheus text for the relay's counters, on a port of its own. */
export class MetricsExporter {
  private readonly server: http.Server;

  constructor(private readonly port: number, read: () => string) {
    this.server = http.createServer((_req, res) => res.end(read()));
  }

  start(): void {
    this.server.listen(this.port, '127.0.0.1');
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// Relays alerts to the on-call channels.
export class AlertRelay {
  private sent = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly settings: RelaySettings) {}

  static async create(settings: RelaySettings) {
    const relay = new AlertRelay(settings);
    await relay.warmUp();
    return relay;
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env) {
    return new this({ channels: (env.RELAY_CHANNELS ?? 'pager').split(','), retryMs: Number(env.RELAY_RETRY_MS ?? 500) });
  }

  static metricsExporter(port: number): MetricsExporter {
    return new MetricsExporter(port, () => 'relay_up 1\\n');
  }

  async warmUp(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }

  start(): void {
    this.timer = setInterval(() => this.sent++, this.settings.retryMs);
  }

  async drain(): Promise<void> {
    clearInterval(this.timer);
  }
}
`;

describe("another file's instances of the agent", () => {
  it('a factory returning one counts, another static of the class does not (signal handlers awaiting their methods)', () => {
    const root = filesRepo(
      {
        'agents/alert-relay.ts': AGENT,
        'bin/relay.ts': `import { AlertRelay } from '../agents/alert-relay';

const relay = await AlertRelay.create({ channels: ['pager', 'mail'], retryMs: 500 });
const exporter = AlertRelay.metricsExporter(9464);
relay.start();
exporter.start();

process.on('SIGTERM', async () => {
  await exporter.close();
  console.log('metrics exporter closed');
  process.exit(0);
});

process.on('SIGINT', async () => {
  await relay.drain();
  console.log('relay drained');
  process.exit(0);
});
`,
      },
      roots,
    );
    const tails = callerSignalTails(root, path.join(root, 'agents/alert-relay.ts'), 'AlertRelay');
    // relay (AlertRelay.create's instance): its drain() and the line after it.
    expect(tails.map((t) => [t.signal, t.awaited, t.line, t.text])).toEqual([
      ['SIGINT', 'drain', 15, 'await relay.drain();'],
      ['SIGINT', 'drain', 16, "console.log('relay drained');"],
    ]);
    // (Had been: exporter, from AlertRelay.metricsExporter(), taken for an agent: its close() reported as the agent's.)
    expect(tails.some((t) => t.signal === 'SIGTERM')).toBe(false);
  });

  it('a starter registering the service builds the agent through a factory; a script holding only another static builds none', () => {
    const register = (build: string, started: string) => `import { AlertRelay } from '../agents/alert-relay';

const REGISTRY_URL = process.env.REGISTRY_URL ?? 'http://127.0.0.1:8500';
${build}
${started}.start();

async function register(): Promise<void> {
  await fetch(\`\${REGISTRY_URL}/register\`, { method: 'POST', body: JSON.stringify({ name: 'alert-relay', port: 9464 }) });
}

void register();
setInterval(register, 15_000);
`;
    const root = filesRepo(
      {
        'agents/alert-relay.ts': AGENT,
        'bin/main.ts': register('const relay = AlertRelay.fromEnv();', 'relay'),
        'bin/metrics-only.ts': register('const exporter = AlertRelay.metricsExporter(9464);', 'exporter'),
      },
      roots,
    );
    const found = starterRegistrations(root, path.join(root, 'agents/alert-relay.ts'), 'AlertRelay');
    expect(found.map((r) => [r.file, r.line, r.timers])).toEqual([['bin/main.ts', 8, [12]]]);
  });
});
