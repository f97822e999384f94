"""The Emulator: one loopback HTTP server speaking every Kling 2.6 host's protocol, with knobs and faults.

Start it, point the app at it with `env()`, steer it from Python or over HTTP
(`/_emulator/...`, see `control.py`), and read what happened with `stats()`.

    with Emulator(latency=0) as emu:
        settings = load_settings(environ=emu.env())
        ...
        emu.add_fault("http", host="kie", op="create", status=429, retry_after="3")
        emu.stats()["accepted_creates"]["kie"]
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import httpx

from tests.emulator import media
from tests.emulator.faults import PROCESSED_FIRST, FaultBook, FaultRule
from tests.emulator.hosts import HOST_CLASSES
from tests.emulator.hosts.base import HostEmulator
from tests.emulator.tasks import (
    FINAL_PHASES,
    PHASES,
    EmuTask,
    Latency,
    OutcomeRule,
    Plan,
    TaskTable,
    parse_latency,
    plan_task,
)
from tests.emulator.wire import (
    EmuHTTPServer,
    EmuRequest,
    EmuResponse,
    Exchange,
    Route,
    json_response,
    route,
    text_response,
)

DEFAULT_KEYS: dict[str, str] = {
    "KIE_API_KEY": "emu-kie-key-4d1c9a7e5b",
    "REPLICATE_API_TOKEN": "r8_emu-replicate-token-93b0f2",
    "AIMLAPI_API_KEY": "emu-aimlapi-key-6a2e81c4",
    "FAL_KEY": "emu-fal-id:emu-fal-secret-0c7d55",
    "KLING_ACCESS_KEY": "emu-kling-access-key-a81f",
    "KLING_SECRET_KEY": "emu-kling-secret-key-3c9e77d0",
    "INFERENCE_API_KEY": "inf_emu-inference-key-52be",
    # Callback signing secrets (what each host's dashboard hands out).
    "REPLICATE_WEBHOOK_SECRET": "whsec_ZW11LXJlcGxpY2F0ZS13ZWJob29rLXNlY3JldC0wMQ==",
    "KIE_WEBHOOK_HMAC_KEY": "emu-kie-webhook-hmac-key-7f21c0",
}

BASE_URL_ENV: dict[str, str] = {
    "kie": "KLING_LAB_KIE_BASE_URL",
    "replicate": "KLING_LAB_REPLICATE_BASE_URL",
    "aimlapi": "KLING_LAB_AIMLAPI_BASE_URL",
    "fal": "KLING_LAB_FAL_BASE_URL",
    "kling": "KLING_LAB_KLING_BASE_URL",
    "inference": "KLING_LAB_INFERENCE_BASE_URL",
}

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    "<body><h1>Checking your browser before accessing the site.</h1></body></html>"
)


@dataclass
class Knobs:
    """Behaviour settings, changeable at any time (`configure`, or POST /_emulator/config)."""

    latency: Latency = 1.0
    """Seconds from create to the end of a task: a number or a (low, high) range."""
    queued_share: float = 0.3
    """Share of the latency a task spends queued before it runs."""
    outcome: str = "success"
    """Default outcome: success, fail or policy."""
    fail_reason: str | None = None
    video_size: int | None = None
    """Pad served MP4s to this many bytes (a valid MP4 `free` box); None: the bare ~10 KB clip."""
    hang_seconds: float = 30.0
    """How long `timeout` faults stay silent (longer than the client's timeout)."""
    strict: bool = True
    """Refuse fields a host's schema does not list (makes wrong payload mappings visible)."""
    kie_http_mirrors_code: bool = True
    """Kie errors: HTTP status equals the body code (True) or is always 200 (False); the docs do not say."""
    inference_status_style: str = "number"
    """inference.sh task status as "number" (current SDK numbering) or "name"."""
    inference_video_as_string: bool = False
    """inference.sh output video as a bare URL string instead of a {uri, ...} object."""
    callback_signature: str = "valid"
    """How hosts that sign callbacks sign them: valid, none (no signature headers), wrong (a bad
    signature) or stale (a valid signature over a timestamp an hour old)."""

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown knob(s): {sorted(unknown)}; known: {sorted(known)}")
        for name, value in values.items():
            if name == "latency":
                value = parse_latency(value)
            elif name == "outcome" and value not in ("success", "fail", "policy"):
                raise ValueError("outcome must be success, fail or policy")
            elif name == "inference_status_style" and value not in ("number", "name"):
                raise ValueError("inference_status_style must be number or name")
            elif name == "callback_signature" and value not in ("valid", "none", "wrong", "stale"):
                raise ValueError("callback_signature must be valid, none, wrong or stale")
            elif name in ("queued_share", "hang_seconds"):
                value = float(value)
            elif name == "video_size" and value is not None:
                value = int(value)
            setattr(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if isinstance(self.latency, tuple):
            data["latency"] = list(self.latency)
        return data


@dataclass(frozen=True)
class CreateRecord:
    """An accepted create as received: for asserting what a client sent."""

    host: str
    task_id: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class _Stats:
    accepted_creates: Counter[str] = field(default_factory=Counter)
    refused_creates: Counter[str] = field(default_factory=Counter)
    creates_by_prompt: Counter[str] = field(default_factory=Counter)
    creates_by_job: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    status_calls: Counter[str] = field(default_factory=Counter)
    result_calls: Counter[str] = field(default_factory=Counter)
    cancel_calls: Counter[str] = field(default_factory=Counter)
    lookup_calls: Counter[str] = field(default_factory=Counter)
    downloads: Counter[str] = field(default_factory=Counter)
    download_bytes: int = 0
    uploads: Counter[str] = field(default_factory=Counter)
    faults_fired: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)


class Emulator:
    """A real HTTP server on 127.0.0.1 emulating Kie, Replicate, AI/ML API, fal, Kling and inference.sh."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        keys: dict[str, str] | None = None,
        seed: int = 0,
        **knobs: Any,
    ) -> None:
        self._bind = (host, port)
        self.keys = dict(DEFAULT_KEYS, **(keys or {}))
        self.knobs = Knobs()
        self.knobs.update(knobs)
        self._initial_knobs = copy.deepcopy(self.knobs)
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._server: EmuHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.tasks_table = TaskTable()
        self.faults_book = FaultBook()
        self._outcome_rules: list[OutcomeRule] = []
        self._next_outcome_id = 1
        self._stats = _Stats()
        self._creates: list[CreateRecord] = []
        self._sinks: dict[str, list[dict[str, Any]]] = {}
        self.uploads: dict[str, tuple[str, bytes]] = {}
        """Kie upload token -> (mime, bytes)."""
        self.hosts: dict[str, HostEmulator] = {name: cls(self) for name, cls in HOST_CLASSES.items()}
        self._routes: list[Route] = self._build_routes()

    # ------------------------------------------------------------------------------------------
    # Lifecycle

    def start(self) -> Emulator:
        """Render the clips, bind the port and serve in background threads. Returns self."""
        if self._server is not None:
            return self
        media.base_clip(False)
        media.base_clip(True)
        self._stop.clear()
        self._server = EmuHTTPServer(self._bind, self._dispatch)
        serve = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                 name="emulator-http", daemon=True)
        ticker = threading.Thread(target=self._callback_loop, name="emulator-callbacks", daemon=True)
        self._threads = [serve, ticker]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release hanging requests and close every connection."""
        if self._server is None:
            return
        self._stop.set()
        self._server.shutdown()
        self._server.close_all_connections()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start()")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The server's root URL, e.g. http://127.0.0.1:41234."""
        return f"http://{self._bind[0]}:{self.port}"

    def base_url(self, host: str) -> str:
        """The base URL a client of `host` uses (what KLING_LAB_<HOST>_BASE_URL is set to)."""
        if host == "kie-upload":
            return f"{self.url}/kie-upload"
        return self.hosts[host].base_url

    def env(self) -> dict[str, str]:
        """Environment that points Kling Lab at this emulator: base URLs, Kie's upload URL, fake keys."""
        values = {BASE_URL_ENV[name]: self.base_url(name) for name in self.hosts}
        values["KLING_LAB_KIE_UPLOAD_URL"] = self.base_url("kie-upload")
        values["KLING_LAB_FAL_JWKS_URL"] = self.hosts["fal"].jwks_url
        values.update(self.keys)
        return values

    # ------------------------------------------------------------------------------------------
    # Knobs, faults, outcomes

    def configure(self, **knobs: Any) -> dict[str, Any]:
        """Change behaviour knobs (see `Knobs`); returns them all."""
        with self._lock:
            self.knobs.update(knobs)
            return self.knobs.to_dict()

    def add_fault(self, kind: str, host: str = "*", op: str = "*", **options: Any) -> FaultRule:
        """Add a fault rule (see `faults.py` for kinds and options); returns it (with its id)."""
        return self.faults_book.add(FaultRule(kind=kind, host=host, op=op, **options))

    def remove_fault(self, rule_id: int) -> bool:
        return self.faults_book.remove(rule_id)

    def clear_faults(self) -> None:
        self.faults_book.clear()

    def faults(self) -> list[dict[str, Any]]:
        """Every rule with how often it was seen, fired and how many firings remain."""
        return self.faults_book.snapshot()

    def add_outcome(
        self, outcome: str, reason: str | None = None, match: str | None = None, count: int | None = 1
    ) -> OutcomeRule:
        """Make the next `count` tasks (whose prompt contains `match`) end with `outcome` (success/fail/policy)."""
        rule = OutcomeRule(outcome=outcome, reason=reason, match=match, count=count)
        with self._lock:
            rule.id = self._next_outcome_id
            self._next_outcome_id += 1
            self._outcome_rules.append(rule)
        return rule

    def clear_outcomes(self) -> None:
        with self._lock:
            self._outcome_rules.clear()

    def reset(self) -> None:
        """Forget tasks, uploads, faults, outcome rules, stats, callbacks and sinks; restore the initial knobs."""
        with self._lock:
            self.tasks_table.clear()
            self.faults_book.clear()
            self._outcome_rules.clear()
            self._stats = _Stats()
            self._creates.clear()
            self._sinks.clear()
            self.uploads.clear()
            self.knobs = copy.deepcopy(self._initial_knobs)

    # ------------------------------------------------------------------------------------------
    # Observing

    def stats(self) -> dict[str, Any]:
        """Counters so far, as plain JSON-ready data (a copy)."""
        with self._lock:
            s = self._stats
            return {
                "accepted_creates": dict(s.accepted_creates),
                "refused_creates": dict(s.refused_creates),
                "creates_by_prompt": dict(s.creates_by_prompt),
                "creates_by_job": dict(s.creates_by_job),
                "requests": dict(s.requests),
                "status_calls": dict(s.status_calls),
                "result_calls": dict(s.result_calls),
                "cancel_calls": dict(s.cancel_calls),
                "lookup_calls": dict(s.lookup_calls),
                "downloads": dict(s.downloads),
                "download_bytes": s.download_bytes,
                "uploads": dict(s.uploads),
                "faults_fired": list(s.faults_fired),
                "callbacks": list(s.callbacks),
                "server_errors": list(s.server_errors),
            }

    def tasks(self, host: str | None = None) -> list[dict[str, Any]]:
        """A summary of every task (or one host's)."""
        now = time.monotonic()
        share = self.knobs.queued_share
        return [t.summary(now, share) for t in self.tasks_table.all() if host in (None, t.host)]

    def task(self, task_id: str, host: str | None = None) -> EmuTask | None:
        return self.tasks_table.get(host, task_id) if host else self.tasks_table.find(task_id)

    def force_phase(self, task_id: str, phase: str | None, host: str | None = None) -> None:
        """Pin a task to a phase (queued, running, succeeded, failed, canceled); None follows the clock again."""
        if phase is not None and phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; one of {sorted(PHASES)}")
        task = self.task(task_id, host)
        if task is None:
            raise KeyError(task_id)
        task.forced_phase = phase

    def creates(self, host: str | None = None) -> list[CreateRecord]:
        """Accepted creates as received (path, query, headers, JSON body), oldest first."""
        with self._lock:
            return [c for c in self._creates if host in (None, c.host)]

    def sink_url(self, name: str) -> str:
        """A URL on the emulator that records POSTed bodies: use it as a webhook/callback receiver."""
        return f"{self.url}/_emulator/sink/{name}"

    def sink(self, name: str) -> list[dict[str, Any]]:
        """What was POSTed to `sink_url(name)`: [{"headers": {...}, "body": bytes}]."""
        with self._lock:
            return list(self._sinks.get(name, []))

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> bool:
        """Poll `predicate` until it is true or `timeout` passes; returns its last value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return bool(predicate())

    # ------------------------------------------------------------------------------------------
    # For host modules

    def plan(self, prompt: str) -> Plan:
        """Decide how a new task will go (directives, outcome rules, defaults)."""
        with self._lock:
            return plan_task(
                prompt,
                rules=self._outcome_rules,
                default_outcome=self.knobs.outcome,
                default_reason=self.knobs.fail_reason,
                latency=self.knobs.latency,
                rng=self._rng,
            )

    def accept_create(
        self,
        host: str,
        request: EmuRequest,
        *,
        task_id: str,
        kind: str,
        prompt: str,
        payload: dict[str, Any],
        audio: bool,
        plan: Plan,
        job_key: str | None = None,
        callback_url: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> EmuTask:
        """Record an accepted (paid) create and return its task."""
        task = EmuTask(
            host=host,
            task_id=task_id,
            kind=kind,
            prompt=prompt,
            payload=payload,
            audio=audio,
            plan=plan,
            created_at=time.monotonic(),
            created_epoch_ms=int(time.time() * 1000),
            file_token=uuid.uuid4().hex,
            job_key=job_key,
            callback_url=callback_url or None,
            extra=dict(extra or {}),
            callback_state="pending" if callback_url else "none",
        )
        with self._lock:
            self.tasks_table.add(task)
            self._stats.accepted_creates[host] += 1
            self._stats.creates_by_prompt[prompt] += 1
            if job_key:
                self._stats.creates_by_job[job_key] += 1
            self._creates.append(
                CreateRecord(host, task_id, request.path, dict(request.query), dict(request.headers), payload)
            )
        return task

    def store_upload(self, mime: str, content: bytes) -> str:
        """Keep an uploaded file; returns its token."""
        token = uuid.uuid4().hex
        with self._lock:
            self.uploads[token] = (mime, content)
        return token

    def phase_of(self, task: EmuTask) -> str:
        return task.phase(time.monotonic(), self.knobs.queued_share)

    def progress_of(self, task: EmuTask) -> float:
        return task.progress(time.monotonic())

    def count(self, counter: str, key: str) -> None:
        """Bump a per-key counter in the stats (status_calls, result_calls, cancel_calls, lookup_calls, uploads)."""
        with self._lock:
            getattr(self._stats, counter)[key] += 1

    def clip_for(self, task: EmuTask) -> bytes:
        return media.clip_bytes(task.audio, self.knobs.video_size)

    def new_id(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def random_digits(self, length: int) -> str:
        with self._lock:
            return str(self._rng.randint(1, 9)) + "".join(str(self._rng.randint(0, 9)) for _ in range(length - 1))

    def random_alnum(self, length: int) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        with self._lock:
            return "".join(self._rng.choice(alphabet) for _ in range(length))

    # ------------------------------------------------------------------------------------------
    # Serving

    def _build_routes(self) -> list[Route]:
        from tests.emulator.control import control_routes

        routes: list[Route] = []
        routes += control_routes(self)
        routes.append(route("GET", r"/files/(?P<host>[a-z]+)/(?P<token>[0-9a-f]+)\.mp4", self._download,
                            host=None, op="download"))
        for host in self.hosts.values():
            routes += host.routes()
        return routes

    def _match(self, method: str, path: str) -> tuple[Route, Any] | None:
        lookup = "GET" if method == "HEAD" else method
        for candidate in self._routes:
            if candidate.method != lookup:
                continue
            match = candidate.pattern.match(path)
            if match:
                return candidate, match
        return None

    def _dispatch(self, exchange: Exchange) -> None:
        found = self._match(exchange.method, exchange.path)
        if found is None:
            exchange.read_body()
            exchange.send(json_response(404, {"detail": f"No route for {exchange.method} {exchange.path}"}))
            return
        chosen, match = found
        head = exchange.request()
        host = chosen.host or match.groupdict().get("host")
        op = chosen.operation(head, match)
        rule = None
        if host and op:
            with self._lock:
                self._stats.requests[f"{host}.{op}"] += 1
            rule = self.faults_book.take(host, op)
            if rule is not None:
                with self._lock:
                    self._stats.faults_fired.append({"id": rule.id, "kind": rule.kind, "host": host, "op": op})
        if rule is not None and rule.kind not in PROCESSED_FIRST:
            self._answer_fault_before(exchange, rule, host or "", op or "")
            return
        exchange.read_body()
        request = exchange.request()
        try:
            response = chosen.handler(request, match)
        except Exception:  # noqa: BLE001 - an emulator bug must show up in stats, not kill the connection
            with self._lock:
                self._stats.server_errors.append(traceback.format_exc())
            response = json_response(500, {"detail": "emulator error (see Emulator.stats()['server_errors'])"})
        if op == "create" and response.status >= 400 and host:
            with self._lock:
                self._stats.refused_creates[host] += 1
        if rule is None:
            exchange.send(response)
        elif rule.kind == "reset_after":
            exchange.reset()
        elif rule.kind == "timeout_after":
            exchange.hang(rule.hang_seconds or self.knobs.hang_seconds, self._stop)
        elif rule.kind == "malformed_json":
            response.body = response.body[: max(1, len(response.body) // 2)]
            response.content_type = "application/json"
            exchange.send(response)
        elif rule.kind == "truncated":
            exchange.send_truncated(response)

    def _answer_fault_before(self, exchange: Exchange, rule: FaultRule, host: str, op: str) -> None:
        if rule.kind == "reset_before":
            exchange.reset()
            return
        if rule.kind == "timeout":
            exchange.hang(rule.hang_seconds or self.knobs.hang_seconds, self._stop)
            return
        exchange.read_body()
        if rule.kind == "http":
            emulated = self.hosts.get(host)
            if emulated is None:
                exchange.send(text_response(int(rule.status or 500), rule.message or "error"))
            else:
                exchange.send(emulated.fault_response(rule, op))
        elif rule.kind == "html":
            exchange.send(text_response(200, HTML_PAGE, "text/html; charset=utf-8"))
        elif rule.kind == "wrong_content_type":
            if op == "download":
                exchange.send(json_response(200, {"error": "AccessDenied", "message": "Request has expired"}))
            else:
                exchange.send(text_response(200, "upstream connect error or disconnect/reset before headers"))

    def _download(self, request: EmuRequest, match: Any) -> EmuResponse:
        host, token = match.group("host"), match.group("token")
        task = self.tasks_table.by_token(token)
        if task is None or task.host != host or self.phase_of(task) != "succeeded":
            return text_response(404, "NoSuchKey: The specified key does not exist.")
        data = self.clip_for(task)
        span = media.parse_range(request.header("range"), len(data))
        with self._lock:
            self._stats.downloads[task.task_id] += 1
        if span == "unsatisfiable":
            return EmuResponse(416, b"", "video/mp4", {"Content-Range": f"bytes */{len(data)}",
                                                      "Accept-Ranges": "bytes"})
        headers = {"Accept-Ranges": "bytes", "ETag": f'"{token}"'}
        if span is None:
            body, status = data, 200
        else:
            first, last = span  # type: ignore[misc]
            body, status = data[first : last + 1], 206
            headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
        if request.method != "HEAD":
            with self._lock:
                self._stats.download_bytes += len(body)
        return EmuResponse(status, body, "video/mp4", headers)

    # ------------------------------------------------------------------------------------------
    # Callbacks

    def record_sink(self, name: str, request: EmuRequest) -> None:
        """Store one POST to a sink (see `sink_url`)."""
        with self._lock:
            self._sinks.setdefault(name, []).append({"headers": dict(request.headers), "body": request.body})

    def _callback_loop(self) -> None:
        while not self._stop.wait(0.05):
            for task in self.tasks_table.all():
                if task.callback_state != "pending" or self.phase_of(task) not in FINAL_PHASES:
                    continue
                body = self.hosts[task.host].callback_body(task)
                if body is None:
                    task.callback_state = "none"
                    continue
                task.callback_state = "sending"
                threading.Thread(target=self._deliver, args=(task, body), daemon=True).start()

    def _deliver(self, task: EmuTask, body: dict[str, Any]) -> None:
        record: dict[str, Any] = {"host": task.host, "task_id": task.task_id, "url": task.callback_url}
        content = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", **self.hosts[task.host].callback_headers(task, content)}
        record["signed"] = self.knobs.callback_signature
        try:
            with httpx.Client(timeout=5.0) as client:
                answer = client.post(str(task.callback_url), content=content, headers=headers)
            record["status_code"] = answer.status_code
            task.callback_state = "sent"
        except httpx.HTTPError as exc:
            record["error"] = type(exc).__name__
            task.callback_state = "failed"
        with self._lock:
            self._stats.callbacks.append(record)
