// What the target base class owns: learned from its source when the repository has it
// (so the engine knows exactly which attributes it assigns and which methods its
// __init__ runs), otherwise taken from the profile's declared fallback lists.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PythonProfile } from '../profile/profile.js';
import { parsePython, firstSyntaxError } from '../lang/python/parser.js';
import { buildModuleModel, type PyClass } from '../lang/python/module-model.js';
import { selfAttribute, walk } from '../lang/python/syntax.js';
import { valueType } from './value-type.js';
import { bindArgument, normPort, portExpression } from './ports.js';

export interface BaseModel {
  className: string;
  /** attribute → coarse type of what the base assigns (null when unknown). */
  attributes: Map<string, string | null>;
  /** attribute → source text of the base's own assignment in __init__ (for redundancy checks). */
  initValues: Map<string, string>;
  methods: Set<string>;
  /** Methods that run while the base's __init__ runs (directly, transitively, or as thread targets). */
  initCalls: Set<string>;
  /** Parameters of the base's __init__ (besides self). */
  initParams: string[];
  /** Does the base install SIGTERM/SIGINT handlers itself (else the agent's own must stay)? */
  handlesSignals: boolean;
  /** Attributes the base's own threads (started by __init__) operate: a socket its health thread polls. */
  threadDriven: Set<string>;
  /** method → attributes that base method assigns (its own lifecycle writes). */
  assignedIn: Map<string, Set<string>>;
  /** Ports the base binds, as normalised expressions of its attributes ("port", "health_check_port", "port+2"). */
  binds: string[];
  learnedFrom: 'source' | 'profile';
  sourceFile?: string;
}

const cache = new Map<string, BaseModel>();

export function loadBaseModel(root: string, profile: PythonProfile, className: string): BaseModel {
  const file = profile.source ? path.join(root, profile.source) : undefined;
  const key = `${file ?? ''}|${className}`;
  let stat = '';
  if (file && existsSync(file)) stat = readFileSync(file, 'utf8');
  const cached = cache.get(key + stat.length);
  if (cached) return cached;
  let model: BaseModel | null = null;
  if (stat) model = learnFromSource(stat, className, file!);
  model ??= fromProfile(profile, className);
  cache.set(key + stat.length, model);
  return model;
}

export function fromProfile(profile: PythonProfile, className: string): BaseModel {
  return {
    className,
    attributes: new Map(profile.fallback.owned_attributes.map((a) => [a, null])),
    initValues: new Map(),
    methods: new Set(profile.fallback.methods),
    initCalls: new Set(profile.fallback.init_calls),
    initParams: ['name', ...Object.keys(profile.super_call.pass_through ?? {})],
    binds: (profile.base_binds ?? ['port', 'health_check_port']).map(normPort),
    assignedIn: new Map(),
    threadDriven: new Set(['health_socket', 'health_thread']),
    handlesSignals: profile.remove.includes('signal'),
    learnedFrom: 'profile',
  };
}

export function learnFromSource(source: string, className: string, file: string): BaseModel | null {
  const tree = parsePython(source);
  if (firstSyntaxError(tree)) return null;
  const mod = buildModuleModel(source, tree);
  const cls = mod.classes.find((c) => c.name === className);
  if (!cls) return null;
  return modelOfClass(cls, file);
}

function modelOfClass(cls: PyClass, file: string): BaseModel {
  const attributes = new Map<string, string | null>();
  const initValues = new Map<string, string>();
  const assignedIn = new Map<string, Set<string>>();
  for (const m of cls.methods.values()) {
    walk(m.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition') return false;
      if (n.type === 'assignment' || n.type === 'augmented_assignment') {
        const left = n.childForFieldName('left');
        const attr = left ? selfAttribute(left) : null;
        if (attr) {
          if (!assignedIn.has(m.name)) assignedIn.set(m.name, new Set());
          assignedIn.get(m.name)!.add(attr);
          const t = valueType(n.childForFieldName('right'));
          if (!attributes.has(attr) || (attributes.get(attr) === null && t)) attributes.set(attr, t);
          if (m.name === '__init__' && !initValues.has(attr)) initValues.set(attr, n.childForFieldName('right')?.text ?? '');
        }
      }
    });
  }
  // Methods reachable from __init__: self.m(...) calls and self.m passed as a callback
  // (thread targets, timers) both run before the subclass's own __init__ continues.
  const initCalls = new Set<string>();
  const threadTargets = new Set<string>();
  const queue = ['__init__'];
  while (queue.length) {
    const name = queue.shift()!;
    const m = cls.methods.get(name);
    if (!m) continue;
    walk(m.body, (n) => {
      if (n.type === 'class_definition') return false;
      const attr = selfAttribute(n);
      if (attr && cls.methods.has(attr) && attr !== '__init__' && !initCalls.has(attr)) {
        const parent = n.parent;
        const called = parent?.type === 'call' && parent.childForFieldName('function')?.id === n.id;
        // Passed as a thread or timer target it runs now; installed as a signal handler it runs at shutdown.
        const call = parent?.type === 'argument_list' ? parent.parent : parent?.type === 'keyword_argument' ? parent.parent?.parent : null;
        const installer = call?.type === 'call' ? call.childForFieldName('function')?.text ?? '' : '';
        const passed = (parent?.type === 'keyword_argument' || parent?.type === 'argument_list') && !/(^|\.)signal$|atexit\.register$/.test(installer);
        if (called || passed) {
          initCalls.add(attr);
          queue.push(attr);
        }
        if (passed) threadTargets.add(attr);
      }
    });
  }
  // Signal handlers and the run loop are not "early": only what __init__ reaches.
  // What those threads drive: `self.x.poll()`, `self.x.serve_forever` passed as a target.
  const threadDriven = new Set<string>();
  for (const t of threadTargets) {
    walk(cls.methods.get(t)!.body, (n) => {
      if (n.type === 'call') {
        const fn = n.childForFieldName('function');
        const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
        const a = obj ? selfAttribute(obj) : null;
        if (a) threadDriven.add(a);
      }
    });
  }
  for (const m of cls.methods.values()) {
    walk(m.body, (n) => {
      // threading.Thread(target=self.http_server.serve_forever)
      if (n.type === 'keyword_argument' && n.childForFieldName('name')?.text === 'target') {
        const v = n.childForFieldName('value');
        const obj = v?.type === 'attribute' ? v.childForFieldName('object') : null;
        const a = obj ? selfAttribute(obj) : null;
        if (a) threadDriven.add(a);
      }
    });
  }
  // Any signal.signal(...) call in the base: it installs its own SIGTERM/SIGINT handling.
  let handlesSignals = false;
  walk(cls.body, (n) => {
    if (n.type === 'call' && /^(signal\.)?signal$/.test(n.childForFieldName('function')?.text ?? '')) handlesSignals = true;
  });
  const binds = new Set<string>();
  for (const m of cls.methods.values()) {
    walk(m.body, (n) => {
      if (n.type !== 'call') return;
      const arg = bindArgument(n);
      const expr = arg ? portExpression(arg.text) : null;
      if (expr) binds.add(expr);
    });
  }
  const init = cls.methods.get('__init__');
  const initParams = init ? init.params.filter((p) => p.name !== 'self' && p.kind !== 'separator').map((p) => p.name) : [];
  return {
    className: cls.name,
    attributes,
    initValues,
    methods: new Set(cls.methods.keys()),
    initCalls,
    initParams,
    binds: [...binds],
    assignedIn,
    threadDriven,
    handlesSignals,
    learnedFrom: 'source',
    sourceFile: file,
  };
}
