// Every route a read can take to a member the rewrite took out of the agent class, each left
// dangling in a real output: the expected _v2 of flow-export-gzip-chunks-static-encode, whose
// @staticmethod `_encode` moved into EventBusPublisher, with one read of `FlowExportAgent._encode`
// added through each route. Both the verify stage (danglingMemberRead, in process) and the
// independent checker (scripts/check-dangling.py) must name each; the output as expected, neither.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePython } from '../src/lang/python/parser.js';
import { buildModuleModel } from '../src/lang/python/module-model.js';
import { buildAgentModel } from '../src/analysis/agent-model.js';
import { classMembers, danglingMemberRead } from '../src/analysis/lost-member-reads.js';
import { REFERENCE_BASE } from './helpers/python-fixtures.js';
import { REPO } from './helpers/cli.js';

const CASE = path.join(REPO, 'fixtures', 'python-hardened', 'flow-export-gzip-chunks-static-encode');
const SUPPORT = path.join(REPO, 'fixtures', 'python-hardened', '_support');
const RUNTIME = path.join(path.dirname(REFERENCE_BASE), 'python', 'amoskys');
const REL = 'amoskys/agents/flow/flow_export_agent.py';
const legacy = readFileSync(path.join(CASE, 'input.py'), 'utf8');
const expected = readFileSync(path.join(CASE, 'expected.py'), 'utf8');

const CYCLE = '    def collect_data(self):\n';
const MAIN = '    agent = FlowExportAgent(collection_interval=int(sys.argv[1]) if len(sys.argv) > 1 else 60)\n';
const debug = (expr: string) => `        logger.debug("first record encodes to %d bytes", len(${expr}))\n`;
/** Each route: the output with one read of the moved `_encode` through it. */
const ROUTES: Record<string, string> = {
  'self._encode': expected.replace(CYCLE, CYCLE + debug('self._encode([])')),
  'FlowExportAgent._encode in a method': expected.replace(CYCLE, CYCLE + debug('FlowExportAgent._encode([])')),
  'cls._encode in a classmethod': expected.replace(CYCLE, `    @classmethod\n    def encoded_size(cls, records):\n        return len(cls._encode(records))\n\n${CYCLE}${debug('self.encoded_size([])')}`),
  'type(self)._encode': expected.replace(CYCLE, CYCLE + debug('type(self)._encode([])')),
  'self.__class__._encode': expected.replace(CYCLE, CYCLE + debug('self.__class__._encode([])')),
  'an alias of self (agent = self)': expected.replace(CYCLE, `${CYCLE}        agent = self\n${debug('agent._encode([])')}`),
  'getattr(self, "_encode")': expected.replace(CYCLE, CYCLE + debug('getattr(self, "_encode")([])')),
  'super()._encode (the base has none)': expected.replace(CYCLE, CYCLE + debug('super()._encode([])')),
  'FlowExportAgent._encode in a module function': expected.replace('\n\nif __name__ == "__main__":', '\n\ndef encoded_size(records):\n    return len(FlowExportAgent._encode(records))\n\n\nif __name__ == "__main__":\n    encoded_size([])'),
  'agent._encode on the instance main builds': expected.replace(MAIN, MAIN + '    logger.info("%d", len(agent._encode([])))\n'),
};

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** A repository with the runtime, the support packages, the legacy agent and `output` as its _v2. */
function repoWith(output: string, extra: Record<string, string> = {}): { legacy: string; v2: string; root: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-dangling-routes-'));
  temps.push(root);
  cpSync(RUNTIME, path.join(root, 'amoskys'), { recursive: true });
  cpSync(SUPPORT, root, { recursive: true, filter: (src) => !src.endsWith('README.md') });
  mkdirSync(path.dirname(path.join(root, REL)), { recursive: true });
  writeFileSync(path.join(root, REL), legacy);
  writeFileSync(path.join(root, REL.replace(/\.py$/, '_v2.py')), output);
  for (const [rel, text] of Object.entries(extra)) writeFileSync(path.join(root, rel), text);
  return { legacy: path.join(root, REL), v2: path.join(root, REL.replace(/\.py$/, '_v2.py')), root };
}

// What HardenedAgentBase answers on an agent (its methods and the attributes it assigns).
const baseSource = readFileSync(path.join(RUNTIME, 'agents', 'common', 'base.py'), 'utf8');
const baseClass = buildModuleModel(baseSource, parsePython(baseSource)).classes.find((c) => c.name === 'HardenedAgentBase')!;
const baseOwned = classMembers(baseClass, buildAgentModel(baseClass).attributes);
const legacyModel = buildAgentModel(buildModuleModel(legacy, parsePython(legacy)).classes.find((c) => c.name === 'FlowExportAgent')!);

function verify(output: string): string | null {
  const tree = parsePython(output);
  const model = buildModuleModel(output, tree);
  return danglingMemberRead(legacyModel, tree, model, model.classes.find((c) => c.name === 'FlowExportAgent')!, baseOwned);
}

describe('a member moved out of the agent, read through each route', () => {
  it('the output as expected: nothing dangles', () => {
    expect(baseOwned.has('run_forever')).toBe(true);
    expect(verify(expected)).toBeNull();
  });

  it.each(Object.keys(ROUTES))('the verify stage refuses %s, naming the line', (route) => {
    const output = ROUTES[route]!;
    expect(output).not.toBe(expected);
    const line = output.split('\n').findIndex((l, i) => l.includes('_encode') && !expected.split('\n').includes(l) && i > 0) + 1;
    expect(verify(output)).toMatch(new RegExp(`^FlowExportAgent\\._encode left the class \\(the base has none\\) but output line ${line} still reads it as .*_encode`));
  });

  it('the checker names every route, and a caller in another file of the fleet; nothing on the expected output', async () => {
    const cases = Object.entries(ROUTES).map(([route, output]) => ({ route, ...repoWith(output) }));
    const clean = repoWith(expected);
    const elsewhere = repoWith(expected, {
      'amoskys/agents/flow/flow_probe.py': 'from amoskys.agents.flow.flow_export_agent import FlowExportAgent\n\nprint(len(FlowExportAgent._encode([])))\n',
    });
    const all = [...cases, clean, elsewhere];
    const input = JSON.stringify({ cases: all.map((c) => ({ legacy: c.legacy, v2: c.v2, roots: [c.root] })) });
    const r = await execa('python3', [path.join(REPO, 'scripts', 'check-dangling.py'), '-'], { input, maxBuffer: 1 << 26 });
    const findings = (JSON.parse(String(r.stdout)) as { findings: Array<{ category: string; file: string; line: number; symbol: string }> }).findings;
    const missed = cases.filter((c) => !findings.some((f) => f.file === c.v2 && /_encode$/.test(f.symbol))).map((c) => c.route);
    expect(missed).toEqual([]);
    expect(findings.filter((f) => f.file === clean.v2)).toEqual([]);
    expect(findings.some((f) => f.category === 'removed-referenced' && f.file.endsWith('flow_probe.py') && f.symbol === 'FlowExportAgent._encode')).toBe(true);
  }, 60_000);
});
