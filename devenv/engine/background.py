"""Calls running in their own threads, whose results (or exceptions) are collected later.

The engine's calls wait on I/O, so a thread per call is the parallelism we need. Threads are
started with `_thread.start_new_thread`: `threading.Thread.start` waits until the new thread runs,
a GIL hand-over that costs milliseconds while other threads are busy, so launching thirty calls
that way delays the last one by tens of milliseconds. (`concurrent.futures` has the same wait and
brings `logging` in as well.)
"""

from __future__ import annotations

import _thread
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def spawn(fn: Callable[..., Any], *args: Any) -> None:
    """Run `fn(*args)` in a new thread, without waiting for the thread to start. `fn` must not raise."""
    _thread.start_new_thread(fn, args)


class Background(Generic[T]):
    """`fn(*args, **kwargs)` started now in its own thread; `result()` waits and returns or re-raises."""

    def __init__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._done = _thread.allocate_lock()
        self._done.acquire()
        spawn(self._run, fn, args, kwargs)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            self._value = fn(*args, **kwargs)
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc
        finally:
            self._done.release()

    def done(self) -> bool:
        return not self._done.locked()

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the call to end; whether it has."""
        if self._done.acquire(timeout=timeout):
            self._done.release()
            return True
        return False

    def result(self) -> T:
        with self._done:
            pass
        if self._error is not None:
            raise self._error
        return self._value
