"""A loopback server that speaks the OpenAI chat-completions protocol, for tests and baselines.

:class:`ChatServer` answers ``POST <base>/chat/completions`` with whatever its responder
returns, on 127.0.0.1 and a free port, in a background thread. :func:`policy_responder`
turns any policy into a responder: it reads the step's view from the prompt (the JSON line
after ``Now:`` that :meth:`negenv.text.TextView.prompt` writes), rebuilds the flat
observation and mask exactly, asks the policy and answers with
:meth:`~negenv.text.TextView.encode`. A scripted mediator served this way plays exactly the
episodes it plays in process, which checks the whole text path end to end; the same server
with a scripted responder (malformed JSON, prose, slow replies) tests how a client copes.

    with ChatServer(policy_responder([(TextView(scenario, "mediator"), policy)])) as server:
        LLMPolicy(scenario, "mediator", LLMConfig("scripted", server.base_url))

Token counts in ``usage`` are words and punctuation marks, a stand-in for a tokenizer.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from negenv.text import TextView

# responder(request) -> reply text, or (reply text, seconds to wait before answering)
Responder = Callable[[dict[str, Any]], "str | tuple[str, float]"]
_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Words and punctuation marks: the token count this server reports."""
    return len(_TOKEN.findall(text))


class ChatServer:
    """A chat-completions endpoint on 127.0.0.1 (``base_url`` ends in ``/v1``)."""

    def __init__(self, responder: Responder, port: int = 0):
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                length = int(self.headers.get("Content-Length", 0))
                try:
                    request = json.loads(self.rfile.read(length))
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "the body is not JSON"}})
                    return
                with server._lock:
                    server.requests.append(request)
                out = server.responder(request)
                text, delay = out if isinstance(out, tuple) else (out, 0.0)
                if delay:
                    time.sleep(delay)
                prompt = sum(count_tokens(m.get("content") or "") for m in request["messages"])
                done = count_tokens(text)
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(server.requests)}",
                        "object": "chat.completion",
                        "created": 0,
                        "model": request.get("model", ""),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": prompt,
                            "completion_tokens": done,
                            "total_tokens": prompt + done,
                        },
                    },
                )

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ChatServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def read_view(request: dict[str, Any]) -> dict[str, Any]:
    """The view of the step a request asks about: the JSON line after ``Now:`` in its first
    user message."""
    first = next(m["content"] for m in request["messages"] if m["role"] == "user")
    lines = first.splitlines()
    return json.loads(lines[lines.index("Now:") + 1])


def policy_responder(entries: list[tuple[TextView, Any]]) -> Responder:
    """A responder that plays policies: ``entries`` pairs a text view with the policy that
    plays it (a mediator, the parties of a mediated scenario, the parties of its unmediated
    twin...); a prompt goes to the entry of its role and protocol, and the answer is that
    policy's action for the observation the prompt shows."""

    def respond(request: dict[str, Any]) -> str:
        view = read_view(request)
        role = "party" if "you" in view else "mediator"
        mediated = role == "mediator" or "proposer" not in view
        for tv, policy in entries:
            if tv.role == role and tv.lay.mediated == mediated:
                obs, mask = tv.vector(view), tv.mask(view)
                action = np.asarray(policy.act(obs[None], mask[None]))[0]
                return json.dumps(tv.encode(action))
        raise LookupError(f"no policy serves a {role} of a {'' if mediated else 'un'}mediated game")

    return respond
