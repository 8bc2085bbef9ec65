"""A clock for timing code under test: it stands in for the ``time`` module of ``realbasicvsr.timing``, and
its time moves only when the test advances it, so a measurement's arithmetic can be checked exactly."""

from __future__ import annotations


class FakeClock:
    """``perf_counter`` reads ``now``; the test's stand-ins for the timed work add to it."""

    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now
