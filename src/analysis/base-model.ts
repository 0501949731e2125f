// What the target base class owns: learned from its source when the repository has it
// (so the engine knows exactly which attributes it assigns and which methods its
// __init__ runs), otherwise taken from the profile's declared fallback lists.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { forgetOnReset } from '../core/invocation.js';
import type { PythonProfile } from '../profile/profile.js';
import { parsePython, firstSyntaxError } from '../lang/python/parser.js';
import { buildModuleModel, type PyClass, type PyFunction } from '../lang/python/module-model.js';
import type { SyntaxNode } from '../lang/python/parser.js';
import { callee, selfAttribute, statements, stringValue, walk } from '../lang/python/syntax.js';
import { valueType } from './value-type.js';
import { bindArgument, normPort, portExpression, serverSubclasses } from './ports.js';
import { baseFailingHealthCode, baseFailingStatus, baseHealthCodeHook, baseHealthKeys, baseHealthWords, type BaseHealthKeys } from './health-words.js';
import { templatesDir } from '../profile/profile.js';
import { findPythonBase } from '../profile/base-source.js';
import { bindHostOf, type BindHost } from './bind-host.js';
import { conditionPaths } from './health-payload.js';

export interface BaseModel {
  className: string;
  /** attribute → coarse type of what the base assigns (null when unknown). */
  attributes: Map<string, string | null>;
  /** attribute → source text of the base's own assignment in __init__ (for redundancy checks). */
  initValues: Map<string, string>;
  methods: Set<string>;
  /** Methods that run while the base's __init__ runs (directly, transitively, or as thread targets). */
  initCalls: Set<string>;
  /** Methods the base's __init__ reaches only on an error path (inside an `except` clause): an override of one runs early only when the base fails to start. */
  errorPathCalls: Set<string>;
  /** Overridable methods the base calls when it shuts down (from its run loop's `finally`, its signal handlers, atexit). */
  shutdownCalls: Set<string>;
  /** Of those, the ones its run() calls in its `finally:` (they run again when a signal ends that loop). */
  loopFinallyCalls: Set<string>;
  /**
   * What the base's own SIGTERM/SIGINT handler runs: `handlers` (the methods it installs) and, for
   * every base method, the methods of self it calls (`graph`), so the teardown a signal reaches can be
   * followed through the base's methods an agent does not override. Empty when learned from a profile.
   */
  signalCalls: { handlers: Set<string>; graph: Map<string, Set<string>> };
  /** How the base's run() serves requests: it receives on `socket` and hands each request to `hook` (null when it does not). */
  requestLoop: { socket: string; hook: string } | null;
  /** The hook the base's run() calls once per iteration with no request (`run_once`), and the attribute holding the interval. */
  periodicHook: { hook: string; intervalAttribute: string | null } | null;
  /** Parameters of the base's __init__ (besides self). */
  initParams: string[];
  /** Parameter of the base's __init__ → source text of its default (`device_id` → `None`). */
  initDefaults: Map<string, string>;
  /** Does the base install SIGTERM/SIGINT handlers itself (else the agent's own must stay)? */
  handlesSignals: boolean;
  /**
   * Are they installed while the base's __init__ runs (the reference BaseAgent), rather than once its main
   * loop starts (HardenedAgentBase's run_forever())? An agent whose kept run() the entry point still calls
   * then never gets them. True when known from a profile (the conservative reading).
   */
  signalsAtInit: boolean;
  /** Attributes the base's own threads (started by __init__) operate: a socket its health thread polls. */
  threadDriven: Set<string>;
  /** attribute → source text of every value the base assigns it, in any method. */
  values: Map<string, string[]>;
  /** Every method name the base calls on self anywhere (its hooks too, defined by it or not). */
  selfCalls: Set<string>;
  /** Attributes the base reads outside its __init__ (re-assigning one after super() changes what the base does). */
  readsAfterInit: Set<string>;
  /**
   * Attributes the base's __init__ reads, or hands on, once set, itself or in what it reaches (initCalls: the
   * methods it calls and the thread targets it starts): a value derived
   * there (a logger named by agent_name) keeps the base's value whatever the agent assigns after super().
   */
  readsDuringInit: Set<string>;
  /** method → attributes that base method assigns (its own lifecycle writes). */
  assignedIn: Map<string, Set<string>>;
  /** Ports the base binds, as normalised expressions of its port roles ("port", "health_check_port", "health_check_port+1"). */
  binds: string[];
  /** bind expression → line of the base's bind call (for messages naming both binders). */
  bindLines: Map<string, number>;
  /** bind expression → what answers there: an HTTP server, a ZMQ socket, a plain TCP server. */
  bindKinds: Map<string, 'http' | 'zmq' | 'tcp'>;
  /**
   * The host the base's health server binds and what chooses it, read from its bind call (the reference
   * BaseAgent: `os.environ.get("AGENT_HOST") or "127.0.0.1"`, through the attribute it stores that in),
   * with the line of that bind. Absent when the base is known from a profile or its host cannot be read.
   */
  healthHost?: (BindHost & { line: number }) | null;
  /**
   * Teardown methods that run their work once however often they are called (a guard `if self._stopped:
   * return` first, also under a lock, or a body that only calls such a method): read from the source.
   */
  idempotentTeardown: Set<string>;
  /**
   * method -> the one method of self its whole body calls, with no arguments (the reference BaseAgent's
   * `def cleanup(self): self.stop()` -> stop): calling the base's method is calling self.<that>(), the
   * agent's override of it included. Read from the source; absent when known from a profile.
   */
  delegates?: Map<string, string>;
  /**
   * method → how many positional arguments it takes besides self (Infinity with `*args`), read from
   * the source; absent when known from a profile (unknown: a caller handing arguments may not fit).
   */
  positionalArity?: Map<string, number>;
  /**
   * method -> its parameters besides self as written (`events`, `limit=100`) and their shape (names and kinds,
   * not defaults or annotations: `events`, `limit=`), read from the source; absent when known from a profile.
   * Two defs of one name with parameters of other shapes are two methods that only share the name.
   */
  signatures?: Map<string, { text: string; shape: string }>;
  /**
   * The base's own "publish these events, or keep them in its local queue" method (seed 001's
   * `_publish_with_retry(events)`): one events parameter, reaches the publisher it was given, puts
   * what it could not send into the local queue it was given, and answers only True or False.
   * Read from the source; null when the base has none of that shape (or is known from a profile).
   */
  queuedPublish?: string | null;
  /**
   * The hook after which the base closes the publisher it was given when it stops (seed 001's teardown:
   * `self.shutdown()`, then `close = getattr(self.eventbus_publisher, "close", None); close()`), or null
   * when the base never closes it (or is known from a profile): read from the source.
   */
  closesPublisherAfter?: string | null;
  /**
   * The base method whose text the base's own HTTP server answers on GET /metrics (`_metrics_text` on the
   * reference BaseAgent), read from the source; null when the base serves no /metrics (or is known from a
   * profile): an agent's own /metrics samples have no home on such a base.
   */
  metricsHook?: string | null;
  /**
   * The GET paths the base's own HTTP server answers (`/health`, `/metrics`: the strings its handler compares
   * the request path with) and the status it answers any other path with (404), read from the source (from
   * the profile's runtime template when the repository lacks it); null when it routes no path, absent when
   * nothing is known. A legacy probe path (/ping) outside `paths` is not answered by the _v2.
   */
  httpRoutes?: { paths: string[]; otherwise: number | null } | null;
  /**
   * The base method whose mapping (GET path -> callable answering `(code, content_type, body)`) its HTTP
   * server looks other paths up in (`agent._extra_routes().get(path)` on the reference BaseAgent), read from
   * the source; null when the base has none (an older copy, the production-like base): a legacy route then
   * has no home on the health port.
   */
  extraRoutes?: string | null;
  /**
   * The base method an agent records a sample with, read from its source: `report_metric(name, value,
   * **labels)` on the reference BaseAgent, which adds `value` to a name ending in `counterSuffix` (a counter)
   * and sets any other (a gauge). Null when the base has no method of that proven shape.
   */
  reportMetric?: { method: string; counterSuffix: string } | null;
  /**
   * method -> the healthy word it reports as its status (`ok`, `healthy`; read from the source, from the
   * profile's runtime template when the repository lacks it): what the health hook's override compares a
   * legacy payload's status with. Absent when nothing is known.
   */
  healthWords?: Map<string, string>;
  /**
   * Methods of healthWords that can also report a failing status (the base's `"ok" if ... else "error"`):
   * a legacy status the health hook's override adds is written only while the base says its healthy word.
   */
  healthFails?: Set<string>;
  /** The HTTP code its health server answers a status that is not its healthy word (see baseFailingHealthCode). */
  healthFailCode?: number | null;
  /** The method a subclass overrides to choose that code per status (see baseHealthCodeHook); null when the base decides it inline. */
  healthCodeHook?: string | null;
  /**
   * method -> the keys its health answer carries (read from the source, from the profile's runtime
   * template when the repository lacks it; see baseHealthKeys). Absent when nothing is known.
   */
  healthKeys?: Map<string, BaseHealthKeys>;
  /**
   * The keys of the record the base registers the agent with (the dict a method posting to a `/register`
   * path sends, or returns from a method of its own it calls there: `_registration_record()`); null when
   * the base registers nothing of that shape (or is known from a profile).
   */
  registrationRecord?: string[] | null;
  /** The base method answering that record (`_registration_record()`: returns a dict with "name" and "port"), which an agent can override to add fields; null when there is none. */
  registrationRecordMethod?: string | null;
  /**
   * Where the base reads the registry it registers with, read from its source (from the profile's runtime
   * template when the repository lacks it): the attribute its `/register` post reads (`registry_url`), set
   * in __init__ from an environment variable with no default (`os.environ.get("REGISTRY_URL")`), and the
   * method __init__ calls that first reads it (`_register_service`, which registers nowhere while it is
   * unset). An override of that method can give the attribute a default before the base reads it. Null
   * when the base's registry is not of that shape; absent when nothing is known.
   */
  registryUrl?: { attr: string; env: string; method: string } | null;
  /**
   * The method the base's __init__ calls to register the agent: registryUrl's method, else the first method
   * __init__ calls whose code reads a registry variable or posts to a `/register` path (a production
   * BaseAgent's `_register_service()`). Null when __init__ registers nothing (HardenedAgentBase registers from
   * its main loop: see registrationRecord).
   */
  registerMethod?: string | null;
  /**
   * The event the base's stop() sets before it deregisters the agent (`_base_stop_event` on the reference
   * BaseAgent: `threading.Event()` in __init__, `.set()` in stop() ahead of the deregistration): a loop of the
   * agent's waiting on it in place of a sleep wakes at stop, before the registration is gone. Null when the
   * base has no such event; absent when nothing is known.
   */
  stopEvent?: string | null;
  /**
   * The base method that posts the agent's record to the registry once, taking nothing but self
   * (`_register_once()` on the reference BaseAgent: its own body names the `/register` path; it raises when
   * the registry does not answer). Null when the base has none; absent when nothing is known.
   */
  registerOnce?: string | null;
  /**
   * Methods the base calls exactly once per GET of its HTTP handler (`agent._get_health_status()` in the
   * nested handler's do_GET, on the reference BaseAgent once per GET /health) and nowhere else it runs: a
   * base method calling it on self (`handle_request`) is one the base itself never calls, runs in no thread
   * and installs for no signal. Code moved into such a method runs once per probe. `_extra_routes()` is one too
   * (asked once per GET of any other path): callers ask for the hook they mean. Absent when nothing is known.
   */
  probeHooks?: Set<string>;
  /**
   * Does the base close its listening sockets in a process forked after its constructor (os.register_at_fork)?
   * Learned from source; undefined from a profile.
   */
  closesHealthInForkedChild?: boolean;
  /**
   * The handler the base's constructor gives its own logger (`self.logger.addHandler(StreamHandler(...))` in a
   * method __init__ runs): its line, the logger's name argument as written (`self.name`), whether it is skipped
   * when that logger already has handlers (`if self.logger.handlers: return`) and when the root logger has
   * (`if not logging.getLogger().handlers:`), whether it then stops the logger propagating to the root's. Null when __init__ adds none (a base configuring logging in its
   * main loop, after the agent's whole __init__). Learned from source; undefined from a profile.
   */
  initLogHandler?: { method: string; line: number; loggerName: string; unlessHandlers: boolean; unlessRootHandlers: boolean; propagateOff: boolean } | null;
  learnedFrom: 'source' | 'profile';
  sourceFile?: string;
}

const cache = new Map<string, BaseModel>();

/**
 * Per base file, the digest of its text when it was last read, with the file's identity then
 * (inode, size, modification and change times): a file with the same identity is not read again.
 * Every rewrite asks for the base twice (its own run and the idempotency pass), and reading and
 * decoding the base each time cost more than the rest of this lookup. The digest, not the length:
 * an edit that keeps the length (a timeout of 30 made 60) is another base.
 */
const digests = new Map<string, { identity: string; digest: string }>();
forgetOnReset(() => digests.clear());

/**
 * What a base's text teaches, per text and class, wherever the file is: one process validating or
 * rewriting in several repositories holding the same base (the reference one `migrate init`
 * copies; each test case's own temporary repository) parsed and walked that base again for each,
 * 20-35 ms of CPU a time. Only the file it was read from differs (sourceFile). Null: the text does
 * not parse or has no such class.
 */
const learned = new Map<string, BaseModel | null>();

function textDigest(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** The digest of the base file's text ('' when there is none or it is empty), read only when the file changed. */
function baseDigest(file: string): { digest: string; text?: string } {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return { digest: '' };
  const identity = st.isFile() ? `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : '';
  const known = identity ? digests.get(file) : undefined;
  if (known && known.identity === identity) return { digest: known.digest };
  const text = readFileSync(file, 'utf8');
  const digest = text ? textDigest(text) : '';
  if (identity) digests.set(file, { identity, digest });
  return { digest, text };
}

function learnOnce(text: string, digest: string, className: string, file: string): BaseModel | null {
  const key = `${digest}|${className}`;
  const known = learned.get(key);
  if (known === undefined) {
    const model = learnFromSource(text, className, file);
    learned.set(key, model);
    return model;
  }
  return known && known.sourceFile !== file ? { ...known, sourceFile: file } : known;
}

export function loadBaseModel(root: string, profile: PythonProfile, className: string): BaseModel {
  // At the profile's source from the root, or where the repository keeps it (src/amoskys/...).
  const file = findPythonBase(root, profile, className);
  const key = `${file ?? (profile.source ? path.join(root, profile.source) : '')}|${className}|`;
  const seen = file ? baseDigest(file) : { digest: '' };
  const cached = cache.get(key + seen.digest);
  if (cached) return cached;
  // Not in the cache: the text is needed after all (known files are read again, once).
  const text = seen.digest ? (seen.text ?? readFileSync(file!, 'utf8')) : '';
  const digest = text ? (seen.text !== undefined ? seen.digest : textDigest(text)) : '';
  let model: BaseModel | null = null;
  if (text) model = learnOnce(text, digest, className, file!);
  model ??= withTemplateHealthWords(fromProfile(profile, className), profile, className);
  cache.set(key + digest, model);
  return model;
}

export function fromProfile(profile: PythonProfile, className: string): BaseModel {
  return {
    className,
    attributes: new Map(profile.fallback.owned_attributes.map((a) => [a, null])),
    initValues: new Map(),
    methods: new Set(profile.fallback.methods),
    initCalls: new Set(profile.fallback.init_calls),
    errorPathCalls: new Set(),
    shutdownCalls: new Set(['cleanup']),
    loopFinallyCalls: new Set(),
    signalCalls: { handlers: new Set(), graph: new Map() },
    requestLoop: null,
    periodicHook: null,
    initParams: ['name', ...Object.keys(profile.super_call.pass_through ?? {})],
    initDefaults: new Map(),
    binds: (profile.base_binds ?? ['port', 'health_check_port']).map(normPort),
    bindLines: new Map(),
    bindKinds: new Map(),
    assignedIn: new Map(),
    readsAfterInit: new Set(profile.fallback.owned_attributes),
    readsDuringInit: new Set(profile.fallback.owned_attributes),
    selfCalls: new Set([...profile.fallback.methods, ...(profile.hooks ?? [])]),
    values: new Map(),
    threadDriven: new Set(['health_socket', 'health_thread']),
    handlesSignals: profile.remove.includes('signal'),
    signalsAtInit: profile.remove.includes('signal'),
    idempotentTeardown: new Set(),
    queuedPublish: profile.fallback.queued_publish ?? null,
    learnedFrom: 'profile',
  };
}

/**
 * A base known only from its profile: the health words of the runtime template the profile ships (the
 * base `migrate init` copies), when it has that class; else none (the reference BaseAgent's are assumed).
 */
function withTemplateHealthWords(model: BaseModel, profile: PythonProfile, className: string): BaseModel {
  if (!profile.runtime_template) return model;
  try {
    const source = readFileSync(path.join(templatesDir(), profile.runtime_template), 'utf8');
    const tree = parsePython(source);
    const cls = firstSyntaxError(tree) ? undefined : buildModuleModel(source, tree).classes.find((c) => c.name === className);
    if (cls) {
      model.healthWords = baseHealthWords(cls);
      model.healthFails = baseFailingStatus(cls);
      model.healthFailCode = baseFailingHealthCode(cls);
      model.healthCodeHook = baseHealthCodeHook(cls);
      model.healthKeys = baseHealthKeys(cls);
      model.registryUrl = registryUrlOf(cls);
      // Whether (and with what) the base registers the agent: what own-registration and registry-send ask.
      model.registrationRecord = registrationRecord(cls);
      model.registerMethod = registerMethodOf(cls);
      model.stopEvent = stopEventOf(cls);
      model.registerOnce = registerOnceOf(cls);
      model.probeHooks = probeHooksOf(cls);
      model.healthHost = basePorts(cls, tree.rootNode, new Map()).healthHost;
      model.httpRoutes = httpRoutesOf(cls);
    }
  } catch {
    // no template: nothing known of the base's health words
  }
  return model;
}

export function learnFromSource(source: string, className: string, file: string): BaseModel | null {
  const tree = parsePython(source);
  if (firstSyntaxError(tree)) return null;
  const mod = buildModuleModel(source, tree);
  const cls = mod.classes.find((c) => c.name === className);
  if (!cls) return null;
  return modelOfClass(cls, file, tree.rootNode);
}

/** Calls that install a method to run later (at shutdown), not now. */
const SHUTDOWN_INSTALLER = /(^|\.)signal$|atexit\.register$/;

function modelOfClass(cls: PyClass, file: string, root: SyntaxNode): BaseModel {
  const attributes = new Map<string, string | null>();
  const initValues = new Map<string, string>();
  const assignedIn = new Map<string, Set<string>>();
  const values = new Map<string, string[]>();
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
          const v = n.childForFieldName('right')?.text;
          if (v && n.type === 'assignment') values.set(attr, [...(values.get(attr) ?? []), v]);
        }
      }
    });
  }
  // Methods reachable from __init__: self.m(...) calls and self.m passed as a callback
  // (thread targets, timers) both run before the subclass's own __init__ continues. A call
  // inside an `except` clause runs only when the base failed: reached only that way, it is
  // an error-path call (an override of it runs early only on a failed start).
  const reach = (followErrorPaths: boolean) => {
    const calls = new Set<string>();
    const targets = new Set<string>();
    const queue = ['__init__'];
    while (queue.length) {
      const name = queue.shift()!;
      const m = cls.methods.get(name);
      if (!m) continue;
      walk(m.body, (n) => {
        if (n.type === 'class_definition') return false;
        if (!followErrorPaths && n.type === 'except_clause') return false;
        const attr = selfAttribute(n);
        if (attr && cls.methods.has(attr) && attr !== '__init__' && !calls.has(attr)) {
          const parent = n.parent;
          const called = parent?.type === 'call' && parent.childForFieldName('function')?.id === n.id;
          // Passed as a thread or timer target it runs now; installed as a signal handler it runs at shutdown.
          const call = parent?.type === 'argument_list' ? parent.parent : parent?.type === 'keyword_argument' ? parent.parent?.parent : null;
          const installer = call?.type === 'call' ? call.childForFieldName('function')?.text ?? '' : '';
          const passed = (parent?.type === 'keyword_argument' || parent?.type === 'argument_list') && !SHUTDOWN_INSTALLER.test(installer);
          if (called || passed) {
            calls.add(attr);
            queue.push(attr);
          }
          if (passed) targets.add(attr);
        }
      });
    }
    return { calls, targets };
  };
  const normal = reach(false);
  const all = reach(true);
  const initCalls = normal.calls;
  const errorPathCalls = new Set([...all.calls].filter((m) => !initCalls.has(m)));
  const threadTargets = normal.targets;
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
  const installsSignals = (scope: SyntaxNode) => {
    let found = false;
    walk(scope, (n) => {
      if (n.type === 'call' && /^(signal\.)?signal$/.test(n.childForFieldName('function')?.text ?? '')) found = true;
    });
    return found;
  };
  const handlesSignals = installsSignals(cls.body);
  const signalsAtInit = ['__init__', ...initCalls].some((name) => cls.methods.has(name) && installsSignals(cls.methods.get(name)!.body));
  const { binds, bindLines, bindKinds, healthHost } = basePorts(cls, root, initValues);
  const readsAfterInit = new Set<string>();
  const selfCalls = new Set<string>();
  walk(cls.node, (n) => {
    if (n.type !== 'call') return;
    const m = selfAttribute(n.childForFieldName('function')!);
    if (m) selfCalls.add(m);
  });
  for (const m of cls.methods.values()) {
    if (m.name === '__init__') continue;
    walk(m.body, (n) => {
      const a = selfAttribute(n);
      if (!a) return;
      const p = n.parent;
      const stored = (p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.childForFieldName('left')?.id === n.id && p.type === 'assignment';
      if (!stored) readsAfterInit.add(a);
    });
  }
  const readsDuringInit = new Set<string>();
  for (const name of ['__init__', ...initCalls]) {
    const m = cls.methods.get(name);
    if (!m) continue;
    walk(m.body, (n) => {
      const a = selfAttribute(n);
      const p = n.parent;
      if (a && !(p?.type === 'assignment' && p.childForFieldName('left')?.id === n.id)) readsDuringInit.add(a);
    });
  }
  const { requestLoop, periodicHook, shutdownCalls, loopFinallyCalls } = lifecycle(cls);
  const signalCalls = signalGraph(cls);
  const init = cls.methods.get('__init__');
  const initParams = init ? init.params.filter((p) => p.name !== 'self' && p.kind !== 'separator').map((p) => p.name) : [];
  const initDefaults = new Map<string, string>();
  for (const p of init?.params ?? []) if (p.kind === 'default' && p.default) initDefaults.set(p.name, p.default.text);
  return {
    className: cls.name,
    attributes,
    initValues,
    methods: new Set(cls.methods.keys()),
    initCalls,
    errorPathCalls,
    shutdownCalls,
    loopFinallyCalls,
    signalCalls,
    requestLoop,
    periodicHook,
    initParams,
    initDefaults,
    binds,
    bindLines,
    bindKinds,
    assignedIn,
    readsAfterInit,
    readsDuringInit,
    selfCalls,
    values,
    threadDriven,
    handlesSignals,
    signalsAtInit,
    idempotentTeardown: idempotentMethods(cls),
    delegates: delegateMethods(cls),
    positionalArity: new Map([...cls.methods].map(([n, m]) => [n, positionalArity(m.params)])),
    signatures: new Map([...cls.methods].map(([n, m]) => [n, parameterList(m.params)])),
    queuedPublish: queuedPublishMethod(cls),
    closesPublisherAfter: publisherCloseAfter(cls),
    metricsHook: metricsMethod(cls),
    httpRoutes: httpRoutesOf(cls),
    extraRoutes: extraRoutesMethod(cls),
    reportMetric: reportMetricMethod(cls),
    healthWords: baseHealthWords(cls),
    healthFails: baseFailingStatus(cls),
    healthFailCode: baseFailingHealthCode(cls),
    healthCodeHook: baseHealthCodeHook(cls),
    healthKeys: baseHealthKeys(cls),
    registrationRecord: registrationRecord(cls),
    registrationRecordMethod: registrationRecordMethod(cls),
    registryUrl: registryUrlOf(cls),
    registerMethod: registerMethodOf(cls),
    stopEvent: stopEventOf(cls),
    registerOnce: registerOnceOf(cls),
    probeHooks: probeHooksOf(cls),
    healthHost,
    closesHealthInForkedChild: /\bregister_at_fork\s*\(/.test(cls.node.text),
    initLogHandler: initLogHandler(cls, initCalls),
    learnedFrom: 'source',
    sourceFile: file,
  };
}

/** The string keys of a dict literal (null when one is not a plain string, or it spreads another). */
export function dictKeys(d: SyntaxNode): string[] | null {
  const out: string[] = [];
  for (const pair of d.namedChildren) {
    if (pair.type === 'comment') continue;
    const k = pair.type === 'pair' ? stringValue(pair.childForFieldName('key')!) : null;
    if (k === null) return null;
    out.push(k);
  }
  return out;
}

/** `os.environ.get("X")`, `os.getenv("X")` (no default): X; else null. */
function envNameWithoutDefault(v: SyntaxNode | null): string | null {
  if (v?.type !== 'call' || !/^os\.(environ\.get|getenv)$/.test(v.childForFieldName('function')?.text ?? '')) return null;
  const args = v.childForFieldName('arguments')?.namedChildren ?? [];
  return args.length === 1 ? stringValue(args[0]!) : null;
}

/** See BaseModel.registerMethod. */
function registerMethodOf(cls: PyClass): string | null {
  const known = registryUrlOf(cls)?.method;
  if (known) return known;
  const init = cls.methods.get('__init__');
  for (const st of init ? statements(init.body) : []) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const called = e?.type === 'call' ? selfAttribute(e.childForFieldName('function')!) : null;
    const m = called ? cls.methods.get(called) : undefined;
    if (m && /(environ(\.get)?[([]\s*|getenv\(\s*)["']\w*REGISTRY\w*["']|["'][^"']*\/register["']/.test(m.body.text)) return m.name;
  }
  return null;
}

/** See BaseModel.registryUrl. */
function registryUrlOf(cls: PyClass): { attr: string; env: string; method: string } | null {
  const init = cls.methods.get('__init__');
  if (!init) return null;
  // The attributes a method posting to a `/register` path reads.
  const read = new Set<string>();
  for (const m of cls.methods.values()) {
    if (!/["'][^"']*\/register["']/.test(m.body.text)) continue;
    walk(m.body, (n) => {
      const a = selfAttribute(n);
      if (a) read.add(a);
    });
  }
  // Assigned once, in __init__, from the environment with no default; then a call of __init__ reads it.
  let found: { attr: string; env: string } | null = null;
  for (const st of statements(init.body)) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (!found && e?.type === 'assignment') {
      const attr = selfAttribute(e.childForFieldName('left')!);
      const env = envNameWithoutDefault(e.childForFieldName('right'));
      const elsewhere = [...cls.methods.values()].some((m) => m.name !== '__init__' && new RegExp(`self\\.${attr}\\s*=[^=]`).test(m.body.text));
      if (attr && env && read.has(attr) && !elsewhere) found = { attr, env };
      continue;
    }
    if (found && e?.type === 'call') {
      const called = selfAttribute(e.childForFieldName('function')!);
      const m = called ? cls.methods.get(called) : undefined;
      if (m && new RegExp(`self\\.${found.attr}\\b`).test(m.body.text)) return { ...found, method: m.name };
    }
  }
  return null;
}

/** See BaseModel.probeHooks. */
function probeHooksOf(cls: PyClass): Set<string> {
  const out = new Set<string>();
  // The base's nested classes (its HTTP handler), and the calls on another object than self of their do_GET methods.
  const nested: SyntaxNode[] = [];
  walk(cls.body, (n) => {
    if (n.type !== 'class_definition') return;
    nested.push(n);
    return false;
  });
  const getCalls = new Map<string, number>();
  for (const c of nested) {
    walk(c, (n) => {
      if (n.type !== 'function_definition' || n.childForFieldName('name')?.text !== 'do_GET') return;
      walk(n, (k) => {
        const fn = k.type === 'call' ? k.childForFieldName('function') : null;
        const owner = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
        if (owner?.type === 'identifier' && owner.text !== 'self') {
          const name = fn!.childForFieldName('attribute')!.text;
          getCalls.set(name, (getCalls.get(name) ?? 0) + 1);
        }
      });
      return false;
    });
  }
  const nestedText = nested.map((c) => c.text).join('\n');
  // The base's own methods naming m on self (called, handed to a thread, installed for a signal), m itself aside.
  const namedBy = (m: string) => [...cls.methods.values()].filter((f) => f.name !== m && new RegExp(`\\bself\\.${m}\\b`).test(f.body.text));
  // A method nothing of the base runs: no other method names it, its handler does not call it.
  const quiet = (m: string) => !namedBy(m).length && !new RegExp(`\\.${m}\\b`).test(nestedText);
  for (const [name, count] of getCalls) {
    if (count !== 1 || !cls.methods.has(name)) continue;
    if (namedBy(name).every((f) => quiet(f.name))) out.add(name);
  }
  return out;
}

/** See BaseModel.registerOnce. */
function registerOnceOf(cls: PyClass): string | null {
  for (const [name, m] of cls.methods) {
    if (name.startsWith('__') || m.params.some((p) => p.name !== 'self')) continue;
    let posts = false;
    walk(m.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      const v = n.type === 'string' ? stringValue(n) : null;
      if (v !== null && /^\/?register\/?$/.test(v.trim())) posts = true;
    });
    if (posts) return name;
  }
  return null;
}

/** See BaseModel.stopEvent. */
function stopEventOf(cls: PyClass): string | null {
  const init = cls.methods.get('__init__');
  const stop = cls.methods.get('stop');
  if (!init || !stop) return null;
  const events = new Set<string>();
  walk(init.body, (n) => {
    if (n.type !== 'assignment') return;
    const attr = selfAttribute(n.childForFieldName('left')!);
    if (attr && /^(threading\.)?Event\(\)$/.test(n.childForFieldName('right')?.text ?? '')) events.add(attr);
  });
  // Set in stop() before any call that deregisters (a `self._deregister()` after it).
  let found: string | null = null;
  let deregistered = false;
  walk(stop.body, (n) => {
    if (n.type !== 'call' || found) return;
    const fn = n.childForFieldName('function')!;
    const called = selfAttribute(fn);
    if (called && /(de|un)register/.test(called)) deregistered = true;
    const owner = fn.type === 'attribute' && fn.childForFieldName('attribute')!.text === 'set' ? selfAttribute(fn.childForFieldName('object')!) : null;
    if (owner && events.has(owner) && !deregistered) found = owner;
  });
  return found;
}

/** See BaseModel.registrationRecordMethod. */
function registrationRecordMethod(cls: PyClass): string | null {
  for (const [name, m] of cls.methods) {
    if (name.startsWith('__')) continue;
    let returns = false;
    walk(m.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      const k = n.type === 'dictionary' && n.parent?.type === 'return_statement' ? dictKeys(n) : null;
      if (k?.includes('name') && k.includes('port')) returns = true;
    });
    if (returns) return name;
  }
  return null;
}

/** See BaseModel.registrationRecord. */
function registrationRecord(cls: PyClass): string[] | null {
  const keys = new Set<string>();
  let found = false;
  const dicts = (body: SyntaxNode, returnsOnly: boolean) => {
    walk(body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type !== 'dictionary' || (returnsOnly && n.parent?.type !== 'return_statement')) return;
      const k = dictKeys(n);
      if (k?.includes('name') && k.includes('port')) {
        found = true;
        k.forEach((x) => keys.add(x));
      }
    });
  };
  for (const m of cls.methods.values()) {
    if (!/["'][^"']*\/register["']/.test(m.body.text)) continue;
    dicts(m.body, false);
    walk(m.body, (n) => {
      if (n.type !== 'call') return;
      const called = selfAttribute(n.childForFieldName('function')!);
      const target = called ? cls.methods.get(called) : undefined;
      if (target) dicts(target.body, true);
    });
  }
  return found ? [...keys] : null;
}

/**
 * The base method answered on GET /metrics: inside the base's methods (its nested handler classes too), an
 * `if`/`elif` whose condition compares a path with "/metrics", whose branch calls a method of the base on
 * the agent (`agent._metrics_text()`, `self._metrics_text()`). Null when there is none.
 */
/**
 * See BaseModel.reportMetric: a method `(self, name, value, ...)` whose body is `if name.endswith("<suffix>"):`
 * storing `<store>.get(<key>, 0) + value` (the counter grows by value), else storing `value` itself (the gauge).
 */
function reportMetricMethod(cls: PyClass): { method: string; counterSuffix: string } | null {
  for (const [name, m] of cls.methods) {
    const [self, n, v] = m.params;
    if (!self || !n || !v || n.kind !== 'plain' || v.kind !== 'plain') continue;
    let found: string | null = null;
    walk(m.body, (node) => {
      if (found !== null || node.type !== 'if_statement') return;
      const cond = node.childForFieldName('condition');
      const suffix = cond ? new RegExp(`^${n.name}\\.endswith\\((["'])(\\w+)\\1\\)$`).exec(cond.text.replace(/\s+/g, '')) : null;
      const alt = node.namedChildren.filter((c) => c.type === 'else_clause' || c.type === 'elif_clause');
      if (!suffix || alt.length !== 1 || alt[0]!.type !== 'else_clause') return;
      const adds = node.childForFieldName('consequence')!.text.replace(/\s+/g, '');
      const sets = alt[0]!.text.replace(/\s+/g, '');
      if (new RegExp(`^\\S+=\\S+\\.get\\([^,]+,0\\)\\+${v.name}$`).test(adds) && new RegExp(`^else:\\S+=${v.name}$`).test(sets)) found = suffix[2]!;
    });
    if (found !== null) return { method: name, counterSuffix: found };
  }
  return null;
}

/** See BaseModel.initLogHandler: the handler (the one the root's handlers make it skip, else the first) added to `self.<logger>` in __init__ or a method it runs. */
function initLogHandler(cls: PyClass, initCalls: Set<string>): BaseModel['initLogHandler'] {
  const found: NonNullable<BaseModel['initLogHandler']>[] = [];
  for (const name of ['__init__', ...initCalls]) {
    const m = cls.methods.get(name);
    if (!m) continue;
    // `self.logger = logging.getLogger(self.name)`: the logger attribute and its name argument.
    const loggers = new Map<string, string>();
    walk(m.body, (n) => {
      if (n.type !== 'assignment') return;
      const attr = selfAttribute(n.childForFieldName('left')!);
      const right = n.childForFieldName('right');
      if (attr && right?.type === 'call' && /(^|\.)getLogger$/.test(callee(right) ?? '')) loggers.set(attr, right.childForFieldName('arguments')!.namedChildren[0]?.text ?? '');
    });
    walk(m.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition') return false;
      if (n.type !== 'call' || !/\.addHandler$/.test(callee(n) ?? '')) return;
      const attr = selfAttribute(n.childForFieldName('function')!.childForFieldName('object')!);
      const loggerName = attr ? loggers.get(attr) : undefined;
      if (loggerName === undefined) return;
      // Guards: an earlier `if <...>.handlers: return` of the method's body, an enclosing `if not logging.getLogger().handlers:`.
      const before = statements(m.body).filter((st) => st.endIndex <= n.startIndex);
      const unlessHandlers = before.some((st) => st.type === 'if_statement' && new RegExp(`^self\\.${attr}\\.handlers$`).test(st.childForFieldName('condition')!.text.replace(/\s+/g, '')) &&
        /^return\b/.test(statements(st.childForFieldName('consequence')!)[0]?.text ?? ''));
      let unlessRootHandlers = false;
      for (let p = n.parent; p && p.id !== m.body.id; p = p.parent) {
        if (p.type === 'if_statement' && /^notlogging\.getLogger\(\)\.handlers$/.test(p.childForFieldName('condition')!.text.replace(/\s+/g, ''))) unlessRootHandlers = true;
      }
      const propagateOff = new RegExp(`\\bself\\.${attr}\\.propagate\\s*=\\s*False\\b`).test(m.body.text);
      found.push({ method: name, line: n.startPosition.row + 1, loggerName, unlessHandlers, unlessRootHandlers, propagateOff });
    });
  }
  // The reference base's file handler is the deployment's choice (AGENT_LOG_FILE); its stderr one is the default.
  return found.find((f) => f.unlessRootHandlers) ?? found[0] ?? null;
}

/**
 * See BaseModel.httpRoutes: the paths compared with the request path (`path == "/health"`) in if/elif
 * conditions of the base's methods (its nested handler classes too), and the status code of the chain's
 * final `else:` (`self._send(404, ...)`, `self.send_error(404)`).
 */
function httpRoutesOf(cls: PyClass): { paths: string[]; otherwise: number | null } | null {
  const paths = new Set<string>();
  let otherwise: number | null = null;
  for (const m of cls.methods.values()) {
    walk(m.body, (n) => {
      if (n.type !== 'if_statement') return;
      const conds = [n.childForFieldName('condition'), ...n.childrenForFieldName('alternative').map((a) => a.childForFieldName('condition'))];
      const routed = conds.flatMap((c) => (c && /\bpath\b/.test(c.text) && !/!=|\bnot\b/.test(c.text) ? conditionPaths(c) : []));
      if (!routed.length) return;
      routed.forEach((p) => paths.add(p.replace(/\/+$/, '') || '/'));
      const last = n.childrenForFieldName('alternative').at(-1);
      const code = last?.type === 'else_clause' ? /\b([45]\d\d)\b/.exec(last.text) : null;
      if (code) otherwise ??= Number(code[1]);
    });
  }
  return paths.size ? { paths: [...paths].sort(), otherwise } : null;
}

/** See BaseModel.extraRoutes: a method of the base called as `<x>.<method>().get(...)` in its code (the path looked up). */
function extraRoutesMethod(cls: PyClass): string | null {
  let found: string | null = null;
  for (const m of cls.methods.values()) {
    walk(m.body, (n) => {
      if (found || n.type !== 'call') return;
      const fn = n.childForFieldName('function');
      if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'get') return;
      const inner = fn.childForFieldName('object');
      const innerFn = inner?.type === 'call' ? inner.childForFieldName('function') : null;
      const name = innerFn?.type === 'attribute' ? innerFn.childForFieldName('attribute')?.text : undefined;
      if (name && cls.methods.has(name) && !inner!.childForFieldName('arguments')?.namedChildren.length) found = name;
    });
  }
  return found;
}

function metricsMethod(cls: PyClass): string | null {
  let found: string | null = null;
  for (const m of cls.methods.values()) {
    walk(m.body, (n) => {
      if (found) return false;
      const cond = n.type === 'if_statement' || n.type === 'elif_clause' ? n.childForFieldName('condition') : null;
      if (!cond || !/\bpath\b/.test(cond.text) || !/["']\/metrics["']/.test(cond.text) || /!=|\bnot\b/.test(cond.text)) return;
      walk(n.childForFieldName('consequence')!, (c) => {
        if (found || c.type !== 'call') return;
        const fn = c.childForFieldName('function');
        const attr = fn?.type === 'attribute' ? fn.childForFieldName('attribute')?.text : undefined;
        if (attr && fn!.childForFieldName('object')?.type === 'identifier' && cls.methods.has(attr)) found = attr;
      });
    });
  }
  return found;
}

/** The attribute __init__ stores its parameter `param` in (`self.q = q if q is not None else MemoryQueue()`). */
function storedParam(cls: PyClass, param: string): string | null {
  const init = cls.methods.get('__init__');
  if (!init || !init.params.some((p) => p.name === param)) return null;
  let out: string | null = null;
  walk(init.body, (n) => {
    if (out || n.type !== 'assignment') return;
    const attr = selfAttribute(n.childForFieldName('left')!);
    let reads = false;
    walk(n.childForFieldName('right') ?? n, (x) => {
      if (x.type === 'identifier' && x.text === param && x.parent?.type !== 'attribute') reads = true;
    });
    if (attr && reads) out = attr;
  });
  return out;
}

/**
 * The hook a method of the base calls right before closing the publisher it was given (`self.shutdown()`
 * and then `self.<publisher>.close()`, or `getattr(self.<publisher>, "close", None)` called): the base
 * closes the agent's publisher when it stops, after that hook. Null when no method of the base does both.
 */
function publisherCloseAfter(cls: PyClass): string | null {
  const publisher = storedParam(cls, 'eventbus_publisher');
  if (!publisher) return null;
  for (const m of cls.methods.values()) {
    let closeAt = -1;
    const hooks: Array<{ name: string; at: number }> = [];
    walk(m.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'call') return;
      const fn = n.childForFieldName('function')!;
      const args = n.childForFieldName('arguments')?.namedChildren ?? [];
      // self.<publisher>.close()
      const direct = fn.type === 'attribute' && fn.childForFieldName('attribute')!.text === 'close' && selfAttribute(fn.childForFieldName('object')!) === publisher;
      // getattr(self.<publisher>, "close", ...)
      const looked = fn.type === 'identifier' && fn.text === 'getattr' && !!args[0] && selfAttribute(args[0]) === publisher && /^["']close["']$/.test(args[1]?.text ?? '');
      if ((direct || looked) && closeAt < 0) closeAt = n.startIndex;
      const hook = selfAttribute(fn);
      if (hook && cls.methods.has(hook) && args.length === 0) hooks.push({ name: hook, at: n.startIndex });
    });
    // A hook for subclasses: the base's own body is a docstring or `pass` only (`def shutdown(self): """..."""`).
    const hookLike = (name: string) => statements(cls.methods.get(name)!.body).every((st) => st.type === 'pass_statement' || (st.type === 'expression_statement' && st.namedChild(0)?.type === 'string'));
    const before = hooks.filter((h) => closeAt >= 0 && h.at < closeAt && hookLike(h.name));
    if (before.length) return before[before.length - 1]!.name;
  }
  return null;
}

/**
 * The base method that publishes a list of events through the publisher it was given and keeps what
 * it could not send in the local queue it was given, answering True (sent) or False (kept): what a
 * migrated agent's business code may call where it published at once through its own publish.
 */
function queuedPublishMethod(cls: PyClass): string | null {
  const publisher = storedParam(cls, 'eventbus_publisher');
  const queue = storedParam(cls, 'local_queue');
  if (!publisher || !queue) return null;
  // Methods reaching self.<publisher> (directly or through other methods of the base).
  const reaches = (name: string, seen = new Set<string>()): boolean => {
    const m = cls.methods.get(name);
    if (!m || seen.has(name)) return false;
    seen.add(name);
    let hit = false;
    walk(m.body, (n) => {
      if (hit || n.type === 'function_definition' || n.type === 'class_definition') return false;
      const a = selfAttribute(n);
      if (a === publisher || (a && cls.methods.has(a) && reaches(a, seen))) hit = true;
    });
    return hit;
  };
  const found: string[] = [];
  for (const m of cls.methods.values()) {
    if (m.name.startsWith('__') || m.isAsync) continue;
    const params = m.params.filter((p) => p.name !== 'self' && p.kind !== 'separator');
    if (params.length !== 1 || params[0]!.kind !== 'plain') continue;
    let enqueues = false;
    const answers = new Set<string>();
    let other = false;
    walk(m.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type === 'call') {
        const fn = n.childForFieldName('function');
        const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
        if (obj && selfAttribute(obj) === queue) enqueues = true;
      }
      if (n.type === 'return_statement') {
        const v = n.namedChild(0);
        if (v?.type === 'true' || v?.type === 'false') answers.add(v.type);
        else other = true;
      }
    });
    if (enqueues && !other && answers.has('true') && answers.has('false') && reaches(m.name)) found.push(m.name);
  }
  return found.length === 1 ? found[0]! : null;
}

/** Methods whose work runs once: a leading `if self.<flag>: return` (under a `with` too), or a body calling only such a method. */
/** See BaseModel.delegates. */
function delegateMethods(cls: PyClass): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of cls.methods.values()) {
    const callee = soleSelfCall(m.body);
    if (callee && callee !== m.name && cls.methods.has(callee)) out.set(m.name, callee);
  }
  return out;
}

/** The method a body made of one no-argument `self.<method>()` call (a docstring aside) calls. */
function soleSelfCall(block: SyntaxNode): string | null {
  const body = block.namedChildren.filter((st) => !(st.type === 'expression_statement' && st.namedChild(0)?.type === 'string') && st.type !== 'comment');
  const only = body.length === 1 && body[0]!.type === 'expression_statement' ? body[0]!.namedChild(0) : null;
  return only?.type === 'call' && (only.childForFieldName('arguments')?.namedChildCount ?? 0) === 0 ? selfAttribute(only.childForFieldName('function')!) : null;
}

function idempotentMethods(cls: PyClass): Set<string> {
  const out = new Set<string>();
  const guarded = (block: SyntaxNode): boolean => {
    const first = block.namedChildren.find((st) => !(st.type === 'expression_statement' && st.namedChild(0)?.type === 'string'));
    if (!first) return false;
    if (first.type === 'with_statement') return guarded(first.childForFieldName('body')!);
    if (first.type !== 'if_statement' || first.childrenForFieldName('alternative').length) return false;
    const cond = first.childForFieldName('condition')!;
    const body = first.childForFieldName('consequence')!;
    return /^(not\s+)?self\.\w+$/.test(cond.text.trim()) && body.namedChildren.length >= 1 &&
      body.namedChildren.some((st) => st.type === 'return_statement' && st.namedChildCount === 0);
  };
  for (const m of cls.methods.values()) if (guarded(m.body)) out.add(m.name);
  for (let changed = true; changed; ) {
    changed = false;
    for (const m of cls.methods.values()) {
      if (out.has(m.name)) continue;
      const body = m.body.namedChildren.filter((st) => !(st.type === 'expression_statement' && st.namedChild(0)?.type === 'string'));
      const only = body.length === 1 && body[0]!.type === 'expression_statement' ? body[0]!.namedChild(0) : null;
      const callee = only?.type === 'call' && (only.childForFieldName('arguments')?.namedChildCount ?? 0) === 0 ? selfAttribute(only.childForFieldName('function')!) : null;
      if (callee && out.has(callee)) {
        out.add(m.name);
        changed = true;
      }
    }
  }
  return out;
}

/** A port expression in terms of the base's port roles: "port", "health_check_port", either plus N. */
const ROLE_PORT = /^(port|health_check_port)(\+\d+)?$/;

/**
 * The ports the base binds, read from its bind calls (socket binds and servers, its own server
 * subclasses included), with attributes resolved to the roles they derive from
 * (`self.http_health_port = self.health_check_port + 1` → "health_check_port+1").
 */
function basePorts(cls: PyClass, root: SyntaxNode, initValues: Map<string, string>): Pick<BaseModel, 'binds' | 'bindLines' | 'bindKinds' | 'healthHost'> {
  const servers = serverSubclasses(root);
  const resolve = (expr: string, depth = 0): string | null => {
    if (ROLE_PORT.test(expr)) return expr;
    if (depth > 4) return null;
    const m = /^([A-Za-z_]\w*)(?:\+(\d+))?$/.exec(expr);
    if (!m) return null;
    const value = initValues.get(m[1]!);
    if (!value) return null;
    const inner = resolve(normPort(value), depth + 1);
    if (!inner) return null;
    const off = Number(/\+(\d+)$/.exec(inner)?.[1] ?? 0) + Number(m[2] ?? 0);
    return off ? `${inner.replace(/\+\d+$/, '')}+${off}` : inner.replace(/\+\d+$/, '');
  };
  const bindLines = new Map<string, number>();
  const bindKinds = new Map<string, 'http' | 'zmq' | 'tcp'>();
  const httpServers = new Set([...servers].filter((c) => isHttpServer(root, c)));
  let healthHost: BaseModel['healthHost'] = null;
  // An HTTP server on a port no role names (seed 001's `Server((self._hb_host, port or 0), Handler)`): its host.
  let httpHost: BaseModel['healthHost'] = null;
  const hostOf = (arg: SyntaxNode, line: number): BaseModel['healthHost'] => {
    // Written there, or an attribute __init__ set (`self._base_host = os.environ.get(...) or ...`).
    const h = arg.type === 'tuple' ? arg.namedChild(0) : null;
    const attr = h ? selfAttribute(h) : null;
    const host = bindHostOf(attr ? initValueNode(cls, attr) : h);
    return host ? { ...host, line } : null;
  };
  walk(cls.node, (n) => {
    if (n.type !== 'call') return;
    const arg = bindArgument(n, servers);
    const expr = arg ? portExpression(arg.text) : null;
    const role = expr ? resolve(expr) : null;
    const fn = callee(n) ?? '';
    if (!role && arg && !httpHost && (/HTTPServer$/.test(fn) || httpServers.has(fn))) httpHost = hostOf(arg, n.startPosition.row + 1);
    if (!role || bindLines.has(role)) return;
    // A probe on a local socket (`sock.bind(("localhost", port)); sock.close()` to find a free
    // port) is not where the base listens: only its own attributes' sockets and servers are.
    if (/\.bind$/.test(fn) && !selfAttribute(n.childForFieldName('function')!.childForFieldName('object')!)) return;
    bindLines.set(role, n.startPosition.row + 1);
    if (role === 'health_check_port') healthHost = hostOf(arg!, n.startPosition.row + 1);
    if (/\.bind$/.test(fn)) {
      // self.health_socket.bind(...): what was that attribute made from?
      const obj = n.childForFieldName('function')!.childForFieldName('object')!;
      const attr = selfAttribute(obj);
      let zmq = false;
      if (attr) walk(cls.node, (x) => {
        if (x.type === 'assignment' && selfAttribute(x.childForFieldName('left')!) === attr && /\.socket\(\s*zmq\./.test(x.childForFieldName('right')?.text ?? '')) zmq = true;
      });
      bindKinds.set(role, zmq ? 'zmq' : 'tcp');
    } else bindKinds.set(role, /HTTPServer$/.test(fn) || httpServers.has(fn) ? 'http' : 'tcp');
  });
  return { binds: [...bindLines.keys()], bindLines, bindKinds, healthHost: healthHost ?? httpHost };
}

/** The value node of `self.<attr> = ...` in the class's __init__ (the only assignment there), or null. */
function initValueNode(cls: PyClass, attr: string): SyntaxNode | null {
  const init = cls.methods.get('__init__');
  if (!init) return null;
  const found: SyntaxNode[] = [];
  walk(init.body, (n) => {
    if (n.type === 'assignment' && selfAttribute(n.childForFieldName('left')!) === attr) {
      const r = n.childForFieldName('right');
      if (r) found.push(r);
    }
  });
  return found.length === 1 ? found[0]! : null;
}

/** A server class of the module that derives from an HTTP server. */
function isHttpServer(root: SyntaxNode, name: string): boolean {
  let http = false;
  walk(root, (n) => {
    if (n.type === 'class_definition' && n.childForFieldName('name')?.text === name && /HTTPServer/.test(n.childForFieldName('superclasses')?.text ?? '')) http = true;
  });
  return http;
}

/**
 * What the base's run() and shutdown do, read from its code: whether run() receives on a
 * socket and hands each request to a hook (`handle_request`), or calls a no-argument hook
 * each iteration (`run_once`) waiting on an interval attribute; and which overridable methods
 * run at shutdown (run's `finally`, signal handlers, atexit handlers).
 */
/** The methods the base installs as SIGTERM/SIGINT handlers, and which methods of self each base method calls. */
function signalGraph(cls: PyClass): BaseModel['signalCalls'] {
  const graph = new Map<string, Set<string>>();
  const handlers = new Set<string>();
  for (const [name, m] of cls.methods) {
    const calls = new Set<string>();
    walk(m.body, (c) => {
      if (c.type === 'function_definition' || c.type === 'class_definition') return false;
      if (c.type !== 'call') return;
      const fn = c.childForFieldName('function')!;
      const called = selfAttribute(fn);
      if (called && cls.methods.has(called)) calls.add(called);
      if (/(^|\.)signal$/.test(callee(c) ?? '')) {
        const args = c.childForFieldName('arguments')?.namedChildren ?? [];
        const h = args[1] ? selfAttribute(args[1]) : null;
        if (h && cls.methods.has(h) && /SIG(TERM|INT)\b/.test(c.text + m.body.text)) handlers.add(h);
      }
    });
    graph.set(name, calls);
  }
  return { handlers, graph };
}

function lifecycle(cls: PyClass): Pick<BaseModel, 'requestLoop' | 'periodicHook' | 'shutdownCalls' | 'loopFinallyCalls'> {
  let requestLoop: BaseModel['requestLoop'] = null;
  let periodicHook: BaseModel['periodicHook'] = null;
  const shutdownCalls = new Set<string>();
  const loopFinallyCalls = new Set<string>();
  const run = cls.methods.get('run');
  if (run) {
    walk(run.body, (loop) => {
      if (loop.type !== 'while_statement') return;
      let socket: string | null = null;
      const hooks: Array<{ name: string; args: number }> = [];
      let interval: string | null = null;
      walk(loop, (n) => {
        if (n.type !== 'call') return;
        const fn = n.childForFieldName('function');
        const args = n.childForFieldName('arguments')?.namedChildren ?? [];
        if (fn?.type !== 'attribute') return;
        const attr = fn.childForFieldName('attribute')!.text;
        const obj = fn.childForFieldName('object')!;
        const owner = selfAttribute(obj);
        if (owner && /^recv(_json|_string|_multipart|_pyobj)?$/.test(attr)) socket ??= owner;
        const method = selfAttribute(fn);
        if (method && cls.methods.has(method)) hooks.push({ name: method, args: args.length });
        // self._stop_event.wait(float(self.loop_interval)) / time.sleep(self.loop_interval)
        if (/^(wait|sleep)$/.test(attr)) {
          const a = args[0];
          if (a) walk(a, (x) => {
            const s = selfAttribute(x);
            if (s && !cls.methods.has(s)) interval ??= s;
          });
        }
      });
      if (socket && !requestLoop) {
        const hook = hooks.find((h) => h.args === 1);
        if (hook) requestLoop = { socket, hook: hook.name };
      } else if (!socket && !periodicHook) {
        const hook = hooks.find((h) => h.args === 0);
        if (hook) periodicHook = { hook: hook.name, intervalAttribute: interval };
      }
      return false;
    });
    walk(run.body, (n) => {
      if (n.type !== 'finally_clause') return;
      walk(n, (c) => {
        const m = c.type === 'call' ? selfAttribute(c.childForFieldName('function')!) : null;
        if (m && cls.methods.has(m)) {
          shutdownCalls.add(m);
          loopFinallyCalls.add(m);
        }
      });
      return false;
    });
  }
  // Handlers installed for SIGTERM/atexit: what they call on self runs at shutdown.
  walk(cls.body, (n) => {
    if (n.type !== 'call' || !SHUTDOWN_INSTALLER.test(callee(n) ?? '')) return;
    for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) {
      const handler = selfAttribute(a);
      const h = handler ? cls.methods.get(handler) : undefined;
      if (!h) continue;
      walk(h.body, (c) => {
        const m = c.type === 'call' ? selfAttribute(c.childForFieldName('function')!) : null;
        if (m && cls.methods.has(m)) shutdownCalls.add(m);
      });
    }
  });
  return { requestLoop, periodicHook, shutdownCalls, loopFinallyCalls };
}

/** A def's parameters besides self: as written (`client_id, reason: str = ""`) and as a shape (`client_id, reason=`). */
export function parameterList(params: PyFunction['params']): { text: string; shape: string } {
  const own = params.filter((p) => p.name !== 'self');
  const mark = { plain: '', default: '=', args: '*', kwargs: '**', separator: '' } as const;
  return {
    text: own.map((p) => p.node.text.replace(/\s+/g, ' ')).join(', '),
    shape: own.map((p) => (p.kind === 'args' || p.kind === 'kwargs' ? `${mark[p.kind]}${p.name}` : p.kind === 'separator' ? p.node.text : `${p.name}${mark[p.kind]}`)).join(', '),
  };
}

/** Positional arguments a def takes besides self: Infinity with `*args`, none after a bare `*`. */
export function positionalArity(params: PyFunction['params']): number {
  let n = 0;
  for (const p of params) {
    if (p.name === 'self') continue;
    if (p.kind === 'args') return Infinity;
    if (p.kind === 'separator' && p.node.text === '*') break;
    if (p.kind === 'plain' || p.kind === 'default') n++;
  }
  return n;
}
