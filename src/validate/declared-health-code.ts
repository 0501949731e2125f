// Whether the agent under validation chooses the HTTP code of its health status itself: its class
// overrides the base's code hook (the reference BaseAgent's _health_http_code() / healthHttpCode(),
// learned from the base's source, see baseHealthCodeHook and the TypeScript base model's
// healthCodeHook). The rewrite writes that override when the legacy answered
// 200 whatever status it reported, so a 2xx "degraded" from it is what it declares, not a failure;
// from any other agent, a status other than ok/healthy stays unhealthy whatever its code.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Project, Node } from 'ts-morph';
import { fileClasses } from '../lang/typescript/syntax.js';
import { loadBaseModel } from '../analysis/base-model.js';
import { loadBaseModel as loadTsBaseModel } from '../lang/typescript/base-model.js';
import { parsePython, firstSyntaxError } from '../lang/python/parser.js';
import { buildModuleModel } from '../lang/python/module-model.js';
import type { AgentInfo } from '../core/types.js';
import type { Profile } from '../profile/profile.js';

/** The base's code hook the agent's class in `file` overrides (its name), else undefined. */
export function declaredHealthCodeHook(root: string, file: string, agent: AgentInfo, profile: Profile): string | undefined {
  if (agent.language === 'typescript') return declaredTsHealthCodeHook(root, file, agent, profile);
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

/** The same for a TypeScript/JavaScript agent: its class (declared, or a class expression the module binds or exports under that name) has a method named like the base's hook. */
function declaredTsHealthCodeHook(root: string, file: string, agent: AgentInfo, profile: Profile): string | undefined {
  if (!profile.typescript) return undefined;
  try {
    const hook = loadTsBaseModel(root, profile).healthCodeHook?.name;
    if (!hook) return undefined;
    const sf = new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true, noLib: true } }).createSourceFile(`/agent${extname(file)}`, readFileSync(file, 'utf8'));
    const cls = fileClasses(sf).find((c) => c.name === agent.class)?.cls;
    return cls?.getMembers().some((m) => Node.isMethodDeclaration(m) && m.getName() === hook) ? hook : undefined;
  } catch {
    return undefined;
  }
}
