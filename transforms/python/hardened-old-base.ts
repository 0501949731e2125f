// Concern (seed 001): agents already on an older HardenedAgentBase (same class name, another
// module, e.g. DNSAgent). The import is pointed at the profile's module when every name it
// imports exists there; members the class uses through self that neither it nor the new
// base defines (only the old base had them) are reported, as are old-base hooks the new
// base never calls.
import { existsSync, readFileSync } from 'node:fs';
import { reportHooksOf, reportOldBaseMembers } from './old-base-members.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { parsePython } from '../../src/lang/python/parser.js';
import { buildModuleModel } from '../../src/lang/python/module-model.js';

const label = 'hardened-old-base';

/** Per base source file: the names its latest text read defines (the same base is read for every agent of a run). */
const definedByBase = new Map<string, { text: string; names: string[] }>();

/** Names the new base's module defines (from its source; else the base class and ValidationResult). */
function exportedNames(ctx: PythonTransformContext): Set<string> {
  const out = new Set([ctx.profile.base_class, 'ValidationResult']);
  const file = ctx.base.sourceFile;
  if (file && existsSync(file)) {
    const src = readFileSync(file, 'utf8');
    let known = definedByBase.get(file);
    if (known?.text !== src) {
      const mod = buildModuleModel(src, parsePython(src));
      definedByBase.set(file, (known = { text: src, names: [...mod.classes.map((c) => c.name), ...mod.functions.keys()] }));
    }
    for (const n of known.names) out.add(n);
  }
  return out;
}

export const hardenedOldBase: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const target = ctx.profile.base_class;
    const imp = ctx.module.imports.get(target);
    if (!imp || imp.module === ctx.py.module || imp.name !== target) return;
    const stmt = imp.node;
    if (stmt.type !== 'import_from_statement' || stmt.parent?.type !== 'module') {
      keep(ctx, target, stmt.startPosition.row + 1, `${target} is imported from ${imp.module} here; point it at ${ctx.py.module} by hand`);
      return;
    }
    const names = [...ctx.module.imports.entries()].filter(([, i]) => i.node.id === stmt.id).map(([, i]) => i.name ?? '');
    const exported = exportedNames(ctx);
    const missing = names.filter((n) => !exported.has(n));
    const line = stmt.startPosition.row + 1;
    if (missing.length) {
      keep(ctx, target, line, `the old base's module ${imp.module} also provides ${missing.join(', ')}, which ${ctx.py.module} does not; switch the import by hand`);
      return;
    }
    const moduleNode = stmt.childForFieldName('module_name')!;
    ctx.edits.replace(moduleNode.startIndex, moduleNode.endIndex, ctx.py.module, label);
    // The import now names the profile's module: add-import must not add a second one.
    ctx.module.imports.set(target, { ...imp, module: ctx.py.module });
    ctx.warnings.push(`${ctx.agent.cls.name}: ${target} now imported from ${ctx.py.module} (was ${imp.module})`);
    reportOldBaseMembers(ctx, imp.module);
    // The old base of the same name, read from the repository: the agent's methods only its loop called
    // (`self.publish_events(events)` in its run()) no longer run on the new base.
    const rel = imp.module.replace(/\./g, '/');
    for (const file of [`${rel}.py`, `${rel}/__init__.py`]) {
      // The run's parse of that file (repoTree): every agent of a fleet on the old base asks for the same one.
      const tree = ctx.repoTree?.(file)?.tree;
      const old = tree ? buildModuleModel(tree.source, tree).classes.find((c) => c.name === target) : undefined;
      if (old) {
        reportHooksOf(ctx, { cls: old, file }, target);
        break;
      }
    }
  },
};
