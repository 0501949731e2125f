// A pre-ES2015 service — `function Mailer(options) { ... }` with `Mailer.prototype.start =
// function () { ... }` — written as the class it already is, so the rewrite can put it on the
// base. Only when the two mean the same: class bodies are strict code (the file must be strict
// already), a class cannot be called without `new` nor before its declaration (no `Mailer(...)`,
// `Mailer.call(this)`, `Mailer.apply(...)` and no use above it), its prototype is not handled any
// other way (`Mailer.prototype` only in those assignments, each a plain or async `function`
// whose own name, if any, it does not use), and its only parent is EventEmitter through
// util.inherits with `EventEmitter.call(this)` before any other use of `this`. Otherwise the
// reason says which of these it breaks.
import { Node, SyntaxKind, type FunctionDeclaration, type SourceFile, type Statement } from 'ts-morph';
import { indentAt, indentUnit, reindent } from './edits.js';
import { descendantsOfKind, prototypeService } from './syntax.js';

export type PrototypeConversion = { name: string; line: number; text: string } | { name: string; line: number; refuse: string };

export function prototypeToClass(sf: SourceFile): PrototypeConversion | null {
  const proto = prototypeService(sf);
  if (!proto) return null;
  const name = proto.name;
  const refuse = (why: string): PrototypeConversion => ({ name, line: proto.line, refuse: `${proto.reason} (not converted automatically: ${why})` });
  const text = sf.getFullText();
  const fn = sf.getFunctions().find((f) => f.getName() === name)!;
  if (!fn.getBody() || fn.isAsync() || fn.isGenerator()) return refuse(`${name} is not a plain constructor function`);
  const strict = sf.getStatements()[0]?.getText().replace(/;$/, '') === "'use strict'" || sf.getStatements()[0]?.getText().replace(/;$/, '') === '"use strict"' || sf.getImportDeclarations().length > 0 || sf.getExportAssignments().length > 0;
  if (!strict) return refuse("the file is not strict ('use strict'), and a class body is");
  const methods: Array<{ stmt: Statement; name: string; fn: Node }> = [];
  let parent: { stmt: Statement; expr: string } | null = null;
  const uses = sf.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => id.getText() === name && id !== fn.getNameNode());
  for (const id of uses) {
    const p = id.getParent()!;
    const top = id.getFirstAncestor((a) => a.getParent() === sf) as Statement | undefined;
    if (id.getStart() < fn.getStart() && !id.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a))) {
      return refuse(`${name} is used at line ${id.getStartLineNumber()} above its declaration (a class is not hoisted)`);
    }
    if (Node.isPropertyAccessExpression(p) && p.getExpression() === id && p.getName() === 'prototype') {
      const assign = p.getParent();
      const stmt = assign?.getParent()?.getParent();
      const ok =
        top && stmt === top && Node.isPropertyAccessExpression(assign) && Node.isBinaryExpression(assign.getParent()) &&
        (assign.getParent() as import('ts-morph').BinaryExpression).getLeft() === assign && Node.isExpressionStatement(stmt) &&
        (assign.getParent() as import('ts-morph').BinaryExpression).getOperatorToken().getKind() === SyntaxKind.EqualsToken;
      if (!ok) return refuse(`${name}.prototype is used at line ${id.getStartLineNumber()} other than to add a method`);
      const value = (assign.getParent() as import('ts-morph').BinaryExpression).getRight();
      if (!Node.isFunctionExpression(value) || value.isGenerator()) return refuse(`${name}.prototype.${assign.getName()} (line ${id.getStartLineNumber()}) is not a plain function`);
      const own = value.getName();
      if (own && value.getBody()!.getDescendantsOfKind(SyntaxKind.Identifier).some((x) => x.getText() === own)) return refuse(`${name}.prototype.${assign.getName()} calls itself by its function's own name`);
      if (stmt.getStart() < fn.getStart()) return refuse(`${name}.prototype.${assign.getName()} is set above ${name}'s declaration`);
      methods.push({ stmt: stmt as Statement, name: assign.getName(), fn: value });
      continue;
    }
    if (Node.isCallExpression(p) && p.getExpression() === id) return refuse(`${name}() is called without new at line ${id.getStartLineNumber()}`);
    if (Node.isPropertyAccessExpression(p) && p.getExpression() === id && /^(call|apply|bind)$/.test(p.getName())) return refuse(`${name}.${p.getName()}() at line ${id.getStartLineNumber()} (a class cannot be called as a function)`);
    if (Node.isCallExpression(p) && /(^|\.)inherits$/.test(p.getExpression().getText())) {
      const args = p.getArguments();
      if (args[0] !== id || !top || p.getParent() !== top) return refuse(`${name} is a parent in ${p.getText()} (line ${id.getStartLineNumber()})`);
      parent = { stmt: top, expr: args[1]!.getText() };
    }
  }
  if (new Set(methods.map((m) => m.name)).size !== methods.length) return refuse(`a method of ${name}.prototype is set twice`);
  if (methods.some((m) => m.name === 'constructor')) return refuse(`${name}.prototype.constructor is set`);
  const body = fn.getBody()!;
  if (descendantsOfKind(body, SyntaxKind.ReturnStatement).some((r) => !r.getFirstAncestor((a) => a !== fn && (Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a))) && r.getExpression())) {
    return refuse(`${name} returns a value from its constructor`);
  }
  let superCall: Statement | null = null;
  if (parent) {
    if (!/^(EventEmitter|events\.EventEmitter|events)$/.test(parent.expr)) return refuse(`its parent is ${parent.expr} (only EventEmitter is converted)`);
    const stmts = Node.isBlock(body) ? body.getStatements() : [];
    superCall = stmts.find((s) => /^(EventEmitter|events\.EventEmitter|events)\.call\(this\);?$/.test(s.getText())) ?? null;
    if (!superCall) return refuse(`${name} does not call ${parent.expr}.call(this) in its body`);
    const before = text.slice(body.getStart(), superCall.getStart());
    if (/\bthis\b/.test(before)) return refuse(`${name} uses this before ${parent.expr}.call(this)`);
  }
  return { name, line: proto.line, text: render(sf, fn, methods, parent, superCall) };
}

function render(sf: SourceFile, fn: FunctionDeclaration, methods: Array<{ stmt: Statement; name: string; fn: Node }>, parent: { stmt: Statement; expr: string } | null, superCall: Statement | null): string {
  const text = sf.getFullText();
  const unit = indentUnit(text);
  const base = indentAt(text, fn.getStart());
  const inner = base + unit;
  // A member: `name(params) {` + its body moved in one level.
  const member = (head: string, open: number, close: number, from: string, replace?: [number, number, string]): string => {
    let bodyText = text.slice(open, close);
    if (replace) bodyText = bodyText.slice(0, replace[0] - open) + replace[2] + bodyText.slice(replace[1] - open);
    bodyText = bodyText.replace(/\n[ \t]*$/, '');
    if (bodyText.trim() === '') return `${inner}${head} {}`;
    return `${inner}${head} {${reindent(bodyText, from, from + unit)}\n${inner}}`;
  };
  const params = (f: Node) => {
    const ps = (f as FunctionDeclaration).getParameters();
    return ps.map((p) => p.getText()).join(', ');
  };
  const fnBody = fn.getBody()!;
  const ctor = member(
    `constructor(${params(fn)})`,
    fnBody.getStart() + 1,
    fnBody.getEnd() - 1,
    base,
    superCall ? [superCall.getStart(), superCall.getEnd(), 'super();'] : undefined,
  );
  const parts = [ctor];
  for (const m of methods) {
    const f = m.fn as import('ts-morph').FunctionExpression;
    const b = f.getBody()!;
    const lead = text.slice(m.stmt.getFullStart(), m.stmt.getStart()).replace(/^\s*\n/, '');
    const comments = lead.trim() ? `${reindent(lead.replace(/\s+$/, ''), indentAt(text, m.stmt.getStart()), inner)}\n` : '';
    parts.push(comments + member(`${f.isAsync() ? 'async ' : ''}${m.name}(${params(f)})`, b.getStart() + 1, b.getEnd() - 1, indentAt(text, m.stmt.getStart())));
  }
  const cls = `class ${fn.getName()}${parent ? ` extends ${parent.expr}` : ''} {\n${parts.join('\n\n')}\n${base}}`;
  // Rebuild the file: the class where the function was; the prototype assignments and inherits() go.
  const drops = [...methods.map((m) => m.stmt), ...(parent ? [parent.stmt] : [])].sort((a, b) => a.getPos() - b.getPos());
  let out = '';
  let pos = 0;
  const cut = (s: Statement) => {
    // The statement with its leading comments and the line break before it.
    const start = s.getFullStart();
    out += text.slice(pos, start);
    pos = s.getEnd();
    if (text[pos] === ';') pos++;
  };
  out += text.slice(0, fn.getStart()) + cls;
  pos = fn.getEnd();
  for (const s of drops) cut(s);
  out += text.slice(pos);
  return out;
}
