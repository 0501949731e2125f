// The Python transforms in the order they run. Propose-phase transforms add to the
// removal plan; once it is resolved, edit-phase transforms make their edits.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { removeHealth } from './remove-health.js';
import { removeSignalHandlers } from './remove-signal-handlers.js';
import { removeMainLoop } from './remove-main-loop.js';
import { removeTeardown } from './remove-teardown.js';
import { removeOwnedSockets } from './remove-owned-sockets.js';
import { inheritBase } from './inherit-base.js';
import { superInit } from './super-init.js';
import { baseAttributes } from './base-attributes.js';
import { earlyOverrides } from './early-overrides.js';
import { entrypoint } from './entrypoint.js';
import { addImport } from './add-import.js';
import { pruneImports } from './prune-imports.js';
import { portPlan } from './port-plan.js';
import { agentConstructions } from './agent-constructions.js';
import { reportLostHealthData } from './report-lost-health-data.js';

export const PYTHON_TRANSFORMS: PythonTransform[] = [
  removeHealth,
  removeSignalHandlers,
  removeMainLoop,
  removeTeardown,
  removeOwnedSockets,
  inheritBase,
  superInit,
  baseAttributes,
  earlyOverrides,
  entrypoint,
  addImport,
  pruneImports,
  portPlan,
  agentConstructions,
  reportLostHealthData,
];
