// Inline registrations (a `fetch(`${REGISTRY_URL}/register`, ...)` statement of start()) that the
// rewrite drops, started for real, legacy file and _v2, against a registry recording each record
// (probe-node58): the _v2's one registration carries what the legacy's did.
//  - DockSensorPoller registered `port: this.options.port`, a --port flag nothing of it listens on:
//    the base registered port 0 (only a registration method's ports reached the base).
//  - ScaleTicker's request ended in `.catch(() => undefined)`: it stayed beside the base's (two
//    registrations), and dropping it left onStart() a `try {} catch` around nothing.
//  - CarrierRateGateway registered `scheme: this.scheme`, set in start(): the request stayed beside
//    the base's; now registrationRecord() adds it and the base registers where the request was.
//  - YardGateRelay's register() sent `port: PUBLIC_PORT`, a sidecar's port it never binds: port 0 too.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, freePort, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

type Ports = { port: number; health: number };
const agents = [
  {
    fixture: 'inline-registration-cli-port-nothing-listens',
    agent: 'workers/dock-sensor-poller.ts',
    ext: 'ts',
    launch: ({ port, health }: Ports) => ({ env: {}, args: ['--port', String(port), '--health-port', String(health), '--interval', '60000'] }),
    // The registered port is the --port flag's, on both sides.
    record: ({ port }: Ports) => ({ name: 'dock-sensor-poller', port }),
  },
  {
    fixture: 'inline-registration-swallowed-failure',
    agent: 'workers/scale-ticker.ts',
    ext: 'ts',
    launch: ({ health }: Ports) => ({ env: { SCALE_HEALTH_PORT: String(health), HEALTH_CHECK_PORT: String(health) }, args: [] }),
    record: ({ health }: Ports) => ({ name: 'scale-ticker', port: health, health_check_port: health }),
  },
  {
    fixture: 'inline-registration-field-set-in-start',
    agent: 'services/carrier-rate-gateway.mjs',
    ext: 'mjs',
    launch: ({ port }: Ports) => ({ env: { RATE_PORT: String(port) }, args: [] }),
    record: ({ port }: Ports) => ({ name: 'carrier-rate-gateway', port, scheme: 'http' }),
  },
  {
    // (A registration method, not inline: a module constant's port nothing of the agent binds went silently too.)
    fixture: 'registered-proxy-port-nothing-listens',
    agent: 'services/yard-gate-relay.ts',
    ext: 'ts',
    launch: ({ port, health }: Ports) => ({ env: { GATE_PUBLIC_PORT: String(port), GATE_STATUS_PORT: String(health) }, args: [] }),
    record: ({ port }: Ports) => ({ name: 'yard-gate-relay', port }),
  },
];

describe.each(agents)('$fixture: the registration the base now makes', ({ fixture, agent, ext, launch, record }) => {
  const v2 = agent.replace(`.${ext}`, `_v2.${ext}`);
  for (const [side, file] of [['legacy', agent], ['_v2', v2]] as const) {
    it(`${side}: one registration, with the legacy's record`, async () => {
      const root = fixtureRepo(path.join(here, '..', 'fixtures', 'typescript', fixture), { [agent]: `input.${ext}`, [v2]: `expected.${ext}` }, roots);
      const registry = await recordingRegistry();
      const ports = { port: await freePort(), health: await freePort() };
      const { env, args } = launch(ports);
      try {
        // A moment after the first registration: a second, racing one would land by then.
        let seen = 0;
        const { code, log } = await stopWhen(root, file, { REGISTRY_URL: registry.url, ...env }, () => registry.registrations.length > 0 && (seen ||= Date.now()) < Date.now() - 1500, args);
        expect(code, log).toBe(0);
        expect(registry.registrations, log).toHaveLength(1);
        expect(registry.registrations[0], log).toMatchObject(record(ports));
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});
