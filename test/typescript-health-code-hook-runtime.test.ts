// The HTTP code of each health status, legacy against _v2, for real (node, the reference BaseAgent):
// legacies whose /health answered one 2xx whatever status it reported (a 'degraded' the balancer must
// keep in rotation) now have their payload in healthStatus() and healthHttpCode() overridden to that
// code; the legacy answering 503 'down' beside 200 'degraded' keeps its server (no override). Each
// agent runs in both states its payload computes, legacy then _v2, and both must answer the same code
// with the same body status. The rate mirror's _v2 without its override answers 503: the proof can fail.
import http from 'node:http';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveAgent, freePort } from './helpers/ts-agent-process.js';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';

const roots: string[] = [];
let origin: http.Server;
let originUrl = '';
// Nothing listens on port 9 (discard): a refused connection, the upstream "down".
const DOWN = 'http://127.0.0.1:9';

beforeAll(async () => {
  // One upstream for every case: a rate card, an empty ledger page, a GeoIP table.
  origin = http.createServer((req, res) => {
    if (req.url?.startsWith('/rate-card')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version: 'r-1', currency: 'EUR', lanes: { 'FRA-LHR': 1.25 } }));
    if (req.url?.startsWith('/changes')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ changes: [], next: '0' }));
    if (req.url?.startsWith('/api/v2/status.json')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: { indicator: 'none' } }));
    // A Pushgateway taking any group.
    if (req.method === 'PUT' && req.url?.startsWith('/metrics/job/')) return void req.resume().on('end', () => res.writeHead(200).end());
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});
afterAll(() => {
  origin?.close();
  removeRepos(roots);
});

type Answer = { code: number; status: unknown } | null;

async function probe(port: number): Promise<Answer> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    return { code: res.status, status: ((await res.json()) as { status?: unknown }).status };
  } catch {
    return null;
  }
}

/** Runs `file` with `env` until its /health on `port` reports `want` (20 s at most), then SIGTERM: that answer, or the last one. */
async function answerIn(root: string, file: string, env: Record<string, string>, port: number, want: string): Promise<{ answer: Answer; log: string }> {
  let answer: Answer = null;
  const { log } = await driveAgent(root, file, env, [], async (child, _log, exited) => {
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null) {
      answer = (await probe(port)) ?? answer;
      if (answer?.status === want) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGTERM');
    return exited;
  });
  return { answer, log };
}

/** A backup directory whose one snapshot is fresh ("ok") or three days old ("stale"), for the backup freshness exporter. */
function snapshotEnv(state: string, root: string, p: { legacy: number; base: number }): Record<string, string> {
  const dir = path.join(root, `backups-${state}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'orders-nightly.dump');
  writeFileSync(file, 'PGDMP');
  if (state === 'stale') utimesSync(file, new Date(Date.now() - 3 * 86_400_000), new Date(Date.now() - 3 * 86_400_000));
  return { BACKUP_DIR: dir, BACKUP_MAX_AGE_SECONDS: '3600', BACKUP_SCAN_MS: '200', BACKUP_EXPORTER_PORT: String(p.legacy), HEALTH_CHECK_PORT: String(p.base) };
}

interface Case {
  fixture: string;
  agent: string;
  /** The environment in that state (legacy and _v2 alike), given the legacy's health port and the base's HEALTH_CHECK_PORT. */
  env(state: string, root: string, ports: { legacy: number; base: number }): Record<string, string>;
  /** Where the _v2 answers /health: the base's HEALTH_CHECK_PORT, or the legacy's port (its server kept). */
  v2Answers: 'base' | 'legacy';
  codes: Record<string, number>;
}

/** The locker sync (lib/probe.ts's helper on HEALTH_CHECK_PORT): 'degraded' while its vendor API is down. */
const lockerEnv: Case['env'] = (state, _root, p) => ({ LOCKER_VENDOR_URL: state === 'ok' ? '' : DOWN, LOCKER_SYNC_MS: '200', HEALTH_CHECK_PORT: String(p.legacy) });

const CASES: Case[] = [
  {
    fixture: 'health-degraded-200-code-hook-rate-mirror',
    agent: 'services/rate-mirror.ts',
    v2Answers: 'base',
    codes: { ok: 200, degraded: 200 },
    env: (state, root, p) => ({
      RATE_ORIGIN_URL: state === 'ok' ? `${originUrl}/rate-card` : `${DOWN}/rate-card`,
      RATE_CACHE_DIR: path.join(root, 'cache'),
      RATE_PULL_MS: '200',
      RATE_STALE_AFTER: '2',
      RATE_MIRROR_HEALTH_PORT: String(p.legacy),
      HEALTH_CHECK_PORT: String(p.base),
    }),
  },
  {
    fixture: 'health-degraded-200-not-found-after-return',
    agent: 'services/ledger-sync.mjs',
    v2Answers: 'base',
    codes: { ok: 200, degraded: 200 },
    env: (state, root, p) => ({ LEDGER_API: state === 'ok' ? originUrl : DOWN, LEDGER_STATE_DIR: path.join(root, 'var'), LEDGER_HEALTH_PORT: String(p.legacy), HEALTH_CHECK_PORT: String(p.base) }),
  },
  {
    // The route answered on the router's port; the _v2's /health is the base's, on HEALTH_CHECK_PORT.
    fixture: 'router-json-code-first-degraded-200',
    agent: 'lib/spool-shipper.js',
    v2Answers: 'base',
    codes: { ok: 200, degraded: 200 },
    env: (state, root, p) => {
      // The archive mount away: its directory's parent is a file (ENOTDIR on every ship).
      writeFileSync(path.join(root, 'not-a-mount'), '');
      return {
        SHIP_SPOOL_DIR: path.join(root, 'spool'),
        SHIP_ARCHIVE_DIR: state === 'ok' ? path.join(root, 'archive') : path.join(root, 'not-a-mount', 'archive'),
        SHIP_MS: '200',
        SHIPPER_PORT: String(p.legacy),
        HEALTH_CHECK_PORT: String(p.base),
      };
    },
  },
  {
    // No code set on the /health path (a header, then res.end(body)): Node's 200, 'degraded' included.
    fixture: 'health-degraded-default-code-tcp-feed',
    agent: 'services/quote-feed.js',
    v2Answers: 'base',
    codes: { ok: 200, degraded: 200 },
    env: (state, root, p) => ({
      // Connected: any listening socket will do (the origin's); without it: nothing listens on port 9.
      QUOTE_GATEWAY: state === 'ok' ? originUrl.replace('http://', '') : '127.0.0.1:9',
      QUOTE_JOURNAL_DIR: path.join(root, 'var'),
      QUOTE_HEALTH_PORT: String(p.legacy),
      HEALTH_CHECK_PORT: String(p.base),
    }),
  },
  {
    // 503 'down' without a table, 200 'degraded' with a stale one: no override, the server stays.
    fixture: 'health-degraded-200-down-503-no-code-hook',
    agent: 'lib/geoip-refresher.js',
    v2Answers: 'legacy',
    codes: { down: 503, degraded: 200 },
    env: (state, root, p) => {
      const dataDir = path.join(root, `geoip-${state}`);
      mkdirSync(dataDir, { recursive: true });
      if (state === 'degraded') writeFileSync(path.join(dataDir, 'ranges.csv'), '16777216,16777471,AU\n');
      return { GEOIP_MIRROR_URL: `${DOWN}/ranges.csv`, GEOIP_DATA_DIR: dataDir, GEOIP_STALE_AFTER: '1', GEOIP_HEALTH_PORT: String(p.legacy), HEALTH_CHECK_PORT: String(p.base) };
    },
  },
  {
    // probe-node66: a payload whose Object.fromEntries callback destructures its own parameters
    // (`([name, v]) => ...`), 'degraded' answered 200: it moves, and the code hook answers 200.
    fixture: 'health-degraded-200-payload-callback-destructures',
    agent: 'services/vendor-status-watcher.ts',
    v2Answers: 'base',
    codes: { ok: 200, degraded: 200 },
    env: (state, _root, p) => ({
      STATUS_VENDORS: state === 'ok' ? `up=${originUrl}` : `down=${DOWN}`,
      STATUS_POLL_MS: '200',
      STATUS_WATCHER_HEALTH_PORT: String(p.legacy),
      HEALTH_CHECK_PORT: String(p.base),
    }),
  },
  {
    // probe-node66: a server kept for its own /metrics whose /health answers 503 'behind' over the
    // backlog: mirrored into healthStatus(), the base's /health (where the deployment probes now) says so too.
    fixture: 'metrics-server-health-503-lag-mirrored',
    agent: 'services/audit-spool-shipper.ts',
    v2Answers: 'base',
    codes: { ok: 200, behind: 503 },
    env: (state, root, p) => {
      const spool = path.join(root, `spool-${state}`);
      mkdirSync(spool, { recursive: true });
      if (state === 'behind') for (const n of [1, 2, 3]) writeFileSync(path.join(spool, `000${n}.json`), JSON.stringify({ event: 'login', n }));
      return { AUDIT_SPOOL_DIR: spool, AUDIT_STORE_URL: `${DOWN}/audit/_doc`, AUDIT_MAX_BACKLOG: '1', AUDIT_SHIP_MS: '200', AUDIT_SHIPPER_PORT: String(p.legacy), HEALTH_CHECK_PORT: String(p.base) };
    },
  },
  {
    // probe-node66: no server of its own, /health served by the platform helper of lib/health.ts from
    // () => this.status(): 503 'degraded' while reports go unsent. Mirrored into healthStatus(), the
    // base's /health says so too (before, it answered 200 ok).
    fixture: 'helper-health-server-status-method-mirrored',
    agent: 'services/usage-reporter.ts',
    v2Answers: 'base',
    codes: { ok: 200, degraded: 503 },
    env: (state, root, p) => {
      mkdirSync(path.join(root, 'uploads', 'tenant-a'), { recursive: true });
      writeFileSync(path.join(root, 'uploads', 'tenant-a', 'clip.mp4'), 'x'.repeat(2048));
      return {
        UPLOAD_ROOT: path.join(root, 'uploads'),
        BILLING_USAGE_URL: state === 'ok' ? `${originUrl}/changes` : `${DOWN}/usage`,
        USAGE_REPORT_MS: '200',
        USAGE_HEALTH_PORT: String(p.legacy),
        HEALTH_CHECK_PORT: String(p.base),
      };
    },
  },
  {
    // probe-node66 DiskExporter's shape: a CommonJS exporter (bin starter) whose server, kept for its
    // /metrics and /-/healthy, answers /health and /-/healthy in one branch, 503 'stale' while the newest
    // snapshot is too old. Mirrored into healthStatus(), the base's /health says so too (before, 200 ok).
    fixture: 'cjs-metrics-server-health-aliases-one-branch-mirrored',
    agent: 'exporters/backup-freshness-exporter.cjs',
    v2Answers: 'base',
    codes: { ok: 200, stale: 503 },
    env: (state, root, p) => snapshotEnv(state, root, p),
  },
  {
    // A health server started by a helper of lib/probe.ts answering 200 whatever the status, the
    // status 'degraded' while the vendor's API fails: the call goes, the payload moves, and the code
    // hook answers 200 (before, the _v2 answered 503 'degraded'). Both read HEALTH_CHECK_PORT.
    fixture: 'helper-health-server-degraded-200-code-kept',
    agent: 'agents/locker_occupancy_sync.ts',
    v2Answers: 'legacy',
    codes: { ok: 200, degraded: 200 },
    env: lockerEnv,
  },
  {
    // The same helper and agent, the status a field of the agent (`status: this.health`) rather than a literal:
    // the override answers 200 for any value, as the helper did (before, the run failed "overlapping edits").
    fixture: 'helper-health-server-state-status-200-code-kept',
    agent: 'agents/locker_occupancy_sync.ts',
    v2Answers: 'legacy',
    codes: { ok: 200, degraded: 200 },
    env: lockerEnv,
  },
  {
    // probe-node67: a CommonJS pusher whose /health comes from a REQUIRED helper (lib/health-server.cjs)
    // answering check(): 503 'failing' while pushes fail, 500 'error' when check() throws (an unreadable
    // summary). Mirrored into healthStatus(), the base's /health answers alike (before: not seen, 200 ok).
    fixture: 'cjs-required-helper-health-status-throws-mirrored',
    agent: 'exporters/settlement-pusher.cjs',
    v2Answers: 'base',
    codes: { ok: 200, failing: 503, error: 500 },
    env: (state, root, p) => {
      const summary = path.join(root, `summary-${state}.json`);
      writeFileSync(summary, state === 'error' ? '{"batches": 3, "failed": ' : JSON.stringify({ batches: 3, failed: 0, amountMinorByCurrency: { EUR: 125000 }, lastRunAt: new Date().toISOString() }));
      return {
        SETTLEMENT_SUMMARY: summary,
        SETTLEMENT_GATEWAY_URL: state === 'failing' ? DOWN : originUrl,
        SETTLEMENT_HEALTH_PORT: String(p.legacy),
        HEALTH_CHECK_PORT: String(p.base),
      };
    },
  },
  {
    // probe-node67: a payload with one field per partition spread in (`...Object.fromEntries(... [`p${p}_committed`, ...])`),
    // 'degraded' (lag over LAG_DEGRADED) answered 200: it moves, and the code hook answers 200.
    fixture: 'health-degraded-200-fromentries-spread-code-hook',
    agent: 'consumers/ledger-consumer.ts',
    v2Answers: 'base',
    codes: { ok: 200, degraded: 200 },
    env: (state, root, p) => ({
      REST_PROXY_URL: DOWN,
      LEDGER_FILE: path.join(root, 'var', 'ledger.jsonl'),
      // (No lag is over -1: every round reports degraded.)
      ...(state === 'degraded' ? { LAG_DEGRADED: '-1' } : {}),
      HEALTH_PORT: String(p.legacy),
      HEALTH_CHECK_PORT: String(p.base),
    }),
  },
  {
    // probe-node67: the payload's status comes from `...this.summary()` ('degraded' once a job exited
    // non-zero), answered 200 whatever it said: it moves, and the code hook answers 200.
    fixture: 'health-status-method-spread-degraded-200-code-hook',
    agent: 'scheduler/maintenance-cron.ts',
    v2Answers: 'base',
    codes: { ok: 200, degraded: 200 },
    env: (state, root, p) => {
      const jobs = path.join(root, `jobs-${state}.json`);
      const exit = state === 'ok' ? 0 : 3;
      writeFileSync(jobs, JSON.stringify([
        { name: 'expire-holds', cron: '*/5 * * * *', command: [process.execPath, '-e', `process.exit(${exit})`], timeoutS: 30, runAtStart: true },
        { name: 'vacuum-ledger', cron: '0 4 * * 0', command: [process.execPath, '-e', ''], timeoutS: 30 },
      ]));
      return { CRON_JOBS: jobs, CRON_PORT: String(p.legacy), HEALTH_CHECK_PORT: String(p.base) };
    },
  },
];

describe('the HTTP code of each health status: legacy and _v2 alike', () => {
  for (const c of CASES) {
    for (const state of Object.keys(c.codes)) {
      it(`${c.fixture}: "${state}"`, async () => {
        const root = fixtureRepo(c.fixture, c.agent, roots);
        const ports = { legacy: await freePort(), base: await freePort() };
        const before = await answerIn(root, c.agent, c.env(state, root, ports), ports.legacy, state);
        const after = await answerIn(root, v2(c.agent), c.env(state, root, ports), c.v2Answers === 'base' ? ports.base : ports.legacy, state);
        expect(before.answer, before.log).toEqual({ code: c.codes[state], status: state });
        expect(after.answer, `the _v2 answers as the legacy did:\n${after.log}`).toEqual(before.answer);
      }, 90_000);
    }
  }

  // Each proof can fail: the _v2 with its mirror or code hook taken out answers otherwise.
  const STRIPPED: { title: string; fixture: string; strip: RegExp; member: string; state: string; want: { code: number; status: string } }[] = [
    { title: "the rate mirror's _v2 without its healthHttpCode() override answers 503 'degraded'", fixture: 'health-degraded-200-code-hook-rate-mirror', strip: /\n  protected override healthHttpCode\([\s\S]*?\n  }\n/, member: 'healthHttpCode', state: 'degraded', want: { code: 503, status: 'degraded' } },
    { title: "the usage reporter's _v2 without the mirrored healthStatus() answers 200 'ok' while the legacy said 503 'degraded'", fixture: 'helper-health-server-status-method-mirrored', strip: /\n  protected override healthStatus\([\s\S]*?\n  }\n/, member: 'healthStatus', state: 'degraded', want: { code: 200, status: 'ok' } },
    { title: "the backup exporter's _v2 without the mirrored healthStatus() answers 200 'ok' while the legacy said 503 'stale'", fixture: 'cjs-metrics-server-health-aliases-one-branch-mirrored', strip: /\n  healthStatus\(\) \{[\s\S]*?\n  }\n/, member: 'healthStatus', state: 'stale', want: { code: 200, status: 'ok' } },
    { title: "the maintenance cron's _v2 without its healthHttpCode() override answers 503 'degraded' where the legacy answered 200", fixture: 'health-status-method-spread-degraded-200-code-hook', strip: /\n  protected override healthHttpCode\([\s\S]*?\n  }\n/, member: 'healthHttpCode', state: 'degraded', want: { code: 503, status: 'degraded' } },
    { title: "the settlement pusher's _v2 without the mirrored healthStatus() answers 200 'ok' while the legacy said 500 'error'", fixture: 'cjs-required-helper-health-status-throws-mirrored', strip: /\n  healthStatus\(\) \{[\s\S]*?\n  }\n/, member: 'healthStatus', state: 'error', want: { code: 200, status: 'ok' } },
    { title: "the locker sync's _v2 without its healthHttpCode() override answers 503 'degraded' where the helper answered 200", fixture: 'helper-health-server-degraded-200-code-kept', strip: /\n  protected override healthHttpCode\([\s\S]*?\n  }\n/, member: 'healthHttpCode', state: 'degraded', want: { code: 503, status: 'degraded' } },
    { title: "the locker sync's _v2 whose status is its field, without its healthHttpCode() override, answers 503 'degraded' where the helper answered 200", fixture: 'helper-health-server-state-status-200-code-kept', strip: /\n  protected override healthHttpCode\([\s\S]*?\n  }\n/, member: 'healthHttpCode', state: 'degraded', want: { code: 503, status: 'degraded' } },
  ];
  for (const t of STRIPPED) {
    it(t.title, async () => {
      const c = CASES.find((k) => k.fixture === t.fixture)!;
      const root = fixtureRepo(c.fixture, c.agent, roots);
      const file = path.join(root, v2(c.agent));
      const stripped = readFileSync(file, 'utf8').replace(t.strip, '\n');
      expect(stripped).not.toContain(t.member);
      writeFileSync(file, stripped);
      const ports = { legacy: await freePort(), base: await freePort() };
      const { answer, log } = await answerIn(root, v2(c.agent), c.env(t.state, root, ports), c.v2Answers === 'base' ? ports.base : ports.legacy, t.state);
      expect(answer, log).toEqual(t.want);
    }, 90_000);
  }




  it("the backup exporter's _v2 still answers /health and /-/healthy on its own kept server, 503 'stale' like the legacy", async () => {
    const c = CASES.find((k) => k.fixture === 'cjs-metrics-server-health-aliases-one-branch-mirrored')!;
    const root = fixtureRepo(c.fixture, c.agent, roots);
    const ports = { legacy: await freePort(), base: await freePort() };
    const ask = async (url: string) => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        return { code: res.status, status: ((await res.json()) as { status?: unknown }).status };
      } catch {
        return null;
      }
    };
    const answers: Record<string, Answer> = {};
    const { log } = await driveAgent(root, v2(c.agent), c.env('stale', root, ports), [], async (child, _log, exited) => {
      const end = Date.now() + 20_000;
      while (Date.now() < end && child.exitCode === null) {
        answers['/health'] = await ask(`http://127.0.0.1:${ports.legacy}/health`);
        answers['/-/healthy'] = await ask(`http://127.0.0.1:${ports.legacy}/-/healthy`);
        answers.base = await ask(`http://127.0.0.1:${ports.base}/health`);
        if (Object.values(answers).every((a) => a?.status === 'stale')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGTERM');
      return exited;
    });
    const stale = { code: 503, status: 'stale' };
    expect(answers, log).toEqual({ '/health': stale, '/-/healthy': stale, base: stale });
  }, 90_000);


});

// probe-node67: the relay's probes are fall-through labels of a switch (`case '/health': case '/-/healthy':`),
// 503 'stale' once no event was published for RELAY_STALE_MS. Each run publishes one event on the relay's
// own port (kept), then probes /health (the legacy's port, the base's for the _v2) until it says 'stale'.
describe('fall-through health labels of a kept server: legacy and _v2 alike', () => {
  const fixture = 'switch-fallthrough-health-labels-mirrored';
  const agent = 'relay/ws-fanout.ts';

  async function relayAnswer(root: string, file: string, state: 'ok' | 'stale', healthOn: 'relay' | 'base'): Promise<{ answer: Answer; log: string }> {
    const ports = { relay: await freePort(), base: await freePort() };
    let answer: Answer = null;
    const { log } = await driveAgent(root, file, { RELAY_PORT: String(ports.relay), RELAY_STALE_MS: '300', HEALTH_CHECK_PORT: String(ports.base) }, [], async (child, _log, exited) => {
      const end = Date.now() + 20_000;
      let published = state === 'ok';
      while (Date.now() < end && child.exitCode === null) {
        if (!published) {
          published = await fetch(`http://127.0.0.1:${ports.relay}/publish/payouts`, { method: 'POST', body: '{"payout":"po_1"}', signal: AbortSignal.timeout(1000) }).then((r) => r.status === 202, () => false);
        }
        answer = published ? ((await probe(healthOn === 'relay' ? ports.relay : ports.base)) ?? answer) : answer;
        if (answer?.status === state) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGTERM');
      return exited;
    });
    return { answer, log };
  }

  for (const [state, code] of [['ok', 200], ['stale', 503]] as const) {
    it(`${fixture}: "${state}"`, async () => {
      const root = fixtureRepo(fixture, agent, roots);
      const before = await relayAnswer(root, agent, state, 'relay');
      const after = await relayAnswer(root, v2(agent), state, 'base');
      expect(before.answer, before.log).toEqual({ code, status: state });
      expect(after.answer, `the _v2 answers as the legacy did:\n${after.log}`).toEqual(before.answer);
    }, 90_000);
  }

  it("the relay's _v2 without the mirrored healthStatus() answers 200 'ok' while the legacy said 503 'stale'", async () => {
    const root = fixtureRepo(fixture, agent, roots);
    const file = path.join(root, v2(agent));
    const unmirrored = readFileSync(file, 'utf8').replace(/\n  protected override healthStatus\([\s\S]*?\n  }\n/, '\n');
    expect(unmirrored).not.toContain('healthStatus');
    writeFileSync(file, unmirrored);
    const { answer, log } = await relayAnswer(root, v2(agent), 'stale', 'base').then(async (r) => r);
    // (It never says 'stale': the loop ends at its deadline with the last answer.)
    expect(answer, log).toEqual({ code: 200, status: 'ok' });
  }, 90_000);
});
