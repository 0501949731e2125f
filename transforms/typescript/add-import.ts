// `import { BaseAgent } from '<path>'`: the profile's module made relative to the agent's file
// (with the `.js` ending NodeNext needs), or the bare specifier when the profile names a
// package. Added after the last import, in the file's quote style; never twice.
import path from 'node:path';
import { Node } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { isRelativeModule } from '../../src/lang/typescript/base-model.js';

export function moduleSpecifier(root: string, file: string, module: string): string {
  if (!isRelativeModule(module)) return module;
  const target = path.join(root, module.replace(/\.(ts|mts|cts|js)$/, ''));
  let rel = path.relative(path.dirname(file), target).split(path.sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return `${rel}.js`;
}

export function addImport(ctx: TsRewriteContext, name: string, specifier: string): void {
  const imports = ctx.sf.getStatements().filter((s) => Node.isImportDeclaration(s) || Node.isImportEqualsDeclaration(s));
  for (const s of imports) {
    if (Node.isImportDeclaration(s) && s.getNamedImports().some((n) => (n.getAliasNode() ?? n.getNameNode()).getText() === name)) return;
  }
  if (ctx.sf.getVariableDeclaration(name)) return; // `const { BaseAgent } = require(...)`
  if (ctx.pendingImports.some((p) => p.name === name)) return;
  ctx.pendingImports.push({ name, specifier });
}

/** Write the requested imports (once, at the end, so several transforms can ask). */
export function applyImports(ctx: TsRewriteContext): void {
  if (ctx.pendingImports.length === 0) return;
  const imports = ctx.sf.getStatements().filter((s) => Node.isImportDeclaration(s) || Node.isImportEqualsDeclaration(s) || isRequire(s));
  const quote = ctx.quote;
  // A CommonJS JavaScript file keeps require(): an import statement would not even parse there.
  const cjsJs = ctx.js && ctx.kind === 'cjs';
  const bare = cjsJs && !relativeRequiresWithExtension(ctx);
  const lines = ctx.pendingImports.map((p) => {
    const spec = bare && p.specifier.startsWith('.') ? p.specifier.replace(/\.js$/, '') : p.specifier;
    return cjsJs ? `const { ${p.name} } = require(${quote}${spec}${quote});` : `import { ${p.name} } from ${quote}${spec}${quote};`;
  });
  const alive = imports.filter((s) => !ctx.edits.removes(s.getStart(), s.getEnd()));
  if (alive.length > 0) {
    const last = alive[alive.length - 1]!;
    ctx.edits.insert(last.getEnd(), `\n${lines.join('\n')}`);
  } else if (imports.length > 0) {
    // Every import went: the new ones take the first one's place.
    const pos = ctx.edits.lineRange(imports[0]!)[0];
    ctx.edits.insert(pos, `${lines.join('\n')}\n`);
  } else {
    // After a leading comment block and a 'use strict' directive, before the first statement.
    const stmts = ctx.sf.getStatements();
    const directive = stmts[0] && Node.isExpressionStatement(stmts[0]) && Node.isStringLiteral(stmts[0].getExpression()) ? stmts[0] : undefined;
    if (directive) {
      ctx.edits.insert(directive.getEnd(), `\n${lines.join('\n')}`);
      return;
    }
    const first = stmts[0];
    const pos = first ? first.getStart(true) : ctx.text.length;
    const lineStart = ctx.text.lastIndexOf('\n', pos - 1) + 1;
    ctx.edits.insert(lineStart, `${lines.join('\n')}\n\n`);
  }
}

/** Does the file write `require('./x.js')` (with the ending) for its own modules? */
function relativeRequiresWithExtension(ctx: TsRewriteContext): boolean {
  let withExt = false;
  ctx.sf.forEachDescendant((n, t) => {
    if (Node.isCallExpression(n) && n.getExpression().getText() === 'require') {
      const a = n.getArguments()[0];
      if (a && Node.isStringLiteral(a) && a.getLiteralText().startsWith('.')) {
        withExt = /\.(c|m)?js$/.test(a.getLiteralText());
        t.stop();
      }
    }
  });
  return withExt;
}

/** `const x = require('y')` at the top level. */
function isRequire(s: Node): boolean {
  if (!Node.isVariableStatement(s)) return false;
  return s.getDeclarations().every((d) => {
    const init = d.getInitializer();
    return !!init && Node.isCallExpression(init) && init.getExpression().getText() === 'require';
  });
}
