"""``realbasicvsr models``: the model zoo, what each model costs and whether it needs a download."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the model zoo (scale, size, FLOPs, offline or download, licence)",
                       description="List the models known by name: usable as --model NAME in every command.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..hub import DEFAULT_MODEL, cache_dir, zoo_status

    rows = [("name", "scale", "GFLOP/frame*", "size", "where", "licence")]
    for r in zoo_status():
        size = f"{r.size_bytes / 2**20:.1f} MB" if r.size_bytes is not None else "-"
        name = r.entry.name + (" (default)" if r.entry.name == DEFAULT_MODEL else "")
        rows.append((name, f"x{r.scale}", f"{r.gflops:.1f}", size, r.where, r.entry.licence))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print(f"\n* per output frame at 180x320 input. Downloads are cached in {cache_dir() / 'checkpoints'}; "
          "offline, pass a downloaded file with --model PATH or set $REALBASICVSR_MIRROR.")
    for r in zoo_status():
        print(f"{r.entry.name}: {r.entry.description}")
    return 0
