// The shapes of a supervisor building agent classes through a table of them (agent-constructions'
// tableBuilds), in-process on small supervisor modules: the line of the construction, the loop, the
// table and its classes; and what is not a build of several (a table nobody loops over, a loop's header).
import { describe, expect, it } from 'vitest';
import { parsePython } from '../src/lang/python/parser.js';
import { tableBuilds } from '../transforms/python/agent-constructions.js';

const builds = (src: string) => tableBuilds(parsePython(src).rootNode, new Set(['TaggerAgent']));

describe('class-table builds', () => {
  it('a dict of classes, called through the value of .items() in a for loop', () => {
    const src = 'AGENTS = {"ingest": IngestAgent, "tagger": TaggerAgent}\n\ndef main():\n    for key, cls in AGENTS.items():\n        agent = cls(**CONFIG[key])\n';
    expect(builds(src)).toEqual([{ line: 5, loop: 'a for loop', table: 'AGENTS', entries: ['IngestAgent', 'TaggerAgent'] }]);
  });

  it('a list of module-qualified classes built in a comprehension', () => {
    const src = 'CLASSES = [ingest_agent.IngestAgent, tagger_agent.TaggerAgent]\nagents = [cls(port=p) for cls, p in zip(CLASSES, PORTS)]\nothers = [cls() for cls in CLASSES]\n';
    // zip(...) is not an iteration over the table the rewrite can read; the plain comprehension is.
    expect(builds(src)).toEqual([{ line: 3, loop: 'a comprehension', table: 'CLASSES', entries: ['IngestAgent', 'TaggerAgent'] }]);
  });

  it('a table subscripted by the loop variable, and a tuple iterated in place', () => {
    const src = [
      'REGISTRY = {"ingest": IngestAgent, "tagger": TaggerAgent}',
      'for name in sys.argv[1:]:',
      '    REGISTRY[name]().run()',
      'for cls in (IngestAgent, TaggerAgent):',
      '    threading.Thread(target=cls().run).start()',
      '',
    ].join('\n');
    expect(builds(src)).toEqual([
      { line: 3, loop: 'a for loop', table: 'REGISTRY', entries: ['IngestAgent', 'TaggerAgent'] },
      { line: 5, loop: 'a for loop', table: '(IngestAgent, TaggerAgent)', entries: ['IngestAgent', 'TaggerAgent'] },
    ]);
  });

  it('no build: a table without the class, one looked up once, or iterated without a call of its entries', () => {
    const src = [
      'OTHERS = {"ingest": IngestAgent}',
      'for cls in OTHERS.values():',
      '    cls()',
      'AGENTS = {"ingest": IngestAgent, "tagger": TaggerAgent}',
      'agent = AGENTS[sys.argv[1]]()',
      'for key, cls in AGENTS.items():',
      '    print(key, cls.__name__)',
      '',
    ].join('\n');
    expect(builds(src)).toEqual([]);
  });
});
