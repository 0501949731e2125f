"""Reference HardenedAgentBase (standard library only).

Modelled on seed 001's ``amoskys.agents.common.base.HardenedAgentBase`` so that
agents migrated by ``migrate`` (profile ``hardened-agent-base``) run on it:

* lifecycle hooks the subclass implements: ``setup() -> bool``,
  ``collect_data() -> list``, ``validate_event(event) -> ValidationResult``,
  ``enrich_event(event) -> event`` and ``shutdown()``;
* ``run_forever()``: setup, then every ``collection_interval`` seconds
  collect -> validate -> enrich -> publish, until SIGTERM/SIGINT (exit 0);
* publishing through ``eventbus_publisher.publish(events)`` behind a circuit
  breaker, with retries and exponential back-off; what cannot be published goes
  to ``local_queue`` and is drained first once the bus answers again;
* ``health_summary()``, served as ``GET /health`` (JSON) with ``GET /metrics``
  (Prometheus text) on ``HEALTH_CHECK_PORT``;
* registration with ``REGISTRY_URL`` (HTTP ``POST <url>/register`` or a Redis
  hash ``agent:<name>`` + set ``agents``) and metrics pushed to ``METRICS_URL``
  (``PUT <url>/metrics/job/<name>``, every sample labelled ``agent="<name>"``).

Environment: ``AGENT_NAME``, ``AGENT_PORT``, ``HEALTH_CHECK_PORT``,
``REGISTRY_URL``, ``METRICS_URL``, ``AGENT_HOST`` (default 127.0.0.1),
``METRICS_PUSH_INTERVAL`` (default 5 s), ``LOG_LEVEL``; ``COLLECTION_INTERVAL`` and
``CIRCUIT_RECOVERY_TIMEOUT`` (seconds) override the constructor's period and the breaker's pause.
Nothing starts before ``run_forever()``: constructing an agent has no side effects,
so hooks never run before the subclass's own ``__init__`` has finished.
"""
import collections
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["HardenedAgentBase", "ValidationResult", "CircuitBreaker", "CircuitBreakerOpen", "MemoryQueue"]


@dataclass
class ValidationResult:
    is_valid: bool
    errors: list = field(default_factory=list)


class CircuitBreakerOpen(Exception):
    """Raised instead of calling the EventBus while the breaker is open."""


class CircuitBreaker:
    """CLOSED -> OPEN after ``failure_threshold`` failures; HALF_OPEN after ``recovery_timeout`` s."""

    def __init__(self, failure_threshold=5, recovery_timeout=30.0, clock=time.monotonic):
        self.failure_threshold = failure_threshold
        self.recovery_timeout = recovery_timeout
        self.state = "CLOSED"
        self.failures = 0
        self._opened_at = 0.0
        self._clock = clock
        self._lock = threading.Lock()

    def call(self, fn, *args, **kwargs):
        with self._lock:
            if self.state == "OPEN":
                if self._clock() - self._opened_at < self.recovery_timeout:
                    raise CircuitBreakerOpen("circuit open after %d failures" % self.failures)
                self.state = "HALF_OPEN"
        try:
            result = fn(*args, **kwargs)
        except Exception:
            with self._lock:
                self.failures += 1
                if self.state == "HALF_OPEN" or self.failures >= self.failure_threshold:
                    self.state = "OPEN"
                    self._opened_at = self._clock()
            raise
        with self._lock:
            self.failures = 0
            self.state = "CLOSED"
        return result


class MemoryQueue:
    """Default local queue: bounded, in memory, oldest events dropped first."""

    def __init__(self, max_events=10000):
        self._items = collections.deque(maxlen=max_events)
        self._lock = threading.Lock()

    def enqueue(self, events):
        with self._lock:
            self._items.extend(events)

    def drain(self, publish, limit=100):
        """Publish up to ``limit`` queued events; stop at the first failure (it propagates)."""
        with self._lock:
            batch = [self._items.popleft() for _ in range(min(limit, len(self._items)))]
        if not batch:
            return 0
        try:
            publish(batch)
        except Exception:
            with self._lock:
                self._items.extendleft(reversed(batch))
            raise
        return len(batch)

    def size(self):
        return len(self._items)


def _env_int(name):
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError("environment variable %s must be a port number, not %r" % (name, value))


def _env_float(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError("environment variable %s must be a number of seconds, not %r" % (name, value))


def _label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class HardenedAgentBase:
    """Main loop with lifecycle hooks, circuit breaker, retries, local queue, health, signals."""

    # Publishing: attempts per batch and the first back-off (doubled each retry, capped).
    max_retries = 3
    retry_backoff_s = 0.5
    retry_backoff_max_s = 8.0

    def __init__(self, agent_name=None, device_id=None, collection_interval=30.0,
                 eventbus_publisher=None, local_queue=None, **kwargs):
        # The environment wins so that the deployment (or the validator) names the agent.
        self.agent_name = os.environ.get("AGENT_NAME") or agent_name or type(self).__name__
        self.device_id = device_id or socket.gethostname()
        # Like AGENT_NAME, the deployment (or the validator) may set the period and the breaker's pause.
        self.collection_interval = _env_float("COLLECTION_INTERVAL", float(collection_interval))
        self.eventbus_publisher = eventbus_publisher
        self.local_queue = local_queue if local_queue is not None else MemoryQueue()
        self.circuit_breaker = CircuitBreaker(recovery_timeout=_env_float("CIRCUIT_RECOVERY_TIMEOUT", 30.0))
        self.is_running = False
        self.logger = logging.getLogger(self.agent_name)
        self.config = dict(kwargs)
        self._hb_stop = threading.Event()
        self._hb_lock = threading.Lock()
        # The final up=0 push must be the last the sink receives: a periodic push in flight when
        # stop() runs would otherwise land after it.
        self._hb_push_lock = threading.Lock()
        self._hb_final_pushed = False
        self._hb_started = time.time()
        self._hb_stats = collections.Counter()
        self._hb_last_error = None
        self._hb_setup_ok = None
        self._hb_registered = False
        self._hb_server = None
        self._hb_host = os.environ.get("AGENT_HOST") or "127.0.0.1"

    # ------------------------------------------------------------ lifecycle hooks
    def setup(self):
        """One-time initialisation; return False to refuse to start."""
        return True

    def collect_data(self):
        """Collect raw events; do not publish them."""
        return []

    def validate_event(self, event):
        return ValidationResult(is_valid=True)

    def enrich_event(self, event):
        return event

    def shutdown(self):
        """Release the agent's own resources (called once, after the loop)."""

    # ------------------------------------------------------------------ main loop
    def run_forever(self):
        self._hb_configure_logging()
        self._hb_install_signal_handlers()
        self.is_running = True
        self._hb_start_services()
        try:
            self._hb_setup_ok = bool(self.setup())
            if not self._hb_setup_ok:
                self.logger.error("%s: setup() returned False; not starting", self.agent_name)
                return False
            self.logger.info("%s running every %.1f s", self.agent_name, self.collection_interval)
            while self.is_running and not self._hb_stop.is_set():
                self.run_cycle()
                self._hb_stop.wait(self.collection_interval)
            return True
        finally:
            self._hb_teardown()

    def run(self):
        """Same as run_forever() (entry points written for the older base call run())."""
        return self.run_forever()

    def stop(self):
        self.is_running = False
        self._hb_stop.set()

    def run_cycle(self):
        """One collect -> validate -> enrich -> publish pass; never raises."""
        self._hb_count("cycles")
        try:
            events = self.collect_data()
        except Exception as exc:
            self._hb_fail("collect_data", exc)
            return
        if events is None or isinstance(events, bool):
            events = []
        elif not isinstance(events, (list, tuple)):
            events = [events]
        ready = []
        for event in events:
            self._hb_count("events_collected")
            try:
                result = self.validate_event(event)
                if result is not None and not getattr(result, "is_valid", bool(result)):
                    self._hb_count("events_rejected")
                    self.logger.warning("event rejected: %s", "; ".join(map(str, getattr(result, "errors", []))))
                    continue
                ready.append(self.enrich_event(event))
            except Exception as exc:
                self._hb_fail("validate/enrich", exc)
        # The backlog goes first, so the bus sees events in the order they were collected.
        self._drain_local_queue()
        if ready:
            self._publish_with_retry(ready)

    # ----------------------------------------------------------------- publishing
    def _publish_with_circuit_breaker(self, events):
        return self.circuit_breaker.call(self.eventbus_publisher.publish, events)

    def _publish_with_retry(self, events):
        """Publish, retrying with exponential back-off; queue locally what cannot be sent."""
        if self.eventbus_publisher is None:
            self._hb_count("events_unpublished", len(events))
            return False
        delay = self.retry_backoff_s
        for attempt in range(1, self.max_retries + 1):
            try:
                self._publish_with_circuit_breaker(events)
                self._hb_count("events_published", len(events))
                return True
            except CircuitBreakerOpen:
                break
            except Exception as exc:
                self._hb_last_error = "publish: %s" % exc
                self.logger.warning("publish attempt %d/%d failed: %s", attempt, self.max_retries, exc)
                if attempt < self.max_retries and self._hb_stop.wait(delay):
                    break
                delay = min(delay * 2, self.retry_backoff_max_s)
        self.local_queue.enqueue(list(events))
        self._hb_count("events_queued", len(events))
        return False

    def _drain_local_queue(self, limit=100):
        if self.eventbus_publisher is None or not self._queue_size():
            return 0
        try:
            # Through the breaker: while it is open this fails fast and the backlog stays.
            drained = self.local_queue.drain(self._publish_with_circuit_breaker, limit)
        except CircuitBreakerOpen:
            return 0
        except Exception as exc:
            self.logger.warning("queue drain stopped: %s", exc)
            return 0
        if drained:
            self._hb_count("events_published", drained)
            self.logger.info("drained %d queued events", drained)
        return drained

    # --------------------------------------------------------------------- health
    def health_summary(self):
        with self._hb_lock:
            stats = dict(self._hb_stats)
        if self._hb_setup_ok is False:
            status = "unhealthy"
        elif self.circuit_breaker.state == "OPEN":
            status = "degraded"
        else:
            status = "healthy"
        return {
            "status": status,
            "agent": self.agent_name,
            "device_id": self.device_id,
            "uptime": round(time.time() - self._hb_started, 3),
            "circuit_breaker": self.circuit_breaker.state,
            "queue_size": self._queue_size(),
            "last_error": self._hb_last_error,
            "registered": self._hb_registered,
            "pid": os.getpid(),
            **stats,
        }

    def _queue_size(self):
        try:
            return int(self.local_queue.size())
        except Exception:
            return -1

    def _hb_count(self, key, n=1):
        with self._hb_lock:
            self._hb_stats[key] += n

    def _hb_fail(self, stage, exc):
        self._hb_count("errors")
        self._hb_last_error = "%s: %s" % (stage, exc)
        self.logger.exception("%s failed", stage)

    # ------------------------------------------------------- health, registry, metrics
    def _hb_start_services(self):
        port = _env_int("HEALTH_CHECK_PORT")
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server naming)
                path = self.path.split("?", 1)[0].rstrip("/")
                if path == "/health":
                    summary = agent.health_summary()
                    code = 200 if summary["status"] == "healthy" else 503
                    self._send(code, "application/json", json.dumps(summary, default=str).encode())
                elif path == "/metrics":
                    self._send(200, "text/plain; version=0.0.4", agent._hb_metrics_text().encode())
                else:
                    self._send(404, "application/json", b'{"error": "not found"}')

            def _send(self, code, content_type, body):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                agent.logger.debug("health server: " + format, *args)

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

            def handle_error(self, request, client_address):
                agent.logger.debug("health request from %s failed: %s", client_address, sys.exc_info()[1])

        self._hb_server = Server((self._hb_host, port or 0), Handler)
        self.health_check_port = self._hb_server.server_address[1]
        threading.Thread(target=self._hb_server.serve_forever, kwargs={"poll_interval": 0.1},
                         name="%s-health" % self.agent_name, daemon=True).start()
        self.logger.info("health on http://%s:%d/health", self._hb_host, self.health_check_port)
        if os.environ.get("REGISTRY_URL"):
            threading.Thread(target=self._hb_register_loop, name="%s-register" % self.agent_name, daemon=True).start()
        if os.environ.get("METRICS_URL"):
            threading.Thread(target=self._hb_metrics_loop, name="%s-metrics" % self.agent_name, daemon=True).start()

    def _hb_register_loop(self):
        url = os.environ["REGISTRY_URL"]
        record = {
            "name": self.agent_name,
            "host": self._hb_host,
            "port": _env_int("AGENT_PORT") or self.health_check_port,
            "health_check_port": self.health_check_port,
            "pid": os.getpid(),
        }
        delay = 0.2
        while not self._hb_stop.is_set():
            try:
                if url.startswith("redis://"):
                    fields = [x for kv in record.items() for x in kv]
                    self._hb_redis(url, ["HSET", "agent:%s" % self.agent_name] + fields, ["SADD", "agents", self.agent_name])
                else:
                    self._hb_http("POST", url.rstrip("/") + "/register", json.dumps(record).encode(), "application/json")
                self._hb_registered = True
                self.logger.info("registered with the service registry")
                return
            except Exception as exc:
                self.logger.warning("registration failed (%s); retrying in %.1f s", exc, delay)
            if self._hb_stop.wait(delay):
                return
            delay = min(delay * 2, 5.0)

    def _hb_deregister(self):
        url = os.environ.get("REGISTRY_URL")
        if not url or not self._hb_registered:
            return
        try:
            if url.startswith("redis://"):
                self._hb_redis(url, ["DEL", "agent:%s" % self.agent_name], ["SREM", "agents", self.agent_name])
            else:
                self._hb_http("POST", url.rstrip("/") + "/deregister",
                              json.dumps({"name": self.agent_name}).encode(), "application/json")
            self._hb_registered = False
        except Exception as exc:
            self.logger.warning("deregistration failed: %s", exc)

    def _hb_metrics_text(self, up=1):
        agent = 'agent="%s"' % _label(self.agent_name)
        summary = self.health_summary()
        lines = ["# TYPE agent_up gauge", "agent_up{%s} %d" % (agent, up),
                 "# TYPE agent_uptime_seconds gauge", "agent_uptime_seconds{%s} %.3f" % (agent, summary["uptime"]),
                 "# TYPE agent_queue_size gauge", "agent_queue_size{%s} %d" % (agent, summary["queue_size"])]
        with self._hb_lock:
            stats = sorted(self._hb_stats.items())
        for key, value in stats:
            lines += ["# TYPE agent_%s_total counter" % key, "agent_%s_total{%s} %d" % (key, agent, value)]
        return "\n".join(lines) + "\n"

    def _hb_push_metrics(self, up=1):
        url = "%s/metrics/job/%s" % (os.environ["METRICS_URL"].rstrip("/"), urllib.parse.quote(self.agent_name, safe=""))
        locked = self._hb_push_lock.acquire(timeout=1.0)
        try:
            if self._hb_final_pushed and up:
                return
            if not up:
                self._hb_final_pushed = True
            self._hb_http("PUT", url, self._hb_metrics_text(up).encode(), "text/plain; version=0.0.4")
        finally:
            if locked:
                self._hb_push_lock.release()

    def _hb_metrics_loop(self):
        try:
            interval = float(os.environ.get("METRICS_PUSH_INTERVAL", "5"))
        except ValueError:
            interval = 5.0
        failures = 0
        while not self._hb_stop.is_set():
            try:
                self._hb_push_metrics()
                failures = 0
            except Exception as exc:
                failures += 1
                if failures in (1, 10):
                    self.logger.warning("metrics push failed: %s", exc)
            # Retry quickly until the first push lands, then settle to the interval.
            if self._hb_stop.wait(interval if failures == 0 else min(interval, 0.5 * failures)):
                return

    @staticmethod
    def _hb_http(method, url, body, content_type, timeout=2.0):
        request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()

    @staticmethod
    def _hb_redis(url, *commands, timeout=2.0):
        """A few Redis commands over RESP on a raw socket; raises on an error reply."""
        parsed = urllib.parse.urlparse(url)
        prelude = [["AUTH", parsed.password]] if parsed.password else []
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=timeout) as sock:
            reader = sock.makefile("rb")
            for command in prelude + list(commands):
                data = [str(a).encode() for a in command]
                sock.sendall(b"*%d\r\n" % len(data) + b"".join(b"$%d\r\n%s\r\n" % (len(d), d) for d in data))
                line = reader.readline()
                if not line or line.startswith(b"-"):
                    raise RuntimeError("redis: %s" % line[1:].decode(errors="replace").strip())
                if line.startswith(b"$") and int(line[1:]) >= 0:
                    reader.read(int(line[1:]) + 2)

    # ------------------------------------------------------------ signals, teardown
    def _hb_configure_logging(self):
        if logging.getLogger().handlers or self.logger.handlers:
            return
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.logger.addHandler(handler)
        self.logger.setLevel(getattr(logging, os.environ.get("LOG_LEVEL", "INFO").upper(), logging.INFO))

    def _hb_install_signal_handlers(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._hb_on_signal)

    def _hb_on_signal(self, signum, frame):
        self.logger.info("received %s; stopping", signal.Signals(signum).name)
        # The base's own stop: a legacy stop() override (closing sockets, say) must not keep the loop alive.
        HardenedAgentBase.stop(self)

    def _hb_teardown(self):
        HardenedAgentBase.stop(self)
        try:
            self.shutdown()
        except Exception as exc:
            self._hb_fail("shutdown", exc)
        close = getattr(self.eventbus_publisher, "close", None)
        if callable(close):
            try:
                close()
            except Exception as exc:
                self.logger.warning("closing the publisher failed: %s", exc)
        self._hb_deregister()
        if os.environ.get("METRICS_URL"):
            try:
                self._hb_push_metrics(up=0)
            except Exception as exc:
                self.logger.warning("final metrics push failed: %s", exc)
        if self._hb_server is not None:
            self._hb_server.shutdown()
            self._hb_server.server_close()
        self.logger.info("%s stopped", self.agent_name)
