"""Starts real BaseAgent subclasses as child processes and checks the runtime contract.

Run from templates/runtime/python:  python3 -m unittest discover -s tests
Standard library only; every server binds 127.0.0.1; every child is killed at the end.
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME_ROOT = os.path.dirname(HERE)  # holds common/core/base_agent.py


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Recorder:
    """A registry + Pushgateway stand-in recording what the agent sends."""

    def __init__(self):
        self.registrations = []
        self.deregistrations = []
        self.events = []  # "register" / "deregister", in the order they were recorded
        self.register_answer_delay = 0.0  # seconds a /register is answered after it was recorded
        self.pushes = []  # (path, body)
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _body(self):
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_POST(self):
                body = self._body()
                if self.path == "/register":
                    recorder.registrations.append(json.loads(body))
                    recorder.events.append("register")
                    time.sleep(recorder.register_answer_delay)
                elif self.path == "/deregister":
                    recorder.deregistrations.append(json.loads(body))
                    recorder.events.append("deregister")
                self.send_response(200)
                self.end_headers()

            def do_PUT(self):
                recorder.pushes.append((self.path, self._body().decode()))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


AGENT_SOURCE = textwrap.dedent('''
    import sys, time
    from common.core.base_agent import BaseAgent

    class LoopAgent(BaseAgent):
        loop_interval = 0.05
        def run_once(self):
            self.report_metric("jobs_processed_total", 1, queue="main")

    class WhileTrueAgent(BaseAgent):
        def run(self):
            while True:   # a legacy loop that never looks at self.running
                time.sleep(0.05)

    def _worker(stop):
        try:
            while not stop.is_set():
                time.sleep(0.05)
        except KeyboardInterrupt:
            pass

    class ForkingAgent(BaseAgent):
        """Starts worker processes (fork) after the base installed its signal handlers."""
        loop_interval = 0.05
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            import multiprocessing
            ctx = multiprocessing.get_context("fork")
            self.stop_workers = ctx.Event()
            self.workers = [ctx.Process(target=_worker, args=(self.stop_workers,), daemon=True) for _ in range(2)]
            for w in self.workers:
                w.start()
        def cleanup(self):
            print("agent cleanup", flush=True)
            self.stop_workers.set()
            for w in self.workers:
                w.join(timeout=2)
            super().cleanup()

    class BlockingTeardownAgent(BaseAgent):
        """A legacy teardown that never returns: it joins (no timeout) an uploader blocked in queue.get().
        The uploader starts before the base's __init__, which registers: a SIGTERM the test sends once it
        sees the registration must find it running (started after, a loaded machine let the signal land
        before it existed, and the teardown's join failed at once instead of hanging)."""
        loop_interval = 0.05
        def __init__(self, **kwargs):
            import queue, threading
            self.audit = queue.Queue()
            self.uploader = threading.Thread(target=self._upload, name="audit-uploader")
            self.uploader.start()
            super().__init__(**kwargs)
        def _upload(self):
            while True:
                self.audit.get()
        def cleanup(self):
            print("agent cleanup", flush=True)
            self.uploader.join()
            super().cleanup()

    class StopEventHeldAgent(BaseAgent):
        """SIGTERM handled while the main thread holds the lock of the base's stop Event (as inside its
        wait()): the handler's stop() blocks on that lock for good."""
        def run(self):
            import time
            with self._base_stop_event._cond:
                while True:
                    time.sleep(0.01)

    class DegradedAgent(BaseAgent):
        """Reports "degraded" from the first probe (a stale cache): the default code rule answers it 503."""
        def _get_health_status(self):
            status = super()._get_health_status()
            status["status"] = "degraded"
            return status

    class DegradedServingAgent(DegradedAgent):
        """The same "degraded", declared still serving through the code hook: 200, its body unchanged."""
        def _health_http_code(self, status):
            return 200 if status.get("status") in ("ok", "degraded") else 503

    class StatsPageAgent(BaseAgent):
        """A legacy /stats page on a port of its own (STATS_PORT), handed to the base as its health port,
        kept there (KEEP_ROUTES=1) or not when HEALTH_CHECK_PORT says otherwise."""
        def __init__(self, **kwargs):
            import os
            super().__init__(health_check_port=int(os.environ["STATS_PORT"]),
                             keep_routes_port=os.environ.get("KEEP_ROUTES") == "1", **kwargs)
        def _extra_routes(self):
            routes = super()._extra_routes()
            routes["/stats"] = lambda: (200, "application/json", b'{"sessions": 3}')
            return routes

    if __name__ == "__main__":
        {"stats_page": StatsPageAgent, "degraded": DegradedAgent, "degraded_serving": DegradedServingAgent, "loop": LoopAgent, "while_true": WhileTrueAgent, "forking": ForkingAgent,
         "blocking_teardown": BlockingTeardownAgent, "stop_event_held": StopEventHeldAgent}[sys.argv[1]](name="Declared").run()
''')


class BaseAgentTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.script = os.path.join(self.tmp, "agent.py")
        with open(self.script, "w") as f:
            f.write(AGENT_SOURCE)
        self.recorder = Recorder()
        self.children = []

    def tearDown(self):
        for child in self.children:
            # The whole group, even when the agent itself is gone: workers it forked (orphaned by a
            # SIGKILL test) would otherwise outlive the suite.
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait()
            for stream in (child.stdout, child.stderr):
                if stream:
                    stream.close()
        self.recorder.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, kind, **env):
        port, health = free_port(), free_port()
        full_env = dict(os.environ, PYTHONPATH=RUNTIME_ROOT, AGENT_NAME="Tested", AGENT_PORT=str(port),
                        HEALTH_CHECK_PORT=str(health), METRICS_PUSH_INTERVAL="0.2",
                        PYTHONDONTWRITEBYTECODE="1")
        full_env.update(env)  # a test may override the ports given (HEALTH_CHECK_PORT="": none)
        child = subprocess.Popen([sys.executable, self.script, kind], env=full_env, start_new_session=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.children.append(child)
        return child, health

    def get(self, port, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=1) as r:
                return r.status, r.read().decode()
        except OSError:
            return None

    def test_health_metrics_registry_and_sigterm(self):
        child, health = self.start("loop", REGISTRY_URL=self.recorder.url, METRICS_URL=self.recorder.url)
        status, body = wait_for(lambda: self.get(health, "/health"), 10, "/health")
        self.assertEqual(status, 200)
        payload = json.loads(body)
        self.assertEqual(payload["status"], "ok")
        self.assertEqual(payload["agent"], "Tested")  # AGENT_NAME wins over the declared name
        self.assertIn("uptime", payload)

        wait_for(lambda: self.recorder.registrations, 10, "registration")
        record = self.recorder.registrations[0]
        self.assertEqual(record["name"], "Tested")
        self.assertEqual(record["health_check_port"], health)
        self.assertEqual(record["pid"], child.pid)

        wait_for(lambda: any("jobs_processed_total" in b for _, b in self.recorder.pushes), 10, "a push")
        path, text = next((p, b) for p, b in self.recorder.pushes if "jobs_processed_total" in b)
        self.assertEqual(path, "/metrics/job/Tested")
        self.assertIn('agent_up{agent="Tested"} 1', text)
        self.assertRegex(text, r'jobs_processed_total\{agent="Tested",queue="main"\} \d+')

        status, scraped = self.get(health, "/metrics")
        self.assertEqual(status, 200)
        self.assertIn('agent_uptime_seconds{agent="Tested"}', scraped)

        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(timeout=5), 0)
        self.assertEqual(self.recorder.deregistrations, [{"name": "Tested"}])
        self.assertIn('agent_up{agent="Tested"} 0', self.recorder.pushes[-1][1])
        self.assertIsNone(self.get(health, "/health"))

    def test_a_probe_that_hangs_up_is_no_agent_error(self):
        # A client reset before the answer is written (a probe that timed out under load): no ERROR
        # line (validation compares ERROR lines with the legacy run's), and the server still answers.
        child, health = self.start("loop")
        wait_for(lambda: self.get(health, "/health"), 10, "/health")
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", health))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            s.close()
        status, _ = wait_for(lambda: self.get(health, "/health"), 10, "/health after the resets")
        self.assertEqual(status, 200)
        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(timeout=5), 0)
        err = child.stderr.read().decode() + child.stdout.read().decode()
        self.assertEqual(err.count("health endpoint failed"), 0, err[:600])
        self.assertEqual(err.count("Traceback"), 0, err[:600])

    def test_health_code_follows_the_status_unless_the_agent_overrides_the_hook(self):
        # Default rule: a status other than ok/healthy is answered 503 (a load balancer takes it out).
        child, health = self.start("degraded")
        code, body = wait_for(lambda: self.probe(health), 10, "/health")
        self.assertEqual((code, json.loads(body)["status"]), (503, "degraded"))
        # _health_http_code() overridden: the same body, answered 200.
        child, health = self.start("degraded_serving")
        code, body = wait_for(lambda: self.probe(health), 10, "/health")
        self.assertEqual((code, json.loads(body)["status"]), (200, "degraded"))

    def probe(self, port, path="/health"):
        """(code, body) of GET <path> whatever the code; None while nothing answers."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=1) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()
        except OSError:
            return None

    def test_kept_routes_port_serves_the_routes_where_health_check_port_moved_health_away(self):
        stats = free_port()
        child, health = self.start("stats_page", STATS_PORT=str(stats), KEEP_ROUTES="1")
        code, body = wait_for(lambda: self.probe(health), 10, "/health")
        self.assertEqual((code, json.loads(body)["health_check_port"]), (200, health))
        # The routes on the port the agent was given, as its legacy server answered them there: those only.
        self.assertEqual(wait_for(lambda: self.probe(stats, "/stats"), 10, "/stats on the kept port"), (200, '{"sessions": 3}'))
        self.assertEqual(self.probe(stats, "/health")[0], 404)
        self.assertEqual(self.probe(stats, "/metrics")[0], 404)
        self.assertEqual(self.probe(health, "/stats"), (200, '{"sessions": 3}'))
        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(timeout=5), 0)
        self.assertIsNone(self.probe(stats, "/stats"))  # the second server went down with the base

    def test_routes_follow_the_health_port_unless_kept(self):
        # Not kept (the default): HEALTH_CHECK_PORT moves the routes with /health, nothing answers on the given port.
        stats = free_port()
        child, health = self.start("stats_page", STATS_PORT=str(stats))
        self.assertEqual(wait_for(lambda: self.probe(health, "/stats"), 10, "/stats on the health port"), (200, '{"sessions": 3}'))
        self.assertIsNone(self.probe(stats, "/stats"))
        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(timeout=5), 0)
        # Kept, and no HEALTH_CHECK_PORT: one server on the given port answers /health and the routes.
        child, _ = self.start("stats_page", STATS_PORT=str(stats), KEEP_ROUTES="1", HEALTH_CHECK_PORT="")
        code, body = wait_for(lambda: self.probe(stats), 10, "/health on the given port")
        self.assertEqual((code, json.loads(body)["health_check_port"]), (200, stats))
        self.assertEqual(self.probe(stats, "/stats"), (200, '{"sessions": 3}'))
        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(timeout=5), 0)

    def test_sigterm_ends_a_while_true_run_override(self):
        child, health = self.start("while_true")
        wait_for(lambda: self.get(health, "/health"), 10, "/health")
        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(timeout=5), 0)

    def test_teardown_that_never_returns_still_deregisters_and_says_where_it_hung(self):
        # The agent's own cleanup() runs before the base's stop(): when it blocks (a thread join without a
        # timeout, a zmq context.term() with a socket open), the base's grace timer ends the process; it must
        # still undo the registration and the up gauge, and say what had not returned.
        child, health = self.start("blocking_teardown", REGISTRY_URL=self.recorder.url, METRICS_URL=self.recorder.url)
        wait_for(lambda: self.get(health, "/health"), 10, "/health")
        wait_for(lambda: self.recorder.registrations, 10, "registration")
        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(timeout=8), 0)
        out, err = child.communicate()
        self.assertIn("agent cleanup", out.decode())
        self.assertEqual(self.recorder.deregistrations, [{"name": "Tested"}])
        self.assertIn('agent_up{agent="Tested"} 0', self.recorder.pushes[-1][1])
        self.assertRegex(err.decode(), r"WARNING .*stop overdue: .*cleanup\(\) did not return .*agent\.py:\d+ .*self\.uploader\.join\(\)")

    def test_stop_blocked_on_the_stop_events_own_lock_still_exits_and_deregisters(self):
        # The grace timer must not need the lock the stuck main thread holds (it once set that Event too).
        child, health = self.start("stop_event_held", REGISTRY_URL=self.recorder.url, METRICS_URL=self.recorder.url)
        wait_for(lambda: self.get(health, "/health"), 10, "/health")
        wait_for(lambda: self.recorder.registrations, 10, "registration")
        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(timeout=8), 0)
        self.assertEqual(self.recorder.deregistrations, [{"name": "Tested"}])
        self.assertIn('agent_up{agent="Tested"} 0', self.recorder.pushes[-1][1])

    def test_sigint_exits_zero(self):
        child, health = self.start("loop")
        wait_for(lambda: self.get(health, "/health"), 10, "/health")
        child.send_signal(signal.SIGINT)
        self.assertEqual(child.wait(timeout=5), 0)

    def test_ctrl_c_reaching_forked_workers_runs_the_agent_teardown_once(self):
        # Ctrl-C signals the whole process group: worker processes forked by the agent inherit the
        # base's handlers, and must not run the agent's cleanup or deregister it themselves.
        child, health = self.start("forking", REGISTRY_URL=self.recorder.url)
        wait_for(lambda: self.recorder.registrations, 10, "registration")
        os.killpg(child.pid, signal.SIGINT)
        self.assertEqual(child.wait(timeout=10), 0)
        out = child.stdout.read().decode()
        self.assertEqual(out.count("agent cleanup"), 1, out)
        time.sleep(0.3)
        self.assertEqual(len(self.recorder.deregistrations), 1, self.recorder.deregistrations)

    def test_workers_forked_after_the_base_do_not_hold_its_health_port_when_the_agent_is_killed(self):
        # Workers forked after super().__init__() inherit every descriptor, the base's listening health
        # socket too: killed with SIGKILL, the agent left them holding its port (the next start failed
        # with EADDRINUSE, probes reached a process that never answers).
        child, health = self.start("forking")
        wait_for(lambda: self.get(health, "/health"), 10, "/health")
        time.sleep(0.3)  # the workers are forked right after the base's constructor
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=5)

        os.killpg(child.pid, 0)  # the orphaned workers are still running

        def port_free():
            # SO_REUSEADDR: the probe's own TIME_WAIT does not count, a listening socket does.
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", health))
                    s.listen(1)
                except OSError:
                    return False
                return True
        wait_for(port_free, 5, "the health port to be free with the workers still running")

    def test_unreachable_registry_is_retried_and_logged_not_fatal(self):
        dead = free_port()
        child, health = self.start("loop", REGISTRY_URL="http://127.0.0.1:%d" % dead)
        wait_for(lambda: self.get(health, "/health"), 10, "/health")
        time.sleep(0.5)  # let at least two attempts fail
        self.assertIsNone(child.poll())
        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(timeout=5), 0)
        stderr = child.stderr.read().decode()
        self.assertIn("registration with http://127.0.0.1:%d failed" % dead, stderr)
        self.assertNotIn("Traceback", stderr)
        # Refused: nothing reached a registry, so there is nothing to deregister (no failed attempt logged).
        self.assertNotIn("deregistration failed", stderr)

    def test_registration_recorded_but_answered_too_late_is_still_deregistered(self):
        # A registry that records the agent, then answers after the base's 2 s timeout (an embedded
        # registry whose event loop is busy): the agent takes it for a failure and retries; a SIGTERM
        # before any answer arrives must still deregister it, after every registration it sent.
        self.recorder.register_answer_delay = 2.6
        child, health = self.start("loop", REGISTRY_URL=self.recorder.url)
        wait_for(lambda: self.recorder.registrations, 10, "a registration recorded")
        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(timeout=8), 0)
        self.assertEqual(self.recorder.deregistrations, [{"name": "Tested"}])
        self.assertEqual(self.recorder.events[-1], "deregister", self.recorder.events)

    @unittest.skipUnless(shutil.which("redis-server"), "redis-server is not installed")
    def test_redis_registry(self):
        port = free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no"], stdout=subprocess.DEVNULL, start_new_session=True)
        self.children.append(redis)

        def command(*args):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args))
                    return s.recv(65536)
            except OSError:
                return None

        wait_for(lambda: command("PING"), 10, "redis")
        child, health = self.start("loop", REGISTRY_URL="redis://127.0.0.1:%d/0" % port)
        wait_for(lambda: command("SISMEMBER", "agents", "Tested") == b":1\r\n", 10, "SADD agents")
        self.assertIn(b"health_check_port", command("HGETALL", "agent:Tested"))
        child.send_signal(signal.SIGTERM)
        self.assertEqual(child.wait(timeout=5), 0)
        self.assertEqual(command("EXISTS", "agent:Tested"), b":0\r\n")


if __name__ == "__main__":
    unittest.main()
