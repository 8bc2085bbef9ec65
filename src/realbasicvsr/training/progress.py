"""What a run reports and how it is stopped: progress lines for a person (a :data:`Say` callable), the
per-step records in ``log.jsonl`` and TensorBoard, the it/s and ETA meter, and the Ctrl-C / SIGTERM flag."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any, Callable

from ..errors import RealBasicVSRError
from ..report import format_duration, render_settings
from ..timing import clock

# A progress line for a person (the CLI prints it to stderr; tests collect it).
Say = Callable[[str], None]


def say_to_stderr(line: str) -> None:
    """The default :data:`Say`: one line on stderr, flushed, settings by their API names."""
    print(render_settings(line), file=sys.stderr, flush=True)


def quiet(line: str) -> None:
    """A :data:`Say` that drops every line (ranks other than 0)."""


class RunLog:
    """The records of a run in its work folder: one JSON line per step in ``log.jsonl`` and, when the
    optional ``tensorboard`` package is installed, scalars under ``tensorboard/``. Rank 0 writes; other
    ranks hold a RunLog that writes nothing."""

    def __init__(self, work: Path, *, enabled: bool) -> None:
        self.path = work / "log.jsonl"
        self.enabled = enabled
        self.board = _tensorboard(work) if enabled else None

    def step(self, record: dict[str, Any], losses: dict[str, float]) -> None:
        """Append one step's ``record`` to log.jsonl and its ``losses`` to TensorBoard."""
        if not self.enabled:
            return
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as e:
            raise RealBasicVSRError(f"cannot write {self.path}: {e.strerror or e}") from e
        self.scalars("loss", losses, record["iteration"])

    def scalars(self, group: str, values: dict[str, float], step: int) -> None:
        """TensorBoard scalars ``group/name`` at ``step`` (nothing without TensorBoard)."""
        if self.board is not None:
            for k, v in values.items():
                self.board.add_scalar(f"{group}/{k}", v, step)

    def close(self) -> None:
        """Flush and close TensorBoard's writer."""
        if self.board is not None:
            self.board.close()


def _tensorboard(work: Path):
    """A TensorBoard writer under ``work/tensorboard`` when the optional ``tensorboard`` package is installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(work / "tensorboard"))


class Meter:
    """Iterations per second (smoothed), ETA and the progress line."""

    def __init__(self, start: int, total: int) -> None:
        self.start, self.total = start, total
        self.t0 = self.t_last = clock()
        self.last_seconds = 0.0

    def tick(self) -> None:
        """One step finished: remember how long it took."""
        now = clock()
        self.last_seconds, self.t_last = now - self.t_last, now

    def line(self, step: int, logs: dict[str, float]) -> str:
        """``iter 10/100  2.5 it/s  pixel 0.1  ...  eta 0m 36s``."""
        done = step - self.start
        rate = done / max(1e-9, clock() - self.t0)
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        losses = "  ".join(f"{k} {v:.4g}" for k, v in logs.items())
        return f"iter {step}/{self.total}  {rate:.3g} it/s  {losses}  eta {format_duration(eta)}"


class StopFlag:
    """Ctrl-C / SIGTERM set a flag; the loop finishes its step, writes a checkpoint and stops.
    A second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.raised = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> "StopFlag":
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no signal handling
                pass
        return self

    def _handle(self, signum, frame) -> None:
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True
        print("\nstopping after this step (Ctrl-C again to abort without a checkpoint)", file=sys.stderr)

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
