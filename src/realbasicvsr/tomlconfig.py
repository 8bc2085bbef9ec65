"""Typed, frozen dataclass settings read from TOML: one merge/validate path for every config kind.

A config is a tree of frozen dataclasses whose defaults fix each value's type. TOML tables, nested
dicts and ``--set a.b=value`` overrides are merged onto it; an unknown key or a value of the wrong type
is a :class:`~realbasicvsr.errors.RealBasicVSRError` naming the key, so a typo never falls back to a default.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, TypeVar

from .errors import RealBasicVSRError
from .report import SettingError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

T = TypeVar("T")


def read_toml(path: str | Path, kind: str) -> dict[str, Any]:
    """The tables of a TOML file; missing, unreadable or invalid files are one-line errors."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RealBasicVSRError(f"{kind} config not found: {p}") from None
    except IsADirectoryError:
        raise RealBasicVSRError(f"{kind} config {p} is a folder, not a TOML file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RealBasicVSRError(f"cannot read {kind} config {p}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise RealBasicVSRError(f"{kind} config {p} is not valid TOML: {e}") from None


def parse_assignments(items: Iterable[str], kind: str) -> dict[str, Any]:
    """``["train.lr=1e-4", "data.root=clips"]`` -> a nested dict. Values are TOML literals; anything that
    is not one (``clips``, ``a/b``) is taken as a string."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise SettingError(f"`set` expects key=value (e.g. train.lr=1e-4), got {item!r}")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SettingError(f"`set` {key}: {part} is set both as a value and as a table")
        node[parts[-1]] = value
    return out


class Config:
    """Base of the top-level config dataclasses: validated when made, and plain-dict convertible."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise a one-line RealBasicVSRError for settings that can't work together."""

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples as lists), the shape the TOML files and overrides take."""
        return as_plain(self)


def requirement(kind: str):
    """A ``check(cond, msg)`` that raises ``invalid <kind> settings: msg`` when ``cond`` is false."""

    def check(cond: bool, msg: str) -> None:
        if not cond:
            raise RealBasicVSRError(f"invalid {kind} settings: {msg}")

    return check


def as_plain(value: Any) -> Any:
    """A dataclass tree as nested dicts and lists (the shape :func:`merge` and the TOML files take)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: as_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_plain(v) for v in value]
    return value


def to_toml(value: Any, _prefix: str = "") -> str:
    """A dataclass tree (or nested dict) as TOML text that :func:`read_toml` reads back to the same values
    (a :class:`Config` in its files' layout, :meth:`Config.to_dict`)."""
    plain = value.to_dict() if isinstance(value, Config) else as_plain(value)
    scalars = [f"{k} = {_literal(v)}" for k, v in plain.items() if not isinstance(v, dict)]
    lines = ([f"[{_prefix}]"] if _prefix and scalars else []) + scalars
    for k, v in plain.items():
        if isinstance(v, dict):
            sub = to_toml(v, f"{_prefix}.{k}" if _prefix else k)
            lines += ([""] if lines else []) + [sub]
    return "\n".join(lines)


def _literal(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_literal(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def coerce(value: Any, current: Any, where: str, kind: str) -> Any:
    """Convert a TOML/dict value to the type of the default it replaces (ints are accepted for floats)."""
    what = f"{kind} setting {where}"
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise RealBasicVSRError(f"{what} must be true or false, got {value!r}")
        return value
    if isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise RealBasicVSRError(f"{what} must be an integer, got {value!r}")
        return int(value)
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RealBasicVSRError(f"{what} must be a number, got {value!r}")
        return float(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            raise RealBasicVSRError(f"{what} must be a string, got {value!r}")
        return value
    if isinstance(current, tuple):
        if not isinstance(value, (list, tuple)):
            raise RealBasicVSRError(f"{what} must be a list, got {value!r}")
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise RealBasicVSRError(f"{what} has an invalid item {v!r}")
        return tuple(value)
    raise RealBasicVSRError(f"{what} cannot be set")


def merge(obj: T, overrides: Mapping[str, Any], kind: str, prefix: str = "") -> T:
    """A copy of the dataclass ``obj`` with ``overrides`` (a nested mapping) applied and validated."""
    if not isinstance(overrides, Mapping):
        raise RealBasicVSRError(f"{kind} setting {prefix or '(root)'} must be a table")
    names = {f.name for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        where = f"{prefix}.{key}" if prefix else key
        if key not in names:
            raise RealBasicVSRError(f"unknown {kind} setting {where!r}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            changes[key] = merge(current, value, kind, where)
        else:
            changes[key] = coerce(value, current, where, kind)
    try:
        return dataclasses.replace(obj, **changes)
    except (TypeError, ValueError) as e:
        raise RealBasicVSRError(f"invalid {kind} settings: {e}") from None
