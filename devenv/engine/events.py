"""Waiting on containers the way the engine reports them: one event stream per project wakes every
waiter as soon as something happens (start, health status, death), instead of polling."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from devenv.plan.naming import PROJECT_LABEL

if TYPE_CHECKING:
    import docker

FALLBACK_RECHECK = 1.0  # seconds between re-reads if the event stream said nothing


class EventWatch:
    """A daemon thread reading the project's container events; `wait` blocks until one arrives."""

    def __init__(self, client: "docker.DockerClient", project: str) -> None:
        self._cond = threading.Condition()
        self._seq = 0
        self._closed = False
        self._stream = client.api.events(
            filters={"type": "container", "label": f"{PROJECT_LABEL}={project}"}, decode=True
        )
        self._thread = threading.Thread(target=self._pump, name="devenv-events", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            for _event in self._stream:
                with self._cond:
                    self._seq += 1
                    self._cond.notify_all()
        except Exception:  # the stream ends when closed or when the engine goes away
            pass
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    @property
    def seq(self) -> int:
        with self._cond:
            return self._seq

    def wait_after(self, seq: int, timeout: float) -> None:
        """Block until an event newer than `seq` arrives (or `timeout`, or the stream closes)."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq != seq or self._closed, timeout=timeout)

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception:
            pass


class WaitFailed(Exception):
    """A gate that can never open: the container died, became unhealthy, or time ran out."""


def wait_for(
    watch: EventWatch,
    read: Callable[[], dict[str, Any]],
    verdict: Callable[[dict[str, Any]], bool | str],
    deadline: float,
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    """Re-read the container whenever an event arrives until `verdict` says True (done) or a string
    (why it will never be done)."""
    while True:
        seq = watch.seq
        state = read()
        result = verdict(state)
        if result is True:
            return state
        if isinstance(result, str):
            raise WaitFailed(result)
        if cancelled():
            raise KeyboardInterrupt
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitFailed("timed out")
        watch.wait_after(seq, min(remaining, FALLBACK_RECHECK))


def running_verdict(info: dict[str, Any]) -> bool | str:
    state = info.get("State") or {}
    started = state.get("StartedAt", "").startswith(("1", "2"))
    if state.get("Running") or state.get("Status") == "running" and started:
        return True
    if state.get("Status") == "exited" and started:  # a one-shot job: done if it succeeded
        code = state.get("ExitCode")
        return True if code == 0 else f"it exited with code {code}"
    if state.get("Status") == "dead":
        return "the container is dead"
    return False


def healthy_verdict(info: dict[str, Any]) -> bool | str:
    state = info.get("State") or {}
    health = state.get("Health")
    if not health:
        return "it has no healthcheck (service_healthy needs one)"
    if state.get("Status") in ("exited", "dead"):  # the engine marks a stopped container unhealthy: say why
        return f"it exited with code {state.get('ExitCode')}"
    if health.get("Status") == "healthy":
        return True
    if health.get("Status") == "unhealthy":
        return "it is unhealthy"
    return False


def completed_verdict(info: dict[str, Any]) -> bool | str:
    state = info.get("State") or {}
    if state.get("Status") in ("exited", "dead"):
        code = state.get("ExitCode")
        return True if code == 0 else f"it exited with code {code}"
    return False


def health_output(info: dict[str, Any], lines: int = 5) -> str:
    """The last health-check results, as the engine recorded them."""
    log = ((info.get("State") or {}).get("Health") or {}).get("Log") or []
    out = []
    for entry in log[-lines:]:
        text = (entry.get("Output") or "").strip().replace("\n", " | ")
        out.append(f"exit {entry.get('ExitCode')}: {text[:300]}")
    return "\n".join(out)
