"""Command line: ``realbasicvsr <command> ...``. Parsing only; every command calls one library function.

Each command lives in its own module of this package with a ``register(subparsers)`` function.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import RealBasicVSRError
from ..report import as_flag, error_message

# Modules of this package that define a command, in the order `--help` lists them.
COMMANDS = ["upscale", "compare", "models", "serve", "train", "convert", "export", "evaluate", "test", "degrade", "prepare_reds"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realbasicvsr",
        description="Real-world video super-resolution (RealBasicVSR) in pure PyTorch.",
    )
    parser.add_argument("--version", action="version", version=f"realbasicvsr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors (and I/O or memory failures) print one line on stderr and return 2, Ctrl-C
    returns 130."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except RealBasicVSRError as e:
        print(f"realbasicvsr {args.command}: error: {error_message(e, as_flag)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"realbasicvsr {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"realbasicvsr {args.command}: error: out of memory (try smaller --chunk-frames or --tile)", file=sys.stderr)
        return 2
    except OSError as e:  # a file-system failure no library layer turned into a message of its own
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"realbasicvsr {args.command}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    return int(rc or 0)
