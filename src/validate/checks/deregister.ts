// Deregister: an agent that registered and then stopped cleanly on SIGTERM is gone from the
// registry. Read once the shutdown check has seen it exit: the reference bases deregister inside
// their teardown, before the process ends (Python BaseAgent.stop(), HardenedAgentBase's teardown
// after the shutdown() hook, the TypeScript BaseAgent's stop() after onStop()), so an entry still
// there is a teardown that was cut short (a kept shutdown() ending in sys.exit(0), an onStop()
// calling process.exit) or an agent that registered again on its way out.
//
// The legacy agent's own baseline run is observed the same way (registered in its window, then
// SIGTERM): a legacy agent that never deregistered is not held against the _v2, which deregisters
// through the base; the base's deregistration is what is required when the profile lists this
// check (its base deregisters what it registered). A profile that names no checks gets it by
// default without saying what its base does: there only a _v2 that stays registered where the
// legacy agent deregistered fails.
import type { CheckResult } from '../../core/types.js';
import { httpGet } from '../http-util.js';
import { result } from './common.js';
import { agentSays, registrationAfterExit, stillRunning, type Entry, type RegistryCheckOptions } from './registry.js';

/** What the legacy agent's baseline run did with its registration on SIGTERM. */
export type LegacyDeregistration =
  | { kind: 'deregistered' | 'stayed' }
  /** Not observed, and why (not registered within its window, did not stop within a second, ...). */
  | { kind: 'unobserved'; why: string; /** It had not registered yet when its window ended. */ unregistered?: boolean };

export interface DeregisterOptions {
  /** How the _v2 was found in the registry (its scope, pid and start). */
  registry: RegistryCheckOptions;
  /** The registry check's verdict and the entry it accepted. */
  registered?: CheckResult;
  accepted?: Entry;
  /** The shutdown check's verdict: only an agent that exited cleanly on SIGTERM is judged. */
  shutdown?: CheckResult;
  legacy?: LegacyDeregistration;
  /** The profile says its base deregisters at stop (it lists `deregister` among its checks). */
  baseDeregisters: boolean;
  /** How long a deregistration sent before the exit may take to land (default 5 s, the shutdown deadline). */
  settleMs?: number;
  /**
   * The legacy agent run again, until it has registered (a slow start on a busy host): called only
   * when the _v2 stayed registered and the legacy run's window ended before its registration landed.
   */
  legacyAgain?: () => Promise<LegacyDeregistration | undefined>;
  /** The agent's language: the exits and handlers a failure names are that language's (default python). */
  language?: string;
}

function skipped(detail: string): CheckResult {
  return { ...result('deregister', true, 0, detail), skipped: true };
}

function legacyNote(legacy?: LegacyDeregistration): string {
  if (!legacy) return '';
  if (legacy.kind === 'deregistered') return 'the legacy agent deregistered on its SIGTERM too';
  if (legacy.kind === 'stayed') return 'the legacy agent stayed registered after its SIGTERM';
  if (legacy.kind === 'unobserved') return `the legacy agent's deregistration not observed (${legacy.why})`;
  return '';
}

export async function checkDeregister(o: DeregisterOptions): Promise<CheckResult> {
  const name = o.registry.name;
  if (!o.registered?.ok) return skipped('not observed: the agent never registered');
  if (!o.shutdown?.ok) return skipped('not observed: the agent did not stop cleanly on SIGTERM (see shutdown)');
  const t0 = Date.now();
  const now = await registrationAfterExit(o.registry, o.accepted, o.settleMs ?? 5000);
  const ms = Date.now() - t0;
  // What the legacy agent did decides, or is quoted: not observed for want of time is not an answer.
  const legacy = now.state === 'there' && o.legacy?.kind === 'unobserved' && o.legacy.unregistered ? ((await o.legacyAgain?.()) ?? o.legacy) : o.legacy;
  const note = legacyNote(legacy);
  const also = note ? `; ${note}` : '';
  if (now.state === 'unknown') return skipped(`not observed: ${now.label} could not be read after the agent stopped (${now.error})`);
  if (now.state === 'gone') {
    const legacyStayed = legacy?.kind === 'stayed' ? ' (the base deregisters it now)' : '';
    return result('deregister', true, ms, `${name} deregistered on SIGTERM: ${now.label} no longer holds it after it exited${also}${legacyStayed}`);
  }
  if (!o.baseDeregisters && legacy?.kind !== 'deregistered') {
    return result('deregister', true, ms, `${name} is still in ${now.label} after it exited on SIGTERM, as before the migration${also} (the profile does not say that its base deregisters: list deregister in validation.checks)`);
  }
  // The reference base says what had not returned when its grace timer ended the stop (a teardown hook
  // blocked in a join or a zmq term()): that is what cut the teardown short, not a guess.
  const overdue = stillRunning(o.registry.proc);
  // The reference bases log the signal their handler received ('received SIGTERM; stopping'): with that
  // line the base's stop began and was cut short; without it (and with the agent's log at hand) the
  // agent's own handler most likely took the signal instead, and the base's stop() never ran.
  const output = o.registry.proc?.output() ?? '';
  const baseGotIt = /\breceived SIGTERM\b/.test(output);
  // The embedded registry says which names the agent asked it to deregister: another name than the one it
  // registered is a renamed agent (self.name changed after the base registered it), whatever took the signal.
  const asked = o.registry.kind === 'embedded' ? await deregisteredNames(o.registry.url) : [];
  const registeredAs = typeof o.accepted?.record.name === 'string' ? o.accepted.record.name : name;
  const renamed = asked.length > 0 && !asked.includes(registeredAs);
  // What cuts a teardown short, and what replaces the base's handler, in the agent's own language.
  const ts = o.language === 'typescript';
  const exits = ts ? "process.exit() in a hook it calls, or an exit kept from the legacy's own handler" : 'sys.exit, os._exit';
  const handlers = ts ? "process.on('SIGTERM') / process.once('SIGTERM')" : 'signal.signal, loop.add_signal_handler';
  const cleanup = ts ? 'stop()' : 'cleanup()/stop()';
  const why = renamed
    ? `it deregistered ${asked.map((n) => `'${n}'`).join(', ')} but registered '${registeredAs}': its name changed after it registered ` +
      '(a re-assignment of the name after the base took it, in __init__ or a hook), so the deregistration missed its entry'
    : o.baseDeregisters
    ? overdue
      ? `the base deregisters at stop what it registered, and its stop was overdue: ${overdue}`
      : baseGotIt
        ? `the base deregisters at stop what it registered, so its teardown was cut short: its handler took the SIGTERM ('received SIGTERM' in the agent's log) but never reached the deregistration (an exit in a hook it calls: ${exits}?) or the agent registered again on its way out`
        : output.trim()
          ? `the base deregisters at stop what it registered, but its handler never said it received the SIGTERM (no 'received SIGTERM' line in the agent's log): a signal handler of the agent's own (${handlers}) likely replaced the base's, and nothing it leads to calls the base's ${cleanup}`
          : 'the base deregisters at stop what it registered, so its teardown was cut short (an exit in a hook it calls?) or the agent registered again on its way out'
    : 'the legacy agent deregistered on its SIGTERM';
  return result('deregister', false, ms, `${name} still registered in ${now.label} after it exited with code 0 on SIGTERM: ${why}${o.baseDeregisters ? also : ''}${agentSays(o.registry.proc, /\bderegist/i)}`);
}

/** The names the agent asked the embedded registry (its scope's URL) to deregister; none when it cannot say. */
async function deregisteredNames(url: string): Promise<string[]> {
  try {
    const r = await httpGet(`${url.replace(/\/+$/, '')}/deregistered`);
    const names = r.status === 200 ? (JSON.parse(r.body) as { names?: unknown }).names : undefined;
    return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}

