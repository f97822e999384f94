"""`RemoteEmulator`: the control API of an emulator running in another process, with the Emulator's method names."""

from __future__ import annotations

from typing import Any

import httpx


class RemoteEmulator:
    """Steer an emulator started elsewhere (e.g. `python -m tests.emulator`) through `/_emulator/...`."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=f"{self.url}/_emulator", timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RemoteEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._client.request(method, path, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"emulator control {method} {path} failed: {response.status_code} {response.text}")
        return response.json()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def env(self) -> dict[str, str]:
        return self._call("GET", "/env")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def reset(self) -> None:
        self._call("POST", "/reset")

    def configure(self, **knobs: Any) -> dict[str, Any]:
        return self._call("POST", "/config", knobs)

    def add_fault(self, kind: str, host: str = "*", op: str = "*", **options: Any) -> dict[str, Any]:
        return self._call("POST", "/faults", {"kind": kind, "host": host, "op": op, **options})

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def add_outcome(self, outcome: str, reason: str | None = None, match: str | None = None,
                    count: int | None = 1) -> dict[str, Any]:
        return self._call("POST", "/outcomes", {"outcome": outcome, "reason": reason, "match": match, "count": count})

    def clear_outcomes(self) -> None:
        self._call("DELETE", "/outcomes")

    def tasks(self, host: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "/tasks" + (f"?host={host}" if host else ""))

    def force_phase(self, task_id: str, phase: str | None, host: str | None = None) -> None:
        self._call("POST", "/tasks/phase", {"task_id": task_id, "phase": phase, "host": host})
