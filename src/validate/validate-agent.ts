// Validate one agent at runtime: start its _v2 file for real with free ports
// and the contract's environment, then run the checks (health, registry,
// metrics, shutdown, log). Agent faults become failed checks; this never
// throws for them. Everything the agent started is always killed at the end.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AgentInfo, CheckName, CheckResult, ValidationReport } from '../core/types.js';
import { oneLine } from '../core/errors.js';
import type { LaunchCommand } from '../pipeline/language.js';
import type { Profile } from '../profile/profile.js';
import type { ValidationEnvironment } from './environment.js';
import { allocateAgentPorts, derivedPortMapping, isPortFree, releasePorts, type AgentPorts } from './ports.js';
import { applyTemplate, contractEnv, readLaunchTemplate } from './launch.js';
import { pythonLaunch } from './python-launch.js';
import { startAgent, toolPaused, type AgentProcess } from './runner.js';
import { checkHealthHttp } from './checks/health-http.js';
import { checkHealthZmq } from './checks/health-zmq.js';
import { registrationAfterExit, registrationLanded, registrationNow, registrySnapshot, watchRegistration, type Entry, type RegistryCheckOptions } from './checks/registry.js';
import { checkDeregister, type LegacyDeregistration } from './checks/deregister.js';
import { redactText } from './redact.js';
import { checkMetrics } from './checks/metrics.js';
import { checkShutdown } from './checks/shutdown.js';
import { checkLog, errorLines, freshLines, normalizeLine, type LogBaseline } from './checks/log.js';
import { checkEventBus, refusedHandOff } from './checks/eventbus.js';
import { startFakeEventBus, type FakeEventBus } from './fake-eventbus.js';
import { exitedDetail, lastErrorLine, result, secs, sleep } from './checks/common.js';
import { redactDeep } from '../config/secrets.js';
import { checkSurvival } from './checks/survival.js';
import { advertisedPort, checkPorts, withRegisteredPort } from './checks/ports.js';
import { datagramOnlyPorts, listeningPorts } from './listening-ports.js';
import { codeHealthPortOf, legacyHealthPort } from './legacy-health-port.js';
import { asLegacyAnswer, asLegacyWords, declaredWords, judgeHealth, unhealthyAnswer, type UnhealthyAnswer } from './checks/health-http.js';
import { declaredHealthCodeHook } from './declared-health-code.js';
import { httpGet, networkReason } from './http-util.js';
import { enterTreeGuard, type TreeCleanup } from './leftovers.js';

export const CHECK_ORDER: CheckName[] = ['health', 'registry', 'metrics', 'eventbus', 'survival', 'ports', 'shutdown', 'deregister', 'log'];
/** Checks every report lists (skipped when a profile leaves one out); the later ones only when a profile asks for them. */
const ALWAYS_LISTED = new Set<CheckName>(['health', 'registry', 'metrics', 'shutdown', 'log']);

/** Enabled when a profile names no checks: all but the EventBus cycle, which only hardened-agent-base asks for. */
const DEFAULT_CHECKS = CHECK_ORDER.filter((c) => c !== 'eventbus');

function listed(enabled: Set<CheckName>): CheckName[] {
  return CHECK_ORDER.filter((c) => ALWAYS_LISTED.has(c) || enabled.has(c));
}

export interface ValidateAgentOptions {
  root: string;
  agent: AgentInfo;
  /** Absolute path of the file to run (the _v2). */
  file: string;
  /** Absolute path of the legacy source: run the same way first, for the log baseline. */
  legacyFile?: string;
  profile: Profile;
  env: ValidationEnvironment;
  /** How this validation shares a batch's start slots with others (see validateAgents). */
  pace?: StartPace;
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
  /** When nothing answered by then, how long the port is still watched to say why (default: half the deadline, at most 8 s). */
  healthLateGraceMs?: number;
  /** Time allowed until a sample arrives (default 15 s). */
  metricsDeadlineMs?: number;
  /** The shortest second legacy run confirming error lines it logs late (default 10 s; tests shorten it). */
  longerLegacyMs?: number;
  /** How long the legacy run is observed for the log baseline (default MIGRATE_LEGACY_WINDOW_S, else 2 s). */
  legacyWindowMs?: number;
  /** Survival window after the first healthy answer (default: the profile's, else 30 s). */
  survivalWindowMs?: number;
  /** Time between two survival probes (default: the profile's, else 2 s). */
  survivalIntervalMs?: number;
  /** Use these ports instead of free ones (production ports only when asked). */
  ports?: { port?: number; health_port?: number };
  /** Time allowed for each phase of the EventBus check (default 15 s; the bus-down phase, a whole failed publish, gets twice that). */
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
  return pythonLaunch(o.root, file, o.baseEnv ?? process.env, o.agent.class);
}

/** Every enabled check fails with the same reason (the agent never ran). */
function failedAll(detail: string, enabled: Set<CheckName>, profile: string): CheckResult[] {
  return listed(enabled).map((c) => (enabled.has(c) ? result(c, false, 0, detail) : skippedCheck(c, profile)));
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

interface LegacyRun {
  baseline: LogBaseline;
  /** Ports it listened on at the end of its window, and the validator's ports it was given. */
  listening: number[] | null;
  given: AgentPorts | null;
  /** Its health port: the given one when it listened there, else one it bound itself that answered the health probe. */
  health?: number;
  /** How `health` was known when its code said so (AgentInfo.health_port): where, and whether it answered the probe. */
  healthFrom?: string;
  /** Its /health answers that were not healthy (a 503 while an upstream it mirrors is away), for the health check. */
  unhealthy?: UnhealthyAnswer[];
  /** The error line the legacy agent died with when it could not start (a module missing here, say). */
  startError?: string;
  /** What it did with its registration on SIGTERM (when the deregister check asks). */
  deregistration?: LegacyDeregistration;
  /** Where its registration was looked up (its own scope), to read it again once it has long ended. */
  registryLookup?: RegistryCheckOptions;
  registered?: Entry;
  /** How long it was watched before its SIGTERM (from its start to its window's end). */
  watchedMs?: number;
  /** Still running this long (ms) after its SIGTERM, when it did not exit within the shutdown deadline. */
  sigtermIgnoredMs?: number;
}

/**
 * A validation holds a start slot while it works (the legacy agent's baseline run; starting the
 * _v2 up to its health verdict) and gives it up while it only waits (the survival window, the
 * registry and metrics polls), so that another agent starts meanwhile.
 */
export interface StartPace {
  /** What follows only waits: the slot goes to the next agent. */
  idle(): void;
}

/**
 * A legacy agent that has printed a traceback is waited for until it exits, for at most DYING_CAP_MS:
 * its teardown (atexit hooks, non-daemon threads, a loaded machine) may trail the traceback by
 * seconds, and a fixed 1.5 s sent a SIGTERM to an agent on its way out (its start error lost). One
 * that prints more after DYING_GRACE_MS is alive (it logged the traceback and went on), and is not
 * waited for longer; one alive and silent (a logged exception, a retry 30 s away) costs the cap.
 */
const DYING_GRACE_MS = 1500;
const DYING_CAP_MS = 5_000;

/** The second run of the legacy agent that confirms error lines it logs late: at least this long. */
const LONGER_LEGACY_MS = 10_000;
/** Past twice the time the _v2 took to print them, the second legacy run gets this much more. */
const LATE_LINE_SLACK_MS = 2_000;
/**
 * The confirming legacy run gets at least this long even when the _v2 failed faster: a _v2 dying at
 * its import in 0.3 s capped it at 0.3 s, and a legacy agent slower to reach the same import (a loaded
 * machine) was ended before it died the same way. It ends as soon as the lines are printed.
 */
const LEGACY_RERUN_FLOOR_MS = 5_000;
/**
 * The second legacy run asked for the unhealthy answer a _v2 gave in its survival window lasts at least
 * this long (or the window, or twice the _v2's time): it ends at the legacy's first such answer.
 */
const LEGACY_ANSWER_FLOOR_MS = 15_000;

/** Resolves when `done()` holds (polled) or after `ms`, whichever comes first. */
async function waitFor(done: () => boolean | Promise<boolean>, ms: number, signal?: AbortSignal): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !signal?.aborted) {
    if (await done()) return;
    await sleep(Math.min(200, Math.max(0, end - Date.now())), signal);
  }
}

/**
 * MIGRATE_LEGACY_WINDOW_S: the legacy run's window (2 s by default), shorter in test suites. A
 * short one misses nothing the log check needs: the _v2's error lines the legacy agent had not
 * logged yet send the legacy agent to run again, longer, until it logs them too (else they fail).
 * The ports baseline is read at the window's end: a short window may see none of its sockets yet.
 */
function legacyWindowFromEnv(): number | undefined {
  const s = Number(process.env.MIGRATE_LEGACY_WINDOW_S);
  return process.env.MIGRATE_LEGACY_WINDOW_S && Number.isFinite(s) && s >= 0 ? s * 1000 : undefined;
}

/** Run the legacy agent the same way for a short window; its output is the log baseline, its sockets the ports baseline. */
async function legacyBaseline(
  o: ValidateAgentOptions,
  launchFor: (file: string) => Promise<LaunchCommand>,
  // `until` is also handed the ports the run was given and those it listens on now (its health to ask).
  longer?: { windowMs: number; until: (output: string, ports: { given: AgentPorts; listening: () => number[] }) => boolean | Promise<boolean> },
  // Observe its registration and deregistration; registerWithinMs: run it until it has registered
  // (at most that long from its start) rather than for its window.
  watchRegistry: boolean | { registerWithinMs: number } = false,
  // Ask the ports it bound itself which one serves its health, this way (for the ports check).
  probeHealth?: 'http' | 'zmq',
): Promise<LegacyRun> {
  const legacyFile = o.legacyFile!;
  let ports: AgentPorts | undefined;
  let started: Started | undefined;
  let listening: number[] | null = null;
  let watchedMs: number | undefined;
  const none = (note: string): LegacyRun => ({ baseline: { note }, listening: null, given: null });
  try {
    ports = await allocateAgentPorts();
    const launch = o.legacyLaunch ?? (await launchFor(legacyFile));
    const windowMs = longer?.windowMs ?? (typeof watchRegistry === 'object' ? watchRegistry.registerWithinMs : undefined) ?? o.legacyWindowMs ?? legacyWindowFromEnv() ?? 2000;
    // The start slot is kept through this window: legacy agents all starting at once on a busy
    // machine would not get far in it, and their log and ports baselines would be incomplete.
    // (Its time limit outlasts the wait for a dying agent too: killed at the limit, an agent alive and
    // silent after a logged traceback read as one that could not start.)
    started = spawnFor(o, launch, legacyFile, ports.port, ports.health_port, windowMs + DYING_CAP_MS + 5000);
    const { proc } = started;
    const lookup = { kind: o.env.registryKind, url: started.registryUrl, name: o.agent.name, pid: proc.pid, owns: proc.owns, startedAt: proc.startedAt, deadlineMs: 0, proc, signal: o.signal };
    const window = longer
      ? waitFor(() => longer.until(proc.output(), { given: ports!, listening: () => listeningPorts(proc.members()) ?? [] }), windowMs, o.signal)
      : typeof watchRegistry === 'object'
        ? registrationLanded(lookup, watchRegistry.registerWithinMs)
        : sleep(windowMs, o.signal);
    let early = await Promise.race([proc.exit, window.then(() => undefined)]);
    // A traceback already printed when the window closed is an agent on its way out (the output is
    // read before the exit is seen, more so through the reaper launcher on a loaded machine): its
    // exit, not a SIGTERM from us, is what the baseline must record.
    if (!early && /^Traceback \(most recent call last\)/m.test(proc.output())) {
      early = await Promise.race([proc.exit, sleep(DYING_GRACE_MS, o.signal).then(() => undefined)]);
      if (!early) {
        // What it prints from here on (not its teardown's lines within the grace) says it went on.
        const seen = proc.output().length;
        const goesOn = waitFor(() => proc.output().length > seen, DYING_CAP_MS - DYING_GRACE_MS, o.signal);
        early = await Promise.race([proc.exit, goesOn.then(() => undefined)]);
      }
    }
    if (early && (early.spawnError || early.code !== 0)) {
      return { ...none(`legacy agent could not start: ${exitedDetail(proc)}`), startError: early.spawnError ?? lastErrorLine(proc.output()) };
    }
    let deregistration: LegacyDeregistration | undefined;
    let sigtermIgnoredMs: number | undefined;
    let registered: Entry | undefined;
    let health: number | undefined;
    let healthFrom: string | undefined;
    const unhealthy: UnhealthyAnswer[] = [];
    if (!early) {
      watchedMs = Date.now() - proc.startedAt;
      listening = listeningPorts(proc.members());
      // Not on the given health port: its health may sit on a port it chose itself, or on a neighbour it derived
      // from AGENT_PORT (`self.health_port = self.port + 1`, HEALTH_CHECK_PORT unread), which is in the block.
      const own = (listening ?? []).filter((p) => p !== ports!.port && p !== ports!.health_port);
      // The port its code binds its own health server on comes first (a raw JSON-line server answers no other probe):
      // the probe only confirms it, as that server is the one the rewrite hands to the base.
      const code = listening?.includes(ports.health_port) ? undefined : codeHealthPortOf(o.agent.health_port, listening ?? [], ports);
      const fromCode = code?.port;
      if (fromCode !== undefined) {
        const answered = probeHealth && (await legacyHealthPort([fromCode], probeHealth, o.agent.health_paths, unhealthy, datagramOnlyPorts(proc.members()), [fromCode])) === fromCode;
        // (a port only inferred from its code, its own port read from an INI file, counts when it answered)
        if (!code!.inferred || answered) {
          health = fromCode;
          const off = o.agent.health_port!.port_offset!;
          healthFrom = `read from its code${o.agent.health_port!.file ? ` (${o.agent.health_port!.file}:${o.agent.health_port!.line})` : ` (line ${o.agent.health_port!.line})`}${code!.inferred ? `, its port ${fromCode - off} + ${off}` : ''}${answered ? ', answered the health probe' : ''}`;
        }
      }
      // (the port read from its code was asked already: not again)
      const rest = fromCode !== undefined && probeHealth ? own.filter((p) => p !== fromCode) : own;
      health ??= listening?.includes(ports.health_port) ? ports.health_port : probeHealth && rest.length ? await legacyHealthPort(rest, probeHealth, o.agent.health_paths, unhealthy, datagramOnlyPorts(proc.members())) : undefined;
      // A port that answered /health with an unhealthy report (503 while its upstream is away) is its
      // health port all the same, when none answered healthy: the _v2's base serves that /health.
      health ??= unhealthy.map((a) => a.port).sort((a, b) => a - b)[0];
      if (health === ports.health_port && probeHealth === 'http') {
        const a = await httpGet(`http://127.0.0.1:${health}/health`, 2000).catch(() => undefined);
        const seen = a && unhealthyAnswer(health, a.status, a.body);
        if (seen) unhealthy.push(seen);
      }
      // Registered in its own scope by now: is it gone once SIGTERM has ended it?
      // One try: an unreadable registry leaves it unobserved, and the legacy agent's time limit runs.
      const before = watchRegistry ? await registrationNow(lookup, undefined, 1) : undefined;
      proc.signal('SIGTERM');
      // As long as the _v2 gets to stop (the shutdown deadline): with less, a legacy agent slowed
      // by a busy machine went unobserved and the report's words changed from run to run.
      const stopMs = o.shutdownDeadlineMs ?? (o.profile.validation?.shutdown_deadline_s ?? 5) * 1000;
      // An interrupted run (Ctrl-C, SIGTERM to the tool) does not sit this wait out.
      const ended = await Promise.race([proc.exit, sleep(stopMs, o.signal).then(() => undefined)]);
      // Run again for this alone: a /deregister it sent on its way out gets as long to land as it had to stop.
      // Its entry as seen before the SIGTERM is what counts as still there (its pids are gone once it ended).
      registered = before?.state === 'there' ? before.entry : undefined;
      const after = () => (typeof watchRegistry === 'object' ? registrationAfterExit(lookup, registered, stopMs, 1) : registrationNow(lookup, registered, 1));
      if (before) deregistration = await legacyDeregistration(before.state, ended, stopMs, after);
      // (still running at the deadline, not ended by an interrupt of the tool: the legacy agent ignores SIGTERM here too)
      if (!ended && !o.signal?.aborted && !proc.exited() && !proc.exitSeen?.()) sigtermIgnoredMs = stopMs;
    }
    return { baseline: { output: proc.output() }, listening, given: ports, health, ...(healthFrom ? { healthFrom } : {}), unhealthy, deregistration, registryLookup: lookup, registered, watchedMs, ...(sigtermIgnoredMs !== undefined ? { sigtermIgnoredMs } : {}) };
  } catch (err) {
    return none(`legacy agent could not start: ${oneLine(err)}`);
  } finally {
    await started?.proc.killGroup();
    await started?.launch.cleanup?.();
    releasePorts(ports?.block ?? []);
  }
}

/**
 * A legacy agent seen still registered right after it exited 0 is read again now that the _v2's whole
 * run has passed: a /deregister it sent on its way out may have landed late (a starved registry), and
 * nothing else writes to its scope.
 */
async function legacyStayed(legacy: LegacyRun): Promise<LegacyDeregistration | undefined> {
  if (legacy.deregistration?.kind !== 'stayed' || !legacy.registryLookup) return legacy.deregistration;
  const now = await registrationNow(legacy.registryLookup, legacy.registered, 1);
  return now.state === 'gone' ? { kind: 'deregistered' } : legacy.deregistration;
}

/** The legacy run's registration before its SIGTERM and after it ended (see checkDeregister). */
async function legacyDeregistration(
  before: 'gone' | 'there' | 'unknown',
  ended: { code: number | null } | undefined,
  stopMs: number,
  after: () => Promise<{ state: 'gone' | 'there' | 'unknown' }>,
): Promise<LegacyDeregistration> {
  if (before !== 'there') return { kind: 'unobserved', why: 'not registered within its baseline window', unregistered: before === 'gone' };
  if (!ended) return { kind: 'unobserved', why: `it did not stop within ${stopMs / 1000} s of SIGTERM` };
  if (ended.code !== 0) return { kind: 'unobserved', why: 'it did not exit with code 0 on SIGTERM' };
  const now = (await after()).state;
  return now === 'unknown' ? { kind: 'unobserved', why: 'the registry could not be read' } : { kind: now === 'gone' ? 'deregistered' : 'stayed' };
}

/**
 * Validate one agent, and leave the repository as it was found: what the agent (legacy run and
 * _v2) created or modified in the tree is put back once it and every validation that overlapped
 * it have ended (leftovers.ts); the report of the validation that ended last says what.
 */
export async function validateAgent(o: ValidateAgentOptions): Promise<ValidationReport> {
  let guard: Awaited<ReturnType<typeof enterTreeGuard>> | undefined;
  let guardError: string | undefined;
  try {
    guard = await enterTreeGuard(o.root, [o.file, ...(o.legacyFile ? [o.legacyFile] : [])]);
  } catch (err) {
    guardError = oneLine(err);
  }
  const report = await validateAgentRun(o);
  let cleanup: TreeCleanup | null = null;
  try {
    cleanup = (await guard?.leave()) ?? null;
  } catch (err) {
    guardError ??= oneLine(err);
  }
  if (guardError) cleanup = { removed: [], restored: [], kept: [`nothing checked: ${guardError}`] };
  return cleanup && (cleanup.removed.length || cleanup.restored.length || cleanup.put_back?.length || cleanup.kept?.length || cleanup.not_watched?.length) ? { ...report, tree_cleanup: cleanup } : report;
}

async function validateAgentRun(o: ValidateAgentOptions): Promise<ValidationReport> {
  const t0 = Date.now();
  const v = o.profile.validation ?? {};
  const enabled = new Set<CheckName>(v.checks ?? DEFAULT_CHECKS);
  // A base that does not register has nothing to find in a registry.
  if (v.registry === 'none') enabled.delete('registry');
  // Deregistration is read after a SIGTERM stop of an agent that registered.
  if (!enabled.has('registry') || !enabled.has('shutdown')) enabled.delete('deregister');
  // A profile listing the check says its base deregisters: the _v2 must, whatever the legacy agent did.
  const baseDeregisters = v.checks?.includes('deregister') ?? false;
  // MIGRATE_SURVIVAL_WINDOW_S overrides the profile's window (a short one for test suites and CI smoke runs).
  const envWindow = Number(process.env.MIGRATE_SURVIVAL_WINDOW_S);
  const survivalWindowMs = o.survivalWindowMs ?? (process.env.MIGRATE_SURVIVAL_WINDOW_S && Number.isFinite(envWindow) ? envWindow : v.survival_window_s ?? 30) * 1000;
  const survivalIntervalMs = o.survivalIntervalMs ?? (v.survival_interval_s ?? 2) * 1000;
  if (survivalWindowMs <= 0) enabled.delete('survival');
  const healthDeadlineMs = o.healthDeadlineMs ?? 15_000;
  const registryDeadlineMs = o.registryDeadlineMs ?? (v.registry_deadline_s ?? 30) * 1000;
  const metricsDeadlineMs = o.metricsDeadlineMs ?? 15_000;
  const shutdownDeadlineMs = o.shutdownDeadlineMs ?? (v.shutdown_deadline_s ?? 5) * 1000;
  const survivalMs = enabled.has('survival') ? survivalWindowMs * Math.max(1, v.survival_repeats ?? 1) : 0;
  const timeLimitMs = o.timeLimitMs ?? healthDeadlineMs + Math.max(registryDeadlineMs, metricsDeadlineMs, survivalMs) + shutdownDeadlineMs + 10_000;
  const eventbusPhaseMs = o.eventbusPhaseMs ?? 15_000;
  const name = o.agent.name;
  const rel = path.relative(o.root, o.file) || o.file;
  const report = (checks: CheckResult[], ports: Record<string, number>, error?: string, notRun?: string): ValidationReport => {
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
        ...(notRun && !o.signal?.aborted ? { not_run: redactText(notRun) } : {}),
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
    // A block with the ports derived from them, held until the agent has stopped (see allocateAgentPorts).
    const block = o.ports?.port && o.ports?.health_port ? undefined : await allocateAgentPorts();
    allocated.push(...(block?.block ?? []));
    const port = o.ports?.port ?? block!.port;
    const healthPort = o.ports?.health_port ?? block!.health_port;
    const ports = { port, health_port: healthPort };
    for (const [label, p] of Object.entries(ports)) {
      if ((label === 'port' ? o.ports?.port : o.ports?.health_port) && !(await isPortFree(p))) {
        const msg = `${label.replace('_', ' ')} ${p} is already in use by another process`;
        return report(failedAll(msg, enabled, o.profile.name), ports, msg);
      }
    }

    const legacy: LegacyRun =
      (enabled.has('log') || enabled.has('ports') || (enabled.has('deregister') && !baseDeregisters)) && o.legacyFile
        ? await legacyBaseline(o, launchFor, undefined, enabled.has('deregister'), enabled.has('ports') ? (v.health ?? 'http') : undefined)
        : { baseline: { note: o.legacyFile ? 'log check disabled' : 'no legacy file given' }, listening: null, given: null };
    const baseline = legacy.baseline;
    let legacyStartError = legacy.startError;

    // The fake EventBus and quick cycles, so that up / down / back fit in the time limit. Its
    // envelope log is the agent's environment's (a validation given its own keeps its own).
    if (enabled.has('eventbus')) bus = await startFakeEventBus(undefined, (o.baseEnv ?? process.env).MIGRATE_EVENTBUS_LOG);
    const busEnv: Record<string, string> = bus
      ? { EVENTBUS_ADDRESS: bus.address, EVENTBUS_URL: bus.url, COLLECTION_INTERVAL: '0.5', CIRCUIT_RECOVERY_TIMEOUT: '1' }
      : {};
    // What an external registry holds before the agent starts is not its registration.
    const before = enabled.has('registry') ? await registrySnapshot({ kind: o.env.registryKind, url: o.env.registryUrl, name }) : undefined;
    started = spawnFor(o, launch, o.file, port, healthPort, bus ? timeLimitMs + 4 * eventbusPhaseMs : timeLimitMs, busEnv);
    const { proc } = started;
    if (!proc.pid) {
      const exit = await proc.exit;
      const msg = `cannot start ${rel}: ${exit.spawnError}`;
      return report(failedAll(msg, enabled, o.profile.name), ports, msg);
    }
    const common = { startedAt: proc.startedAt, proc, signal: o.signal };
    const declaredBy = v.health === 'zmq' ? undefined : await declaredHealthCodeHook(o.root, o.file, o.agent, o.profile);
    const checks = new Map<CheckName, CheckResult>();

    // Health, registry and metrics run side by side, each timed from the agent's start; the
    // survival window starts at the first healthy answer, the ports are read at its end.
    const healthP = !enabled.has('health')
      ? Promise.resolve(undefined)
      : v.health === 'zmq'
        ? checkHealthZmq({ ...common, port: healthPort, deadlineMs: healthDeadlineMs })
        : checkHealthHttp({ ...common, port: healthPort, deadlineMs: healthDeadlineMs, legacy: legacy.unhealthy, lateGraceMs: o.healthLateGraceMs, declaredBy });
    let survivedAsLegacy: UnhealthyAnswer | undefined;
    // A 2xx status other than ok the agent declares (its override of the base's code hook), seen in the window.
    let survivedDeclared: string | undefined;
    // The unhealthy JSON answer survival failed on when the legacy's short baseline had not answered so (and when, from the start).
    let unhealthyLater: { answer: UnhealthyAnswer; atMs: number } | undefined;
    const probe = async (): Promise<string | null> => {
      if (v.health === 'zmq') {
        const r = await checkHealthZmq({ port: healthPort, deadlineMs: 2000, startedAt: Date.now(), proc, signal: o.signal });
        return r.ok ? null : r.detail;
      }
      try {
        const a = await httpGet(`http://127.0.0.1:${healthPort}/health`, 2000);
        const verdict = judgeHealth(a.status, a.body, declaredBy);
        if (verdict.healthy) {
          if (verdict.declared) survivedDeclared ??= `${a.status} status "${verdict.status}"${declaredWords(verdict)}`;
          return null;
        }
        // Healthy at first, then the legacy's own unhealthy answer in this environment (503
        // `degraded` once a round failed on an upstream the validator does not provide): up and
        // answering as the legacy did; survival is about an agent that went away or answers otherwise.
        const same = asLegacyAnswer(healthPort, a.status, a.body, legacy.unhealthy);
        if (!same) {
          const answer = unhealthyAnswer(healthPort, a.status, a.body);
          if (answer) unhealthyLater ??= { answer, atMs: Date.now() - proc.startedAt };
          return verdict.why;
        }
        survivedAsLegacy ??= same;
        return null;
      } catch (err) {
        return networkReason(err);
      }
    };
    healthP.then(
      () => o.pace?.idle(),
      () => o.pace?.idle(),
    );
    const survivalP = healthP.then(async (h) => {
      const survival = !enabled.has('survival')
        ? undefined
        : h && (!h.ok || h.as_legacy)
          ? { ...result('survival', true, 0, `not observed: the agent never answered healthy${h.as_legacy ? ' (its /health answered as the legacy agent\'s own did: see health)' : ''}`), skipped: true }
          : await checkSurvival({ proc, probe, windowMs: survivalWindowMs, intervalMs: survivalIntervalMs, repeats: v.survival_repeats, signal: o.signal, asLegacy: () => survivedAsLegacy, declared: () => survivedDeclared });
      const t = Date.now();
      const now = proc.exited() ? null : listeningPorts(proc.members());
      const ports = !enabled.has('ports')
        ? undefined
        : proc.exited()
          ? { ...result('ports', true, 0, 'not compared: the _v2 is not running'), skipped: true }
          : checkPorts({
            legacy: legacy.listening,
            legacyNote: legacy.baseline.note,
            mapping: new Map(legacy.given ? [[legacy.given.port, port], [legacy.given.health_port, healthPort]] : []),
            derived: legacy.given ? derivedPortMapping(legacy.given, { port, health_port: healthPort }) : undefined,
            now,
            health: { v2: healthPort, legacy: legacy.health, ...(legacy.healthFrom ? { how: legacy.healthFrom } : {}) },
            ...(o.agent.port_default !== undefined ? { own: { legacy: o.agent.port_default, v2: port } } : {}),
            ms: Date.now() - t,
          });
      return { survival, ports, now };
    });
    const registryLookup = { ...common, kind: o.env.registryKind, url: started.registryUrl, name, pid: proc.pid, owns: proc.owns, before, deadlineMs: registryDeadlineMs };
    const [health, registration, met, later] = await Promise.all([
      healthP,
      enabled.has('registry') ? watchRegistration(registryLookup) : undefined,
      enabled.has('metrics')
        ? checkMetrics({ ...common, kind: o.env.metricsKind, url: o.env.metricsUrl, healthPort, name, deadlineMs: metricsDeadlineMs })
        : undefined,
      survivalP,
    ]);
    if (later.survival) checks.set('survival', later.survival);
    const accepted: Entry | undefined = registration?.entry;
    if (later.ports) {
      checks.set('ports', withRegisteredPort(later.ports, {
        legacyRegistered: advertisedPort(legacy.registered?.record), legacy: legacy.listening, registered: advertisedPort(accepted?.record), now: later.now,
      }));
    }
    const reg = registration?.result;
    if (health) checks.set('health', baseNeverStarted(health, reg, met, proc, name) ?? health);
    if (reg) checks.set('registry', reg);
    if (met) checks.set('metrics', met);
    if (bus) checks.set('eventbus', await checkEventBus({ bus, healthPort, proc, phaseDeadlineMs: eventbusPhaseMs, signal: o.signal, handOff: refusedHandOff(await readFile(o.file, 'utf8').catch(() => '')) }));
    if (enabled.has('shutdown')) checks.set('shutdown', await checkShutdown({ proc, deadlineMs: shutdownDeadlineMs }));
    if (enabled.has('deregister')) {
      checks.set(
        'deregister',
        await checkDeregister({
          registry: registryLookup,
          registered: reg,
          accepted,
          shutdown: checks.get('shutdown'),
          legacy: await legacyStayed(legacy),
          baseDeregisters,
          settleMs: shutdownDeadlineMs,
          // As long to register as the _v2 was given.
          legacyAgain: async () => (await legacyBaseline(o, launchFor, undefined, { registerWithinMs: registryDeadlineMs })).deregistration,
          language: o.agent.language,
        }),
      );
    }
    await proc.killGroup();
    // The legacy baseline is watched a short window: a legacy whose own /health turns unhealthy later (503
    // "degraded" three sync intervals after its start, what it syncs missing here) is not seen doing so, and its
    // _v2 answering the same failed survival. Before failing, the legacy runs again, twice as long as the _v2 took
    // to answer so (and a little more), and is asked at the end: the same code and status is the legacy's own answer.
    const lost = checks.get('survival');
    if (lost && !lost.ok && unhealthyLater && legacy.listening !== null && v.health !== 'zmq') {
      const { answer, atMs } = unhealthyLater;
      // Until a /health of its (the given health port, or a port it bound itself) answers that status (with the
      // same code or another: either is its answer), for at most twice as long as the _v2 took, the survival
      // window or LEGACY_ANSWER_FLOOR_MS, the longest: a window only as long as the _v2 took ended a legacy agent
      // whose start lagged the _v2's (a loaded machine) before it answered so.
      const windowMs = Math.max(survivalMs, 2 * atMs + LATE_LINE_SLACK_MS, LEGACY_ANSWER_FLOOR_MS);
      // Its ports asked at once, briefly: a business port that holds the connection without a word must not
      // stretch each poll by seconds (the run would pass its time limit).
      const answers = async ({ given, listening }: { given: AgentPorts; listening: () => number[] }) => {
        const ports = [...new Set([given.health_port, ...listening().filter((q) => q !== given.port)])];
        const seen = await Promise.all(ports.map(async (p) => {
          const a = await httpGet(`http://127.0.0.1:${p}/health`, 500).catch(() => undefined);
          return a ? unhealthyAnswer(p, a.status, a.body) : undefined;
        }));
        return seen.some((x) => x?.status === answer.status);
      };
      const again = await legacyBaseline(o, launchFor, { windowMs, until: (_out, ports) => answers(ports) }, false, 'http');
      const same = again.unhealthy?.find((l) => l.code === answer.code && l.status === answer.status);
      if (same) {
        checks.set('survival', {
          ...result('survival', true, lost.ms, `stayed up after its first healthy answer, then answered ${asLegacyWords(same)} (the legacy agent, run again for ${secs(again.watchedMs ?? windowMs)}, answers so too)`),
          as_legacy: { code: same.code, status: same.status, port: same.port },
        });
      }
    }
    if (enabled.has('log')) {
      let log = checkLog(proc.output(), baseline);
      // The legacy run is watched for a short window only: an error it logs later (a hand-made registration
      // giving up after its retries) looks new in the _v2's longer run. Before failing, the legacy agent runs
      // again, as long as the _v2 was watched at most, until it has logged those lines too.
      const fresh = log.ok ? [] : freshLines(proc.output(), baseline);
      if (fresh.length && baseline.output !== undefined && legacy.listening !== null) {
        const want = fresh.map(normalizeLine);
        const has = (out: string) => {
          const seen = new Set(errorLines(out).map(normalizeLine));
          return want.every((l) => seen.has(l));
        };
        // At least as long as the _v2 took to print the last of them, with room for a slower legacy start (a
        // registration giving up after 13 s of back-off was not confirmed within a fixed 10 s); never longer than
        // the _v2 was watched, or than a floor for a slow start. The run ends as soon as they are all printed.
        const late = Math.max(0, ...want.map((l) => proc.errorLineSeenMs?.(l) ?? 0));
        const longest = o.longerLegacyMs ?? LONGER_LEGACY_MS;
        const watched = Math.max(Date.now() - t0, LEGACY_RERUN_FLOOR_MS);
        const again = await legacyBaseline(o, launchFor, { windowMs: Math.min(watched, Math.max(longest, late * 2 + LATE_LINE_SLACK_MS)), until: has });
        // The legacy agent had not got far in its short window (a loaded machine): watched longer, it died at start.
        legacyStartError ??= again.startError;
        if (again.baseline.output !== undefined) {
          log = checkLog(proc.output(), { output: again.baseline.output });
          if (log.ok) log = { ...log, detail: `${log.detail} (the legacy agent, watched longer, logs them too)` };
        }
      }
      checks.set('log', log);
    }

    const list = listed(enabled).map((c) => checks.get(c) ?? skippedCheck(c, o.profile.name));
    const exit = proc.exited();
    let error = exit?.timedOut ? `${rel}: killed at the time limit of ${(timeLimitMs / 1000).toFixed(1)} s${toolPaused(exit)}` : undefined;
    // The _v2 and the legacy agent both die here for want of a module this machine lacks: the
    // environment cannot run the agent, which says nothing about the migration either way: not_run
    // (the run's status not-validated), never ok.
    const died = exit && !exit.timedOut && exit.code !== 0 ? lastErrorLine(proc.output()) : undefined;
    // Only a missing module says "this machine", not "this migration" (a broken state file does not).
    const missing = (line?: string) => !!line && /^(ModuleNotFoundError|ImportError)\b/.test(line);
    let notRun: string | undefined;
    if (!error && missing(died) && missing(legacyStartError) && list.some((c) => !c.ok && !c.skipped)) {
      notRun = legacyStartError === died ? died : `legacy: ${legacyStartError}; _v2: ${died}`;
      error = `validation: not run here: ${rel} and its legacy agent both stop at start for want of a module (${notRun}); validate where the agent's dependencies are installed, or give the launch command in .migrate/config.yaml`;
    } else if (!error && died && died === legacyStartError) {
      // Both stopped at start with the same last error line (a broker's API this machine lacks: the
      // legacy QueueExporter exits 2 on `fetch failed` too). Not a missing module, so no not_run (the
      // cause may be this migration's as well as the environment's), but the error says the legacy
      // agent stops the same way here, which the first failed check alone does not.
      const first = list.find((c) => !c.ok && !c.skipped);
      if (first) error = `validation: ${first.name}: ${first.detail}; its legacy agent stops at start the same way here (${died}), so this environment may lack what the agent needs at start: validate where that is available`;
    } else if (!error && legacy.sigtermIgnoredMs !== undefined) {
      // The _v2 outlived its SIGTERM and so did the legacy agent in its own run (a SIGTERM-deaf agent: SIG_IGN, a
      // non-daemon thread): the shutdown check fails as before, and the error says the legacy does the same here.
      const first = list.find((c) => !c.ok && !c.skipped);
      if (first?.name === 'shutdown' && /after SIGTERM/.test(first.detail)) {
        error = `validation: shutdown: ${first.detail}; its legacy agent ignores SIGTERM here too (still running ${(legacy.sigtermIgnoredMs / 1000).toFixed(1)} s after it in its own run), so the migration kept that: make the agent stop on SIGTERM, as the base expects`;
      }
    }
    return report(list, ports, error, notRun);
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

/** Agents under watch (past their start) at most, per agent starting: see validateAgents. */
export const WATCHED_PER_STARTING = 4;

/**
 * Validate many agents, `concurrency` of them starting at once (see StartPace), in input order;
 * results in input order. While an agent only waits (its survival window, 30 s by default, the
 * registry and metrics polls) it gives its start slot to the next agent and is watched beside
 * it, up to `watched` agents alive at once (default
 * WATCHED_PER_STARTING per start slot). Each agent holding its slot through the whole window
 * made a 77-agent fleet take over ten minutes at concurrency 4.
 */
export async function validateAgents(
  list: ValidateAgentOptions[],
  opts: { concurrency: number; watched?: number; onDone?: (i: number, r: ValidationReport) => void },
): Promise<ValidationReport[]> {
  const results: ValidationReport[] = new Array(list.length);
  const starting = new Slots(Math.max(1, opts.concurrency));
  const alive = new Slots(Math.max(1, opts.concurrency, opts.watched ?? opts.concurrency * WATCHED_PER_STARTING));
  // Two validations that run one program (an abstract parent runs through its subclass's file, a
  // declaring module through the file that starts it) run one after the other: at once, both
  // copies bind the ports the program itself chooses (a status server on a fixed port) and the
  // second dies on EADDRINUSE, a failure of neither agent.
  const programs = await Promise.all(list.map((o) => programsOf(o)));
  const lastRun = new Map<string, Promise<void>>();
  const after = list.map((_, i) => {
    const earlier = [...new Set(programs[i]!.map((p) => lastRun.get(p)).filter((x): x is Promise<void> => !!x))];
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    for (const p of programs[i]!) lastRun.set(p, mine);
    return { earlier, done };
  });
  await Promise.all(
    list.map(async (o, i) => {
      await Promise.all(after[i]!.earlier);
      try {
        await validateOne(o, i);
      } finally {
        after[i]!.done();
      }
    }),
  );
  return results;

  async function validateOne(o: ValidateAgentOptions, i: number): Promise<void> {
    await alive.take();
    await starting.take();
    let holding = true;
    const pace: StartPace = {
      idle: () => {
        if (holding) starting.give();
        holding = false;
      },
    };
    try {
      // Interrupted: the agents not started yet are not started at all.
      results[i] = o.signal?.aborted
        ? { ok: false, ms: 0, checks: failedAll('interrupted', new Set(o.profile.validation?.checks ?? DEFAULT_CHECKS), o.profile.name), ports: {}, error: 'interrupted' }
        : await validateAgent({ ...o, pace });
    } finally {
      pace.idle();
      alive.give();
    }
    opts.onDone?.(i, results[i]!);
  }
}

/**
 * The programs a validation runs (the _v2 side and the legacy baseline), as the files launched;
 * a launch that cannot be resolved here counts as its own file (the launch itself reports why).
 */
async function programsOf(o: ValidateAgentOptions): Promise<string[]> {
  const files = [o.file, ...(o.legacyFile ? [o.legacyFile] : [])];
  if (o.launch || o.agent.language !== 'typescript') return files.map((f) => path.resolve(o.root, f));
  const spec = '../lang/typescript/launch.js';
  const mod = (await import(spec)) as { launchTarget?: (root: string, file: string) => { abs: string } };
  return files.map((f) => {
    try {
      return mod.launchTarget ? mod.launchTarget(o.root, f).abs : path.resolve(o.root, f);
    } catch {
      return path.resolve(o.root, f);
    }
  });
}

/** A counting semaphore whose waiters are served first come, first served. */
class Slots {
  private readonly waiting: Array<() => void> = [];
  constructor(private free: number) {}

  take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * Nothing of the base came up while the agent ran: its health port never bound, no registration, no metrics
 * sample, and the agent still up (probe-node68's LineCache: its starter called the agent's own listen(), which
 * serves the line protocol and never the base's start()). The health detail named only the port ("does it take
 * its health port from the environment?"), where the cause is that the base was never started: say that first.
 */
function baseNeverStarted(health: CheckResult, reg: CheckResult | undefined, met: CheckResult | undefined, proc: AgentProcess, name: string): CheckResult | undefined {
  const m = /^port (\d+) was never bound/.exec(health.detail);
  if (health.ok || !m || !reg || reg.ok || !met || met.ok || proc.exited()) return undefined;
  // (The detail's ports the agent listens on stay; its question about the health port's variable goes: not the cause.)
  const detail = health.detail.replace(/ instead: does it take its health port from the environment it is given\?$/, ' instead');
  return {
    ...health,
    detail:
      `the base was never started: nothing of it came up while the agent ran (no /health on port ${m[1]}, no registration as ${name}, no metrics sample) though the agent stayed up: ` +
      `whatever starts the _v2 (its entry point, or a starter file) does not build the agent and call the base's start() or run() (a start-up method of its own serving only the agent's own sockets, as a kept listen(), is the usual cause). ${detail}`,
  };
}
