"""Runs a plan: every action the moment the actions it comes after have succeeded, in parallel.

A failed action fails the actions that depend on it (they are skipped, named in the outcome);
independent branches go on. Ctrl-C stops starting new actions, cancels what can be cancelled (a
build's docker CLI is killed, waits for health end), gives the calls in flight CANCEL_GRACE seconds
to end (no action leaves a half-made object: there are no temporary names), and re-raises
KeyboardInterrupt; a call still running then (a container's long stop) goes on on the engine's
side while devenv leaves. A second Ctrl-C exits at once.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import sys
import threading
import time
from collections.abc import Callable

from devenv.engine.api import explanation
from devenv.engine.background import Background, spawn
from devenv.engine.events import WaitFailed
from devenv.engine.operations import OPERATIONS, Context, handle
from devenv.errors import EXIT_INTERRUPTED, DevenvError
from devenv.plan.actions import Action, Op, Plan
from devenv.plan.payloads import Gate, StopContainer

MAX_WORKERS = 32
CANCEL_GRACE = 1.5  # seconds the calls in flight get to end after Ctrl-C


@dataclasses.dataclass(frozen=True)
class Outcome:
    action: Action
    status: str  # done | failed | skipped
    detail: str  # what happened ("created"), why it failed, or which dependency failed
    seconds: float
    ended: float = 0.0  # time.monotonic() when it ended

    @property
    def ok(self) -> bool:
        return self.status == "done"


Listener = Callable[[str, Action, "Outcome | None"], None]  # ("start" | "end", action, outcome)


def _notice(message: str) -> None:
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _describe_error(exc: BaseException) -> str:
    message = explanation(exc)
    if message is not None:
        return message.strip()
    if isinstance(exc, (WaitFailed, DevenvError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class Executor:
    def __init__(self, context: Context, plan: Plan, listener: Listener | None = None) -> None:
        self.ctx = context
        self.plan = plan
        self.listener = listener or (lambda *_: None)
        self._cancel = threading.Event()
        context.cancelled = self._cancel.is_set
        self._in_flight: dict[str, Action] = {}
        self._in_flight_lock = threading.Lock()
        self._handed_over = False

    def run(self) -> list[Outcome]:
        """Run the plan; on Ctrl-C, start nothing more, let the calls in flight end, and re-raise.

        The scheduling happens in a thread of its own: Python delivers KeyboardInterrupt to the main
        thread only, which then never lands in the middle of the bookkeeping."""
        from devenv.interrupts import on_forced_exit

        scheduler = Background(self._schedule)
        forget = on_forced_exit(self._forced)
        try:
            return scheduler.result()
        except KeyboardInterrupt:
            self._interrupted(scheduler)
            raise
        finally:
            forget()

    def _forced(self) -> None:
        """devenv leaves at once (a second Ctrl-C, or the first one's deadline): hand over what is in flight."""
        self._cancel.set()
        self.ctx.cancel(force=True)
        self._hand_over()

    def _interrupted(self, scheduler: Background[list[Outcome]]) -> None:
        self._cancel.set()
        try:
            _notice("devenv: interrupted; stopping what is in flight (press Ctrl-C again to force)")
            self.ctx.cancel()
            if not scheduler.wait(CANCEL_GRACE):  # a call that does not end in time is left to the engine
                self.ctx.cancel(force=True)
                self._hand_over()
        except KeyboardInterrupt:  # the second Ctrl-C: leave now
            self.ctx.cancel(force=True)
            self._hand_over()
            _notice("devenv: forced to exit")
            os._exit(EXIT_INTERRUPTED)

    def _hand_over(self) -> None:
        """Stops and removals still in flight go on on the engine's side: a detached process holds the
        project's lock until they are done, so that the next command does not race them."""
        from devenv.engine.client import engine_address
        from devenv.engine.finisher import hand_over
        from devenv.engine.lock import lock_path

        with self._in_flight_lock:
            if self._handed_over:
                return
            self._handed_over = True
            actions = list(self._in_flight.values())
        # stops whose container's process has exited while the engine's call goes on (its clean-up):
        # until that call ends the container can still look running to the next command
        actions += [action for action, _call in list(self.ctx.stopping.values())]
        pending = []
        for action in actions:
            if action.op is Op.STOP_CONTAINER:
                timeout = action.payload.timeout if isinstance(action.payload, StopContainer) else None
                pending.append(f"stop:{handle(action)}:{10 if timeout is None else int(timeout)}")
            elif action.op is Op.REMOVE_CONTAINER:
                pending.append(f"remove:{handle(action)}")
        if pending:
            hand_over(lock_path(engine_address(), self.plan.project), pending)

    def _schedule(self) -> list[Outcome]:
        actions = {a.id: a for a in self.plan.actions}
        pending = {a.id: set(a.after) & set(actions) for a in self.plan.actions}
        dependents: dict[str, list[str]] = {a: [] for a in actions}
        for id, after in pending.items():
            for other in after:
                dependents[other].append(id)
        outcomes: dict[str, Outcome] = {}
        running: set[str] = set()
        finished: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._launch(actions, pending, outcomes, running, finished)
        while running:
            outcome = finished.get()
            id = outcome.action.id
            running.discard(id)
            with self._in_flight_lock:
                self._in_flight.pop(id, None)
            outcomes[id] = outcome
            self.listener("end", outcome.action, outcome)
            if outcome.ok:
                for dependent in dependents[id]:
                    if dependent in pending:  # not already skipped by another failed dependency
                        pending[dependent].discard(id)
            else:
                self._skip_dependents(id, actions, dependents, pending, outcomes)
            self._launch(actions, pending, outcomes, running, finished)
        for target, (action, _call) in list(self.ctx.stopping.items()):  # stops still cleaning up
            try:
                self.ctx.settle(target)
            except Exception as exc:
                outcomes[action.id] = Outcome(action, "failed", _describe_error(exc), 0.0, time.monotonic())
                self.listener("end", action, outcomes[action.id])
        return [outcomes[a.id] for a in self.plan.actions if a.id in outcomes]

    def _launch(self, actions, pending, outcomes, running, finished) -> None:  # type: ignore[no-untyped-def]
        """Start every action whose dependencies are done, at most MAX_WORKERS at a time."""
        if self._cancel.is_set():
            return
        for id in [i for i, after in pending.items() if not after and i not in outcomes and i not in running]:
            if len(running) >= MAX_WORKERS:
                return
            del pending[id]
            action = actions[id]
            self.listener("start", action, None)
            running.add(id)
            with self._in_flight_lock:
                self._in_flight[id] = action
            spawn(self._perform_into, action, finished)

    def _perform_into(self, action: Action, finished: queue.SimpleQueue[Outcome]) -> None:
        try:
            outcome = self._perform(action)
        except BaseException as exc:  # never leave the run waiting for an outcome that will not come
            outcome = Outcome(action, "failed", _describe_error(exc), 0.0, time.monotonic())
        finished.put(outcome)

    def _perform(self, action: Action) -> Outcome:
        started = time.monotonic()
        try:
            if action.op is not Op.STOP_CONTAINER:
                self.ctx.settle(handle(action))  # a stop of this container still cleaning up
            detail = OPERATIONS[action.op](self.ctx, action)
            return Outcome(action, "done", detail, time.monotonic() - started, time.monotonic())
        except KeyboardInterrupt:
            return Outcome(action, "failed", "interrupted", time.monotonic() - started, time.monotonic())
        except Exception as exc:  # reported per action; the run goes on for independent branches
            if isinstance(action.payload, Gate) and not action.payload.required:
                detail = f"not ready ({_describe_error(exc)}); not required, going on"
                return Outcome(action, "done", detail, time.monotonic() - started, time.monotonic())
            return Outcome(action, "failed", _describe_error(exc), time.monotonic() - started, time.monotonic())

    def _skip_dependents(self, failed: str, actions, dependents, pending, outcomes) -> None:  # type: ignore[no-untyped-def]
        todo = list(dependents[failed])
        while todo:
            id = todo.pop()
            if id in outcomes or id not in pending:
                continue
            del pending[id]
            outcome = Outcome(actions[id], "skipped", f"{actions[failed].describe()} failed", 0.0, time.monotonic())
            outcomes[id] = outcome
            self.listener("end", actions[id], outcome)
            todo.extend(dependents[id])
