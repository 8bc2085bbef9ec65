"""Measuring how long work takes, in one place: the clock, a one-call measurement, and a warm-up-aware timer
used by ``--dry-run``'s calibration, ``--preview`` and the web page's projected time (tests replace
``time`` here with a fake clock to check the arithmetic exactly)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


def clock() -> float:
    """Seconds on a monotonic, high-resolution clock (differences only are meaningful)."""
    return time.perf_counter()


def measure(fn: Callable[[], T]) -> tuple[T, float]:
    """``fn()``'s result and the seconds it took."""
    t0 = clock()
    result = fn()
    return result, clock() - t0


@dataclass(frozen=True)
class Timing(Generic[T]):
    """What :func:`time_calls` measured: the first call's result and seconds, and the seconds per call."""

    result: T
    first: float
    per_call: float

    @property
    def setup(self) -> float:
        """How much longer the first call took than a warm one: kernel set-up that a real run pays once."""
        return max(0.0, self.first - self.per_call)


def time_calls(fn: Callable[[], T], min_seconds: float = 0.0, max_calls: int = 20,
               warm_enough: float = math.inf) -> Timing[T]:
    """Seconds per call of ``fn``: a first call (which includes the warm-up), then repeated calls until
    ``min_seconds`` have passed or ``max_calls`` were made; a first call of ``warm_enough`` seconds or more is
    taken as it is (the warm-up is small next to it, and a second call would cost as much again)."""
    result, first = measure(fn)
    if first >= warm_enough:
        return Timing(result, first, first)
    calls, t0 = 0, clock()
    while True:
        fn()
        calls += 1
        elapsed = clock() - t0
        if elapsed >= min_seconds or calls >= max_calls:
            return Timing(result, first, elapsed / calls)
