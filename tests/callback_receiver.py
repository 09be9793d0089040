"""A notification receiver for tests: a real HTTP server on 127.0.0.1 (port chosen by the
system) that records every callback it gets and answers as the test says — for example 500
twice for each event, then 204.

    with Receiver(fail_first=2) as receiver:
        ...register receiver.url...
        receiver.wait_for(lambda received: len(received) >= 3)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One request the receiver took, and what it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    @property
    def event_id(self) -> int:
        return int(self.headers["x-gigalis-event-id"])

    @property
    def delivery_id(self) -> int:
        return int(self.headers["x-gigalis-delivery"])

    @property
    def event(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


class Receiver:
    """An HTTP server on 127.0.0.1 (port chosen by the system) that records every POST.

    ``fail_first``: the first N requests of each event answer 500; ``status``: what the
    others answer; ``delay``: seconds it waits before answering.
    """

    def __init__(
        self,
        *,
        fail_first: int = 0,
        status: int = 204,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.fail_first = fail_first
        self.status = status
        self.delay = delay
        self.extra_headers = headers or {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/events"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def answer_for(self, event_id: int) -> int:
        """The status of the next request about ``event_id`` (called under the lock)."""
        seen = sum(1 for item in self.received if item.event_id == event_id)
        return 500 if seen < self.fail_first else self.status

    def acknowledged(self) -> Counter[int]:
        """How many 2xx answers each event id got."""
        return Counter(item.event_id for item in self.received if 200 <= item.status < 300)

    def wait_for(
        self, done: Callable[[list[Received]], bool], *, timeout: float = 30
    ) -> list[Received]:
        """The acknowledged requests, once ``done`` holds for them; AssertionError at the
        timeout, listing what came."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                answered = [item for item in self.received if 200 <= item.status < 300]
            if done(answered):
                return answered
            if time.monotonic() > deadline:
                raise AssertionError(f"callbacks after {timeout} s: {answered}")
            time.sleep(0.05)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if receiver.delay:
                    time.sleep(receiver.delay)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    status = receiver.answer_for(int(headers["x-gigalis-event-id"]))
                    receiver.received.append(
                        Received(self.path, headers, body, status, time.monotonic())
                    )
                self.send_response(status)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output quiet

        return Handler


def verified(secret: str, item: Received) -> bool:
    """Whether a request's signature is right, computed as a receiver would."""
    timestamp = item.headers["x-gigalis-timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + item.body, hashlib.sha256)
    given = item.headers["x-gigalis-signature"]
    return hmac.compare_digest(given, f"sha256={expected.hexdigest()}")
