// The validation stage: one validation environment (embedded registry and metrics sink
// unless URLs are given) for the whole batch, agents validated up to --concurrency at once.
// The batch starts the environment (and probes real endpoints) before it writes anything.
import type { AgentInfo, ValidationReport } from '../core/types.js';
import path from 'node:path';
import type { Profile } from '../profile/profile.js';
import { adapterFor } from '../lang/registry.js';
import { UsageError } from '../core/errors.js';
import { rememberValidation, validatedSha } from '../record/validation-cache.js';
import { checkEndpoints, startValidationEnvironment, type ValidationEnvironment } from '../validate/environment.js';
import { validateAgents, type ValidateAgentOptions } from '../validate/validate-agent.js';
import { configLaunchEnvironments } from '../config/launch-env.js';

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
    // Every launch command is made before the first agent starts: a TypeScript agent's is a
    // compile, which would hold this thread (and with it the health probes, the embedded
    // registry and the metrics sink) while other agents are being watched. One that cannot be
    // made is left to the agent's own validation, which fails that agent alone with the reason.
    const launchOf = async (language: AgentInfo['language'], file: string) => {
      try {
        return await adapterFor(language).launch(root, file);
      } catch (err) {
        if (err instanceof UsageError) throw err;
        return undefined;
      }
    };
    const items: ValidateAgentOptions[] = [];
    for (const x of list) {
      items.push({
        root,
        agent: x.agent,
        file: x.file,
        legacyFile: x.legacyFile,
        profile: opts.profile,
        env,
        signal: opts.signal,
        launch: await launchOf(x.agent.language, x.file),
        legacyLaunch: await launchOf(x.agent.language, x.legacyFile),
        ...launchEnv(x.agent),
      });
    }
    // `migrate status` (and `migrate commit`) take an uncommitted `_v2` that passed as validated.
    const before = list.map((x) => validatedSha(x.file));
    const remember = (i: number, report: ValidationReport) =>
      rememberValidation(root, list[i]!.agent.name, path.relative(root, list[i]!.file).split(path.sep).join('/'), report, before[i] ?? null);
    return await validateAgents(items, {
      concurrency: opts.concurrency,
      onDone: (i, report) => {
        remember(i, report);
        opts.onDone?.(i, report);
      },
    });
  } finally {
    if (!given) await env.close();
  }
}
