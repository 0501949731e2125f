// Printing a scan: `--json` is the stable contract; the terminal gets a table.
import type { AgentInfo, ScanResult } from '../core/types.js';
import { colours, printJson, table } from './terminal.js';
import type { ProfileJson } from '../profile/choose.js';
import { io } from '../core/invocation.js';

/** `profile`: which profile the scan used and why (commands/common.ts profileJson). */
export function printScanJson(scan: ScanResult, profile?: ProfileJson): void {
  printJson({
    agents: scan.agents.map((a) => ({
      name: a.name,
      file: a.file,
      language: a.language,
      class: a.class,
      status: a.status,
      findings: a.findings,
      line: a.line,
      evidence: a.evidence,
      ...(a.output ? { output: a.output } : {}),
      ...(a.config_names ? { config_names: a.config_names } : {}),
    })).flatMap((entry, i) => [entry, ...otherAgentEntries(scan.agents[i]!)]),
    skipped: scan.skipped.map((s) => ({ file: s.file, reason: s.reason, ...(s.line ? { line: s.line } : {}), ...(s.error ? { error: true } : {}), ...(s.unit ? { unit: s.unit } : {}) })),
    ...(scan.units?.length ? { units: scan.units } : {}),
    ...(profile ? { profile } : {}),
  });
}

/**
 * A file's other agents (AgentInfo.other_agents) as agents of their own, after the file's agent: each is an agent
 * to migrate by hand (or moved already), listed with its class as name and `second_agent_of` naming the file's agent.
 */
function otherAgentEntries(a: AgentInfo) {
  return (a.other_agents ?? []).map((o) => ({
    name: o.class,
    file: a.file,
    language: a.language,
    class: o.class,
    status: o.status,
    findings: o.findings,
    line: o.line,
    evidence: [o.reason],
    second_agent_of: a.name,
  }));
}

/** Every agent of the scan, a file's other legacy agents (listed but not migrated by `run`) included. */
export function listedAgents(scan: ScanResult): Array<Pick<AgentInfo, 'name' | 'file' | 'line' | 'status' | 'findings'> & { second_agent_of?: string }> {
  return scan.agents.flatMap((a) => [a, ...otherAgentEntries(a)]);
}

export function printScanTable(scan: ScanResult): void {
  const c = colours();
  const rows = [['AGENT', 'STATUS', 'FILE', 'FINDINGS']];
  const listed = listedAgents(scan);
  for (const a of listed) {
    const kinds = [...new Set(a.findings.map((f) => f.kind))].join(',') || '-';
    rows.push([a.name, a.status === 'legacy' ? c.yellow(a.status) : c.green(a.status), `${a.file}:${a.line}`, kinds]);
  }
  io.stdout.write(`${table(rows)}\n`);
  const legacy = listed.filter((a) => a.status === 'legacy').length;
  io.stdout.write(
    `\n${listed.length} agents (${legacy} legacy, ${listed.length - legacy} migrated); ${scan.skipped.length} files skipped\n`,
  );
  for (const o of scan.agents.flatMap(otherAgentEntries).filter((e) => e.status === 'legacy')) io.stdout.write(c.yellow(`  by hand ${o.name} (${o.file}:${o.line}): ${o.evidence[0]}\n`));
  for (const s of scan.skipped) io.stdout.write(c.dim(`  skipped ${s.file}: ${s.reason}\n`));
  for (const u of scan.units ?? []) {
    io.stdout.write(`${c.yellow('unit')} ${u.name} ${u.status}: ${u.base.file}:${u.base.line} with ${u.members.map((m) => `${m.class} (${m.file}:${m.line})`).join(', ')}\n`);
    for (const b of u.blockers) io.stdout.write(`  ${c.yellow('blocks')} ${b.file}:${b.line}: ${b.reason}\n`);
  }
}
