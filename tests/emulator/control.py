"""The control API under `/_emulator/`: steer a running emulator from another process.

| route | what |
|---|---|
| `GET /_emulator/health` | `{"ok": true, "hosts": [...]}` |
| `GET /_emulator/env` | the same mapping as `Emulator.env()` |
| `GET /_emulator/stats` | `Emulator.stats()` |
| `POST /_emulator/reset` | forget everything, restore initial knobs |
| `GET /_emulator/config`, `POST /_emulator/config` | read / change knobs (JSON object of knob values) |
| `GET /_emulator/faults` | rules with seen/fired/remaining |
| `POST /_emulator/faults` | add a rule (fields of `FaultRule`: kind, host, op, count, skip, status, code, message, |
| | retry_after, retry_after_ms, hang_seconds) → the rule with its id |
| `DELETE /_emulator/faults` | remove all rules; `DELETE /_emulator/faults/{id}` removes one |
| `POST /_emulator/outcomes` | `{"outcome", "reason", "match", "count"}` → the rule; `DELETE` clears them |
| `GET /_emulator/tasks` | task summaries (`?host=` to filter) |
| `POST /_emulator/tasks/phase` | `{"task_id", "phase", "host"?}` pins a task's phase (`phase: null` unpins) |
| `POST /_emulator/sink/{name}` | records the body (a webhook receiver); `GET` lists what arrived |
"""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from tests.emulator.wire import BadRequestBody, EmuRequest, EmuResponse, Route, json_response, route

if TYPE_CHECKING:
    from tests.emulator.core import Emulator

_FAULT_FIELDS = ("kind", "host", "op", "count", "skip", "status", "code", "message", "retry_after",
                 "retry_after_ms", "hang_seconds")


def _object_body(request: EmuRequest) -> dict[str, Any]:
    body = request.json()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequestBody("body must be a JSON object")
    return body


def control_routes(emu: Emulator) -> list[Route]:
    """The `/_emulator/...` routes bound to `emu`."""

    def guarded(handler: Any) -> Any:
        def run(request: EmuRequest, match: Any) -> EmuResponse:
            try:
                return handler(request, match)
            except (BadRequestBody, ValueError, TypeError) as exc:
                return json_response(400, {"error": str(exc)})
            except KeyError as exc:
                return json_response(404, {"error": f"not found: {exc}"})

        return run

    def health(request: EmuRequest, match: Any) -> EmuResponse:
        return json_response(200, {"ok": True, "hosts": sorted(emu.hosts), "url": emu.url})

    def env(request: EmuRequest, match: Any) -> EmuResponse:
        return json_response(200, emu.env())

    def stats(request: EmuRequest, match: Any) -> EmuResponse:
        return json_response(200, emu.stats())

    def reset(request: EmuRequest, match: Any) -> EmuResponse:
        emu.reset()
        return json_response(200, {"ok": True})

    def get_config(request: EmuRequest, match: Any) -> EmuResponse:
        return json_response(200, emu.knobs.to_dict())

    def set_config(request: EmuRequest, match: Any) -> EmuResponse:
        return json_response(200, emu.configure(**_object_body(request)))

    def list_faults(request: EmuRequest, match: Any) -> EmuResponse:
        return json_response(200, emu.faults())

    def add_fault(request: EmuRequest, match: Any) -> EmuResponse:
        body = _object_body(request)
        unknown = set(body) - set(_FAULT_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault field(s): {sorted(unknown)}")
        rule = emu.add_fault(**body)
        return json_response(201, rule.to_dict())

    def clear_faults(request: EmuRequest, match: Any) -> EmuResponse:
        emu.clear_faults()
        return json_response(200, {"ok": True})

    def remove_fault(request: EmuRequest, match: Any) -> EmuResponse:
        if not emu.remove_fault(int(match.group("id"))):
            raise KeyError(match.group("id"))
        return json_response(200, {"ok": True})

    def add_outcome(request: EmuRequest, match: Any) -> EmuResponse:
        body = _object_body(request)
        rule = emu.add_outcome(
            body["outcome"], body.get("reason"), body.get("match"), body.get("count", 1)
        )
        return json_response(201, asdict(rule))

    def clear_outcomes(request: EmuRequest, match: Any) -> EmuResponse:
        emu.clear_outcomes()
        return json_response(200, {"ok": True})

    def list_tasks(request: EmuRequest, match: Any) -> EmuResponse:
        return json_response(200, emu.tasks(request.query.get("host") or None))

    def force_phase(request: EmuRequest, match: Any) -> EmuResponse:
        body = _object_body(request)
        emu.force_phase(str(body["task_id"]), body.get("phase"), body.get("host"))
        return json_response(200, {"ok": True})

    def sink_post(request: EmuRequest, match: Any) -> EmuResponse:
        emu.record_sink(match.group("name"), request)
        return json_response(200, {"ok": True})

    def sink_get(request: EmuRequest, match: Any) -> EmuResponse:
        items = [
            {"headers": item["headers"], "body_base64": base64.b64encode(item["body"]).decode("ascii")}
            for item in emu.sink(match.group("name"))
        ]
        return json_response(200, items)

    prefix = "/_emulator"
    table = [
        ("GET", "/health", health),
        ("GET", "/env", env),
        ("GET", "/stats", stats),
        ("POST", "/reset", reset),
        ("GET", "/config", get_config),
        ("POST", "/config", set_config),
        ("GET", "/faults", list_faults),
        ("POST", "/faults", add_fault),
        ("DELETE", "/faults", clear_faults),
        ("DELETE", r"/faults/(?P<id>\d+)", remove_fault),
        ("POST", "/outcomes", add_outcome),
        ("DELETE", "/outcomes", clear_outcomes),
        ("GET", "/tasks", list_tasks),
        ("POST", "/tasks/phase", force_phase),
        ("POST", r"/sink/(?P<name>[\w./-]+)", sink_post),
        ("GET", r"/sink/(?P<name>[\w./-]+)", sink_get),
    ]
    return [route(method, prefix + path, guarded(handler)) for method, path, handler in table]
