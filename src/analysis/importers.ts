// Who imports an agent's module, and which of its names they use: before a promotion
// replaces the module's content (seed 001: "replace {agent}.py with {agent}_v2.py",
// "update imports in other modules"), every name another module takes from it must
// still be there. Reads the tree; `sys.path` set-ups make any dotted suffix of the
// file's path importable, so each one counts (`pc2_code.agents.x`, `agents.x`, `x`).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SyntaxNode } from '../lang/python/parser.js';
import { decodePythonSource, parseStrict } from '../lang/python/parser.js';
import { lineOf, walk } from '../lang/python/syntax.js';

export interface ImportUse {
  /** The importing file, relative to the root. */
  file: string;
  line: number;
  /** The module as the importer names it. */
  module: string;
  /** Names it takes from the module; '*' for a star import. */
  names: string[] | '*';
}

/** `a/b/c.py` → ['a.b.c', 'b.c', 'c']; a package's `__init__.py` stands for the package. */
export function moduleNamesOf(rel: string): string[] {
  const parts = rel.replace(/\.py$/, '').split('/');
  if (parts[parts.length - 1] === '__init__') parts.pop();
  return parts.map((_, i) => parts.slice(i).join('.')).filter(Boolean);
}

/** Every import of the module at `target` (relative to the root) in the given files. */
export function findImporters(root: string, files: string[], target: string): ImportUse[] {
  const names = new Set(moduleNamesOf(target));
  const stem = path.posix.basename(target, '.py');
  const out: ImportUse[] = [];
  for (const abs of files) {
    const rel = path.relative(root, abs).split(path.sep).join('/');
    if (rel === target) continue;
    let source: string;
    try {
      source = decodePythonSource(readFileSync(abs), rel);
    } catch {
      continue;
    }
    if (!source.includes(stem)) continue; // cheap: no mention, no import
    let tree;
    try {
      tree = parseStrict(source, rel);
    } catch {
      continue; // a file that does not parse imports nothing at run time either
    }
    out.push(...importsIn(tree.rootNode, rel, target, names));
  }
  return out;
}

function importsIn(rootNode: SyntaxNode, rel: string, target: string, names: Set<string>): ImportUse[] {
  const out: ImportUse[] = [];
  /** Local names bound to the module object itself; their attribute uses are what is taken. */
  const moduleLocals: Array<{ local: string; module: string; line: number }> = [];
  const isTarget = (dotted: string) => names.has(dotted);
  walk(rootNode, (n) => {
    if (n.type === 'import_from_statement') {
      const modNode = n.childForFieldName('module_name');
      if (!modNode) return false;
      const mod = modNode.type === 'relative_import' ? resolveRelative(rel, modNode.text) : modNode.text;
      if (mod === null) return false;
      const imported = n.childrenForFieldName('name').map((x) => ({
        name: (x.type === 'aliased_import' ? x.childForFieldName('name')! : x).text,
        local: (x.type === 'aliased_import' ? x.childForFieldName('alias')! : x).text,
      }));
      const star = n.namedChildren.some((c) => c.type === 'wildcard_import');
      if (isTarget(mod)) {
        out.push({ file: rel, line: lineOf(n), module: modNode.text, names: star ? '*' : imported.map((i) => i.name) });
      } else {
        // `from agents import async_processor`: the module itself, used as async_processor.X.
        for (const i of imported) if (isTarget(`${mod}.${i.name}`)) moduleLocals.push({ local: i.local, module: `${modNode.text}.${i.name}`, line: lineOf(n) });
      }
      return false;
    }
    if (n.type === 'import_statement') {
      for (const c of n.namedChildren) {
        const dotted = (c.type === 'aliased_import' ? c.childForFieldName('name')! : c).text;
        if (!isTarget(dotted)) continue;
        const local = c.type === 'aliased_import' ? c.childForFieldName('alias')!.text : dotted;
        moduleLocals.push({ local, module: dotted, line: lineOf(n) });
      }
      return false;
    }
  });
  for (const m of moduleLocals) {
    const used = new Set<string>();
    walk(rootNode, (n) => {
      if (n.type !== 'attribute') return;
      const obj = n.childForFieldName('object');
      if (obj && obj.text.replace(/\s+/g, '') === m.local) used.add(n.childForFieldName('attribute')!.text);
    });
    out.push({ file: rel, line: m.line, module: m.module, names: [...used].sort() });
  }
  return out;
}

/** `.x` / `..pkg.x` from the importer's package, as a dotted path from the root; null above it. */
function resolveRelative(importer: string, spec: string): string | null {
  const dots = /^\.+/.exec(spec)![0].length;
  const rest = spec.slice(dots);
  const dir = path.posix.dirname(importer).split('/').filter((p) => p && p !== '.');
  if (dots - 1 > dir.length) return null;
  const base = dir.slice(0, dir.length - (dots - 1));
  return [...base, ...(rest ? rest.split('.') : [])].join('.');
}

/** The names a module defines at its top level: classes, functions, assignments, imports. */
export function moduleNamespace(source: string, file: string): Set<string> {
  const out = new Set<string>();
  const tree = parseStrict(source, file);
  const targets = (n: SyntaxNode | null) => {
    if (!n) return;
    if (n.type === 'identifier') out.add(n.text);
    else if (['pattern_list', 'tuple_pattern', 'list_pattern'].includes(n.type)) n.namedChildren.forEach(targets);
  };
  const visit = (block: SyntaxNode, depth: number) => {
    for (const s of block.namedChildren) {
      const stmt = s.type === 'decorated_definition' ? s.childForFieldName('definition') ?? s : s;
      if (stmt.type === 'class_definition' || stmt.type === 'function_definition') out.add(stmt.childForFieldName('name')!.text);
      else if (stmt.type === 'expression_statement') {
        const a = stmt.namedChild(0);
        if (a?.type === 'assignment' || a?.type === 'augmented_assignment') targets(a.childForFieldName('left'));
      } else if (stmt.type === 'import_statement') {
        for (const c of stmt.namedChildren) out.add(c.type === 'aliased_import' ? c.childForFieldName('alias')!.text : c.text.split('.')[0]!);
      } else if (stmt.type === 'import_from_statement') {
        for (const c of stmt.childrenForFieldName('name')) out.add((c.type === 'aliased_import' ? c.childForFieldName('alias')! : c).text);
      } else if (depth < 3 && ['if_statement', 'try_statement', 'with_statement', 'for_statement', 'while_statement'].includes(stmt.type)) {
        for (const c of stmt.namedChildren) {
          if (c.type === 'block') visit(c, depth + 1);
          else for (const b of c.namedChildren) if (b.type === 'block') visit(b, depth + 1);
        }
      }
    }
  };
  visit(tree.rootNode, 0);
  return out;
}

// ---- TypeScript / JavaScript ------------------------------------------------

const TS_EXT = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

/** Does a relative module specifier written in `importer` name the file `target` (both relative to the root)? */
function specifierNames(importer: string, spec: string, target: string): boolean {
  if (!spec.startsWith('.')) return false;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(importer), spec)).replace(TS_EXT, '');
  const stem = target.replace(TS_EXT, '');
  return resolved === stem || (path.posix.basename(stem) === 'index' && resolved === path.posix.dirname(stem));
}

/** Every import (ES import/export-from, require, import()) of the module at `target` in the given files. */
export async function findTsImporters(root: string, files: string[], target: string): Promise<ImportUse[]> {
  const { ts } = await import('ts-morph');
  const stem = path.posix.basename(target).replace(TS_EXT, '');
  const out: ImportUse[] = [];
  for (const abs of files) {
    const rel = path.relative(root, abs).split(path.sep).join('/');
    if (rel === target) continue;
    const text = readFileSync(abs, 'utf8');
    if (!text.includes(stem)) continue;
    const sf = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true);
    const line = (n: import('ts-morph').ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
    const namespaces: Array<{ local: string; spec: string; line: number }> = [];
    const visit = (n: import('ts-morph').ts.Node) => {
      if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
        const spec = n.moduleSpecifier.text;
        if (specifierNames(rel, spec, target)) {
          const names: string[] = [];
          let star = false;
          if (ts.isImportDeclaration(n)) {
            const c = n.importClause;
            if (c?.name) names.push('default');
            if (c?.namedBindings && ts.isNamedImports(c.namedBindings)) for (const e of c.namedBindings.elements) names.push((e.propertyName ?? e.name).text);
            if (c?.namedBindings && ts.isNamespaceImport(c.namedBindings)) namespaces.push({ local: c.namedBindings.name.text, spec, line: line(n) });
          } else if (n.exportClause && ts.isNamedExports(n.exportClause)) {
            for (const e of n.exportClause.elements) names.push((e.propertyName ?? e.name).text);
          } else star = true;
          if (names.length || star) out.push({ file: rel, line: line(n), module: spec, names: star ? '*' : names });
        }
      } else if (ts.isCallExpression(n) && n.arguments.length === 1 && ts.isStringLiteral(n.arguments[0]!)) {
        const isRequire = ts.isIdentifier(n.expression) && n.expression.text === 'require';
        const isDynamic = n.expression.kind === ts.SyntaxKind.ImportKeyword;
        const spec = (n.arguments[0] as import('ts-morph').ts.StringLiteral).text;
        if ((isRequire || isDynamic) && specifierNames(rel, spec, target)) {
          const decl = n.parent;
          if (ts.isVariableDeclaration(decl) && ts.isObjectBindingPattern(decl.name)) {
            const names = decl.name.elements.map((e) => (e.propertyName && ts.isIdentifier(e.propertyName) ? e.propertyName : e.name)).filter(ts.isIdentifier).map((i) => i.text);
            out.push({ file: rel, line: line(n), module: spec, names });
          } else if (ts.isVariableDeclaration(decl) && ts.isIdentifier(decl.name)) {
            namespaces.push({ local: decl.name.text, spec, line: line(n) });
          } else out.push({ file: rel, line: line(n), module: spec, names: '*' });
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    for (const ns of namespaces) {
      const used = new Set<string>();
      const uses = (n: import('ts-morph').ts.Node) => {
        if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === ns.local) used.add(n.name.text);
        ts.forEachChild(n, uses);
      };
      uses(sf);
      out.push({ file: rel, line: ns.line, module: ns.spec, names: [...used].sort() });
    }
  }
  return out;
}

/** The names a TypeScript/JavaScript module exports; null when a re-export (`export * from`) makes it open-ended. */
export async function tsModuleExports(source: string, file: string): Promise<Set<string> | null> {
  const { ts } = await import('ts-morph');
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const out = new Set<string>();
  const exported = (n: import('ts-morph').ts.Node) =>
    ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const isDefault = (n: import('ts-morph').ts.Node) =>
    ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
  for (const s of sf.statements) {
    if (ts.isExportDeclaration(s)) {
      if (!s.exportClause) return null;
      if (ts.isNamedExports(s.exportClause)) for (const e of s.exportClause.elements) out.add(e.name.text);
      else out.add(s.exportClause.name.text);
    } else if (ts.isExportAssignment(s)) {
      out.add('default');
      if (s.isExportEquals) return null; // `export = x`: whatever x holds
    } else if (exported(s)) {
      if (isDefault(s)) out.add('default');
      if (ts.isVariableStatement(s)) for (const d of s.declarationList.declarations) (ts.isIdentifier(d.name) ? out.add(d.name.text) : undefined);
      else if ('name' in s && s.name && ts.isIdentifier(s.name as import('ts-morph').ts.Node)) out.add((s.name as import('ts-morph').ts.Identifier).text);
    } else if (ts.isExpressionStatement(s) && ts.isBinaryExpression(s.expression) && s.expression.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
      // CommonJS: module.exports = {...} / exports.X = ... / module.exports.X = ...
      const left = s.expression.left.getText(sf);
      const m = /^(?:module\.)?exports\.([A-Za-z_$][\w$]*)$/.exec(left);
      if (m) out.add(m[1]!);
      else if (left === 'module.exports') {
        const right = s.expression.right;
        if (!ts.isObjectLiteralExpression(right)) return null;
        for (const p of right.properties) if (p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) out.add(p.name.text);
        out.add('default');
      }
    }
  }
  return out;
}
