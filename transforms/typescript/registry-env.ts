// A hand-made registration the base replaces posted to a registry URL the agent read from an
// environment variable of its own (`process.env.QUOTA_REGISTRY_URL`), or from the base's variable
// with a fallback URL of its own (`process.env.REGISTRY_URL ?? 'http://127.0.0.1:8500'`). The base
// registers with its variable only, so a deployment that set the agent's variable (or relied on
// the fallback) lost its registry in silence once the registration went. The base's variable is
// now given that URL before the class is declared, whenever the legacy expression has one: the
// agent's own variable wins over the base's, as it did (the legacy never read the base's).
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { descendantsOfKind, envName, thisMember } from '../../src/lang/typescript/syntax.js';
import { registryActionMethod } from '../../src/lang/typescript/patterns.js';
import { topLevelStatement } from './health-host.js';
import { reportSharedEnvDefault } from './shared-env-default.js';

const written = new WeakMap<TsRewriteContext, Set<string>>();

/** `process.env.X` / `process.env['X']`, optionally `?? 'url'` / `|| 'url'`: the variable and the fallback's text. */
interface EnvUrl {
  env: string;
  /** `process.env.X` as the legacy spelled it. */
  read: string;
  fallback: string | null;
  op: '??' | '||' | null;
  /** The expression, written again before the class (it reads only the environment and a literal). */
  text: string;
}

/**
 * Called for a registration method the plan removes (see remove-registry-push): when the URL it
 * posted to is not simply the base's variable, the base's variable is set from the legacy
 * expression before the class, with a warning naming both. True when the base's variable is given
 * that URL (now or by an earlier call), false when there is none to give.
 */
export function carryRegistryEnv(ctx: TsRewriteContext, method: string, body: Node, given?: Node): boolean {
  if (!ctx.registryEnv) return false;
  // (`given`: the URL handed to a registration helper of another module, imported-registration.ts.)
  const url = given ? argUrl(ctx, given) : registryUrlOf(ctx, body);
  if (!url || (url.env === ctx.registryEnv && url.fallback === null)) return false;
  const target = `process.env.${ctx.registryEnv}`;
  const own = url.env !== ctx.registryEnv;
  const op = url.op ?? '??';
  // The agent's variable wins over the base's; the base's (the deployment's, the validator's) over a
  // fallback URL, which is only what the legacy used when nothing was set.
  const statement = !own
    ? `${target} ${op}= ${url.fallback};`
    : url.fallback === null
      ? `if (${url.read}) ${target} = ${url.read};`
      : `${target} = ${url.read} ${op} ${target} ${op} ${url.fallback};`;
  // Once per file: two removed registrations reading the same URL give one statement. (Not in
  // ctx.generated: that keeps what generated code names, and the URL's 'http' is no import's use.)
  const done = written.get(ctx) ?? new Set<string>();
  if (done.has(statement)) return true;
  written.set(ctx, done.add(statement));
  const anchor = topLevelStatement(ctx.cls);
  ctx.edits.insert(anchor.getStart(true), `// The base registers with ${ctx.registryEnv}; ${method}() registered with ${url.text}.\n${statement}\n\n`);
  reportSharedEnvDefault(ctx, ctx.registryEnv, statement.replace(/;$/, ''));
  ctx.warnings.push(
    own
      ? `${method}() registered with ${url.text}, not the base's ${ctx.registryEnv}: ${ctx.registryEnv} is set from ${url.env} before the class, so the base registers where the legacy did (${url.env} wins when both are set)`
      : `${method}() registered with ${url.text}: with ${ctx.registryEnv} unset, ${ctx.registryEnv} defaults to ${url.fallback} before the class, so the base registers where the legacy did`,
  );
  return true;
}

/** The environment-read URL a registration posts to: the one env-read value its request's arguments name. */
export function registryUrlOf(ctx: TsRewriteContext, body: Node): EnvUrl | null {
  const found = new Map<string, EnvUrl>();
  // `fetch(`${REGISTRY}/${action}`)`, called with 'register': the path is the caller's.
  const action = registryActionMethod(body);
  for (const call of [...descendantsOfKind(body, SyntaxKind.CallExpression), ...descendantsOfKind(body, SyntaxKind.NewExpression)]) {
    const args = call.getArguments();
    if (!action && !args.some((a) => /register/i.test(a.getText()))) continue;
    for (const a of args) {
      // What the request sends (`body: JSON.stringify({ name: AGENT_NAME })`) names the agent, not
      // the registry: an environment read there is no URL.
      const refs: Node[] = [a, ...a.getDescendants()].filter((r) => !inPayload(r, a));
      for (const r of refs) {
        const url = envUrl(r) ?? (Node.isIdentifier(r) && !Node.isPropertyAccessExpression(r.getParent()) ? constUrl(r, body) : null) ?? memberUrl(ctx, r);
        if (url) found.set(url.text, url);
      }
    }
  }
  return found.size === 1 ? [...found.values()][0]! : null;
}

/** The environment-read URL one expression is: an env read (with a literal fallback), a const of one, a member set from one. */
function argUrl(ctx: TsRewriteContext, n: Node): EnvUrl | null {
  return envUrl(n) ?? (Node.isIdentifier(n) ? constUrl(n) : null) ?? memberUrl(ctx, n);
}

function envUrl(n: Node): EnvUrl | null {
  let e = n;
  while (Node.isParenthesizedExpression(e) || Node.isAsExpression(e) || Node.isNonNullExpression(e)) e = e.getExpression();
  const env = envName(e);
  if (env) return { env, read: e.getText(), fallback: null, op: null, text: e.getText() };
  if (!Node.isBinaryExpression(e)) return null;
  const op = e.getOperatorToken().getKind();
  if (op !== SyntaxKind.QuestionQuestionToken && op !== SyntaxKind.BarBarToken) return null;
  const left = envName(e.getLeft());
  const right = e.getRight();
  if (!left || !(Node.isStringLiteral(right) || Node.isNoSubstitutionTemplateLiteral(right))) return null;
  return { env: left, read: e.getLeft().getText(), fallback: right.getText(), op: op === SyntaxKind.QuestionQuestionToken ? '??' : '||', text: e.getText() };
}

/** Inside the payload of the request argument `arg`: a `body:` / `json:` property or a JSON.stringify() call. */
function inPayload(n: Node, arg: Node): boolean {
  for (let p: Node | undefined = n; p && p !== arg; p = p.getParent()) {
    if (Node.isPropertyAssignment(p) && /^(body|json|data|payload|form)$/.test(p.getName())) return true;
    if (Node.isCallExpression(p) && p.getExpression().getText() === 'JSON.stringify') return true;
  }
  return false;
}

/** A `const REGISTRY = process.env.X` the identifier names, declared at module level or in the registration's own body. */
function constUrl(id: Node, body?: Node): EnvUrl | null {
  const decl = id.getSymbol()?.getDeclarations()[0];
  if (!decl || !Node.isVariableDeclaration(decl)) return null;
  const list = decl.getParent();
  if (!Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') return null;
  const local = !!body && body.getPos() <= decl.getPos() && decl.getEnd() <= body.getEnd();
  if (!local && !Node.isSourceFile(list.getParent()?.getParent())) return null;
  const init = decl.getInitializer();
  return init ? envUrl(init) : null;
}

/** `this.registryUrl` set from the environment by its declaration, its parameter's default or in the constructor. */
export function memberUrl(ctx: TsRewriteContext, n: Node): EnvUrl | null {
  const name = thisMember(n);
  if (!name || !Node.isPropertyAccessExpression(n)) return null;
  const values: Node[] = [];
  for (const node of ctx.members.get(name)?.nodes ?? []) {
    if (Node.isPropertyDeclaration(node) && node.getInitializer()) values.push(node.getInitializer()!);
    // `constructor(private registryUrl = process.env.REGISTRY_URL ?? 'http://...')`: its default
    // (an argument a caller passes instead is a constructor parameter the rewrite keeps).
    if (Node.isParameterDeclaration(node) && node.getInitializer()) values.push(node.getInitializer()!);
  }
  for (const b of ctx.ctor ? descendantsOfKind(ctx.ctor, SyntaxKind.BinaryExpression) : []) {
    if (b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && thisMember(b.getLeft()) === name) values.push(b.getRight());
  }
  const urls = values.map((v) => envUrl(v) ?? (Node.isIdentifier(v) ? constUrl(v) : null));
  // Assigned once, from the environment; anything else is not a URL known before the class.
  return urls.length === 1 ? urls[0]! : null;
}
