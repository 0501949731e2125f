// Concern `fluent`: a legacy lifecycle method named like one of the base's (`start()`) that
// returns the agent itself (`return this`, `Promise<this>`) so callers chain on it:
// `const gw = new Gateway().start()`, `const j = await new Janitor().start()`. The base's method
// of that name resolves to nothing. When every use of what it returns is such a declaration in
// this file (nothing outside the file calls it, no `.then(x => ...)` takes the result), the
// callers keep the instance they built instead (`const gw = new Gateway(); gw.start();`), the
// method returns nothing, and the rest of the rewrite sees an ordinary lifecycle method and an
// agent variable (whose shutdown handler `gw.stop()` is then the base's). Any other use keeps
// the refusal: how those callers get the instance is a person's choice.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Node, SyntaxKind, ts, type CallExpression, type MethodDeclaration, type SourceFile } from 'ts-morph';
import { descendantsOfKind } from '../../src/lang/typescript/syntax.js';

export interface FluentUnchained {
  /** The source with the callers split and the method returning nothing. */
  text: string;
  /** One line per change, for the agent's warnings. */
  notes: string[];
  /** The line of the original source a line of `text` stands for (the rewrite's review items name the agent's file as it is). */
  originalLine: (line: number) => number;
}

/**
 * The source rewritten so that `method` (which returns `this`) returns nothing and its callers
 * keep the instance they built; null when some use of its result cannot be rewritten so.
 */
export function unchainFluent(sf: SourceFile, className: string, method: MethodDeclaration, outsideCallers: number): FluentUnchained | null {
  if (outsideCallers > 0) return null;
  const name = method.getName();
  const body = method.getBody();
  if (!body || !Node.isBlock(body)) return null;
  const own = (r: Node) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === method;
  const returns = descendantsOfKind(method, SyntaxKind.ReturnStatement).filter(own);
  // Every return gives the agent itself (or nothing): a method returning something else sometimes is not fluent.
  if (returns.some((r) => r.getExpression() && r.getExpression()!.getKind() !== SyntaxKind.ThisKeyword)) return null;
  const declared = method.getReturnTypeNode();
  const declaredText = declared?.getText().replace(/\s+/g, '') ?? '';
  if (declared && !new RegExp(`^(Promise<)?(this|${className})>?$`).test(declaredText)) return null;

  const text = sf.getFullText();
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const notes: string[] = [];
  for (const call of descendantsOfKind(sf, SyntaxKind.CallExpression)) {
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== name) continue;
    const receiver = callee.getExpression();
    if (!isInstance(receiver, className)) continue;
    const edit = callerEdit(call, receiver, text);
    if (edit === undefined) return null;
    if (edit) {
      edits.push(edit.edit);
      notes.push(edit.note);
    }
  }
  // The method returns nothing: the last `return this;` goes, earlier ones return early.
  const last = body.getStatements().at(-1);
  for (const r of returns) {
    if (!r.getExpression()) continue;
    if (r === last) {
      const lineStart = text.lastIndexOf('\n', r.getStart() - 1) + 1;
      const onlyOnLine = text.slice(lineStart, r.getStart()).trim() === '';
      edits.push(onlyOnLine ? { start: lineStart, end: text.indexOf('\n', r.getEnd()) + 1 || r.getEnd(), text: '' } : { start: r.getStart(), end: r.getEnd(), text: '' });
    } else edits.push({ start: r.getStart(), end: r.getEnd(), text: 'return;' });
  }
  if (declared) edits.push({ start: declared.getStart(), end: declared.getEnd(), text: declaredText.startsWith('Promise<') ? 'Promise<void>' : 'void' });
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { text: out, notes, originalLine: lineMap(text, edits) };
}

/**
 * New line -> original line across `edits` (non-overlapping, applied to `text`): a line an edit wrote stands
 * for the line the edit started on; any other line moves by the lines the edits before it added or took.
 */
function lineMap(text: string, edits: ReadonlyArray<{ start: number; end: number; text: string }>): (line: number) => number {
  const lines = (t: string) => t.split('\n').length - 1;
  const spans: Array<{ from: number; to: number; original: number; wrote: boolean; shift: number }> = [];
  let shift = 0;
  for (const e of [...edits].sort((a, b) => a.start - b.start)) {
    const original = lines(text.slice(0, e.start)) + 1;
    const from = original + shift;
    shift += lines(e.text) - lines(text.slice(e.start, e.end));
    // A whole line taken out writes nothing: the line now there is the next original one.
    const wrote = e.text !== '' || (e.start > 0 && text[e.start - 1] !== '\n');
    spans.push({ from, to: from + lines(e.text), original, wrote, shift });
  }
  return (line) => {
    let moved = 0;
    for (const sp of spans) {
      if (line < sp.from) break;
      if (sp.wrote && line <= sp.to) return sp.original;
      moved = sp.shift;
    }
    return line - moved;
  };
}

/** Is this expression an instance of the class (`new C(...)`, a variable or parameter typed C)? */
function isInstance(receiver: Node, className: string): boolean {
  let e = receiver;
  while (Node.isParenthesizedExpression(e)) e = e.getExpression();
  if (Node.isNewExpression(e)) return e.getExpression().getText() === className;
  if (e.getKind() === SyntaxKind.ThisKeyword) return !!e.getFirstAncestor((a) => Node.isClassDeclaration(a) && a.getName() === className);
  const sym = e.getType().getSymbol();
  return sym?.getName() === className;
}

/**
 * The edit that makes one caller keep its instance: undefined when it cannot be made, null
 * when the caller ignores what the method returns (nothing to change).
 */
function callerEdit(call: CallExpression, receiver: Node, text: string): { edit: { start: number; end: number; text: string }; note: string } | null | undefined {
  let use: Node = call;
  let parent = use.getParent();
  const awaited = !!parent && Node.isAwaitExpression(parent);
  if (awaited) {
    use = parent!;
    parent = use.getParent();
  }
  while (parent && Node.isParenthesizedExpression(parent)) {
    use = parent;
    parent = use.getParent();
  }
  // The result is dropped: `svc.start();`, `await svc.start();`, `void svc.start();`.
  if (!parent || Node.isExpressionStatement(parent) || Node.isVoidExpression(parent)) return null;
  // `const v = [await] new C(...).start();`: the declaration keeps the instance, the call follows it.
  if (!Node.isVariableDeclaration(parent) || parent.getInitializer() !== use || !Node.isIdentifier(parent.getNameNode())) return undefined;
  const stmt = parent.getVariableStatement();
  if (!stmt || stmt.getDeclarations().length !== 1) return undefined;
  const v = parent.getName();
  const lineStart = text.lastIndexOf('\n', stmt.getStart() - 1) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart))![0];
  const callee = call.getExpression() as import('ts-morph').PropertyAccessExpression;
  const args = text.slice(callee.getEnd(), call.getEnd());
  const instance = text.slice(receiver.getStart(), receiver.getEnd());
  const semi = text.slice(stmt.getStart(), stmt.getEnd()).trimEnd().endsWith(';') ? ';' : '';
  const declared = `${text.slice(stmt.getStart(), parent.getStart())}${text.slice(parent.getStart(), parent.getNameNode().getEnd())}${typeAnnotation(parent, text)} = ${instance}${semi}`;
  const started = `${awaited ? 'await ' : ''}${v}.${callee.getName()}${args}${semi}`;
  return {
    edit: { start: stmt.getStart(), end: stmt.getEnd(), text: `${declared}\n${indent}${started}` },
    note: `line ${stmt.getStartLineNumber()}: ${v} kept what ${callee.getName()}() returned (the agent itself); it now keeps the instance it built and calls ${callee.getName()}() on it`,
  };
}

function typeAnnotation(decl: import('ts-morph').VariableDeclaration, text: string): string {
  const t = decl.getTypeNode();
  return t ? text.slice(decl.getNameNode().getEnd(), t.getEnd()) : '';
}

/**
 * A caller in another file whose every call of `method` on its line leaves the result unused once
 * the promise settles: a statement of its own (`relay.start();`, `await relay.start();`, `void
 * relay.start();`) or one ending in handlers that pass the value through to nobody
 * (`ledger.start().catch((err) => { ...; process.exit(1); });`, `.finally(...)`): the base's method
 * answers it all the same. A `.then(...)` may read the value, and anything else keeps it (`const gw =`).
 */
export function resultDiscarded(root: string, caller: { file: string; line: number }, method: string): boolean {
  let text: string;
  try {
    text = readFileSync(path.join(root, caller.file), 'utf8');
  } catch {
    return false;
  }
  const sf = ts.createSourceFile(caller.file, text, ts.ScriptTarget.Latest, true);
  const calls: ts.CallExpression[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && n.expression.name.text === method && sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1 === caller.line) calls.push(n);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return (
    calls.length > 0 &&
    calls.every((call) => {
      let e: ts.Node = call;
      // `.catch(h)` / `.finally(h)`: their promise resolves to the same value, which goes on up.
      while (ts.isPropertyAccessExpression(e.parent) && /^(catch|finally)$/.test(e.parent.name.text) && ts.isCallExpression(e.parent.parent) && e.parent.parent.expression === e.parent) e = e.parent.parent;
      while (ts.isAwaitExpression(e.parent) || ts.isVoidExpression(e.parent) || ts.isParenthesizedExpression(e.parent)) e = e.parent;
      return ts.isExpressionStatement(e.parent);
    })
  );
}
