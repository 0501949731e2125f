"""LocalQueueAdapter: a legacy agent's own local queue as HardenedAgentBase's ``local_queue``.

Standard library only. HardenedAgentBase speaks one small interface to its local queue:
``enqueue(events)`` (a list), ``drain(publish, limit) -> int`` where ``publish(list)`` raises
on failure, and ``size()``. Legacy agents of seed 001 built their own queue with another
interface, and it may already hold a backlog on disk. The adapter wraps that object as it is,
so nothing queued before the migration is lost:

* ``enqueue(item, idempotency_key)`` + ``drain(fn, limit)`` where ``fn(item)`` publishes one
  item and returns an ack (the sqlite ``LocalQueue`` of the fleet);
* ``push(item)`` / ``pop()`` (``None`` when empty; an item a failed drain took goes back on top);
* ``put`` / ``get_nowait`` (``queue.Queue``) and ``append`` / ``popleft`` (``collections.deque``):
  drained oldest first, an item leaving only once it is published.

Idempotency keys are ``<agent>:<device>:<ns>:<seq>``, as the fleet's adapter made them.
"""
import inspect
import itertools
import socket
import threading
import time

__all__ = ["LocalQueueAdapter"]


class _Ack:
    """What a legacy drain callback returned on success: status 0 is the bus's OK."""

    status = 0
    ok = True

    def __bool__(self):
        return True


def _positional_arity(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 2
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


class LocalQueueAdapter:
    def __init__(self, queue, agent_name=None, device_id=None):
        self.queue = queue
        self.agent_name = agent_name or "agent"
        self.device_id = device_id or socket.gethostname()
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        q = queue
        if callable(getattr(q, "enqueue", None)) and callable(getattr(q, "drain", None)):
            self._kind = "keyed" if _positional_arity(q.enqueue) >= 2 else "plain"
        elif callable(getattr(q, "push", None)) and callable(getattr(q, "pop", None)):
            self._kind = "push"
        elif callable(getattr(q, "put", None)) and callable(getattr(q, "get_nowait", None)):
            self._kind = "put"
        elif callable(getattr(q, "append", None)) and callable(getattr(q, "popleft", None)):
            self._kind = "deque"
        else:
            raise TypeError("LocalQueueAdapter: %s has no enqueue/drain, push/pop, put/get_nowait or "
                            "append/popleft to queue with" % type(queue).__name__)

    def _key(self):
        return "%s:%s:%d:%d" % (self.agent_name, self.device_id, time.time_ns(), next(self._seq))

    def enqueue(self, events):
        for event in events:
            if self._kind == "keyed":
                self.queue.enqueue(event, self._key())
            elif self._kind == "plain":
                self.queue.enqueue(event)
            elif self._kind == "push":
                self.queue.push(event)
            elif self._kind == "put":
                self.queue.put(event)
            else:
                self.queue.append(event)

    def drain(self, publish, limit=100):
        """Publish up to ``limit`` queued items, oldest first; a failure stops the drain and
        propagates, leaving the item queued."""
        if self._kind in ("keyed", "plain"):
            def one(item):
                publish([item])
                return _Ack()
            return int(self.queue.drain(one, limit=limit) or 0)
        drained = 0
        with self._lock:
            while drained < limit:
                if self._kind in ("deque", "put"):
                    # Look first, take once it is published: the order survives a failure.
                    found, item = self._peek()
                    if not found:
                        break
                    publish([item])
                    self._take()
                else:
                    item = self._take()
                    if item is None:
                        break
                    try:
                        publish([item])
                    except Exception:
                        self._put_back(item)
                        raise
                drained += 1
        return drained

    def _peek(self):
        items = self.queue if self._kind == "deque" else getattr(self.queue, "queue", None)
        if items is None:
            raise TypeError("LocalQueueAdapter: %s cannot be looked into" % type(self.queue).__name__)
        mutex = getattr(self.queue, "mutex", None)
        if mutex is not None:
            with mutex:
                return (True, items[0]) if len(items) else (False, None)
        return (True, items[0]) if len(items) else (False, None)

    def _take(self):
        try:
            if self._kind == "push":
                return self.queue.pop()
            if self._kind == "put":
                return self.queue.get_nowait()
            return self.queue.popleft()
        except (IndexError, KeyError, LookupError):
            return None
        except Exception as exc:  # queue.Empty is not a LookupError
            if type(exc).__name__ == "Empty":
                return None
            raise

    def _put_back(self, item):
        # push/pop queues cannot be looked into: the item goes back on top.
        self.queue.push(item)

    def size(self):
        q = self.queue
        for name in ("size", "qsize", "__len__"):
            fn = getattr(q, name, None)
            if callable(fn):
                return int(fn())
        return -1
