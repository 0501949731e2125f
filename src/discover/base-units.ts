// Base migration units: a home-made in-repository base that owns its agents' lifecycle (the
// health server, the run loop, the signal handlers) with the agents built on it. Each subclass is
// skipped naming the parent and the parent is no agent, so the whole fleet is a person's work; the
// unit is what moves onto the target together (the base's `_v2`, each subclass's `_v2` importing
// it, validated per subclass, one commit). This module finds the units and says, file and line,
// what in a subclass the migrated base could not carry. It never rewrites anything: a unit is
// reported `refused`, naming its blockers, or `ready` when no subclass blocks it (run migrates a
// ready unit: src/pipeline/unit-run.ts).
import path from 'node:path';
import type { AgentInfo, BaseUnit, BaseUnitBlocker, RewriteOutcome, SkippedFile } from '../core/types.js';
import type { ClassFacts, ClassIndex, PythonFileFacts } from './python-scan.js';
import { baseByHand, subclassByHand } from './python-scan.js';
import { v2Sibling } from '../record/migration-log.js';
import { readNoEntryForInterval } from '../../transforms/python/interval-reason.js';
import { STAND_IN, codeOnly, methodBody, standInSource, unitCycleTexts, type UnitCycleAt } from './unit-cycle.js';
import type { UnitRewrite } from '../lang/python/transform-context.js';

/** The unit's `_v2` files, the base's first, then each member's, then each middle class's (relative to the root). */
export function unitOutputs(u: BaseUnit): string[] {
  return unitSources(u).map(v2Sibling);
}

/** The unit's legacy files, in the order of unitOutputs: each file's `_v2` is at the same index there. */
export function unitSources(u: BaseUnit): string[] {
  return [u.base.file, ...u.members.map((m) => m.file), ...(u.middles ?? []).map((m) => m.file)];
}

/** The modules (files) of a unit whose importers' `_v2` import their `_v2` instead: the base's and each middle class's. */
export function unitModules(u: Pick<BaseUnit, 'base' | 'middles'>): string[] {
  return [u.base.file, ...(u.middles ?? []).map((m) => m.file)];
}

/** A class of the unit with its file: a member (an agent) or a class between the base and the agents. */
interface Holder {
  agent: ClassFacts;
  module: PythonFileFacts;
}

/** A class between the base and an agent, where it is defined. */
interface Middle {
  cls: ClassFacts;
  module: PythonFileFacts;
  rel: string;
}

/**
 * The in-repository classes between an agent and its base, nearest the agent first ([] when built
 * on it directly), or null when the way up is not one in-repository class after another (two
 * parents of the repository, a parent with several definitions, a cycle, more than 6 levels).
 */
function chainTo(agent: ClassFacts, module: PythonFileFacts, base: ClassFacts, index: ClassIndex): Middle[] | null {
  const out: Middle[] = [];
  let cls = agent;
  let mod = module;
  for (let depth = 0; depth <= 6; depth++) {
    const parents = index.parentsOf(cls, mod);
    if (parents.some((p) => p.cls === base)) return parents.length === 1 ? out : null;
    if (parents.length !== 1 || parents[0]!.cls === agent || out.some((o) => o.cls === parents[0]!.cls)) return null;
    out.push(parents[0]!);
    cls = parents[0]!.cls;
    mod = parents[0]!.module;
  }
  return null;
}

/** The engine's rewrite of a base (in memory) and the sources it reads: see base-preview.ts. */
export interface UnitSources {
  /** `text`: rewrite this text as the file's instead of what is on disk (a stand-in, see standInCycles). */
  preview(rel: string, className: string, text?: string, unit?: UnitRewrite): { source: string; outcome: RewriteOutcome };
  read(rel: string): string;
}

/** A file skipped because its agent stands on a home-made base holding the lifecycle. */
export interface UnitMemberSkip {
  skip: SkippedFile;
  module: PythonFileFacts;
  agent: ClassFacts;
  base: ClassFacts;
  baseRel: string;
}

/**
 * Methods a subclass may not define and still inherit the target through the migrated base: the
 * process lifecycle, whether the home-made base or the target owns it. Overriding one replaces
 * what the migrated base hands to the target (its loop, its teardown, its health answer).
 */
const LIFECYCLE = new Set(['run', 'stop', 'start', 'shutdown', 'cleanup', 'close', 'serve_forever', 'run_forever', '__enter__', '__exit__', '__del__']);

/**
 * The units of the scan, each member's skip and the base's own skip extended with the unit (the
 * existing reason kept as it was, `; base migration unit ...` added; `unit` set).
 */
export function baseUnits(
  onParents: UnitMemberSkip[],
  skipped: SkippedFile[],
  index: ClassIndex,
  target: { name: string; methods: ReadonlySet<string>; attributes: ReadonlySet<string>; mainLoop?: string | null },
  sources: UnitSources,
): BaseUnit[] {
  const byBase = new Map<ClassFacts, UnitMemberSkip[]>();
  for (const m of onParents) {
    const list = byBase.get(m.base) ?? [];
    list.push(m);
    byBase.set(m.base, list);
  }
  const units: BaseUnit[] = [];
  for (const [base, members] of byBase) {
    members.sort((a, b) => a.module.rel.localeCompare(b.module.rel) || a.agent.line - b.agent.line);
    const baseRel = members[0]!.baseRel;
    const holds = [
      base.bindsServer && 'health server',
      (base.runsLoop || base.methods.includes('run')) && 'run loop',
      base.findings.some((f) => f.kind === 'signal') && 'signal handlers',
      (base.findings.some((f) => f.kind === 'registry') || base.methods.some((m) => /heartbeat/i.test(m))) && 'heartbeat/registration',
    ].filter((h): h is string => !!h);
    const blockers: BaseUnitBlocker[] = [];
    // The classes between the base and its agents (`class PollingService(LegacyService)`, the agents
    // built on PollingService) move with the unit: each gets a _v2 importing the base's _v2.
    const chains = new Map(members.map((m) => [m, chainTo(m.agent, m.module, base, index)] as const));
    const middles: Middle[] = [];
    for (const chain of chains.values()) for (const c of chain ?? []) if (!middles.some((x) => x.cls === c.cls)) middles.push(c);
    middles.sort((a, b) => a.rel.localeCompare(b.rel) || a.cls.line - b.cls.line);
    for (const m of members) blockers.push(...memberBlockers(m, target, (chains.get(m)?.length ?? 0) > 0));
    for (const mid of middles) blockers.push(...middleBlockers(mid, base, baseRel, members, target));
    blockers.push(...loopOverLifecycle(base, baseRel, index, target));
    // Only a unit no subclass blocks is worth the base's rewrite: what it keeps, drops or renames.
    let carried: string[] = [];
    let cycle: UnitCycleAt | undefined;
    if (blockers.length === 0) {
      const found = previewBlockers(base, baseRel, members, middles, target, sources);
      blockers.push(...found.blockers);
      carried = found.carried;
      cycle = found.cycle;
    }
    // Agents of the base the scan took for agents on their own (not skipped for it) would be left
    // beside a migrated base: the unit is not the whole of what stands on it.
    const named = new Set(members.map((m) => m.agent));
    for (const k of index.agentSubclasses(base)) {
      if (named.has(k.cls)) continue;
      blockers.push({ class: k.cls.name, file: k.rel, line: k.cls.line, reason: `${k.cls.name} (${k.rel}:${k.cls.line}) is built on ${base.name} but not skipped for it (classified on its own): the unit would not move every agent of ${base.name}` });
    }
    const names = members.map((m) => `${m.agent.name} (${m.module.rel}:${m.agent.line})`);
    const between = middles.map((c) => `${c.cls.name} (${c.rel}:${c.cls.line})`);
    const head = `base migration unit ${base.name} (${baseRel}:${base.line}, holding the ${holds.join(', ') || 'lifecycle'}) with ${members.length} agent${members.length === 1 ? '' : 's'}: ${names.join(', ')}` +
      (between.length ? `, built on it through ${between.join(', ')}, which move${between.length === 1 ? 's' : ''} with it` : '');
    const reason = blockers.length
      ? `${head}; refused: ${blockers.map((b) => b.reason).join('; ')}`
      : `${head}; no subclass overrides the lifecycle, binds a server or installs a signal handler of its own, and the engine's rewrite of ${base.name} keeps nothing for review` +
        `${carried.length ? `, still calls every hook they override (${carried.map((h) => `${h}()`).join(', ')})` : ''} and removes or renames nothing they use, so moving ${base.name} onto ${target.name} carries them all: ` +
        `\`migrate run ${base.name}\` (or run --all) writes ${base.name}'s _v2 and one _v2 per agent importing it${cycle ? ` (its ${cycle.method}() handed to ${target.name} as ${cycle.hook}() returning what it published through ${cycle.publish}(), its entry point constructing it with ${cycle.keyword} and calling ${cycle.runForever}())` : ''}${between.length ? ` (and one per class between them: ${middles.map((c) => c.cls.name).join(', ')})` : ''}, validates each agent and commits them as one`;
    units.push({
      name: base.name,
      language: 'python',
      base: { class: base.name, file: baseRel, line: base.line, holds },
      members: members.map((m) => ({ class: m.agent.name, file: m.module.rel, line: m.agent.line })),
      ...(middles.length ? { middles: middles.map((c) => ({ class: c.cls.name, file: c.rel, line: c.cls.line })) } : {}),
      status: blockers.length ? 'refused' : 'ready',
      blockers,
      reason,
      ...(cycle && !blockers.length ? { cycle } : {}),
    });
    for (const m of members) {
      const mine = blockers.filter((b) => b.file === m.module.rel && b.class === m.agent.name);
      m.skip.unit = base.name;
      // Ready: `migrate run <base>` moves it; the scan's "migrate <base> by hand" said the opposite in the same line.
      if (!blockers.length) m.skip.reason = m.skip.reason.replace(subclassByHand(base.name, target.name), '');
      m.skip.reason += mine.length
        ? `; base migration unit ${base.name}: refused for this agent: ${mine.map((b) => b.reason).join('; ')}`
        : `; base migration unit ${base.name}: nothing in ${m.agent.name} blocks it${blockers.length ? `, but ${blockers.length} blocker${blockers.length === 1 ? '' : 's'} elsewhere (see ${baseRel})` : `: \`migrate run ${base.name}\` migrates it with the unit`}`;
      if (mine.length && mine.length < blockers.length) m.skip.reason += ` (and ${blockers.length - mine.length} more, see ${baseRel})`;
    }
    // A middle class's file says it moves with the unit (or what in it blocks the unit).
    for (const mid of middles) {
      const skip = skipped.find((s) => s.file === mid.rel && !s.unit);
      if (!skip) continue;
      const mine = blockers.filter((b) => b.file === mid.rel && b.class === mid.cls.name);
      skip.unit = base.name;
      // Its subclasses are the unit's agents, skipped for the base: not classified on their own.
      skip.reason = skip.reason.replace('; each subclass is classified as an agent on its own', '');
      skip.reason += mine.length
        ? `; base migration unit ${base.name}: ${mid.cls.name} stands between ${base.name} and its agents and is refused: ${mine.map((b) => b.reason).join('; ')}`
        : `; base migration unit ${base.name}: ${mid.cls.name} stands between ${base.name} and its agents and moves with the unit (its _v2 imports ${base.name}'s _v2)${blockers.length ? `, but ${blockers.length} blocker${blockers.length === 1 ? '' : 's'} elsewhere (see ${baseRel})` : ''}`;
    }
    const baseSkip = skipped.find((s) => s.file === baseRel && !s.unit);
    if (baseSkip) {
      baseSkip.unit = base.name;
      if (!blockers.length) baseSkip.reason = baseSkip.reason.replace(baseByHand(base.name, target.name), '');
      baseSkip.reason += `; ${reason}`;
    }
  }
  return units.sort((a, b) => a.base.file.localeCompare(b.base.file) || a.base.line - b.base.line);
}

/** What in one subclass the migrated base could not carry, each with its line. */
function memberBlockers(m: UnitMemberSkip, target: { name: string; methods: ReadonlySet<string> }, viaMiddles: boolean): BaseUnitBlocker[] {
  const { agent, base, module } = m;
  const rel = module.rel;
  const out: BaseUnitBlocker[] = [];
  // Built on the base through a class between them: moved with the unit when the way up is one
  // in-repository class after another (chainTo), else that class is no part of the unit.
  const names = (b: string) => [b, module.imports.get(b)?.name, ...(module.aliases.get(b) ?? []).flatMap((a) => [a, module.imports.get(a)?.name])];
  const direct = agent.bases.some((b) => !!b && names(b).includes(base.name));
  if (!direct && !viaMiddles) out.push({ class: agent.name, file: rel, line: agent.line, reason: `${agent.name} (${rel}:${agent.line}) reaches ${base.name} through another class (${agent.bases.filter(Boolean).join(', ')}), which the unit would not move: the way up is not one class of the repository after another` });
  out.push(...ownBlockers(agent, rel, base, target));
  return out.sort((a, b) => a.line - b.line);
}

/**
 * What a class between the base and its agents may not hold and still move with the unit: being in
 * the base's file or an agent's (its _v2 is that file's), being started as an agent itself, and what
 * a member may not hold (the lifecycle, a server, a signal handler).
 */
function middleBlockers(mid: Middle, base: ClassFacts, baseRel: string, members: UnitMemberSkip[], target: { name: string; methods: ReadonlySet<string> }): BaseUnitBlocker[] {
  const { cls, rel } = mid;
  const out: BaseUnitBlocker[] = [];
  const add = (reason: string) => out.push({ class: cls.name, file: rel, line: cls.line, reason: `${cls.name} (${rel}:${cls.line}) stands between ${base.name} and its agents ${reason}` });
  if (rel === baseRel) add(`in ${base.name}'s own file, which the engine's rewrite of ${base.name} takes whole: moving it there is not proven`);
  const holder = members.find((m) => m.module.rel === rel);
  if (holder) add(`in the file of ${holder.agent.name}, whose _v2 only changes its imports: moving it there is not proven`);
  if (cls.constructedInEntry) add(`and its file's entry point starts it as an agent of its own`);
  out.push(...ownBlockers(cls, rel, base, target));
  return out;
}

/**
 * A class with a loop of its own (`PollingService.run()`) built on an in-repository class that holds
 * the rest of the lifecycle (`LegacyService`: the health server, the signal handlers, its own run()):
 * the loop makes it look like the unit's base, but moving it onto the target leaves that class under
 * it, whose server and signal handlers would stand beside the target's and replace its stop (seen: the
 * agents never deregistered). Refused, naming the loop and the class above it, until the loop can be
 * folded into that class's unit (it is a class between them then).
 */
function loopOverLifecycle(base: ClassFacts, baseRel: string, index: ClassIndex, target: { name: string }): BaseUnitBlocker[] {
  const at = index.definitionOf(base);
  if (!at) return [];
  const i = base.methods.indexOf('run');
  const line = i >= 0 ? base.methodLines?.[i] ?? base.line : base.line;
  const out: BaseUnitBlocker[] = [];
  for (const p of index.parentsOf(base, at.module)) {
    const holds = [
      p.cls.bindsServer && 'a health server',
      p.cls.findings.some((f) => f.kind === 'signal') && 'signal handlers',
      (p.cls.runsLoop || p.cls.methods.includes('run')) && 'a run loop',
    ].filter((h): h is string => !!h);
    if (!holds.length) continue;
    // What would stand beside the target's: only what the class below holds (a run loop alone replaces no stop).
    const beside = [
      p.cls.bindsServer && 'its server',
      p.cls.findings.some((f) => f.kind === 'signal') && 'its signal handlers',
      (p.cls.runsLoop || p.cls.methods.includes('run')) && 'its run loop',
    ].filter((h): h is string => !!h);
    const signals = p.cls.findings.some((f) => f.kind === 'signal') ? ' (its stop and deregistration replaced)' : '';
    const own = base.runsLoop ? `runs a loop of its own${i >= 0 ? ' (run())' : ''}` : 'overrides run()';
    out.push({
      class: base.name,
      file: baseRel,
      line,
      reason: `${base.name} (${baseRel}:${line}) ${own} on ${p.cls.name} (${p.rel}:${p.cls.line}), which holds ${holds.join(', ')}: ` +
        `moving ${base.name} onto ${target.name} would leave ${p.cls.name} under it, ${beside.join(' and ')} beside ${target.name}'s${signals}; ` +
        `${p.cls.name} is the base to migrate, and ${base.name}'s ${base.runsLoop ? 'loop' : 'run()'} has to go into it (or ${base.name} keep only hooks) by hand first`,
    });
  }
  return out;
}

/** A member's or middle class's own lifecycle overrides, target methods, server and signal handlers. */
function ownBlockers(agent: ClassFacts, rel: string, base: ClassFacts, target: { name: string; methods: ReadonlySet<string> }): BaseUnitBlocker[] {
  const at = (line: number) => `${agent.name} (${rel}:${line})`;
  const out: BaseUnitBlocker[] = [];
  const add = (line: number, reason: string) => out.push({ class: agent.name, file: rel, line, reason });
  agent.methods.forEach((name, i) => {
    const line = agent.methodLines?.[i] ?? agent.line;
    if (LIFECYCLE.has(name) && (base.methods.includes(name) || target.methods.has(name))) {
      const whose = base.methods.includes(name) ? `${base.name}'s ${name}(), which the migration hands to ${target.name}` : `${target.name}'s ${name}()`;
      add(line, `${at(line)} overrides ${name}(): it would replace ${whose}, so the migrated base's lifecycle would not run`);
    } else if (target.methods.has(name) && name !== '__init__' && !base.methods.includes(name)) {
      add(line, `${at(line)} defines ${name}(), a method of ${target.name}: inherited through the migrated base, it would override the target's`);
    }
  });
  if (agent.serverLine) add(agent.serverLine, `${at(agent.serverLine)} starts a server of its own, beside the health server the migrated base gets from ${target.name}`);
  for (const f of agent.findings) {
    if (f.kind === 'signal' && f.detail) add(f.line, `${at(f.line)} installs a signal handler of its own (${f.detail}), which would replace ${target.name}'s (its stop and deregistration)`);
  }
  return out.sort((a, b) => a.line - b.line);
}

/**
 * What the engine's rewrite of the base would break for the unit: the rewrite not going through, each
 * item it keeps for review (the entry point it would ask for aside: a base has none, its agents do),
 * a hook a subclass overrides that the base calls and its rewrite no longer does, and a member a
 * subclass uses that the rewrite removes or renames (unless the target provides it under that name).
 * `carried`: the overridden hooks the rewritten base still calls.
 */
function previewBlockers(
  base: ClassFacts,
  baseRel: string,
  agents: UnitMemberSkip[],
  middles: Middle[],
  target: { name: string; methods: ReadonlySet<string>; attributes: ReadonlySet<string>; mainLoop?: string | null },
  sources: UnitSources,
): { blockers: BaseUnitBlocker[]; carried: string[]; cycle?: UnitCycleAt } {
  // The classes between the base and its agents override, call and use the base like its agents do.
  const members: Holder[] = [...agents, ...middles.map((c) => ({ agent: c.cls, module: c.module }))];
  const modules = [baseRel, ...middles.map((c) => c.rel)];
  const blockers: BaseUnitBlocker[] = [];
  const add = (line: number, reason: string, cls = base.name, file = baseRel) => blockers.push({ class: cls, file, line, reason });
  const { source, outcome } = sources.preview(baseRel, base.name);
  if (outcome.status !== 'changed' || outcome.output === undefined) {
    add(base.line, `the engine's rewrite of ${base.name} (${baseRel}:${base.line}) is ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
    return { blockers, carried: [] };
  }
  // The cycle its loop calls is abstract (`def collect(self): raise NotImplementedError`), each subclass
  // holding the real one: the rewrite of the base alone cannot turn it into the target's collect_data().
  // A hook the rewritten base still calls, not kept for review, is carried (see below): only one the
  // rewrite keeps for review, or no longer calls, blocks.
  const cycles = abstractCycles(base, baseRel, members, sources).filter(
    (c) => outcome.kept_for_review.some((k) => k.symbol === c.name) || !callLine(outcome.output!, c.name),
  );
  // The members' sources (one that cannot be read is the scan's to report).
  const texts = members.flatMap((m) => {
    try {
      return [{ m, text: sources.read(m.module.rel) }];
    } catch {
      return [];
    }
  });
  // With the abstract cycle standing for its subclasses' (it publishes as they do), the engine's rewrite
  // says what in the base itself stops it: its items replace the ones an abstract cycle confused
  // (a drain "still called" by the loop the cycle kept).
  const stood = standIn(base, baseRel, cycles, sources);
  // The unit hands the cycle to the target itself when every agent's cycle, constructor and entry point
  // can be edited and the base's rewrite, run as the unit's base, then keeps nothing: the unit is ready
  // with it. Otherwise what is below names what stops it (as by-hand work).
  const route = cycleRoute(base, baseRel, agents, middles, cycles, stood, texts, target, sources);
  if (route && 'blockers' in route) {
    // The unit's shape is the handed cycle's but for what these name (an agent's file the edit cannot
    // prove, at its line): they are what stops it, not the by-hand work of the shape below.
    blockers.push(...route.blockers);
    return checkCarried(base, baseRel, members, modules, texts, target, source, outcome.output, outcome, blockers);
  }
  if (route) {
    // What the agents' _v2 hold: their cycle handed to the target (no override of it, no publish call).
    const edited = texts.map(({ m, text }) => ({ m, text: route.agents.find((a) => a.rel === m.module.rel)?.text ?? text }));
    return { ...checkCarried(base, baseRel, members, modules, edited, target, source, route.output, route.outcome, blockers, route.cycle.method), cycle: route.cycle };
  }
  for (const c of cycles) {
    add(c.line, `${base.name}.${c.name}() (${baseRel}:${c.line}) is abstract (${c.how}) and its loop calls it (line ${c.called}): the cycle lives in each subclass, and the unit migration does not map an abstract cycle onto ${target.name}'s collect_data(); by hand, in ${base.name}'s _v2 drop ${c.name}() and the loop, and rename each subclass's ${c.name}() to collect_data() returning what it publishes`);
    for (const u of c.impls) {
      add(u.line, `${u.cls} (${u.file}:${u.line}) implements ${c.name}()${u.publishes.length ? `, publishing through ${u.publishes.map((p) => `self.${p.name}() (line ${p.line})`).join(', ')}` : ''}: its _v2 must define collect_data() returning ${u.publishes.length ? `a list of what it hands to ${[...new Set(u.publishes.map((p) => `${p.name}()`))].join(', ')}` : 'the events of one cycle'} instead, for ${target.name} to publish (and queue what fails)`, u.cls, u.file);
    }
  }
  const abstractNames = new Set(cycles.map((c) => c.name));
  for (const k of (stood ?? outcome).kept_for_review) {
    // An item quoting the stand-in's own call names a line the base does not hold.
    if (k.symbol === '__main__' || (!stood && abstractNames.has(k.symbol)) || k.reason.includes(STAND_IN)) continue;
    const standing = `with ${[...abstractNames].map((n) => `${n}()`).join(', ')} standing for its subclasses', publishing as they do`;
    if (stood && abstractNames.has(k.symbol)) add(k.line, `the engine's rewrite of ${base.name} (${standing}) cannot hand the publish of ${k.symbol}() to ${target.name} (${baseRel}:${k.line}): ${k.reason}`);
    else add(k.line, `the engine's rewrite of ${base.name}${stood ? ` (${standing})` : ''} keeps ${k.symbol} (${baseRel}:${k.line}) for review: ${k.reason}`);
  }
  // The loop's interval had no entry point of the base's to go to: its agents' entry points start the
  // loop (each maybe with its own interval), and each would have to hand it to the target's constructor.
  for (const k of (stood ?? outcome).kept_for_review) {
    const interval = readNoEntryForInterval(k.reason);
    if (!interval) continue;
    for (const { m, text } of texts) {
      const line = entryCallLine(text, k.symbol);
      if (!line) continue;
      const call = codeOnly(text).split('\n')[line - 1]!.trim();
      const bare = new RegExp(`\\.${k.symbol}\\s*\\(\\s*\\)`).test(call);
      add(line, `${m.agent.name}'s entry point (${m.module.rel}:${line}: ${call.length > 70 ? `${call.slice(0, 70)}...` : call}) starts ${base.name}'s ${k.symbol}() (${baseRel}:${k.line}), the loop ${target.name} takes over: its _v2 must ${bare ? `construct it with ${interval.keyword}=${interval.value} (${base.name}'s ${k.symbol}() default)` : `pass the interval this call gives to the constructor as ${interval.keyword} (${base.name}'s ${k.symbol}() defaults to ${interval.value})`} and call run_forever(), which the unit migration does not write`, m.agent.name, m.module.rel);
    }
  }
  // A count the base's publish keeps and a subclass reads (an operator's status): the publish moving into
  // the target's publisher would leave it at its first value, read as if it still counted.
  const counted = new Set<string>();
  for (const k of stood?.kept_for_review ?? []) {
    for (const [, fn, attr, at] of k.reason.matchAll(/(\w+)\(\) changes self\.(\w+), which the agent keeps \(line (\d+)\)/g)) {
      for (const { m, text } of texts) {
        const line = readLine(text, attr!);
        if (!line || counted.has(`${m.module.rel}:${line}`)) continue;
        counted.add(`${m.module.rel}:${line}`);
        add(line, `${m.agent.name} (${m.module.rel}:${line}) reads self.${attr}, which ${base.name}.${fn}() counts (${baseRel}:${at}): moved into ${target.name}'s publisher, that count would stop and this read would see its first value; point it at health_summary() (events_published) or keep the count by hand`, m.agent.name, m.module.rel);
      }
    }
  }
  return checkCarried(base, baseRel, members, modules, texts, target, source, outcome.output, outcome, blockers);
}

/**
 * The hooks the subclasses override that the base's rewrite still calls (`carried`), and as blockers
 * (added to `blockers`) one it no longer calls, a member it removes or renames that a subclass uses or
 * overrides, and a subclass whose import of the base cannot point at its _v2.
 */
function checkCarried(
  base: ClassFacts,
  baseRel: string,
  members: Holder[],
  modules: string[],
  texts: Array<{ m: Holder; text: string }>,
  target: { name: string; methods: ReadonlySet<string>; attributes: ReadonlySet<string> },
  source: string,
  output: string,
  outcome: RewriteOutcome,
  blockers: BaseUnitBlocker[],
  handed?: string,
): { blockers: BaseUnitBlocker[]; carried: string[] } {
  const add = (line: number, reason: string, cls = base.name, file = baseRel) => blockers.push({ class: cls, file, line, reason });
  const gone = new Map<string, string>();
  for (const r of outcome.removed) {
    const name = /^(?:self\.)?([A-Za-z_]\w*)$/.exec(r)?.[1];
    if (name && !target.attributes.has(name) && !target.methods.has(name)) gone.set(name, 'removes');
  }
  for (const w of outcome.warnings) {
    const renamed = /^self\.(\w+) renamed to self\.(\w+)/.exec(w);
    if (renamed) gone.set(renamed[1]!, `renames to self.${renamed[2]}${target.attributes.has(renamed[1]!) ? ` (self.${renamed[1]} is then ${target.name}'s)` : ''}`);
  }
  const carried = new Set<string>();
  for (const m of members) {
    m.agent.methods.forEach((name, i) => {
      if (name === '__init__' || name === handed || LIFECYCLE.has(name) || !base.methods.includes(name) || gone.has(name)) return;
      const line = callLine(source, name);
      if (!line) return;
      if (callLine(output, name)) carried.add(name);
      else add(line, `${m.agent.name} (${m.module.rel}:${m.agent.methodLines?.[i] ?? m.agent.line}) overrides ${name}(), which ${base.name} calls (line ${line}) and its rewrite no longer does`);
    });
  }
  for (const { m, text } of texts) {
    // Its _v2 reaches the migrated base by importing it from the base's _v2 module: only a
    // `from <the base's module> import ...` can be pointed there.
    if (retargetImports(text, m.module.rel, modules) === text) {
      const from = modules.length > 1 ? `${base.name} or a class between (${modules.join(', ')})` : `${base.name} with \`from <module> import ${base.name}\` from ${baseRel}`;
      add(m.agent.line, `${m.agent.name} (${m.module.rel}:${m.agent.line}) does not import ${from}, so its _v2 could not import it from ${base.name}'s _v2`, m.agent.name, m.module.rel);
    }
    for (const [name, how] of gone) {
      // An override of a method the rewrite removes is never called again.
      const own = m.agent.methods.indexOf(name);
      if (own >= 0 && m.agent.methods[own] !== handed) {
        const at = m.agent.methodLines?.[own] ?? m.agent.line;
        add(at, `${m.agent.name} (${m.module.rel}:${at}) overrides ${name}(), which the engine's rewrite of ${base.name} ${how}: nothing would call it`, m.agent.name, m.module.rel);
        continue;
      }
      const line = useLine(text, name);
      if (line) add(line, `${m.agent.name} (${m.module.rel}:${line}) uses self.${name}, which the engine's rewrite of ${base.name} ${how}`, m.agent.name, m.module.rel);
    }
  }
  return { blockers: blockers.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line), carried: [...carried].sort() };
}

/**
 * The unit handing its base's abstract cycle to the target (unit-cycle.ts): one cycle, published through
 * one method of the base by every agent (no class between them), its loop kept by the base's rewrite only
 * because no entry point of the base's file gives it its interval (the agents' do). Null when that is not
 * the shape, or when an agent's file or the base's rewrite as the unit's base cannot go through: the
 * refusal then names what stops it.
 */
function cycleRoute(
  base: ClassFacts,
  baseRel: string,
  agents: UnitMemberSkip[],
  middles: Middle[],
  cycles: AbstractCycle[],
  stood: RewriteOutcome | null,
  texts: Array<{ m: Holder; text: string }>,
  target: { name: string; methods: ReadonlySet<string>; mainLoop?: string | null },
  sources: UnitSources,
): { cycle: UnitCycleAt; outcome: RewriteOutcome; output: string; agents: Array<{ rel: string; text: string }> } | { blockers: BaseUnitBlocker[] } | null {
  // The target's hook the cycle becomes, and its loop the entry points call instead.
  const hook = 'collect_data';
  if (!target.mainLoop || !target.methods.has(hook) || !stood || cycles.length !== 1 || texts.length !== agents.length + middles.length) return null;
  const c = cycles[0]!;
  const publish = [...new Set(c.impls.flatMap((u) => u.publishes.map((p) => p.name)))];
  // Each agent implements the cycle; a class between them implementing it is the by-hand shape's.
  if (publish.length !== 1 || c.impls.length !== agents.length || c.impls.some((u) => middles.some((m) => m.rel === u.file))) return null;
  const loop = stood.kept_for_review.map((k) => ({ k, interval: readNoEntryForInterval(k.reason) })).find((x) => x.interval);
  if (!loop) return null;
  let text: string;
  try {
    text = sources.read(baseRel);
  } catch {
    return null;
  }
  const param = new RegExp(`^\\s*def\\s+${loop.k.symbol}\\s*\\(\\s*self\\s*,\\s*(\\w+)\\s*=`, 'm').exec(codeOnly(text))?.[1];
  if (!param) return null;
  const cycle: UnitCycleAt = { method: c.name, line: c.line, publish: publish[0]!, loop: loop.k.symbol, param, value: loop.interval!.value, keyword: loop.interval!.keyword, runForever: target.mainLoop, hook };
  const made = unitCycleTexts(
    (t, unit) => sources.preview(baseRel, base.name, t, unit).outcome,
    { cls: base.name, rel: baseRel, text },
    cycle,
    texts.filter(({ m }) => !middles.some((x) => x.rel === m.module.rel)).map(({ m, text }) => ({ cls: m.agent.name, rel: m.module.rel, text })),
    texts.filter(({ m }) => middles.some((x) => x.rel === m.module.rel)).map(({ m, text }) => ({ cls: m.agent.name, rel: m.module.rel, text })),
  );
  if ('blockers' in made) {
    // An agent the edit cannot prove, beside agents it can, is named at its own line and with its own
    // reason; a refusal by the base's rewrite alone is the by-hand shape's (the caller's).
    // When no agent's cycle can be handed, the family is not of this shape: the by-hand refusal says more.
    const byHand = new Set(made.blockers.filter((b) => b.rel !== baseRel).map((b) => b.rel));
    if (!byHand.size || byHand.size === texts.length) return null;
    return { blockers: made.blockers.map((b) => ({ class: b.cls, file: b.rel, line: b.line, reason: b.reason })) };
  }
  // A count the base's publish kept, now counted after the base publishes what the cycle returned: an
  // agent's cycle reading it (a status line written each cycle) would read last cycle's.
  for (const [, attr] of made.outcome.warnings.join('\n').matchAll(/counted each event it published into self\.(\w+)/g)) {
    for (const u of c.impls) {
      const text = texts.find((t) => t.m.module.rel === u.file)?.text ?? '';
      if (methodBody(codeOnly(text).split('\n'), u.line).some((l) => new RegExp(`\\bself\\.${attr}\\b`).test(l))) return null;
    }
  }
  return { cycle, outcome: made.outcome, output: made.output, agents: made.agents };
}

/**
 * The engine's rewrite of the base with each abstract cycle whose subclasses publish through a method
 * of the base standing for theirs (standInSource). null when no cycle publishes that way or the rewrite
 * does not go through.
 */
function standIn(base: ClassFacts, baseRel: string, cycles: AbstractCycle[], sources: UnitSources): RewriteOutcome | null {
  const publishing = cycles.filter((c) => c.impls.some((u) => u.publishes.length));
  if (!publishing.length) return null;
  let text: string;
  try {
    text = sources.read(baseRel);
  } catch {
    return null;
  }
  const { outcome } = sources.preview(baseRel, base.name, standInSource(text, publishing.map((c) => ({ line: c.line, publish: c.impls.flatMap((u) => u.publishes)[0]!.name }))));
  return outcome.status === 'changed' ? outcome : null;
}

interface AbstractCycle {
  name: string;
  line: number;
  /** Why it is abstract, for the blocker: its decorator or its body. */
  how: string;
  /** The line of the base calling it. */
  called: number;
  impls: Array<{ cls: string; file: string; line: number; publishes: Array<{ name: string; line: number }> }>;
}

/**
 * The base's methods whose body only raises NotImplementedError (after an optional docstring, or
 * marked @abstractmethod), that the base calls itself and that a member implements: each with the
 * members' implementations and, in each, the calls of the base's other methods (its publish).
 */
function abstractCycles(base: ClassFacts, baseRel: string, members: Holder[], sources: UnitSources): AbstractCycle[] {
  let text: string;
  try {
    text = sources.read(baseRel);
  } catch {
    return [];
  }
  const lines = codeOnly(text).split('\n');
  const out: AbstractCycle[] = [];
  base.methods.forEach((name, i) => {
    let line = base.methodLines?.[i];
    if (!line || name.startsWith('__')) return;
    // A decorated method's line is its first decorator's (`@abc.abstractmethod` over a docstring-only
    // body): the `def` follows its decorators.
    let decorated = false;
    for (; /^\s*@/.test(lines[line - 1] ?? ''); line++) {
      if (/^\s*@(abc\.)?abstractmethod\b/.test(lines[line - 1]!)) decorated = true;
    }
    // Docstrings and comments are blanked by codeOnly: what is left is code.
    const stmts = methodBody(lines, line).filter((l) => l.trim());
    const onlyRaises = stmts.length === 1 && /^\s*raise\s+NotImplementedError\b/.test(stmts[0]!);
    if (!onlyRaises && !decorated) return;
    const called = callLine(text, name);
    if (!called) return;
    const impls: AbstractCycle['impls'] = [];
    for (const m of members) {
      const k = m.agent.methods.indexOf(name);
      const at = k >= 0 ? m.agent.methodLines?.[k] : undefined;
      if (!at) continue;
      let src: string;
      try {
        src = sources.read(m.module.rel);
      } catch {
        continue;
      }
      const own = methodBody(codeOnly(src).split('\n'), at);
      const publishes: Array<{ name: string; line: number }> = [];
      own.forEach((l, j) => {
        for (const c of l.matchAll(/\bself\.(\w+)\s*\(/g)) {
          if (c[1] !== name && base.methods.includes(c[1]!) && !m.agent.methods.includes(c[1]!)) publishes.push({ name: c[1]!, line: at + 1 + j });
        }
      });
      impls.push({ cls: m.agent.name, file: m.module.rel, line: at, publishes });
    }
    if (impls.length) out.push({ name, line, how: decorated ? 'marked @abstractmethod' : 'it only raises NotImplementedError', called, impls });
  });
  return out;
}

/**
 * The first line reaching `<anything>.name` outside the method's own `def` (0 when none): a call, or
 * the method handed on (`threading.Thread(target=self._beat)`, a callback).
 */
function callLine(text: string, name: string): number {
  const lines = codeOnly(text).split('\n');
  const re = new RegExp(`\\.${name}\\b`);
  const i = lines.findIndex((l) => re.test(l) && !new RegExp(`^\\s*(async\\s+)?def\\s+${name}\\b`).test(l));
  return i + 1;
}

/** The first line calling `<not self>.name(` at the top level of the file (an entry point's `Agent().run(...)`), 0 when none. */
function entryCallLine(text: string, name: string): number {
  const re = new RegExp(`\\.${name}\\s*\\(`);
  const lines = codeOnly(text).split('\n');
  let guard = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^if\s+__name__\s*==/.test(l)) guard = true;
    else if (/^\S/.test(l)) guard = /^(async\s+)?def\s+main\b/.test(l) ? true : guard && !/^(class|def|async)\b/.test(l);
    if (guard && re.test(l) && !/\bself\./.test(l.split(re)[0]!.slice(-6))) return i + 1;
  }
  return 0;
}

/** The first line reading `self.name` (an assignment to it is no read; `+=` is), 0 when none. */
function readLine(text: string, name: string): number {
  const re = new RegExp(`\\bself\\.${name}\\b(?!\\s*=[^=])`);
  return codeOnly(text).split('\n').findIndex((l) => re.test(l)) + 1;
}

/** The first line reading or writing `self.name` (0 when none). */
function useLine(text: string, name: string): number {
  const re = new RegExp(`\\bself\\.${name}\\b`);
  return codeOnly(text).split('\n').findIndex((l) => re.test(l)) + 1;
}

/** `from MODULE import` at the start of a (code) line: the module may be relative (`.mod`, `..pkg.mod`). */
const FROM_IMPORT = /^([ \t]*from[ \t]+)(\.*)([A-Za-z_][\w.]*)?([ \t]+import\b)/gm;

/**
 * The source with each `from M import ...` whose module M is the base's file (or one of the unit's
 * modules given: a middle class's) importing from its `_v2` module (`daemon_base` ->
 * `daemon_base_v2`); every other byte kept. Absolute modules
 * resolve from the root (how the fleet's entry points put the root on sys.path), relative ones
 * from the importing file's package.
 */
export function retargetImports(source: string, fileRel: string, baseRel: string | readonly string[], back = false): string {
  // back: each `from <module>_v2 import` of the unit's modules imports from the module again (promote's
  // replace, which puts the _v2's content on the legacy path).
  const mods = new Set((typeof baseRel === 'string' ? [baseRel] : baseRel).map((r) => r.replace(/\.py$/, '') + (back ? '_v2' : '')));
  return source.replace(FROM_IMPORT, (all, head: string, dots: string, mod: string | undefined, tail: string) => {
    let dir = path.posix.dirname(fileRel);
    let target: string;
    if (dots.length) {
      for (let k = 1; k < dots.length; k++) dir = path.posix.dirname(dir);
      if (!mod) return all; // `from . import x`: a module named in the import list, left as it is
      target = path.posix.normalize(path.posix.join(dir, mod.split('.').join('/')));
    } else {
      if (!mod) return all;
      target = mod.split('.').join('/');
    }
    if (!mods.has(target)) return all;
    return `${head}${dots}${back ? mod.slice(0, -3) : `${mod}_v2`}${tail}`;
  });
}

/** A member of a base migration unit as the agent `run` and `validate` handle (validate loads no rewrite for it). */
export function memberAgent(m: BaseUnit['members'][number]): AgentInfo {
  return { name: m.class, file: m.file, language: 'python', class: m.class, status: 'legacy', findings: [], line: m.line, evidence: [`a member of a base migration unit`] };
}
