// A module's own JSON request helper, the way Node services wrote one before fetch (`function
// postJson(url, payload) { const body = JSON.stringify(payload); return new Promise(... http.request(url,
// { method: 'POST', ... }) ... req.end(body)) }`, or `httpJson(method, url, payload)`): the URL is
// written at the call (`postJson(`${cfg.registryUrl}/register`, { name, port })`), so a registration or
// deregistration through it reads like a fetch once the helper is proven to send nothing but that.
// The proof is structural: one http(s).request/fetch of its URL parameter, its body JSON of its payload
// parameter, its method a literal or its method parameter, and nothing else it touches outside its own
// locals (no `this`, no module state written, no other call than the request's own plumbing).
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import { calleeText, descendantsOfKind, moduleFunction } from './syntax.js';

/** What one call of a proven helper sends. */
export interface JsonRequest {
  /** The helper's name, as called. */
  helper: string;
  /** Upper-case method, or null when the call's method argument is not a literal. */
  method: string | null;
  url: Node;
  /** The value the helper JSON-encodes as the request body (absent: none sent). */
  payload: Node | undefined;
}

interface HelperShape {
  url: number;
  payload: number;
  method: { fixed: string } | { param: number };
}

const shapes = new WeakMap<Node, HelperShape | null>();

/** The request `call` makes when its callee is a proven JSON request helper of its own module; else null. */
export function jsonRequestOf(call: CallExpression): JsonRequest | null {
  // (A top-level function or const arrow of the module: syntax.ts's moduleFunction(), as for log helpers.)
  const fn = moduleFunction(call);
  if (!fn) return null;
  if (!shapes.has(fn)) shapes.set(fn, helperShape(fn));
  const shape = shapes.get(fn);
  if (!shape) return null;
  const args = call.getArguments();
  if (args.some((a) => Node.isSpreadElement(a))) return null;
  const url = args[shape.url];
  if (!url) return null;
  let method: string | null;
  if ('fixed' in shape.method) method = shape.method.fixed;
  else {
    const m = args[shape.method.param];
    method = m && (Node.isStringLiteral(m) || Node.isNoSubstitutionTemplateLiteral(m)) ? m.getLiteralText().toUpperCase() : null;
  }
  return { helper: call.getExpression().getText(), method, url, payload: args[shape.payload] };
}

/** Calls a helper may make besides its request: the request's and answer's own plumbing, encoding, settling. */
const PLUMBING = /^(JSON\.(stringify|parse)|Buffer\.(byteLength|concat|from)|String|Number|setTimeout|clearTimeout)$/;

function helperShape(fn: Node): HelperShape | null {
  if (!(Node.isFunctionDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) return null;
  const body = fn.getBody();
  if (!body) return null;
  const params = fn.getParameters().map((p) => (Node.isIdentifier(p.getNameNode()) ? p.getName() : ''));
  if (params.includes('')) return null;
  if (descendantsOfKind(body, SyntaxKind.ThisKeyword).length > 0) return null;
  // Declared inside the helper, not handed to it (a parameter's methods are the caller's objects).
  const own = fn.getParameters();
  const local = (id: Node) =>
    Node.isIdentifier(id) &&
    (id.getSymbol()?.getDeclarations() ?? []).length > 0 &&
    id.getSymbol()!.getDeclarations().every((d) => d.getFirstAncestor((a) => a === fn) !== undefined && !own.includes(d as never));
  const rootOf = (e: Node): Node => {
    let r = e;
    while (Node.isPropertyAccessExpression(r) || Node.isElementAccessExpression(r) || Node.isCallExpression(r)) r = r.getExpression();
    return r;
  };
  const calls = descendantsOfKind(body, SyntaxKind.CallExpression);
  const requests = calls.filter((c) => /^(https?\.request|fetch)$/.test(calleeText(c)));
  if (requests.length !== 1) return null;
  const request = requests[0]!;
  for (const c of calls) {
    if (c === request || PLUMBING.test(calleeText(c))) continue;
    // `req.on(...)`, `res.resume()`, `resolve()`, `chunks.push(c)`: calls on (or of) what the helper itself declared.
    if (local(rootOf(c.getExpression()))) continue;
    return null;
  }
  for (const n of descendantsOfKind(body, SyntaxKind.NewExpression)) if (!/^(Promise|Error|URL)$/.test(n.getExpression().getText())) return null;
  for (const b of descendantsOfKind(body, SyntaxKind.BinaryExpression)) {
    const op = b.getOperatorToken().getKind();
    if (op >= SyntaxKind.FirstAssignment && op <= SyntaxKind.LastAssignment && !local(rootOf(b.getLeft()))) return null;
  }
  // `sent++`, `--stats.inflight`: a write as much as `sent += 1`.
  for (const u of [...descendantsOfKind(body, SyntaxKind.PrefixUnaryExpression), ...descendantsOfKind(body, SyntaxKind.PostfixUnaryExpression)]) {
    const op = u.getOperatorToken();
    if ((op === SyntaxKind.PlusPlusToken || op === SyntaxKind.MinusMinusToken) && !local(rootOf(u.getOperand()))) return null;
  }
  const [urlArg, options] = request.getArguments();
  const url = urlArg && Node.isIdentifier(urlArg) ? params.indexOf(urlArg.getText()) : -1;
  if (url < 0 || !options || !Node.isObjectLiteralExpression(options)) return null;
  const fetch = calleeText(request) === 'fetch';
  let method: HelperShape['method'] | null = null;
  let sent: Node | undefined;
  for (const p of options.getProperties()) {
    if (Node.isShorthandPropertyAssignment(p) && p.getName() === 'method' && params.includes('method')) {
      method = { param: params.indexOf('method') };
      continue;
    }
    if (!Node.isPropertyAssignment(p)) return null;
    const v = p.getInitializerOrThrow();
    if (p.getName() === 'method') {
      if (Node.isStringLiteral(v) || Node.isNoSubstitutionTemplateLiteral(v)) method = { fixed: v.getLiteralText().toUpperCase() };
      else if (Node.isIdentifier(v) && params.includes(v.getText())) method = { param: params.indexOf(v.getText()) };
      else return null;
    } else if (fetch && p.getName() === 'body') sent = v;
    else if (!/^(headers|timeout|agent|signal)$/.test(p.getName())) return null;
  }
  if (!method) return null;
  // http.request sends what `req.end(x)` / `req.write(x)` hands it; one body, JSON of one parameter.
  if (!fetch) {
    const writes = calls.filter((c) => {
      const e = c.getExpression();
      return Node.isPropertyAccessExpression(e) && /^(end|write)$/.test(e.getName()) && c.getArguments().length > 0 && requestHandle(request, e.getExpression());
    });
    if (writes.length !== 1) return null;
    sent = writes[0]!.getArguments()[0];
  }
  const payload = sent ? jsonOfParam(sent, params) : -1;
  if (payload < 0) return null;
  return { url, payload, method };
}

/** `req` in `req.end(body)`: the request itself, or a const holding it. */
function requestHandle(request: CallExpression, n: Node): boolean {
  if (n === request) return true;
  if (!Node.isIdentifier(n)) return false;
  const decl = n.getSymbol()?.getDeclarations()[0];
  return !!decl && Node.isVariableDeclaration(decl) && decl.getInitializer() === request;
}

/** The parameter index of `JSON.stringify(p)` (directly, through a const, or `p === undefined ? '' : JSON.stringify(p)`); -1 otherwise. */
function jsonOfParam(n: Node, params: string[]): number {
  if (Node.isIdentifier(n)) {
    const decl = n.getSymbol()?.getDeclarations()[0];
    const list = decl?.getParent();
    if (!decl || !Node.isVariableDeclaration(decl) || !Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') return -1;
    const init = decl.getInitializer();
    return init ? jsonOfParam(init, params) : -1;
  }
  if (Node.isConditionalExpression(n)) {
    const empty = [n.getWhenTrue(), n.getWhenFalse()].find((b) => (Node.isStringLiteral(b) || Node.isNoSubstitutionTemplateLiteral(b)) && b.getLiteralText() === '');
    const json = [n.getWhenTrue(), n.getWhenFalse()].find((b) => b !== empty);
    return empty && json ? jsonOfParam(json, params) : -1;
  }
  if (Node.isCallExpression(n) && calleeText(n) === 'JSON.stringify' && n.getArguments().length === 1) {
    const x = n.getArguments()[0]!;
    return Node.isIdentifier(x) ? params.indexOf(x.getText()) : -1;
  }
  return -1;
}
