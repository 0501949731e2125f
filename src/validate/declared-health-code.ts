// Whether the agent under validation chooses the HTTP code of its health status itself: its class
// overrides the base's code hook (the reference BaseAgent's _health_http_code() / healthHttpCode(),
// learned from the base's source, see baseHealthCodeHook and the TypeScript base model's
// healthCodeHook). The rewrite writes that override when the legacy answered
// 200 whatever status it reported, so a 2xx "degraded" from it is what it declares, not a failure;
// from any other agent, a status other than ok/healthy stays unhealthy whatever its code.
import { readFileSync } from 'node:fs';
import { loadBaseModel } from '../analysis/base-model.js';
import { parsePython, firstSyntaxError } from '../lang/python/parser.js';
import { buildModuleModel } from '../lang/python/module-model.js';
import type { AgentInfo } from '../core/types.js';
import type { Profile } from '../profile/profile.js';

/**
 * The base's code hook the agent's class in `file` overrides (its name), else undefined. The
 * TypeScript side is imported only for a TypeScript agent: ts-morph cost a validation of Python
 * agents 1.2 s of CPU to load (measured with --cpu-prof), on every `migrate validate`.
 */
export async function declaredHealthCodeHook(root: string, file: string, agent: AgentInfo, profile: Profile): Promise<string | undefined> {
  if (agent.language === 'typescript') return (await import('./declared-health-code-ts.js')).declaredTsHealthCodeHook(root, file, agent, profile);
  if (!profile.python) return undefined;
  try {
    const hook = loadBaseModel(root, profile.python, profile.base_class).healthCodeHook;
    if (!hook) return undefined;
    const source = readFileSync(file, 'utf8');
    const tree = parsePython(source);
    if (firstSyntaxError(tree)) return undefined;
    const cls = buildModuleModel(source, tree).classes.find((c) => c.name === agent.class);
    return cls?.methods.has(hook) ? hook : undefined;
  } catch {
    return undefined;
  }
}
