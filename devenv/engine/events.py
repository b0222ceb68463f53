"""Waiting on containers the way the engine reports them: one event stream per project wakes every
waiter as soon as something happens (start, health status, death), instead of polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devenv.plan.naming import PROJECT_LABEL

if TYPE_CHECKING:
    from devenv.engine.client import Engine

FALLBACK_RECHECK = 1.0  # seconds between re-reads if the event stream said nothing (or is down)
STABLE_FOR = 0.5  # seconds a just-started container without a healthcheck must stay up to count as ready
CRASH_LOOP_RESTARTS = 5  # deaths of a container under a restart policy, never ready, that make a crash loop
RECONNECT_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0)  # seconds before each new subscription after the stream ended
# The events a verdict can change on; exec and attach events (a health probe every interval) are not.
WAKING_EVENTS = ("start", "restart", "die", "kill", "oom", "stop", "destroy", "pause", "unpause", "health_status")


class EventWatch:
    """A daemon thread reading the project's container events. Each event wakes only the waiters
    on the container it names; `wait_after` blocks until one arrives.

    Events are counted by container name and by container ID. When the stream ends while the watch
    is open (the engine restarted, a proxy cut the connection), it subscribes again with `since` the
    last event it saw, skipping the ones it has already counted; meanwhile waiters re-read at
    their own bounded interval."""

    def __init__(self, client: Engine, project: str) -> None:
        self._api = client.api
        self._filters = {"type": "container", "label": f"{PROJECT_LABEL}={project}", "event": list(WAKING_EVENTS)}
        self._cond = threading.Condition()
        self._seqs: dict[str, int] = {}
        self._counts: dict[tuple[str, str], int] = {}  # (container name or ID, action) -> events seen
        self._exit_codes: dict[str, str] = {}  # container name or ID -> exit code of its last `die` event
        self._stopping = threading.Event()  # close() was called
        self._closed = False  # the pump has ended (after close())
        self._connected = True
        self._subscriptions = 1
        self._subscribed_at = time.time_ns()  # resubscribe from here while no event has come
        self._last_nano = 0  # the time of the last event seen (the engine's clock)
        self._at_last_nano: set[tuple[str, str]] = set()  # the events seen at _last_nano (replayed by `since`)
        self._stream = self._subscribe(None)
        self._thread = threading.Thread(target=self._pump, name="devenv-events", daemon=True)
        self._thread.start()

    def _subscribe(self, since: str | None) -> Any:
        if since is None:
            return self._api.events(filters=self._filters)
        return self._api.events(filters=self._filters, since=since)

    def _pump(self) -> None:
        stream, failures = self._stream, 0
        try:
            while not self._stopping.is_set():
                try:
                    for event in stream:
                        failures = 0
                        self._record(event)
                except Exception:  # the stream broke rather than ended: the same as ending
                    pass
                if self._stopping.is_set():
                    break
                with self._cond:
                    self._connected = False
                    self._cond.notify_all()
                stream = self._resubscribe(failures)
                failures += 1
        finally:
            with self._cond:
                self._closed, self._connected = True, False
                self._cond.notify_all()

    def _resubscribe(self, failures: int) -> Any:
        """Wait out the backoff, then subscribe again from the last event seen (None: closed meanwhile)."""
        delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
        if self._stopping.wait(delay):
            return ()
        with self._cond:
            nano = self._last_nano or self._subscribed_at
        since = f"{nano // 1_000_000_000}.{nano % 1_000_000_000:09d}"
        try:
            stream = self._subscribe(since)
        except Exception:
            return ()  # the engine is away: the next round waits longer
        with self._cond:
            self._stream, self._connected = stream, True
            self._subscriptions += 1
        if self._stopping.is_set():  # close() ran while we subscribed: it closed the old stream
            _close(stream)
            return ()
        return stream

    def _record(self, event: dict[str, Any]) -> None:
        actor = event.get("Actor") or {}
        attributes = actor.get("Attributes") or {}
        name = str(attributes.get("name") or "")
        cid = str(event.get("id") or actor.get("ID") or "")
        action = str(event.get("Action") or event.get("status") or "").split(":", 1)[0]
        nano = int(event.get("timeNano") or 0) or int(event.get("time") or 0) * 1_000_000_000
        with self._cond:
            if nano:
                key = (cid or name, action)
                if nano < self._last_nano or nano == self._last_nano and key in self._at_last_nano:
                    return  # seen before a resubscription replayed it (or older than the watch)
                if nano > self._last_nano:
                    self._last_nano, self._at_last_nano = nano, set()
                self._at_last_nano.add(key)
            for who in {name, cid} - {""}:
                if action == "die" and "exitCode" in attributes:
                    self._exit_codes[who] = str(attributes["exitCode"])
                self._counts[(who, action)] = self._counts.get((who, action), 0) + 1
            self._seqs[name] = self._seqs.get(name, 0) + 1
            self._cond.notify_all()

    def seq(self, container: str) -> int:
        """How many events have named `container` so far."""
        with self._cond:
            return self._seqs.get(container, 0)

    def count(self, container: str, action: str) -> int:
        """How many `action` events ("die", "start"...) have named `container` (a name or an ID) so far."""
        with self._cond:
            return self._counts.get((container, action), 0)

    def last_exit_code(self, container: str) -> str | None:
        """The exit code of the last `die` event of `container` (a name or an ID) seen, if any."""
        with self._cond:
            return self._exit_codes.get(container)

    @property
    def closed(self) -> bool:
        """The watch has been closed: no event will come any more."""
        with self._cond:
            return self._closed

    @property
    def connected(self) -> bool:
        with self._cond:
            return self._connected

    @property
    def subscriptions(self) -> int:
        """How many times the watch has subscribed (1 + reconnections)."""
        with self._cond:
            return self._subscriptions

    def poke(self, container: str) -> None:
        """Wake the waiters on `container` as an event would (something else they wait for happened)."""
        with self._cond:
            self._seqs[container] = self._seqs.get(container, 0) + 1
            self._cond.notify_all()

    def wait_after(self, container: str, seq: int, timeout: float) -> None:
        """Block until an event on `container` newer than `seq` arrives, or `timeout` passes. While
        the stream is down (or closed) only the timeout ends the wait: callers re-read at their own
        pace, never in a tight loop."""
        with self._cond:
            self._cond.wait_for(lambda: self._seqs.get(container, 0) != seq, timeout=timeout)

    def close(self) -> None:
        self._stopping.set()
        with self._cond:
            stream = self._stream
        _close(stream)


def _close(stream: Any) -> None:
    try:
        stream.close()
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
    without restarting, so that a process that crashes on start-up fails the wait. A container that
    dies CRASH_LOOP_RESTARTS times during the wait (its restart policy bringing it back each time)
    without being done fails at once, not when the deadline passes."""
    seen: tuple[Any, float] | None = None  # (the run we saw up, when we first saw it)
    last_exit: Any = None  # the exit code seen between two runs (a running container reports 0)
    deaths = _Deaths(watch)
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
        looping = deaths.crash_loop(state, container)
        if looping:
            raise WaitFailed(looping)
        if cancelled():
            raise KeyboardInterrupt
        if deadline - time.monotonic() <= 0:
            raise WaitFailed(_timed_out(state, watch.last_exit_code(container) if last_exit is None else last_exit))
        watch.wait_after(container, seq, max(wait, 0.0))


class _Deaths:
    """How often a container has died since a wait began: its `die` events (by container ID, so a
    replaced container of the same name does not count), or the engine's RestartCount if more."""

    def __init__(self, watch: EventWatch) -> None:
        self.watch = watch
        self.id: str | None = None
        self.base_events = 0
        self.base_restarts = 0

    def crash_loop(self, state: dict[str, Any], name: str) -> str | None:
        """The failure message once the container has died CRASH_LOOP_RESTARTS times, else None."""
        cid = str(state.get("Id") or name)
        restarts = int(state.get("RestartCount") or 0)
        if cid != self.id:  # the first read (or the container was replaced): count from here
            self.id, self.base_events, self.base_restarts = cid, self.watch.count(cid, "die"), restarts
            return None
        died = max(self.watch.count(cid, "die") - self.base_events, restarts - self.base_restarts)
        if died < CRASH_LOOP_RESTARTS:
            return None
        inner = state.get("State") or {}
        code = self.watch.last_exit_code(cid)
        if code is None and inner.get("Restarting"):
            code = inner.get("ExitCode")
        said = "" if code is None else f", last exit code {code}"
        return f"it keeps restarting (died {died} times while devenv waited for it{said})"


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
    if state.get("Restarting") or state.get("Status") == "restarting":
        return False  # unhealthy because it died; its restart policy brings it back (a crash loop fails the wait)
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
