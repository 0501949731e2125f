// Another file of the repository that starts the agent (bin/ under a CommonJS service, say) with a
// signal handler of its own that ends the process at once (`process.on('SIGTERM', function () {
// agent.stop(); process.exit(0); })`). The agent's own handlers are rewritten away, but that file is
// not the agent's: beside the base's handler its exit cuts the base's stop() short, before the base
// has closed its servers, deregistered (the registry keeps a dead agent) and finished an async
// onStop(). The rewrite does not edit other files, so each such exit is a review item naming the
// file and line: drop the handler there (the base stops and exits on both signals).
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import path from 'node:path';
import { agentImporters, callerSignalExits, callerSignalTails, starterRegistrations } from '../../src/lang/typescript/references.js';
import { BASE_SENDS, BASE_SENT_KEYS } from './remove-registry-push.js';

export function flagCallerSignalExits(ctx: TsRewriteContext): void {
  const handled = [...ctx.base.signals].join(' and ');
  for (const c of callerSignalExits(ctx.root, ctx.file, ctx.className)) {
    // A signal the base leaves alone is the caller's to handle: no second handler to cut short.
    if (!ctx.base.signals.has(c.signal)) continue;
    ctx.kept.push({
      symbol: `${c.file}:${c.line} ${c.text}`,
      line: ctx.cls.getStartLineNumber(),
      reason:
        `${c.file} handles ${c.signal} itself and calls ${c.text} at once (line ${c.line}); the base handles ${c.signal} too, and that exit cuts its stop() short ` +
        `before it has closed its servers and deregistered: remove that handler (the base stops the agent and exits on ${handled})`,
    });
    // The module has no entry point of its own and that file is the one that starts it (the one
    // validation runs it through): every run of the output ends there before the base has
    // deregistered, so validating it could only fail. Nothing is written; the handler is the fix.
    if (ctx.startedElsewhere && !ctx.unstartable && startsIt(ctx, c.file)) {
      ctx.unstartable = {
        ...ctx.kept[ctx.kept.length - 1]!,
        because: `and ${c.file}, the file that starts ${ctx.className} (the module has no entry point of its own), ends the process on ${c.signal} before the base has deregistered (line ${c.line})`,
      };
    }
  }
  // A caller whose handler awaits stop() and then goes on: the base's handler, installed first by
  // start(), exits once stop() resolves, before those statements run (nothing reports it otherwise).
  // The same for a handler awaiting another method of the agent (`await worker.close(10000)`): unless
  // the base's stop() runs it (it became, or is called by, onStop()), that method's own work after its
  // first wait (letting running jobs finish, nacking the rest) is cut by the base's exit too.
  for (const c of callerSignalTails(ctx.root, ctx.file, ctx.className, ctx.text)) {
    if (!ctx.base.signals.has(c.signal)) continue;
    const onStopPath = c.awaited === 'stop' || onStopRuns(ctx, c.awaited);
    if (c.call && onStopPath) continue;
    const after = onStopPath ? `after awaiting ${c.awaited}() (line ${c.stopLine})` : `after awaiting ${c.awaited}() (line ${c.stopLine}), which the base's stop() does not run,`;
    ctx.kept.push({
      symbol: `${c.file}:${c.line} ${c.text}`,
      line: ctx.cls.getStartLineNumber(),
      reason: c.call
        ? `${c.file} handles ${c.signal} itself and awaits ${c.awaited}() of the agent (line ${c.line}: ${c.text}), which the base's stop() does not run; the base's own ${c.signal} handler, installed by start() before that one, ` +
          `exits as soon as its stop() has resolved, so ${c.awaited}() is cut at its first wait (what it waits for and does after never happens): make that work the agent's onStop() (or call ${c.awaited}() from it) and drop the handler`
        : `${c.file} handles ${c.signal} itself and, ${after} runs line ${c.line} (${c.text}); the base's own ${c.signal} handler, installed by start() before that one, ` +
          `exits as soon as stop() has resolved, so that line no longer runs: move it into onStop() (or where the base's stop path reaches it) and drop the handler`,
    });
  }
}

/**
 * A starter file (main.ts building the agent and starting it) that registers the service with the
 * registry itself, once or on a timer (`setInterval(() => register(poller.healthPort), 15_000)`).
 * The rewrite does not edit that file, and the base registers the agent as well: the registry holds
 * two entries of it (the starter's under the name and port it sends, refreshed as before; the base's
 * under its own), and the base's stop() deregisters only its own. Nothing said it (probe-node65:
 * a heartbeat of main.ts kept re-registering a port beside the base's). Each request is a review item
 * naming the file, its line, the lines that send it and the timer.
 */
export function flagStarterRegistrations(ctx: TsRewriteContext): void {
  if (!ctx.registryEnv) return;
  for (const r of starterRegistrations(ctx.root, ctx.file, ctx.className, ctx.text)) {
    const sent = r.callers.length > 0 ? `, sent at line${r.callers.length > 1 ? 's' : ''} ${r.callers.join(', ')}` : '';
    const timer = r.timers.length > 0 ? ` and again on a timer (line${r.timers.length > 1 ? 's' : ''} ${r.timers.join(', ')})` : '';
    // What dropping it would lose: the fields the base does not send, and the name, unless the base is given it.
    const extra = r.fields.filter((f) => !BASE_SENDS.includes(f) && !BASE_SENT_KEYS.has(f));
    const named = ctx.hints.registryName?.value ?? ctx.className;
    const loses = [
      ...(r.registeredAs && !/^['"`]/.test(r.registeredAs) ? [] : r.registeredAs && r.registeredAs.slice(1, -1) !== named ? [`the name ${r.registeredAs} (the base registers ${ctx.className} as '${named}' unless AGENT_NAME says otherwise)`] : []),
      ...(extra.length > 0 ? [`${extra.map((f) => `'${f}'`).join(', ')}, which the base does not send (it sends ${BASE_SENDS.join(', ')}; a registrationRecord() override of ${ctx.className} can add ${extra.length > 1 ? 'them' : 'it'})`] : []),
    ];
    ctx.kept.push({
      symbol: `${r.file}:${r.line} ${r.text}`,
      line: ctx.cls.getStartLineNumber(),
      reason:
        `${r.file} registers the service with the registry itself (line ${r.line}: ${r.text}${sent}${timer}); the rewrite does not edit that file, and the base now registers ${ctx.className} too: ` +
        `the registry holds two entries of it, and the base's stop() deregisters only its own. Drop that registration from ${r.file} (with its deregistration), giving the base the name it registered, or keep it and check both entries by hand` +
        (loses.length > 0 ? `; dropping it loses ${loses.join(', and ')}` : ''),
    });
  }
}

/** Does the base's stop() run the agent's `method`: renamed to the stop hook, or called by it (as written or added)? */
function onStopRuns(ctx: TsRewriteContext, method: string): boolean {
  const hook = 'onStop';
  if (method === hook || ctx.renames.get(method) === hook) return true;
  const calls = new RegExp(`\\bthis\\.${method.replace(/\$/g, '\\$')}\\s*\\(`);
  if (ctx.newMembers.some((m) => m.name === hook && calls.test(m.text))) return true;
  const own = ctx.members.get(hook);
  return !!own && own.nodes.some((n) => calls.test(n.getText()));
}

/**
 * Is `file` (relative to the root) the file that starts the agent's module, the one validation
 * runs it through: the only other file of the repository that builds the class (`new X(`, `X.create(`)?
 */
function startsIt(ctx: TsRewriteContext, file: string): boolean {
  const builds = new RegExp(`\\bnew\\s+${ctx.className}\\s*[(<]|\\b${ctx.className}\\.\\w+\\s*\\(`);
  const builders = agentImporters(ctx.root, ctx.file, ctx.className).filter((u) => builds.test(u.text) && !/(^|\/)(test|tests|__tests__|spec)\/|\.(test|spec)\.[cm]?[jt]sx?$/.test(u.file));
  return builders.length === 1 && path.resolve(ctx.root, builders[0]!.file) === path.resolve(ctx.root, file);
}
