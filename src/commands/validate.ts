// `migrate validate AGENT...`: start each agent's _v2 file for real and run the
// runtime checks (health, registry, metrics, shutdown, log), several at once.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import type { AgentInfo, BaseUnit } from '../core/types.js';
import { scanRepository } from '../discover/scan.js';
import { withListingKept } from '../discover/files.js';
import { selectAgents, selectUnit, unitNotWritten } from '../discover/resolve.js';
import { memberAgent, unitOutputs } from '../discover/base-units.js';
import { resolveEndpoints, type ValidationEnvironment } from '../validate/environment.js';
import { prepareValidationEnvironment } from '../pipeline/validate-stage.js';
import { RunJournal } from '../pipeline/journal.js';
import { enableWatchdog } from '../validate/watchdog.js';
import { reaperNote } from '../validate/reaper.js';
import { listenForInterrupt } from './interrupt.js';
import { readLaunchTemplate } from '../validate/launch.js';
import { validateAgents, type ValidateAgentOptions } from '../validate/validate-agent.js';
import { validationJson, validationTable, type ValidationRow } from '../report/validation-table.js';
import { colours } from '../report/terminal.js';
import { commandProfile, resolveRoot, type CommonFlags } from './common.js';
import { profileFor } from '../profile/profile.js';
import { headBranchNow, rememberValidation, validatedSha } from '../record/validation-cache.js';
import { configLaunchEnvironments } from '../config/launch-env.js';
import { io } from '../core/invocation.js';
import { cleanupWarning } from '../validate/leftovers.js';

export interface ValidateCommandOptions extends CommonFlags {
  profile?: string;
  concurrency?: number;
  registryUrl?: string;
  metricsUrl?: string;
  /** Seconds allowed to register (default: the profile's, 30 s). */
  registryDeadline?: number;
  json?: boolean;
  /**
   * The environment the agents start in and the endpoints and startup configs' placeholders are read
   * from (default process.env): a caller validating several repositories at once in one process
   * gives each its own, where setting process.env would reach every agent started meanwhile.
   */
  env?: Record<string, string | undefined>;
}

import { filesOf } from './agent-files.js';

export { filesOf, v2Path } from './agent-files.js';

export async function validateCommand(agents: string[], opts: ValidateCommandOptions): Promise<number> {
  const root = resolveRoot(opts);
  if (!agents.length) throw new UsageError('name at least one agent to validate');
  // Validation adds no file to the repository (its builds go to node_modules/.cache or the temporary
  // folder): git lists it once for the scan, the startup configs and every launch's starter search.
  return withListingKept(() => validateIn(root, agents, opts));
}

async function validateIn(root: string, agents: string[], opts: ValidateCommandOptions): Promise<number> {
  const profile = commandProfile(opts, root).profile;
  // One scan for all names (resolveAgent would rescan the repository per name).
  const scan = await scanRepository(root, profile);
  // A base migration unit named by its base: each of its agents' _v2 (on the base's _v2) is started,
  // never the base alone (it is what its agents run on); one of its agents: that agent's _v2.
  const infos: AgentInfo[] = [];
  const rest: string[] = [];
  const unitOf = new Map<string, BaseUnit>();
  for (const arg of agents) {
    const selected = selectUnit(scan, root, arg);
    if (!selected) rest.push(arg);
    // A refused unit has no _v2 at all: said of the unit (named by its base) or of the agent named, never
    // of whichever agent of it happens to come first. Likewise a ready unit named by its base that is not
    // (all) written: every missing file, of the unit.
    if (selected && !selected.member) {
      const missing = selected.unit.status === 'refused' ? [] : unitOutputs(selected.unit).filter((f) => !existsSync(path.join(root, f)));
      if (selected.unit.status === 'refused' || missing.length) throw new UsageError(unitNotWritten(selected.unit, missing));
    } else if (selected?.member && selected.unit.status === 'refused') throw new UsageError(`${selected.member.class}: ${unitNotWritten(selected.unit, [])}`);
    for (const m of selected?.unit.members ?? []) unitOf.set(m.file, selected!.unit);
    if (selected) infos.push(...(selected.member ? [selected.member] : selected.unit.members).map(memberAgent).filter((a) => !infos.some((x) => x.file === a.file)));
  }
  for (const a of rest.length ? selectAgents(scan, root, rest) : []) if (!infos.some((x) => x.file === a.file)) infos.push(a);
  const plans = infos.map((agent) => {
    const { output, legacy } = filesOf(agent, root);
    if (!existsSync(path.join(root, output))) {
      const unit = unitOf.get(agent.file);
      if (unit) throw new UsageError(`${agent.name}: ${unitNotWritten(unit, [output])}`);
      throw new UsageError(`${output} does not exist: migrate ${agent.name} first (\`migrate run ${agent.name}\`)`);
    }
    return { agent, output, legacy };
  });

  // A broken launch template is a configuration error of the whole run: fail before starting anything.
  for (const language of new Set(plans.map((p) => p.agent.language))) readLaunchTemplate(root, language);
  const endpoints = resolveEndpoints({ registryUrl: opts.registryUrl, metricsUrl: opts.metricsUrl }, opts.env);

  const launchEnv = configLaunchEnvironments(root, opts.env);
  // Agents must not outlive this command, even killed with -9: a watchdog, and a journal
  // of their processes that the next command recovers from.
  enableWatchdog();
  const reaper = reaperNote(); // agents start without the subreaper launcher here: say what that loses
  if (reaper) io.stderr.write(`migrate: note: ${reaper}\n`);
  // The handler first: a signal while the journal recovers a killed run is this command's to answer.
  const interrupt = listenForInterrupt('its agents end with it (the next validate stops any it left)');
  let journal: RunJournal | undefined;
  let env: ValidationEnvironment | undefined;
  try {
    journal = await RunJournal.open(root, 'validate');
    const ready = await prepareValidationEnvironment(endpoints);
    env = ready;
    const list: ValidateAgentOptions[] = plans.map((p) => ({
      root,
      agent: p.agent,
      file: path.join(root, p.output),
      legacyFile: p.legacy ? path.join(root, p.legacy) : undefined,
      profile: profileFor(profile, p.agent.language, p.agent.file),
      env: ready,
      registryDeadlineMs: opts.registryDeadline ? opts.registryDeadline * 1000 : undefined,
      signal: interrupt.signal,
      baseEnv: opts.env,
      ...launchEnv(p.agent),
    }));
    const before = list.map((x) => validatedSha(x.file));
    const branch = headBranchNow(root);
    const reports = await validateAgents(list, { concurrency: opts.concurrency ?? Math.min(4, list.length) });
    const rows: ValidationRow[] = plans.map((p, i) => ({ agent: p.agent.name, file: p.agent.file, output: p.output, validation: reports[i]! }));
    plans.forEach((p, i) => {
      rememberValidation(root, p.agent.name, p.output, reports[i]!, before[i] ?? null, branch);
      const warning = cleanupWarning(p.agent.name, reports[i]!.tree_cleanup);
      if (warning) io.stderr.write(warning);
      if (validatedSha(list[i]!.file) !== before[i]) io.stderr.write(`migrate: ${p.output} changed while it was validated; this result is not what \`migrate commit\` accepts\n`);
    });
    io.stdout.write(opts.json ? validationJson(rows) : validationTable(rows, colours()));
    return interrupt.exitCode() ?? (reports.every((r) => r.ok) ? 0 : 1);
  } finally {
    interrupt.dispose();
    await env?.close();
    journal?.finish();
  }
}
