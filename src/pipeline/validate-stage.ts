// The validation stage: one validation environment (embedded registry and metrics sink
// unless URLs are given) for the whole batch, agents validated up to --concurrency at once.
// The batch starts the environment (and probes real endpoints) before it writes anything.
import type { AgentInfo, ValidationReport } from '../core/types.js';
import path from 'node:path';
import { profileFor, type Profile } from '../profile/profile.js';
import { headBranchNow, rememberValidation, validatedSha } from '../record/validation-cache.js';
import { checkEndpoints, startValidationEnvironment, type ValidationEnvironment } from '../validate/environment.js';
import { validateAgents, type ValidateAgentOptions } from '../validate/validate-agent.js';
import { configLaunchEnvironments } from '../config/launch-env.js';
import { cleanupWarning } from '../validate/leftovers.js';
import { io } from '../core/invocation.js';

/** The environment of a batch's validations: started, and real endpoints probed once (UsageError when one is wrong). */
export async function prepareValidationEnvironment(opts: { registryUrl?: string; metricsUrl?: string }): Promise<ValidationEnvironment> {
  const env = await startValidationEnvironment({ registryUrl: opts.registryUrl, metricsUrl: opts.metricsUrl });
  try {
    await checkEndpoints(env);
  } catch (err) {
    await env.close();
    throw err;
  }
  return env;
}

export async function runValidationStage(
  root: string,
  list: Array<{ agent: AgentInfo; file: string; legacyFile: string }>,
  opts: {
    profile: Profile;
    concurrency: number;
    registryUrl?: string;
    metricsUrl?: string;
    signal?: AbortSignal;
    /** Told as each agent's report arrives (index into `list`). */
    onDone?: (i: number, report: ValidationReport) => void;
  },
  given?: ValidationEnvironment,
): Promise<ValidationReport[]> {
  if (!list.length) return [];
  const launchEnv = configLaunchEnvironments(root);
  const env = given ?? (await prepareValidationEnvironment(opts));
  try {
    // Each agent's launch command is made in its own start slot, so a TypeScript agent's compile
    // overlaps the others' watching; it runs in a thread of its own (launch-thread.ts), never in
    // this one, which serves the health probes, the embedded registry and the metrics sink. A
    // launch that cannot be made fails that agent alone, with the reason.
    const items: ValidateAgentOptions[] = list.map((x) => ({
      root,
      agent: x.agent,
      file: x.file,
      legacyFile: x.legacyFile,
      profile: profileFor(opts.profile, x.agent.language, x.agent.file),
      env,
      signal: opts.signal,
      ...launchEnv(x.agent),
    }));
    // `migrate status` (and `migrate commit`) take an uncommitted `_v2` that passed as validated.
    const before = list.map((x) => validatedSha(x.file));
    const branch = headBranchNow(root);
    const remember = (i: number, report: ValidationReport) =>
      rememberValidation(root, list[i]!.agent.name, path.relative(root, list[i]!.file).split(path.sep).join('/'), report, before[i] ?? null, branch);
    return await validateAgents(items, {
      concurrency: opts.concurrency,
      onDone: (i, report) => {
        remember(i, report);
        const warning = cleanupWarning(list[i]!.agent.name, report.tree_cleanup);
        if (warning) io.stderr.write(warning);
        opts.onDone?.(i, report);
      },
    });
  } finally {
    if (!given) await env.close();
  }
}
