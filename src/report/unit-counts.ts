// Counting base migration units for the summaries of run and status (their agents are no results or rows).
import type { BaseUnit } from '../core/types.js';

/** Units by status (`summary` counts the results, whose agents a unit's are not). */
export function unitSummary(units: readonly BaseUnit[]): Partial<Record<BaseUnit['status'], number>> {
  const out: Partial<Record<BaseUnit['status'], number>> = {};
  for (const u of units) out[u.status] = (out[u.status] ?? 0) + 1;
  return out;
}

/** `1 unit migrated (3 agents with it), 1 unit refused (4 agents with it)`: the summary line's part for units. */
export function unitCounts(units: readonly BaseUnit[]): string {
  return Object.entries(unitSummary(units))
    .map(([status, n]) => {
      const agents = units.filter((u) => u.status === status).reduce((k, u) => k + u.members.length, 0);
      return `${n} unit${n === 1 ? '' : 's'} ${status} (${agents} agent${agents === 1 ? '' : 's'} with ${n === 1 ? 'it' : 'them'})`;
    })
    .join(', ');
}
