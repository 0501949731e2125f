// declaredHealthCodeHook for a TypeScript/JavaScript agent, in a module of its own: it needs
// ts-morph (and the TypeScript compiler under it), about 1.2 s of CPU to load, which a
// validation of Python agents must not pay (see declared-health-code.ts, which imports this
// only for a TypeScript agent).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Project, Node } from 'ts-morph';
import { fileClasses } from '../lang/typescript/syntax.js';
import { loadBaseModel as loadTsBaseModel } from '../lang/typescript/base-model.js';
import type { AgentInfo } from '../core/types.js';
import type { Profile } from '../profile/profile.js';

/** Its class (declared, or a class expression the module binds or exports under that name) has a method named like the base's hook. */
export function declaredTsHealthCodeHook(root: string, file: string, agent: AgentInfo, profile: Profile): string | undefined {
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
