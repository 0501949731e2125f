// A removed registration sent `port: this.#port` (a field the constructor set from its options)
// or `port: this.cfg.RELAY_PORT` (a config object the constructor takes), where the agent's kept
// server listens; the base registered port 0 instead (no AGENT_PORT, none given to super()), a
// dead port for callers looking the agent up (probe-node54: SessionVault, LedgerConsumer). Each
// fixture, legacy file and _v2 (also under AGENT_PORT, as a deployment or the validator starts
// it), is started for real: the registered port answers.
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

// Each agent, the variable of the port it registers, and a caller's request there that only the agent's own server answers.
const agents = [
  { fixture: 'private-port-field-registered', agent: 'services/yard-gate.ts', ext: 'ts', portVar: 'YARD_GATE_PORT', request: '/swipes?badge=B-17&gate=north', method: 'POST', answer: 201 },
  // (Its start line prints the port it serves on: under AGENT_PORT that is AGENT_PORT, not RELAY_PORT.)
  { fixture: 'config-object-port-registered', agent: 'services/price-relay.mjs', ext: 'mjs', portVar: 'RELAY_PORT', request: '/prices', method: 'GET', answer: 200, logged: /relaying \S+ on :(\d+)/ },
  // A constructor parameter property with a default (probe-node65): its value before super() is the parameter's.
  { fixture: 'param-property-port-registered-kept-server', agent: 'services/stock-api.ts', ext: 'ts', portVar: 'STOCK_API_PORT', request: '/stock?sku=A-1', method: 'GET', answer: 200, logged: /serving on :(\d+)/ },
];

describe.each(agents as Array<(typeof agents)[number] & { logged?: RegExp }>)('$fixture: a registered port the constructor computes', ({ fixture, agent, ext, portVar, request, method, answer, logged }) => {
  const v2 = agent.replace(`.${ext}`, `_v2.${ext}`);
  for (const [side, file, agentPort] of [['legacy', agent, false], ['_v2', v2, false], ['_v2 under AGENT_PORT', v2, true]] as const) {
    it(`${side}: the registered port answers`, async () => {
      const root = fixtureRepo(path.join(here, '..', 'fixtures', 'typescript', fixture), { [agent]: `input.${ext}`, [v2]: `expected.${ext}` }, roots);
      const registry = await recordingRegistry();
      const registrations = registry.registrations;
      const legacyPort = await freePort();
      const extra: Record<string, string> = { REGISTRY_URL: registry.url, [portVar]: String(legacyPort), YARD_JOURNAL_DIR: path.join(root, 'var') };
      const expectedPort = agentPort ? await freePort() : legacyPort;
      if (agentPort) extra.AGENT_PORT = String(expectedPort);
      // A caller looking the agent up sends its request to the registered port.
      let answered = 0;
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const port = registrations[0]?.port;
          if (port) await fetch(`http://127.0.0.1:${port}${request}`, { method }).then((r) => r.status === answer && (answered += 1), () => undefined);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      try {
        const { code, log } = await stopWhen(root, file, extra, () => registrations.length > 0 && answered > 0);
        expect(code, log).toBe(0);
        expect(registrations.map((r) => r.port), log).toEqual([expectedPort]);
        if (logged) expect(log.match(logged)?.[1], log).toBe(String(expectedPort));
      } finally {
        polling = false;
        await poller;
        registry.close();
      }
    }, 60_000);
  }
});
