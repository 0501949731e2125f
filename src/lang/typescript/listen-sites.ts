// Where a class binds a port: `server.listen(port)`, or a helper function handed the port as
// one of its arguments (`this.health = startHealthServer(this.healthPort, () => this.status())`,
// `serveHealth(port, routes)`) whose body calls `.listen(<that parameter>)`. The helper may be a
// function of the same file, or one imported or required from a module of the repository. Seen
// as a listen like the first, a kept helper's port is checked against the port the base binds
// (missed, the _v2 bound one port twice and died with EADDRINUSE at start, with no review item).
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { Node, SyntaxKind, ts, type CallExpression } from 'ts-morph';
import { descendantsOfKind } from './syntax.js';
import { importOf, resolveModule } from './old-base.js';
import { exportedHelper } from '../../../transforms/typescript/health-helper-server.js';
import { forgetOnReset } from '../../core/invocation.js';

export interface ListenSite {
  call: CallExpression;
  /** The port argument of the call. */
  arg: Node;
  /** What binds it, for messages: `this.server`, `startHealthServer()`. */
  holder: string;
}

type FunctionLike = ts.FunctionDeclaration | ts.ArrowFunction | ts.FunctionExpression;

/** Index of the parameter `fn` passes as the first argument of a `.listen()` call in its body, or -1. */
function listenedParameter(fn: FunctionLike): number {
  if (!fn.body) return -1;
  const params = fn.parameters.map((p) => (ts.isIdentifier(p.name) ? p.name.text : ''));
  let index = -1;
  const visit = (n: ts.Node): void => {
    if (index >= 0) return;
    if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && n.expression.name.text === 'listen') {
      const a = n.arguments[0];
      if (a && ts.isIdentifier(a)) index = params.indexOf(a.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(fn.body);
  return index;
}

const memo = new Map<string, number>();
forgetOnReset(() => memo.clear());

/** The parameter index helper `name` (of this file, or imported/required from a relative module) listens on, or -1. */
function helperListenParameter(call: CallExpression, root: string, file: string): number {
  const callee = call.getExpression();
  if (!Node.isIdentifier(callee)) return -1;
  const sf = call.getSourceFile();
  const local = callee.getText();
  const origin = importOf(sf, local);
  if (!origin) {
    const helper = exportedHelper(sf.compilerNode, local);
    return helper && !ts.isClassDeclaration(helper) ? listenedParameter(helper) : -1;
  }
  if (!origin.specifier.startsWith('.')) return -1;
  const target = resolveModule(path.dirname(path.resolve(root, file)), origin.specifier);
  if (!target) return -1;
  const key = `${target}\0${origin.imported}`;
  if (!memo.has(key)) {
    let found = -1;
    try {
      const text = readFileSync(target, 'utf8');
      const helper = exportedHelper(ts.createSourceFile(target, text, ts.ScriptTarget.ES2022, true), origin.imported);
      found = helper && !ts.isClassDeclaration(helper) ? listenedParameter(helper) : -1;
    } catch {
      // unreadable: not a listen site
    }
    memo.set(key, found);
  }
  return memo.get(key)!;
}

/** The listen sites under `scope` that `skip` does not drop (calls the rewrite removes, say). */
export function listenSites(scope: Node, root: string, file: string, skip: (call: CallExpression) => boolean = () => false): ListenSite[] {
  const out: ListenSite[] = [];
  for (const call of descendantsOfKind(scope, SyntaxKind.CallExpression)) {
    if (skip(call)) continue;
    const callee = call.getExpression();
    if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'listen') {
      const arg = call.getArguments()[0];
      if (arg) out.push({ call, arg, holder: callee.getExpression().getText() });
      continue;
    }
    const i = helperListenParameter(call, root, file);
    const arg = i >= 0 ? call.getArguments()[i] : undefined;
    if (arg) out.push({ call, arg, holder: `${callee.getText()}()` });
  }
  return out;
}
