// Public API kept: a public member the rewrite removed or renamed may be called from other files
// (a controller's `await agent.connect()`, a test's `agent.start()`). Names the base owns (start,
// stop, run) answer those calls themselves; any other name gets a method that takes the call to
// the base — start() for what started the agent's work (whose timers now run as runOnce(), so
// the work keeps running when they call it), stop() for what stopped it. Each outside caller is
// reported with file:line. Members other files call that have no such delegate are never removed
// (the removal plan keeps them).
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { descendantsOfKind, signalHandlerCall } from '../../src/lang/typescript/syntax.js';
import { callerList, isPublicMember, overrideLine } from '../../src/lang/typescript/context.js';
import type { OutsideCaller } from '../../src/lang/typescript/references.js';
import { methodText } from '../../src/lang/typescript/generate.js';

export function keepPublicApi(ctx: TsRewriteContext, removed: Set<string>): void {
  const delegates = new Map<string, 'start' | 'stop'>();
  for (const name of removed) {
    const p = ctx.plan.members.get(name);
    if (p?.delegate && p.scope !== 'module') delegates.set(name, p.delegate);
  }
  for (const [from, to] of ctx.renames) {
    const m = ctx.members.get(from);
    // An arrow property "renamed" to a hook is still there under its name.
    if (!m || m.kind !== 'method' || m.nodes.some((n) => Node.isPropertyDeclaration(n)) || delegates.has(from)) continue;
    if (to === 'onStart' || to === 'runOnce') delegates.set(from, 'start');
    else if (to === 'onStop') delegates.set(from, 'stop');
  }
  for (const [name, target] of delegates) {
    if (!isPublicMember(ctx, name)) continue;
    const callers = ctx.outsideCallers(name);
    if (callers.length === 0) continue;
    if (ctx.base.members.get(name)?.kind === 'method') {
      ctx.warnings.push(`${name}() is called from ${callerList(callers)}: the base's ${name}() answers those calls`);
      continue;
    }
    if (ctx.newMembers.some((n) => n.name === name)) continue;
    const decl = ctx.members.get(name)!.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody());
    const params = decl && Node.isMethodDeclaration(decl) ? decl.getParameters().map((p) => (ctx.js ? p.getName() : p.getText().replace(/^(public|private|protected|readonly)\s+/g, ''))) : [];
    const overriders = target === 'stop' ? callers.filter((c) => overrideLine(c.text, name)) : [];
    const method = decl && Node.isMethodDeclaration(decl) ? decl : undefined;
    const wired = overriders.length > 0 ? stopRunsOverride(ctx, name, overriders, method ? method.getParameters().every((p) => p.isOptional() || p.hasInitializer() || p.isRestParameter()) : true) : null;
    // The overrides were written against the legacy signature: `shutdown(): void` in a subclass does
    // not compile over a parent's `shutdown(): Promise<void>` (TS2416), so a sync void one stays void.
    // Wired or left for review, the overrides stay and must compile against the _v2.
    const keptVoid = !ctx.js && overriders.length > 0 && !!method && !method.isAsync() && (!method.getReturnTypeNode() || method.getReturnTypeNode()!.getText() === 'void');
    ctx.newMembers.push({
      name,
      text: methodText(ctx, {
        name,
        async: false,
        visibility: 'public',
        params: params.join(', '),
        returns: keptVoid ? 'void' : 'Promise<void>',
        body: wired ? (keptVoid ? wired.void : wired.promise) : keptVoid ? `${ctx.unit}void this.${target}();` : `${ctx.unit}return this.${target}();`,
      }),
    });
    ctx.warnings.push(`${name}() is called from ${callerList(callers)}: kept as a method that calls the base's ${target}()`);
  }
}

/**
 * `shutdown()` went with the SIGTERM handler that called it, and is kept as a call of the base's
 * stop() for its callers; a subclass in another file overrides it (`shutdown() { drain();
 * super.shutdown(); }`). The base's SIGTERM path calls stop() → onStop(), never shutdown(), so
 * that override's work would be lost silently. onStop() calls shutdown() (the subclass's, when
 * it is one), unless shutdown() is what started the stop; shutdown() reached from onStop() only
 * returns, so shutdown() → stop() → onStop() → shutdown() neither loops nor waits on itself.
 * When onStop() is written already (the agent's own, a renamed stop()) or shutdown() must be
 * given arguments the base cannot supply, a person wires it: a review item naming the override.
 * Returns the delegate's body when wired: returning stop()'s promise, or for a void signature not.
 */
function stopRunsOverride(ctx: TsRewriteContext, name: string, overriders: OutsideCaller[], callableBare: boolean): { promise: string; void: string } | null {
  const hasOnStop = ctx.newMembers.some((m) => m.name === 'onStop') || ctx.members.has('onStop') || [...ctx.renames.values()].includes('onStop');
  if (hasOnStop || !callableBare) {
    ctx.kept.push({
      symbol: `${name}()`,
      line: ctx.members.get(name)!.line,
      reason: `the signal handler called ${name}(), which ${callerList(overriders)} override${overriders.length > 1 ? '' : 's'}; the base's SIGTERM path calls stop() → onStop(), never ${name}(), so ${overriders.length > 1 ? 'those overrides' : 'that override'} no longer run${overriders.length > 1 ? '' : 's'} on SIGTERM: ${hasOnStop ? 'make onStop() call it' : `${name}() needs arguments onStop() cannot give`}, without calling stop() from there`,
    });
    return null;
  }
  const fromStop = `#${name}FromStop`;
  const called = `#${name}Called`;
  const where = callerList(overriders);
  ctx.newFields.push(`${fromStop} = false;`, `${called} = false;`);
  ctx.newMembers.push({
    name: 'onStop',
    text: [
      `// The SIGTERM handler called ${name}(), which ${where} override${overriders.length > 1 ? '' : 's'}: the base's stop() runs it once.`,
      methodText(ctx, {
        name: 'onStop',
        async: true,
        body: [`${ctx.unit}if (this.${called}) return;`, `${ctx.unit}this.${fromStop} = true;`, `${ctx.unit}await this.${name}();`].join('\n'),
      }),
    ].join('\n'),
  });
  ctx.warnings.push(`${name}() is overridden by ${where} and was the SIGTERM handler: the base's onStop() calls it (once; called directly, ${name}() still stops the agent through stop())`);
  return {
    promise: [`${ctx.unit}this.${called} = true;`, `${ctx.unit}return this.${fromStop} ? Promise.resolve() : this.stop();`].join('\n'),
    void: [`${ctx.unit}this.${called} = true;`, `${ctx.unit}if (!this.${fromStop}) void this.stop();`].join('\n'),
  };
}

/**
 * `close() { clearInterval(this.ticker); this.server.close(); }` called from elsewhere (an ops
 * console's drain, a business pause()): the timer was the main loop and went, its clear with it,
 * so close() no longer stops the loop the base now runs (only the base's stop() ends it). The
 * stop path itself (stop() renamed to onStop(), a method onStop() calls) lost nothing: the base
 * stops the loop first. Any other caller is for a person: close() kept, reported with them.
 */
export function keepLoopStoppers(ctx: TsRewriteContext, removed: Set<string>): void {
  const stopPath = stopPathMembers(ctx);
  for (const m of ctx.members.values()) {
    if (m.kind !== 'method' || removed.has(m.name) || stopPath.has(m.name)) continue;
    const decl = m.nodes.find((n) => Node.isMethodDeclaration(n) && n.getBody());
    if (!decl || ctx.edits.removes(decl.getStart(), decl.getEnd())) continue;
    const cleared = descendantsOfKind(decl, SyntaxKind.CallExpression).find((c) => {
      if (!/^clear(Interval|Timeout)$/.test(c.getExpression().getText())) return false;
      const member = c.getArguments()[0]?.getText().replace(/^this\./, '');
      return !!member && removed.has(member) && c.getArguments()[0]!.getText() === `this.${member}` && ctx.edits.removes(c.getStart(), c.getEnd());
    });
    if (!cleared) continue;
    const where = callersOffStopPath(ctx, m.name, stopPath, false).join(', ');
    if (!where) continue;
    ctx.kept.push({
      symbol: m.name,
      line: cleared.getStartLineNumber(),
      reason: `${m.name}() stopped the main loop (${cleared.getText()}), which is now the base's runOnce() and ends only with the base's stop(); it is still called (${where}) and no longer stops the loop: call this.stop() there if those callers mean to stop the agent`,
    });
  }
}

/**
 * The stop path: stop(), onStop(), what was renamed onStop(), and the members a written onStop()
 * calls. The base stops its loop before onStop(), so a loop stopper there lost nothing.
 */
export function stopPathMembers(ctx: TsRewriteContext): Set<string> {
  const onStopText = ctx.newMembers.filter((m) => m.name === 'onStop').map((m) => m.text).join('\n');
  const stopPath = new Set(['stop', 'onStop', ...[...ctx.renames].filter(([, to]) => to === 'onStop').map(([from]) => from)]);
  for (const name of ctx.members.keys()) if (new RegExp(`\\bthis\\.${name.replace(/\$/g, '\\$')}\\(`).test(onStopText)) stopPath.add(name);
  return stopPath;
}

/**
 * Where a member is still reached from, the stop path aside: `line N` for uses the rewrite keeps in
 * the class (its own body aside) and, with `inFile`, in the rest of the file on an instance of the
 * class (`process.on('SIGUSR1', () => poller.pause())`: the checker ties the receiver to the class,
 * so a stream's pause() elsewhere in the file does not count), then the callers in other files.
 * A subclass's override in another file is no caller.
 */
export function callersOffStopPath(ctx: TsRewriteContext, name: string, stopPath: Set<string>, inFile: boolean, signalPath = false): string[] {
  // (With signalPath, a call inside a SIGTERM/SIGINT handler kept in the file runs when the base stops the agent too.)
  const inSignalHandler = (p: Node) => signalPath && p.getAncestors().some((a) => {
    const sig = signalHandlerCall(a, true);
    return !!sig && sig.signals.every((x) => ctx.base.signals.has(x)) && !ctx.edits.removes(a.getStart(), a.getEnd());
  });
  const hostOf = (p: Node) => {
    const host = p.getFirstAncestor((a) => (Node.isMethodDeclaration(a) || Node.isConstructorDeclaration(a) || Node.isPropertyDeclaration(a)) && a.getParent() === ctx.cls);
    return host && (Node.isMethodDeclaration(host) || Node.isPropertyDeclaration(host)) ? host.getName() : host ? 'constructor' : null;
  };
  const decls = new Set(ctx.members.get(name)?.nodes ?? []);
  const lines = descendantsOfKind(ctx.sf, SyntaxKind.PropertyAccessExpression).filter((p) => {
    if (p.getName() !== name || ctx.edits.removes(p.getStart(), p.getEnd())) return false;
    const host = hostOf(p);
    if (host !== null) return p.getExpression().getKind() === SyntaxKind.ThisKeyword && host !== name && !stopPath.has(host);
    if (!inFile || inSignalHandler(p)) return false;
    return (p.getNameNode().getSymbol()?.getDeclarations() ?? []).some((d) => decls.has(d));
  });
  const outside = isPublicMember(ctx, name) ? ctx.outsideCallers(name).filter((c) => !overrideLine(c.text, name)) : [];
  return [...lines.map((p) => `line ${p.getStartLineNumber()}`), ...(outside.length ? [callerList(outside)] : [])];
}
