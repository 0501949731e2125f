// Concern: the base's import resolving to the agent's own code. Run as a script (`python3
// agents/x_v2.py`), an agent has its own directory first on sys.path, before the repository root the
// launcher adds; a package (or module) beside it named like the first part of the profile's module
// (`agents/common/` for `from common.core.base_agent import BaseAgent`) is imported instead of the
// base's, and the written import fails when the agent starts. Refused before anything is written,
// naming the package, unless the agent sets its own import path up first (a sys.path.insert(0, ...)),
// which only running it can judge.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { MigrateError } from '../../src/core/errors.js';
import { callee, walk } from '../../src/lang/python/syntax.js';

export const baseImportShadow: PythonTransform = {
  name: 'base-import-shadow',
  phase: 'edit',
  run(ctx) {
    const loc = ctx.location;
    const mod = ctx.py.module;
    if (!loc || !mod) return;
    const existing = ctx.module.imports.get(ctx.profile.base_class);
    if (existing && existing.module === mod) return;
    const dir = path.dirname(path.join(loc.root, loc.agentFile));
    if (path.resolve(dir) === path.resolve(loc.root)) return;
    const parts = mod.split('.');
    const top = parts[0]!;
    const pkg = path.join(dir, top, '__init__.py');
    const single = path.join(dir, `${top}.py`);
    const shadow = existsSync(pkg) ? path.join(dir, top) + path.sep : existsSync(single) ? single : null;
    if (!shadow) return;
    // The whole module is there: it is what the agent imports (a copy of the base beside it).
    if (existsSync(path.join(dir, ...parts) + '.py') || existsSync(path.join(dir, ...parts, '__init__.py'))) return;
    // The agent puts a directory of its own first on sys.path: where `common` comes from is its choice.
    let ownPath = false;
    walk(ctx.module.root, (n) => {
      if (n.type === 'call' && /(^|\.)sys\.path\.insert$/.test(callee(n) ?? '')) ownPath = true;
      if (n.type === 'function_definition' || n.type === 'class_definition') return false;
    });
    if (ownPath) return;
    const rel = path.relative(loc.root, shadow) + (shadow.endsWith(path.sep) ? path.sep : '');
    // The agent's own imports of the local one: then no import path serves both, and renaming it is the one way.
    const own = [...ctx.module.imports.values()].find((i) => i.module === top || i.module.startsWith(`${top}.`));
    const step = own
      ? `the agent imports ${rel} itself (line ${own.node.startPosition.row + 1}: \`${own.node.text.split('\n')[0]}\`), so the repository root ` +
        `first on sys.path would break that import: rename ${rel} to a name other than ${top} and update its imports in ${path.dirname(loc.agentFile)}/, then run migrate again`
      : `make ${mod} importable from the agent by hand (rename the local ${top}, or put the repository root first on sys.path before the import)`;
    throw new MigrateError(
      `${rel} shadows the base's module: run as a script, the agent's directory comes first on sys.path, so ` +
        `\`${ctx.py.import}\` would import ${top} from ${rel}, which has no ${parts.slice(1).join('.') || top}, and the ` +
        `${ctx.agent.cls.name} _v2 would fail at start; ${step}; nothing written`,
      ctx.file,
      ctx.agent.cls.line,
    );
  },
};
