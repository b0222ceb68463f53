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
STABLE_FOR = 0.5  # seconds a just-started container without a healthcheck must stay up to count as ready
# The events a verdict can change on; exec and attach events (a health probe every interval) are not.
WAKING_EVENTS = ("start", "restart", "die", "kill", "oom", "stop", "destroy", "pause", "unpause", "health_status")


class EventWatch:
    """A daemon thread reading the project's container events. Each event wakes only the waiters
    on the container it names; `wait_after` blocks until one arrives."""

    def __init__(self, client: "docker.DockerClient", project: str) -> None:
        self._cond = threading.Condition()
        self._seqs: dict[str, int] = {}
        self._counts: dict[tuple[str, str], int] = {}  # (container, action) -> events seen
        self._exit_codes: dict[str, str] = {}  # container -> exit code of its last `die` event
        self._closed = False
        self._stream = client.api.events(
            filters={"type": "container", "label": f"{PROJECT_LABEL}={project}", "event": list(WAKING_EVENTS)},
            decode=True,
        )
        self._thread = threading.Thread(target=self._pump, name="devenv-events", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            for event in self._stream:
                attributes = (event.get("Actor") or {}).get("Attributes") or {}
                name = str(attributes.get("name") or "")
                action = str(event.get("Action") or event.get("status") or "").split(":", 1)[0]
                with self._cond:
                    if action == "die" and "exitCode" in attributes:
                        self._exit_codes[name] = str(attributes["exitCode"])
                    self._seqs[name] = self._seqs.get(name, 0) + 1
                    self._counts[(name, action)] = self._counts.get((name, action), 0) + 1
                    self._cond.notify_all()
        except Exception:  # the stream ends when closed or when the engine goes away
            pass
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def seq(self, container: str) -> int:
        """How many events have named `container` so far."""
        with self._cond:
            return self._seqs.get(container, 0)

    def count(self, container: str, action: str) -> int:
        """How many `action` events ("die", "start"...) have named `container` so far."""
        with self._cond:
            return self._counts.get((container, action), 0)

    def last_exit_code(self, container: str) -> str | None:
        """The exit code of the last `die` event of `container` seen, if any."""
        with self._cond:
            return self._exit_codes.get(container)

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def poke(self, container: str) -> None:
        """Wake the waiters on `container` as an event would (something else they wait for happened)."""
        with self._cond:
            self._seqs[container] = self._seqs.get(container, 0) + 1
            self._cond.notify_all()

    def wait_after(self, container: str, seq: int, timeout: float) -> None:
        """Block until an event on `container` newer than `seq` arrives (or `timeout`, or the stream closes)."""
        with self._cond:
            self._cond.wait_for(lambda: self._seqs.get(container, 0) != seq or self._closed, timeout=timeout)

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception:
            pass


class WaitFailed(Exception):
    """A gate that can never open: the container died, became unhealthy, or time ran out."""


def wait_for(
    watch: EventWatch,
    container: str,
    read: Callable[[], dict[str, Any]],
    verdict: Callable[[dict[str, Any]], bool | str],
    deadline: float,
    cancelled: Callable[[], bool],
    stable_for: float = 0.0,
) -> dict[str, Any]:
    """Re-read the container whenever an event names it until `verdict` says True (done) or a string
    (why it will never be done). With `stable_for`, a running container must also stay up that long,
    without restarting, so that a process that crashes on start-up fails the wait."""
    seen: tuple[Any, float] | None = None  # (the run we saw up, when we first saw it)
    last_exit: Any = None  # the exit code seen between two runs (a running container reports 0)
    while True:
        seq = watch.seq(container)
        state = read()
        result = verdict(state)
        if isinstance(result, str):
            raise WaitFailed(result)
        wait = min(FALLBACK_RECHECK, deadline - time.monotonic())
        if result is True:
            run = _current_run(state)
            if stable_for <= 0 or run is None or (state.get("State") or {}).get("Health"):
                return state  # (a healthy verdict has already seen the container settle)
            if run == "restarting":
                seen, last_exit = None, (state.get("State") or {}).get("ExitCode")
            else:
                if seen is None or seen[0] != run:
                    seen = (run, time.monotonic())
                settled = time.monotonic() - seen[1]
                if settled >= stable_for:
                    return state
                wait = min(wait, stable_for - settled)
        else:
            seen = None
        if cancelled():
            raise KeyboardInterrupt
        if deadline - time.monotonic() <= 0:
            raise WaitFailed(_timed_out(state, watch.last_exit_code(container) if last_exit is None else last_exit))
        watch.wait_after(container, seq, max(wait, 0.0))


def _current_run(info: dict[str, Any]) -> tuple[Any, Any] | str | None:
    """Which run of a running container this is (a restart makes a new one): "restarting" between
    runs, None if it is not running at all (a job that is done)."""
    state = info.get("State") or {}
    if state.get("Restarting") or state.get("Status") == "restarting":
        return "restarting"
    if not (state.get("Running") or state.get("Status") == "running"):
        return None
    return state.get("StartedAt"), info.get("RestartCount")


def _timed_out(info: dict[str, Any], last_exit: Any) -> str:
    state = info.get("State") or {}
    if state.get("Restarting") or info.get("RestartCount"):
        code = state.get("ExitCode") if state.get("Restarting") else last_exit
        said = "" if code is None else f", last exit code {code}"
        return f"timed out: it keeps restarting (restarted {info.get('RestartCount', 0)} times{said})"
    return "timed out"


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
