"""The one way files are written so that a crash, Ctrl-C or a full disk never leaves a half-written file
under the final name: write a temporary file beside it, then rename it into place."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from .errors import RealBasicVSRError


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` for a temporary path beside ``path``, then rename it to ``path``.

    Any failure removes the temporary file and leaves an existing ``path`` untouched; OS errors (disk
    full, read-only folder, permissions) become one-line :class:`RealBasicVSRError` messages.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        os.close(fd)
    except OSError as e:
        raise RealBasicVSRError(f"cannot write {path}: {e.strerror or e}") from e
    tmp = Path(name)
    try:
        write(tmp)
        apply_umask(tmp)
        os.replace(tmp, path)
    except OSError as e:
        reason = "disk full" if e.errno == errno.ENOSPC else (e.strerror or str(e))
        raise RealBasicVSRError(f"cannot write {path}: {reason}") from e
    except RuntimeError as e:  # torch.save reports a failed write (e.g. disk full) as RuntimeError
        raise RealBasicVSRError(f"cannot write {path}: {' '.join(str(e).split())[:160]}") from e
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def publish(tmp: Path, final: Path) -> None:
    """Move a finished temporary output into place, replacing an older output only at the very end."""
    if final.is_dir() and not final.is_symlink():
        backup = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, backup)
        os.replace(tmp, final)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(tmp, final)


def remove_path(path: Path) -> None:
    """Remove a file, link or folder (tree) if it exists: the clean-up of a temporary output."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def apply_umask(path: Path) -> None:
    """Give a private temporary file (0600) or folder (0700) the permissions the umask gives new ones."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
