"""The one channel for what a run has to say (progress, warnings, log lines) and for errors about settings.

The library emits :class:`Event` objects through a :class:`Reporter`; each front end renders them its own
way: the CLI prints warnings and log lines on stderr, the web worker sends progress to the server and
writes the rest to the job's log, and a job collects its warnings into ``JobResult.warnings``. Errors
about settings name them by their API names (``chunk_frames``); each front end shows its own spelling
(``--chunk-frames`` in the CLI).
"""

from __future__ import annotations

import math
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Literal, TextIO

from .errors import RealBasicVSRError

_SETTING = re.compile(r"`([a-z][a-z0-9_]*)`")


@dataclass(frozen=True)
class Event:
    """One thing a run says: progress (``done`` of ``total`` frames), a warning or a log line (``text``)."""

    kind: Literal["progress", "warning", "log"]
    text: str = ""
    done: int = 0
    total: int | None = None


Listener = Callable[[Event], None]


class Reporter:
    """Hands every event to its listeners (the renderings); with none, events are dropped."""

    def __init__(self, *listeners: Listener) -> None:
        self.listeners: list[Listener] = list(listeners)

    def emit(self, event: Event) -> None:
        """Give ``event`` to every listener."""
        for listen in list(self.listeners):
            listen(event)

    def progress(self, done: int, total: int | None) -> None:
        """``done`` frames of ``total`` (None: unknown) are finished."""
        self.emit(Event("progress", done=done, total=total))

    def warning(self, text: str) -> None:
        """Something the user should know about a result that is still written."""
        self.emit(Event("warning", text))

    def log(self, text: str) -> None:
        """A line of the run's story (a failed input of a batch, a finished excerpt)."""
        self.emit(Event("log", text))

    @contextmanager
    def listening(self, listener: Listener | None) -> Iterator[None]:
        """``listener`` (None: nothing) hears the events emitted inside the ``with`` block."""
        if listener is None:
            yield
            return
        self.listeners.append(listener)
        try:
            yield
        finally:
            self.listeners.remove(listener)

    @contextmanager
    def collecting_warnings(self) -> Iterator[list[str]]:
        """A list that receives the text of every warning emitted inside the ``with`` block."""
        warnings: list[str] = []
        with self.listening(lambda e: warnings.append(e.text) if e.kind == "warning" else None):
            yield warnings


def on_progress(callback: Callable[[int, int | None], None] | None) -> Listener | None:
    """A listener handing progress events to ``callback(done, total)`` (None for no callback)."""
    if callback is None:
        return None
    return lambda e: callback(e.done, e.total) if e.kind == "progress" else None


def render_settings(text: str, spell: Callable[[str], str] = str) -> str:
    """``text`` with each setting marked between backquotes spelt by ``spell`` (as is by default)."""
    return _SETTING.sub(lambda m: spell(m.group(1)), text)


def print_to(stream: TextIO | None = None, spell: Callable[[str], str] = str) -> Listener:
    """The terminal's rendering: warnings as ``warning: ...`` and log lines on ``stream`` (stderr by
    default, looked up at each event), settings spelt by ``spell``; progress is left to the progress bar."""

    def render(event: Event) -> None:
        if event.kind != "progress":
            prefix = "warning: " if event.kind == "warning" else ""
            print(prefix + render_settings(event.text, spell), file=stream or sys.stderr)

    return render


def terminal_reporter(stream: TextIO | None = None, spell: Callable[[str], str] = str) -> Reporter:
    """A Reporter that prints warnings and log lines on ``stream`` (stderr by default)."""
    return Reporter(print_to(stream, spell))


class SettingError(RealBasicVSRError):
    """A user error that names settings by their API names, written between backquotes in ``template``
    (``"`chunk_frames` must be >= 1"``); ``str()`` shows the API names, ``render`` another spelling."""

    def __init__(self, template: str) -> None:
        self.template = template
        super().__init__(self.render())

    def render(self, spell: Callable[[str], str] = str) -> str:
        """The message with each setting spelt by ``spell`` (e.g. as a command-line flag)."""
        return render_settings(self.template, spell)


def error_text(error: BaseException) -> str:
    """The message of ``error`` with its settings still marked (for a message that embeds it)."""
    return error.template if isinstance(error, SettingError) else str(error)


def error_message(error: BaseException, spell: Callable[[str], str] = str) -> str:
    """The one-line message of ``error``, settings spelt by ``spell`` when it names any."""
    return error.render(spell) if isinstance(error, SettingError) else str(error)


def as_flag(setting: str) -> str:
    """The command line's spelling of a setting: ``chunk_frames`` -> ``--chunk-frames``."""
    return "--" + setting.replace("_", "-")


def format_duration(seconds: float) -> str:
    """A rough human duration (``4.2 s``, ``35 s``, ``12 min``, ``1.5 h``; ``?`` when unknown) for estimates,
    projections and training's ETA."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
