// Registration and Pushgateway pushes through collaborators the constructor was handed
// (`constructor(..., private readonly registry: RegistryClient, private readonly metrics: MetricsPusher)`,
// built by a composition root so tests can pass fakes), or that the agent builds itself
// (`private registry = new ServiceRegistry(url, 'order-webhook')`). What the client does is not the agent's
// code, so its calls stay; but the base registers the agent and pushes its samples too. Two
// registrations of one agent (the base's with its own port), and two PUTs to one Pushgateway
// group (each replacing the other's samples), would go unnoticed: each is a review item naming
// the calls and what the base does beside them.
import path from 'node:path';
import { BASE_SENT_KEYS } from './remove-registry-push.js';
import { Node, SyntaxKind, type CallExpression, type PropertyAssignment, type ShorthandPropertyAssignment } from 'ts-morph';
import { assignedThisMember, type AgentMember, type TsRewriteContext } from '../../src/lang/typescript/context.js';
import { descendantsOfKind, moduleFunctions, relativeNamedImports, requestsIn, thisMember } from '../../src/lang/typescript/syntax.js';
import { pushKind } from '../../src/lang/typescript/patterns.js';
import { parseTs } from '../../src/lang/typescript/rewrite.js';
import { importedText } from '../../src/lang/typescript/imported-file.js';

const REGISTRY_CALLS = /^(register|deregister|unregister)$/;

export function flagInjectedInfraClients(ctx: TsRewriteContext, removed: Set<string>): void {
  // The class's calls, listed once (from the file's index of nodes by kind) for every member with a
  // client, not walked again per member.
  let classCalls: CallExpression[] | undefined;
  for (const m of ctx.members.values()) {
    if (removed.has(m.name)) continue;
    const client = clientOf(ctx, m);
    if (!client) continue;
    classCalls ??= descendantsOfKind(ctx.cls, SyntaxKind.CallExpression);
    const calls = classCalls.filter((c) => {
      const callee = c.getExpression();
      return Node.isPropertyAccessExpression(callee) && thisMember(callee.getExpression()) === m.name && !ctx.edits.removes(c.getStart(), c.getEnd());
    });
    const named = (re: RegExp) => calls.filter((c) => re.test((c.getExpression() as import('ts-morph').PropertyAccessExpression).getName()));
    const registry = named(REGISTRY_CALLS);
    // (A service registry by its name or type: `this.commands.register('x', fn)` is not one.)
    // A client class the agent builds and the rewrite can read (this file, a relative import) is judged by its own
    // register(): a `new HandlerRegistry()` whose register('event', fn) keeps a map is no service registry.
    // (Asked only of a member that registers: reading the class parses its module, for every `new X()` field.)
    const serviceRegistry = () => (client.built && client.type ? registersThroughClass(ctx, client.type) : undefined) ?? /regist|discover|consul|catalog/i.test(`${m.name} ${client.type ?? ''}`);
    if (registry.some((c) => methodName(c) === 'register' && c.getArguments().length > 0) && serviceRegistry()) {
      ctx.kept.push({
        symbol: `this.${m.name}.register()`,
        line: registry[0]!.getStartLineNumber(),
        reason:
          `the agent registers through ${client.what} (${registry.map((c) => `${where(ctx, c)} line ${c.getStartLineNumber()}: ${head(c)}`).join('; ')}), a client the rewrite cannot see into, so those calls stay; ` +
          `the base registers the agent too (its name, host, AGENT_PORT as port, HEALTH_CHECK_PORT), so the registry gets two registrations of it: drop the injected calls when that client talks to the base's registry (REGISTRY_URL), else keep them and check both entries by hand`,
      });
    }
    const pushes = named(/^push\w*$/);
    const gateway = pushes.length > 0 && client.type ? groupPut(ctx, client.type) : null;
    if (gateway) {
      ctx.kept.push({
        symbol: `this.${m.name}.${methodName(pushes[0]!)}()`,
        line: pushes[0]!.getStartLineNumber(),
        reason:
          `the agent pushes samples through ${client.what} (${pushes.map((c) => `line ${c.getStartLineNumber()}: ${head(c)}`).join('; ')}), and ${gateway.text} (line ${gateway.line}) PUTs them to the Pushgateway group /metrics/job/<job>, which a PUT replaces whole; ` +
          `the base PUTs its own samples to /metrics/job/<the agent's name> every few seconds, so with that job each push wipes the other's samples: report these through this.reportMetric() (the base pushes them), or push them under a job of their own, by hand`,
      });
    }
  }
}

/**
 * The same through a helper of another module of the repository (`registerService(REGISTRY, { name:
 * this.stageName, ... })`, imported from ./registry-client.js, shared by a family of services):
 * the call stays in the kept start method, and the base registers the agent beside it, under its
 * own name and health port. A call the class keeps, of a function it imports by name from a
 * relative module whose exported function of that name requests the registry's /register.
 */
export function flagImportedRegistration(ctx: TsRewriteContext): void {
  const helpers = new Map<string, string>();
  // Imported, or required by a CommonJS agent (`const { registerService } = require('../lib/registry')`).
  for (const { local, name, spec } of relativeNamedImports(ctx.sf)) {
    if (/dereg|unreg/i.test(name) || !/regist/i.test(name)) continue;
    const text = importedText(path.resolve(ctx.root, path.dirname(ctx.file), spec), { code: true });
    if (text && registersIn(text, name)) helpers.set(local, spec);
  }
  if (helpers.size === 0) return;
  const calls = ctx.cls.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => helpers.has(c.getExpression().getText()) && !ctx.edits.removes(c.getStart(), c.getEnd()));
  if (calls.length === 0) return;
  const name = calls[0]!.getExpression().getText();
  // The fields the record it hands carries beside those the base sends (`version: settings.version, tags: [...]`):
  // dropping the call loses them from the registry unless the base's registrationRecord() hook returns them.
  const extra = calls.flatMap((c) =>
    c
      .getArguments()
      .filter((a) => Node.isObjectLiteralExpression(a))
      .flatMap((a) => (a as import('ts-morph').ObjectLiteralExpression).getProperties())
      .filter((p): p is PropertyAssignment | ShorthandPropertyAssignment => Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p))
      .filter((p) => !BASE_SENT_KEYS.has(p.getName()) && !/^(name|service|serviceName|id|serviceId)$/.test(p.getName())),
  );
  const lost =
    extra.length > 0
      ? `; dropping it would lose what it sends beside the base's fields: ${extra.map((p) => (Node.isPropertyAssignment(p) ? `'${p.getName()}' (${p.getInitializer()!.getText().slice(0, 60)})` : `'${p.getName()}'`)).join(', ')}, which the registry's readers get from the base only if its registrationRecord() hook returns them too (\`return { ...super.registrationRecord(), ${extra.map((p) => p.getName()).join(', ')}: ... }\`, read where the base registers, at start)`
      : '';
  // The name the call registers under (`{ name: 'edge-disk-exporter', ... }`), when the record spells it out and it is not the class's.
  const own = calls
    .flatMap((c) => c.getArguments().filter((a) => Node.isObjectLiteralExpression(a)))
    .map((a) => (a as import('ts-morph').ObjectLiteralExpression).getProperty('name'))
    .map((p) => (p && Node.isPropertyAssignment(p) ? p.getInitializer() : undefined))
    .map((v) => (v && (Node.isStringLiteral(v) || Node.isNoSubstitutionTemplateLiteral(v)) ? v.getLiteralText() : null))
    .find((v): v is string => !!v && v !== ctx.className);
  const entries = own ? `two entries of it under two names ('${own}' from this call, and the base's, ${ctx.hints.registryName ? ctx.hints.registryName.value : `${ctx.className} unless the base is given another name`})` : 'two entries of it';
  ctx.kept.push({
    symbol: `${name}()`,
    line: calls[0]!.getStartLineNumber(),
    reason:
      `the agent registers through ${name}() from ${helpers.get(name)} (${calls.map((c) => `${where(ctx, c)} line ${c.getStartLineNumber()}: ${head(c)}`).join('; ')}), which POSTs to the registry's /register itself, so the call stays; ` +
      `the base registers the agent too (its name, host, AGENT_PORT as port, HEALTH_CHECK_PORT), so the registry gets ${entries}: drop the call (and its deregistration) and give the base the name it registered, or keep it and check both entries by hand` +
      lost +
      (ctx.hints.importedRegistrationLeft ? `; not dropped by the rewrite because ${ctx.hints.importedRegistrationLeft}` : ''),
  });
}

/**
 * Whether the class `name` (declared in this file, or imported by name from a relative module) is a registry client:
 * true when its register() names the registry's /register (`this.send('/register', record)`), false when the class
 * makes no request at all; undefined when that cannot be told (or the class cannot be read here).
 */
function registersThroughClass(ctx: TsRewriteContext, name: string): boolean | undefined {
  let cls = ctx.sf.getClass(name);
  if (!cls) {
    const decl = ctx.sf.getImportDeclarations().find((d) => d.getModuleSpecifierValue().startsWith('.') && d.getNamedImports().some((n) => (n.getAliasNode()?.getText() ?? n.getName()) === name));
    const imported = decl?.getNamedImports().find((n) => (n.getAliasNode()?.getText() ?? n.getName()) === name)?.getName();
    const text = decl && importedText(path.resolve(ctx.root, path.dirname(ctx.file), decl.getModuleSpecifierValue()), { code: true });
    cls = text && imported ? parseTs('client.ts', text).sf.getClass(imported) : undefined;
  }
  if (!cls) return undefined;
  const register = cls.getMethod('register') ?? cls.getProperty('register')?.getInitializer();
  if (register && /['"`/]register\b/.test(register.getText())) return true;
  // A class that makes no request at all (a map of handlers) is no registry client; else its name decides.
  return /\b(fetch|request|https?|axios|got|post|net|dgram|socket)\b/i.test(cls.getText()) ? undefined : false;
}

/** The module's function `name` (declared or a const arrow) requests /register. */
function registersIn(text: string, name: string): boolean {
  const { sf } = parseTs('helper.ts', text);
  const fn = sf.getFunction(name) ?? sf.getVariableDeclaration(name)?.getInitializer();
  const body = fn && (Node.isFunctionDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) ? fn.getBody() : undefined;
  if (!body || !/['"`/]register\b/.test(body.getText())) return false;
  if (pushKind(body) === 'registry') return true;
  // Sent through a function of its own module (`await send(url, '/register', record)`, send() wrapping http.request).
  const own = moduleFunctions(sf);
  return descendantsOfKind(body, SyntaxKind.CallExpression).some((c) => {
    const f = own.get(c.getExpression().getText());
    return !!f && f !== fn && requestsIn(f.getText()).length > 0;
  });
}

function methodName(c: CallExpression): string {
  return (c.getExpression() as import('ts-morph').PropertyAccessExpression).getName();
}

/** `register(...)` in `start()`: the method the call sits in. */
function where(ctx: TsRewriteContext, c: CallExpression): string {
  const m = c.getFirstAncestor((a) => Node.isMethodDeclaration(a) && a.getParent() === ctx.cls);
  return m && Node.isMethodDeclaration(m) ? `${m.getName()}()` : 'the class';
}

function head(c: CallExpression): string {
  return firstLine(c.getText());
}

function firstLine(text: string): string {
  const t = text.split('\n')[0]!;
  return t.length > 90 ? `${t.slice(0, 87)}...` : t;
}

/**
 * A collaborator held in a member: handed to the constructor (`private readonly registry: RegistryClient`),
 * or built by the agent itself (`private registry = new ServiceRegistry(url, 'order-webhook')`, or
 * `this.registry = new RegistryClient(cfg.url)` in the constructor, declared or not). Its declared or constructed type
 * (a plain name), and how a reason names it.
 */
function clientOf(ctx: TsRewriteContext, m: AgentMember): { type: string | undefined; what: string; built?: boolean } | null {
  const node = m.nodes[0];
  if (!node) return null;
  if (m.kind === 'parameter-property' && Node.isParameterDeclaration(node)) return { type: node.getTypeNode()?.getText(), what: `the injected ${m.name}` };
  if (m.kind !== 'property') return null;
  // Declared (`private readonly registry: RegistryClient;`) and built in the constructor: its assignment there.
  const assigned = () => ctx.ctor?.getStatements().map((st) => assignedThisMember(st)).find((a) => a?.name === m.name)?.value;
  const value = Node.isPropertyDeclaration(node) ? (node.getInitializer() ?? assigned()) : assignedThisMember(node)?.value;
  if (!value || !Node.isNewExpression(value)) return null;
  const type = value.getExpression().getText();
  if (!/^[\w$.]+$/.test(type)) return null;
  return { type, built: true, what: `the ${type} it builds in ${m.name} (line ${value.getStartLineNumber()}: ${firstLine(value.getText())})` };
}

/**
 * The class of this file that implements the parameter's declared type (`class PushgatewayPusher
 * implements MetricsPusher`) and whose push method PUTs to a Pushgateway group (`/metrics/job/`,
 * method 'PUT'): its name and line, or null when none is seen (nothing to report as fact).
 */
function groupPut(ctx: TsRewriteContext, type: string): { text: string; line: number } | null {
  if (!/^[\w$.]+$/.test(type)) return null;
  for (const cls of ctx.sf.getClasses()) {
    if (cls.getName() !== type && !cls.getImplements().some((i) => i.getExpression().getText() === type)) continue;
    for (const method of cls.getMethods()) {
      if (!/^push\w*$/.test(method.getName())) continue;
      const text = method.getText();
      if (text.includes('/metrics/job/') && /method:\s*['"]PUT['"]/.test(text)) return { text: `${cls.getName() ?? 'the class'}.${method.getName()}()`, line: method.getStartLineNumber() };
    }
  }
  return null;
}
