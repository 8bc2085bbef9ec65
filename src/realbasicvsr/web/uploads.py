"""Uploads: streamed to disk in chunks under a size limit, named by the server, and checked by decoding.

The client's file name is used for display and to pick a whitelisted extension only (the stored file is
always ``<job folder>/input<ext>``); whether the file is a video or an image is decided by opening it with
``realbasicvsr.io.open_source`` and decoding its first frame, never by its name.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path
from typing import AsyncIterator

from ..errors import RealBasicVSRError
from ..io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, open_source

ACCEPTED_EXTENSIONS = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS
DISK_MARGIN = 64 * 2**20  # keep this much free beyond an upload: the job's output needs room too


class UploadError(Exception):
    """An upload refused with an HTTP status and a one-line message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def display_name(client_name: str) -> str:
    """The client's file name reduced to its last component without control characters (shown, never used
    as a path)."""
    name = re.split(r"[\\/]", client_name)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:200] or "upload"


def stored_extension(client_name: str) -> str:
    """The extension the upload is stored with: the client's, when it is a known video or image one."""
    ext = Path(display_name(client_name)).suffix.lower()
    if ext not in ACCEPTED_EXTENSIONS:
        shown = ext or "no extension"
        raise UploadError(415, f"{display_name(client_name)}: {shown} is not a video or image file type "
                               f"(accepted: {', '.join(sorted(e[1:] for e in ACCEPTED_EXTENSIONS))})")
    return ext


def check_space(folder: Path, length: int | None, limit: int) -> None:
    """Refuse an upload up front when its declared length is over the limit (413) or the disk (507)."""
    if length is None:
        return
    if length > limit:
        raise UploadError(413, f"the file is {length / 2**20:.0f} MB; this server takes at most {limit / 2**20:.0f} MB "
                               "(realbasicvsr serve --max-upload-mb)")
    free = shutil.disk_usage(folder).free
    if length + DISK_MARGIN > free:
        raise UploadError(507, f"not enough disk space for this upload ({length / 2**20:.0f} MB, "
                               f"{free / 2**20:.0f} MB free)")


async def receive_file(chunks: AsyncIterator[bytes], dest: Path, limit: int) -> int:
    """Write the request body to ``dest`` chunk by chunk, at most ``limit`` bytes; on any failure the
    partial file is deleted and UploadError says why (413 too large, 507 disk full)."""
    size = 0
    try:
        with open(dest, "xb") as f:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadError(413, f"the file is larger than this server takes ({limit / 2**20:.0f} MB; "
                                           "realbasicvsr serve --max-upload-mb)")
                f.write(chunk)
    except OSError as e:
        dest.unlink(missing_ok=True)
        if e.errno == errno.ENOSPC:
            raise UploadError(507, "the disk is full: the upload could not be stored") from e
        raise UploadError(500, f"the upload could not be stored: {e.strerror or e}") from e
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    if size == 0:
        dest.unlink()
        raise UploadError(400, "the file is empty")
    return size


def probe(path: Path, name: str) -> dict:
    """Decode the first frame of ``path``; its kind, frame count, size and rate, or UploadError(415)."""
    try:
        with open_source(path) as src:
            next(iter(src))
            return {"kind": src.kind, "frames": src.num_frames, "width": src.size[0], "height": src.size[1],
                    "fps": float(src.rate) if src.kind == "video" else None, "bytes": os.path.getsize(path)}
    except RealBasicVSRError as e:  # its message names the problem (not a video, no frames, ...)
        raise UploadError(415, str(e).replace(str(path), name)) from e
    except Exception as e:  # noqa: BLE001 - any decoder failure means the file is not usable
        raise UploadError(415, f"{name} can't be read as a video or an image ({type(e).__name__}: {e})") from e
