"""Strict state-dict loading with one-line messages: the one check every loader here shares."""

from __future__ import annotations

from typing import Mapping

from torch import Tensor, nn

from ..errors import RealBasicVSRError


def state_dict_mismatch(expected: Mapping[str, Tensor], got: Mapping[str, object],
                        optional: tuple[str, ...] = ()) -> str:
    """'' when ``got`` fills ``expected`` exactly (names and shapes; ``optional`` names may be absent), else a
    one-line account: ``missing keys: a, b, c and 2 more; unexpected keys: ...; wrong shapes: ...``."""
    missing = [k for k in expected if k not in got and k not in optional]
    unexpected = [k for k in got if k not in expected]
    wrong = []
    for k, v in expected.items():
        if k not in got:
            continue
        g = got[k]
        if not isinstance(g, Tensor):
            wrong.append(f"{k} is a {type(g).__name__}, not a tensor")
        elif g.shape != v.shape:
            wrong.append(f"{k} {tuple(g.shape)} (expected {tuple(v.shape)})")
    problems = []
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", wrong)):
        if items:
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            problems.append(f"{label}: {', '.join(items[:3])}{more}")
    return "; ".join(problems)


def load_strict(module: nn.Module, state_dict: Mapping[str, object], *, what: str, source: str, hint: str = "") -> None:
    """``module.load_state_dict(state_dict)`` with exact names and shapes (tensors take the module's dtypes),
    else one RealBasicVSRError naming ``source`` (a file, or "state dict"), ``what`` it should have held and
    ``hint`` (what to do instead). Nothing is loaded then."""
    problems = state_dict_mismatch(module.state_dict(), state_dict)
    if problems:
        raise RealBasicVSRError(f"{source} does not hold {what}: {problems}{hint}")
    module.load_state_dict(dict(state_dict), strict=True)  # type: ignore[arg-type]
