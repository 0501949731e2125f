// Whether the agent under validation chooses the HTTP code of its health status itself: its class
// overrides the base's code hook (the reference BaseAgent's _health_http_code() / healthHttpCode(),
// learned from the base's source, see baseHealthCodeHook and the TypeScript base model's
// healthCodeHook). The rewrite writes that override when the legacy answered
// 200 whatever status it reported, so a 2xx "degraded" from it is what it declares, not a failure;
// from any other agent, a status other than ok/healthy stays unhealthy whatever its code.
// The override may be inherited: an agent of a base migration unit runs on its home-made base's `_v2`,
// which holds the override the rewrite wrote (the agent's own class has none), so the agent's
// in-repository bases are read too, up to the profile's base class.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadBaseModel } from '../analysis/base-model.js';
import { inheritedClasses } from '../analysis/inherited.js';
import { parsePython, firstSyntaxError } from '../lang/python/parser.js';
import { buildModuleModel, type ModuleModel } from '../lang/python/module-model.js';
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
    return overridesUpTheChain(root, path.relative(root, file).split(path.sep).join('/'), agent.class, hook, profile.base_class) ? hook : undefined;
  } catch {
    return undefined;
  }
}

/** A parse of a repository file, or null when it cannot be read or parsed. */
function moduleAt(root: string, rel: string): ModuleModel | null {
  let source: string;
  try {
    source = readFileSync(path.join(root, rel), 'utf8');
  } catch {
    return null;
  }
  const tree = parsePython(source);
  return firstSyntaxError(tree) ? null : buildModuleModel(source, tree);
}

/**
 * Whether class `name` of the repository file `rel`, or one of its in-repository bases (inheritedClasses'
 * walk: in the same file, or imported by `from m import Base`, nearest first, a few levels up), defines
 * `hook`. The profile's base class ends the walk: its own `hook` is the rule the override replaces. Each
 * file is read and parsed once per walk (a mixin's module is asked for by each class that imports it).
 */
function overridesUpTheChain(root: string, rel: string, name: string, hook: string, target: string): boolean {
  const parsed = new Map<string, ModuleModel | null>();
  const read = (file: string): ModuleModel | null => {
    if (!parsed.has(file)) parsed.set(file, moduleAt(root, file));
    return parsed.get(file)!;
  };
  const module = read(rel);
  const cls = name === target ? undefined : module?.classes.find((k) => k.name === name);
  if (!module || !cls) return false;
  return cls.methods.has(hook) || inheritedClasses(read, rel, module, cls, new Set([target])).some((p) => p.cls.methods.has(hook));
}
