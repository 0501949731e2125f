// The Python transforms in the order they run. Propose-phase transforms add to the
// removal plan; once it is resolved, edit-phase transforms make their edits.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { removeHealth } from './remove-health.js';
import { announceLoopStopWait } from './announce-loop-stop-wait.js';
import { ownHookLoopInterval } from './own-hook-loop-interval.js';
import { threadedAsyncioHealth } from './threaded-asyncio-health.js';
import { healthPortFreeCheck } from './health-port-free-check.js';
import { leftoverHealthState } from './leftover-health-state.js';
import { removeHealthHelperServer } from './health-helper-server.js';
import { removeHealthHelperObject } from './health-helper-object.js';
import { removedSignalHandlerLogLine, removeSignalHandlers, signalFlagThreadHook, signalHandlerShutdown } from './remove-signal-handlers.js';
import { removeMainLoop } from './remove-main-loop.js';
import { removeTeardown } from './remove-teardown.js';
import { removeOwnedSockets } from './remove-owned-sockets.js';
import { inheritBase } from './inherit-base.js';
import { inheritedLoopMixin } from './inherited-loop-mixin.js';
import { superInit } from './super-init.js';
import { heldPortGiven } from './held-port-given.js';
import { forkedWorkersHealthSocket } from './forked-workers-health-socket.js';
import { bindResolvedPort } from './bind-resolved-port.js';
import { baseAttributes } from './base-attributes.js';
import { parentBaseAttributes } from './parent-base-attributes.js';
import { earlyOverrides } from './early-overrides.js';
import { baseMethodClash } from './base-method-clash.js';
import { baseMethodSignature } from './base-method-signature.js';
import { entrypoint } from './entrypoint.js';
import { startGateSetup } from './start-gate-setup.js';
import { addImport } from './add-import.js';
import { healthPortLogLines } from './health-port-log-lines.js';
import { logHandlerTwice } from './log-handler-twice.js';
import { oldBaseLoggingHook } from './old-base-logging-hook.js';
import { pruneImports, pruneLeftoverNames } from './prune-imports.js';
import { portPlan } from './port-plan.js';
import { agentConstructions } from './agent-constructions.js';
import { hardenedPublish } from './hardened-publish.js';
import { hardenedBusinessPublish, hardenedBusinessPublishPropose } from './hardened-business-publish.js';
import { hardenedQueue } from './hardened-queue.js';
import { hardenedQueueLogLines } from './hardened-queue-log-lines.js';
import { hardenedRetry } from './hardened-retry.js';
import { hardenedCollect, hardenedCollectPropose } from './hardened-collect.js';
import { hardenedMainLoop, hardenedMainLoopPropose } from './hardened-main-loop.js';
import { hardenedResultLog } from './hardened-result-log.js';
import { healthServerAlias } from './health-server-alias.js';
import { hardenedOldBase } from './hardened-old-base.js';
import { healthHookTransform } from './health-hook.js';
import { healthExtraRoutes } from './health-extra-routes.js';
import { metricsHookTransform } from './metrics-hook.js';
import { ownMetricsPush } from './own-metrics-push.js';
import { statsdMetrics } from './statsd-metrics.js';
import { ownServerHealthRoute } from './own-server-health-route.js';
import { unwrapAsyncHealthListener } from './remove-health.js';
import { unwrapSelectHealthDispatch } from './select-health-dispatch.js';
import { requestLoop, requestLoopPropose } from './request-loop.js';
import { periodicHook, periodicHookPropose } from './periodic-hook.js';
import { keepalivePrelude, keepalivePreludePropose } from './keepalive-prelude.js';
import { memberCollections } from './member-collections.js';
import { teardownSuper } from './teardown-super.js';
import { exitTeardown } from './exit-teardown.js';
import { interruptTeardown } from './interrupt-teardown.js';
import { entrySignalTeardown } from './entry-signal-teardown.js';
import { entryHandlerLogLine } from './entry-handler-log-line.js';
import { entryHandlerAtRun } from './entry-handler-at-run.js';
import { healthCallbackOrphaned } from './health-callback-orphaned.js';
import { loopTailTeardown } from './loop-tail-teardown.js';
import { entryInterruptClause } from './entry-interrupt-clause.js';
import { ownRegistration, ownRegistrationPropose } from './own-registration.js';
import { registryMixinCalls } from './registry-mixin.js';
import { hardenedPublisher } from './hardened-publisher.js';
import { keepMovedImports } from './hardened-shapes.js';
import { hardenedHooks } from './hardened-hooks.js';
import { hardenedSender, hardenedSenderPropose } from './hardened-sender.js';
import { hardenedOwnHooks } from './hardened-own-hooks.js';
import { sameFileParentOrphans, sameFileParentOrphansCheck } from './same-file-parent-orphans.js';
import { ownedProperty } from './owned-property.js';
import { baseImportShadow } from './base-import-shadow.js';
import { healthHost } from './health-host.js';
import { healthPortMoved } from './health-port-moved.js';
import { healthAliasRoutes } from './health-alias-routes.js';
import { setterPropertyEarly } from './setter-property-early.js';

export const PYTHON_TRANSFORMS: PythonTransform[] = [
  // Seed-001 concerns (hardened-agent-base profile only: publish, queue, retry, collect_loop, old_base).
  hardenedPublish,
  hardenedBusinessPublishPropose,
  hardenedSenderPropose,
  hardenedQueue,
  hardenedRetry,
  hardenedCollectPropose,
  hardenedMainLoopPropose,
  removeHealth,
  threadedAsyncioHealth,
  healthPortFreeCheck,
  removeHealthHelperServer,
  removeHealthHelperObject,
  leftoverHealthState,
  ownRegistrationPropose,
  removeSignalHandlers,
  // Before remove-main-loop: a request loop it turns into the base's hook is its run() proposal.
  requestLoopPropose,
  periodicHookPropose,
  // Before remove-main-loop: a keep-alive run() whose start-up lines must still run once.
  keepalivePreludePropose,
  removeMainLoop,
  removeTeardown,
  removeOwnedSockets,
  // Before inherit-base: a same-file parent left without callers leaves the bases there.
  sameFileParentOrphans,
  inheritBase,
  // Before super-init: a read-only property the base assigns refuses the agent, nothing written.
  ownedProperty,
  // Before add-import: an import that would resolve to the agent's own package refuses the agent, nothing written.
  baseImportShadow,
  // Before super-init: its default for the base's host goes first in __init__, ahead of the base's constructor.
  healthHost,
  healthPortMoved,
  superInit,
  // After super-init (what the base is given) and the removal plan (the servers that went).
  heldPortGiven,
  // The loop mixin inherit-base keeps ahead of the base: does the base's stop end its loop? After super-init:
  // a mixin loop the base's takes the place of needs the period super-init hands the base.
  inheritedLoopMixin,
  // After super-init: it reads where the base's call went and what it was given as port.
  bindResolvedPort,
  // After super-init: it reads where the base's call went.
  forkedWorkersHealthSocket,
  baseAttributes,
  // After base-attributes (the agent's own assignments of the base's names), on the parents of its file.
  parentBaseAttributes,
  // After super-init (the value the base is given as its health port) and the removal plan.
  healthPortLogLines,
  earlyOverrides,
  // After super-init (where the base's call went): what the old base's logging hook kept as the base's reads goes above it.
  oldBaseLoggingHook,
  // After super-init (where the base's call went): what a setter property the base assigns through reads goes above it.
  setterPropertyEarly,
  // After super-init (where the base's call went, the name it is given) and early-overrides (the hooks it calls
  // after it): a handler the agent adds to the base's logger after that call.
  logHandlerTwice,
  // After early-overrides (the base's __init__ calls are its), before the transforms that copy kept code.
  baseMethodSignature,
  // After early-overrides (a method both would rename is the base's __init__'s concern first).
  hardenedOwnHooks,
  requestLoop,
  periodicHook,
  // Beside periodic-hook: a loop of the agent's own hook, which periodic-hook leaves alone.
  ownHookLoopInterval,
  keepalivePrelude,
  entrypoint,
  hardenedCollect,
  hardenedMainLoop,
  // After hardened-main-loop, whose setup() (run()'s start-up statements) it must not write twice.
  startGateSetup,
  hardenedResultLog,
  // A SIGTERM/SIGINT handler whose installs went becomes the shutdown() hook.
  signalHandlerShutdown,
  removedSignalHandlerLogLine,
  // The removed queue methods' log lines, said by line (warnings only).
  hardenedQueueLogLines,
  // Before add-import: it points an old base's import at the profile's module.
  hardenedOldBase,
  addImport,
  // Before health-hook and health-alias-routes (they report only the routes it could not move), and prune-imports.
  healthExtraRoutes,
  // Before prune-imports: the hook may use module names the removed health code used.
  healthHookTransform,
  healthAliasRoutes,
  healthServerAlias,
  metricsHookTransform,
  // After metrics-hook: one override of the base's metrics text, never two.
  ownMetricsPush,
  // Statsd lines sent over UDP: also handed to the base's report API (its sink never saw them).
  statsdMetrics,
  // After health-hook: it writes the hook only when removed health code did not.
  ownServerHealthRoute,
  unwrapAsyncHealthListener,
  unwrapSelectHealthDispatch,
  // After the health transforms (a hook they write may call it): a kept health method whose callers all went.
  healthCallbackOrphaned,
  memberCollections,
  pruneImports,
  // After prune-imports: the transport it moves out of the class still needs its imports.
  hardenedPublisher,
  hardenedBusinessPublish,
  hardenedSender,
  keepMovedImports,
  hardenedHooks,
  // After signal-handler-shutdown and hardened-main-loop (they may write shutdown() first) and the
  // publisher (the transport teardown it rewrites is what the base does itself).
  entrySignalTeardown,
  portPlan,
  agentConstructions,
  teardownSuper,
  // After teardown-super: the teardown it wires into a cleanup() override ends with the base's own.
  interruptTeardown,
  exitTeardown,
  loopTailTeardown,
  // After the teardowns wired into cleanup() (interrupt-teardown): the entry point's Ctrl-C clause joins only a free cleanup().
  entryInterruptClause,
  // After interrupt-teardown and entry-interrupt-clause: the replaced entry-point handler's log line joins the cleanup() they write, else one of its own.
  entryHandlerLogLine,
  // Beside it, for a base installing its handlers when its main loop starts: a replaced handler that reaches no
  // method of the agent (entry-signal-teardown's) writes a free shutdown() of its own, before signal-flag-thread-hook opens it.
  entryHandlerAtRun,
  // After every transform writing the base's signal hook (shutdown(), cleanup()): it opens that hook.
  signalFlagThreadHook,
  // Before own-registration: an inherited registration mixin's calls that go are no longer its review items.
  registryMixinCalls,
  ownRegistration,
  // After own-registration: a loop whose registration went posts nothing; one whose registration stays waits on the base's stop.
  announceLoopStopWait,
  sameFileParentOrphansCheck,
  // After every transform that writes or moves code: what it cuts is unused in the output.
  pruneLeftoverNames,
  // Last: a kept method of a base method's name, once every rename and removal is known.
  baseMethodClash,
];
