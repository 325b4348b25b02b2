"""A webhook receiver for the tests (http.server on loopback): checks each signature, keeps what
arrives, and can be told to answer 503 (an outage)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    def __init__(self, secret: str):
        self.secret = secret.encode()
        self.received: list[dict[str, Any]] = []
        self.refused = 0  # requests answered 503 while down
        self.bad_signatures = 0
        self.down = False
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stamp = self.headers.get("X-Maskwatch-Timestamp", "")
                sent = self.headers.get("X-Maskwatch-Signature", "")
                want = "sha256=" + hmac.new(outer.secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                with outer.lock:
                    if outer.down:
                        outer.refused += 1
                        code = 503
                    elif not hmac.compare_digest(sent, want):
                        outer.bad_signatures += 1
                        code = 401
                    else:
                        outer.received.append({**json.loads(body), "_event": self.headers.get("X-Maskwatch-Event")})
                        code = 204
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def ids(self) -> list[int]:
        with self.lock:
            return [int(m["id"]) for m in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
