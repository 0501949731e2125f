// Concern: an agent that registers itself with the service registry through its own code (a method of the
// agent, a function of its file, or a shared helper module of the repository that several agents import:
// `registry_client.register(self.name, self.port, self.health_check_port)`). That code stays: its record
// may carry fields the base's does not (a kind, capabilities), and nothing proves the two registries are
// one. But the base registers the agent too, so the migrated agent registers twice (and deregisters
// twice) without anyone being told. Proof that the call registers is read from the code it runs (the
// helper's own body posts to a `/register` path), across files for an imported helper; the warning names
// the call and the helper with file and line, so a person can drop the agent's own once the base's record
// is enough.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { lineOf, selfAttribute, stringValue, walk, walkTypes } from '../../src/lang/python/syntax.js';

/** The node types the search of the agent's methods reads (see walkTypes): calls, and the scopes it does not enter. */
const SCOPES_AND_CALLS: ReadonlySet<string> = new Set(['class_definition', 'function_definition', 'call']);

/** A registry path the helper posts to. */
const REGISTER_PATH = /(^|\/)(register|deregister|unregister)\/?$/;

export const ownRegistration: PythonTransform = {
  name: 'own-registration',
  phase: 'edit',
  run(ctx) {
    if (ctx.profile.validation?.registry === 'none' || !ctx.base.methods.has('_register_service')) return;
    const found: Array<{ line: number; call: string; where: string; deregisters: boolean }> = [];
    const seen = new Set<string>();
    for (const [name, fn] of ctx.agent.methods) {
      if (isRemoved(ctx, fn.outer)) continue;
      walkTypes(fn.body, SCOPES_AND_CALLS, (n) => {
        if (n.type === 'class_definition' || n.type === 'function_definition') return false;
        if (n.type !== 'call' || isRemoved(ctx, n)) return;
        const hit = registers(ctx, n, name);
        if (!hit) return;
        const key = `${hit.call}@${lineOf(n)}`;
        if (seen.has(key)) return;
        seen.add(key);
        found.push({ line: lineOf(n), ...hit });
      });
    }
    const regs = found.filter((f) => !f.deregisters);
    if (!regs.length) return;
    const deregs = found.filter((f) => f.deregisters);
    const base = ctx.profile.base_class;
    const env = ctx.profile.validation?.registry_env ?? 'REGISTRY_URL';
    const list = (xs: typeof found) => xs.map((f) => `${f.call}() at line ${f.line} (${f.where})`).join(', ');
    ctx.warnings.push(
      `${ctx.agent.cls.name} registers itself with its own code, kept: ${list(regs)}; ${base} registers it too (${env}), ` +
        `so the registry now gets two registrations${deregs.length ? ` and two deregistrations (${list(deregs)})` : ''}; ` +
        `drop the agent's own once ${base}'s record carries what the registry needs`,
    );
  },
};

/** The call runs code that posts to a registry path: which call, where that code is, and whether it deregisters. */
function registers(ctx: PythonTransformContext, call: SyntaxNode, inMethod: string): { call: string; where: string; deregisters: boolean } | null {
  const f = call.childForFieldName('function')!;
  // self.register(): a kept method of the agent (not the one the call is in)
  const m = selfAttribute(f);
  if (m) {
    const own = ctx.agent.methods.get(m);
    if (!own || m === inMethod || isRemoved(ctx, own.outer)) return null;
    const path = postsTo(own);
    return path ? { call: `self.${m}`, where: `${ctx.file}:${own.line} posts to "${path}"`, deregisters: /(de|un)register/.test(path) } : null;
  }
  // register_with_registry(...): a function of the agent's file, or imported from a file of the repository
  if (f.type === 'identifier') {
    const local = ctx.module.functions.get(f.text);
    if (local) {
      const path = postsTo(local);
      return path ? { call: f.text, where: `${ctx.file}:${local.line} posts to "${path}"`, deregisters: /(de|un)register/.test(path) } : null;
    }
    const t = ctx.imported(f.text);
    const fn = t?.name ? t.module.functions.get(t.name) : undefined;
    const path = fn ? postsTo(fn) : null;
    return path ? { call: f.text, where: `${t!.file}:${fn!.line} posts to "${path}"`, deregisters: /(de|un)register/.test(path) } : null;
  }
  // registry_client.register(...): a function of an imported module of the repository
  if (f.type === 'attribute' && f.childForFieldName('object')?.type === 'identifier') {
    const modName = f.childForFieldName('object')!.text;
    const t = ctx.imported(modName);
    if (!t || t.name !== null) return null;
    const name = f.childForFieldName('attribute')!.text;
    const fn = t.module.functions.get(name);
    const path = fn ? postsTo(fn) : null;
    return path ? { call: `${modName}.${name}`, where: `${t.file}:${fn!.line} posts to "${path}"`, deregisters: /(de|un)register/.test(path) } : null;
  }
  return null;
}

/** The registry path a function's own body names in a string (`"/register"`, `url + "/register"`). */
function postsTo(fn: PyFunction): string | null {
  let path: string | null = null;
  walk(fn.body, (n) => {
    if (path || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type !== 'string') return;
    const v = stringValue(n);
    if (v !== null && REGISTER_PATH.test(v.trim())) path = v.trim();
    return false;
  });
  return path;
}
