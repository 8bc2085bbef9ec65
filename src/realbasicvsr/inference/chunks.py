"""Temporal chunking: windows of ``chunk`` written frames plus ``after`` context frames that follow them.

The forward branch's state is carried from one window to the next, so only the backward branch needs
context, and only after the chunk. Where no state can be carried (the first window of a resumed run that
lost it) that window also gets ``before`` context frames. Memory depends on the window length, never on the
video length; windows are defined in absolute frame indices, so a resumed run processes exactly the windows
an uninterrupted run would.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Window(Generic[T]):
    """Frames ``start .. start+len(items)-1``; only ``[write_start, write_stop)`` (absolute) are written."""

    index: int
    start: int
    items: list
    write_start: int
    write_stop: int

    @property
    def keep(self) -> slice:
        """Positions in ``items`` of the frames to write."""
        return slice(self.write_start - self.start, self.write_stop - self.start)


def iter_windows(items: Iterable[T], chunk: int, after: int, first_window: int = 0, before: int = 0) -> Iterator[Window[T]]:
    """Stream ``items`` as windows, holding at most ``before + chunk + after`` of them at once.

    ``first_window`` skips the windows before it (for resume): their frames are read and dropped; the
    first window yielded starts ``before`` frames early.
    """
    if chunk < 1 or after < 0 or before < 0:
        raise ValueError("chunk must be >= 1 and the context lengths >= 0")
    buf: deque = deque()
    buf_start = 0  # absolute index of buf[0]
    k = first_window
    it = iter(items)
    exhausted = False
    n = 0  # items read so far
    while True:
        ws, we = k * chunk, (k + 1) * chunk
        need = we + after
        while not exhausted and n < need:
            try:
                buf.append(next(it))
                n += 1
            except StopIteration:
                exhausted = True
        lo = max(0, ws - before) if k == first_window else ws
        while buf_start < lo and buf:
            buf.popleft()
            buf_start += 1
        if ws >= n:
            return
        hi = min(n, need)
        yield Window(k, lo, list(buf)[: hi - lo], ws, min(we, n))
        k += 1
