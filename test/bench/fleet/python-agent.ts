// One generated legacy Python agent, shaped like the fixture families (legacy-patterns.md):
// import-time set-up (sys.path, logging to a file), helper classes and records beside the
// agent, an own zmq.Context and sockets, health on a REP thread / an HTTP handler nested in a
// method / a sidecar class, signal handlers, hand-made registration with retries, a main loop,
// a cleanup that saves state, and a `__main__` guard — plus business methods until the file
// has the length asked for. Written from templates here, not copied from any codebase.
import { DOMAINS, pascal, Random, type Domain } from './random.js';

export type PythonFamily = 'zmq-rep-health' | 'http-health-handler' | 'registration-retries' | 'helpers-and-records' | 'periodic-sidecar';
export const PYTHON_FAMILIES: PythonFamily[] = ['zmq-rep-health', 'http-health-handler', 'registration-retries', 'helpers-and-records', 'periodic-sidecar'];

const QUALIFIERS = ['fast', 'bulk', 'safe', 'local', 'remote', 'daily', 'hourly', 'pending', 'stale', 'primary', 'backup', 'shadow', 'regional', 'batched', 'cached', 'retried'];

export interface GeneratedFile {
  /** Path relative to the fleet root. */
  rel: string;
  text: string;
  className: string;
  language: 'python' | 'typescript';
  family: string;
}

/** A block of code lines at a given indentation (4 spaces per level). */
function block(indent: number, lines: string[]): string[] {
  const pad = ' '.repeat(indent * 4);
  return lines.map((l) => (l === '' ? '' : pad + l));
}

/** Business methods: plausible work on the agent's records, each different in shape. */
const METHODS: Array<(d: Domain, q: string, r: Random) => { name: string; lines: string[]; action?: string }> = [
  (d, q) => {
    const name = `_${d.verbs[0]}_${q}_${d.record}`;
    return {
      name,
      action: `${d.verbs[0]}_${q}`,
      lines: [
        `def ${name}(self, ${d.record}):`,
        `    """${pascal(d.verbs[0]!)} one ${d.record} on the ${q} path."""`,
        `    key = ${d.record}.get("id") or f"${d.record}-{self.sequence}"`,
        `    self.sequence += 1`,
        `    if not self._is_valid_${d.record}(${d.record}):`,
        `        self.stats["rejected"] += 1`,
        `        logger.warning(f"Rejected ${d.record} {key}: missing fields")`,
        `        return {"status": "error", "error": "invalid ${d.record}"}`,
        `    entry = dict(${d.record})`,
        `    entry["received_at"] = time.time()`,
        `    entry["path"] = "${q}"`,
        `    with self.lock:`,
        `        self.${d.records}[key] = entry`,
        `        self.stats["${d.verbs[0]}"] += 1`,
        `    return {"status": "success", "id": key}`,
      ],
    };
  },
  (d, q, r) => {
    const field = r.pick(d.fields);
    const name = `_summarise_${q}_${d.records}_by_${field}`;
    return {
      name,
      action: `summary_${q}_${field}`,
      lines: [
        `def ${name}(self, window_s=${r.int(60, 3600)}):`,
        `    cutoff = time.time() - window_s`,
        `    totals = {}`,
        `    counts = {}`,
        `    with self.lock:`,
        `        items = list(self.${d.records}.values())`,
        `    for item in items:`,
        `        if item.get("received_at", 0) < cutoff:`,
        `            continue`,
        `        bucket = str(item.get("${field}", "unknown"))`,
        `        counts[bucket] = counts.get(bucket, 0) + 1`,
        `        try:`,
        `            totals[bucket] = totals.get(bucket, 0.0) + float(item.get("${r.pick(d.fields)}", 0) or 0)`,
        `        except (TypeError, ValueError):`,
        `            continue`,
        `    summary = []`,
        `    for bucket in sorted(counts):`,
        `        mean = totals.get(bucket, 0.0) / counts[bucket] if counts[bucket] else 0.0`,
        `        summary.append({"${field}": bucket, "count": counts[bucket], "mean": round(mean, 3)})`,
        `    return summary`,
      ],
    };
  },
  (d, q, r) => {
    const name = q ? `_load_${q}_${d.records}` : `_load_${d.records}`;
    return {
      name,
      lines: [
        `def ${name}(self, path=None):`,
        `    path = path or os.path.join(DATA_DIR, "${d.records}${q ? `_${q}` : ''}.json")`,
        `    if not os.path.exists(path):`,
        `        return 0`,
        `    try:`,
        `        with open(path, "r", encoding="utf-8") as f:`,
        `            data = json.load(f)`,
        `    except (OSError, ValueError) as e:`,
        `        logger.error(f"Could not read {path}: {e}")`,
        `        return 0`,
        `    loaded = 0`,
        `    for key, value in data.items():`,
        `        if not isinstance(value, dict):`,
        `            continue`,
        `        self.${d.records}.setdefault(key, value)`,
        `        loaded += 1`,
        `    logger.info(f"Loaded {loaded} ${d.records} from {path} (limit ${r.int(100, 5000)})")`,
        `    return loaded`,
      ],
    };
  },
  (d, q) => {
    const name = `_save_${q}_${d.records}`;
    return {
      name,
      lines: [
        `def ${name}(self, path=None):`,
        `    path = path or os.path.join(DATA_DIR, "${d.records}_${q}.json")`,
        `    os.makedirs(os.path.dirname(path), exist_ok=True)`,
        `    tmp = path + ".tmp"`,
        `    with self.lock:`,
        `        snapshot = {k: v for k, v in self.${d.records}.items() if v.get("path") == "${q}"}`,
        `    with open(tmp, "w", encoding="utf-8") as f:`,
        `        json.dump(snapshot, f, indent=2, sort_keys=True)`,
        `    os.replace(tmp, path)`,
        `    return len(snapshot)`,
      ],
    };
  },
  (d, q, r) => {
    const name = `_score_${q}_${d.record}`;
    const [a, b, c] = r.some(d.fields, 3);
    return {
      name,
      action: `score_${q}`,
      lines: [
        `def ${name}(self, ${d.record}):`,
        `    weights = {"${a}": ${(r.next() * 2).toFixed(2)}, "${b}": ${(r.next() * 2).toFixed(2)}, "${c}": ${(r.next() * 2).toFixed(2)}}`,
        `    score = 0.0`,
        `    for field, weight in weights.items():`,
        `        value = ${d.record}.get(field)`,
        `        if isinstance(value, (int, float)):`,
        `            score += weight * value`,
        `        elif isinstance(value, str):`,
        `            score += weight * (len(value) % ${r.int(3, 17)})`,
        `        elif value is None:`,
        `            score -= weight`,
        `    if score > self.thresholds.get("${q}", ${r.int(10, 90)}):`,
        `        self.stats["high_score"] += 1`,
        `    return round(score, 4)`,
      ],
    };
  },
  (d, q) => {
    const name = `_batch_${d.verbs[1]}_${q}`;
    return {
      name,
      action: `batch_${d.verbs[1]}_${q}`,
      lines: [
        `def ${name}(self, items):`,
        `    done, failed = [], []`,
        `    for item in items:`,
        `        try:`,
        `            result = self._${d.verbs[0]}_${d.record}_core(item)`,
        `        except (KeyError, ValueError) as e:`,
        `            failed.append({"item": item.get("id"), "error": str(e)})`,
        `            logger.warning(f"${pascal(d.verbs[1]!)} failed for {item.get('id')}: {e}")`,
        `            continue`,
        `        done.append(result)`,
        `        if len(done) % 50 == 0:`,
        `            logger.debug(f"${pascal(d.verbs[1]!)}: {len(done)} done so far")`,
        `    self.stats["${d.verbs[1]}"] += len(done)`,
        `    self.stats["failed"] += len(failed)`,
        `    return {"status": "success", "done": len(done), "failed": failed}`,
      ],
    };
  },
  (d, q, r) => {
    const field = r.pick(d.fields);
    const name = `_index_${q}_by_${field}`;
    return {
      name,
      lines: [
        `def ${name}(self):`,
        `    index = {}`,
        `    with self.lock:`,
        `        for key, item in self.${d.records}.items():`,
        `            bucket = item.get("${field}")`,
        `            if bucket is None:`,
        `                continue`,
        `            index.setdefault(bucket, []).append(key)`,
        `    for bucket in index:`,
        `        index[bucket].sort()`,
        `    return index`,
      ],
    };
  },
  (d, q, r) => {
    const name = `_prune_${q}_${d.records}`;
    return {
      name,
      lines: [
        `def ${name}(self, max_age_s=${r.int(300, 86400)}):`,
        `    now = time.time()`,
        `    expired = []`,
        `    with self.lock:`,
        `        for key, item in list(self.${d.records}.items()):`,
        `            age = now - item.get("received_at", now)`,
        `            if age > max_age_s:`,
        `                expired.append(key)`,
        `                del self.${d.records}[key]`,
        `    if expired:`,
        `        logger.info(f"Pruned {len(expired)} ${q} ${d.records} older than {max_age_s}s")`,
        `    return expired`,
      ],
    };
  },
  (d, q, r) => {
    const name = `_format_${q}_report`;
    const [a, b] = r.some(d.fields, 2);
    return {
      name,
      action: `report_${q}`,
      lines: [
        `def ${name}(self, limit=${r.int(5, 50)}):`,
        `    lines = [f"{self.name} ${q} report", "=" * 40]`,
        `    with self.lock:`,
        `        ranked = sorted(self.${d.records}.items(), key=lambda kv: str(kv[1].get("${a}", "")))`,
        `    for key, item in ranked[:limit]:`,
        `        lines.append(f"{key:<24} ${a}={item.get('${a}')!s:<12} ${b}={item.get('${b}')}")`,
        `    lines.append("-" * 40)`,
        `    for name, value in sorted(self.stats.items()):`,
        `        lines.append(f"{name}: {value}")`,
        `    return "\\n".join(lines)`,
      ],
    };
  },
  (d, q, r) => {
    const name = `_reconcile_${q}_${d.records}`;
    const field = r.pick(d.fields);
    return {
      name,
      lines: [
        `def ${name}(self, remote):`,
        `    """Compare our ${d.records} with a peer's copy; return what differs."""`,
        `    missing, stale, extra = [], [], []`,
        `    with self.lock:`,
        `        local = dict(self.${d.records})`,
        `    for key, theirs in remote.items():`,
        `        ours = local.get(key)`,
        `        if ours is None:`,
        `            missing.append(key)`,
        `        elif ours.get("${field}") != theirs.get("${field}"):`,
        `            stale.append(key)`,
        `    for key in local:`,
        `        if key not in remote:`,
        `            extra.append(key)`,
        `    if missing or stale:`,
        `        logger.info(f"Reconcile ${q}: {len(missing)} missing, {len(stale)} stale, {len(extra)} extra")`,
        `    return {"missing": missing, "stale": stale, "extra": extra}`,
      ],
    };
  },
];

/** The file's header: docstring, imports, sys.path and logging set-up at import time, constants. */
function header(d: Domain, cls: string, family: PythonFamily, r: Random): string[] {
  const http = family === 'http-health-handler' || family === 'periodic-sidecar';
  return [
    '#!/usr/bin/env python3',
    '"""',
    `${pascal(d.stem).replace(/([a-z])([A-Z])/g, '$1 $2')} agent`,
    `- ${pascal(d.verbs[0]!)}s incoming ${d.records} and keeps them in memory`,
    `- Answers requests on a ZMQ socket and reports its health`,
    '"""',
    '',
    'import os',
    'import sys',
    'import json',
    'import time',
    'import signal',
    'import logging',
    'import threading',
    ...(family === 'helpers-and-records' ? ['from dataclasses import dataclass, field', 'from enum import Enum'] : []),
    ...(http ? ['from http.server import BaseHTTPRequestHandler, HTTPServer'] : []),
    'from pathlib import Path',
    '',
    'import zmq',
    '',
    'PROJECT_ROOT = Path(__file__).resolve().parent.parent',
    'if str(PROJECT_ROOT) not in sys.path:',
    '    sys.path.insert(0, str(PROJECT_ROOT))',
    '',
    'os.makedirs("logs", exist_ok=True)',
    'logging.basicConfig(',
    '    level=logging.INFO,',
    '    format="%(asctime)s - %(name)s - %(levelname)s - %(message)s",',
    `    handlers=[logging.FileHandler("logs/${d.stem}.log"), logging.StreamHandler()],`,
    ')',
    `logger = logging.getLogger("${cls}")`,
    '',
    `DATA_DIR = os.path.join("data", "${d.stem}")`,
    `REQUEST_TIMEOUT_MS = ${r.int(1, 10) * 500}`,
    `MAX_${d.records.toUpperCase()} = ${r.int(100, 10000)}`,
    ...(family === 'registration-retries' ? ['REGISTRY_ADDR = os.environ.get("REGISTRY_ADDR", "tcp://localhost:7000")', 'REGISTER_ATTEMPTS = 5'] : []),
    '',
  ];
}

/** Helper classes and records that sit beside the agent (never the agent itself). */
function helpers(d: Domain, family: PythonFamily, r: Random): string[] {
  if (family === 'helpers-and-records') {
    const rec = pascal(d.record);
    return [
      '',
      `class ${rec}State(Enum):`,
      '    NEW = "new"',
      '    ACTIVE = "active"',
      '    DONE = "done"',
      '',
      '',
      '@dataclass',
      `class ${rec}Record:`,
      '    id: str',
      ...d.fields.map((f, i) => `    ${f}: ${i % 2 ? 'float = 0.0' : 'str = ""'}`),
      `    state: ${rec}State = ${rec}State.NEW`,
      '    tags: list = field(default_factory=list)',
      '',
      '',
      'class CircuitBreaker:',
      '    """Stops calling a failing peer for a while."""',
      '',
      `    def __init__(self, threshold=${r.int(3, 8)}, reset_after=${r.int(10, 60)}):`,
      '        self.threshold = threshold',
      '        self.reset_after = reset_after',
      '        self.failures = 0',
      '        self.opened_at = None',
      '',
      '    def allow(self):',
      '        if self.opened_at is None:',
      '            return True',
      '        if time.time() - self.opened_at > self.reset_after:',
      '            self.opened_at = None',
      '            self.failures = 0',
      '            return True',
      '        return False',
      '',
      '    def record(self, ok):',
      '        if ok:',
      '            self.failures = 0',
      '            return',
      '        self.failures += 1',
      '        if self.failures >= self.threshold:',
      '            self.opened_at = time.time()',
      '',
    ];
  }
  if (family === 'periodic-sidecar') {
    return [
      '',
      'class HealthSidecar:',
      '    """Serves /health for the agent on its own HTTP server thread."""',
      '',
      '    def __init__(self, agent, port):',
      '        self.agent = agent',
      '        self.port = port',
      '        self.server = None',
      '',
      '    def start(self):',
      '        agent = self.agent',
      '',
      '        class Handler(BaseHTTPRequestHandler):',
      '            def do_GET(self):',
      '                if self.path != "/health":',
      '                    self.send_response(404)',
      '                    self.end_headers()',
      '                    return',
      '                body = json.dumps({"status": "ok", "uptime": time.time() - agent.start_time}).encode()',
      '                self.send_response(200)',
      '                self.send_header("Content-Type", "application/json")',
      '                self.end_headers()',
      '                self.wfile.write(body)',
      '',
      '            def log_message(self, format, *args):',
      '                return',
      '',
      '        self.server = HTTPServer(("0.0.0.0", self.port), Handler)',
      '        threading.Thread(target=self.server.serve_forever, daemon=True).start()',
      '',
      '    def stop(self):',
      '        if self.server:',
      '            self.server.shutdown()',
      '',
    ];
  }
  return [];
}

function constructor(d: Domain, cls: string, family: PythonFamily, port: number): string[] {
  const params = family === 'http-health-handler' ? `port=${port}, health_check_port=${port + 1}` : family === 'periodic-sidecar' ? `interval=30, health_port=${port + 1}` : 'port=None';
  const lines = [
    `def __init__(self, ${params}):`,
    ...(family === 'http-health-handler'
      ? ['    self.port = port', '    self.health_check_port = health_check_port']
      : family === 'periodic-sidecar'
        ? ['    self.interval = interval', '    self.health_port = health_port']
        : [`    self.port = port if port is not None else ${port}`, '    self.health_port = self.port + 1']),
    `    self.name = "${cls}"`,
    '    self.running = True',
    '    self.start_time = time.time()',
    '    self.lock = threading.Lock()',
    `    self.${d.records} = {}`,
    '    self.sequence = 0',
    `    self.stats = {${[...d.verbs, 'rejected', 'failed', 'high_score'].map((v) => `"${v}": 0`).join(', ')}}`,
    '    self.thresholds = {}',
    ...(family === 'helpers-and-records' ? ['    self.breaker = CircuitBreaker()'] : []),
    '',
    '    # ZMQ set-up',
    '    self.context = zmq.Context()',
  ];
  if (family === 'periodic-sidecar') {
    lines.push('    self.publisher = self.context.socket(zmq.PUB)', `    self.publisher.bind(f"tcp://*:${port}")`, '    self.sidecar = HealthSidecar(self, self.health_port)', '    self.sidecar.start()');
  } else {
    lines.push('    self.socket = self.context.socket(zmq.REP)', '    self.socket.setsockopt(zmq.RCVTIMEO, REQUEST_TIMEOUT_MS)', '    self.socket.bind(f"tcp://*:{self.port}")');
  }
  lines.push('', `    self._load_${d.records}()`);
  if (family !== 'periodic-sidecar') lines.push('    signal.signal(signal.SIGTERM, self._handle_signal)', '    signal.signal(signal.SIGINT, self._handle_signal)');
  if (family === 'zmq-rep-health' || family === 'helpers-and-records') lines.push('    self._start_health_check()');
  if (family === 'http-health-handler') lines.push('    self._start_http_health()');
  if (family === 'registration-retries') lines.push('    self._start_health_check()', '    self._register_with_retries()');
  lines.push(`    logger.info(f"${cls} ready")`);
  return lines;
}

function infrastructure(d: Domain, cls: string, family: PythonFamily): string[][] {
  const out: string[][] = [];
  if (family === 'zmq-rep-health' || family === 'helpers-and-records' || family === 'registration-retries') {
    out.push([
      'def _start_health_check(self):',
      '    """Start a REP socket on health_port answering health probes."""',
      '    self.health_socket = self.context.socket(zmq.REP)',
      '    self.health_socket.setsockopt(zmq.RCVTIMEO, 1000)',
      '    self.health_socket.bind(f"tcp://*:{self.health_port}")',
      '',
      '    def health_loop():',
      '        while self.running:',
      '            try:',
      '                request = self.health_socket.recv_json()',
      '                if request.get("action") == "health_check":',
      '                    self.health_socket.send_json({',
      '                        "status": "ok",',
      '                        "agent": self.name,',
      '                        "uptime": time.time() - self.start_time,',
      '                    })',
      '                else:',
      '                    self.health_socket.send_json({"status": "error", "error": "unknown action"})',
      '            except zmq.error.Again:',
      '                continue',
      '            except Exception as e:',
      '                logger.error(f"Health loop error: {e}")',
      '                time.sleep(1)',
      '',
      '    self.health_thread = threading.Thread(target=health_loop, daemon=True)',
      '    self.health_thread.start()',
    ]);
  }
  if (family === 'http-health-handler') {
    out.push([
      'def _start_http_health(self):',
      '    agent = self',
      '',
      '    class HealthHandler(BaseHTTPRequestHandler):',
      '        def do_GET(self):',
      '            if self.path != "/health":',
      '                self.send_response(404)',
      '                self.end_headers()',
      '                return',
      '            body = json.dumps({"status": "healthy", "uptime": time.time() - agent.start_time}).encode()',
      '            self.send_response(200)',
      '            self.send_header("Content-Type", "application/json")',
      '            self.end_headers()',
      '            self.wfile.write(body)',
      '',
      '        def log_message(self, format, *args):',
      '            return',
      '',
      '    self.health_server = HTTPServer(("0.0.0.0", self.health_check_port), HealthHandler)',
      '    self.health_thread = threading.Thread(target=self.health_server.serve_forever, daemon=True)',
      '    self.health_thread.start()',
      '    logger.info(f"HTTP health on {self.health_check_port}")',
    ]);
  }
  if (family === 'registration-retries') {
    out.push([
      'def _register_with_retries(self):',
      '    """Tell the registry where we are; back off between attempts."""',
      '    delay = 0.5',
      '    for attempt in range(1, REGISTER_ATTEMPTS + 1):',
      '        req = self.context.socket(zmq.REQ)',
      '        req.setsockopt(zmq.RCVTIMEO, 2000)',
      '        req.setsockopt(zmq.LINGER, 0)',
      '        try:',
      '            req.connect(REGISTRY_ADDR)',
      '            req.send_json({"action": "register", "name": self.name, "port": self.port})',
      '            reply = req.recv_json()',
      '            if reply.get("status") == "ok":',
      '                logger.info(f"Registered after {attempt} attempt(s)")',
      '                return True',
      '        except zmq.error.Again:',
      '            logger.warning(f"Registry did not answer (attempt {attempt})")',
      '        finally:',
      '            req.close()',
      '        time.sleep(delay)',
      '        delay = min(delay * 2, 8)',
      '    logger.error("Could not register; running unregistered")',
      '    return False',
    ]);
  }
  if (family !== 'periodic-sidecar') {
    out.push([
      'def _handle_signal(self, signum, frame):',
      '    logger.info(f"Received signal {signum}, shutting down")',
      '    self.running = False',
    ]);
  }
  return out;
}

/** The agent's own core helpers that business methods call. */
function core(d: Domain): string[][] {
  return [
    [
      `def _is_valid_${d.record}(self, ${d.record}):`,
      `    if not isinstance(${d.record}, dict):`,
      '        return False',
      `    return all(k in ${d.record} for k in (${d.fields.slice(0, 2).map((f) => `"${f}"`).join(', ')}))`,
    ],
    [
      `def _${d.verbs[0]}_${d.record}_core(self, item):`,
      '    if "id" not in item:',
      '        raise KeyError("id")',
      `    with self.lock:`,
      `        if len(self.${d.records}) >= MAX_${d.records.toUpperCase()}:`,
      `            raise ValueError("${d.records} full")`,
      `        self.${d.records}[item["id"]] = dict(item, received_at=time.time())`,
      '    return item["id"]',
    ],
  ];
}

function dispatch(d: Domain, actions: Array<{ action: string; name: string }>): string[] {
  const lines = [
    'def handle_request(self, request):',
    '    action = request.get("action")',
    `    ${d.record} = request.get("${d.record}", {})`,
    '    if action == "ping":',
    '        return {"status": "success", "pong": time.time()}',
  ];
  for (const a of actions) {
    const args = a.name.includes('summarise') || a.name.includes('format') ? '' : a.name.startsWith('_batch') ? `request.get("items", [])` : d.record;
    lines.push(`    if action == "${a.action}":`, `        return {"status": "success", "result": self.${a.name}(${args})}`);
  }
  lines.push('    if action == "stats":', '        return {"status": "success", "stats": dict(self.stats)}', '    return {"status": "error", "error": f"Unknown action: {action}"}');
  return lines;
}

function mainLoop(d: Domain, family: PythonFamily): string[] {
  if (family === 'periodic-sidecar') {
    return [
      'def run(self):',
      '    logger.info("Periodic loop started")',
      '    while True:',
      '        try:',
      `            expired = self._prune_stale_${d.records}()`,
      `            self.publisher.send_json({"agent": self.name, "expired": len(expired), "stats": self.stats})`,
      '        except Exception as e:',
      '            logger.error(f"Periodic work failed: {e}")',
      '        time.sleep(self.interval)',
    ];
  }
  return [
    'def run(self):',
    `    logger.info("${d.stem} main loop started")`,
    '    while self.running:',
    '        try:',
    '            request = self.socket.recv_json()',
    '        except zmq.error.Again:',
    '            continue',
    '        try:',
    '            response = self.handle_request(request)',
    '        except Exception as e:',
    '            logger.error(f"Error handling request: {e}")',
    '            response = {"status": "error", "error": str(e)}',
    '            time.sleep(0.5)',
    '        self.socket.send_json(response)',
  ];
}

function cleanup(d: Domain, family: PythonFamily): string[] {
  const lines = ['def cleanup(self):', '    logger.info("Cleaning up")', '    self.running = False', '    try:', `        self._save_primary_${d.records}()`, '    except OSError as e:', '        logger.error(f"Failed to save state: {e}")'];
  if (family === 'periodic-sidecar') lines.push('    self.sidecar.stop()', '    self.publisher.close()');
  else {
    if (family === 'http-health-handler') lines.push('    if hasattr(self, "health_server"):', '        self.health_server.shutdown()');
    else lines.push('    if hasattr(self, "health_socket"):', '        self.health_socket.close()');
    lines.push('    self.socket.close()');
  }
  lines.push('    self.context.term()');
  return lines;
}

function entry(cls: string, family: PythonFamily): string[] {
  if (family === 'registration-retries') {
    return [
      '',
      'def main():',
      '    port = int(os.environ.get("AGENT_PORT", "0")) or None',
      `    agent = ${cls}(port=port)`,
      '    try:',
      '        agent.run()',
      '    except KeyboardInterrupt:',
      '        pass',
      '    finally:',
      '        agent.cleanup()',
      '',
      '',
      'if __name__ == "__main__":',
      '    main()',
    ];
  }
  return ['', 'if __name__ == "__main__":', `    agent = ${cls}()`, '    try:', '        agent.run()', '    except KeyboardInterrupt:', '        pass', '    finally:', '        agent.cleanup()'];
}

/** One agent of about `lines` lines (never fewer than the infrastructure needs). */
export function pythonAgent(index: number, lines: number, r: Random): GeneratedFile {
  const family = PYTHON_FAMILIES[index % PYTHON_FAMILIES.length]!;
  const d = DOMAINS[Math.floor(index / PYTHON_FAMILIES.length) % DOMAINS.length]!;
  const cls = `${pascal(d.stem)}${index % 3 === 0 ? 'Agent' : index % 3 === 1 ? 'Service' : 'Worker'}${index}`;
  const port = 5000 + ((index * 7) % 4000);
  const head = [...header(d, cls, family, r), ...helpers(d, family, r), '', `class ${cls}:`];
  const members: string[][] = [constructor(d, cls, family, port), ...infrastructure(d, cls, family), ...core(d)];
  // Methods every agent relies on (the loop, cleanup and constructor call these).
  const required = [METHODS[2]!(d, '', r), METHODS[3]!(d, 'primary', r), METHODS[7]!(d, 'stale', r)];
  const business: Array<{ name: string; lines: string[]; action?: string }> = [...required];
  const tail = [...entry(cls, family)];
  const count = () => head.length + [...members, ...business.map((b) => b.lines)].reduce((n, m) => n + m.length + 1, 0) + dispatch(d, business.filter((b) => b.action).map((b) => ({ action: b.action!, name: b.name }))).length + 30 + tail.length;
  const used = new Set(business.map((b) => b.name));
  let q = 0;
  while (count() < lines) {
    const qualifier = QUALIFIERS[q % QUALIFIERS.length]! + (q >= QUALIFIERS.length ? `_${Math.floor(q / QUALIFIERS.length)}` : '');
    q++;
    const m = r.pick(METHODS)(d, qualifier, r);
    if (used.has(m.name)) continue;
    used.add(m.name);
    business.push(m);
  }
  const actions = business.filter((b) => b.action).map((b) => ({ action: b.action!, name: b.name }));
  const body = [...members, ...business.map((b) => b.lines), dispatch(d, actions), mainLoop(d, family), cleanup(d, family)];
  const classLines = body.flatMap((m, i) => [...(i ? [''] : []), ...block(1, m)]);
  const text = [...head, ...classLines, '', ...tail, ''].join('\n');
  const group = d.stem.split('_')[0]!;
  return { rel: `agents/${group}/${cls.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}.py`, text, className: cls, language: 'python', family };
}
