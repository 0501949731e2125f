// The validation stage: one validation environment (embedded registry and metrics sink
// unless URLs are given) for the whole batch, agents validated up to --concurrency at once.
import type { AgentInfo, ValidationReport } from '../core/types.js';
import path from 'node:path';
import type { Profile } from '../profile/profile.js';
import { rememberValidation } from '../record/validation-cache.js';
import { adapterFor } from '../lang/registry.js';
import { startValidationEnvironment } from '../validate/environment.js';
import { validateAgents, type ValidateAgentOptions } from '../validate/validate-agent.js';
import { configLaunchEnvironments } from '../config/launch-env.js';

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
): Promise<ValidationReport[]> {
  if (!list.length) return [];
  const launchEnv = configLaunchEnvironments(root);
  const env = await startValidationEnvironment({ registryUrl: opts.registryUrl, metricsUrl: opts.metricsUrl });
  try {
    const items: ValidateAgentOptions[] = [];
    for (const x of list) {
      const adapter = adapterFor(x.agent.language);
      items.push({
        root,
        agent: x.agent,
        file: x.file,
        legacyFile: x.legacyFile,
        profile: opts.profile,
        env,
        signal: opts.signal,
        launch: await adapter.launch(root, x.file),
        legacyLaunch: await adapter.launch(root, x.legacyFile),
        ...launchEnv(x.agent),
      });
    }
    // `migrate status` (and `migrate commit`) take an uncommitted `_v2` that passed as validated.
    const remember = (i: number, report: ValidationReport) =>
      rememberValidation(root, list[i]!.agent.name, path.relative(root, list[i]!.file).split(path.sep).join('/'), report);
    return await validateAgents(items, {
      concurrency: opts.concurrency,
      onDone: (i, report) => {
        remember(i, report);
        opts.onDone?.(i, report);
      },
    });
  } finally {
    await env.close();
  }
}
