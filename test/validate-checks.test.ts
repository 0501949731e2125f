// The checks one by one against real servers (HTTP, ZMQ REP) and real child
// processes, and the runner: process groups, time limit, abort, the tool's Ctrl-C.
import { afterEach, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Reply } from 'zeromq';
import type { AgentInfo } from '../src/core/types.js';
import { loadProfile } from '../src/profile/profile.js';
import { checkHealthHttp, judgeHealth } from '../src/validate/checks/health-http.js';
import { checkHealthZmq } from '../src/validate/checks/health-zmq.js';
import { checkLog, errorLines, normalizeLine } from '../src/validate/checks/log.js';
import { lastErrorLine } from '../src/validate/checks/common.js';
import { checkShutdown } from '../src/validate/checks/shutdown.js';
import { checkSurvival } from '../src/validate/checks/survival.js';
import type { AgentProcess } from '../src/validate/runner.js';
import { redactUrl } from '../src/validate/checks/registry.js';
import { allocatePorts, releasePorts } from '../src/validate/ports.js';
import { describeExit, startAgent } from '../src/validate/runner.js';
import { AgentTree, groupMembers, liveGroups } from '../src/validate/process-group.js';
import { startValidationEnvironment } from '../src/validate/environment.js';
import { validateAgent } from '../src/validate/validate-agent.js';

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(ROOT, 'fixtures', 'validate');
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  expect(liveGroups()).toEqual([]);
});

async function healthServer(answers: Array<[number, string]>): Promise<number> {
  let i = 0;
  const server = http.createServer((_req, res) => {
    const [code, body] = answers[Math.min(i++, answers.length - 1)]!;
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as { port: number }).port;
}

describe('health over HTTP', () => {
  it('judges answers', () => {
    expect(judgeHealth(200, '{"status": "healthy"}')).toEqual({ healthy: true, status: 'healthy' });
    expect(judgeHealth(200, '{"status": "OK"}')).toEqual({ healthy: true, status: 'OK' });
    expect(judgeHealth(500, '{"status": "ok"}')).toEqual({ healthy: false, why: 'answered 500 with status ok (expected 2xx and "ok" or "healthy")' });
    expect(judgeHealth(200, '{}')).toEqual({ healthy: false, why: 'answered 200 with status missing (expected 2xx and "ok" or "healthy")' });
    expect(judgeHealth(200, 'up')).toEqual({ healthy: false, why: 'answered 200 with a body that is not JSON: "up"' });
  });

  // An agent overriding the base's code hook (_health_http_code) declares its 2xx for a status it still
  // serves in; without that declaration a 200 "degraded" is no healthy answer, and a 503 never is.
  it('takes a 2xx "degraded" only from an agent that declares its code', () => {
    expect(judgeHealth(200, '{"status": "degraded"}')).toEqual({ healthy: false, why: 'answered 200 with status degraded (expected 2xx and "ok" or "healthy")' });
    expect(judgeHealth(200, '{"status": "degraded"}', '_health_http_code')).toEqual({ healthy: true, status: 'degraded', declared: '_health_http_code' });
    expect(judgeHealth(503, '{"status": "degraded"}', '_health_http_code')).toMatchObject({ healthy: false });
    expect(judgeHealth(200, '{}', '_health_http_code')).toMatchObject({ healthy: false });
    expect(judgeHealth(200, '{"status": "ok"}', '_health_http_code')).toEqual({ healthy: true, status: 'ok' });
  });

  it('waits through "starting" answers until healthy', async () => {
    const port = await healthServer([[503, '{"status": "starting"}'], [503, '{"status": "starting"}'], [200, '{"status": "ok"}']]);
    const r = await checkHealthHttp({ port, deadlineMs: 5000, startedAt: Date.now(), intervalMs: 20 });
    expect(r).toMatchObject({ name: 'health', ok: true });
    expect(r.detail).toMatch(new RegExp(`^GET /health on port ${port} answered 200 status "ok" after \\d+\\.\\d s$`));
  });

  // A /health that follows a business dependency the validator does not provide (an upstream
  // gateway, a database) answers 503 in the legacy agent's run too: the same answer is no change.
  it("never healthy but answering as the legacy agent's own /health did passes, saying so", async () => {
    const port = await healthServer([[503, '{"status": "unavailable", "db": "down"}']]);
    const legacy = [{ port: 7472, code: 503, status: 'unavailable' }];
    const r = await checkHealthHttp({ port, deadlineMs: 300, startedAt: Date.now(), intervalMs: 50, legacy });
    expect(r).toMatchObject({ name: 'health', ok: true, as_legacy: { code: 503, status: 'unavailable', port: 7472 } });
    expect(r.detail).toBe(`/health on port ${port} answered 503 status "unavailable", as the legacy agent's own /health (port 7472) answered in this environment (its status follows something this environment does not provide): not proven healthy (for 0.3 s, never healthy)`);
  });

  it('an unhealthy answer unlike the legacy one (another status, another code) still fails', async () => {
    const legacy = [{ port: 7472, code: 503, status: 'unavailable' }];
    for (const answer of [[503, '{"status": "down"}'], [500, '{"status": "unavailable"}'], [200, '{"status": "unavailable"}']] as Array<[number, string]>) {
      const port = await healthServer([answer]);
      const r = await checkHealthHttp({ port, deadlineMs: 200, startedAt: Date.now(), intervalMs: 50, legacy });
      expect(r.ok, answer.join(' ')).toBe(false);
      expect(r.as_legacy).toBeUndefined();
    }
  });

  it('an agent that turns healthy is judged healthy, not by the legacy answer', async () => {
    const port = await healthServer([[503, '{"status": "unavailable"}'], [503, '{"status": "unavailable"}'], [200, '{"status": "ok"}']]);
    const r = await checkHealthHttp({ port, deadlineMs: 5000, startedAt: Date.now(), intervalMs: 20, legacy: [{ port: 1, code: 503, status: 'unavailable' }] });
    expect(r).toMatchObject({ ok: true });
    expect(r.as_legacy).toBeUndefined();
    expect(r.detail).toMatch(/answered 200 status "ok"/);
  });

  // The agent's process here is this test's own (its sockets are what listeningPorts reads): what
  // the check says when nothing answered names the cause, not just "connection refused".
  const thisProcess = { pid: process.pid, exited: () => undefined, members: () => [process.pid] } as unknown as AgentProcess;

  it('nothing answered, the port held by the agent: bound but silent (accepts and never replies)', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((socket) => void held.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => {
      for (const socket of held) socket.destroy();
      silent.close(r);
    }));
    const port = (silent.address() as { port: number }).port;
    const r = await checkHealthHttp({ port, deadlineMs: 1200, startedAt: Date.now(), intervalMs: 50, proc: thisProcess });
    expect(r.ok).toBe(false);
    expect(r.detail).toBe(`port ${port} is bound by the agent but GET /health got no answer within the 1.2 s deadline (timed out): its health server accepts connections and never answers`);
  });

  it('nothing answered, the agent listening on another port: never bound, and where it listens instead', async () => {
    const [port] = await allocatePorts(1);
    cleanups.push(() => releasePorts([port!]));
    const elsewhere = await healthServer([[200, '{"status": "ok"}']]);
    const r = await checkHealthHttp({ port: port!, deadlineMs: 300, startedAt: Date.now(), intervalMs: 50, proc: thisProcess, lateGraceMs: 300 });
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(new RegExp(`^port ${port} was never bound: nothing answered on 127\\.0\\.0\\.1:${port} within the 0\\.3 s deadline nor in the 0\\.3 s after \\(GET /health: connection refused\\); the agent listens on ports? [0-9, ]*\\b${elsewhere}\\b[0-9, ]* instead: does it take its health port from the environment it is given\\?$`));
  });

  it('a body that is not JSON fails with what it said', async () => {
    const port = await healthServer([[200, 'I am fine']]);
    const r = await checkHealthHttp({ port, deadlineMs: 300, startedAt: Date.now(), intervalMs: 50 });
    expect(r.detail).toBe(`/health on port ${port} answered 200 with a body that is not JSON: "I am fine" for 0.3 s`);
  });
});

describe('health over ZMQ REQ/REP', () => {
  async function repServer(reply: (req: unknown) => unknown): Promise<number> {
    const [port] = await allocatePorts(1);
    const sock = new Reply({ linger: 0 });
    await sock.bind(`tcp://127.0.0.1:${port}`);
    let open = true;
    void (async () => {
      try {
        for await (const [msg] of sock) await sock.send(JSON.stringify(reply(JSON.parse(msg!.toString()))));
      } catch {
        // closed
      }
    })();
    cleanups.push(() => {
      if (open) sock.close();
      open = false;
      releasePorts([port!]);
    });
    return port!;
  }

  it('a REP socket answering the health_check action passes', async () => {
    const seen: unknown[] = [];
    const port = await repServer((req) => (seen.push(req), { status: 'healthy', uptime: 3 }));
    const r = await checkHealthZmq({ port, deadlineMs: 5000, startedAt: Date.now() });
    expect(r.ok).toBe(true);
    expect(r.detail).toMatch(new RegExp(`^ZMQ health_check on port ${port} answered status "healthy" after`));
    expect(seen[0]).toEqual({ action: 'health_check' });
  });

  it('an unhealthy reply and a silent port fail with a bounded wait', async () => {
    const port = await repServer(() => ({ status: 'error', error: 'db down' }));
    const bad = await checkHealthZmq({ port, deadlineMs: 300, startedAt: Date.now() });
    expect(bad.detail).toBe(`ZMQ health probe on tcp://127.0.0.1:${port} failed for 0.3 s: replied with status error (expected 2xx and "ok" or "healthy")`);
    const [silent] = await allocatePorts(1);
    cleanups.push(() => releasePorts([silent!]));
    const none = await checkHealthZmq({ port: silent!, deadlineMs: 400, startedAt: Date.now(), requestTimeoutMs: 200 });
    expect(none.detail).toMatch(new RegExp(`^ZMQ health probe on tcp://127\\.0\\.0\\.1:${silent} failed for 0\\.4 s: no reply within 0\\.\\d s$`));
  });
});

describe('log', () => {
  const legacy = '2024-01-01 10:00:00,123 ERROR Router: cannot reach peer 10.0.0.7:5555\nINFO ok\n';
  it('only new ERROR/Traceback lines count; timestamps, numbers and the _v2 name are ignored', () => {
    const v2 = '2025-02-02 11:11:11,999 ERROR Router: cannot reach peer 10.0.0.8:5556\n';
    expect(checkLog(v2, { output: legacy })).toMatchObject({ ok: true, detail: 'no new ERROR or Traceback lines (1 also in the legacy run), compared with the legacy run' });
    const tb = 'Traceback (most recent call last):\n  File "agents/router_v2.py", line 3\nKeyError: 1\n';
    expect(checkLog(v2 + tb, { output: legacy })).toMatchObject({
      ok: false,
      detail: '1 new ERROR/Traceback line(s), compared with the legacy run; first: Traceback … KeyError: 1',
    });
    expect(normalizeLine('File "agents/router_v2.py", line 3')).toBe(normalizeLine('File "agents/router.py", line 9'));
  });

  it('without a legacy run it compares against none and says why', () => {
    expect(checkLog('INFO fine\n', { note: 'legacy agent could not start: python3: not found on PATH' }).detail).toBe(
      'no new ERROR or Traceback lines, compared against none (legacy agent could not start: python3: not found on PATH)',
    );
    expect(errorLines('x ERROR y\nCRITICAL: z\nerrors are fine\n')).toEqual(['x ERROR y', 'CRITICAL: z']);
  });

  it('the line that explains a crash', () => {
    const out = 'INFO start\nTraceback (most recent call last):\n  File "a.py", line 1, in <module>\n    import zmq\nModuleNotFoundError: No module named \'zmq\'\n';
    expect(lastErrorLine(out)).toBe("ModuleNotFoundError: No module named 'zmq'");
    expect(lastErrorLine('just this\n\n')).toBe('just this');
    const node = "node:internal/x:283\n    throw new ERR_MODULE_NOT_FOUND(\n          ^\nError [ERR_MODULE_NOT_FOUND]: Cannot find module '/t/base-agent' imported from /t/a.js\n    at finalizeResolution (node:internal/x:283:11)\n}\nNode.js v20.20.2\n";
    expect(lastErrorLine(node)).toBe("Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/t/base-agent' imported from /t/a.js");
    expect(lastErrorLine('')).toBeUndefined();
    expect(redactUrl('redis://user:secret@127.0.0.1:6379/0')).toBe('redis://user:***@127.0.0.1:6379/0');
  });
});

describe('runner and process groups', () => {
  const base = { env: { ...process.env }, cwd: ROOT };

  it('captures output and the exit; a missing command is a spawn error', async () => {
    const p = startAgent({ ...base, command: 'sh', args: ['-c', 'echo out; echo err >&2; exit 3'], timeLimitMs: 10_000 });
    const exit = await p.exit;
    expect(exit).toEqual({ code: 3, signal: null, timedOut: false, spawnError: undefined });
    expect(p.output()).toContain('out\n');
    expect(p.stderr()).toBe('err\n');
    await p.killGroup();
    const missing = startAgent({ ...base, command: 'no-such-binary-xyz', args: [], timeLimitMs: 1000 });
    expect((await missing.exit).spawnError).toBe('no-such-binary-xyz: not found on PATH');
  });

  it("an agent's exit is reported only once what it wrote before it has been read (exited() too)", async () => {
    // Before: the exit (the 'exit' event, or the launcher's report of it) was often seen before
    // the pipes were read: 47 of 56 such runs, four at a time on a loaded machine, reported exit 3
    // with no output at all, so a crashing agent's traceback could be missing from its detail.
    const one = async (i: number) => {
      const p = startAgent({ ...base, command: 'sh', args: ['-c', `echo out ${i}; echo err ${i} >&2; exit 3`], timeLimitMs: 30_000 });
      try {
        let atExited: string | undefined;
        const seen = (async () => {
          while (!p.exited()) await new Promise((r) => setTimeout(r, 5));
          atExited = p.output();
        })();
        const exit = await p.exit;
        await seen;
        // Both pipes feed output(), in whichever order they are read.
        const lines = (t: string | undefined) => (t ?? '').split('\n').filter(Boolean).sort();
        return { code: exit.code, output: lines(p.output()), stderr: p.stderr(), atExited: lines(atExited) };
      } finally {
        await p.killGroup();
      }
    };
    for (let round = 0; round < 3; round++) {
      const runs = await Promise.all([0, 1, 2, 3].map((i) => one(round * 4 + i)));
      runs.forEach((r, i) => {
        const n = round * 4 + i;
        expect(r, `run ${n}`).toEqual({ code: 3, output: [`err ${n}`, `out ${n}`], stderr: `err ${n}\n`, atExited: [`err ${n}`, `out ${n}`] });
      });
    }
  });

  it('the hard time limit kills the whole group, grandchildren included', async () => {
    const p = startAgent({ ...base, command: 'sh', args: ['-c', 'sleep 60 & sleep 60'], timeLimitMs: 2500 });
    for (let i = 0; i < 100 && p.members().length < 3 && !p.exited(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(p.members().length).toBe(3); // sh and its two sleeps
    const exit = await p.exit;
    expect(exit).toMatchObject({ signal: 'SIGKILL', timedOut: true });
    await p.killGroup();
    expect(groupMembers(p.pid!)).toEqual([]);
  });

  it('a time limit reached while the tool itself was held up says so; one the agent ran into alone does not', async () => {
    const held = startAgent({ ...base, command: 'sleep', args: ['60'], timeLimitMs: 1500 });
    // The tool's thread blocked past the limit without spending CPU, as a CLI stopped with
    // Ctrl-Z is, while the watchdog still kills the agent at its deadline.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 7000);
    const exit = await held.exit;
    expect(exit.timedOut).toBe(true);
    expect(exit.toolPausedMs).toBeGreaterThanOrEqual(5000);
    expect(describeExit(exit)).toMatch(/^killed at the time limit, reached while migrate itself was held up for \d+ s \(stopped with Ctrl-Z or suspended\?\), so perhaps not the agent's doing: run it again$/);
    await held.killGroup();
    const alone = startAgent({ ...base, command: 'sleep', args: ['60'], timeLimitMs: 1500 });
    const own = await alone.exit;
    expect([own.timedOut, own.toolPausedMs, describeExit(own)]).toEqual([true, undefined, 'killed at the time limit']);
    await alone.killGroup();
  });

  it('a second killGroup after one that left the reaped agent\'s tree empty scans /proc no more', async () => {
    const p = startAgent({ ...base, command: 'sh', args: ['-c', 'exit 0'], timeLimitMs: 10_000 });
    await p.exit;
    const scans = vi.spyOn(AgentTree.prototype, 'members');
    try {
      await p.killGroup();
      expect(scans.mock.calls.length).toBeGreaterThan(0);
      const first = scans.mock.calls.length;
      // Validation calls it at the end of its checks and again in its finally: two /proc scans each before.
      await p.killGroup();
      expect(scans.mock.calls.length).toBe(first);
      expect(groupMembers(p.pid!)).toEqual([]);
    } finally {
      scans.mockRestore();
    }
  });

  it('an abort signal kills the group', async () => {
    const ac = new AbortController();
    const p = startAgent({ ...base, command: 'sleep', args: ['60'], timeLimitMs: 60_000, signal: ac.signal });
    ac.abort();
    expect((await p.exit).signal).toBe('SIGKILL');
    await p.killGroup();
  });

  it('shutdown: a process killed by SIGTERM (no handler) is not a clean stop', async () => {
    const p = startAgent({ ...base, command: 'sleep', args: ['60'], timeLimitMs: 60_000 });
    const r = await checkShutdown({ proc: p, deadlineMs: 2000 });
    expect(r.detail).toBe('ended by SIGTERM instead of exiting with code 0 (no signal handler?)');
    await p.killGroup();
  });

  it("Ctrl-C of the tool kills the agent's whole group", async () => {
    const tool = spawn(path.join(ROOT, 'node_modules', '.bin', 'vite-node'), [path.join(FIXTURES, 'ctrl-c-tool.ts')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const group = await new Promise<number>((resolve, reject) => {
      tool.stdout.on('data', (d) => {
        out += String(d);
        const m = /group (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      tool.on('exit', () => reject(new Error(`tool exited early: ${out}`)));
    });
    cleanups.push(() => {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    });
    // sh and its two sleeps, and the subreaper launcher above them where there is one (the
    // group's leader; the agent, sh, then leads a group of its own below it).
    const launcher = readFileSync(`/proc/${group}/cmdline`, 'utf8').includes('migrate-launcher');
    const groups = () => (launcher ? [group, ...childrenOf(group)] : [group]);
    const members = () => groups().flatMap((g) => groupMembers(g));
    for (let i = 0; i < 100 && members().length < 3 + (launcher ? 1 : 0); i++) await new Promise((r) => setTimeout(r, 20));
    const seen = groups();
    expect(members().length).toBe(3 + (launcher ? 1 : 0));
    const exited = new Promise((r) => tool.on('exit', (code, sig) => r(sig ?? code)));
    tool.kill('SIGINT');
    expect(await exited).toBe('SIGINT');
    expect(seen.flatMap((g) => groupMembers(g))).toEqual([]);
  }, 30_000);
});

/** Pids whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('launch template from config', () => {
  it('an agent that parses its own ports starts through .migrate/config.yaml and passes', async () => {
    const env = await startValidationEnvironment();
    cleanups.push(() => env.close());
    const root = path.join(FIXTURES, 'argv');
    const agent: AgentInfo = { name: 'CliAgent', file: 'agents/cli_agent.py', language: 'python', class: 'CliAgent', status: 'legacy', findings: [], line: 1, evidence: [] };
    const r = await validateAgent({
      root,
      agent,
      file: path.join(root, 'agents', 'cli_agent_v2.py'),
      legacyFile: path.join(root, 'agents', 'cli_agent.py'),
      legacyWindowMs: 400,
      profile: loadProfile('base-agent'),
      env,
    });
    expect(r.checks.map((c) => `${c.name}:${c.ok}`), r.checks.map((c) => `${c.name}: ${c.detail}`).join('\n')).toEqual(['health:true', 'registry:true', 'metrics:true', 'survival:true', 'ports:true', 'shutdown:true', 'deregister:true', 'log:true']);
    // The legacy run also got its arguments (argparse would print an ERROR-free usage error and exit 2 otherwise).
    expect(r.checks.find((c) => c.name === 'log')!.detail).toBe('no new ERROR or Traceback lines, compared with the legacy run');
  });
});

describe('survival: a probe whose connection the agent closed under it', () => {
  // An agent up all along whose server ended the kept-alive connection a probe went out on
  // (undici's "other side closed", seen with Node agents validated side by side under load).
  const up = { exited: () => undefined } as unknown as AgentProcess;
  const probes = (...answers: Array<string | null>) => {
    let i = 0;
    return async () => answers[Math.min(i++, answers.length - 1)]!;
  };
  it('is asked again, and the agent that answers then survives; the report says so', async () => {
    const r = await checkSurvival({ proc: up, probe: probes(null, 'other side closed', null), windowMs: 60, intervalMs: 20 });
    expect(r.detail).toMatch(/^stayed up and healthy for 0\.1 s after its first healthy answer \(\d+ probes; 1 closed connection asked again\)$/);
    expect(r.ok).toBe(true);
  });
  // The probe accepted the legacy's own unhealthy answer in the window: the same words as the health
  // check's, never "healthy", and as_legacy in the result (the record and --json carry it).
  it('one answering as the legacy did survives without being called healthy', async () => {
    const same = { port: 7472, code: 503, status: 'degraded' };
    const r = await checkSurvival({ proc: up, probe: probes(null), windowMs: 60, intervalMs: 20, asLegacy: () => same });
    expect(r).toMatchObject({ ok: true, as_legacy: same });
    expect(r.detail).toMatch(/^stayed up for 0\.1 s after its first healthy answer \(\d+ probes\), in it answering 503 status "degraded", as the legacy agent's own \/health \(port 7472\) answered in this environment \(its status follows something this environment does not provide\): not proven healthy$/);
    const healthy = await checkSurvival({ proc: up, probe: probes(null), windowMs: 60, intervalMs: 20, asLegacy: () => undefined });
    expect(healthy.as_legacy).toBeUndefined();
    expect(healthy.detail).toMatch(/^stayed up and healthy/);
  });
  it('one answering the 2xx status it declares survives, said so', async () => {
    const r = await checkSurvival({ proc: up, probe: probes(null), windowMs: 60, intervalMs: 20, declared: () => '200 status "degraded" (declared)' });
    expect(r).toMatchObject({ ok: true });
    expect(r.detail).toMatch(/^stayed up for 0\.1 s after its first healthy answer \(\d+ probes\), in it answering 200 status "degraded" \(declared\)$/);
  });
  it('an agent that closes every connection still fails, and one refused at once is judged at once', async () => {
    const closing = await checkSurvival({ proc: up, probe: probes(null, 'other side closed'), windowMs: 60, intervalMs: 20 });
    expect(closing).toMatchObject({ ok: false, detail: expect.stringMatching(/^stopped answering health [\d.]+ s after its first healthy answer: other side closed$/) });
    let asked = 0;
    const refused = await checkSurvival({ proc: up, probe: async () => (++asked === 1 ? null : 'connection refused'), windowMs: 60, intervalMs: 20 });
    expect(refused).toMatchObject({ ok: false, detail: expect.stringMatching(/: connection refused$/) });
    expect(asked).toBe(2);
  });
});
