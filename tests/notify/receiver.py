"""A webhook receiver on 127.0.0.1: a real HTTP(S) server in a thread, keeping what it got.

`receiving()` starts one and stops it when the test ends. What it answers is set on
`Receiver.answer` (status, headers, body size, or hanging), so a test reads as the
story of one delivery. Delivery tests import it too.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body_size: int = 0  # bytes of body sent after the headers (with a Content-Length)
    hang: bool = False  # read the request, then say nothing until the test ends
    drop: bool = False  # read the request, then close the connection without a word


@dataclass
class Receiver:
    port: int
    scheme: str
    answer: Answer = field(default_factory=Answer)
    got: list[Received] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver.got.append(Received("POST", self.path, dict(self.headers.items()), body))
            answer = receiver.answer
            if answer.hang:
                receiver.released.wait(10)
            if answer.hang or answer.drop:
                self.close_connection = True
                return
            try:
                self._answer(answer)
            except (BrokenPipeError, ConnectionResetError):
                return  # the sender stopped reading, as it should after 64 KiB

        def _answer(self, answer: Answer) -> None:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(answer.body_size))
            self.end_headers()
            left = answer.body_size
            while left > 0:
                self.wfile.write(b"x" * min(CHUNK, left))
                left -= CHUNK

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: the test reads `got`

    return Handler


@contextmanager
def receiving(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1, over TLS when given a server context."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = Receiver(port=server.server_address[1], scheme="https" if tls else "http")
    server.RequestHandlerClass = _handler(receiver)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()
        thread.join()
