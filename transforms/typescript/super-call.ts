// `super({ name: '<Class>', port, healthCheckPort: healthPort, ... })` as the first statement
// of the constructor (TypeScript requires it first when the class has initialised properties
// or parameter properties), passing through the ports the legacy code used. Members the base
// owns (port, name, startTime, ...) stop being declared by the agent: parameter properties
// become plain parameters, property declarations and `this.port = port` assignments go, and
// their values move into the super() call.
import path from 'node:path';
import { Node, SyntaxKind, ts, type CallExpression, type ParameterDeclaration } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { indentAt } from '../../src/lang/typescript/edits.js';
import { constructorText } from '../../src/lang/typescript/generate.js';
import { boundMerge, carryAfterSuper, mappedOptions, mergeLocal, oldBaseConstructor, oldOptionKeys } from './old-base.js';
import { callerList, methodBody, renameThisAccesses } from '../../src/lang/typescript/context.js';
import { otherRegistryUrl } from './remove-registry-push.js';
import { outsideConstructorArgs } from '../../src/lang/typescript/references.js';
import { descendantsOfKind, envName, isJsFile, namesDeclaredInFunctions, thisMember } from '../../src/lang/typescript/syntax.js';
import { tsPortDefault, tsTextDefault } from '../../src/lang/typescript/port-defaults.js';
import { stopAfterSuperAsOnStop } from './stop-after-super.js';
import { listenSites, type ListenSite } from '../../src/lang/typescript/listen-sites.js';
import { reportSharedEnvDefault } from './shared-env-default.js';

export function superCall(ctx: TsRewriteContext, removed: Set<string>): void {
  const nameKey = ctx.ts.super_call.name_property;
  const args = new Map<string, string>();
  // The legacy registration's own name (`name: 'lease-reaper'`): the registry, its dashboards
  // and its peers know the agent by it, so the base registers under it, not the class name.
  const registered = ctx.hints.registryName;
  // An abstract family parent, or a class another class extends (in its file, or in another importing it):
  // each subclass registers under its own name. Given the class-name literal, every subclass shared the
  // parent's registry entry, and the first to stop deregistered the others. A legacy registration under
  // the class name (registered) named every subclass that way: the literal stays.
  const perSubclass = ctx.cls.isAbstract() || (!registered && extendedInRepository(ctx));
  args.set(nameKey, perSubclass ? 'new.target.name' : `${ctx.quote}${ctx.className}${ctx.quote}`);
  // (Said once the constructor's own name, which may be that value, is known: see givenName below.)
  const runtimeName = registered?.runtime && !ctx.cls.isAbstract() ? registered : null;
  if (runtimeName) {
    // below
  } else if (registered && !ctx.cls.isAbstract() && !sameName(registered.value, ctx.className)) {
    args.set(nameKey, registered.value);
    if (registered.derived) {
      // `${this.name}-http`: a second entry built from the agent's name, which stays registered by
      // hand; the base takes the name it is built from, not the entry's, or it would read `-http-http`.
      ctx.warnings.push(`${registered.method}() registered ${registered.derived} (line ${registered.line}), a second entry built from the agent's name ${registered.value}, not the class name ${ctx.className}: ${registered.value} is passed to the base as ${nameKey}, so the agent and that entry keep their names`);
    } else {
      // Registered with another variable's registry (CATALOG_URL, not REGISTRY_URL): the base's entry takes that name, in its own registry.
      const body = registered.method ? methodBody(ctx, registered.method) : undefined;
      const elsewhere = body ? otherRegistryUrl(ctx, body) : null;
      ctx.warnings.push(
        elsewhere
          ? `${registered.method}() registered as ${registered.value} (line ${registered.line}) with ${elsewhere}, not as the class name ${ctx.className}: passed to the base as ${nameKey}, so the base's entry in ${ctx.registryEnv} has the name the agent has there`
          : `${registered.method}() registered as ${registered.value} (line ${registered.line}), not as the class name ${ctx.className}: passed to the base as ${nameKey}, so the registry entry keeps its name`,
      );
    }
  } else if (registered && !registered.runtime && ctx.cls.isAbstract() && textReadsCtorParameter(ctx, registered.value)) {
    // An abstract parent registering the name each subclass hands to its constructor
    // (`super({ name: 'fx-rates', ... })` → `name: this.opts.name`): the registry knew each agent
    // by that name, not by its class name, so that name goes to the base.
    args.set(nameKey, registered.value);
    ctx.warnings.push(`${registered.method}() registered as ${registered.value} (line ${registered.line}), the name each subclass gives ${ctx.className}'s constructor, not its class name: passed to the base as ${nameKey}, so each subclass's registry entry keeps its name`);
  }
  const params = ctx.ctor ? ctx.ctor.getParameters() : [];
  const passThrough = ctx.ts.super_call.pass_through ?? {};
  // Keys whose legacy value stays a kept server's and is not handed to the base.
  const withheld = new Set<string>();
  const said = { kept: ctx.kept.length, warnings: ctx.warnings.length };
  // Values the legacy code gave each pass-through key: a constructor parameter first.
  for (const [key, names] of Object.entries(passThrough)) {
    if (ctx.hints.businessHealth && /health/i.test(key)) {
      // The kept business status server keeps its port; the base takes HEALTH_CHECK_PORT (or port + 1).
      // Said only when the agent had a health port of its own to pass: a kept server on the
      // agent's port (passed as `port`) left no legacy health port behind.
      const own = healthPortIn(ctx, names);
      if (!own || keptPortOffBaseEnv(ctx, names) || keptConfigPortOffBaseEnv(ctx, own)) continue;
      // Only a kept server listening there keeps the port: when the server that listened there went (its
      // /health now the base's), the port goes to the base as any removed health server's does, below.
      const kept = keptListenOn(ctx, own) ?? (own.startsWith('this.') ? keptListenOn(ctx, own.slice(5)) : null);
      if (kept) {
        ctx.warnings.push(`${key} is not passed to the base: the kept status server ${kept.holder} (line ${kept.call.getStartLineNumber()}) still listens on the legacy health port (${own})`);
        withheld.add(key);
        continue;
      }
    }
    // A kept server's port passed as another base setting (`port`) but read from the base's health
    // variable (`private port = Number(process.env.HEALTH_CHECK_PORT || 7350)`): handed to the
    // base, the kept server would follow AGENT_PORT and, with only HEALTH_CHECK_PORT set, bind the
    // base's /health port. It stays the kept server's, off that variable, in a field of its own.
    if (!/health/i.test(key) && keptPortOffBaseEnv(ctx, names, true)) {
      withheld.add(key);
      continue;
    }
    const p = params.find((x) => names.includes(x.getName()));
    // `this.port = port || Number(process.env.PORT) || 7610`: the parameter is only one of the
    // values the legacy port could take; the whole expression goes to the base.
    const fallback = p ? widenedParameter(ctx, p, names) : null;
    if (fallback) {
      args.set(key, `${key}: ${fallback}`);
      continue;
    }
    if (p) {
      // The health server stayed after all (still used) and listens on that parameter: the base
      // given the same port would bind it too (one EADDRINUSE away from a crash in production).
      const listen = ctx.hints.healthPortExpr;
      const stays = key.toLowerCase().includes('health') && !!listen && !!ctx.hints.healthHolder && !removed.has(ctx.hints.healthHolder);
      if (stays && listen.getDescendantsOfKind(SyntaxKind.Identifier).concat(Node.isIdentifier(listen) ? [listen] : []).some((id) => id.getText() === p.getName())) {
        ctx.warnings.push(`${key} is not passed to the base: ${ctx.hints.healthHolder} stays and still listens on ${listen.getText()}`);
        withheld.add(key);
        continue;
      }
      args.set(key, p.getName() === key ? key : `${key}: ${p.getName()}`);
      continue;
    }
    for (const n of names) {
      const v = ownedValue(ctx, n);
      if (v) {
        args.set(key, v === key ? key : `${key}: ${v}`);
        break;
      }
    }
    if (!args.has(key) && key.toLowerCase().includes('health') && ctx.hints.healthPortExpr && !ctx.hints.businessHealth) {
      const expr = ctx.hints.healthPortExpr;
      // The health server stayed after all (still used): it keeps listening on that port, and
      // the base given the same port would fail to bind it.
      if (ctx.hints.healthHolder && !removed.has(ctx.hints.healthHolder)) {
        ctx.warnings.push(`${key} is not passed to the base: ${ctx.hints.healthHolder} stays and still listens on ${expr.getText()}`);
        withheld.add(key);
        continue;
      }
      const v = ctx.constantValue(expr);
      if (v) args.set(key, v === key ? key : `${key}: ${v}`);
      else if (!basePlusOne(expr, passThrough.port ?? [])) {
        // The port the probes and monitors know cannot reach the base: without a word, /health
        // would move to HEALTH_CHECK_PORT (or port + 1, or any free port) in production.
        ctx.kept.push({
          symbol: key,
          line: expr.getStartLineNumber(),
          reason: `the removed health server listened on ${expr.getText()}, which cannot be computed before super(): the base serves /health on HEALTH_CHECK_PORT (else port + 1, else a free port); pass that port to super({ ${key} }) or set HEALTH_CHECK_PORT where the agent is deployed`,
        });
      }
    }
  }
  for (const key of keptServerOnHealthPort(ctx, args)) withheld.add(key);
  keptConstOffBaseEnv(ctx);
  keptServerOnDefaultHealthPort(ctx, args);
  // A withheld port the class stores under the base's own member name (`this.healthCheckPort`) and
  // kept code still reads (the kept server's listen(), its log line): dropped as "the same
  // concept", those reads would get the base's /health port, and the kept server would bind the
  // base's port. The legacy value stays in a field of its own, every kept reader wired to it.
  const ownPorts = new Set<string>();
  for (const key of withheld) {
    if (args.has(key)) continue;
    for (const n of passThrough[key] ?? []) if (ctx.base.members.has(n) && keptReads(ctx, n)) ownPorts.add(n);
  }
  for (const [k, v] of ctx.superArgs) if (!args.has(k)) args.set(k, v === k ? k : `${k}: ${v}`);
  // `this.name = name` from a constructor option or parameter (`{ name = 'depth-reporter' } = {}`):
  // each instance was known by the name its caller gave, in the registry and wherever the class
  // reads this.name. That value goes to the base (which falls back to the class name when it is empty).
  let givenName: string | null = null;
  const named = ctx.cls.isAbstract() ? undefined : ctorAssignments(ctx).find((a) => a.name === nameKey);
  if (named && !Node.isStringLiteral(named.value) && !Node.isNoSubstitutionTemplateLiteral(named.value) && readsCtorParameter(ctx, named.value)) {
    givenName = ctx.constantValue(named.value);
    if (givenName) {
      // (TypeScript: an optional option is string | undefined, which the base's name: string refuses.)
      args.set(nameKey, ctx.js ? givenName : `${/^[\w$.]+$/.test(givenName) ? givenName : `(${givenName})`} || ${ctx.quote}${ctx.className}${ctx.quote}`);
      ctx.warnings.push(`this.${nameKey} = ${named.value.getText()} (line ${named.value.getStartLineNumber()}) is now the name given to the base (the class name when it is empty)`);
    }
  }
  // `private constructor(readonly name: string, ...)`, built by a factory (`open()` registering
  // under the name it then passes): the same, as a parameter property. It becomes a plain
  // parameter (the base owns name), so its value goes to the base, or this.name (read by the kept
  // deregistration, the health payload) would become the class name.
  // An abstract parent's too: each subclass hands it its name (`super('doc-indexer', ...)`), which
  // new.target.name (the class name) would replace in the registry, the logs and the health payload.
  const nameProp = givenName ? undefined : ctx.members.get(nameKey);
  const nameParam = nameProp?.kind === 'parameter-property' && nameProp.nodes.length === 1 && Node.isParameterDeclaration(nameProp.nodes[0]!) ? nameProp.nodes[0] : undefined;
  if (nameParam && !nameParam.isRestParameter() && Node.isIdentifier(nameParam.getNameNode()) && compatibleType(nameKey, nameKey, nameParam)) {
    const optional = nameParam.hasQuestionToken() || /\b(undefined|null)\b/.test(nameParam.getTypeNode()?.getText() ?? '');
    givenName = nameKey;
    args.set(nameKey, ctx.js || !optional ? nameKey : `${nameKey} || ${ctx.quote}${ctx.className}${ctx.quote}`);
    ctx.warnings.push(
      `the constructor's ${nameKey} parameter (line ${nameParam.getStartLineNumber()}) was this.${nameKey}: it is now the name given to the base, so the agent keeps the name its caller gave${runtimeName ? ` (${runtimeName.method}() registered under ${runtimeName.value}, line ${runtimeName.line})` : ''}; AGENT_NAME, when set, wins in the base`,
    );
  } else if (runtimeName && handedName(ctx, runtimeName.value)) {
    // `this.name` of a family parent whose migrated constructor hands the base the name it is given.
    const parent = ctx.parent.kind === 'family' ? ctx.parent.parent.className : '';
    ctx.warnings.push(`${runtimeName.method}() registered under ${runtimeName.value} (line ${runtimeName.line}), the name this class gives ${parent}'s constructor (${handedName(ctx, runtimeName.value)}), which ${parent} hands the base as ${nameKey}: the base registers under it, as the legacy did (AGENT_NAME, when set, wins)`);
  } else if (runtimeName) {
    ctx.warnings.push(`${runtimeName.method}() registered under ${runtimeName.value} (line ${runtimeName.line}), a value known only once the agent runs: the base registers as ${ctx.className} (or AGENT_NAME); pass that name to super() by hand if the registry must keep it`);
  }
  // `this.port = <value>` below goes (the base owns port): a value that could not reach super()
  // would be lost without a word (the agent would listen on AGENT_PORT or a free port).
  for (const [key, names] of Object.entries(passThrough)) {
    if (args.has(key) || (ctx.hints.businessHealth && /health/i.test(key))) continue;
    // (Withheld on purpose: a kept server listens there, and a warning said so.)
    if (withheld.has(key) || ctx.kept.some((k) => k.symbol === key)) continue;
    const lost = ctorAssignments(ctx).find((a) => names.includes(a.name) && !ctx.renames.has(a.name));
    if (!lost) continue;
    ctx.kept.push({
      symbol: key,
      line: lost.value.getStartLineNumber(),
      reason: `this.${lost.name} = ${lost.value.getText()} cannot be computed before super(): pass that value to super({ ${key} }) by hand (the base owns ${lost.name}: without it, the agent would listen on AGENT_PORT or a free port)`,
    });
  }

  // Members the base owns stop being declared here when they mean the same thing (the ports, the
  // name, the start time, the registration flag); others are renamed.
  const sameConcept = new Set([nameKey, ...Object.keys(passThrough), 'startTime', 'registered'].filter((n) => !ctx.hints.ownFlags?.has(n)));
  for (const m of ctx.members.values()) {
    if (removed.has(m.name)) {
      if (m.kind === 'parameter-property') stripModifiers(ctx, m.nodes[0] as ParameterDeclaration, m.name);
      continue;
    }
    const owned = ctx.base.members.get(m.name);
    if (!owned || ctx.removedExtra.includes(m.name)) continue;
    if (owned.kind === 'method') {
      const deliberate = owned.hook || (ctx.ts.hooks ?? []).includes(m.name) || ctx.entry?.method === m.name || m.nodes.some((n) => Node.isMethodDeclaration(n) && n.hasOverrideKeyword());
      if (m.kind === 'method' && !deliberate && !ctx.renames.has(m.name) && !ctx.newMembers.some((n) => n.name === m.name)) {
        // A private helper that happens to share the base's name (`private run(job)`) is no
        // override: nothing outside the class can call it, so it is renamed with its this.x uses.
        if (m.nodes.every((n) => Node.isMethodDeclaration(n) && n.hasModifier(SyntaxKind.PrivateKeyword))) {
          renameProperty(ctx, m.name, m.nodes);
          continue;
        }
        // A public method of the agent's own (`reportMetric(name, value = 1, kind)` sending statsd
        // lines) that only the class itself calls, never through super: it overrode nothing before
        // and must not start overriding the base's now (a different signature fails the type
        // check; a compatible one would change what the base's callers get). Renamed with its
        // this.x uses, like a private helper.
        if (!owned.calledByBase && !callsSuper(m.nodes, m.name) && ctx.outsideCallers(m.name).length === 0 && !usedOffThis(ctx, m.name)) {
          renameProperty(ctx, m.name, m.nodes);
          continue;
        }
        if (stopAfterSuperAsOnStop(ctx, m.name, m.nodes)) continue;
        ctx.kept.push({ symbol: m.name, line: m.line, reason: `${m.name}() overrides ${ctx.baseClass}.${m.name}(); check it still calls super.${m.name}() or rename it` });
      }
      continue;
    }
    if (m.kind === 'accessor') {
      // `get name() { return 'sync'; }` would break the base's `this.name = ...` (a getter
      // without a setter cannot be assigned): a constant name goes to the base; else it is renamed.
      const getter = m.nodes.find((n) => Node.isGetAccessorDeclaration(n));
      const body = getter && Node.isGetAccessorDeclaration(getter) ? getter.getBody() : undefined;
      const ret = body && Node.isBlock(body) ? body.getStatements() : undefined;
      const value = ret?.length === 1 && Node.isReturnStatement(ret[0]!) && ret[0].getExpression() ? ctx.constantValue(ret[0].getExpression()!) : null;
      if (m.name === nameKey && m.nodes.length === 1 && value) {
        args.set(nameKey, value);
        ctx.edits.removeNode(getter!);
        ctx.removedExtra.push(m.name);
        ctx.warnings.push(`the ${m.name} getter (${value}) is now the name given to the base`);
      } else renameProperty(ctx, m.name, m.nodes);
      continue;
    }
    if (ownPorts.has(m.name)) {
      keepOwnPort(ctx, m.name, m.nodes, said);
      continue;
    }
    if (!sameConcept.has(m.name) || !compatibleType(m.name, nameKey, m.nodes[0]!)) {
      // Same name, different thing (a console logger, a 0.0.0.0 host): keep it under another name.
      renameProperty(ctx, m.name, m.nodes);
      continue;
    }
    if (m.kind === 'parameter-property') {
      stripModifiers(ctx, m.nodes[0] as ParameterDeclaration, m.name);
      ctx.removedExtra.push(m.name);
    } else if (m.kind === 'property') {
      const init = Node.isPropertyDeclaration(m.nodes[0]!) ? m.nodes[0].getInitializer() : undefined;
      if (m.name === nameKey && init && Node.isStringLiteral(init) && init.getLiteralText() !== ctx.className && args.get(nameKey) !== init.getText()) {
        ctx.warnings.push(`the agent used the name '${init.getLiteralText()}'; it now registers as '${ctx.className}' (set AGENT_NAME to keep the old name)`);
      }
      const decl = m.nodes[0]!;
      ctx.edits.removeNode(decl);
      ctx.removedExtra.push(m.name);
    }
  }
  // `this.port = port;` in the constructor: the base assigns its own members.
  const body = ctx.ctor?.getBody();
  if (body && Node.isBlock(body)) {
    for (const s of body.getStatements()) {
      if (!Node.isExpressionStatement(s)) continue;
      const e = s.getExpression();
      if (!Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
      const target = thisMember(e.getLeft());
      if (!target || !ctx.base.members.has(target) || ctx.base.members.get(target)!.kind !== 'property') continue;
      if (ctx.members.get(target)?.kind === 'method') continue;
      // A same-named field of another meaning was renamed above: this assignment now declares it.
      if (ctx.renames.has(target)) continue;
      const value = e.getRight();
      // (Not when the base is given that very value: the registration's name, say.)
      const passed = args.get(nameKey) === (ctx.constantValue(value) ?? value.getText());
      if (target === nameKey && !givenName && !passed && !(Node.isStringLiteral(value) && value.getLiteralText() === ctx.className)) {
        ctx.warnings.push(`this.${target} = ${value.getText()} (line ${s.getStartLineNumber()}) named the agent; it now registers as '${ctx.className}' (set AGENT_NAME to keep the old name)`);
      }
      ctx.edits.removeNode(s);
    }
  }

  const nameArg = args.get(nameKey) === nameKey ? nameKey : `${nameKey}: ${args.get(nameKey)}`;
  const argText = `{ ${[...args.values()].map((v, i) => (i === 0 ? nameArg : v)).join(', ')} }`;
  const existing = body?.getDescendantsOfKind(SyntaxKind.SuperKeyword).find((k) => Node.isCallExpression(k.getParent()));
  // What the constructor must do just before super() (set AGENT_PORT for the base to read).
  const pre = ctx.hints.beforeSuper;
  const preLines = (indent: string) => (pre ? `${pre.statement.split('\n').join(`\n${indent}`)}\n${indent}` : '');
  const preSaid = (placed: boolean) => {
    if (!pre) return;
    ctx.warnings.push(placed ? pre.placed : pre.unplaced);
    // Set for the whole process, as a default before the class is: another agent built later in it reads it too.
    if (placed) reportSharedEnvDefault(ctx, pre.env, pre.statement.split('\n').pop()!.replace(/;$/, ''), 'in the constructor, before super(),');
  };
  if (ctx.parent.kind === 'family') {
    // The subclass's own super(...) statement: the lines go just before it.
    const stmt = existing?.getParent()?.getParent();
    const placed = !!pre && !!stmt && Node.isExpressionStatement(stmt);
    if (placed) ctx.edits.insert(stmt!.getStart(), preLines(indentAt(ctx.text, stmt!.getStart())));
    preSaid(placed);
    familySuper(ctx, existing?.getParent() as CallExpression | undefined, args, argText);
    return;
  }
  ctx.generated.push(argText);
  if (existing) {
    // The class called its old parent's constructor: it now passes the base's options there.
    if (ctx.parent.kind === 'event-emitter' || ctx.parent.kind === 'old-base') {
      const stmt = existing.getParent()!.getParent()!;
      if (pre && Node.isExpressionStatement(stmt)) ctx.edits.insert(stmt.getStart(), preLines(indentAt(ctx.text, stmt.getStart())));
      preSaid(Node.isExpressionStatement(stmt));
      replaceSuperArguments(ctx, existing.getParent() as CallExpression, args);
      carryAfterSuper(ctx, existing.getParent() as CallExpression);
    } else preSaid(false);
    return; // else it already reached the base
  }
  if (ctx.ctor && body && Node.isBlock(body)) {
    const stmts = body.getStatements();
    const open = body.getStart() + 1;
    const indent = stmts.length > 0 ? indentAt(ctx.text, stmts[0]!.getStart()) : indentAt(ctx.text, ctx.ctor.getStart()) + ctx.unit;
    preSaid(true);
    if (ctx.superAfter && stmts.includes(ctx.superAfter as (typeof stmts)[number])) {
      // A value passed to the base reads a local the constructor declares first: super() follows it.
      const at = indentAt(ctx.text, ctx.superAfter.getStart());
      ctx.edits.insert(ctx.superAfter.getEnd(), `\n${at}${preLines(at)}super(${argText});`);
    } else if (stmts.length === 0 && !ctx.text.slice(open, body.getEnd() - 1).includes('\n')) {
      // `constructor(private port = 1) {}` → a body with one statement.
      ctx.edits.replace(open, body.getEnd() - 1, `\n${indent}${preLines(indent)}super(${argText});\n${indentAt(ctx.text, ctx.ctor.getStart())}`);
    } else {
      ctx.edits.insert(open, `\n${indent}${preLines(indent)}super(${argText});`);
    }
    return;
  }
  preSaid(false);
  // No constructor: the old base's parameters (base-to-base), or one that forwards options.
  const fromOld = oldBaseConstructor(ctx, args, nameKey);
  if (fromOld) {
    ctx.newConstructor = fromOld;
    return;
  }
  const withOptions = argText.replace(/ \}$/, ', ...options }');
  ctx.newConstructor = constructorText(ctx, withOptions);
}

/**
 * A family subclass reaches the base through its parent's constructor: a bare `super()` to a
 * parent whose migrated constructor forwards options gets the subclass's own name, ports and loop
 * period. Any other parent constructor cannot take them: what would be lost is named for review.
 */
function familySuper(ctx: TsRewriteContext, call: CallExpression | undefined, args: Map<string, string>, argText: string): void {
  const nameKey = ctx.ts.super_call.name_property;
  let extra = [...args.keys()].filter((k) => k !== nameKey);
  if (ctx.parent.kind !== 'family') return;
  // Bare: the subclass registers under its own name, not its parent's.
  if (ctx.parent.parent.forwardsOptions && (!call || call.getArguments().length === 0)) {
    ctx.generated.push(argText);
    if (call) {
      const open = call.getFirstChildByKindOrThrow(SyntaxKind.OpenParenToken).getEnd();
      ctx.edits.replace(open, call.getLastChildByKindOrThrow(SyntaxKind.CloseParenToken).getStart(), argText);
    } else ctx.newConstructor = constructorText(ctx, argText.replace(/ \}$/, ', ...options }'));
    return;
  }
  // Handed already: the call's argument at a position the parent's migrated constructor hands the
  // base as that option (`super(name, 500, healthPort)` under `super({ name, healthCheckPort: healthPort })`).
  const handed = ctx.parent.parent.handed;
  const value = (k: string) => args.get(k)!.replace(new RegExp(`^${k}:\\s*`), '');
  const reached = (k: string) => !!handed && !!call && [...handed.options].some(([i, key]) => key === k && call.getArguments()[i]?.getText() === value(k));
  extra = extra.filter((k) => !reached(k));
  if (extra.length === 0) return;
  // Already passed (a second run over the output).
  const given = call?.getArguments()[0];
  const keys = given && Node.isObjectLiteralExpression(given) ? given.getProperties().map((p) => (Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p) ? p.getName() : '')) : [];
  if (extra.every((k) => keys.includes(k))) return;
  ctx.kept.push({
    symbol: 'super()',
    line: call?.getStartLineNumber() ?? ctx.cls.getStartLineNumber(),
    reason: `the parent ${ctx.parent.parent.className}'s constructor does not pass options to ${ctx.baseClass}: ${extra.join(', ')} (${extra.map((k) => args.get(k)).join('; ')}) cannot reach it; pass them by hand`,
  });
}

/**
 * `this.name` registered by a family subclass whose parent's migrated constructor hands its `name`
 * parameter to the base as the name option: the argument the subclass's super() gives there, or null.
 */
function handedName(ctx: TsRewriteContext, registered: string): string | null {
  const nameKey = ctx.ts.super_call.name_property;
  if (ctx.parent.kind !== 'family' || registered !== `this.${nameKey}` || ctx.members.has(nameKey)) return null;
  const handed = ctx.parent.parent.handed;
  const i = handed ? handed.params.indexOf(nameKey) : -1;
  if (i < 0 || handed!.options.get(i) !== nameKey) return null;
  const call = ctx.ctor?.getBody()?.getDescendantsOfKind(SyntaxKind.SuperKeyword).map((k) => k.getParent()).find((c) => Node.isCallExpression(c));
  const arg = call && Node.isCallExpression(call) ? call.getArguments()[i] : undefined;
  return arg && !Node.isSpreadElement(arg) ? arg.getText() : null;
}

/**
 * `super()` / `super({ captureRejections: true })` / `super(opts)` of the old parent becomes
 * `super({ name: ..., <the old object's own properties>, ... })`: an object literal's properties
 * are kept (EventEmitter options pass through the base), any other argument is spread first.
 * A base-to-base profile renames the old option keys to the new base's.
 */
function replaceSuperArguments(ctx: TsRewriteContext, call: CallExpression, args: Map<string, string>): void {
  const nameKey = ctx.ts.super_call.name_property;
  const rename = oldOptionKeys(ctx);
  const parts: string[] = [];
  const taken = new Set(args.keys());
  const own: string[] = [];
  const old = call.getArguments();
  for (const a of old) {
    const local = ctx.parent.kind === 'old-base' ? mergeLocal(ctx, call, a) : null;
    const merged = ctx.parent.kind === 'old-base' && Node.isObjectLiteralExpression(a) ? mergedOptions(ctx, a, rename, taken, local) : null;
    if (merged && local) {
      // The merge runs once, before super(), into a local both the options and the carried member read.
      const stmt = call.getParentOrThrow();
      ctx.edits.insert(stmt.getStart(), `const ${local} = ${a.getText()};\n${indentAt(ctx.text, stmt.getStart())}`);
      boundMerge(a, local);
    }
    if (merged) {
      own.push(...merged);
      continue;
    }
    if (Node.isObjectLiteralExpression(a)) {
      for (const p of a.getProperties()) {
        const key = Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p) ? p.getName() : null;
        const to = key ? rename[key] ?? key : null;
        if (to && taken.has(to)) continue;
        if (to) taken.add(to);
        if (key && to && to !== key) {
          const value = Node.isPropertyAssignment(p) ? p.getInitializerOrThrow().getText() : key;
          own.push(`${to}: ${value}`);
        } else own.push(p.getText());
      }
    } else if (ctx.parent.kind === 'old-base' && Node.isIdentifier(a)) {
      // The options object of the old base: its keys the profile maps, read from its type.
      const param = ctx.ctor?.getParameters().find((p) => p.getName() === a.getText());
      own.push(...mappedOptions(ctx, ctx.parent.old, a.getText(), param?.getTypeNode()?.getText() ?? null, taken));
    } else parts.push(`...${a.getText()}`);
  }
  const ours = [...args.entries()].map(([k, v]) => (k === nameKey ? `${nameKey}: ${v}` : v));
  const text = `{ ${[...parts, ...ours, ...own].join(', ')} }`;
  ctx.generated.push(text);
  const open = call.getFirstChildByKindOrThrow(SyntaxKind.OpenParenToken).getEnd();
  const close = call.getLastChildByKindOrThrow(SyntaxKind.CloseParenToken).getStart();
  ctx.edits.replace(open, close, text);
}

/**
 * `super({ interval: 2000, ...options })` to the old base: defaults merged with the caller's
 * options. Spread into the new base's options, the caller's keys would land there unmapped (its
 * `name` over the agent's, its `interval` never reaching intervalMs). Each key the profile maps
 * that the merged object can have is read from that object instead, so defaults and caller
 * win as they did (`intervalMs: ({ interval: 2000, ...options }).interval`); keys given here
 * already (the agent's name, a health port read from the same object) stay as given. Null when
 * the keys cannot be known (an open index type, `any`) or reading the object again would run
 * code (a call in it): the literal is then passed as it was.
 */
function mergedOptions(ctx: TsRewriteContext, obj: import('ts-morph').ObjectLiteralExpression, rename: Record<string, string>, taken: Set<string>, local: string | null): string[] | null {
  if (!obj.getProperties().some((p) => Node.isSpreadAssignment(p))) return null;
  if (!local && obj.getFirstDescendant((d) => Node.isCallExpression(d) || Node.isNewExpression(d) || Node.isTaggedTemplateExpression(d) || Node.isArrowFunction(d) || Node.isFunctionExpression(d))) return null;
  let keys: Set<string>;
  try {
    const t = obj.getType();
    if (t.isAny() || t.isUnknown() || t.getStringIndexType() || t.getNumberIndexType()) return null;
    keys = new Set(t.getProperties().map((s) => s.getName()));
  } catch {
    return null;
  }
  const text = local ?? `(${obj.getText()})`;
  const out: string[] = [];
  for (const [from, to] of Object.entries(rename)) {
    if (!keys.has(from) || taken.has(to)) continue;
    taken.add(to);
    out.push(`${to}: ${text}.${from}`);
  }
  return out;
}

/**
 * The value the constructor gives `this.<name>` when it is more than the parameter `p` itself
 * (`this.port = port || Number(process.env.PORT) || 7610`): that expression, with what the
 * constructor computed before inlined, or null when it is the parameter alone or cannot move.
 */
function widenedParameter(ctx: TsRewriteContext, p: ParameterDeclaration, names: string[]): string | null {
  const body = ctx.ctor?.getBody();
  if (!body || !Node.isBlock(body)) return null;
  for (const s of body.getStatements()) {
    if (!Node.isExpressionStatement(s)) continue;
    const e = s.getExpression();
    if (!Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const m = thisMember(e.getLeft());
    if (!m || !names.includes(m)) continue;
    const right = e.getRight();
    if (Node.isIdentifier(right)) return null;
    const sym = p.getNameNode().getSymbol();
    const readsParam = right.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id.getText() === p.getName() && id.getSymbol() === sym);
    if (!readsParam) return null;
    return ctx.constantValue(right);
  }
  return null;
}

/** Does the expression read a parameter of the constructor (or a name it destructures)? */
function readsCtorParameter(ctx: TsRewriteContext, value: Node): boolean {
  const params = ctorParameterNames(ctx);
  const ids = Node.isIdentifier(value) ? [value] : value.getDescendantsOfKind(SyntaxKind.Identifier);
  return ids.some((id) => params.has(id.getText()) && !(Node.isPropertyAccessExpression(id.getParent()!) && (id.getParent() as import('ts-morph').PropertyAccessExpression).getNameNode() === id));
}

/** The constructor's parameter names, destructured options included. */
function ctorParameterNames(ctx: TsRewriteContext): Set<string> {
  const params = new Set<string>();
  for (const p of ctx.ctor?.getParameters() ?? []) {
    const n = p.getNameNode();
    if (Node.isIdentifier(n)) params.add(n.getText());
    else for (const b of descendantsOfKind(n, SyntaxKind.BindingElement)) params.add(b.getName());
  }
  return params;
}

/** `opts.name`, `name`: a value (as text) read off a constructor parameter, not off a property named like one. */
export function textReadsCtorParameter(ctx: TsRewriteContext, text: string): boolean {
  const params = ctorParameterNames(ctx);
  const code = text.replace(/(['"`])(?:\\.|(?!\1)[^\\])*\1/g, '');
  return [...code.matchAll(/(?<![\w$.])[A-Za-z_$][\w$]*/g)].some((m) => params.has(m[0]));
}

/** `this.x = value;` statements at the top level of the constructor. */
function ctorAssignments(ctx: TsRewriteContext): Array<{ name: string; value: Node }> {
  const body = ctx.ctor?.getBody();
  if (!body || !Node.isBlock(body)) return [];
  const out: Array<{ name: string; value: Node }> = [];
  for (const s of body.getStatements()) {
    if (!Node.isExpressionStatement(s)) continue;
    const e = s.getExpression();
    if (!Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const name = thisMember(e.getLeft());
    if (name) out.push({ name, value: e.getRight() });
  }
  return out;
}

/**
 * A server the rewrite keeps (a raw TCP check answering "OK" for the load balancer, a second
 * listener of the agent's own) that listens on the very value about to go to the base as its
 * health port: the base would bind that port for /health before the kept server does, and the
 * kept one would die with EADDRINUSE at start (the validator, which sets HEALTH_CHECK_PORT,
 * would never see it). That value stays the kept server's; when the base's fallback (port + 1)
 * is provably the same port, where the base serves /health is a person's decision.
 */
function keptServerOnHealthPort(ctx: TsRewriteContext, args: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [key, entry] of [...args]) {
    if (!/health/i.test(key)) continue;
    const value = entry.startsWith(`${key}:`) ? entry.slice(key.length + 1).trim() : entry;
    const site = keptListenOn(ctx, value);
    if (!site) continue;
    args.delete(key);
    out.push(key);
    const { call: listen, holder } = site;
    const portEntry = args.get('port');
    const portValue = portEntry === undefined ? null : portEntry.startsWith('port:') ? portEntry.slice(5).trim() : portEntry;
    const port = portValue === null ? null : (literalDefault(ctx, portValue) ?? tsTextDefault(ctx, portValue));
    // Withheld, the value still reads the variable the base binds /health on (`this.healthPort =
    // Number(opts.healthPort || process.env.HEALTH_CHECK_PORT || 7421)`), which wins in the base
    // too: wherever it is set both bind it. The kept server moves off it, as a business one does,
    // onto its legacy default, which may still be the base's fallback (port + 1).
    const member = thisMember(site.arg) ?? (Node.isIdentifier(site.arg) ? site.arg.getText() : null);
    const off = { moved: null as number | null };
    const moved = !!member && keptPortOffBaseEnv(ctx, [member], false, off);
    const health = moved ? off.moved : literalDefault(ctx, value);
    if (moved && !(port !== null && health !== null && port + 1 === health)) continue;
    const arg = site.arg.getText();
    const on = arg === value ? value : `${arg} (${value})`;
    if (port !== null && health !== null && port + 1 === health) {
      ctx.kept.push({
        symbol: key,
        line: listen.getStartLineNumber(),
        reason: `${holder} (line ${listen.getStartLineNumber()}) stays and listens on ${on}, ${health}, which is also the base's fallback health port (port + 1 = ${port + 1}): give the base a port of its own for /health (super({ ${key} }) or HEALTH_CHECK_PORT where the agent is deployed), or both fail to bind one port`,
      });
    } else {
      ctx.warnings.push(`${key} is not passed to the base: ${holder} (line ${listen.getStartLineNumber()}) stays and still listens on ${on}`);
    }
  }
  return out;
}

/**
 * A server the rewrite keeps (a business API, a metrics listener) whose port by default (a literal,
 * a module constant, `Number(process.env.API_PORT ?? 7651)`) is the base's health port by default:
 * the port handed to super() as the health port, or, with none handed, the base's fallback, port + 1.
 * The validator always sets HEALTH_CHECK_PORT and AGENT_PORT, so the two never meet there; started
 * as its operators start it (no environment), the _v2 dies with EADDRINUSE. Numbers only: a clash
 * the code does not prove by its defaults is not claimed. Where /health goes is a person's decision.
 */
function keptServerOnDefaultHealthPort(ctx: TsRewriteContext, args: Map<string, string>): void {
  const valueOf = (key: string): number | null => {
    const entry = args.get(key);
    if (entry === undefined) return null;
    return tsTextDefault(ctx, entry.startsWith(`${key}:`) ? entry.slice(key.length + 1).trim() : entry);
  };
  const healthKey = Object.keys(ctx.ts.super_call.pass_through ?? {}).find((k) => /health/i.test(k)) ?? 'healthCheckPort';
  if (ctx.kept.some((k) => k.symbol === healthKey)) return; // said already (keptServerOnHealthPort)
  const given = args.has(healthKey);
  const port = valueOf('port');
  const health = given ? valueOf(healthKey) : port === null ? null : port + 1;
  if (health === null) return;
  for (const { call, arg, holder } of keptListenSites(ctx)) {
    if (tsPortDefault(ctx, arg) !== health) continue;
    const line = call.getStartLineNumber();
    const how = given ? `the ${healthKey} handed to the base (${args.get(healthKey)})` : `the base's fallback health port with no ${healthKey} handed to it (port + 1 = ${port} + 1)`;
    // With none handed, the agent had no health port to give: as the Python port plan says, the step is a
    // constructor parameter of the name the rewrite hands on as the health port (choosing its port is the fleet's call).
    const step = given
      ? `give the base a port of its own for /health (super({ ${healthKey} }) or ${ctx.healthPortEnv} where the agent is deployed), or move ${holder} off it`
      : `${ctx.className} had no health port to give the base: give its constructor a ${healthKey} parameter defaulting to a port free in the fleet (\`${healthKey} = <port>\`; the rewrite hands it to super() as ${healthKey}), then run again, or move ${holder} off ${health}`;
    ctx.kept.push({
      symbol: healthKey,
      line,
      reason: `${holder}.listen(${arg.getText()}) (line ${line}) stays and listens on ${health} by default, which is also ${how}: started with no ${ctx.healthPortEnv} (as in production) both bind ${health} and the agent dies with EADDRINUSE; ${step}`,
    });
    return;
  }
}

/** A `.listen(x, ...)` call left in the class whose port is `value` (directly, or through the field the constructor set from it). */
function keptListenOn(ctx: TsRewriteContext, value: string): ListenSite | null {
  const assigned = new Map(ctorAssignments(ctx).map((a) => [a.name, a.value.getText()]));
  for (const site of keptListenSites(ctx)) {
    const arg = site.arg;
    const texts = [arg.getText()];
    const member = thisMember(arg);
    if (member) {
      const v = assigned.get(member);
      if (v) texts.push(v);
      const m = ctx.members.get(member);
      if (m?.kind === 'parameter-property') texts.push(member);
    }
    if (texts.includes(value)) return site;
  }
  return null;
}

/** The class's listen() calls and port-taking helper calls (listen-sites.ts) that the rewrite keeps. */
function keptListenSites(ctx: TsRewriteContext): ListenSite[] {
  return listenSites(ctx.cls, ctx.root, ctx.file, (call) => ctx.edits.removes(call.getStart(), call.getEnd()));
}

/**
 * The kept status server's port read from the very variable the base binds its /health on
 * (`healthPort = Number(process.env.HEALTH_CHECK_PORT ?? 7311)`, or that value handed in by the
 * same file's `new Agent(Number(process.env.HEALTH_CHECK_PORT) || 7311)`): wherever that variable
 * is set, in production as under the validator, the base and the kept server bind one port and
 * the agent dies with EADDRINUSE at start. The kept server moves off it, onto its legacy
 * default (the whole value becomes that literal), and where its clients now find it is a
 * review item; with no literal default to move to, the clash itself is the review item.
 * `ownField`: the value is about to stay in a field of its own (a kept server's port passed as
 * another base setting, `port`), so only a value a kept listen() reads is moved, and the listen()
 * itself is left to read that field.
 */
function keptPortOffBaseEnv(ctx: TsRewriteContext, names: string[], ownField = false, out?: { moved: number | null }): boolean {
  const env = ctx.healthPortEnv;
  const param = (ctx.ctor?.getParameters() ?? []).find((p) => names.includes(p.getName()));
  const member = names.map((n) => ctx.members.get(n)).find((m) => m?.kind === 'property');
  const decl = member?.nodes[0];
  const init = param?.getInitializer() ?? (decl && Node.isPropertyDeclaration(decl) ? decl.getInitializer() : undefined);
  const assigned = init ? null : ctorAssignments(ctx).find((a) => names.includes(a.name));
  const own = init ?? assigned?.value;
  // The parameter (or destructured option) the port comes from, as the callers in this file fill it.
  const local = param?.getName() ?? (own && Node.isIdentifier(own) ? own.getText() : null);
  const values = [own, ...(local ? [destructuredDefault(ctx, local), ...passedByCallers(ctx, local)] : [])].filter((v): v is Node => !!v && !!envRead(v, env));
  if (values.length === 0) return false;
  const name = param?.getName() ?? member?.name ?? assigned?.name ?? local!;
  const listen = keptListenOn(ctx, name) ?? keptListenOn(ctx, `this.${name}`);
  if (ownField && !listen) return false;
  const holder = listen?.holder ?? 'the kept status server';
  let moved: number | null = null;
  for (const value of values) moved = moveOffBaseEnv(ctx, value, name, holder, !!listen) ?? moved;
  if (out) out.moved = moved;
  if (moved === null || ownField) return true;
  // `listen(this.healthCheckPort)` where the base owns healthCheckPort: the agent no longer stores
  // its own (the parameter property became a plain parameter), so `this.healthCheckPort` is now
  // the base's port. The kept server is given the literal itself.
  const arg = listen?.arg;
  if (arg && thisMember(arg) === name && ctx.base.members.has(name) && !ctx.edits.rewrites(arg.getStart(), arg.getEnd())) ctx.edits.replace(arg.getStart(), arg.getEnd(), String(moved));
  return true;
}

/**
 * A module constant a kept listen() binds (`const HEALTH_PORT = Number(process.env.HEALTH_CHECK_PORT
 * || 7341)`) read from the variable the base binds /health on: the same clash as a field's, the
 * same move onto the legacy default. Exported, its other readers are in other files, which the
 * rewrite does not edit: the clash is then the review item.
 */
function keptConstOffBaseEnv(ctx: TsRewriteContext): void {
  const seen = new Set<Node>();
  for (const { arg, holder } of keptListenSites(ctx)) {
    if (!Node.isIdentifier(arg)) continue;
    const decl = arg.getSymbol()?.getDeclarations()[0];
    if (!decl || !Node.isVariableDeclaration(decl) || seen.has(decl)) continue;
    const stmt = decl.getVariableStatement();
    if (!stmt || !Node.isSourceFile(stmt.getParent()) || stmt.getDeclarationKind() !== 'const') continue;
    const init = decl.getInitializer();
    if (!init || !envRead(init, ctx.healthPortEnv)) continue;
    seen.add(decl);
    if (stmt.isExported()) {
      ctx.kept.push({ symbol: decl.getName(), line: decl.getStartLineNumber(), reason: `${holder} stays and listens on ${decl.getName()} (${init.getText()}), the ${ctx.healthPortEnv} the base now binds for /health: both bind one port at start (EADDRINUSE); ${decl.getName()} is exported, so other files may read it: give ${holder} a port of its own, or serve its routes from the base` });
      continue;
    }
    moveOffBaseEnv(ctx, init, decl.getName(), holder);
  }
}

/**
 * A kept listen() whose port is a property of a config object (`listen(this.opts.healthPort)`,
 * `this.opts` the constructor's `opts`, which this file fills with a module-level `settings = {
 * healthPort: Number(process.env.HEALTH_CHECK_PORT ?? 7571) }`): the same clash as a field's. A
 * module object literal's property moves onto its legacy default like a constant does; a config
 * whose property is only a default handed to a loader (`await loadConfig('x', { healthPort: ... })`)
 * cannot be computed here, and the output could only die with EADDRINUSE: the agent is set
 * aside (needs-review, no _v2) naming the clash and the step.
 */
function keptConfigPortOffBaseEnv(ctx: TsRewriteContext, own: string): boolean {
  const site = keptListenOn(ctx, own);
  const listen = site?.call;
  const arg = site?.arg;
  if (!site || !listen || !arg || !Node.isPropertyAccessExpression(arg)) return false;
  const prop = arg.getName();
  const holder = site.holder;
  let moved = false;
  const sources = configSources(ctx, arg.getExpression());
  for (const source of sources) {
    const decl = Node.isIdentifier(source) ? source.getSymbol()?.getDeclarations()[0] : undefined;
    const stmt = decl && Node.isVariableDeclaration(decl) ? decl.getVariableStatement() : undefined;
    const moduleConst = !!stmt && Node.isSourceFile(stmt.getParent()) && stmt.getDeclarationKind() === 'const';
    const given = moduleConst && Node.isVariableDeclaration(decl) ? decl.getInitializer() : Node.isObjectLiteralExpression(source) ? source : undefined;
    // Another file's constructor call handing in what the rewrite cannot read (no constant, no
    // literal): its port may be HEALTH_CHECK_PORT, and a _v2 whose two servers may bind one port is
    // not written.
    const elsewhere = source.getSourceFile() !== ctx.sf;
    if (!given && !elsewhere) continue;
    const init = given ? frozenLiteral(loaderResult(frozenLiteral(given))) : source;
    const value = propertyValue(init, prop);
    const unknown = elsewhere && (!value || !Node.isObjectLiteralExpression(init));
    if (!unknown && (!value || !envRead(value, ctx.healthPortEnv))) continue;
    const name = moduleConst && Node.isVariableDeclaration(decl) ? `${decl.getName()}.${prop}` : prop;
    if (!elsewhere && Node.isObjectLiteralExpression(init) && init.getSourceFile() === ctx.sf && (!stmt?.isExported() || onlyHandedToAgent(ctx, decl!))) {
      moved = moveOffBaseEnv(ctx, value!, name, holder) !== null || moved;
      continue;
    }
    // Set in another file (a loader imported from ./config returning `healthPort: Number(process.env.
    // HEALTH_CHECK_PORT ?? 7421)`), read but never edited: the kept server's own listen() here takes
    // the legacy default instead, when every source gives that one (the others reading the config,
    // a registration's health_check_port, now name the base's health port, which is where /health is).
    const other = !unknown && value && init.getSourceFile() !== ctx.sf ? envDefault(value, ctx.healthPortEnv) : null;
    if (other !== null && sources.length === 1) {
      const file = `${path.relative(ctx.root, init.getSourceFile().getFilePath())}:${value!.getStartLineNumber()}`;
      ctx.edits.replace(arg.getStart(), arg.getEnd(), String(other));
      ctx.kept.push({
        symbol: name,
        line: listen.getStartLineNumber(),
        reason:
          `${holder} stays and listened on ${arg.getText()} = ${value!.getText()} (set in ${file}, which the rewrite does not edit), the ${ctx.healthPortEnv} the base now binds for /health: ` +
          `its listen() (line ${listen.getStartLineNumber()}) now takes ${other}, that setting's legacy default, so the two do not bind one port; clients that read its other routes on ${ctx.healthPortEnv} must move to ${other} (or those routes move into the base), and ${ctx.healthPortEnv} must not be set to ${other}`,
      });
      moved = true;
      continue;
    }
    const where = `${path.relative(ctx.root, source.getSourceFile().getFilePath())}:${source.getStartLineNumber()}`;
    const why = unknown
      ? `the constructor is given ${source.getText()} at ${where}, whose ${prop} the rewrite cannot read, so it may be that variable`
      : elsewhere || init.getSourceFile() !== ctx.sf
        ? `${name} is set in another file (${path.relative(ctx.root, init.getSourceFile().getFilePath())}:${value!.getStartLineNumber()}: ${value!.getText()}), which the rewrite does not edit`
        : stmt?.isExported()
          ? `${name} is exported, so other files may read it`
          : `${name} comes through ${init.getText().split('(')[0]!.replace(/^await\s+/, '')}(), whose result cannot be computed before the agent runs`;
    ctx.kept.push({
      symbol: name,
      line: listen.getStartLineNumber(),
      reason: `${holder}.listen(${arg.getText()}) (line ${listen.getStartLineNumber()}) stays and listens on ${name} (${value?.getText() ?? 'unknown'}), the ${ctx.healthPortEnv} the base now binds for /health: both bind one port at start (EADDRINUSE); ${why}: give ${holder} a port of its own (not ${ctx.healthPortEnv}), or serve its routes from the base`,
    });
    ctx.unstartable ??= { ...ctx.kept[ctx.kept.length - 1]!, because: `${holder} (line ${listen.getStartLineNumber()}) and the base would both bind ${ctx.healthPortEnv} (${name}) at start, EADDRINUSE` };
    moved = true;
  }
  return moved;
}

/**
 * Other files name the exported `decl` (`CONFIG`) only where they import it and where they hand it
 * to `new Agent(...)`: its property then reaches no reader but the agent, which the move keeps
 * consistent (the _v2 module replaces the legacy one those files import).
 */
function onlyHandedToAgent(ctx: TsRewriteContext, decl: Node): boolean {
  if (!Node.isVariableDeclaration(decl)) return false;
  const uses = ctx.moduleImporters(decl.getName());
  return uses.length > 0 && uses.every((u) => /^import\b/.test(u.text) || /^\}\s*from\b/.test(u.text) || new RegExp(`\\bnew\\s+${ctx.className}\\s*\\(`).test(u.text));
}

/**
 * The values this file gives a config object's member (`this.cfg.registryUrl`): its property in
 * each object literal the holder is set from (a loader's defaults included). Empty when any
 * source gives none the rewrite can read.
 */
export function configMemberValues(ctx: TsRewriteContext, access: import('ts-morph').PropertyAccessExpression): Node[] {
  const values: Node[] = [];
  const sources = configSources(ctx, access.getExpression());
  for (const source of sources) {
    const decl = Node.isIdentifier(source) ? source.getSymbol()?.getDeclarations()[0] : undefined;
    const given = decl && Node.isVariableDeclaration(decl) ? decl.getInitializer() : Node.isObjectLiteralExpression(source) ? source : undefined;
    const value = given && propertyValue(frozenLiteral(given), access.getName());
    if (!value) return [];
    values.push(value);
  }
  return values;
}

/** What a config holder (`this.opts`, `opts`, `settings`) is set from: the callers' arguments for a constructor parameter, else itself. */
function configSources(ctx: TsRewriteContext, holder: Node): Node[] {
  const member = thisMember(holder);
  let local = Node.isIdentifier(holder) ? holder.getText() : null;
  if (member) {
    const assigned = ctorAssignments(ctx).find((a) => a.name === member)?.value;
    local = assigned && Node.isIdentifier(assigned) ? assigned.getText() : ctx.members.get(member)?.kind === 'parameter-property' ? member : null;
  }
  if (!local) return [];
  const params = ctx.ctor?.getParameters() ?? [];
  const at = params.findIndex((p) => p.getName() === local);
  if (at < 0) return Node.isIdentifier(holder) ? [holder] : [];
  // One constant handed in by this file and by main.ts is one source (its value moved once).
  const seen = new Set<Node>();
  return [...passedByCallers(ctx, local), ...passedFromOtherFiles(ctx, at)].filter((n) => {
    const key = (Node.isIdentifier(n) ? n.getSymbol()?.getDeclarations()[0] : undefined) ?? n;
    return !seen.has(key) && !!seen.add(key);
  });
}

/**
 * What other files' `new Agent(...)` pass for the constructor's parameter at `index` (main.ts's
 * `new ReportGateway(CONFIG, registry)`): a constant of the agent's own module as this file's node
 * (its value can be edited here), another file's constant or literal as that file's node (read,
 * never edited), and any other argument as itself (its value unknown).
 */
function passedFromOtherFiles(ctx: TsRewriteContext, index: number): Node[] {
  const out: Node[] = [];
  for (const c of outsideConstructorArgs(ctx.root, ctx.file, ctx.text, ctx.className, index)) {
    const name = c.decl && Node.isVariableDeclaration(c.decl) ? c.decl.getNameNode() : null;
    if (name && c.inAgent) {
      const here = ctx.sf.getDescendantAtStartWithWidth(name.getStart(), name.getWidth());
      out.push(here && Node.isIdentifier(here) ? here : c.arg);
    } else out.push(name && Node.isIdentifier(name) ? name : c.arg);
  }
  return out;
}

/**
 * `loadConfig()` whose function (this file's or imported) returns one value: that value
 * (`Object.freeze({ healthPort: Number(process.env.HEALTH_CHECK_PORT ?? 8080), ... })`), so a
 * config built by a loader is read like a literal one. Anything else stays as given.
 */
function loaderResult(given: Node): Node {
  // A loader handed defaults (`readSettings(name, { ... })`) may return others: not followed.
  if (!Node.isCallExpression(given) || !Node.isIdentifier(given.getExpression()) || given.getArguments().length > 0) return given;
  let sym = given.getExpression().getSymbol();
  if (sym?.isAlias()) sym = sym.getAliasedSymbol() ?? sym;
  let fn = sym?.getDeclarations()[0];
  if (fn && Node.isVariableDeclaration(fn)) fn = fn.getInitializer();
  if (!fn || !(Node.isFunctionDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) return given;
  const body = fn.getBody();
  if (!body) return given;
  if (!Node.isBlock(body)) return Node.isObjectLiteralExpression(frozenLiteral(body)) ? body : given;
  const returns = descendantsOfKind(body, SyntaxKind.ReturnStatement).filter(
    (r) => r.getFirstAncestor((a) => Node.isFunctionDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isMethodDeclaration(a)) === fn,
  );
  const value = returns.length === 1 ? returns[0]!.getExpression() : undefined;
  return value && Node.isObjectLiteralExpression(frozenLiteral(value)) ? value : given;
}

/**
 * `Object.freeze({ ... })`, `{ ... } as const`, `{ ... } satisfies T`: the object literal itself (a
 * frozen config holds the same values). Before, a frozen module config counted as a loader's
 * result that cannot be computed, and the agent was set aside with no _v2.
 */
function frozenLiteral(init: Node): Node {
  let e = init;
  for (;;) {
    if (Node.isParenthesizedExpression(e) || Node.isAsExpression(e) || Node.isSatisfiesExpression(e)) e = e.getExpression();
    else if (Node.isCallExpression(e) && e.getExpression().getText() === 'Object.freeze' && e.getArguments().length === 1) e = e.getArguments()[0]!;
    else return e;
  }
}

/** The value of property `prop` in `init`'s object literal, or in an object literal among its call arguments (a loader's defaults). */
function propertyValue(init: Node, prop: string): Node | undefined {
  const objects = Node.isObjectLiteralExpression(init) ? [init] : init.getDescendantsOfKind(SyntaxKind.ObjectLiteralExpression);
  for (const o of objects) {
    const p = o.getProperty(prop);
    if (p && Node.isPropertyAssignment(p) && p.getInitializer()) return p.getInitializer();
  }
  return undefined;
}

/** `process.env.HEALTH_CHECK_PORT` (or `process.env['HEALTH_CHECK_PORT']`) read in `value`. */
function envRead(value: Node, env: string): Node | undefined {
  return [value, ...value.getDescendants()].find((n) => envName(n) === env);
}

/**
 * `value` (which reads the base's health variable) becomes its legacy default, the literal of
 * `X ?? 7311` / `X || 7311`, and the move is a review item; with none, the clash is, and when a
 * kept listen() binds it (`bound`) the agent is set aside as unstartable. Returns the literal,
 * null when there is none.
 */
function moveOffBaseEnv(ctx: TsRewriteContext, value: Node, name: string, holder: string, bound = true): number | null {
  const env = ctx.healthPortEnv;
  const read = envRead(value, env)!;
  const isFallback = (a: Node): a is import('ts-morph').BinaryExpression =>
    Node.isBinaryExpression(a) && [SyntaxKind.QuestionQuestionToken, SyntaxKind.BarBarToken].includes(a.getOperatorToken().getKind()) && a.getStart() >= value.getStart();
  const near = read.getAncestors().find(isFallback);
  // `options.port ?? X ?? 7690` parses as `(options.port ?? X) ?? 7690`: the nearest fallback's
  // right is X itself, and the literal is the next one's.
  const before = near && near.getRight() === read ? near : undefined;
  const outer = before?.getParent();
  const fallback = near && portLiteral(near.getRight()) !== null ? near : outer && isFallback(outer) && outer.getLeft() === before ? outer : undefined;
  const literal = fallback ? portLiteral(fallback.getRight()) : null;
  const line = value.getStartLineNumber();
  if (literal === null) {
    ctx.kept.push({ symbol: name, line, reason: `${holder} stays and listens on ${name} (${value.getText()}), the ${env} the base now binds for /health: both bind one port at start (EADDRINUSE); give ${holder} a port of its own, or serve its routes from the base` });
    // A kept listen() reads it (`Number(process.env.HEALTH_CHECK_PORT ?? this.port + 1)`): with no
    // literal to move onto, wherever the variable is set (the validator always sets it) both bind
    // it, and its fallback may be the base's own (port + 1): a _v2 that can only die with
    // EADDRINUSE is not written.
    if (bound) ctx.unstartable ??= { ...ctx.kept[ctx.kept.length - 1]!, because: `${holder} and the base would both bind ${env} (${name}) at start, EADDRINUSE: ${value.getText()} has no port of its own to move ${holder} onto` };
    return null;
  }
  // A value given before the variable (the caller's `options.port`) still wins: only the variable
  // leaves the chain, which then reads `options.port ?? 7690`.
  if (before && fallback !== near) {
    ctx.edits.replace(before.getStart(), before.getEnd(), before.getLeft().getText());
    const now = value.getText().replace(before.getText(), before.getLeft().getText());
    ctx.kept.push({ symbol: name, line, reason: `${holder} stays and listened on ${name} = ${value.getText()}, the ${env} the base now binds for /health: it now listens on ${now} (${literal}, its legacy default, unless given a port), so the two do not bind one port; clients that read its other routes on ${env} must move to ${literal} (or those routes move into the base), and ${env} must not be set to ${literal}` });
    return literal;
  }
  ctx.edits.replace(value.getStart(), value.getEnd(), String(literal));
  ctx.kept.push({ symbol: name, line, reason: `${holder} stays and listened on ${name} = ${value.getText()}, the ${env} the base now binds for /health: it now listens on ${literal}, its legacy default, so the two do not bind one port; clients that read its other routes on ${env} must move to ${literal} (or those routes move into the base), and ${env} must not be set to ${literal}` });
  return literal;
}

/** `Number(process.env.HEALTH_CHECK_PORT ?? 7421)`: the literal the variable falls back to, or null (another shape). */
function envDefault(value: Node, env: string): number | null {
  const read = envRead(value, env);
  const near = read?.getParent();
  if (!read || !near || !Node.isBinaryExpression(near) || near.getLeft() !== read) return null;
  if (![SyntaxKind.QuestionQuestionToken, SyntaxKind.BarBarToken].includes(near.getOperatorToken().getKind())) return null;
  // Nothing else around it but a number conversion.
  if (near !== value && !(Node.isCallExpression(value) && value.getExpression().getText() === 'Number' && value.getArguments()[0] === near)) return null;
  return portLiteral(near.getRight());
}

/** 7311 or '7311': a port given as a literal. */
function portLiteral(n: Node): number | null {
  return (Node.isNumericLiteral(n) || Node.isStringLiteral(n)) && /^\d+$/.test(n.getLiteralText()) ? Number(n.getLiteralText()) : null;
}

/** What this file's `new Class(...)` calls pass for the constructor parameter (or destructured option) `local`. */
function passedByCallers(ctx: TsRewriteContext, local: string): Node[] {
  const params = ctx.ctor?.getParameters() ?? [];
  let key = local;
  const i = params.findIndex((p) => {
    const n = p.getNameNode();
    if (Node.isIdentifier(n)) return n.getText() === local;
    const b = descendantsOfKind(n, SyntaxKind.BindingElement).find((x) => x.getName() === local);
    if (b) key = b.getPropertyNameNode()?.getText() ?? local;
    return !!b;
  });
  if (i < 0) return [];
  const plain = Node.isIdentifier(params[i]!.getNameNode());
  const out: Node[] = [];
  for (const e of descendantsOfKind(ctx.sf, SyntaxKind.NewExpression)) {
    if (e.getExpression().getText() !== ctx.className || ctx.edits.removes(e.getStart(), e.getEnd())) continue;
    const arg = e.getArguments()[i];
    if (!arg) continue;
    if (plain) out.push(arg);
    else if (Node.isObjectLiteralExpression(arg)) {
      const prop = arg.getProperty(key);
      if (prop && Node.isPropertyAssignment(prop) && prop.getInitializer()) out.push(prop.getInitializer()!);
    }
  }
  return out;
}

/**
 * The default of the constructor's destructured option `local` (`{ healthPort =
 * Number(process.env.HEALTH_CHECK_PORT || 7661) } = {}`, then `this.healthPort = healthPort`): where the
 * port comes from when no caller of this file gives it.
 */
function destructuredDefault(ctx: TsRewriteContext, local: string): Node | undefined {
  for (const p of ctx.ctor?.getParameters() ?? []) {
    const n = p.getNameNode();
    if (Node.isIdentifier(n)) continue;
    const b = descendantsOfKind(n, SyntaxKind.BindingElement).find((x) => x.getName() === local);
    if (b) return b.getInitializer();
  }
  return undefined;
}

/** A port given as a number literal, or as a constructor parameter (or destructured option) whose default is one. */
function literalDefault(ctx: TsRewriteContext, text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^[A-Za-z_$][\w$]*$/.test(text)) return null;
  for (const p of ctx.ctor?.getParameters() ?? []) {
    const n = p.getNameNode();
    const decls: Array<{ name: string; init: Node | undefined }> = Node.isIdentifier(n)
      ? [{ name: n.getText(), init: p.getInitializer() }]
      : descendantsOfKind(n, SyntaxKind.BindingElement).map((b) => ({ name: b.getName(), init: b.getInitializer() }));
    const d = decls.find((x) => x.name === text);
    if (!d) continue;
    return d.init && Node.isNumericLiteral(d.init) ? Number(d.init.getLiteralValue()) : null;
  }
  return null;
}

/** A base-owned member's legacy value (`private port = 7100` or `this.port = 7100` in the constructor). */
/**
 * The agent's own health port, as the code names it: a constructor parameter or a member of one
 * of the pass-through names (`healthPort`), or a property of that name read off another object
 * (`this.cfg.healthPort`, `options.healthPort`). Null when the agent has none.
 */
function healthPortIn(ctx: TsRewriteContext, names: string[]): string | null {
  const ctorParams = ctx.ctor ? ctx.ctor.getParameters() : [];
  const param = ctorParams.find((x) => names.includes(x.getName()));
  if (param) return param.getName();
  for (const n of names) if (ctx.members.has(n)) return `this.${n}`;
  const read = descendantsOfKind(ctx.cls, SyntaxKind.PropertyAccessExpression).find((a) => names.includes(a.getName()));
  return read ? read.getText() : null;
}

function ownedValue(ctx: TsRewriteContext, name: string): string | null {
  const m = ctx.members.get(name);
  if (m?.kind === 'property') {
    const d = m.nodes[0]!;
    const init = Node.isPropertyDeclaration(d) ? d.getInitializer() : undefined;
    if (init) return ctx.constantValue(init);
  }
  const body = ctx.ctor?.getBody();
  if (body && Node.isBlock(body)) {
    for (const s of body.getStatements()) {
      if (!Node.isExpressionStatement(s)) continue;
      const e = s.getExpression();
      if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken && thisMember(e.getLeft()) === name) {
        return ctx.constantValue(e.getRight());
      }
    }
  }
  return null;
}

export function stripModifiers(ctx: TsRewriteContext, p: ParameterDeclaration, name: string): void {
  const mods = p.getModifiers();
  if (mods.length === 0) return;
  ctx.edits.replace(mods[0]!.getStart(), p.getNameNode().getStart(), '');
  if (!ctx.removedExtra.includes(name)) ctx.removedExtra.push(name);
}

/** Does one of the declarations call super.<name>() (a deliberate override of an older base's method)? */
function callsSuper(decls: Node[], name: string): boolean {
  return decls.some((d) =>
    descendantsOfKind(d, SyntaxKind.PropertyAccessExpression).some((p) => p.getName() === name && p.getExpression().getKind() === SyntaxKind.SuperKeyword),
  );
}

/** Is `.name` read anywhere in the file other than as this.name inside the class (`agent.name()`, `obj['name']`)? */
function usedOffThis(ctx: TsRewriteContext, name: string): boolean {
  const inClass = (n: Node) => ctx.cls.getPos() <= n.getPos() && n.getEnd() <= ctx.cls.getEnd();
  return descendantsOfKind(ctx.sf, SyntaxKind.PropertyAccessExpression).some((p) => p.getName() === name && !(inClass(p) && thisMember(p) === name)) ||
    descendantsOfKind(ctx.sf, SyntaxKind.ElementAccessExpression).some((e) => /^['"`]/.test(e.getArgumentExpression()?.getText() ?? '') && e.getArgumentExpression()!.getText().slice(1, -1) === name);
}

/** Rename an agent property that clashes with a base member: its declaration and every this.x / this['x']. */
function renameProperty(ctx: TsRewriteContext, name: string, decls: Node[]): void {
  let to = `legacy${name[0]!.toUpperCase()}${name.slice(1)}`;
  while (ctx.members.has(to) || ctx.base.members.has(to)) to = `_${to}`;
  for (const d of decls) {
    if (Node.isParameterDeclaration(d)) {
      // The parameter is also a local of the constructor: rename its uses there too.
      const sym = d.getNameNode().getSymbol();
      ctx.ctor?.getBody()?.forEachDescendant((n) => {
        if (Node.isIdentifier(n) && n.getText() === name && n.getSymbol() === sym) {
          const p = n.getParent();
          if (p && Node.isShorthandPropertyAssignment(p)) ctx.edits.replace(n.getStart(), n.getEnd(), `${name}: ${to}`);
          else ctx.edits.replace(n.getStart(), n.getEnd(), to);
        }
      });
    }
    // A JavaScript field is declared by its `this.x = ...` in the constructor: the this.x
    // accesses below rename it.
    if (Node.isExpressionStatement(d)) continue;
    const nameNode = (d as unknown as { getNameNode(): Node }).getNameNode();
    ctx.edits.replace(nameNode.getStart(), nameNode.getEnd(), to);
  }
  renameThisAccesses(ctx, name, to);
  ctx.warnings.push(`${name} renamed to ${to}: ${ctx.baseClass} owns ${name}`);
}

/**
 * `this.<name>` read by code the rewrite keeps in place or writes (not the constructor's own
 * `this.<name> = ...`, which goes with a member of the same concept).
 */
function keptReads(ctx: TsRewriteContext, name: string): boolean {
  const inPlace = descendantsOfKind(ctx.cls, SyntaxKind.PropertyAccessExpression).some((p) => {
    if (thisMember(p) !== name || ctx.edits.removes(p.getStart(), p.getEnd())) return false;
    const parent = p.getParent();
    const assigned = Node.isBinaryExpression(parent) && parent.getLeft() === p && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken;
    return !(assigned && p.getFirstAncestor((a) => Node.isConstructorDeclaration(a)));
  });
  const read = new RegExp(`\\bthis\\.${name.replace(/\$/g, '\\$')}(?![\\w$])`);
  return inPlace || ctx.newMembers.some((m) => read.test(m.text));
}

/**
 * The legacy port kept under a name of its own (`legacyHealthCheckPort`): the kept server and its
 * other readers go on reading the value the legacy class computed, while the base's member of that
 * name is the base's /health port. What this transform already said about `this.<name>` now names
 * the renamed field; other files reading it get the base's port, which a person must check.
 */
function keepOwnPort(ctx: TsRewriteContext, name: string, decls: Node[], said: { kept: number; warnings: number }): void {
  renameProperty(ctx, name, decls);
  const to = ctx.renames.get(name)!;
  const read = new RegExp(`\\bthis\\.${name.replace(/\$/g, '\\$')}(?![\\w$])`, 'g');
  for (const k of ctx.kept.slice(said.kept)) k.reason = k.reason.replace(read, `this.${to}`);
  for (let i = said.warnings; i < ctx.warnings.length; i++) ctx.warnings[i] = ctx.warnings[i]!.replace(read, `this.${to}`);
  const last = ctx.warnings.length - 1;
  ctx.warnings[last] = `${name} renamed to ${to}: the kept server's port is not the base's ${name}${/health/i.test(name) ? ' (its /health port)' : ''}, so the two do not bind one port`;
  // Code of the same file outside the class (the entry point's `indexer.healthCheckPort`) meant the
  // kept server's port too: it reads the renamed field.
  let outside = 0;
  for (const p of descendantsOfKind(ctx.sf, SyntaxKind.PropertyAccessExpression)) {
    if (p.getName() !== name || ctx.cls.containsRange(p.getPos(), p.getEnd()) || ctx.edits.removes(p.getStart(), p.getEnd())) continue;
    let owner: string | undefined;
    try {
      owner = p.getExpression().getType().getSymbol()?.getName();
    } catch {
      owner = undefined;
    }
    if (owner === ctx.className) ctx.edits.replace(p.getNameNode().getStart(), p.getNameNode().getEnd(), to);
    outside++;
  }
  const callers = ctx.outsideCallers(name);
  const decl = decls.find((d) => Node.isPropertyDeclaration(d));
  // Nothing outside the class reads it: a private field, so no other code takes it for the base's.
  // (Read by module code, it stays as visible as it was.)
  if (callers.length === 0 && outside === 0 && !ctx.js && decl && Node.isPropertyDeclaration(decl) && !decl.hasScopeKeyword()) {
    const first = decl.getModifiers()[0] ?? decl.getNameNode();
    ctx.edits.insert(first.getStart(), 'private ');
  }
  if (callers.length > 0) {
    ctx.kept.push({
      symbol: name,
      line: decls[0]!.getStartLineNumber(),
      reason: `${name} is read from ${callerList(callers)}: it held the kept server's port, which is now ${to}; there ${name} is the base's /health port: point each reader at the port it means`,
    });
  }
}

/** Does the legacy member hold the same kind of value as the base's (a Date start time does not)? */
function compatibleType(name: string, nameKey: string, decl: Node): boolean {
  const want = name === nameKey ? 'string' : name === 'registered' ? 'boolean' : 'number';
  let text: string;
  try {
    // A type the declaration states outright (a keyword annotation, a literal value) needs no
    // type checker: building one per file was the most of a rewrite's checker time.
    text = statedType(decl) ?? decl.getType().getText();
  } catch {
    return true;
  }
  if (text === 'any' || text === 'unknown') return true;
  const parts = text.split('|').map((t) => t.trim()).filter((t) => t !== 'undefined' && t !== 'null');
  const ok = (t: string) =>
    want === 'number' ? t === 'number' || /^-?\d/.test(t) : want === 'string' ? t === 'string' || /^["'`]/.test(t) : t === 'boolean' || t === 'true' || t === 'false';
  return parts.length > 0 && parts.every(ok);
}

/**
 * `port + 1` (or `this.port + 1`), port one of the names the agent's port passes through under:
 * the base's own default health port is its port + 1, so it lands where it listened.
 */
function basePlusOne(expr: Node, portNames: string[]): boolean {
  if (!Node.isBinaryExpression(expr) || expr.getOperatorToken().getKind() !== SyntaxKind.PlusToken || expr.getRight().getText() !== '1') return false;
  const left = expr.getLeft();
  const name = Node.isIdentifier(left) ? left.getText() : thisMember(left);
  return !!name && portNames.includes(name);
}

/**
 * The primitive type of a TypeScript field or parameter when its text alone says it: a
 * `number` / `string` / `boolean` annotation, or no annotation and a literal value (or a
 * module constant of a literal value, no function or class of the file declaring the name
 * again). The checker would answer that type or its literal (`8309`, `'x'`), which
 * compatibleType judges alike; anything else (JavaScript with its JSDoc types, any other
 * expression) is left to the checker.
 */
function statedType(decl: Node): string | undefined {
  if (!Node.isPropertyDeclaration(decl) && !Node.isParameterDeclaration(decl)) return undefined;
  const sf = decl.getSourceFile();
  if (isJsFile(sf.getFilePath())) return undefined;
  const c = decl.compilerNode;
  if (c.type) return KEYWORD_TYPES.get(c.type.kind);
  if (!c.initializer || (ts.isParameter(c) && c.dotDotDotToken)) return undefined;
  const literal = literalType(c.initializer);
  if (literal || !ts.isIdentifier(c.initializer)) return literal;
  // A name: the module's one top-level declaration of it, `const X = <literal>`, when nothing
  // nearer (a parameter, a local, a member of a function or class) can be what it means.
  const name = c.initializer.text;
  const file = sf.compilerNode;
  if (!ts.isExternalModule(file) || namesDeclaredInFunctions(sf).has(name)) return undefined;
  const found = topLevelDeclarations(file, name);
  if (found.length !== 1) return undefined;
  const d = found[0]!;
  const list = d.parent;
  if (!ts.isVariableDeclaration(d) || d.type || !d.initializer || !ts.isVariableDeclarationList(list) || !(list.flags & ts.NodeFlags.Const)) return undefined;
  if (ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Ambient) return undefined;
  return literalType(d.initializer);
}

const KEYWORD_TYPES = new Map<ts.SyntaxKind, string>([
  [ts.SyntaxKind.NumberKeyword, 'number'],
  [ts.SyntaxKind.StringKeyword, 'string'],
  [ts.SyntaxKind.BooleanKeyword, 'boolean'],
]);

function literalType(e: ts.Expression): string | undefined {
  if (ts.isNumericLiteral(e)) return 'number';
  if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(e.operand)) return 'number';
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return 'string';
  if (e.kind === ts.SyntaxKind.TrueKeyword || e.kind === ts.SyntaxKind.FalseKeyword) return 'boolean';
  return undefined;
}

/** Every top-level declaration of the file that binds `name` (variables, functions, classes, types, imports...). */
function topLevelDeclarations(file: ts.SourceFile, name: string): ts.Node[] {
  const out: ts.Node[] = [];
  const named = (n: ts.Node | undefined) => !!n && (ts.isIdentifier(n) || ts.isStringLiteral(n)) && n.text === name;
  const binding = (b: ts.BindingName): void => {
    if (ts.isIdentifier(b)) {
      if (b.text === name) out.push(b.parent);
      return;
    }
    for (const e of b.elements) if (!ts.isOmittedExpression(e)) binding(e.name);
  };
  for (const s of file.statements) {
    if (ts.isVariableStatement(s)) for (const d of s.declarationList.declarations) binding(d.name);
    else if (ts.isImportDeclaration(s)) {
      const clause = s.importClause;
      if (!clause) continue;
      if (named(clause.name)) out.push(clause);
      const nb = clause.namedBindings;
      if (nb && ts.isNamespaceImport(nb) && named(nb.name)) out.push(nb);
      if (nb && ts.isNamedImports(nb)) for (const e of nb.elements) if (named(e.name)) out.push(e);
    } else if (ts.isImportEqualsDeclaration(s) || ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s) || ts.isEnumDeclaration(s) || ts.isModuleDeclaration(s)) {
      if (named(s.name)) out.push(s);
    } else {
      // A `var` anywhere in a top-level if, for, try or block (outside functions) is the module's too.
      const hoisted = (n: ts.Node): void => {
        if (ts.isFunctionLike(n) || ts.isClassLike(n)) return;
        if (ts.isVariableDeclarationList(n) && !(n.flags & ts.NodeFlags.BlockScoped)) for (const d of n.declarations) binding(d.name);
        ts.forEachChild(n, hoisted);
      };
      hoisted(s);
    }
  }
  return out;
}

/** Does a constant's text (`'lease-reaper'`, `"Feed"`) spell the class name itself? */
/** A class of the agent's file, or a line of another file importing its module, extends the agent's class. */
function extendedInRepository(ctx: TsRewriteContext): boolean {
  const name = ctx.className.replace(/\$/g, '\\$');
  const heritage = new RegExp(`\\bextends\\s+(?:[\\w$]+\\.)?${name}(?![\\w$])`);
  if (ctx.cls.getSourceFile().getClasses().some((k) => k !== ctx.cls && heritage.test(`extends ${k.getExtends()?.getExpression().getText() ?? ''}`))) return true;
  return ctx.moduleImporters(ctx.className).some((u) => heritage.test(u.text));
}

function sameName(value: string, className: string): boolean {
  return /^(['"`])(.*)\1$/.test(value) && value.slice(1, -1) === className;
}
