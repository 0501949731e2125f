// Validate one agent at runtime: start its _v2 file for real with free ports
// and the contract's environment, then run the checks (health, registry,
// metrics, shutdown, log). Agent faults become failed checks; this never
// throws for them. Everything the agent started is always killed at the end.
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AgentInfo, CheckName, CheckResult, ValidationReport } from '../core/types.js';
import { oneLine } from '../core/errors.js';
import type { LaunchCommand } from '../pipeline/language.js';
import type { Profile } from '../profile/profile.js';
import type { ValidationEnvironment } from './environment.js';
import { allocatePorts, isPortFree, releasePorts } from './ports.js';
import { applyTemplate, contractEnv, readLaunchTemplate } from './launch.js';
import { pythonLaunch } from './python-launch.js';
import { startAgent, type AgentProcess } from './runner.js';
import { checkHealthHttp } from './checks/health-http.js';
import { checkHealthZmq } from './checks/health-zmq.js';
import { checkRegistry, registrySnapshot } from './checks/registry.js';
import { redactText } from './redact.js';
import { checkMetrics } from './checks/metrics.js';
import { checkShutdown } from './checks/shutdown.js';
import { checkLog, type LogBaseline } from './checks/log.js';
import { checkEventBus } from './checks/eventbus.js';
import { startFakeEventBus, type FakeEventBus } from './fake-eventbus.js';
import { exitedDetail, lastErrorLine, result, sleep } from './checks/common.js';
import { redactDeep } from '../config/secrets.js';

export const CHECK_ORDER: CheckName[] = ['health', 'registry', 'metrics', 'shutdown', 'log'];

export interface ValidateAgentOptions {
  root: string;
  agent: AgentInfo;
  /** Absolute path of the file to run (the _v2). */
  file: string;
  /** Absolute path of the legacy source: run the same way first, for the log baseline. */
  legacyFile?: string;
  profile: Profile;
  env: ValidationEnvironment;
  registryDeadlineMs?: number;
  shutdownDeadlineMs?: number;
  timeLimitMs?: number;
  signal?: AbortSignal;
  /** How to start `file` (default: the language adapter's launch; Python: python3 <file>). */
  launch?: LaunchCommand;
  /** How to start `legacyFile` (default: like `launch`, on the legacy file). */
  legacyLaunch?: LaunchCommand;
  /** Time allowed until /health is healthy (default 15 s). */
  healthDeadlineMs?: number;
  /** Time allowed until a sample arrives (default 15 s). */
  metricsDeadlineMs?: number;
  /** How long the legacy run is observed for the log baseline (default 2 s). */
  legacyWindowMs?: number;
  /** Use these ports instead of free ones (production ports only when asked). */
  ports?: { port?: number; health_port?: number };
  /** Time allowed for each phase of the EventBus check (default 15 s). */
  eventbusPhaseMs?: number;
  /** The environment the agent inherits (default process.env); the contract's variables are added. */
  baseEnv?: Record<string, string | undefined>;
  /** What the agent's startup config gives it (global environment, env_vars): environment only, never argv. */
  configEnv?: Record<string, string>;
  /** Credential values (from configEnv): refused on a command line, redacted from the report. */
  secrets?: string[];
}

async function defaultLaunch(o: ValidateAgentOptions, file: string): Promise<LaunchCommand> {
  if (o.agent.language === 'typescript') {
    // Resolved at run time: the TypeScript adapter lives in its own module.
    const spec = '../lang/typescript/adapter.js';
    const mod = (await import(spec)) as { typescriptAdapter?: { launch(root: string, file: string): Promise<LaunchCommand> } };
    if (!mod.typescriptAdapter) throw new Error('the TypeScript adapter does not export typescriptAdapter');
    return mod.typescriptAdapter.launch(o.root, file);
  }
  return pythonLaunch(o.root, file);
}

/** The checks a report lists: the contract's five, and the EventBus cycle where the profile asks for it. */
function checkOrder(enabled: Set<CheckName>): CheckName[] {
  return enabled.has('eventbus') ? ['health', 'registry', 'metrics', 'eventbus', 'shutdown', 'log'] : CHECK_ORDER;
}

/** Every enabled check fails with the same reason (the agent never ran). */
function failedAll(detail: string, enabled: Set<CheckName>, profile: string): CheckResult[] {
  return checkOrder(enabled).map((c) => (enabled.has(c) ? result(c, false, 0, detail) : skippedCheck(c, profile)));
}

function skippedCheck(name: CheckName, profile: string): CheckResult {
  return { name, ok: true, ms: 0, detail: `not checked (profile ${profile} leaves it out)`, skipped: true };
}

interface Started {
  proc: AgentProcess;
  launch: LaunchCommand;
  /** The REGISTRY_URL it got (the embedded registry gives each start a scope of its own). */
  registryUrl: string;
}

function spawnFor(o: ValidateAgentOptions, launch: LaunchCommand, file: string, port: number, healthPort: number, timeLimitMs: number, extraEnv: Record<string, string> = {}): Started {
  const name = o.agent.name;
  const tpl = readLaunchTemplate(o.root, o.agent.language);
  const cmd = applyTemplate(launch, tpl, { file, root: o.root, port, health_port: healthPort, name }, o.agent.language);
  if (o.secrets?.some((secret) => [cmd.command, ...cmd.args].some((a) => a.includes(secret)))) {
    throw new Error(`refusing to start ${name}: a credential from its startup config would be on its command line`);
  }
  const registryUrl = o.env.registryFor?.(randomBytes(8).toString('hex')) ?? o.env.registryUrl;
  const env = {
    ...(o.baseEnv ?? process.env),
    ...o.configEnv,
    ...cmd.env,
    ...extraEnv,
    ...contractEnv({ name, port, healthPort, registryUrl, metricsUrl: o.env.metricsUrl }),
  };
  const proc = startAgent({ command: cmd.command, args: cmd.args, env, cwd: o.root, timeLimitMs, signal: o.signal });
  return { proc, launch: cmd, registryUrl };
}

/** Run the legacy agent the same way for a short window; its output is the log baseline. */
async function legacyBaseline(o: ValidateAgentOptions, launchFor: (file: string) => Promise<LaunchCommand>): Promise<LogBaseline> {
  const legacyFile = o.legacyFile!;
  let ports: number[] = [];
  let started: Started | undefined;
  try {
    ports = await allocatePorts(2);
    const launch = o.legacyLaunch ?? (await launchFor(legacyFile));
    const windowMs = o.legacyWindowMs ?? 2000;
    started = spawnFor(o, launch, legacyFile, ports[0]!, ports[1]!, windowMs + 5000);
    const { proc } = started;
    const early = await Promise.race([proc.exit, sleep(windowMs, o.signal).then(() => undefined)]);
    if (early && (early.spawnError || early.code !== 0)) {
      return { note: `legacy agent could not start: ${exitedDetail(proc)}` };
    }
    if (!early) {
      proc.signal('SIGTERM');
      await Promise.race([proc.exit, sleep(1000)]);
    }
    return { output: proc.output() };
  } catch (err) {
    return { note: `legacy agent could not start: ${oneLine(err)}` };
  } finally {
    await started?.proc.killGroup();
    await started?.launch.cleanup?.();
    releasePorts(ports);
  }
}

export async function validateAgent(o: ValidateAgentOptions): Promise<ValidationReport> {
  const t0 = Date.now();
  const v = o.profile.validation ?? {};
  const enabled = new Set<CheckName>(v.checks ?? CHECK_ORDER);
  const healthDeadlineMs = o.healthDeadlineMs ?? 15_000;
  const registryDeadlineMs = o.registryDeadlineMs ?? (v.registry_deadline_s ?? 30) * 1000;
  const metricsDeadlineMs = o.metricsDeadlineMs ?? 15_000;
  const shutdownDeadlineMs = o.shutdownDeadlineMs ?? (v.shutdown_deadline_s ?? 5) * 1000;
  const timeLimitMs = o.timeLimitMs ?? healthDeadlineMs + Math.max(registryDeadlineMs, metricsDeadlineMs) + shutdownDeadlineMs + 10_000;
  const eventbusPhaseMs = o.eventbusPhaseMs ?? 15_000;
  const name = o.agent.name;
  const rel = path.relative(o.root, o.file) || o.file;
  const report = (checks: CheckResult[], ports: Record<string, number>, error?: string): ValidationReport => {
    // Stopped by the user: say so, not "nothing answered within 15.0 s".
    if (o.signal?.aborted) {
      checks = checks.map((c) => (c.ok || c.skipped ? c : { ...c, detail: 'interrupted' }));
      error = 'interrupted';
    }
    // Details quote agent output and URLs: no credential leaves in clear (records, --json, cache),
    // neither the config's own credentials nor passwords, tokens and Authorization headers.
    return redactDeep(
      {
        ok: checks.every((c) => c.ok || c.skipped),
        ms: Date.now() - t0,
        checks: checks.map((c) => ({
          ...c,
          detail: redactText(c.detail),
          ...(c.lines ? { lines: { legacy: c.lines.legacy.map(redactText), v2: c.lines.v2.map(redactText), fresh: c.lines.fresh.map(redactText) } } : {}),
        })),
        ports,
        ...(error ? { error: redactText(error) } : {}),
      },
      o.secrets ?? [],
    );
  };

  const launchFor = (file: string) => defaultLaunch(o, file);
  let launch: LaunchCommand;
  try {
    launch = o.launch ?? (await launchFor(o.file));
  } catch (err) {
    const msg = `${rel}: cannot prepare the launch command: ${oneLine(err)}`;
    return report(failedAll(msg, enabled, o.profile.name), {}, msg);
  }

  // Ports: free ones chosen here, unless the caller asked for specific ones.
  const allocated: number[] = [];
  let started: Started | undefined;
  let bus: FakeEventBus | undefined;
  try {
    const need = (o.ports?.port ? 0 : 1) + (o.ports?.health_port ? 0 : 1);
    allocated.push(...(await allocatePorts(need)));
    const free = [...allocated];
    const port = o.ports?.port ?? free.shift()!;
    const healthPort = o.ports?.health_port ?? free.shift()!;
    const ports = { port, health_port: healthPort };
    for (const [label, p] of Object.entries(ports)) {
      if ((label === 'port' ? o.ports?.port : o.ports?.health_port) && !(await isPortFree(p))) {
        const msg = `${label.replace('_', ' ')} ${p} is already in use by another process`;
        return report(failedAll(msg, enabled, o.profile.name), ports, msg);
      }
    }

    const baseline: LogBaseline =
      enabled.has('log') && o.legacyFile ? await legacyBaseline(o, launchFor) : { note: o.legacyFile ? 'log check disabled' : 'no legacy file given' };

    // The fake EventBus and quick cycles, so that up / down / back fit in the time limit.
    if (enabled.has('eventbus')) bus = await startFakeEventBus();
    const busEnv: Record<string, string> = bus
      ? { EVENTBUS_ADDRESS: bus.address, EVENTBUS_URL: bus.url, COLLECTION_INTERVAL: '0.5', CIRCUIT_RECOVERY_TIMEOUT: '1' }
      : {};
    // What an external registry holds before the agent starts is not its registration.
    const before = enabled.has('registry') ? await registrySnapshot({ kind: o.env.registryKind, url: o.env.registryUrl, name }) : undefined;
    started = spawnFor(o, launch, o.file, port, healthPort, bus ? timeLimitMs + 3 * eventbusPhaseMs : timeLimitMs, busEnv);
    const { proc } = started;
    if (!proc.pid) {
      const exit = await proc.exit;
      const msg = `cannot start ${rel}: ${exit.spawnError}`;
      return report(failedAll(msg, enabled, o.profile.name), ports, msg);
    }
    const common = { startedAt: proc.startedAt, proc, signal: o.signal };
    const checks = new Map<CheckName, CheckResult>();

    // Health, registry and metrics run side by side, each timed from the agent's start.
    const [health, reg, met] = await Promise.all([
      !enabled.has('health')
        ? undefined
        : v.health === 'zmq'
          ? checkHealthZmq({ ...common, port: healthPort, deadlineMs: healthDeadlineMs })
          : checkHealthHttp({ ...common, port: healthPort, deadlineMs: healthDeadlineMs }),
      enabled.has('registry')
        ? checkRegistry({ ...common, kind: o.env.registryKind, url: started.registryUrl, name, pid: proc.pid, owns: proc.owns, before, deadlineMs: registryDeadlineMs })
        : undefined,
      enabled.has('metrics')
        ? checkMetrics({ ...common, kind: o.env.metricsKind, url: o.env.metricsUrl, healthPort, name, deadlineMs: metricsDeadlineMs })
        : undefined,
    ]);
    if (health) checks.set('health', health);
    if (reg) checks.set('registry', reg);
    if (met) checks.set('metrics', met);
    if (bus) checks.set('eventbus', await checkEventBus({ bus, healthPort, proc, phaseDeadlineMs: eventbusPhaseMs, signal: o.signal }));
    if (enabled.has('shutdown')) checks.set('shutdown', await checkShutdown({ proc, deadlineMs: shutdownDeadlineMs }));
    await proc.killGroup();
    if (enabled.has('log')) checks.set('log', checkLog(proc.output(), baseline));

    const list = checkOrder(enabled).map((c) => checks.get(c) ?? skippedCheck(c, o.profile.name));
    const exit = proc.exited();
    const error = exit?.timedOut ? `${rel}: killed at the time limit of ${(timeLimitMs / 1000).toFixed(1)} s` : undefined;
    return report(list, ports, error);
  } catch (err) {
    // A fault of the tool itself (not of the agent): still a report, never a throw.
    const msg = `${rel}: validation failed: ${oneLine(err)}${started ? `; agent output: ${lastErrorLine(started.proc.output()) ?? 'none'}` : ''}`;
    return report(failedAll(msg, enabled, o.profile.name), {}, msg);
  } finally {
    await started?.proc.killGroup();
    await started?.launch.cleanup?.();
    await bus?.close();
    releasePorts(allocated);
  }
}

/** Validate many agents, at most `concurrency` at once; results in input order. */
export async function validateAgents(
  list: ValidateAgentOptions[],
  opts: { concurrency: number; onDone?: (i: number, r: ValidationReport) => void },
): Promise<ValidationReport[]> {
  const results: ValidationReport[] = new Array(list.length);
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const i = next++;
      const o = list[i]!;
      // Interrupted: the agents not started yet are not started at all.
      results[i] = o.signal?.aborted
        ? { ok: false, ms: 0, checks: failedAll('interrupted', new Set(o.profile.validation?.checks ?? CHECK_ORDER), o.profile.name), ports: {}, error: 'interrupted' }
        : await validateAgent(o);
      opts.onDone?.(i, results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, list.length)) }, worker));
  return results;
}
