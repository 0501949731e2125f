// What an ad-hoc health endpoint reported, as code that can run in the base's health hook.
// The removed health code (a handler class, a closure loop, a sidecar, a payload method) is
// searched for the payloads it sent (`json.dumps(...)`, `send_json(...)`, JSON lines); each
// payload's business fields are translated from the handler's scope into the agent's
// (`agent.store` with `agent = self`, `self.server.agent.x`, a sidecar's details callable,
// a closure's `self`) so the hook can add them to the base's own status.
import type { SyntaxNode } from '../lang/python/parser.js';
import { reachesAgentViaServer, serverMethodTags, serverTags } from './server-tag.js';
import { CALL_TYPE, callee, selfAttribute, stringValue, walk, walkTypes } from '../lang/python/syntax.js';

/** An identifier, and the scopes whose own bindings are not the enclosing function's. */
const IDENTIFIER_OR_SCOPE: ReadonlySet<string> = new Set(['identifier', 'function_definition', 'class_definition', 'lambda']);
import { type PyClass, type PyFunction, classModel } from '../lang/python/module-model.js';
import { recordToMapping, returnedRecord } from './health-record.js';
import { DEFAULT_BASE_WORD, OK_WORDS, type BaseHealthKeys } from './health-words.js';

/**
 * Keys a base's status usually carries (or that only describe liveness): when nothing is known of the
 * base's health answer (no source, no template), the hook leaves them to the base. Known, the base's own
 * keys (PayloadScope.baseKeys) are the ones left.
 */
export const BASE_STATUS_KEYS = new Set([
  'status', 'agent', 'agent_name', 'name', 'service', 'timestamp', 'time', 'uptime', 'uptime_seconds', 'uptime_sec',
  'port', 'health_port', 'health_check_port', 'pid', 'ready', 'healthy', 'alive', 'message', 'initialized',
]);

/**
 * The healthy word of the health contract (`ok` or `healthy`) that is not the base's own `ok`:
 * a legacy payload saying it keeps saying it (monitors may compare it), where the other healthy
 * words become the base's `ok` (the contract accepts no other).
 */
const KEPT_OK_WORD = /^healthy$/i;

/**
 * Does a legacy payload's constant status stay in the answer? "healthy" on a base whose own healthy word
 * is another (BaseAgent's "ok"); on a base that says "healthy" itself (HardenedAgentBase, "degraded"
 * while its circuit breaker is open) it is the base's word to say, and writing it would hide the base's.
 */
function keptWord(word: string, baseWord: string): boolean {
  return KEPT_OK_WORD.test(word) && word.toLowerCase() !== baseWord.toLowerCase();
}

/** The healthy words a legacy status computed at run time must not be to replace the base's: its own and the base's. */
function healthyTuple(baseWord: string): string {
  const words = ['ok', 'success', 'up', 'running', 'alive'];
  if (!words.includes(baseWord.toLowerCase())) words.push(baseWord.toLowerCase());
  return `(${words.map((w) => JSON.stringify(w)).join(', ')})`;
}

export type HealthProtocol = 'http' | 'zmq' | 'json-lines' | 'tcp' | 'udp' | 'unix';

export interface HealthPayload {
  /** Statements for the hook body (4-space logical indentation), each updating `status`. */
  lines: string[];
  /** Agent members the translated code reads. */
  members: Set<string>;
  protocol: HealthProtocol | null;
  line: number;
  /**
   * Payload methods of a sidecar given the agent itself, translated into agent methods the hook calls
   * (name -> the method's text at class-body indentation, `self.agent` read as `self`).
   */
  methods: Map<string, string>;
  /** Legacy keys the base does not answer that the hook could not carry (their values are not the agent's to say): warned. */
  dropped: Array<{ key: string; line: number; unknown: boolean; own?: string }>;
}

/** Where dictUpdate records the keys it drops while extractHealthPayload runs. */
let dropped: Array<{ key: string; line: number; unknown: boolean; own?: string }> | null = null;

export interface PayloadScope {
  agent: PyClass;
  /** Module-level classes (handlers, sidecars) by name. */
  classes: Map<string, PyClass>;
  /** Methods of the agent (for producers like `agent._health_check()`). */
  methods: Set<string>;
  /**
   * Health code read in a helper function the agent called: its parameters, each standing for the
   * argument the agent's call gave it (read in the agent's scope), so `status_fn()` is `self.health_status()`.
   */
  params?: Map<string, SyntaxNode>;
  /** The healthy word the base's health hook says as its status (BaseAgent's "ok" when absent). */
  baseWord?: string;
  /** Can the base's health hook also say a failing status (`"ok" if ... else "error"`)? See statusGuard. */
  baseFails?: boolean;
  /**
   * The keys the base's health hook answers (read from its source or the profile's template; see
   * baseHealthKeys): a legacy key among them is the base's, any other the agent's to keep. Unknown when
   * absent (BASE_STATUS_KEYS are then left to the base).
   */
  baseKeys?: BaseHealthKeys;
  /**
   * The base's own expression for the port its HTTP health endpoint is bound to (`self.health_check_port`,
   * read from its binds): what a legacy HTTP handler's `self.server.server_port` reads on the base.
   */
  healthPort?: string;
  /** Attributes the base provides: a legacy key read from one of them says what the base's key says. */
  baseOwned?: ReadonlySet<string>;
}

/** Keys saying only that the agent is up: kept (a monitor may read them), but never saying so while the base says it is not. */
const LIVENESS_KEYS = new Set(['ready', 'healthy', 'alive', 'initialized', 'up', 'ok']);

/**
 * `status` in a translation: a kept healthy word (see keptWord) the hook writes apart from the fields,
 * guarded by statusGuard, when the base can say a failing status.
 */
type Translation = { text: string; members: Set<string>; methods?: Map<string, string>; status?: string } | null;

/**
 * The condition under which the hook may write a legacy status over the base's: the base saying its own
 * healthy word. Null when the base never says another (the reference BaseAgent's constant "ok"): a legacy
 * status is then written as it was. On a base whose hook also says "error" (an initialisation that failed)
 * or "degraded", a legacy "healthy" written unconditionally would report the agent healthy while the base
 * knows it is not.
 */
export function statusGuard(base: string, fails: boolean | undefined): string | null {
  return fails ? `status.get("status") == ${JSON.stringify(base)}` : null;
}

/** `if <guard> and <cond>:` (or `if <cond>:` without a guard; `if <guard>:` without a condition). */
function guardedIf(guard: string | null, cond: string | null): string {
  return `if ${[guard, cond].filter(Boolean).join(' and ')}:`;
}

/** The lines writing a kept healthy word (Translation.status) while the base says its own. */
function keptStatusLines(status: string | undefined, scope: PayloadScope): string[] {
  if (status === undefined) return [];
  return [guardedIf(statusGuard(scope.baseWord ?? DEFAULT_BASE_WORD, scope.baseFails), null), `    status["status"] = ${status}`];
}

/**
 * The payloads a piece of removed health code sent, translated into the agent's scope.
 * Returns null when it sent nothing (or only liveness), 'untranslatable' when it sent business
 * fields that cannot be expressed in the agent's scope.
 */
export function extractHealthPayload(region: SyntaxNode, scope: PayloadScope): HealthPayload | 'untranslatable' | null {
  const outer = dropped;
  const lost: Array<{ key: string; line: number; unknown: boolean; own?: string }> = [];
  dropped = lost;
  try {
    const p = extractPayload(region, scope);
    if (p && p !== 'untranslatable') p.dropped = lost.filter((d, i) => lost.findIndex((e) => e.key === d.key && e.line === d.line) === i);
    return p;
  } finally {
    dropped = outer;
  }
}

/**
 * The first payload the region sends that cannot be expressed in the agent's scope (what makes
 * extractHealthPayload say 'untranslatable'), for a person to be pointed at; null when none is one.
 */
export function untranslatablePayload(region: SyntaxNode, scope: PayloadScope): SyntaxNode | null {
  const outer = dropped;
  dropped = [];
  try {
    return emitSites(region).find((e) => payloadLines(e.value, scope) === 'untranslatable')?.value ?? null;
  } finally {
    dropped = outer;
  }
}

function extractPayload(region: SyntaxNode, scope: PayloadScope): HealthPayload | 'untranslatable' | null {
  const lines: string[] = [];
  const members = new Set<string>();
  const methods = new Map<string, string>();
  let protocol: HealthProtocol | null = null;
  let untranslatable = false;
  for (const emit of emitSites(region)) {
    protocol ??= emit.protocol;
    const result = payloadLines(emit.value, scope);
    if (result === 'untranslatable') {
      untranslatable = true;
      continue;
    }
    for (const [k, v] of result.methods ?? []) methods.set(k, v);
    const fn = emit.value.type === 'identifier' ? null : enclosing(emit.value, 'function_definition');
    const emitted = fn ? underPayloadLocks(emit.value, emit.value, fn, result.lines, members, scope) : result.lines;
    // The same payload sent from two places (a reply and a retry) is added once.
    if (!containsBlock(lines, emitted)) lines.push(...emitted);
    for (const m of result.members) members.add(m);
  }
  if (lines.length) return { lines, members, protocol, line: region.startPosition.row + 1, methods, dropped: [] };
  if (untranslatable) return 'untranslatable';
  // No payload seen, yet a /health route of a handler answers with what the agent computes (`answer =
  // agent.reporter.snapshot()` handed to its reply helper, already serialised): its fields would be lost
  // without a word, so the answer is one the hook cannot express.
  if (!protocol && healthRouteReadsAgent(region, scope)) return 'untranslatable';
  return protocol ? { lines: [], members, protocol, line: region.startPosition.row + 1, methods, dropped: [] } : null;
}

/** A /health clause of a handler class in the region that calls into the agent (translated onto `self.`). */
function healthRouteReadsAgent(region: SyntaxNode, scope: PayloadScope): boolean {
  const classes: SyntaxNode[] = [];
  walk(region, (n) => {
    if (n.type === 'class_definition') classes.push(n);
  });
  if (region.type === 'class_definition') classes.push(region);
  for (const cls of classes) {
    for (const route of ifRoutes(cls)) {
      if (!route.health || containsJsonDumps(route.body)) continue;
      let reads = false;
      walk(route.body, (n) => {
        if (reads) return false;
        if (n.type !== 'call' || n.childForFieldName('function')?.type !== 'attribute') return;
        const t = translate(n, scope);
        if (t && /^self\.\w+/.test(t.text)) reads = true;
      });
      if (reads) return true;
    }
  }
  return false;
}

export function containsBlock(lines: string[], block: string[]): boolean {
  if (!block.length) return true;
  for (let i = 0; i + block.length <= lines.length; i++) if (block.every((l, j) => lines[i + j] === l)) return true;
  return false;
}

interface Emit {
  value: SyntaxNode;
  protocol: HealthProtocol;
}

/** Where the region sends a payload, and over what. */
function emitSites(region: SyntaxNode): Emit[] {
  const out: Emit[] = [];
  walkTypes(region, CALL_TYPE, (n) => {
    const fn = callee(n) ?? '';
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    if (/(^|\.)send_json$/.test(fn) && args[0]) out.push({ value: args[0], protocol: 'zmq' });
    else if (/(^|\.)write_json_line$/.test(fn) && args[1]) out.push({ value: args[1], protocol: 'json-lines' });
    else if (/^json\.dumps$/.test(fn) && args[0] && !insideCallOf(n, /(^|\.)send_json$|write_json_line$/)) {
      // Only what reaches a reply is the health answer: a json.dumps posted to a registry by a heartbeat,
      // written to a status file or logged says nothing of what (or over what) health requests were answered.
      const sink = replySink(n);
      if (!sink) return;
      const to = callee(sink) ?? '';
      const protocol = inHttpHandler(n) || inHttpHandler(sink) ? 'http' : /(^|\.)sendto$/.test(to) ? 'udp' : zmqSend(sink) ? 'zmq' : /(^|\.)(send|sendall|send_string)$/.test(to) ? 'tcp' : 'json-lines';
      // `def _json(self, code, payload): ... json.dumps(payload)` in an HTTP handler: what its health
      // route hands it is the payload.
      const handed = protocol === 'http' ? handedToReplyMethod(args[0]) : null;
      if (handed) for (const v of handed) out.push({ value: v, protocol });
      else out.push({ value: args[0], protocol });
    } else if (/\.(send|sendall|sendto|write)$/.test(fn) && args[0] && !containsJsonDumps(args[0])) {
      // Any other serialisation ("key=value" lines, a format string) of a status dict built earlier.
      const payload = outgoing(n) ? null : tracedPayload(args[0]);
      if (payload) out.push({ value: payload, protocol: inHttpHandler(n) ? 'http' : /sendto$/.test(fn) ? 'udp' : zmqSend(n) ? 'zmq' : 'tcp' });
    }
  });
  return out;
}

/** A call that hands bytes or text to a peer (or a stream): where a serialised health answer goes. */
const SINK = /(^|\.)(send|sendall|sendto|send_string|send_multipart|write|writelines)$/;

/**
 * The call that sends what this expression serialised to whoever asked (`conn.sendall(...)`,
 * `self.wfile.write(body)`, `writer.write(...)`), following its value through wrapping calls
 * (`.encode()`, `bytes(...)`), locals it is assigned to, helpers of the class or module it is handed to
 * (`self._reply(conn, text)`) and functions returning it, within the module. Null when it reaches no
 * such call, or only one on a file the code opened or a connection it made itself (a heartbeat POST,
 * a status file, a log line): that is not the reply path.
 */
function replySink(value: SyntaxNode, depth = 0): SyntaxNode | null {
  if (depth > 4) return null;
  for (let cur = value, p = value.parent; p; cur = p, p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'class_definition' || p.type === 'lambda' || p.type === 'module') return null;
    if (p.type === 'call' && p.childForFieldName('arguments')?.id === cur.id) {
      if (SINK.test(callee(p) ?? '')) return outgoing(p) ? null : p;
      const helper = calledFunction(p);
      if (helper) {
        const param = parameterFor(helper, p, valueArgument(cur, value));
        if (!param) return null;
        for (const use of namesIn(helper.childForFieldName('body')!, param)) {
          const sink = replySink(use, depth + 1);
          if (sink) return sink;
        }
        return null;
      }
      continue;
    }
    if (p.type === 'assignment' && p.childForFieldName('right')?.id === cur.id) {
      const left = tupleTarget(p.childForFieldName('left')!, cur, value);
      const fn = enclosing(p, 'function_definition');
      if (left?.type !== 'identifier' || !fn) return null;
      for (const use of namesIn(fn.childForFieldName('body')!, left.text)) {
        if (use.id === left.id) continue;
        const sink = replySink(use, depth + 1);
        if (sink) return sink;
      }
      return null;
    }
    if (p.type === 'return_statement') {
      const fn = enclosing(p, 'function_definition');
      if (!fn) return null;
      const calls = callsOf(fn);
      // A function the module never calls itself but hands to a server (a WSGI app, a route handler):
      // what it returns is what the server answers with.
      if (!calls.length && handedToServer(fn)) return p;
      for (const call of calls) {
        const sink = replySink(call, depth + 1);
        if (sink) return sink;
      }
      return null;
    }
    if (/statement$|^block$/.test(p.type)) return null;
  }
  return null;
}

/**
 * The name an assignment binds the value to: its left side, or in a tuple assignment (`body, head =
 * json.dumps(payload).encode(), "200 OK"`) the target at the place of the element holding the value.
 */
function tupleTarget(left: SyntaxNode, right: SyntaxNode, value: SyntaxNode): SyntaxNode | null {
  if (left.type !== 'pattern_list' && left.type !== 'tuple_pattern') return left;
  if (right.type !== 'expression_list' && right.type !== 'tuple') return null;
  const targets = left.namedChildren;
  const values = right.namedChildren;
  // (a starred target spreads: no place to pair it by)
  if (targets.length !== values.length || targets.some((t) => t.type === 'list_splat_pattern')) return null;
  const i = values.findIndex((v) => v.startIndex <= value.startIndex && value.endIndex <= v.endIndex);
  return i >= 0 ? targets[i]! : null;
}

/** The argument (of an argument list) an expression is part of. */
function valueArgument(list: SyntaxNode, value: SyntaxNode): SyntaxNode {
  for (const a of list.namedChildren) if (a.startIndex <= value.startIndex && value.endIndex <= a.endIndex) return a;
  return value;
}

/** The parameter of a helper that receives this argument of a call of it (by keyword or by position). */
function parameterFor(helper: SyntaxNode, call: SyntaxNode, arg: SyntaxNode): string | null {
  const params = (helper.childForFieldName('parameters')?.namedChildren ?? []).map((x) => (x.type === 'identifier' ? x.text : x.childForFieldName('name')?.text ?? null));
  if (arg.type === 'keyword_argument') {
    const name = arg.childForFieldName('name')?.text ?? null;
    return name && params.includes(name) ? name : null;
  }
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const index = args.findIndex((a) => a.id === arg.id);
  const method = params[0] === 'self' && (call.childForFieldName('function')?.type === 'attribute');
  return index < 0 ? null : params[index + (method ? 1 : 0)] ?? null;
}

/** Identifiers of that name in a body (not attribute names or keyword names). */
function namesIn(body: SyntaxNode, name: string): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  walk(body, (n) => {
    if (n.type !== 'identifier' || n.text !== name) return;
    const p = n.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    out.push(n);
  });
  return out;
}

/**
 * The function a call runs when the module defines it: `self.m(...)` a method of the caller's class,
 * `m(...)` a function nested in an enclosing function or defined at module level.
 */
function calledFunction(call: SyntaxNode): SyntaxNode | null {
  const fn = call.childForFieldName('function');
  if (!fn) return null;
  if (fn.type === 'attribute' && fn.childForFieldName('object')?.text === 'self') {
    const cls = enclosing(call, 'class_definition');
    return (cls && classMethods(cls).get(fn.childForFieldName('attribute')!.text)) ?? null;
  }
  if (fn.type !== 'identifier') return null;
  for (let p = call.parent; p; p = p.parent) {
    const body = p.type === 'module' ? p : p.type === 'function_definition' ? p.childForFieldName('body') : null;
    for (const st of body?.namedChildren ?? []) {
      const def = st.type === 'decorated_definition' ? st.childForFieldName('definition') : st;
      if (def?.type === 'function_definition' && def.childForFieldName('name')?.text === fn.text) return def;
    }
  }
  return null;
}

/** The calls of a function (a method through `self.`, in its class; a function by name, in the module). */
function callsOf(fn: SyntaxNode): SyntaxNode[] {
  const name = fn.childForFieldName('name')!.text;
  const cls = fn.parent?.parent?.type === 'class_definition' ? fn.parent.parent : null;
  let root: SyntaxNode = fn;
  while (root.parent) root = root.parent;
  const out: SyntaxNode[] = [];
  walk(cls ?? root, (n) => {
    if (n.type !== 'call') return;
    const f = n.childForFieldName('function');
    if ((cls ? f?.text.replace(/\s+/g, '') === `self.${name}` : f?.type === 'identifier' && f.text === name) && calledFunction(n)?.id === fn.id) out.push(n);
  });
  return out;
}

/** `def app(self, environ, start_response)`: a WSGI application. */
function isWsgiApp(fn: SyntaxNode): boolean {
  return /\bstart_response\s*\)\s*$/.test(fn.childForFieldName('parameters')?.text ?? '');
}

/**
 * A function a server calls with each request: a WSGI application (`def app(self, environ, start_response)`),
 * a decorated route (`@app.route("/health")`), or one handed by reference as an argument to a call
 * (`make_server(host, port, self._health_app)`, `router.add_get("/health", health)`) other than a
 * thread's target.
 */
function handedToServer(fn: SyntaxNode): boolean {
  if (isWsgiApp(fn) || fn.parent?.type === 'decorated_definition') return true;
  const name = fn.childForFieldName('name')!.text;
  const cls = fn.parent?.parent?.type === 'class_definition' ? fn.parent.parent : null;
  let root: SyntaxNode = fn;
  while (root.parent) root = root.parent;
  let handed = false;
  walk(cls ?? root, (n) => {
    if (handed || n.parent?.type !== 'argument_list' && n.parent?.type !== 'keyword_argument') return;
    const ref = cls ? n.type === 'attribute' && n.text.replace(/\s+/g, '') === `self.${name}` : n.type === 'identifier' && n.text === name;
    if (!ref) return;
    const kw = n.parent.type === 'keyword_argument' ? n.parent.childForFieldName('name')?.text : null;
    if (kw === 'target' || (n.parent.type === 'keyword_argument' && n.parent.childForFieldName('value')?.id !== n.id)) return;
    handed = true;
  });
  return handed;
}

/**
 * A send on a ZMQ socket (`self.health_socket.send_string(...)` where `self.health_socket =
 * self.context.socket(zmq.REP)`, `send_multipart`): the reply went over ZMQ, not a raw TCP socket.
 */
function zmqSend(call: SyntaxNode): boolean {
  if (call.type !== 'call') return false;
  if (/(^|\.)send_multipart$/.test(callee(call) ?? '')) return true;
  const fn = call.childForFieldName('function');
  const recv = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
  if (!recv || (recv.type !== 'identifier' && selfAttribute(recv) === null)) return false;
  const text = recv.text.replace(/\s+/g, '');
  let scope: SyntaxNode = call;
  for (let p = call.parent; p; p = p.parent) if (p.type === 'class_definition' || p.type === 'function_definition') scope = p;
  if (recv.type !== 'identifier') scope = enclosing(call, 'class_definition') ?? scope;
  let zmq = false;
  walk(scope, (n) => {
    if (zmq) return false;
    if (n.type === 'assignment' && n.childForFieldName('left')?.text.replace(/\s+/g, '') === text && /\.socket\(\s*zmq\.[A-Z]+/.test(n.childForFieldName('right')?.text ?? '')) zmq = true;
  });
  return zmq;
}

/**
 * A sink call on something that is no reply channel: a file the code opened (`with open(...) as f`,
 * `self.status_file = open(...)`), the process's own stdout/stderr, or a connection the code made
 * itself (`socket.create_connection(...)`, a socket it `.connect()`s): an outgoing heartbeat, a status
 * file or a log, not an answer to a health request.
 */
function outgoing(call: SyntaxNode): boolean {
  const fn = call.childForFieldName('function');
  const recv = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
  if (!recv) return false;
  const text = recv.text.replace(/\s+/g, '');
  if (/^sys\.(stdout|stderr)$/.test(text)) return true;
  if (recv.type === 'call') return /(^|\.)(open|create_connection|fdopen|NamedTemporaryFile)$/.test(callee(recv) ?? '');
  const self = recv.type === 'attribute' && recv.childForFieldName('object')?.text === 'self';
  if (recv.type !== 'identifier' && !self) return false;
  const scope = self ? enclosing(call, 'class_definition') : enclosing(call, 'function_definition');
  if (!scope) return false;
  const OPENED = /^((io|os|gzip|codecs|socket|tempfile)\.)?(open|fdopen|create_connection|NamedTemporaryFile|TemporaryFile)$/;
  let found = false;
  walk(scope, (n) => {
    if (found) return false;
    // `with open(...) as f:`
    if (n.type === 'as_pattern' && n.childForFieldName('alias')?.text.replace(/\s+/g, '') === text) {
      const v = n.namedChild(0);
      if (v?.type === 'call' && OPENED.test(callee(v) ?? '')) found = true;
    }
    // `f = open(...)`, `self.sock = socket.create_connection(...)`
    if (n.type === 'assignment' && n.childForFieldName('left')?.text.replace(/\s+/g, '') === text) {
      const v = n.childForFieldName('right');
      if (v?.type === 'call' && (OPENED.test(callee(v) ?? '') || /\.open$/.test(callee(v) ?? ''))) found = true;
    }
    // `sock.connect((host, port))`: a connection the code made
    if (n.type === 'call' && callee(n) === `${text}.connect`) found = true;
  });
  return found;
}

/**
 * The value serialised is a parameter of a reply method of the handler class (`self._json(200,
 * {...})`): the arguments its calls in the class give that parameter on a health route (`if self.path
 * == "/health":`), or on every call when the class does not route by path. Null when the value is not
 * such a parameter (an empty list when no health route calls it: nothing of health is sent).
 */
function handedToReplyMethod(value: SyntaxNode): SyntaxNode[] | null {
  if (value.type !== 'identifier') return null;
  const fn = enclosing(value, 'function_definition');
  const cls = fn ? enclosing(fn, 'class_definition') : null;
  if (!fn || !cls || fn.parent?.parent?.id !== cls.id) return null;
  const params = (fn.childForFieldName('parameters')?.namedChildren ?? []).map((p) => (p.type === 'identifier' ? p.text : p.childForFieldName('name')?.text ?? null));
  const index = params.indexOf(value.text);
  if (index < 1 || params.slice(0, index + 1).some((p) => p === null)) return null;
  // The parameter is serialised as it was given (never re-bound in the method).
  let rebound = false;
  walk(fn.childForFieldName('body')!, (n) => {
    if (n.type === 'assignment' && n.childForFieldName('left')?.text === value.text) rebound = true;
  });
  if (rebound) return null;
  const name = fn.childForFieldName('name')!.text;
  const routes = ifRoutes(cls);
  const out: SyntaxNode[] = [];
  let calls = 0;
  walk(cls, (n) => {
    if (n.type !== 'call' || (n.childForFieldName('function')?.text ?? '').replace(/\s+/g, '') !== `self.${name}`) return;
    calls++;
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    const arg = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === value.text)?.childForFieldName('value') ??
      (args[index - 1]?.type !== 'keyword_argument' ? args[index - 1] : undefined);
    if (!arg) return;
    const route = routes.find((r) => r.body.startIndex <= n.startIndex && n.endIndex <= r.body.endIndex);
    if (routes.length && !(route && route.health)) return;
    out.push(arg);
  });
  return calls ? out : null;
}

interface RouteEntry {
  path: string;
  /** What the table gives for the path: a handler method (`self._health`, `"_health"`), the agent's (`agent.status`). */
  value: SyntaxNode;
  /** The body of the handler method the entry runs, when it names one of the class. */
  body: SyntaxNode | null;
  /** The agent's method the entry names, when the table is the agent's own (`self._routes = {"/jobs": self._jobs}`). */
  agentMethod?: SyntaxNode | null;
}

/**
 * The routes of a handler class that dispatches through a route table: a dict literal whose keys are
 * URL paths and whose values are callables named without calling them (`{"/health": self._health,
 * "/entries": agent.entry_listing}` built in do_GET, a class attribute `ROUTES = {"/health": "_health"}`
 * read with getattr), looked up with the request's path (`routes.get(self.path)`, `self.ROUTES[path]`).
 * A dict keyed by paths that is not looked up by the request path (a payload listing mounts) is no table.
 */
export function routeTableEntries(cls: SyntaxNode): RouteEntry[] {
  if (cls.type !== 'class_definition') return [];
  const methods = classMethods(cls);
  const tables = new Map<number, SyntaxNode>();
  walk(cls, (n) => {
    if (n.type === 'class_definition' && n.id !== cls.id) return false;
    const table = routeLookup(n);
    if (table) tables.set(table.id, table);
  });
  return [...tables.values()].flatMap((dict) => {
    // A table the agent holds (assigned in the agent's class, outside the handler): its `self.<m>` are the agent's methods.
    const agentClass = dict.startIndex < cls.startIndex || dict.endIndex > cls.endIndex ? enclosing(dict, 'class_definition') : null;
    const agentMethods = agentClass ? classMethods(agentClass) : null;
    return dict.namedChildren.filter((c) => c.type === 'pair').map((c) => {
      const value = c.childForFieldName('value')!;
      const path = routeString(c.childForFieldName('key')!)!;
      if (agentMethods) {
        const m = selfAttribute(value);
        return { path, value, body: null, agentMethod: (m ? agentMethods.get(m) : undefined) ?? null };
      }
      const name = selfAttribute(value) ?? (value.type === 'identifier' ? value.text : stringValue(value));
      const fn = name ? methods.get(name) : undefined;
      return { path, value, body: fn?.childForFieldName('body') ?? null };
    });
  });
}

/**
 * The route table a handler nested in an agent method reads through the agent (`agent._routes` with `agent = self`
 * in that method): the dict literal the agent's class assigns to that attribute, when it assigns it once, never
 * changes it (no item set or deleted, no update()), and names only its own methods (`{"/jobs": self._jobs}`).
 */
function agentHeldTable(table: SyntaxNode): SyntaxNode | null {
  const obj = table.childForFieldName('object');
  const attr = table.childForFieldName('attribute')?.text;
  if (obj?.type !== 'identifier' || !attr || obj.text === 'self') return null;
  const handler = enclosing(table, 'class_definition');
  const method = handler ? enclosing(handler, 'function_definition') : null;
  const agent = method ? enclosing(method, 'class_definition') : null;
  if (!method || !agent || method.childForFieldName('parameters')?.namedChild(0)?.text !== 'self') return null;
  // `agent = self`, the method's one binding of the name.
  const binders = bindersIn(method, obj);
  if (binders.length !== 1 || binders[0]!.parent?.type !== 'assignment' || binders[0]!.parent.childForFieldName('right')?.text !== 'self') return null;
  let dict: SyntaxNode | null = null;
  let other = false;
  walk(agent, (n) => {
    if (other) return false;
    if (n.type !== 'attribute' || n.childForFieldName('attribute')?.text !== attr) return;
    const p = n.parent;
    const assigned = (p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.childForFieldName('left')?.id === n.id;
    if (assigned) {
      if (dict || p!.type !== 'assignment' || n.childForFieldName('object')?.text !== 'self' || p!.childForFieldName('right')?.type !== 'dictionary') other = true;
      else dict = p!.childForFieldName('right');
      return;
    }
    // An item set or deleted, or a call changing it: the literal is not what the handler looks up.
    const outer = p?.type === 'subscript' && p.childForFieldName('value')?.id === n.id ? p.parent : null;
    if (outer && ((outer.type === 'assignment' || outer.type === 'augmented_assignment') && outer.childForFieldName('left')?.id === p!.id || outer.type === 'delete_statement')) other = true;
    if (p?.type === 'attribute' && p.parent?.type === 'call' && /^(update|pop|popitem|setdefault|clear|__setitem__|__delitem__)$/.test(p.childForFieldName('attribute')?.text ?? '')) other = true;
    if (p?.type === 'delete_statement') other = true;
  });
  const d = dict as SyntaxNode | null;
  if (other || !d) return null;
  const pairs = d.namedChildren.filter((c) => c.type !== 'comment');
  return pairs.length > 0 && pairs.every((c) => c.type === 'pair' && selfAttribute(c.childForFieldName('value')!) !== null) ? d : null;
}

/** The methods defined in a class body, by name. */
function classMethods(cls: SyntaxNode): Map<string, SyntaxNode> {
  const methods = new Map<string, SyntaxNode>();
  for (const st of cls.childForFieldName('body')?.namedChildren ?? []) {
    const fn = st.type === 'decorated_definition' ? st.childForFieldName('definition') : st;
    if (fn?.type === 'function_definition') methods.set(fn.childForFieldName('name')!.text, fn);
  }
  return methods;
}

/**
 * `routes.get(<path>)` / `routes[<path>]` (the key reading the request's path) where `routes` is a route
 * table (see routeTableEntries): a dict literal inline, a local assigned once, or an attribute of the
 * handler's class: that dict, else null.
 */
export function routeLookup(n: SyntaxNode): SyntaxNode | null {
  let table: SyntaxNode | null = null;
  let key: SyntaxNode | null = null;
  if (n.type === 'subscript') {
    table = n.childForFieldName('value');
    key = n.childForFieldName('subscript');
  } else if (n.type === 'call') {
    const fn = n.childForFieldName('function');
    if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'get') return null;
    table = fn.childForFieldName('object');
    key = n.childForFieldName('arguments')?.namedChildren[0] ?? null;
  }
  if (!table || !key || !/\bpath\b/.test(key.text)) return null;
  let dict: SyntaxNode | null = table.type === 'dictionary' ? table : table.type === 'identifier' ? singleLocalValue(table) : null;
  if (!dict && table.type === 'attribute') dict = agentHeldTable(table);
  if (!dict && table.type === 'attribute' && /^(self|cls)$/.test(table.childForFieldName('object')?.text ?? '')) {
    // a class attribute of the handler (ROUTES = {...} in its body)
    const cls = enclosing(n, 'class_definition');
    const attr = table.childForFieldName('attribute')!.text;
    for (const st of cls?.childForFieldName('body')?.namedChildren ?? []) {
      const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
      if (a?.type === 'assignment' && a.childForFieldName('left')?.text === attr) dict = a.childForFieldName('right');
    }
  }
  if (dict?.type !== 'dictionary') return null;
  const pairs = dict.namedChildren.filter((c) => c.type !== 'comment');
  const ok = pairs.length > 0 && pairs.every((c) => c.type === 'pair' && routeString(c.childForFieldName('key')!) !== null &&
    ['attribute', 'identifier', 'string'].includes(c.childForFieldName('value')!.type));
  return ok ? dict : null;
}

/**
 * A call of what a route table gave for the request's path (`route()` with `route = routes.get(path)`,
 * `routes[path]()`): the table's health entry (null when the call is no such lookup or the table has
 * no single health entry).
 */
function routedHealthEntry(call: SyntaxNode): { value: SyntaxNode } | null | 'none' {
  const fn = call.childForFieldName('function');
  if (!fn || (call.childForFieldName('arguments')?.namedChildCount ?? 0) > 0) return null;
  const lookup = fn.type === 'identifier' ? singleLocalValue(fn) : fn;
  const dict = lookup ? routeLookup(lookup) : null;
  if (!dict) return null;
  const keys = dict.namedChildren.filter((c) => c.type === 'pair').map((c) => routeString(c.childForFieldName('key')!) ?? '');
  const health = dict.namedChildren.filter((c) => c.type === 'pair' && isHealthRoute(routeString(c.childForFieldName('key')!) ?? '', [], keys));
  if (health.length === 0) return 'none';
  return health.length === 1 ? { value: health[0]!.childForFieldName('value')! } : null;
}

/** The clauses of a handler's path routing (`if self.path == "/health": ... elif ...`), each marked health or not. */
function ifRoutes(cls: SyntaxNode): Array<{ body: SyntaxNode; health: boolean }> {
  const out: Array<{ body: SyntaxNode; health: boolean }> = [];
  const routed = routedPaths(cls);
  for (const e of routeTableEntries(cls)) if (e.body) out.push({ body: e.body, health: isHealthRoute(e.path, [e.path], routed) });
  walk(cls, (n) => {
    if (n.type !== 'if_statement') return;
    const clauses = ifClauses(n);
    if (!clauses.some((c) => c.condition && conditionPaths(c.condition).length)) return;
    for (const c of clauses) {
      const paths = c.condition ? conditionPaths(c.condition) : [];
      out.push({ body: c.body, health: paths.length > 0 && paths.every((p) => isHealthRoute(p, paths, routed)) });
    }
  });
  return out;
}

function containsJsonDumps(n: SyntaxNode): boolean {
  let found = false;
  walk(n, (x) => {
    if (x.type === 'call' && callee(x) === 'json.dumps') found = true;
  });
  return found;
}

/**
 * The status dict a sent value was made from, through the locals of the same function
 * (`report = {"status": "ok", ...}`, `text = "".join(... for k, v in report.items())`,
 * `conn.sendall(text.encode())`): the identifier naming that dict, at its use.
 */
function tracedPayload(value: SyntaxNode, depth = 0): SyntaxNode | null {
  if (depth > 3) return null;
  const fn = enclosing(value, 'function_definition');
  if (!fn) return null;
  const ids: SyntaxNode[] = [];
  walk(value, (x) => {
    if (x.type === 'identifier' && !(x.parent?.type === 'attribute' && x.parent.childForFieldName('attribute')?.id === x.id)) ids.push(x);
  });
  for (const id of ids) {
    let assigned: SyntaxNode | null = null;
    walk(fn.childForFieldName('body')!, (n) => {
      if (n.startIndex >= id.startIndex) return false;
      if (n.type === 'function_definition' || n.type === 'class_definition') return false;
      if (n.type === 'assignment') {
        const v = assignedValue(n, id.text);
        if (v) assigned = v;
      }
    });
    const a = assigned as SyntaxNode | null;
    if (!a) continue;
    if (isStatusDict(a)) return id;
    const deeper = tracedPayload(a, depth + 1);
    if (deeper) return deeper;
  }
  return null;
}

function insideCallOf(n: SyntaxNode, re: RegExp): boolean {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'call' && re.test(callee(p) ?? '')) return true;
    if (p.type === 'function_definition') return false;
  }
  return false;
}

/**
 * Inside a method of a class built on an HTTP request handler (do_GET and friends), or in a function
 * that writes an HTTP status line itself (a raw socket or asyncio stream answering `HTTP/1.1 200 OK`).
 */
function inHttpHandler(n: SyntaxNode): boolean {
  const fn = enclosing(n, 'function_definition');
  // (the status code in the literal, or appended: `b"HTTP/1.1 " + status.encode()`)
  if (fn && /["']HTTP\/1\.[01] /.test(fn.text)) return true;
  // A WSGI application (`def app(self, environ, start_response)`) answers HTTP.
  if (fn && isWsgiApp(fn)) return true;
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'class_definition') {
      const bases = p.childForFieldName('superclasses')?.text ?? '';
      return /HTTPRequestHandler/.test(bases);
    }
  }
  return false;
}

/** The hook statements for one emitted payload expression. */
function payloadLines(value: SyntaxNode, scope: PayloadScope): { lines: string[]; members: Set<string>; methods?: Map<string, string> } | 'untranslatable' {
  const members = new Set<string>();
  // `json.dumps(health if ok else {"error": "not found"})`: the branch that is a status is the payload.
  if (value.type === 'conditional_expression') {
    const [a, , b] = value.namedChildren;
    const statusDicts = [a, b].filter((x): x is SyntaxNode => !!x && isStatusDict(x));
    // `self.health.send_json(self._health_payload() if req.get("action") == "health_check" else {"status": "error"})`:
    // the one status dict is the error reply to any other request, so the other branch is the health answer.
    // Only a request error ("error", "unknown action"), never a health word ("degraded" is an answer to the probe).
    if (statusDicts.length === 1 && isRequestError(statusDicts[0]!) && testsRequest(value.namedChildren[1])) {
      const other = [a, b].find((x) => !!x && x.id !== statusDicts[0]!.id);
      if (other && other.type !== 'dictionary') return payloadLines(other, scope);
    }
    if (statusDicts.length === 1) return payloadLines(statusDicts[0]!, scope);
    return 'untranslatable';
  }
  if (value.type === 'dictionary') {
    // A body without a status (a 404) or with a failing constant one (an error reply to an unknown
    // action) is not the health answer.
    if (!isStatusDict(value) || isErrorReply(value)) return { lines: [], members };
    const t = dictUpdate(value, scope);
    if (t === null) return 'untranslatable';
    t.members.forEach((m) => members.add(m));
    // (a kept status first, where the legacy payload said it)
    const lines = [...keptStatusLines(t.status, scope), ...(t.text ? [`status.update(${t.text})`] : [])];
    // A status computed per request (`"degraded" if failing else "ok"`): when it is not an OK word it
    // replaces the base's, so an agent that reported itself degraded still does.
    const computed = value.namedChildren.find((p) => p.type === 'pair' && stringValue(p.childForFieldName('key')!) === 'status')?.childForFieldName('value');
    if (computed && stringValue(computed) === null) {
      const c = translate(computed, scope);
      if (!c) return 'untranslatable';
      c.members.forEach((m) => members.add(m));
      lines.push(
        `agent_status = ${c.text}`,
        guardedIf(statusGuard(scope.baseWord ?? DEFAULT_BASE_WORD, scope.baseFails), `str(agent_status).lower() not in ${healthyTuple(scope.baseWord ?? DEFAULT_BASE_WORD)}`),
        `    status["status"] = agent_status`,
      );
    }
    return { lines, members };
  }
  // `dict(STATS, status="ok")`: a copy of a mapping the agent's scope reads (a module-level stats dict),
  // with fields added; its keys are known only at run time, like a payload method's.
  if (value.type === 'call' && value.childForFieldName('function')?.text === 'dict' && (value.childForFieldName('arguments')?.namedChildCount ?? 0) > 0) {
    const t = translate(value, scope);
    if (!t) return 'untranslatable';
    const status = (value.childForFieldName('arguments')?.namedChildren ?? [])
      .find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'status')?.childForFieldName('value');
    const constant = status ? stringValue(status) : null;
    const base = scope.baseWord ?? DEFAULT_BASE_WORD;
    const ownStatus = !(constant !== null && OK_WORDS.test(constant) && !keptWord(constant, base));
    t.members.forEach((m) => members.add(m));
    return { lines: methodPayloadLines(t.text, ownStatus, base, scope.baseFails), members };
  }
  if (value.type === 'call') {
    const p = producer(value, scope);
    if (p === null) return 'untranslatable';
    if (p.text === '') return { lines: [], members };
    p.members.forEach((m) => members.add(m));
    // A dict literal (a sidecar's details lambda) was filtered already; a call's keys are known only at run time.
    if (p.text.startsWith('{')) return { lines: [...keptStatusLines(p.status, scope), ...(p.text !== '{}' ? [`status.update(${p.text})`] : [])], members };
    const method = /^self\.(\w+)\(\)$/.exec(p.text)?.[1] ?? ownMethodWithArguments(value, scope);
    const fn = method ? scope.agent.methods.get(method) : undefined;
    const base = scope.baseWord ?? DEFAULT_BASE_WORD;
    return { lines: methodPayloadLines(p.text, !fn || reportsOwnStatus(fn.body, base), base, scope.baseFails), members, methods: p.methods };
  }
  if (value.type === 'identifier') return namedPayload(value, scope);
  // `json.dumps(self.health_status)` / `agent.health_status`: a @property of the agent builds the payload,
  // read like a payload method (its keys known only at run time).
  if (value.type === 'attribute') {
    const t = translate(value, scope);
    const prop = t ? /^self\.(\w+)$/.exec(t.text)?.[1] : undefined;
    const fn = prop ? scope.agent.methods.get(prop) : undefined;
    if (t && fn && fn.decorators.some((d) => /^(functools\.)?(cached_)?property$/.test(d))) {
      const base = scope.baseWord ?? DEFAULT_BASE_WORD;
      return { lines: methodPayloadLines(t.text, reportsOwnStatus(fn.body, base), base, scope.baseFails), members: t.members };
    }
  }
  return 'untranslatable';
}

/**
 * A payload an agent method builds (its keys known only at run time): its fields the base does
 * not report are added, and a status that is not "healthy" replaces the base's, so an agent that
 * reported itself degraded still does (a healthy word never replaces the base's, see healthyTuple),
 * while the base says its healthy word when it can say another (`fails`, see statusGuard).
 */
export function methodPayloadLines(call: string, ownStatus = true, base: string = DEFAULT_BASE_WORD, fails?: boolean): string[] {
  if (!ownStatus) return [`status.update({k: v for k, v in ${call}.items() if k not in status})`];
  return [
    `agent_status = ${call}`,
    `status.update({k: v for k, v in agent_status.items() if k not in status})`,
    guardedIf(statusGuard(base, fails), `str(agent_status.get("status", "ok")).lower() not in ${healthyTuple(base)}`),
    `    status["status"] = agent_status["status"]`,
  ];
}

/** Can the method report a status other than the base's own? (Every return a dict literal whose status is absent or an OK word not kept, see keptWord: no.) */
export function reportsOwnStatus(body: SyntaxNode, base: string = DEFAULT_BASE_WORD): boolean {
  let other = false;
  let returns = 0;
  walk(body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'return_statement') return;
    returns++;
    const v = n.namedChild(0);
    if (v?.type !== 'dictionary') {
      other = true;
      return;
    }
    for (const pair of v.namedChildren) {
      if (pair.type !== 'pair') {
        other = true; // **spread
        continue;
      }
      if (stringValue(pair.childForFieldName('key')!) !== 'status') continue;
      const c = stringValue(pair.childForFieldName('value')!);
      if (c === null || !OK_WORDS.test(c) || keptWord(c, base)) other = true;
    }
  });
  return other || returns === 0;
}

function isErrorReply(n: SyntaxNode): boolean {
  return n.namedChildren.some((p) => {
    if (p.type !== 'pair' || stringValue(p.childForFieldName('key')!) !== 'status') return false;
    const v = stringValue(p.childForFieldName('value')!);
    return v !== null && !OK_WORDS.test(v);
  });
}

/**
 * The condition compares something with a string literal and reads no member of the agent
 * (`req.get("action") == "health_check"`, `cmd in ("ping", "health")`): it tests the request. One
 * reading the agent's state (`self._failing`) chooses the answer to the probe itself.
 */
function testsRequest(cond: SyntaxNode | undefined): boolean {
  if (!cond) return false;
  let literal = false;
  let state = false;
  walk(cond, (n) => {
    if (n.type === 'comparison_operator' && n.namedChildren.some((c) => c.type === 'string' || c.type === 'tuple' || c.type === 'list' || c.type === 'set')) literal = true;
    if (selfAttribute(n)) state = true;
  });
  return literal && !state;
}

/** `{"status": "error", ...}` (or "bad_request", "unknown", "invalid"): a reply to a request not understood. */
function isRequestError(n: SyntaxNode): boolean {
  return n.namedChildren.some((p) => p.type === 'pair' && stringValue(p.childForFieldName('key')!) === 'status' &&
    /^(error|err|unknown|invalid|bad[ _-]?request|unsupported)$/i.test(stringValue(p.childForFieldName('value')!) ?? ''));
}

function isStatusDict(n: SyntaxNode): boolean {
  return n.type === 'dictionary' && n.namedChildren.some((p) => p.type === 'pair' && stringValue(p.childForFieldName('key')!) === 'status');
}

/** `payload` built earlier in the same function: a dict, an if/elif/else of dicts, `.update(...)` calls. */
function namedPayload(name: SyntaxNode, scope: PayloadScope): { lines: string[]; members: Set<string>; methods?: Map<string, string> } | 'untranslatable' {
  const fn = enclosing(name, 'function_definition');
  if (!fn) return 'untranslatable';
  const lines: string[] = [];
  const members = new Set<string>();
  const methods = new Map<string, string>();
  let found = false;
  let ok = true;
  walk(fn.childForFieldName('body')!, (n) => {
    if (!ok || n.startIndex >= name.startIndex) return false;
    if (n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'if_statement' && assignsTo(n, name.text)) {
      // A handler routing by path (`if self.path == "/health": payload = ... elif "/stats": ...`):
      // the /health route's payload is the health answer, the other routes are not health.
      const branches: { lines: string[]; members: Set<string>; methods?: Map<string, string> } | null =
        healthRoutePayload(n, name.text, scope) ?? healthActionPayload(n, name.text, scope) ?? ifBranches(n, name.text, scope);
      if (branches === null) ok = false;
      else {
        lines.push(...underLocks(n, fn, branches.lines, members, scope));
        branches.members.forEach((m) => members.add(m));
        for (const [k, v] of branches.methods ?? []) methods.set(k, v);
        found = true;
      }
      return false;
    }
    if (n.type === 'assignment') {
      const value = assignedValue(n, name.text);
      if (value) {
        const p = payloadLines(value, scope);
        if (p === 'untranslatable') ok = false;
        else {
          lines.push(...underPayloadLocks(n, value, fn, p.lines, members, scope));
          p.members.forEach((m) => members.add(m));
          for (const [k, v] of p.methods ?? []) methods.set(k, v);
          found = true;
        }
        return false;
      }
    }
    // payload.update(sidecar.details())
    if (n.type === 'call' && callee(n) === `${name.text}.update`) {
      const arg = n.childForFieldName('arguments')?.namedChild(0);
      const p = arg ? payloadLines(arg, scope) : 'untranslatable';
      if (p === 'untranslatable') ok = false;
      else {
        lines.push(...p.lines);
        p.members.forEach((m) => members.add(m));
      }
      return false;
    }
  });
  if (!ok || !found) return 'untranslatable';
  return { lines, members, methods };
}

/**
 * The payload read under the agent's lock (`with self.lock: payload = {...}`, `with agent.lock:`)
 * is read under the same lock in the hook: the lines nest in the same `with` statements.
 */
export function underLocks(n: SyntaxNode, fn: SyntaxNode, lines: string[], members: Set<string>, scope: PayloadScope): string[] {
  if (!lines.length) return lines;
  let out = lines;
  for (let p = n.parent; p && p.id !== fn.id; p = p.parent) {
    if (p.type !== 'with_statement') continue;
    const clause = p.namedChildren.find((c) => c.type === 'with_clause');
    const items = clause?.namedChildren.filter((c) => c.type === 'with_item') ?? [];
    const ts = items.map((i) => {
      const v = i.childForFieldName('value');
      // `with self.lock:` only: an `as` target would be a local of the handler
      return v && v.type === 'attribute' && !i.text.includes(' as ') ? translate(v, scope) : null;
    });
    if (!ts.length || ts.some((t) => !t || !t.text.startsWith('self.'))) continue;
    ts.forEach((t) => t!.members.forEach((m) => members.add(m)));
    out = [`with ${ts.map((t) => t!.text).join(', ')}:`, ...out.map((l) => `    ${l}`)];
  }
  return out;
}

/** `name = value` or `code, name = 503, value`: the value assigned to `name` (else null). */
function assignedValue(assign: SyntaxNode, name: string): SyntaxNode | null {
  const left = assign.childForFieldName('left');
  let right = assign.childForFieldName('right');
  if (!left || !right) return null;
  // `code, payload = (200, agent.status()) if self.path == "/health" else (404, {})`: on the health
  // route the value is the branch its path test picks (the other branch answers other paths).
  if (right.type === 'conditional_expression') {
    right = healthBranch(right);
    if (!right) return null;
  }
  if (left.type === 'identifier') return left.text === name ? right : null;
  if ((left.type === 'pattern_list' || left.type === 'tuple_pattern') && (right.type === 'expression_list' || right.type === 'tuple')) {
    const i = left.namedChildren.findIndex((c) => c.text === name);
    return i >= 0 ? right.namedChildren[i] ?? null : null;
  }
  // `code, payload = handler()` with `handler = routes.get(self.path)`: on /health, what the handler's
  // own method the table names for it returns (`return 200, {...}`), at the same place.
  if ((left.type === 'pattern_list' || left.type === 'tuple_pattern') && right.type === 'call') {
    const i = left.namedChildren.findIndex((c) => c.text === name);
    const returned = i >= 0 ? routedHandlerReturn(right) : null;
    return returned && (returned.type === 'expression_list' || returned.type === 'tuple') ? returned.namedChildren[i] ?? null : null;
  }
  return null;
}

/**
 * The one value a method of the handler class returns, when the call runs the method a route table
 * gives for /health (`self._health`, a method of the handler the call is in); null otherwise.
 */
function routedHandlerReturn(call: SyntaxNode): SyntaxNode | null {
  const routed = routedHealthEntry(call);
  if (!routed || routed === 'none') return null;
  const m = /^self\.(\w+)$/.exec(routed.value.text);
  const cls = m ? enclosing(call, 'class_definition') : null;
  const method = cls ? classMethods(cls).get(m![1]!) : undefined;
  if (!method) return null;
  const returns: SyntaxNode[] = [];
  walk(method.childForFieldName('body')!, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'return_statement') returns.push(n);
  });
  let value = returns.length === 1 ? returns[0]!.namedChild(0) : null;
  while (value?.type === 'parenthesized_expression' && value.namedChildren.length === 1) value = value.namedChild(0);
  return value;
}

/** The branch of `A if <path test> else B` the health path takes: A for `path == "/health"`, B for `!=`; null otherwise. */
function healthBranch(cond: SyntaxNode): SyntaxNode | null {
  const [yes, test, no] = cond.namedChildren;
  if (!yes || !test || !no || test.type !== 'comparison_operator') return null;
  const m = /^(?:self\.)?path(?:\.rstrip\((?:"\/"|'\/')\))?\s*(==|!=)\s*(["'])([^"']*)\2$/.exec(test.text.replace(/\s+/g, ' '));
  if (!m || !HEALTH_PATH.test(m[3]!)) return null;
  return m[1] === '==' ? yes : no;
}

function assignsTo(stmt: SyntaxNode, name: string): boolean {
  let found = false;
  walk(stmt, (n) => {
    if (n.type === 'assignment' && assignedValue(n, name)) found = true;
  });
  return found;
}

/** Paths a health endpoint answers (anything else a handler routes is business). */
export const HEALTH_PATH = /^\/(health|healthz|status|ping|ready|live)(\/|$)/;

/** Liveness names: each is an answer to "are you alive", which the base's /health gives. */
const LIVENESS_PATH = /^\/(health|healthz|live|ping)(\/|$)/;

/**
 * Whether a path one routing clause tests is a health route, given every path the same routing tests:
 * a liveness name always is; another health-like path (/status, /ready) is health only while no
 * liveness name is routed apart from it. Beside a liveness route of its own it answered something else
 * (a status board, a readiness probe), which the base's server (/health, /metrics) no longer serves.
 */
export function isHealthRoute(path: string, clausePaths: readonly string[], routed: readonly string[]): boolean {
  if (!HEALTH_PATH.test(path)) return false;
  if (LIVENESS_PATH.test(path) || clausePaths.some((p) => LIVENESS_PATH.test(p))) return true;
  return !routed.some((p) => LIVENESS_PATH.test(p));
}

/** The paths a handler (class or method) routes, one list per route-table entry or if/elif clause on the path. */
function routedClauses(node: SyntaxNode): string[][] {
  const out = routeTableEntries(node).map((e) => [e.path]);
  walk(node, (n) => {
    if (n.type !== 'if_statement' && n.type !== 'elif_clause') return;
    const cond = n.childForFieldName('condition');
    if (cond && /\bpath\b/.test(cond.text)) out.push(conditionPaths(cond));
  });
  return out;
}

function routedPaths(node: SyntaxNode): string[] {
  return routedClauses(node).flat();
}

/**
 * The paths an if/elif chain on the request's path answers besides health ones (`elif path == "/peers":`), each
 * with the line of its test, in the node's own code: classes nested in it (an HTTP handler, read by the transforms
 * that move or keep its routes) are not searched.
 */
export function ownBusinessRoutes(node: SyntaxNode): Array<{ path: string; line: number }> {
  const clauses: Array<{ paths: string[]; line: number }> = [];
  walk(node, (n) => {
    if (n.type === 'class_definition' && n.id !== node.id) return false;
    if (n.type !== 'if_statement' && n.type !== 'elif_clause') return;
    const cond = n.childForFieldName('condition');
    if (cond && (/\bpath\b/.test(cond.text) || testsRequestPath(cond))) clauses.push({ paths: conditionPaths(cond), line: cond.startPosition.row + 1 });
  });
  const routed = clauses.flatMap((c) => c.paths);
  const out: Array<{ path: string; line: number }> = [];
  for (const c of clauses) {
    for (const p of c.paths) if (!isHealthRoute(p, c.paths, routed) && !out.some((o) => o.path === p)) out.push({ path: p, line: c.line });
  }
  return out;
}

/**
 * A condition comparing a '/'-leading string with a name bound from the request whatever it is called
 * (`target == "/peers"` with `target = request.split(" ")[1]`, `url.path`, `self.path`), or `x.startswith("/p")`
 * on one: the local's name is no evidence (`path`, `target`, `route` are all the request's path).
 */
function testsRequestPath(cond: SyntaxNode): boolean {
  let found = false;
  walk(cond, (x) => {
    if (found) return false;
    let other: SyntaxNode | null = null;
    if (x.type === 'comparison_operator' && x.namedChildren.length === 2) {
      const [l, r] = x.namedChildren as [SyntaxNode, SyntaxNode];
      other = routeString(r) !== null || (/^(tuple|list|set)$/.test(r.type) && r.namedChildren.some((c) => routeString(c) !== null)) ? l : routeString(l) !== null ? r : null;
    } else if (x.type === 'call' && /\.startswith$/.test(callee(x) ?? '') && (x.childForFieldName('arguments')?.namedChildren ?? []).some((a) => routeString(a) !== null)) {
      other = x.childForFieldName('function')!.childForFieldName('object');
    }
    if (other && fromRequest(other)) found = true;
  });
  return found;
}

/** `self.path`, `<x>.path`, or a local bound (in its function) from one of those or from the request line split. */
function fromRequest(n: SyntaxNode): boolean {
  if (n.type === 'attribute') return n.childForFieldName('attribute')?.text === 'path';
  if (n.type !== 'identifier') return false;
  let fn: SyntaxNode | null = n.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  if (!fn) return false;
  let bound = false;
  walkTypes(fn, ASSIGNMENT_NODES, (a) => {
    if (a.childForFieldName('left')?.text !== n.text) return;
    const right = a.childForFieldName('right');
    let reads = false;
    if (right) walk(right, (x) => {
      if (x.type === 'attribute' && x.childForFieldName('attribute')?.text === 'path') reads = true;
      // the request line split (`request.split(" ")[1]`, `line.decode().split()[1]`): its second word
      if (x.type === 'subscript' && x.childForFieldName('subscript')?.text === '1' && /\.split$/.test(callee(x.childForFieldName('value')!) ?? '')) reads = true;
      if (x.type === 'call' && /(^|\.)(urlparse|urlsplit)$/.test(callee(x) ?? '')) reads = true;
    });
    if (reads) bound = true;
  });
  return bound;
}
const ASSIGNMENT_NODES: ReadonlySet<string> = new Set(['assignment']);

/**
 * The health routes a handler (class, method, or a removed region holding one) answers, each with the line
 * of its path string: `/health`, and the aliases beside it (`/ping`, `/live`, `/status` in the /health
 * clause) that the base's own server may not answer. A handler routing nothing gives none.
 */
export function healthRouteLines(node: SyntaxNode): Array<{ path: string; line: number }> {
  const clauses: SyntaxNode[][] = [];
  walk(node, (n) => {
    if (n.type === 'class_definition') {
      const keys = routeTableEntries(n).map((e) => e.value.parent?.childForFieldName('key')).filter((k): k is SyntaxNode => !!k);
      clauses.push(...keys.map((k) => [k]));
    }
    if (n.type !== 'if_statement' && n.type !== 'elif_clause') return;
    const cond = n.childForFieldName('condition');
    if (!cond || !/\bpath\b/.test(cond.text)) return;
    const strings: SyntaxNode[] = [];
    walk(cond, (x) => {
      if (routeString(x) !== null) strings.push(x);
    });
    clauses.push(strings);
  });
  const paths = clauses.map((c) => c.map((x) => routeString(x)!));
  const routed = paths.flat();
  return clauses.flatMap((c, i) =>
    c.filter((_, j) => isHealthRoute(paths[i]![j]!, paths[i]!, routed)).map((x) => ({ path: routeString(x)!, line: x.startPosition.row + 1 })),
  );
}

/** Health-like paths (/status, /ready) a handler routes in clauses of their own beside a /health route: not health (see isHealthRoute). */
export function healthLikeBusinessPaths(node: SyntaxNode): Set<string> {
  const clauses = routedClauses(node);
  const routed = clauses.flat();
  return new Set(clauses.flatMap((c) => c.filter((p) => HEALTH_PATH.test(p) && !isHealthRoute(p, c, routed))));
}

/** The clauses of an if/elif/else chain: each condition (null for else) and body. */
function ifClauses(stmt: SyntaxNode): Array<{ condition: SyntaxNode | null; body: SyntaxNode }> {
  const out: Array<{ condition: SyntaxNode | null; body: SyntaxNode }> = [];
  out.push({ condition: stmt.childForFieldName('condition'), body: stmt.childForFieldName('consequence')! });
  for (const alt of stmt.childrenForFieldName('alternative')) {
    if (alt.type === 'elif_clause') out.push({ condition: alt.childForFieldName('condition'), body: alt.childForFieldName('consequence')! });
    else out.push({ condition: null, body: alt.childForFieldName('body')! });
  }
  return out;
}

/** The URL paths a condition tests (`self.path == "/health"`, `path.startswith("/gateways")`, `path in ("/a", "/b")`). */
export function conditionPaths(cond: SyntaxNode): string[] {
  const out: string[] = [];
  walk(cond, (x) => {
    const v = routeString(x);
    if (v !== null) out.push(v);
  });
  return out;
}

/**
 * A string that names a URL path (starts with '/'), or null. The separator given to a string method
 * (`self.path.rstrip("/")`, `path.split("/")`) normalises the path: it is not a route.
 */
export function routeString(n: SyntaxNode): string | null {
  const v = stringValue(n);
  if (v === null || !v.startsWith('/')) return null;
  const call = n.parent?.type === 'argument_list' ? n.parent.parent : null;
  if (call?.type === 'call' && /\.(r?strip|lstrip|r?split|partition|rpartition|removesuffix|removeprefix|replace|join|count)$/.test(callee(call) ?? '')) return null;
  return v;
}

/**
 * A chain routing by path whose one /health clause assigns the payload: that payload alone,
 * unconditionally (the base's hook answers /health only). Null when the chain is not such a router.
 */
function healthRoutePayload(stmt: SyntaxNode, name: string, scope: PayloadScope): { lines: string[]; members: Set<string>; methods?: Map<string, string> } | null {
  const clauses = ifClauses(stmt).filter((c) => c.condition && conditionPaths(c.condition).length);
  const routed = clauses.flatMap((c) => conditionPaths(c.condition!));
  const isHealth = (c: { condition: SyntaxNode | null }) => {
    const paths = conditionPaths(c.condition!);
    return paths.map((p) => isHealthRoute(p, paths, routed));
  };
  let health = clauses.filter((c) => isHealth(c).some(Boolean));
  // Several liveness routes (`/health` with the payload, `/ping` answering "pong"): the one that builds it.
  if (health.length > 1) health = health.filter((c) => assignsTo(c.body, name));
  if (health.length !== 1 || isHealth(health[0]!).some((h) => !h)) return null;
  let value: SyntaxNode | null = null;
  for (const s of health[0]!.body.namedChildren) {
    const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
    const v = a?.type === 'assignment' ? assignedValue(a, name) : null;
    if (v) value = v;
  }
  if (!value) return null;
  const p = payloadLines(value, scope);
  // Read under the locks the health clause read it under (the caller adds those around the whole chain).
  return p === 'untranslatable' ? null : { ...p, lines: underPayloadLocks(value, value, stmt, p.lines, p.members, scope) };
}

/** Actions a request names to ask for health (`{"action": "health_check"}` on a REP or raw socket). */
const HEALTH_ACTION = /^(health|health_?check|healthcheck|ping)$/i;

/**
 * A chain dispatching on the request's action whose one clause tests a health action
 * (`if request.get("action") == "health_check": reply = {...}`) while every other clause assigns an
 * error reply (`else: reply = {"status": "error", ...}`) or leaves the payload alone: that clause's payload alone, unconditionally
 * (the base's hook answers /health only; the error replies were never the health answer). Null otherwise.
 */
function healthActionPayload(stmt: SyntaxNode, name: string, scope: PayloadScope): { lines: string[]; members: Set<string>; methods?: Map<string, string> } | null {
  const valueIn = (body: SyntaxNode): SyntaxNode | null => {
    let value: SyntaxNode | null = null;
    for (const s of body.namedChildren) {
      const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
      const v = a?.type === 'assignment' ? assignedValue(a, name) : null;
      if (v) value = v;
    }
    return value;
  };
  const asksHealth = (cond: SyntaxNode | null) => {
    let hit = false;
    if (cond) walk(cond, (x) => {
      const v = stringValue(x);
      if (v !== null && HEALTH_ACTION.test(v)) hit = true;
    });
    return hit;
  };
  let health: SyntaxNode | null = null;
  for (const c of ifClauses(stmt)) {
    const value = valueIn(c.body);
    // A clause for another request that never touches the payload (`else: self.wfile.write(b'{"error": ...}')`
    // answering an unknown command itself): not the health answer, as an error reply assigned is not.
    if (!value && !asksHealth(c.condition) && !namesIn(c.body, name).length) continue;
    if (!value) return null;
    if (asksHealth(c.condition)) {
      if (health) return null;
      health = value;
    } else if (value.type !== 'dictionary' || !isStatusDict(value) || !isErrorReply(value)) return null;
  }
  if (!health) return null;
  const p = payloadLines(health, scope);
  return p === 'untranslatable' ? null : p;
}

/**
 * The paths other than health (and the base's /metrics) an HTTP handler routes: what it answered
 * besides health, which the base's health server does not answer.
 */
export function businessRoutes(handler: SyntaxNode): string[] {
  return [...new Set(businessRouteClauses(handler).flatMap((c) => c.routes))];
}

/**
 * The clauses of a handler's routing that test business paths: those paths, and the clause's body
 * when it answers business paths only (null when it also answers health, /metrics or /).
 */
export function businessRouteClauses(handler: SyntaxNode): Array<{ routes: string[]; body: SyntaxNode | null }> {
  const out: Array<{ routes: string[]; body: SyntaxNode | null }> = [];
  const routed = routedPaths(handler);
  for (const e of routeTableEntries(handler)) {
    if (!isHealthRoute(e.path, [e.path], routed) && e.path !== '/metrics' && e.path !== '/') out.push({ routes: [e.path], body: e.body ?? e.value });
  }
  walk(handler, (n) => {
    if (n.type !== 'if_statement' && n.type !== 'elif_clause') return;
    const cond = n.childForFieldName('condition');
    if (!cond || !/\bpath\b/.test(cond.text)) return;
    const paths = conditionPaths(cond);
    const routes = paths.filter((p) => !isHealthRoute(p, paths, routed) && p !== '/metrics' && p !== '/');
    if (routes.length) out.push({ routes, body: routes.length === paths.length ? n.childForFieldName('consequence') : null });
  });
  return out;
}

/** An if/elif/else whose every branch assigns the payload: the same chain, updating status. */
function ifBranches(stmt: SyntaxNode, name: string, scope: PayloadScope): { lines: string[]; members: Set<string> } | null {
  const members = new Set<string>();
  const out: string[] = [];
  const clauses: Array<{ head: string; body: SyntaxNode }> = [];
  const cond = stmt.childForFieldName('condition');
  if (!cond) return null;
  const c0 = translate(cond, scope);
  if (!c0) return null;
  c0.members.forEach((m) => members.add(m));
  clauses.push({ head: `if ${c0.text}:`, body: stmt.childForFieldName('consequence')! });
  for (const alt of stmt.childrenForFieldName('alternative')) {
    if (alt.type === 'elif_clause') {
      const c = translate(alt.childForFieldName('condition')!, scope);
      if (!c) return null;
      c.members.forEach((m) => members.add(m));
      clauses.push({ head: `elif ${c.text}:`, body: alt.childForFieldName('consequence')! });
    } else clauses.push({ head: 'else:', body: alt.childForFieldName('body')! });
  }
  let any = false;
  for (const { head, body } of clauses) {
    const stmts = body.namedChildren.filter((s) => s.type !== 'comment');
    let value: SyntaxNode | null = null;
    for (const s of stmts) {
      const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
      const v = a?.type === 'assignment' ? assignedValue(a, name) : null;
      if (v) value = v;
    }
    if (!value || value.type !== 'dictionary') return null;
    const d = dictUpdate(value, scope, true);
    if (!d) return null;
    d.members.forEach((m) => members.add(m));
    const kept = keptStatusLines(d.status, scope).map((l) => `    ${l}`);
    out.push(head, ...kept, ...(d.text ? [`    status.update(${d.text})`] : kept.length ? [] : ['    pass']));
    if (d.text || kept.length) any = true;
  }
  return any ? { lines: out, members } : { lines: [], members };
}

/**
 * The business part of a payload dict as a dict literal in the agent's scope: keys the base
 * reports itself are left out, except a status that is not "healthy" (it must reach the base's
 * answer) and an error. Null when a kept value cannot be translated.
 */
function dictUpdate(dict: SyntaxNode, scope: PayloadScope, keepStatus = false): Translation {
  const parts: string[] = [];
  const open: string[] = [];
  const members = new Set<string>();
  let status: string | undefined;
  for (const pair of dict.namedChildren) {
    if (pair.type === 'comment') continue;
    if (pair.type === 'dictionary_splat') {
      // `**agent.counters`: the mapping's keys are known only at run time; those the base does not report
      // itself are added (as a payload method's are), read in the agent's scope.
      const inner = pair.namedChild(0);
      const t = inner ? translate(inner, scope) : null;
      if (!t) return null;
      t.members.forEach((m) => members.add(m));
      const simple = inner!.type === 'identifier' || inner!.type === 'attribute' || inner!.type === 'call';
      parts.push(`**{k: v for k, v in ${simple ? t.text : `(${t.text})`}.items() if k not in status}`);
      continue;
    }
    if (pair.type !== 'pair') return null;
    const keyNode = pair.childForFieldName('key')!;
    const key = stringValue(keyNode);
    const value = pair.childForFieldName('value')!;
    if (key === null) return null;
    const constant = stringValue(value);
    if (key === 'status') {
      if (constant !== null && keptWord(constant, scope.baseWord ?? DEFAULT_BASE_WORD)) {
        // Written apart, while the base says its own healthy word, when the base can say a failing one.
        if (scope.baseFails) status = value.text;
        else parts.push(`${JSON.stringify(key)}: ${value.text}`);
        continue;
      }
      if (!keepStatus || (constant !== null && OK_WORDS.test(constant))) continue;
    } else if (scope.baseKeys ? scope.baseKeys.keys.has(key) : BASE_STATUS_KEYS.has(key)) {
      // Nothing read says what the base answers: left to it, and said.
      if (!scope.baseKeys) dropped?.push({ key, line: pair.startPosition.row + 1, unknown: true });
      // The agent's own state the agent's code keeps changing (`"registered": self.registered`, its own
      // registration): the base's key of that name says the base's state, not this; said, not hidden.
      const own = scope.baseKeys ? ownRuntimeState(value, scope) : null;
      if (own) dropped?.push({ key, line: pair.startPosition.row + 1, unknown: false, own });
      continue;
    }
    const t = translate(value, scope);
    if (!t && BASE_STATUS_KEYS.has(key)) {
      // A stamp or a name the base does not answer, computed where the agent's scope cannot say it: the
      // rest of the payload still moves, and the key is named in a warning (see HealthPayload.dropped).
      dropped?.push({ key, line: pair.startPosition.row + 1, unknown: false });
      continue;
    }
    if (!t) return null;
    t.members.forEach((m) => members.add(m));
    let text = t.text;
    // `"ready": True` on a base that can say it is failing: true only while the base says its healthy word.
    // A computed value (`"initialized": self.started_at`) is answered as it was while the base is healthy,
    // False while it is not (bool() would turn a stamp or a count a monitor reads into True).
    const guard = LIVENESS_KEYS.has(key) ? statusGuard(scope.baseWord ?? DEFAULT_BASE_WORD, scope.baseFails) : null;
    if (guard) text = value.type === 'true' ? guard : `(${t.text}) if ${guard} else False`;
    // A stamp or a name (once left to the base) on a base whose answer also carries keys known only at run
    // time (`**stats`): the legacy key where the base's answer lacks it.
    if (scope.baseKeys?.open && BASE_STATUS_KEYS.has(key)) open.push(`${JSON.stringify(key)}: ${text}`);
    else parts.push(`${JSON.stringify(key)}: ${text}`);
  }
  if (open.length) parts.push(`**{k: v for k, v in {${open.join(', ')}}.items() if k not in status}`);
  return { text: parts.length ? `{${parts.join(', ')}}` : '', members, ...(status !== undefined ? { status } : {}) };
}

/**
 * A call producing the payload: an agent method (`agent._health_check()`, `self.server.agent.m()`),
 * or a sidecar's details callable given to its constructor (`lambda: {...}`).
 */
/** The agent's zero-argument method `method` returns one record class, which `conv` turns into a mapping. */
function recordMapping(method: string, conv: { method?: string; wrapper?: string }, at: SyntaxNode, scope: PayloadScope): boolean {
  const fn = scope.agent.methods.get(method);
  if (!fn || fn.params.length !== 1) return false;
  const record = returnedRecord(fn);
  return !!record && recordToMapping(record, conv, at, scope.classes);
}

/**
 * `self.cmd_health({})` / `self.cmd_health({"detail": self.health_detail})`: a payload method of the agent
 * called with arguments (a dispatcher's handler answering the probe with a request the loop builds). Its
 * name, when the receiver is the agent and every argument is built of the agent's own state (see
 * ownStateArgument): the hook reads that state when /health is asked, as the loop did per probe.
 */
function ownMethodWithArguments(call: SyntaxNode, scope: PayloadScope): string | undefined {
  const fn = call.childForFieldName('function');
  if (call.type !== 'call' || fn?.type !== 'attribute') return undefined;
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  if (!args.length || !args.every((a) => ownStateArgument(a, scope))) return undefined;
  return agentReceiver(fn.childForFieldName('object')!, scope) ? fn.childForFieldName('attribute')!.text : undefined;
}

/** Literal nodes (`{}`, `{"verbose": True}`, `brief=False`): the same value on every call. */
const CONSTANT_NODES = new Set([
  'dictionary', 'list', 'tuple', 'set', 'pair', 'string', 'string_start', 'string_content', 'string_end',
  'integer', 'float', 'true', 'false', 'none', 'parenthesized_expression', 'unary_operator', 'keyword_argument',
]);

/** Operators combining what an argument reads (`self.rejected > 0`, `a if self.x else b`, `self.cfg["k"]`). */
const STATE_OPERATORS = new Set(['comparison_operator', 'boolean_operator', 'not_operator', 'binary_operator', 'conditional_expression', 'subscript', 'argument_list']);

/** Builtins computing a value from their arguments alone (`len(self.loaded)`): no I/O, nothing of the request. */
const PURE_BUILTINS = new Set(['len', 'bool', 'int', 'float', 'str', 'round', 'min', 'max', 'abs', 'sorted', 'list', 'dict', 'tuple', 'set', 'any', 'all', 'sum']);

/**
 * An argument built only of constants, module-level names and reads of the agent's own attributes
 * (`self.health_detail`, `self.rejected > 0`, `len(self.loaded)`): the hook computes the same value when
 * /health is asked. A local (what the probe sent, `request = self.health_socket.recv_json()`) or any
 * other call (a receive, a method reading anything) is request data or unknown: not the agent's state.
 */
function ownStateArgument(arg: SyntaxNode, scope: PayloadScope): boolean {
  let ok = true;
  walk(arg, (n) => {
    if (!ok) return false;
    if (n.type === 'comment') return;
    const p = n.parent;
    if (n.type === 'attribute') {
      let root = n;
      while (root.type === 'attribute') root = root.childForFieldName('object')!;
      const called = p?.type === 'call' && p.childForFieldName('function')?.id === n.id;
      ok = !called && root.type === 'identifier' && root.text === 'self' && selfIsAgent(root, scope);
      return false;
    }
    if (n.type === 'call') {
      const f = n.childForFieldName('function');
      // self._health_request(): the agent's own method, when its body only reads the agent's state.
      const reader = f?.type === 'attribute' ? ownReaderMethod(f, scope) : undefined;
      if (reader) {
        ok = readsStateOnly(reader, scope, 0) && (n.childForFieldName('arguments')?.namedChildren ?? []).every((a) => ownStateArgument(a, scope));
        return false;
      }
      ok = f?.type === 'identifier' && PURE_BUILTINS.has(f.text);
      return;
    }
    if (n.type === 'identifier') {
      const keyword = p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id;
      const builtin = p?.type === 'call' && p.childForFieldName('function')?.id === n.id;
      ok = keyword || builtin || isModuleName(n);
      return;
    }
    if (n.isNamed && !CONSTANT_NODES.has(n.type) && !STATE_OPERATORS.has(n.type)) ok = false;
  });
  return ok;
}

/** `self.m` of an agent method: the agent's method m. */
function ownReaderMethod(f: SyntaxNode, scope: PayloadScope): PyFunction | undefined {
  const obj = f.childForFieldName('object');
  if (obj?.type !== 'identifier' || obj.text !== 'self' || !selfIsAgent(obj, scope)) return undefined;
  return scope.agent.methods.get(f.childForFieldName('attribute')!.text);
}

/** Methods that read what they are called on and change nothing (a dict's, a string's, a queue's size). */
const READING_METHODS = new Set([
  'items', 'keys', 'values', 'copy', 'count', 'index', 'startswith', 'endswith', 'lower', 'upper', 'strip',
  'split', 'format', 'join', 'isoformat', 'total_seconds', 'qsize', 'is_set', 'is_alive',
]);
/** Module calls that read the clock or the process, never block, never do I/O. */
const READING_CALLS = new Set(['time.time', 'time.monotonic', 'time.perf_counter', 'os.getpid']);
/** Statements that may block, change state outside the method or leave it other than by a return. */
const NOT_A_READ = new Set([
  'with_statement', 'while_statement', 'delete_statement', 'global_statement', 'nonlocal_statement', 'yield', 'await',
  'raise_statement', 'import_statement', 'import_from_statement', 'try_statement', 'function_definition', 'class_definition',
]);

/**
 * The body of the agent's own method only reads: locals, the agent's attributes, module names; calls of pure
 * builtins, reading methods, the clock, and other such methods of the agent. No I/O (print, open, a socket's or
 * a client's call), no mutation (an assignment to anything but a local, a mutating method), no blocking call
 * (a lock, a loop, a sleep): the hook may call it whenever /health is asked, as the loop did per probe.
 */
function readsStateOnly(fn: PyFunction, scope: PayloadScope, depth: number): boolean {
  if (fn.isAsync || fn.decorators.length || depth > 2) return false;
  let ok = true;
  walk(fn.body, (n) => {
    if (!ok) return false;
    if (NOT_A_READ.has(n.type)) return (ok = false);
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      const left = n.childForFieldName('left')!;
      const targets = left.type === 'identifier' ? [left] : left.type === 'pattern_list' || left.type === 'tuple_pattern' ? left.namedChildren : [];
      if (!targets.length || !targets.every((t) => t.type === 'identifier')) return (ok = false);
      return;
    }
    if (n.type !== 'call') return;
    const f = n.childForFieldName('function')!;
    if (f.type === 'identifier') {
      ok = PURE_BUILTINS.has(f.text);
      return;
    }
    if (f.type !== 'attribute') return (ok = false);
    const own = ownReaderMethod(f, scope);
    if (own) {
      ok = own !== fn && readsStateOnly(own, scope, depth + 1);
      return;
    }
    const method = f.childForFieldName('attribute')!.text;
    // d.get("key"): a dict's read; a queue's get() blocks and takes an item, so only a key counts.
    const keyRead = method === 'get' && n.childForFieldName('arguments')?.namedChild(0)?.type === 'string';
    ok = READING_CALLS.has(f.text.replace(/\s+/g, '')) || READING_METHODS.has(method) || keyRead;
  });
  return ok;
}

/**
 * `health_report(self)`: a function of the module the agent's own method hands the agent (and what else
 * the agent's scope reads) to build its payload. The hook calls it the same way, `self` being the agent
 * there too. Only a function defined at the module's top level: an import may be anything.
 */
function moduleFunctionGivenAgent(call: SyntaxNode, scope: PayloadScope): Translation {
  const fn = call.childForFieldName('function');
  if (fn?.type !== 'identifier') return null;
  let root: SyntaxNode = call;
  while (root.parent) root = root.parent;
  const def = root.namedChildren.find((d) => d.type === 'function_definition' && d.childForFieldName('name')?.text === fn.text);
  if (!def) return null;
  const params = def.childForFieldName('parameters')?.namedChildren ?? [];
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const texts: string[] = [];
  const members = new Set<string>();
  let agentGiven = false;
  for (const a of args) {
    if (a.type === 'identifier' && a.text === 'self') {
      if (!selfIsAgent(a, scope)) return null;
      agentGiven = true;
      // What the function reads of the agent (`agent.loaded`): the hook's readiness guard waits for it.
      const param = params[texts.length];
      if (param?.type !== 'identifier') return null;
      walk(def.childForFieldName('body')!, (n) => {
        if (n.type === 'attribute' && n.childForFieldName('object')?.text === param.text) members.add(n.childForFieldName('attribute')!.text);
      });
      texts.push('self');
      continue;
    }
    // The agent's own state beside it, as for a payload method (see ownMethodWithArguments).
    if (!ownStateArgument(a, scope)) return null;
    texts.push(a.text);
  }
  return agentGiven ? { text: `${fn.text}(${texts.join(', ')})`, members } : null;
}

function producer(call: SyntaxNode, scope: PayloadScope): Translation {
  const fn = call.childForFieldName('function');
  // route() with route = routes.get(self.path): on /health, the agent's method the table names for it.
  const routed = routedHealthEntry(call);
  if (routed === 'none') return { text: '', members: new Set() };
  if (routed) {
    const t = translate(routed.value, scope);
    const method = t ? /^self\.(\w+)$/.exec(t.text)?.[1] : undefined;
    return method && scope.methods.has(method) ? { text: `${t!.text}()`, members: t!.members } : null;
  }
  // status_fn() in a helper the agent called with self.health_status: the agent's payload method.
  const given = fn?.type === 'identifier' ? scope.params?.get(fn.text) : undefined;
  if (given && (call.childForFieldName('arguments')?.namedChildCount ?? 0) === 0) {
    const t = translate(given, scope);
    const method = t ? /^self\.(\w+)$/.exec(t.text)?.[1] : undefined;
    // (or a member's method, `self.stats.snapshot`: what the agent's held helper reports)
    const held = t ? /^self\.(\w+)\.\w+$/.exec(t.text)?.[1] : undefined;
    return (method && scope.methods.has(method)) || (held && !scope.methods.has(held)) ? { text: `${t!.text}()`, members: t!.members } : null;
  }
  // asdict(agent._snapshot()) / vars(agent._snapshot()): the same record, as a mapping.
  const wrapped = call.childForFieldName('arguments')?.namedChildren ?? [];
  if (fn && /^(dataclasses\.asdict|asdict|vars)$/.test(fn.text) && wrapped.length === 1 && wrapped[0]!.type === 'call') {
    const inner = translate(wrapped[0]!, scope);
    const method = inner ? /^self\.(\w+)\(\)$/.exec(inner.text)?.[1] : undefined;
    if (inner && method && recordMapping(method, { wrapper: fn.text }, call, scope)) {
      return { text: `${fn.text}(${inner.text})`, members: inner.members };
    }
    return null;
  }
  const given2 = moduleFunctionGivenAgent(call, scope);
  if (given2) return given2;
  if (fn?.type !== 'attribute') return null;
  // self.server.status_fn() in a handler, where the agent handed the server one of its methods
  // (`self.health.status_fn = self.status`): that method, called on the agent.
  const handed = /^self\.server\.(\w+)$/.exec(fn.text.replace(/\s+/g, ''))?.[1];
  const handedMethod = handed ? serverMethodTags(scope.agent).get(handed) : undefined;
  if (handedMethod && scope.methods.has(handedMethod) && (call.childForFieldName('arguments')?.namedChildCount ?? 0) === 0) {
    return { text: `self.${handedMethod}()`, members: new Set([handedMethod]) };
  }
  const t = translate(call, scope);
  if (t) {
    const method = /^self\.(\w+)\(\)$/.exec(t.text)?.[1] ?? ownMethodWithArguments(call, scope);
    if (method && scope.methods.has(method)) return t;
    // board.snapshot() in a helper object's removed health code (`board = self`, the helper the agent's
    // self.board): the helper's payload method, called on the agent's member.
    const held = /^(self\.\w+)\.\w+\(\)$/.exec(t.text)?.[1];
    if (held && [...(scope.params?.values() ?? [])].some((g) => g.type === 'attribute' && g.text === held)) return t;
    // agent.health.report(): the payload method of a helper object the agent builds and keeps (composition).
    if (ownedReporterCall(t.text, scope)) return t;
    // agent._snapshot().to_dict(): a record the agent's payload method builds, as a mapping.
    const chained = /^self\.(\w+)\(\)\.(\w+)\(\)$/.exec(t.text);
    if (chained && recordMapping(chained[1]!, { method: chained[2]! }, call, scope)) return t;
  }
  // sidecar.details(): the sidecar class stores a constructor parameter and calls it.
  const attr = fn.childForFieldName('attribute')!.text;
  const cls = enclosing(call, 'class_definition');
  // self.stats_fn() in the sidecar's own method, or sidecar.details() in a handler nested in it
  const own = cls && fn.childForFieldName('object')?.text === 'self' ? scope.classes.get(cls.childForFieldName('name')!.text) ?? null : null;
  const outer = own && own.name !== scope.agent.name ? own : cls ? outerClass(cls, scope) : null;
  if (!outer) return null;
  const init = outer.methods.get('__init__');
  if (!init) return null;
  // sidecar.status(): a method of the sidecar that reads the agent it was given (`self.agent = agent`).
  const receiver = fn.childForFieldName('object')!;
  const copied = (call.childForFieldName('arguments')?.namedChildren.length ?? 0) === 0 && isSidecarSelf(receiver, outer)
    ? sidecarMethod(outer, attr, scope)
    : null;
  if (copied) return copied;
  let param: string | null = null;
  walk(init.body, (n) => {
    if (n.type !== 'assignment') return;
    const left = n.childForFieldName('left');
    if (left && selfAttribute(left) === attr) {
      walk(n.childForFieldName('right')!, (x) => {
        if (x.type === 'identifier' && init.params.some((p) => p.name === x.text)) param ??= x.text;
      });
    }
  });
  if (!param) return null;
  const a = constructorArgument(outer, param, scope);
  if (!a) return { text: '', members: new Set() };
  if (a.type === 'lambda') {
    const body = a.childForFieldName('body');
    if (body?.type !== 'dictionary') return null;
    const d = dictUpdate(body, scope);
    if (!d) return null;
    // (a kept status alone: `{}`, so the caller still writes it)
    return { text: d.text || (d.status !== undefined ? '{}' : ''), members: d.members, ...(d.status !== undefined ? { status: d.status } : {}) };
  }
  const t2 = translate(a, scope);
  return t2 ? { text: `${t2.text}()`, members: t2.members } : null;
}

/**
 * `self.<attr>.<method>()` where the agent sets `self.<attr>` once, to an instance of a class of its own
 * module, and that class's `<method>` (no parameters but self, not async) returns a mapping it builds (a
 * dict literal, or a local or attribute it set to one in that method): the health answer a reporter object
 * the agent owns computes on each request, read the same way on each request of the base's health hook.
 */
function ownedReporterCall(text: string, scope: PayloadScope): boolean {
  const m = /^self\.(\w+)\.(\w+)\(\)$/.exec(text);
  if (!m) return false;
  const [, attr, method] = m;
  const built: string[] = [];
  for (const fn of scope.agent.methods.values()) {
    walk(fn.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type !== 'assignment' || selfAttribute(n.childForFieldName('left')!) !== attr) return;
      const right = n.childForFieldName('right');
      built.push(right?.type === 'call' ? right.childForFieldName('function')?.text ?? '' : '');
    });
  }
  if (built.length !== 1) return false;
  const cls = scope.classes.get(built[0]!);
  const fn = cls && cls.name !== scope.agent.name ? cls.methods.get(method!) : undefined;
  if (!fn || fn.isAsync || fn.params.length !== 1) return false;
  return returnsBuiltMapping(fn.body);
}

/** Every return of the body hands back a dict literal, or a name (`report`, `self.last_report`) the body set to one. */
function returnsBuiltMapping(body: SyntaxNode): boolean {
  const dicts = new Set<string>();
  let returns = 0;
  let ok = true;
  walk(body, (n) => {
    if (!ok) return false;
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'assignment' && n.childForFieldName('right')?.type === 'dictionary') dicts.add(n.childForFieldName('left')!.text);
    if (n.type !== 'return_statement') return;
    returns++;
    const v = n.namedChild(0);
    if (!v || (v.type !== 'dictionary' && !dicts.has(v.text))) ok = false;
  });
  return ok && returns > 0;
}

/** Where the agent constructs the sidecar: the argument given for that parameter (by position or keyword). */
function constructorArgument(outer: PyClass, param: string, scope: PayloadScope): SyntaxNode | null {
  const init = outer.methods.get('__init__');
  if (!init) return null;
  const index = init.params.filter((p) => p.name !== 'self').findIndex((p) => p.name === param);
  let arg: SyntaxNode | null = null;
  for (const m of scope.agent.methods.values()) {
    walk(m.body, (n) => {
      if (arg || n.type !== 'call' || callee(n) !== outer.name) return;
      const args = n.childForFieldName('arguments')?.namedChildren ?? [];
      const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === param);
      arg = kw ? kw.childForFieldName('value') : args.filter((a) => a.type !== 'keyword_argument')[index] ?? null;
    });
  }
  return arg;
}

/**
 * A sidecar's payload method that reads nothing of the sidecar but the agent it was given
 * (`self.agent = agent` in its __init__, the agent constructing it with `self`): the same method
 * as an agent method, `self.agent` read as `self`, which the hook calls. Null when the method reads
 * anything else of the sidecar, takes parameters, or the sidecar is not given the agent.
 */
function sidecarMethod(sidecar: PyClass, method: string, scope: PayloadScope): Translation {
  const fn = sidecar.methods.get(method);
  const init = sidecar.methods.get('__init__');
  if (!fn || !init || fn.isAsync || fn.decorators.length || fn.params.some((p) => p.name !== 'self')) return null;
  const holders = agentHolders(sidecar, scope);
  if (!holders.size) return null;
  const edits: Array<[number, number]> = [];
  const members = new Set<string>();
  const aliases = new Set<string>();
  let ok = true;
  walk(fn.body, (n) => {
    if (!ok) return false;
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') {
      ok = false;
      return false;
    }
    if (n.type === 'assignment') {
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (left?.type === 'identifier' && right && holders.has(selfAttribute(right) ?? '')) aliases.add(left.text);
    }
    if (n.type === 'attribute') {
      const obj = n.childForFieldName('object')!;
      const name = n.childForFieldName('attribute')!.text;
      if (obj.type === 'identifier' && obj.text === 'self') {
        if (!holders.has(name)) ok = false; // the sidecar's own state
        else edits.push([n.startIndex, n.endIndex]);
        return false;
      }
      if (obj.type === 'identifier' && aliases.has(obj.text)) members.add(name);
      const inner = obj.type === 'attribute' ? obj : null;
      if (inner && inner.childForFieldName('object')?.text === 'self' && holders.has(inner.childForFieldName('attribute')!.text)) members.add(name);
    }
    if (n.type === 'identifier' && n.text === 'self') ok = false; // self passed on, or read bare
  });
  if (!ok) return null;
  const src = fn.node.text;
  let body = src;
  for (const [s, e] of edits.sort((a, b) => b[0] - a[0])) body = body.slice(0, s - fn.node.startIndex) + 'self' + body.slice(e - fn.node.startIndex);
  const name = `_${sidecar.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}_${method.replace(/^_+/, '')}`;
  if (scope.methods.has(name)) return null;
  body = body.replace(new RegExp(`^def\\s+${method}\\b`), `def ${name}`);
  return { text: `self.${name}()`, members, methods: new Map([[name, dedent(body, fn.node.startPosition.column)]]) };
}

/**
 * The sidecar's attributes holding the agent: `self.<attr> = <param>` in its __init__ where the agent
 * passes `self` for <param>.
 */
function agentHolders(sidecar: PyClass, scope: PayloadScope): Set<string> {
  const holders = new Set<string>();
  const init = sidecar.methods.get('__init__');
  if (!init || sidecar.name === scope.agent.name) return holders;
  walk(init.body, (n) => {
    if (n.type !== 'assignment') return;
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    const attr = left ? selfAttribute(left) : null;
    if (!attr || right?.type !== 'identifier' || !init.params.some((p) => p.name === right.text)) return;
    if (constructorArgument(sidecar, right.text, scope)?.text === 'self' && everyConstructionGivesAgent(sidecar, right.text, scope)) holders.add(attr);
  });
  return holders;
}

/**
 * Does every construction of the sidecar in the agent's class hand the agent (its `self`) for that
 * parameter? Those are the sidecars the rewrite removes, whose payload the hook answers for the agent;
 * one handing something else (a second sidecar over another object) would answer that object's state.
 * A construction outside the agent (a preview mode of the module) keeps the class and serves its own.
 */
function everyConstructionGivesAgent(sidecar: PyClass, param: string, scope: PayloadScope): boolean {
  const init = sidecar.methods.get('__init__')!;
  const index = init.params.filter((p) => p.name !== 'self').findIndex((p) => p.name === param);
  let all = true;
  walk(scope.agent.node, (n) => {
    if (!all || n.type !== 'call' || callee(n) !== sidecar.name) return;
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === param);
    const arg = kw ? kw.childForFieldName('value') : args.filter((a) => a.type !== 'keyword_argument')[index];
    if (arg?.type !== 'identifier' || arg.text !== 'self' || !selfIsAgent(arg, scope)) all = false;
  });
  return all;
}

/**
 * The agent as a sidecar's code reaches it: `self.<holder>` in a method of a sidecar the agent constructs
 * with itself (see agentHolders), or a name a handler nested there closes over that the sidecar's method
 * binds once to it (`agent = self.agent` in start(), read as `agent.paged` in the handler's do_GET).
 * Reads through it are reads of the agent's own state, as `agent = self` in an agent method.
 */
function sidecarAgentRef(obj: SyntaxNode, scope: PayloadScope): boolean {
  if (obj.type === 'attribute') {
    const recv = obj.childForFieldName('object');
    if (recv?.type !== 'identifier' || recv.text !== 'self') return false;
    const method = enclosing(obj, 'function_definition');
    if (method?.childForFieldName('parameters')?.namedChild(0)?.text !== 'self') return false;
    const cls = enclosing(method, 'class_definition');
    const sidecar = cls ? scope.classes.get(cls.childForFieldName('name')!.text) : undefined;
    return !!sidecar && sidecar.node.id === cls!.id && agentHolders(sidecar, scope).has(obj.childForFieldName('attribute')!.text);
  }
  if (obj.type !== 'identifier' || obj.text === 'self') return false;
  if (sidecarParamRef(obj, scope)) return true;
  const value = closureValue(obj);
  return value?.type === 'attribute' && sidecarAgentRef(value, scope);
}

/**
 * A name a handler nested in a sidecar's __init__ closes over that is, or is a local bound once to, a parameter
 * of that __init__ every construction in the agent hands the agent (`HealthSidecar(self, port + 1)`; `def
 * __init__(self, owner, port): owner_ref = owner` ... `owner_ref.health()` in the handler's do_GET): the agent,
 * as `self.<holder>` is (agentHolders). The parameter must not be bound again in __init__.
 */
function sidecarParamRef(id: SyntaxNode, scope: PayloadScope, depth = 0): boolean {
  if (depth > 4) return false;
  const binding = closureBinding(id);
  if (!binding) return false;
  if (binding.param) {
    const fn = binding.fn;
    if (fn.childForFieldName('name')?.text !== '__init__') return false;
    const cls = enclosing(fn, 'class_definition');
    const sidecar = cls ? scope.classes.get(cls.childForFieldName('name')!.text) : undefined;
    if (!sidecar || sidecar.node.id !== cls!.id || sidecar.name === scope.agent.name) return false;
    return constructorArgument(sidecar, id.text, scope)?.text === 'self' && everyConstructionGivesAgent(sidecar, id.text, scope);
  }
  const right = binding.value;
  return right?.type === 'identifier' && right.text !== 'self' && sidecarParamRef(right, scope, depth + 1);
}

/**
 * The value of a name as Python resolves it from where it is read: the innermost enclosing function
 * that binds it, when that function binds it exactly once by a plain `name = value` statement of its
 * own body (not a parameter); null otherwise (bound twice, in a loop, by `with ... as`, or nowhere).
 */
function closureValue(id: SyntaxNode): SyntaxNode | null {
  const binding = closureBinding(id);
  return binding && !binding.param ? binding.value : null;
}

/**
 * How the innermost enclosing function that binds a name binds it: as a parameter of its own, bound nowhere
 * else in it (param); once by a plain `name = value` statement of its own body (value); otherwise (a
 * parameter rebound, a name inside a parameter's default or annotation, bound twice, in a loop, by
 * `with ... as`) neither. Null when no enclosing function binds it.
 */
function closureBinding(id: SyntaxNode): { fn: SyntaxNode; param: boolean; value: SyntaxNode | null } | null {
  for (let fn = enclosing(id, 'function_definition'); fn; fn = enclosing(fn, 'function_definition')) {
    const params = fn.childForFieldName('parameters');
    const named = !!params?.namedChildren.some((p) => (p.type === 'identifier' ? p : p.childForFieldName('name') ?? p.namedChild(0))?.text === id.text);
    const binders = bindersIn(fn, id);
    if (named) return { fn, param: binders.length === 0, value: null };
    if (params && new RegExp(`\\b${id.text}\\b`).test(params.text)) return { fn, param: false, value: null };
    if (!binders.length) continue;
    const assign = binders[0]!.parent!;
    return { fn, param: false, value: binders.length === 1 && assign.type === 'assignment' ? assign.childForFieldName('right') : null };
  }
  return null;
}

/** `self` in a method of the sidecar, or a local holding it (`sidecar = self`) read by a handler nested there. */
function isSidecarSelf(recv: SyntaxNode, sidecar: PyClass): boolean {
  if (recv.type !== 'identifier') return false;
  if (recv.text === 'self') return enclosing(recv, 'class_definition')?.id === sidecar.node.id;
  return selfAliasIn(recv, sidecar);
}

/** Is the identifier a local the enclosing method of this class assigned `self` (`agent = self`, `sidecar = self`)? */
function selfAliasIn(id: SyntaxNode, cls: PyClass): boolean {
  for (const m of cls.methods.values()) {
    if (!(m.node.startIndex <= id.startIndex && id.endIndex <= m.node.endIndex)) continue;
    // `agent = self`, and a local bound to such a local (`monitor = agent`), however long the chain.
    const pairs: Array<[string, string]> = [];
    walk(m.body, (n) => {
      if (n.type === 'class_definition' || (n.type === 'function_definition' && n.id !== m.node.id)) return false;
      const left = n.type === 'assignment' ? n.childForFieldName('left') : null;
      const right = n.type === 'assignment' ? n.childForFieldName('right') : null;
      if (left?.type === 'identifier' && right?.type === 'identifier') pairs.push([left.text, right.text]);
    });
    const aliases = new Set(['self']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [left, right] of pairs) {
        if (aliases.has(right) && !aliases.has(left)) {
          aliases.add(left);
          grew = true;
        }
      }
    }
    if (id.text === 'self' || !aliases.has(id.text)) return false;
    if (pairs.some(([l, r]) => l === id.text && r === 'self')) return true;
    // An alias of an alias is the agent only when the method binds that name to nothing else.
    let rebound = false;
    walk(m.body, (n) => {
      if (n.type === 'assignment' && n.childForFieldName('left')?.text === id.text && !aliases.has(n.childForFieldName('right')?.text ?? '')) rebound = true;
    });
    return !rebound;
  }
  return false;
}

/** A method's text with the indentation of its `def` line removed from every following line. */
function dedent(text: string, column: number): string {
  return text.split('\n').map((l, i) => (i === 0 ? l : l.startsWith(' '.repeat(column)) ? l.slice(column) : l.trimStart() === '' ? '' : l)).join('\n');
}

/** The module-level class a nested handler class lives in (a sidecar), if any. */
function outerClass(cls: SyntaxNode, scope: PayloadScope): PyClass | null {
  for (let p = cls.parent; p; p = p.parent) {
    if (p.type === 'class_definition') {
      const name = p.childForFieldName('name')!.text;
      return scope.classes.get(name) ?? null;
    }
  }
  return null;
}

function enclosing(n: SyntaxNode, type: string): SyntaxNode | null {
  for (let p = n.parent; p; p = p.parent) if (p.type === type) return p;
  return null;
}

const SAFE_NAMES = new Set([
  'len', 'sum', 'min', 'max', 'round', 'int', 'float', 'str', 'bool', 'list', 'dict', 'sorted', 'any', 'all', 'abs',
  'time', 'datetime', 'timedelta', 'os', 'threading', 'True', 'False', 'None', 'v', 'k', 'x',
]);

/**
 * An expression of the handler's scope rewritten in the agent's: receivers that stand for the
 * agent become `self`; anything else of the handler (its own `self`, its locals) fails.
 */
export function translate(expr: SyntaxNode, scope: PayloadScope, depth = 0): Translation {
  // The receiver itself (`agent = self.agent` in a handler given the agent): the agent.
  if (expr.type === 'attribute' && givenAgentByPartial(expr, scope)) return { text: 'self', members: new Set() };
  const edits: Array<[number, number, string]> = [];
  const members = new Set<string>();
  let ok = true;
  const localNames = comprehensionNames(expr);
  walk(expr, (n) => {
    if (!ok) return false;
    if (n.type === 'lambda') return false;
    // The legacy health server's bound port, read by its own request handler: the base's health port.
    if (scope.healthPort && handlerServerPort(n)) {
      edits.push([n.startIndex, n.endIndex, scope.healthPort]);
      return false;
    }
    if (n.type === 'attribute') {
      const recv = agentReceiver(n.childForFieldName('object')!, scope);
      if (recv) {
        edits.push([recv.startIndex, recv.endIndex, 'self']);
        members.add(n.childForFieldName('attribute')!.text);
        return false;
      }
      return;
    }
    if (n.type !== 'identifier') return;
    const p = n.parent;
    // `.name` of an attribute and `name=` of a keyword argument are not free names
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    if (localNames.has(n.text) || SAFE_NAMES.has(n.text)) return;
    if (n.text === 'self' || isModuleName(n)) {
      if (n.text === 'self') ok = false;
      return;
    }
    // A name of the removed code standing for one of the agent's members (`board` in a helper object's
    // start method, `board = self`, the helper being the agent's `self.board`): read on that member.
    const given = p?.type === 'attribute' && p.childForFieldName('object')?.id === n.id ? scope.params?.get(n.text) : undefined;
    if (given?.type === 'attribute' && /^self\.\w+$/.test(given.text)) {
      edits.push([n.startIndex, n.endIndex, given.text]);
      members.add(given.childForFieldName('attribute')!.text);
      return;
    }
    // A local of the handler computed just before the payload (`latest = agent.history[-1] if agent.history
    // else {}`): its value, read in the agent's scope, stands in for it (the handler computed it per request too).
    const value = depth < 3 ? singleLocalValue(n) : null;
    const t = value ? translate(value, scope, depth + 1) : null;
    if (!t) {
      ok = false;
      return;
    }
    t.members.forEach((m) => members.add(m));
    edits.push([n.startIndex, n.endIndex, value!.type === 'identifier' || value!.type === 'attribute' || value!.type === 'call' ? t.text : `(${t.text})`]);
  });
  if (!ok) return null;
  let text = expr.text;
  for (const [s, e, r] of edits.sort((a, b) => b[0] - a[0])) text = text.slice(0, s - expr.startIndex) + r + text.slice(e - expr.startIndex);
  return { text: text.replace(/\s*\n\s*/g, ' '), members };
}

/**
 * `self.server.server_port` / `self.server.server_address[1]` in a method of an HTTP request handler class
 * (`class H(BaseHTTPRequestHandler)`, `self` its first parameter): the port its server is bound to.
 */
function handlerServerPort(n: SyntaxNode): boolean {
  let server: SyntaxNode | null = null;
  if (n.type === 'attribute' && n.childForFieldName('attribute')?.text === 'server_port') server = n.childForFieldName('object');
  else if (n.type === 'subscript' && n.childForFieldName('subscript')?.text === '1') {
    const v = n.childForFieldName('value');
    if (v?.type === 'attribute' && v.childForFieldName('attribute')?.text === 'server_address') server = v.childForFieldName('object');
  }
  if (server?.type !== 'attribute' || server.childForFieldName('attribute')?.text !== 'server') return false;
  const recv = server.childForFieldName('object');
  const fn = enclosing(n, 'function_definition');
  const first = fn?.childForFieldName('parameters')?.namedChildren[0];
  if (recv?.type !== 'identifier' || first?.type !== 'identifier' || first.text !== recv.text) return false;
  const cls = fn ? enclosing(fn, 'class_definition') : null;
  return /HTTPRequestHandler\b/.test(cls?.childForFieldName('superclasses')?.text ?? '');
}

/**
 * The value of a local that the enclosing function assigns exactly once, by a plain `name = value`
 * statement in a block enclosing the use and before it (so it always ran before the use), and never
 * binds otherwise (no loop target, augmented assignment, `with ... as`, parameter). Else null.
 */
/**
 * The payload's lines under the locks it was read under (see underLocks): those around `at`, else those
 * around a local the payload reads (`with agent.lock: down = [...]`, then `{"down": down}` after the
 * block), so the hook reads that field under the same lock.
 */
function underPayloadLocks(at: SyntaxNode, payload: SyntaxNode, fn: SyntaxNode, lines: string[], members: Set<string>, scope: PayloadScope): string[] {
  const own = underLocks(at, fn, lines, members, scope);
  if (own !== lines) return own;
  const local = lockedLocalValue(payload);
  return local ? underLocks(local, fn, lines, members, scope) : lines;
}

/** The value of the first local a payload reads that was assigned inside a `with` block of its function, else null. */
function lockedLocalValue(payload: SyntaxNode, depth = 0): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  walk(payload, (n) => {
    if (found) return false;
    if (n.type === 'lambda' || n.type === 'function_definition') return false;
    if (n.type !== 'identifier' || (n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id)) return;
    if (n.parent?.type === 'keyword_argument' && n.parent.childForFieldName('name')?.id === n.id) return;
    const value = singleLocalValue(n);
    if (!value) return;
    // `payload = {"tenants": tenants}` sent as json.dumps(payload): the locals the payload's own value reads.
    found = enclosing(value, 'with_statement') ? value : depth < 2 ? lockedLocalValue(value, depth + 1) : null;
  });
  return found;
}

function singleLocalValue(id: SyntaxNode): SyntaxNode | null {
  const fn = enclosing(id, 'function_definition');
  if (!fn) return null;
  const params = fn.childForFieldName('parameters');
  if (params && new RegExp(`\\b${id.text}\\b`).test(params.text)) return null;
  const binders = bindersIn(fn, id);
  if (binders.length !== 1) return null;
  const assign = binders[0]!.parent!;
  if (assign.type !== 'assignment' || assign.parent?.type !== 'expression_statement') return null;
  const stmt = assign.parent;
  let block = stmt.parent;
  // Assigned in the body of a `with` (`with agent.lock: lines = [...]`) and used after it: the body always
  // ran before the use, as when it is assigned in the block of the use.
  while (block && !(block.startIndex <= id.startIndex && id.endIndex <= block.endIndex) && block.parent?.type === 'with_statement' && block.parent.childForFieldName('body')?.id === block.id) {
    block = block.parent.parent;
  }
  if (!block || stmt.endIndex > id.startIndex || !(block.startIndex <= id.startIndex && id.endIndex <= block.endIndex)) return null;
  return assign.childForFieldName('right');
}

/** The places a function's own body (not functions or classes nested in it) binds the name `id` reads. */
function bindersIn(fn: SyntaxNode, id: SyntaxNode): SyntaxNode[] {
  const binders: SyntaxNode[] = [];
  walkTypes(fn.childForFieldName('body')!, IDENTIFIER_OR_SCOPE, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.text !== id.text || n.id === id.id) return;
    const p = n.parent;
    const bound =
      ((p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.childForFieldName('left')?.id === n.id) ||
      p?.type === 'pattern_list' || p?.type === 'tuple_pattern' || p?.type === 'as_pattern_target' ||
      (p?.type === 'for_statement' && p.childForFieldName('left')?.id === n.id) ||
      p?.type === 'named_expression' || p?.type === 'global_statement' || p?.type === 'nonlocal_statement';
    if (bound) binders.push(n);
  });
  return binders;
}

/** Names bound inside the expression itself (comprehension and lambda variables). */
function comprehensionNames(expr: SyntaxNode): Set<string> {
  const out = new Set<string>();
  walk(expr, (n) => {
    if (n.type === 'for_in_clause') {
      const left = n.childForFieldName('left');
      if (left) walk(left, (x) => {
        if (x.type === 'identifier') out.add(x.text);
      });
    }
  });
  return out;
}

/** A name defined at module level (a constant, an import, a function): valid anywhere. */
export function isModuleName(id: SyntaxNode): boolean {
  let root: SyntaxNode = id;
  while (root.parent) root = root.parent;
  for (const s of root.namedChildren) {
    if (s.type === 'import_statement' || s.type === 'import_from_statement') {
      if (new RegExp(`\\b${id.text}\\b`).test(s.text)) return true;
    } else if (s.type === 'expression_statement') {
      const a = s.namedChild(0);
      if (a?.type === 'assignment' && a.childForFieldName('left')?.text === id.text) return true;
    } else if (s.type === 'function_definition' || s.type === 'class_definition') {
      if (s.childForFieldName('name')?.text === id.text) return true;
    }
  }
  return false;
}

/**
 * The node standing for the agent at the head of an attribute chain: `agent` (a local
 * `agent = self` of an agent method), `self.server.<tag>` (a server the agent tagged with
 * itself, or a handler's local holding it), a closure's `self` inside an agent method.
 */
export function agentReceiver(obj: SyntaxNode, scope: PayloadScope): SyntaxNode | null {
  if (obj.type === 'identifier') {
    if (obj.text === 'self') return selfIsAgent(obj, scope) ? obj : null;
    if (aliasOfSelf(obj, scope)) return obj;
    // A parameter of the helper function the agent called with itself (`make_handler(self)`).
    const given = scope.params?.get(obj.text);
    if (given?.type === 'identifier' && given.text === 'self' && selfIsAgent(given, scope)) return obj;
  }
  // self.<attr> of a handler class the agent hands itself through functools.partial(Handler, self)
  if (obj.type === 'attribute' && givenAgentByPartial(obj, scope)) return obj;
  // self.agent in a sidecar the agent constructs with itself, or `agent = self.agent` closed over by its handler
  if (sidecarAgentRef(obj, scope)) return obj;
  // self.server.<tag> (the handler's server, tagged `server.<tag> = self` by the agent), or a local holding it
  return reachesAgentViaServer(obj, serverTags(scope.agent)) ? obj : null;
}

/**
 * `self.<attr>` in a method of a handler class whose __init__ keeps a parameter as `self.<attr> = <param>`,
 * where the agent builds the handler factory with `functools.partial(Handler, self)` (or `<param>=self`):
 * the usual way to hand the agent to a BaseHTTPRequestHandler, which http.server constructs per request.
 */
export function givenAgentByPartial(obj: SyntaxNode, scope: PayloadScope): boolean {
  const recv = obj.childForFieldName('object');
  const attr = obj.childForFieldName('attribute')?.text;
  if (recv?.type !== 'identifier' || recv.text !== 'self' || !attr) return false;
  const method = enclosing(obj, 'function_definition');
  const clsNode = method ? enclosing(method, 'class_definition') : null;
  if (!clsNode || clsNode.id === scope.agent.node.id) return false;
  // `self` is the handler's only when the method is the handler's own (not a closure inside it).
  if (method!.childForFieldName('parameters')?.namedChild(0)?.text !== 'self') return false;
  const handler = classModel(clsNode);
  const init = handler.methods.get('__init__');
  if (!init) return false;
  const positional = init.params.filter((p) => p.name !== 'self' && (p.kind === 'plain' || p.kind === 'default'));
  let param: string | null = null;
  walk(init.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'assignment' || selfAttribute(n.childForFieldName('left')!) !== attr) return;
    const right = n.childForFieldName('right');
    if (right?.type === 'identifier' && positional.some((p) => p.name === right.text)) param = right.text;
  });
  if (!param) return false;
  const index = positional.findIndex((p) => p.name === param);
  const partialName = partialCallee(obj);
  let given = false;
  walk(scope.agent.node, (n) => {
    if (given || n.type !== 'call' || !partialName.test(callee(n) ?? '')) return;
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    if (args[0]?.text !== handler.name) return;
    const rest = args.slice(1);
    const kw = rest.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === param);
    const value = kw ? kw.childForFieldName('value') : rest.filter((a) => a.type !== 'keyword_argument')[index] ?? null;
    if (value?.type === 'identifier' && (value.text === 'self' ? selfIsAgent(value, scope) : aliasOfSelf(value, scope))) given = true;
  });
  return given;
}

/** `functools.partial`, and `partial` where the module imports it from functools. */
function partialCallee(n: SyntaxNode): RegExp {
  let root: SyntaxNode = n;
  while (root.parent) root = root.parent;
  return /^\s*from\s+functools\s+import\b[^\n]*\bpartial\b/m.test(root.text) ? /^(functools\.)?partial$/ : /^functools\.partial$/;
}

/** Is this `self` the agent (a method of the agent class, or a closure inside one)? */
function selfIsAgent(id: SyntaxNode, scope: PayloadScope): boolean {
  for (let p = id.parent; p; p = p.parent) {
    if (p.type === 'function_definition') {
      const first = p.childForFieldName('parameters')?.namedChild(0)?.text;
      if (first !== 'self') continue; // a closure: look further out
      const cls = enclosing(p, 'class_definition');
      return cls?.id === scope.agent.node.id;
    }
  }
  return false;
}

/** `agent` assigned `self` in the enclosing agent method (`agent = self`). */
function aliasOfSelf(id: SyntaxNode, scope: PayloadScope): boolean {
  return selfAliasIn(id, scope.agent);
}

/**
 * The agent attribute a payload value is a bare read of (`self.registered`, `agent.registered`) when it is
 * the agent's own (not the base's) and its code sets it outside __init__ (state it changes while running).
 */
function ownRuntimeState(value: SyntaxNode, scope: PayloadScope): string | null {
  const t = value.type === 'attribute' ? translate(value, scope) : null;
  const attr = t ? /^self\.(\w+)$/.exec(t.text)?.[1] : undefined;
  if (!attr || scope.baseOwned?.has(attr) || scope.methods.has(attr)) return null;
  let changed = false;
  walk(scope.agent.node, (n) => {
    if (changed) return false;
    if (n.type === 'function_definition' && n.childForFieldName('name')?.text === '__init__') return false;
    if (n.type !== 'assignment' && n.type !== 'augmented_assignment') return;
    const left = n.childForFieldName('left');
    if (left?.type === 'attribute' && left.childForFieldName('object')?.text === 'self' && left.childForFieldName('attribute')?.text === attr) changed = true;
  });
  return changed ? attr : null;
}
