// Concern: the base's import, added once, where imports belong: after the shebang,
// encoding line, module docstring and `from __future__` imports, and after any
// sys.path set-up that the project's own imports rely on.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { callee, isDocstring } from '../../src/lang/python/syntax.js';
import { lineEnd } from '../../src/lang/python/text.js';
import { reportOldBaseMembers } from './old-base-members.js';

export const addImport: PythonTransform = {
  name: 'add-import',
  phase: 'edit',
  run(ctx) {
    const target = ctx.profile.base_class;
    const existing = ctx.module.imports.get(target);
    if (existing && existing.module === ctx.py.module) return;
    // `from src.core.base_agent import BaseAgent`: an older base of the same name. The class keeps
    // naming it, so its import is pointed at the profile's module (when it imports nothing else).
    if (existing && existing.name === target && existing.node.parent?.type === 'module') {
      const sameStatement = [...ctx.module.imports.values()].filter((i) => i.node.id === existing.node.id);
      if (sameStatement.length === 1 && !ctx.edits.covered(existing.node.startIndex, existing.node.endIndex)) {
        ctx.edits.replace(existing.node.startIndex, existing.node.endIndex, ctx.py.import, 'add-import');
        ctx.warnings.push(`${existing.node.text.trim()} replaced by ${ctx.py.import}: the class's base of that name now comes from the profile's module`);
        // What only the older copy provided (self.config read with its own API) would dangle.
        if (ctx.agent.cls.bases.some((b) => b.text === target)) reportOldBaseMembers(ctx, `${existing.module}.${target}`);
        return;
      }
    }
    if (ctx.module.aliases.has(target)) return;
    const stmts = ctx.module.root.namedChildren;
    const anchor = importAnchor(ctx.module.root);
    const eol = ctx.layout.eol;
    const line = `${ctx.py.import}${eol}`;
    if (anchor) {
      ctx.edits.insert(lineEnd(ctx.source, anchor.endIndex), line, 'add-import');
      return;
    }
    // No imports: after leading comment lines (shebang, encoding, licence header).
    let at = 0;
    for (const s of stmts) {
      if (s.type !== 'comment' || s.startIndex !== at) break;
      at = lineEnd(ctx.source, s.endIndex);
    }
    ctx.edits.insert(at, line + (at === 0 ? '' : ''), 'add-import');
  },
};

/**
 * Where an added project import goes: after the last import or sys.path set-up before the first
 * definition (so a path edit that makes the project importable always comes first), else after the
 * module docstring; null when there is none of those.
 */
export function importAnchor(root: SyntaxNode): SyntaxNode | null {
  const stmts = root.namedChildren;
  let anchor: SyntaxNode | null = null;
  for (const s of stmts) {
    if (s.type === 'comment') continue;
    if (isDocstring(s) && s === stmts.find((x) => x.type !== 'comment')) {
      anchor = s;
      continue;
    }
    if (['class_definition', 'function_definition', 'decorated_definition'].includes(s.type)) break;
    // Assignments like PROJECT_ROOT = ... are set-up too, but only the path edit itself anchors.
    if (isImport(s) || isImportBlock(s) || (isPathSetup(s) && s.namedChild(0)?.type === 'call') || isPathSetupBlock(s)) anchor = s;
  }
  return anchor;
}

function isImport(s: SyntaxNode): boolean {
  return s.type === 'import_statement' || s.type === 'import_from_statement' || s.type === 'future_import_statement';
}

/** `try: import x / except ImportError: ...` and `if TYPE_CHECKING: import ...` blocks. */
function isImportBlock(s: SyntaxNode): boolean {
  if (s.type !== 'try_statement' && s.type !== 'if_statement') return false;
  const body = s.childForFieldName('body') ?? s.childForFieldName('consequence');
  const inner = body?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
  return inner.length > 0 && inner.every(isImport);
}

/** `if str(ROOT) not in sys.path: sys.path.insert(0, ...)` */
function isPathSetupBlock(s: SyntaxNode): boolean {
  if (s.type !== 'if_statement') return false;
  const body = s.childForFieldName('consequence');
  const inner = body?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
  return inner.length > 0 && inner.every((c) => isPathSetup(c) || isImport(c));
}

/** sys.path edits, os.chdir and similar set-up that later project imports depend on. */
function isPathSetup(s: SyntaxNode): boolean {
  if (s.type !== 'expression_statement') return false;
  const e = s.namedChild(0);
  if (e?.type === 'call') return /^sys\.path\.(insert|append|extend)$|^os\.chdir$|^site\.addsitedir$/.test(callee(e) ?? '');
  if (e?.type === 'assignment') {
    const left = e.childForFieldName('left')?.text ?? '';
    const right = e.childForFieldName('right')?.text ?? '';
    // PROJECT_ROOT = os.path.abspath(...) feeding a sys.path edit
    return /^[A-Z_][A-Z0-9_]*$/.test(left) && /os\.path|Path\(|__file__/.test(right);
  }
  return false;
}
