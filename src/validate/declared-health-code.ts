// Whether the agent under validation chooses the HTTP code of its health status itself: its class
// overrides the base's code hook (the reference BaseAgent's _health_http_code(), learned from the
// base's source, see baseHealthCodeHook). The rewrite writes that override when the legacy answered
// 200 whatever status it reported, so a 2xx "degraded" from it is what it declares, not a failure;
// from any other agent, a status other than ok/healthy stays unhealthy whatever its code.
import { readFileSync } from 'node:fs';
import { loadBaseModel } from '../analysis/base-model.js';
import { parsePython, firstSyntaxError } from '../lang/python/parser.js';
import { buildModuleModel } from '../lang/python/module-model.js';
import type { AgentInfo } from '../core/types.js';
import type { Profile } from '../profile/profile.js';

/** The base's code hook the agent's class in `file` overrides (its name), else undefined. */
export function declaredHealthCodeHook(root: string, file: string, agent: AgentInfo, profile: Profile): string | undefined {
  // (TypeScript agents: no base model is learned from the base's source yet; their healthHttpCode() is not read.)
  if (agent.language === 'typescript' || !profile.python) return undefined;
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
