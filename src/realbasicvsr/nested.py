"""Nested plain-dict helpers shared by every "does this still match what was saved?" check."""

from __future__ import annotations

from typing import Iterable

THEN_NOW = "{key}: {then!r} then, {now!r} now"


def differences(then: dict, now: dict, prefix: str = "", *, template: str = THEN_NOW,
                ignore: Iterable[str] = ()) -> list[str]:
    """One line per leaf that differs between two nested dicts, as ``template`` (fields ``key``, ``then``,
    ``now``) words it; keys in ``ignore`` (a dotted key, or a prefix ending in ``.``) are left out."""
    ignored = tuple(ignore)
    out = []
    for key in sorted(set(then) | set(now), key=str):
        a, b, name = then.get(key), now.get(key), f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{name}.", template=template, ignore=ignored)
        elif a != b and not any(name == r or (r.endswith(".") and name.startswith(r)) for r in ignored):
            out.append(template.format(key=name, then=a, now=b))
    return out
