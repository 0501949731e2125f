// Small ts-morph helpers shared by the scan, the transforms and the removal plan.
import { Node, SyntaxKind, type ClassDeclaration, type SourceFile, type Statement, type CallExpression } from 'ts-morph';

export type ModuleKind = 'esm' | 'cjs';

/** CommonJS when the file uses require/module.exports/`import x = require()`; ESM otherwise. */
export function moduleKind(sf: SourceFile): ModuleKind {
  if (sf.getStatements().some((s) => Node.isImportEqualsDeclaration(s) && Node.isExternalModuleReference(s.getModuleReference()))) return 'cjs';
  let cjs = false;
  sf.forEachDescendant((n, t) => {
    if (cjs) return t.stop();
    if (Node.isIdentifier(n) && (n.getText() === 'require' || n.getText() === 'module' || n.getText() === 'exports')) {
      const p = n.getParent();
      if (Node.isCallExpression(p) && p.getExpression() === n && n.getText() === 'require') cjs = true;
      else if (Node.isPropertyAccessExpression(p) && p.getExpression() === n && /^(require\.main|module\.exports|exports\.\w+)$/.test(p.getText())) cjs = true;
      else if (n.getText() === 'module' && Node.isBinaryExpression(p) && /require\.main/.test(p.getText())) cjs = true;
    }
  });
  return cjs ? 'cjs' : 'esm';
}

/** `this.x` or `this['x']` → "x". */
export function thisMember(n: Node): string | null {
  if (Node.isPropertyAccessExpression(n) && n.getExpression().getKind() === SyntaxKind.ThisKeyword) return n.getName();
  if (Node.isElementAccessExpression(n) && n.getExpression().getKind() === SyntaxKind.ThisKeyword) {
    const arg = n.getArgumentExpression();
    if (arg && (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg))) return arg.getLiteralText();
  }
  return null;
}

/** Visit the agent's own code: skip nested classes and `function` bodies (their `this` is not the agent). */
export function walkAgentCode(root: Node, visit: (n: Node) => boolean | void): void {
  const go = (n: Node): void => {
    if (visit(n) === false) return;
    n.forEachChild((c) => {
      if (Node.isClassDeclaration(c) || Node.isClassExpression(c)) return;
      if (Node.isFunctionDeclaration(c) || Node.isFunctionExpression(c)) return;
      go(c);
    });
  };
  go(root);
}

/** Agent members a piece of code mentions through `this`. */
export function thisMembers(root: Node): Set<string> {
  const out = new Set<string>();
  walkAgentCode(root, (n) => {
    const m = thisMember(n);
    if (m) out.add(m);
  });
  return out;
}

/** `this.a.b.c(...)`, `this.a?.b()`, `await this.a()` → "a": the agent member an expression starts from. */
export function thisRoot(n: Node | undefined): string | null {
  let cur: Node | undefined = n;
  while (cur) {
    const m = thisMember(cur);
    if (m) return m;
    if (Node.isCallExpression(cur) || Node.isPropertyAccessExpression(cur) || Node.isElementAccessExpression(cur) || Node.isNonNullExpression(cur)) {
      cur = cur.getExpression();
    } else if (Node.isAwaitExpression(cur) || Node.isVoidExpression(cur) || Node.isParenthesizedExpression(cur)) {
      cur = cur.getExpression();
    } else return null;
  }
  return null;
}

/** The call an expression statement makes (through await / void / `.catch()` chains). */
export function statementCall(stmt: Node): CallExpression | null {
  if (!Node.isExpressionStatement(stmt)) return null;
  let e: Node = stmt.getExpression();
  for (;;) {
    if (Node.isAwaitExpression(e) || Node.isVoidExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
    else break;
  }
  return Node.isCallExpression(e) ? e : null;
}

/** Text of a call's callee without `?.`: `this.server?.close` → "this.server.close". */
export function calleeText(call: CallExpression): string {
  return call.getExpression().getText().replace(/\?\./g, '.').replace(/\s+/g, '');
}

/** `process.on('SIGTERM', ...)` and friends: the signal names, or null. */
export function signalHandlerCall(stmt: Node): { call: CallExpression; signals: string[] } | null {
  const call = statementCall(stmt);
  if (!call) return null;
  if (!/^process\.(on|once|addListener|prependListener)$/.test(calleeText(call))) return null;
  const first = call.getArguments()[0];
  if (!first || !Node.isStringLiteral(first)) return null;
  const sig = first.getLiteralText();
  if (!/^SIG(TERM|INT|HUP|QUIT|BREAK)$/.test(sig)) return null;
  return { call, signals: [sig] };
}

const LOG = /^(console\.(log|info|warn|error|debug)|(this\.)?(logger|log|_logger|_log)\.(debug|info|warn|warning|error|trace|fatal))$/;

export function isLogCall(call: CallExpression | null): boolean {
  return !!call && LOG.test(calleeText(call));
}

/** Statements of a block-like body (function body, if branch, try block). */
export function blockStatements(n: Node | undefined): Statement[] {
  if (!n) return [];
  if (Node.isBlock(n) || Node.isSourceFile(n) || Node.isModuleBlock(n)) return n.getStatements() as Statement[];
  if (Node.isStatement(n)) return [n];
  return [];
}

/** Every nested block of a compound statement (if/else, try/catch/finally, loops). */
export function childBlocks(stmt: Node): Node[] {
  if (Node.isIfStatement(stmt)) {
    const out: Node[] = [stmt.getThenStatement()];
    const e = stmt.getElseStatement();
    if (e) out.push(e);
    return out;
  }
  if (Node.isTryStatement(stmt)) {
    const out: Node[] = [stmt.getTryBlock()];
    const c = stmt.getCatchClause();
    if (c) out.push(c.getBlock());
    const f = stmt.getFinallyBlock();
    if (f) out.push(f);
    return out;
  }
  if (Node.isBlock(stmt)) return [stmt];
  if (Node.isWhileStatement(stmt) || Node.isForStatement(stmt) || Node.isForOfStatement(stmt) || Node.isForInStatement(stmt) || Node.isDoStatement(stmt)) {
    return [stmt.getStatement()];
  }
  return [];
}

/** A top-level `if` that runs only when the file is the program's entry point. */
export function isMainGuard(stmt: Node): boolean {
  if (!Node.isIfStatement(stmt)) return false;
  const c = stmt.getExpression().getText().replace(/\s+/g, '');
  if (/require\.main===module|module===require\.main/.test(c)) return true;
  if (/import\.meta\.main/.test(c)) return true;
  return /import\.meta\.url/.test(c) && /process\.argv\[1\]/.test(c);
}

/** Classes declared at the top level of a file (including `export default class`). */
export function topClasses(sf: SourceFile): ClassDeclaration[] {
  return sf.getClasses();
}

/** A member name as written (identifier, private identifier or string literal). */
export function memberName(n: Node): string | null {
  if (Node.isConstructorDeclaration(n)) return 'constructor';
  if (Node.isMethodDeclaration(n) || Node.isPropertyDeclaration(n) || Node.isGetAccessorDeclaration(n) || Node.isSetAccessorDeclaration(n)) {
    const nameNode = n.getNameNode();
    if (Node.isIdentifier(nameNode) || Node.isPrivateIdentifier(nameNode)) return nameNode.getText();
    if (Node.isStringLiteral(nameNode)) return nameNode.getLiteralText();
    return null;
  }
  return null;
}

/** Node position → 1-based line. */
export function lineOf(n: Node): number {
  return n.getStartLineNumber(false);
}

/** Identifiers (and string literals used as keys) equal to name anywhere under root. */
export function nameOccurrences(root: Node, name: string): Node[] {
  const out: Node[] = [];
  root.forEachDescendant((n) => {
    if ((Node.isIdentifier(n) || Node.isPrivateIdentifier(n)) && n.getText() === name) out.push(n);
    else if ((Node.isStringLiteral(n) || Node.isNoSubstitutionTemplateLiteral(n)) && n.getLiteralText() === name) out.push(n);
  });
  return out;
}
