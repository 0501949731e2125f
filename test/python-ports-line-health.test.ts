// A legacy Python agent whose health is a raw TCP line protocol on port + 1 (a socket reading
// `{"action": "health_check"}` and answering a JSON status: select-health-branch-tested-first's ModelCacheAgent)
// is migrated right, yet in a repository of its own `migrate run` failed it on the ports check: "the _v2 does not
// listen on 5591 (a business port)". The legacy ignores AGENT_PORT (its 5590 and 5591 are fixed), the validator's
// probe of its own ports asks HTTP, ZMQ and UDP only, so nothing said 5591 was its health. (The suite's runtime
// cases start the _v2 alone, never the ports check against the legacy: there they passed.) The scan now reads the
// port its own health server binds from the code (AgentInfo.health_port) and the validator takes that port as the
// legacy's health port, confirmed by the fleet's JSON-line request. Only that port: a business listener on port + 1
// that answers an in-band health_check too (line-health-beside-business-port-plus-one's change feed) stays a
// business port, and a _v2 that drops it fails.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess, ensureBuilt, initGit, REPO } from './helpers/cli.js';
import { loadProfile } from '../src/profile/profile.js';
import { scanRepository } from '../src/discover/scan.js';
import { codeHealthPortOf } from '../src/validate/legacy-health-port.js';
import { checkPorts } from '../src/validate/checks/ports.js';

const FIXTURES = path.join(REPO, 'fixtures', 'python');
const roots: string[] = [];
beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Where a fixture's input goes (its case's path). */
const relOf = (fixture: string) => /^path:\s*(\S+)/m.exec(readFileSync(path.join(FIXTURES, fixture, 'case.yaml'), 'utf8'))![1]!;

/**
 * A fixture's input (and extra files) at its case's path, `v2` as its _v2 sibling when given, the reference BaseAgent,
 * committed; `beside`: other fixtures in the same repository first (as scripts/hands-off.mjs puts the whole fleet in one).
 */
function repo(fixture: string, v2?: string, beside: string[] = [], edit?: (root: string, rel: string) => void): { root: string; rel: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-py-line-health-'));
  roots.push(root);
  for (const f of [...beside, fixture]) {
    const dir = path.join(FIXTURES, f);
    if (existsSync(path.join(dir, 'repo'))) cpSync(path.join(dir, 'repo'), root, { recursive: true });
    mkdirSync(path.join(root, path.dirname(relOf(f))), { recursive: true });
    writeFileSync(path.join(root, relOf(f)), readFileSync(path.join(dir, 'input.py')));
  }
  const rel = relOf(fixture);
  if (v2 !== undefined) writeFileSync(path.join(root, rel.replace(/\.py$/, '_v2.py')), v2);
  cpSync(path.join(REPO, 'templates', 'runtime', 'python', 'common'), path.join(root, 'common'), { recursive: true });
  edit?.(root, rel);
  initGit(root);
  return { root, rel };
}

const SHORT = { MIGRATE_SURVIVAL_WINDOW_S: '2', MIGRATE_LEGACY_WINDOW_S: '2' };
type Check = { name: string; ok: boolean; detail: string };
const portsOf = (stdout: string) => {
  const r = JSON.parse(stdout).results[0];
  return { status: r.status as string, ports: (r.validation.checks as Check[]).find((c) => c.name === 'ports')! };
};
/** `migrate validate` of a fixture's agent with `v2` as its _v2: the exit code and the ports check. */
const validateWith = async (fixture: string, agent: string, v2: string) => {
  const { root } = repo(fixture, v2);
  const r = await cliInProcess(root, ['validate', agent, '--json'], { env: SHORT });
  return { code: r.exitCode, ...portsOf(r.stdout) };
};
/** A _v2 broken from the fixture's expected one fails validation on the ports check, naming `port` a business port. */
const failsOnBusinessPort = async (fixture: string, agent: string, expected: string, broken: string, port: number) => {
  expect(broken).not.toBe(expected);
  const { code, ports } = await validateWith(fixture, agent, broken);
  expect(ports.ok, ports.detail).toBe(false);
  expect(ports.detail).toContain(`does not listen on ${port} (a business port)`);
  expect(code).toBe(1);
};

describe('the health port a legacy agent binds for its own health server, read from its code', () => {
  it('the scan records it: its default and its offset from the agent port, or its parent\'s when an old base binds it', async () => {
    const profile = loadProfile('base-agent');
    const cases: Array<[string, unknown, string[]?]> = [
      ['select-health-branch-tested-first', { default: 5591, port_offset: 1, line: 45 }],
      ['thread-list-removed-health-loop', { default: 7481, line: 27 }],
      // Servers whose names say nothing of health (`probe_listener`, `ping_listener` answering "PING"): the port's name does.
      ['health-loop-ended-by-event-any-name', { default: 7481, line: 30 }],
      ['slots-tuple-lists-raw-ping-listener', { default: 7641, line: 29 }],
      ['line-health-beside-business-port-plus-one', { default: 5642, port_offset: 2, line: 46 }],
      // The health listener of the old in-house AgentBase the rewrite replaces: the agent's port (5760) + 1.
      ['old-base-hooks-no-longer-called', { default: 5761, port_offset: 1, line: 13, file: 'agents/legacy/agent_base.py' }],
      // Beside other fleets' AgentBase classes: the one its import names.
      ['old-base-hooks-no-longer-called', { default: 5761, port_offset: 1, line: 13, file: 'agents/legacy/agent_base.py' }, ['old-agentbase-super', 'old-base-request-loop-served-handle-request']],
      // Health on a module constant, not a health-port attribute: the HTTP probe finds it, the code says nothing.
      ['pyleft51-health-port-constant-in-log-line', undefined],
    ];
    for (const [fixture, want, beside] of cases) {
      const { root, rel } = repo(fixture, undefined, beside);
      const scan = await scanRepository(root, profile);
      expect(scan.agents.find((a) => a.file === rel)?.health_port, fixture).toEqual(want);
    }
  }, 60_000);

  it('the legacy run\'s health port: the default when it listened there, else the neighbour of its given port it derives', () => {
    const given = { port: 31584, health_port: 31588 };
    const fact = { default: 5591, port_offset: 1, line: 45 };
    // Its port fixed in the code (AGENT_PORT unread): 5590 and 5591.
    expect(codeHealthPortOf(fact, [5590, 5591], given)?.port).toBe(5591);
    // Its port from AGENT_PORT, health on that port + 1 (in the validator's block, not on its default).
    expect(codeHealthPortOf(fact, [31584, 31585], given)?.port).toBe(31585);
    // Nothing the code names listened (the server never started): nothing said.
    expect(codeHealthPortOf(fact, [5590], given)?.port).toBeUndefined();
    // Never one of the validator's own ports, which pair by themselves.
    expect(codeHealthPortOf({ default: 31588, line: 1 }, [31584, 31588], given)?.port).toBeUndefined();
    // Derived from AGENT_PORT: the legacy's port + 1 pairs with the _v2's health port, the _v2's port + 1 not required.
    const derived = new Map([[31585, 31593], [31586, 31594]]);
    const ok = checkPorts({ legacy: [31584, 31585], now: [31592, 31596], mapping: new Map([[31584, 31592], [31588, 31596]]), derived, health: { v2: 31596, legacy: 31585, how: 'read from its code (line 45)' }, ms: 1 });
    expect(ok.ok, ok.detail).toBe(true);
    expect(ok.detail).toContain("31585 (the legacy agent's health port, derived from its port, read from its code (line 45)) as 31596");
  });

  // probe-py70's ThumbnailPoolAgent: its port from an INI file ([agent] port = 6610, AGENT_PORT unread), its raw JSON-line
  // health on `self.port + 1` (the code says the offset, not the port): the ports check failed "the _v2 does not listen
  // on 6611 (a business port)", the health server the rewrite handed to the base read as business.
  it('a health port its code derives from a port read from elsewhere: the one pair of its listeners that offset apart', () => {
    const given = { port: 31584, health_port: 31588 };
    const fact = { port_offset: 1, line: 84 };
    expect(codeHealthPortOf(fact, [6610, 6611], given)).toEqual({ port: 6611, inferred: true });
    expect(codeHealthPortOf(fact, [6610, 6611], given)?.port).toBe(6611);
    // Its port from AGENT_PORT: the given port's neighbour, as before (not inferred).
    expect(codeHealthPortOf(fact, [31584, 31585], given)).toEqual({ port: 31585, inferred: false });
    // Two pairs one apart (6610/6611/6612): which is its health the code does not say; nor with no pair.
    expect(codeHealthPortOf(fact, [6610, 6611, 6612], given)).toBeUndefined();
    expect(codeHealthPortOf(fact, [6610, 6620], given)).toBeUndefined();
    // Never one of the validator's ports, nor a pair when it listened on the given port (then the offset is from that).
    expect(codeHealthPortOf(fact, [31587, 31588], given)).toBeUndefined();
    expect(codeHealthPortOf(fact, [31584, 6610, 6611], given)).toBeUndefined();
    // The ports check then pairs 6611 with the _v2's health port, 6610 (still bound from the INI file) with itself.
    const ok = checkPorts({ legacy: [6610, 6611], now: [6610, 31596], mapping: new Map([[31584, 31592], [31588, 31596]]), health: { v2: 31596, legacy: 6611, how: 'read from its code (line 84), its port 6610 + 1, answered the health probe' }, ms: 1 });
    expect(ok.ok, ok.detail).toBe(true);
    expect(ok.detail).toContain('31596 (legacy 6611, its health port, read from its code (line 84), its port 6610 + 1');
    // Without it (the legacy's health unknown) the check failed as the probe saw, and a _v2 that dropped 6610 still fails.
    expect(checkPorts({ legacy: [6610, 6611], now: [6610, 31596], mapping: new Map([[31584, 31592], [31588, 31596]]), health: { v2: 31596 }, ms: 1 }).detail).toContain('does not listen on 6611 (a business port)');
    expect(checkPorts({ legacy: [6610, 6611], now: [31596], mapping: new Map([[31584, 31592], [31588, 31596]]), health: { v2: 31596, legacy: 6611 }, ms: 1 }).ok).toBe(false);
  });

  it('migrate run in a repository of its own: the raw JSON-line health on port + 1 pairs with the _v2\'s health port', async () => {
    const { root } = repo('select-health-branch-tested-first');
    const r = await cliInProcess(root, ['run', '--all', '--json'], { env: SHORT });
    const { status, ports } = portsOf(r.stdout);
    expect(ports.ok, ports.detail).toBe(true);
    expect(ports.detail).toMatch(/legacy 5591, its health port, read from its code \(line 45\), answered the health probe/);
    expect(status).toBe('migrated');
    expect(r.exitCode).toBe(0);
  }, 180_000);

  it('migrate run: the same agent with its port from an INI file (AGENT_PORT unread), health on that port + 1, pairs it with the _v2\'s health port', async () => {
    // (probe-py70's ThumbnailPoolAgent shape: failed "the _v2 does not listen on 6611 (a business port)" before)
    const { root } = repo('select-health-branch-tested-first', undefined, [], (r, rel) => {
      const file = path.join(r, rel);
      const src = readFileSync(file, 'utf8');
      const ini = [
        'import configparser\n',
        'CONFIG_PATH = os.environ.get("MODEL_CACHE_CONFIG", "config/model_cache.ini")\n\n\n',
        'def _configured_port(path=CONFIG_PATH):\n',
        '    parser = configparser.ConfigParser()\n',
        '    parser.read_dict({"agent": {"port": "5590"}})\n',
        '    parser.read(path)\n',
        '    return parser["agent"].getint("port")\n\n\n',
        'DEFAULT_PORT = _configured_port()\n',
      ].join('');
      expect(src).toContain('DEFAULT_PORT = 5590\n');
      writeFileSync(file, src.replace('DEFAULT_PORT = 5590\n', ini));
      mkdirSync(path.join(r, 'config'), { recursive: true });
      writeFileSync(path.join(r, 'config', 'model_cache.ini'), '[agent]\nport = 6610\n');
    });
    const r = await cliInProcess(root, ['run', '--all', '--json'], { env: SHORT });
    const { ports } = portsOf(r.stdout);
    expect(ports.ok, ports.detail).toBe(true);
    expect(ports.detail).toMatch(/legacy 6611, its health port, read from its code \(line \d+\), its port 6610 \+ 1, answered the health probe/);
  }, 180_000);

  describe('a business listener on port + 1 that answers health_check in-band, health on port + 2', () => {
    const fixture = 'line-health-beside-business-port-plus-one';
    const expected = readFileSync(path.join(FIXTURES, fixture, 'expected.py'), 'utf8');
    const validate = (v2: string) => validateWith(fixture, 'FeatureStoreAgent', v2);

    it('the rewrite passes: 5642 is its health port, the feed on 5641 the _v2\'s port + 1', async () => {
      const { code, ports } = await validate(expected);
      expect(ports.ok, ports.detail).toBe(true);
      expect(ports.detail).toMatch(/legacy 5642, its health port, read from its code \(line 46\), answered the health probe/);
      // Paired through its port as its code fixes it (`port=5640`), the _v2's AGENT_PORT + 1.
      expect(ports.detail).toMatch(/\d+ \(legacy 5641, its port 5640 \+ 1 read from its code\)/);
      expect(code).toBe(0);
    }, 120_000);

    it('a _v2 that drops the feed fails, naming 5641 a business port, though 5641 answered a health_check line', async () => {
      // The feed's listener on a port of the kernel's choosing instead of port + 1.
      await failsOnBusinessPort(fixture, 'FeatureStoreAgent', expected, expected.replace('self.feed_socket = _listen(self.feed_port)', 'self.feed_socket = _listen(0)'), 5641);
    }, 120_000);
  });
});

describe('the neighbours a legacy agent derives from its own port, read from its code', () => {
  // admin-port-from-replaced-port-param (QuotaAgent): `def __init__(self, port=7340)`, AGENT_PORT never read, health on
  // port + 1 and an operator admin page on port + 2 (7342), never 7340 itself. The _v2's base takes AGENT_PORT and
  // its admin page follows (AGENT_PORT + 2), yet hands-off failed it: "the _v2 does not listen on 7342 (a business
  // port)", as 7342 paired with no port the validator gave the legacy run.
  const fixture = 'admin-port-from-replaced-port-param';
  const expected = readFileSync(path.join(FIXTURES, fixture, 'expected.py'), 'utf8');
  const validate = (v2: string) => validateWith(fixture, 'QuotaAgent', v2);

  it('the scan records its own port\'s default', async () => {
    const { root, rel } = repo(fixture);
    const scan = await scanRepository(root, loadProfile('base-agent'));
    expect(scan.agents.find((a) => a.file === rel)?.port_default).toBe(7340);
  }, 30_000);

  it('the rewrite passes: the legacy\'s 7342 (its 7340 + 2) pairs with the _v2\'s AGENT_PORT + 2', async () => {
    const { code, ports } = await validate(expected);
    expect(ports.ok, ports.detail).toBe(true);
    expect(ports.detail).toMatch(/\d+ \(legacy 7342, its port 7340 \+ 2 read from its code\)/);
    expect(code).toBe(0);
  }, 120_000);

  it('a _v2 that drops the admin page fails, naming 7342 a business port', async () => {
    await failsOnBusinessPort(fixture, 'QuotaAgent', expected, expected.replace(/\n\s*self\._start_admin_server\(\)/, ''), 7342);
  }, 120_000);
});
