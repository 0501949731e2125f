"""Reference BaseAgent (standard library only).

Modelled on the seed-000 ``common.core.base_agent.BaseAgent`` so that agents
migrated by ``migrate`` run on it unchanged:

* ``GET /health`` (JSON) and ``GET /metrics`` (Prometheus text) over HTTP on
  the health port;
* registration with the registry named by ``REGISTRY_URL`` (HTTP
  ``POST <url>/register`` or, for ``redis://`` URLs, a hash ``agent:<name>``
  plus membership of the set ``agents``), retried with back-off;
* metrics pushed to ``METRICS_URL`` Pushgateway-style
  (``PUT <url>/metrics/job/<name>``), every sample labelled ``agent="<name>"``;
* a main loop (``run`` -> ``run_once`` every ``loop_interval`` seconds);
* SIGTERM / SIGINT -> ``stop()`` and exit code 0, also when a subclass
  replaced ``run()`` with its own ``while True:`` loop.

Environment (the deployment, or ``migrate validate``, says where things are):
``AGENT_NAME``, ``AGENT_PORT``, ``HEALTH_CHECK_PORT``, ``REGISTRY_URL``,
``METRICS_URL``; optional ``AGENT_HOST`` (bind address, default 127.0.0.1),
``METRICS_PUSH_INTERVAL`` (seconds, default 5), ``LOG_LEVEL``,
``AGENT_LOG_FILE``.
"""

import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["BaseAgent"]

# Seconds a stopping process may take after SIGTERM before the base forces exit 0
# (a subclass loop may swallow SystemExit or keep non-daemon threads alive).
_STOP_GRACE_S = 3.0


def _env_int(name):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError("environment variable %s must be a port number, not %r" % (name, value))


def _free_port(host):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _may_have_landed(exc):
    """True when a request failed after it was sent, with no answer (a timeout, a dropped connection):
    the server may have acted on it. A refused connection or an HTTP error answer is not."""
    reason = getattr(exc, "reason", exc)  # urllib wraps socket errors in URLError(reason)
    return isinstance(reason, (TimeoutError, socket.timeout, ConnectionResetError, ConnectionAbortedError))


def _escape_label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class BaseAgent:
    """Base class of every agent: health, registry, metrics, main loop, clean stop."""

    # Seconds between two run_once() calls of the default main loop.
    loop_interval = 1.0

    def __init__(self, name=None, port=None, health_check_port=None, keep_routes_port=False, **kwargs):
        """keep_routes_port=True: the health_check_port given here is also where the agent's business
        routes (_extra_routes()) were served before it had a base (a /stats page on a port of its own):
        when HEALTH_CHECK_PORT moves /health elsewhere, those routes stay answered on the given port
        (a second server there answers them, and 404 to anything else) so their callers still find them.
        """
        # The environment wins over constructor defaults: migrated agents pass their legacy
        # literal defaults through, and the deployment (or the validator) must be able to
        # choose the ports and the name without editing code.
        self.name = os.environ.get("AGENT_NAME") or name or type(self).__name__
        self._base_host = os.environ.get("AGENT_HOST") or "127.0.0.1"
        env_port = _env_int("AGENT_PORT")
        self.port = int(env_port if env_port is not None else port if port is not None else _free_port(self._base_host))
        env_health = _env_int("HEALTH_CHECK_PORT")
        self.health_check_port = int(
            env_health if env_health is not None
            else health_check_port if health_check_port is not None
            else self.port + 1
        )
        # None: the routes are answered on the health port only (they were not elsewhere, or nothing moved them).
        self._base_routes_port = (
            int(health_check_port)
            if keep_routes_port and health_check_port is not None and int(health_check_port) != self.health_check_port
            else None
        )
        self.running = True
        self.start_time = time.time()
        self.config = dict(kwargs)
        self.registry_url = os.environ.get("REGISTRY_URL")
        self.metrics_url = os.environ.get("METRICS_URL")
        self._base_registered = False
        self._metrics = {}
        self._base_lock = threading.RLock()
        self._base_stop_event = threading.Event()
        # Serialises metrics pushes so the final up=0 push is the last one the sink receives: the
        # pusher thread is not stopped on the grace path (see _stop_overdue) and would otherwise
        # land an up=1 push after it.
        self._base_push_lock = threading.Lock()
        self._base_final_pushed = False
        self._base_stopped = False
        # A registration sent whose answer never came (timed out): it may have been recorded.
        self._base_registration_unsure = False
        self._base_registration_thread = None
        self._base_in_overdue = False
        self._base_health_server = None
        self._base_routes_server = None
        self._setup_logging()
        self._install_signal_handlers()  # before /health or a registration exists for a SIGTERM to race
        self._start_health_check()
        self._register_service()
        self._start_metrics_pusher()

    # ------------------------------------------------------------------ logging
    def _setup_logging(self):
        self.logger = logging.getLogger(self.name)
        level = os.environ.get("LOG_LEVEL", "INFO").upper()
        self.logger.setLevel(getattr(logging, level, logging.INFO))
        if self.logger.handlers:
            return
        fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        log_file = os.environ.get("AGENT_LOG_FILE")
        if log_file:
            handler = logging.FileHandler(log_file)
            handler.setFormatter(fmt)
            self.logger.addHandler(handler)
        if not logging.getLogger().handlers:
            # No logging.basicConfig in the agent's module: log to stderr ourselves.
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(fmt)
            self.logger.addHandler(handler)
            self.logger.propagate = False

    # ------------------------------------------------------------------- health
    def _start_health_check(self):
        agent = self

        class _Handler(BaseHTTPRequestHandler):
            # True on the port the business routes were kept on (keep_routes_port): its legacy server answered those only.
            routes_only = False

            def do_GET(self):  # noqa: N802 (http.server naming)
                path = self.path.split("?", 1)[0].rstrip("/") or "/"
                try:
                    if self.routes_only and path in ("/health", "/metrics"):
                        self._send(404, "application/json", b'{"error": "not found"}')
                    elif path == "/health":
                        status = agent._get_health_status()
                        self._send(agent._health_http_code(status), "application/json",
                                   json.dumps(status, default=str).encode())
                    elif path == "/metrics":
                        self._send(200, "text/plain; version=0.0.4; charset=utf-8",
                                   agent._metrics_text().encode())
                    else:
                        route = agent._extra_routes().get(path)
                        if route is None:
                            self._send(404, "application/json", b'{"error": "not found"}')
                        else:
                            self._send(*route())
                except ConnectionError:
                    # The client hung up before the answer was written (a probe that timed out): not an agent
                    # error, and no answer can reach it; handle_error logs it quietly.
                    raise
                except Exception as exc:  # a broken status method must not kill the server
                    agent.logger.exception("health endpoint failed")
                    body = json.dumps({"status": "error", "error": str(exc)}).encode()
                    self._send(500, "application/json", body)

            def _send(self, code, content_type, body):
                self.send_response(code)
                if content_type is not None:  # an extra route may answer without one, as its legacy did
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):  # keep request noise out of the agent's log
                agent.logger.debug("health server: " + format, *args)

        class _Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A client that hung up early (BrokenPipe) is not an agent error: no traceback.
                agent.logger.debug("health server: request from %s failed: %s", client_address, sys.exc_info()[1])

        # Binding here (not in the thread) makes a taken port fail the constructor loudly.
        self._base_health_server = _Server((self._base_host, self.health_check_port), _Handler)
        # A process forked later (multiprocessing workers under the fork start method) inherits the
        # listening socket whatever its close-on-exec flag, and would keep the port taken after this
        # process is killed: the child closes its copy (the parent's stays open and served).
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._base_health_server.socket.close)
        thread = threading.Thread(target=self._health_check_loop, name="%s-health" % self.name, daemon=True)
        thread.start()
        self.logger.info("health check on http://%s:%d/health", self._base_host, self.health_check_port)
        if self._base_routes_port is not None:
            class _RoutesHandler(_Handler):
                routes_only = True

            self._base_routes_server = _Server((self._base_host, self._base_routes_port), _RoutesHandler)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=self._base_routes_server.socket.close)
            threading.Thread(target=self._base_routes_server.serve_forever, kwargs={"poll_interval": 0.1},
                             name="%s-routes" % self.name, daemon=True).start()
            self.logger.info("business routes kept on http://%s:%d (health moved to %d)",
                             self._base_host, self._base_routes_port, self.health_check_port)

    def _health_check_loop(self):
        server = self._base_health_server
        if server is not None:
            server.serve_forever(poll_interval=0.1)

    def _extra_routes(self):
        """Other GET paths the health port answers: path -> callable returning (code, content_type, body bytes).

        None for the content type sends no Content-Type header. /health and /metrics are the base's own.
        """
        return {}

    def _health_http_code(self, status):
        """The HTTP code GET /health answers `status` (what _get_health_status() returned) with.

        200 when its "status" is ok/healthy, else 503, so a probe reading only the code (a load
        balancer, curl -f) takes the agent out. Override to answer otherwise: an agent whose
        "degraded" still serves returns 200 for it.
        """
        return 200 if str(status.get("status", "")).lower() in ("ok", "healthy") else 503

    def _get_health_status(self):
        return {
            "status": "ok",
            "agent": self.name,
            "uptime": round(time.time() - self.start_time, 3),
            "port": self.port,
            "health_check_port": self.health_check_port,
            "pid": os.getpid(),
            "registered": self._base_registered,
        }

    # ----------------------------------------------------------------- registry
    def _register_service(self):
        if not self.registry_url:
            self.logger.info("no REGISTRY_URL set; not registering")
            return
        thread = threading.Thread(target=self._registration_loop, name="%s-register" % self.name, daemon=True)
        self._base_registration_thread = thread
        thread.start()

    def _registration_loop(self):
        delay = 0.2
        while not self._base_stop_event.is_set():
            try:
                self._register_once()
                self._base_registered = True
                self.logger.info("registered with %s", self._registry_display())
                return
            except Exception as exc:
                if _may_have_landed(exc):
                    # Sent, but no answer in time: a slow registry may still record it, and a stop now
                    # must deregister it all the same (else the registry keeps an agent that is gone).
                    self._base_registration_unsure = True
                self.logger.warning("registration with %s failed (%s); retrying in %.1f s",
                                    self._registry_display(), exc, delay)
            if self._base_stop_event.wait(delay):
                return
            delay = min(delay * 2, 5.0)

    def _registration_record(self):
        return {
            "name": self.name,
            "host": self._base_host,
            "port": self.port,
            "health_check_port": self.health_check_port,
            "pid": os.getpid(),
        }

    def _registry_display(self):
        parsed = urllib.parse.urlparse(self.registry_url or "")
        # Never log a password that may be part of the URL.
        netloc = parsed.hostname or ""
        if parsed.port:
            netloc += ":%d" % parsed.port
        return "%s://%s%s" % (parsed.scheme, netloc, parsed.path)

    def _register_once(self):
        record = self._registration_record()
        if self.registry_url.startswith(("redis://", "rediss://")):
            fields = []
            for key, value in record.items():
                fields += [key, value]
            fields += ["registered_at", time.time()]
            self._redis(["HSET", "agent:%s" % self.name] + fields, ["SADD", "agents", self.name])
        else:
            self._http("POST", self.registry_url.rstrip("/") + "/register",
                       json.dumps(record).encode(), "application/json", timeout=2.0)

    def _deregister(self):
        if not self.registry_url:
            return
        thread = self._base_registration_thread
        if thread is not None and thread is not threading.current_thread() and not self._base_in_overdue:
            # A registration still in flight lands (or times out) first: deregistering before its answer
            # came would leave the registry the last word, an agent registered after it is gone.
            thread.join(timeout=2.5)
        if not (self._base_registered or self._base_registration_unsure):
            return
        try:
            if self.registry_url.startswith(("redis://", "rediss://")):
                self._redis(["DEL", "agent:%s" % self.name], ["SREM", "agents", self.name], timeout=1.0)
            else:
                self._http("POST", self.registry_url.rstrip("/") + "/deregister",
                           json.dumps({"name": self.name}).encode(), "application/json", timeout=1.0)
            self._base_registered = False
            self._base_registration_unsure = False
        except Exception as exc:
            self.logger.warning("deregistration failed: %s", exc)

    def _redis(self, *commands, timeout=2.0):
        """Send commands to Redis over RESP on a raw socket; raise on an error reply."""
        parsed = urllib.parse.urlparse(self.registry_url)
        if parsed.scheme == "rediss":
            raise RuntimeError("rediss:// (TLS) registries are not supported by the reference base")
        prelude = []
        if parsed.password:
            prelude.append(["AUTH", parsed.username, parsed.password] if parsed.username else ["AUTH", parsed.password])
        db = parsed.path.strip("/")
        if db and db != "0":
            prelude.append(["SELECT", db])
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=timeout) as sock:
            reader = sock.makefile("rb")
            for command in prelude + list(commands):
                payload = [b"*%d\r\n" % len(command)]
                for arg in command:
                    data = str(arg).encode()
                    payload.append(b"$%d\r\n%s\r\n" % (len(data), data))
                sock.sendall(b"".join(payload))
                line = reader.readline()
                if not line:
                    raise ConnectionError("redis closed the connection")
                if line.startswith(b"-"):
                    raise RuntimeError("redis: %s" % line[1:].decode(errors="replace").strip())
                if line.startswith(b"$"):
                    size = int(line[1:])
                    if size >= 0:
                        reader.read(size + 2)

    # ------------------------------------------------------------------ metrics
    def report_metric(self, name, value, **labels):
        """Record a sample; names ending in ``_total`` are counters (added), others gauges (set)."""
        key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
        with self._base_lock:
            if name.endswith("_total"):
                self._metrics[key] = self._metrics.get(key, 0) + value
            else:
                self._metrics[key] = value

    def _metrics_text(self, up=1):
        agent_label = 'agent="%s"' % _escape_label(self.name)
        lines = [
            "# TYPE agent_up gauge",
            "agent_up{%s} %d" % (agent_label, up),
            "# TYPE agent_uptime_seconds gauge",
            "agent_uptime_seconds{%s} %.3f" % (agent_label, time.time() - self.start_time),
        ]
        with self._base_lock:
            items = sorted(self._metrics.items(), key=lambda kv: kv[0])
        typed = set()
        for (name, labels), value in items:
            if name not in typed:
                typed.add(name)
                lines.append("# TYPE %s %s" % (name, "counter" if name.endswith("_total") else "gauge"))
            parts = [agent_label] + ['%s="%s"' % (k, _escape_label(v)) for k, v in labels if k != "agent"]
            lines.append("%s{%s} %s" % (name, ",".join(parts), float(value)))
        return "\n".join(lines) + "\n"

    def _push_metrics(self, up=1):
        if not self.metrics_url:
            return
        url = "%s/metrics/job/%s" % (self.metrics_url.rstrip("/"), urllib.parse.quote(self.name, safe=""))
        # Bounded wait: a push stuck in its own 2 s timeout must not hold the final push (the grace path) long.
        locked = self._base_push_lock.acquire(timeout=1.0)
        try:
            if self._base_final_pushed and up:
                return
            if not up:
                self._base_final_pushed = True
            self._http("PUT", url, self._metrics_text(up).encode(), "text/plain; version=0.0.4", timeout=2.0)
        finally:
            if locked:
                self._base_push_lock.release()

    def _start_metrics_pusher(self):
        if not self.metrics_url:
            return
        thread = threading.Thread(target=self._metrics_push_loop, name="%s-metrics" % self.name, daemon=True)
        thread.start()

    def _metrics_push_loop(self):
        try:
            interval = float(os.environ.get("METRICS_PUSH_INTERVAL", "5"))
        except ValueError:
            interval = 5.0
        failures = 0
        while not self._base_stop_event.is_set():
            try:
                self._push_metrics()
                failures = 0
            except Exception as exc:
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    self.logger.warning("metrics push to %s failed: %s", self.metrics_url, exc)
            # Retry quickly until the first push lands, then settle to the interval.
            if self._base_stop_event.wait(interval if failures == 0 else min(interval, 0.5 * failures)):
                return

    @staticmethod
    def _http(method, url, body, content_type, timeout):
        request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if not 200 <= response.status < 300:
                raise RuntimeError("HTTP %d from %s" % (response.status, url))
            return response.read()

    # ----------------------------------------------------------------- requests
    def handle_request(self, request):
        if isinstance(request, dict) and request.get("action") == "health_check":
            return self._get_health_status()
        return {"status": "error", "error": "unknown action"}

    # ---------------------------------------------------------------- lifecycle
    def run(self):
        self.logger.info("%s running (port %d, health port %d)", self.name, self.port, self.health_check_port)
        try:
            while self.running:
                try:
                    self.run_once()
                except Exception:
                    self.logger.exception("run_once failed")
                self._base_stop_event.wait(float(self.loop_interval))
        finally:
            self.stop()

    def run_once(self):
        """One iteration of the main loop; subclasses put their periodic work here."""

    def stop(self):
        with self._base_lock:
            if self._base_stopped:
                return
            self._base_stopped = True
        self.running = False
        self._base_stop_event.set()
        for server in (self._base_health_server, self._base_routes_server):
            if server is not None:
                server.shutdown()
                server.server_close()
        self._deregister()
        if self.metrics_url:
            try:
                self._push_metrics(up=0)
            except Exception as exc:
                self.logger.warning("final metrics push failed: %s", exc)
        self.logger.info("%s stopped", self.name)

    def cleanup(self):
        self.stop()

    def _install_signal_handlers(self):
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be installed from the main thread
        self._base_pid = os.getpid()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame):
        if os.getpid() != getattr(self, "_base_pid", os.getpid()):
            # A child forked by the agent (multiprocessing workers) inherits these handlers: it is
            # not the agent, so it must not run the agent's cleanup or deregister it. It does what
            # it did before the agent had a base: SIGINT raises KeyboardInterrupt, SIGTERM ends it.
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.logger.info("received %s; stopping", signal.Signals(signum).name)
        # If the subclass swallows SystemExit, keeps non-daemon threads or its teardown never returns,
        # still exit 0 (see _stop_overdue).
        self._base_in_teardown = True
        watchdog = threading.Timer(_STOP_GRACE_S, self._stop_overdue, args=(signal.Signals(signum).name,))
        watchdog.daemon = True
        watchdog.start()
        try:
            # The agent's own cleanup()/stop() overrides (saving state, telling peers) run first;
            # the base's own teardown follows and is idempotent.
            try:
                self.cleanup()
            finally:
                self._base_in_teardown = "base"
                BaseAgent.stop(self)
                self._base_in_teardown = False
        finally:
            raise SystemExit(0)

    def _stop_overdue(self, signame):
        """The grace period after the signal ran out: say what was still running, undo what the base's
        stop() would have undone had it been reached (the registration, the up gauge), exit 0."""
        # No waiting on the registration thread here: the grace period is already over.
        self._base_in_overdue = True
        try:
            self.logger.warning("stop overdue: %s; deregistering and exiting", self._still_running(signame))
        except Exception:  # the reason is evidence only: never let it keep the process alive
            pass
        try:
            # Not self._base_stop_event.set(): a signal handler that ran while the main thread was inside
            # that Event's wait() blocks on the Event's lock for good, and so would this; os._exit ends
            # the threads that wait on it anyway.
            self._deregister()
            if self.metrics_url:
                self._push_metrics(up=0)
        except Exception as exc:
            self.logger.warning("final deregistration or metrics push failed: %s", exc)
        finally:
            os._exit(0)

    def _still_running(self, signame):
        """What kept the process alive _STOP_GRACE_S after the signal, in words: the agent's teardown hook
        that had not returned (the agent's own frame it was in), else the main thread's agent frame, else
        the non-daemon threads left."""
        frame = sys._current_frames().get(threading.main_thread().ident)
        where = None
        if frame is not None:
            stdlib = os.path.dirname(threading.__file__)
            base_file = os.path.abspath(__file__)
            for entry in reversed(traceback.extract_stack(frame)):
                path = os.path.abspath(entry.filename)
                if path == base_file or path.startswith(stdlib + os.sep):
                    continue
                where = "%s() at %s:%d (%s)" % (entry.name, os.path.relpath(path), entry.lineno, (entry.line or "").strip())
                break
        phase = getattr(self, "_base_in_teardown", False)
        if phase == "base":
            return "BaseAgent.stop() did not finish within %.1f s of %s (the registry or the metrics sink not answering?)" % (
                _STOP_GRACE_S, signame)
        if phase:
            owner = type(self).__name__
            hook = ("%s.cleanup()" % owner if type(self).cleanup is not BaseAgent.cleanup
                    else "%s.stop()" % owner if type(self).stop is not BaseAgent.stop else "BaseAgent.stop()")
            return "the teardown hook %s did not return within %.1f s of %s%s" % (
                hook, _STOP_GRACE_S, signame, ", still in " + where if where else "")
        if where and threading.main_thread().is_alive():
            return "the main thread was still running %.1f s after %s, in %s (SystemExit caught?)" % (_STOP_GRACE_S, signame, where)
        left = [t.name for t in threading.enumerate() if t.is_alive() and not t.daemon and t is not threading.main_thread()]
        return "non-daemon threads still running %.1f s after %s: %s" % (_STOP_GRACE_S, signame, ", ".join(left) or "none")
