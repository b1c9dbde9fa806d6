"""Language-model policies: a chat-completions endpoint plays a role through the text view.

:class:`LLMPolicy` is an ordinary policy (``act(obs, mask)``), so a model can sit wherever a
policy name is accepted: ``--mediator llm:<model>@<base_url>`` and ``--population
llm:<model>@<base_url>`` (every seat) in ``negenv.evaluate`` and ``train.py``. It asks any
OpenAI-compatible server through the official ``openai`` client with a ``base_url`` (vLLM,
llama.cpp's server, Ollama, or a hosted API); the API key comes only from the environment
variable named by ``api_key_env`` (``OPENAI_API_KEY`` by default; local servers need none).

Per step and per row (an episode's seat), the policy sends the role brief and the step's
prompt (:class:`negenv.text.TextView`), with the transcript of that episode's earlier steps.
The reply is parsed by :meth:`TextView.parse` and nothing else: a reply that is not a JSON
object matching the schema and the mask goes back to the model with the error, at most
``retries`` more times, and then the row takes :meth:`TextView.default`. Every such row is
counted (``last_failed`` after each call; :func:`negenv.rollout.run` turns it into the
records' ``answer_failures``). A request that fails (timeout, HTTP error) uses up a try too.

Requests of one call run concurrently (``concurrency`` threads); each row's conversation is
independent of the others and of their order, so with a deterministic server the actions do
not depend on timing. With ``cache_dir`` every answer is stored under a hash of its request
(model, messages, temperature, seed, max_tokens; not the server's address), and a run whose
requests are all cached needs no server: a scorecard is reproducible without the model.

Options not given come from environment variables (``NEGENV_LLM_CACHE``,
``NEGENV_LLM_RETRIES``, ``NEGENV_LLM_TEMPERATURE``, ``NEGENV_LLM_SEED``,
``NEGENV_LLM_CONCURRENCY``, ``NEGENV_LLM_TIMEOUT``, ``NEGENV_LLM_MAX_TOKENS``,
``NEGENV_LLM_LIST_LEGAL``), which is how command lines pass them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from negenv.atomic import write_atomic
from negenv.layout import MEDIATOR
from negenv.scenario import Scenario
from negenv.text import AnswerError, TextView

PREFIX = "llm:"


@dataclass(frozen=True)
class LLMConfig:
    """How a model is asked. ``retries``: further tries after a failed answer; ``history``:
    earlier steps shown in the prompt (the most recent ones)."""

    model: str
    base_url: str
    retries: int = 2
    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int | None = 400
    concurrency: int = 8
    timeout: float = 60.0
    cache_dir: str | None = None
    history: int = 12
    list_legal: bool = False
    api_key_env: str = "OPENAI_API_KEY"

    def __post_init__(self) -> None:
        def bad(name: str, allowed: str) -> None:
            value = getattr(self, name)
            raise ValueError(f"LLMConfig.{name} = {value!r} is invalid: {allowed}")

        if not self.model:
            bad("model", "must be a non-empty model name")
        if not self.base_url.startswith(("http://", "https://")):
            bad("base_url", "must start with http:// or https://")
        if not isinstance(self.retries, int) or self.retries < 0:
            bad("retries", "must be an int >= 0")
        if not 0.0 <= self.temperature <= 2.0:
            bad("temperature", "must lie in [0, 2]")
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            bad("concurrency", "must be an int >= 1")
        if self.timeout <= 0:
            bad("timeout", "must be > 0 seconds")
        if not isinstance(self.history, int) or self.history < 0:
            bad("history", "must be an int >= 0")
        if self.max_tokens is not None and self.max_tokens < 1:
            bad("max_tokens", "must be None or an int >= 1")


def parse_name(name: str) -> tuple[str, str]:
    """``llm:<model>@<base_url>`` -> (model, base_url)."""
    body = name.removeprefix(PREFIX)
    model, at, url = body.rpartition("@")
    if not name.startswith(PREFIX) or not at or not model or not url.startswith("http"):
        raise ValueError(
            f"policy name {name!r} is invalid: an LLM is named llm:<model>@<base_url>, "
            "e.g. llm:qwen2.5-7b-instruct@http://127.0.0.1:8000/v1"
        )
    return model, url


def config_from_env(name: str, **overrides: Any) -> LLMConfig:
    """The config of a policy name, with options from ``NEGENV_LLM_*`` variables."""
    model, url = parse_name(name)
    env = os.environ
    opts: dict[str, Any] = {}
    for key, cast in (
        ("retries", int),
        ("temperature", float),
        ("seed", int),
        ("concurrency", int),
        ("timeout", float),
        ("max_tokens", int),
        ("history", int),
    ):
        raw = env.get(f"NEGENV_LLM_{key.upper()}")
        if raw not in (None, ""):
            try:
                opts[key] = cast(raw)
            except ValueError:
                raise ValueError(
                    f"NEGENV_LLM_{key.upper()} = {raw!r} is invalid: must be {cast.__name__}"
                ) from None
    if env.get("NEGENV_LLM_CACHE"):
        opts["cache_dir"] = env["NEGENV_LLM_CACHE"]
    if env.get("NEGENV_LLM_LIST_LEGAL"):
        opts["list_legal"] = env["NEGENV_LLM_LIST_LEGAL"] not in ("0", "false", "")
    return LLMConfig(model, url, **{**opts, **overrides})


class AnswerCache:
    """Answers on disk, one JSON file per request hash, written atomically."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    @staticmethod
    def key(request: dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()

    def get(self, request: dict[str, Any]) -> dict[str, Any] | None:
        path = self.folder / f"{self.key(request)}.json"
        if not path.exists():
            return None
        return json.loads(path.read_text())["response"]

    def put(self, request: dict[str, Any], response: dict[str, Any]) -> None:
        path = self.folder / f"{self.key(request)}.json"
        entry = {"request": request, "response": response}
        write_atomic(path, lambda f: json.dump(entry, f))


@dataclass
class Usage:
    """What a policy has asked so far."""

    requests: int = 0  # sent to the server
    cached: int = 0  # answered from the cache
    failed_requests: int = 0  # timeouts and HTTP errors
    retries: int = 0  # tries after a failed answer
    failures: int = 0  # rows that ended with the default action
    decisions: int = 0  # rows decided
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLMPolicy:
    """A role played by a chat model (see the module docstring)."""

    def __init__(self, scenario: Scenario, role: str, config: LLMConfig, client: Any = None):
        self.view = TextView(scenario, role, list_legal=config.list_legal)
        self.role, self.config = role, config
        self.cache = AnswerCache(config.cache_dir) if config.cache_dir else None
        self._client = client
        self._lock = threading.Lock()
        self.usage = Usage()
        self.history: dict[int, list[str]] = {}
        self.log: list[dict[str, Any]] = []  # one entry per decided row, in call order
        self.last_failed = np.zeros(0, dtype=bool)
        self.rows_needed: np.ndarray | None = None  # set by rollouts: rows that count
        self._calls = 0

    @property
    def client(self) -> Any:
        if self._client is None:
            import openai

            key = os.environ.get(self.config.api_key_env) or "none"
            self._client = openai.OpenAI(
                base_url=self.config.base_url,
                api_key=key,
                timeout=self.config.timeout,
                max_retries=0,  # tries are counted here, not hidden in the client
            )
        return self._client

    # ---------------------------------------------------------------------------- act
    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        rows = len(obs)
        views = [self.view.view(o) for o in obs]
        for r, v in enumerate(views):  # an episode starts at round 0 of the negotiation
            if v["phase"] == "negotiate" and v["round"] == 0 and v.get("stage", 0) == 0:
                self.history[r] = []
        needed = self.rows_needed
        self.rows_needed = None
        todo = [r for r in range(rows) if needed is None or needed[r]]
        out = np.stack([self.view.default(v, m) for v, m in zip(views, mask)])
        failed = np.zeros(rows, dtype=bool)
        with ThreadPoolExecutor(min(self.config.concurrency, max(len(todo), 1))) as pool:
            results = list(pool.map(lambda r: self._decide(r, views[r], mask[r]), todo))
        for r, (action, entry) in zip(todo, results):
            out[r] = action
            failed[r] = entry["failed"]
            self.log.append(entry)
        for r in todo:
            self.history.setdefault(r, []).append(self.view.summary(views[r]))
        self.last_failed = failed
        self._calls += 1
        return out

    def _messages(self, row: int, view: dict[str, Any], mask: np.ndarray) -> list[dict]:
        agent = view.get("you", MEDIATOR)
        past = self.history.get(row, [])[-self.config.history :] if self.config.history else []
        return [
            {"role": "system", "content": self.view.brief(agent)},
            {"role": "user", "content": self.view.prompt(view, mask, past)},
        ]

    def _decide(self, row: int, view: dict[str, Any], mask: np.ndarray):
        messages = self._messages(row, view, mask)
        tries: list[dict[str, Any]] = []
        action = None
        for attempt in range(self.config.retries + 1):
            reply, error = self._ask(messages)
            if reply is not None:
                try:
                    action = self.view.parse(reply, view, mask)
                except AnswerError as err:
                    error = str(err)
            tries.append({"reply": reply, "error": error})
            if action is not None:
                break
            if attempt < self.config.retries:
                with self._lock:
                    self.usage.retries += 1
                if reply is not None:  # the model sees its answer and why it failed
                    messages = messages + [
                        {"role": "assistant", "content": reply},
                        {
                            "role": "user",
                            "content": f"Your answer could not be used: {error}. "
                            "Answer again with one JSON object.",
                        },
                    ]
        failed = action is None
        if failed:
            action = self.view.default(view, mask)
        with self._lock:
            self.usage.decisions += 1
            self.usage.failures += int(failed)
        entry = {
            "call": self._calls,
            "row": row,
            "agent": view.get("you", MEDIATOR),
            "phase": view["phase"],
            "round": view["round"],
            "stage": view["stage"],
            "prompt": messages[1]["content"],  # the step's prompt; errors are in tries
            "tries": tries,
            "action": self.view.encode(action),
            "failed": failed,
        }
        return action, entry

    def _ask(self, messages: list[dict]) -> tuple[str | None, str | None]:
        """One request: (reply text, None) or (None, what went wrong)."""
        c = self.config
        request = {
            "model": c.model,
            "messages": messages,
            "temperature": c.temperature,
            "seed": c.seed,
            "max_tokens": c.max_tokens,
        }
        if self.cache is not None:
            hit = self.cache.get(request)
            if hit is not None:
                with self._lock:
                    self.usage.cached += 1
                return hit["content"], None
        kwargs = {k: v for k, v in request.items() if v is not None}
        try:
            response = self.client.chat.completions.create(**kwargs)
        except Exception as err:  # the client's errors: timeouts, HTTP status, connection
            with self._lock:
                self.usage.requests += 1
                self.usage.failed_requests += 1
            return None, f"the request failed ({type(err).__name__}: {err})"
        content = response.choices[0].message.content or ""
        usage = response.usage
        with self._lock:
            self.usage.requests += 1
            if usage is not None:
                self.usage.prompt_tokens += usage.prompt_tokens or 0
                self.usage.completion_tokens += usage.completion_tokens or 0
        if self.cache is not None:
            self.cache.put(request, {"content": content})
        return content, None

    # ------------------------------------------------------------------- transcripts
    def write_transcript(self, path: str | Path) -> None:
        """Every decision so far as JSONL (a header line, then one line per decided row),
        written atomically."""
        header = {
            "type": "llm_header",
            "role": self.role,
            "scenario": self.view.scenario.name,
            "config": {
                k: v for k, v in dataclasses.asdict(self.config).items() if k != "api_key_env"
            },
            "brief": self.view.brief(),
            "schema": self.view.schema,
            "usage": dataclasses.asdict(self.usage),
        }

        def write(f):
            f.write(json.dumps(header) + "\n")
            for entry in self.log:
                f.write(json.dumps({"type": "llm_decision", **entry}) + "\n")

        write_atomic(path, write)
