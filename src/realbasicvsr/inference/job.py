"""One upscaling job: input file/folder -> output video, frame folder or image, streamed and resumable.

Work happens in a hidden work folder beside the output: every finished temporal chunk becomes a
segment (a video-only encode, or its PNG frames) recorded in ``manifest.json``. ``resume`` skips the
finished chunks; the final step joins the segments (plus the input's audio and subtitles) into a
temporary file that is renamed to the output only when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import RealBasicVSRError
from ..io.frames import IMAGE_EXTENSIONS, read_image, write_image
from ..io.mux import mux_video
from ..io.source import FrameSource, check_output_path, container_format, open_source, publish, remove_path
from ..io.video import TruncatedInputError, VideoEncoder, is_video_path
from .chunks import iter_windows

MANIFEST_VERSION = 1


@dataclass
class OutputOptions:
    """How outputs are written and how the job treats existing files."""

    codec: str = "libx264"
    crf: int | None = 18
    preset: str | None = "medium"
    pix_fmt: str | None = None
    fps: float | None = None  # rate for frame-folder/image inputs (videos keep theirs)
    chunk_frames: int = 24
    overlap: int = 4
    overwrite: bool = False
    resume: bool = False
    progress: bool = True


@dataclass
class JobResult:
    input: Path
    output: Path
    frames: int = 0
    seconds: float = 0.0
    resumed_frames: int = 0
    warnings: list[str] = field(default_factory=list)


def output_kind(source: FrameSource, output: Path) -> str:
    """'video' for a video extension, 'image' for an image path when the input is one image, else 'frames'."""
    if is_video_path(output):
        return "video"
    if source.kind == "image" and output.suffix.lower() in IMAGE_EXTENSIONS:
        return "image"
    return "frames"


def work_dir_for(output: Path) -> Path:
    return output.parent / f".{output.name}.realbasicvsr-work"


def input_fingerprint(path: Path) -> dict:
    """Identifies the input well enough to refuse resuming onto a different or modified file."""
    st = path.stat()
    if path.is_dir():
        names = sorted(p.name for p in path.iterdir())
        digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
        return {"path": str(path.resolve()), "files": len(names), "names": digest}
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


class _Manifest:
    """The work folder's record of settings and finished segments, rewritten atomically after each one."""

    def __init__(self, work: Path, identity: dict) -> None:
        self.path = work / "manifest.json"
        self.identity = identity
        self.segments: list[dict] = []

    @classmethod
    def load(cls, work: Path, identity: dict) -> "_Manifest":
        m = cls(work, identity)
        try:
            data = json.loads(m.path.read_text())
        except (OSError, ValueError) as e:
            raise RealBasicVSRError(f"cannot resume: {m.path} is missing or damaged ({e}); use --overwrite to start over") from e
        if data.get("version") != MANIFEST_VERSION or data.get("identity") != identity:
            raise RealBasicVSRError(
                "cannot resume: the input, model or settings differ from the interrupted run; "
                "use the same options, or --overwrite to start over"
            )
        m.segments = data["segments"]
        return m

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": MANIFEST_VERSION, "identity": self.identity, "segments": self.segments}))
        os.replace(tmp, self.path)

    @property
    def frames_done(self) -> int:
        return sum(s["frames"] for s in self.segments)


def _prefetch(it: Iterator, size: int) -> Iterator:
    """Run ``it`` in a background thread (decoding overlaps compute); exceptions are re-raised here."""
    q: queue.Queue = queue.Queue(maxsize=size)
    done = object()
    stop = threading.Event()

    def worker() -> None:
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", done))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer thread
            q.put(("error", e))

    t = threading.Thread(target=worker, daemon=True, name="realbasicvsr-decode")
    t.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()


class _SegmentWriter:
    """Writes finished windows in a background thread (encoding overlaps compute), one segment each."""

    def __init__(self, write: Callable[[int, list, list], None]) -> None:
        self._write = write
        self._q: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="realbasicvsr-encode")
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._q.get()
            if job is None:
                return
            if self._error is None:
                try:
                    self._write(*job)
                except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
                    self._error = e

    def submit(self, index: int, frames: list, pts: list) -> None:
        self._check()
        self._q.put((index, frames, pts))

    def finish(self) -> None:
        self._q.put(None)
        self._thread.join()
        self._check()

    def abort(self) -> None:
        """Stop after writing the windows already computed, so their work survives for --resume."""
        self._q.put(None)
        self._thread.join()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error


def upscale_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    upscaler: Callable[[list[np.ndarray]], list[np.ndarray]],
    options: OutputOptions,
    identity: dict | None = None,
) -> JobResult:
    """Upscale one input into ``output_path``; ``identity`` (model + engine settings) guards resume."""
    t0 = time.perf_counter()
    inp, out = Path(input_path), Path(output_path)
    source = open_source(inp, fps=options.fps)
    with source:
        check_output_path(out, [inp], options.overwrite)
        kind = output_kind(source, out)
        result = JobResult(inp, out)
        ident = {
            "input": input_fingerprint(inp),
            "output_kind": kind,
            "chunk_frames": options.chunk_frames,
            "overlap": options.overlap,
            "encoder": [options.codec, options.crf, options.preset, options.pix_fmt, options.fps],
            **(identity or {}),
        }
        work = work_dir_for(out)
        manifest = _open_work(work, ident, options)
        fresh = not manifest.segments
        try:
            _run_windows(source, upscaler, options, kind, work, manifest, result)
            if not manifest.segments:
                raise RealBasicVSRError(f"{inp} has zero decodable frames")
            result.warnings += _finalize(kind, work, out, source, manifest, options)
        except RealBasicVSRError as e:
            # I/O failures (disk full...) keep the finished chunks for --resume; bad input can't be
            # resumed, so a work folder this run started is dropped (one from an earlier run is kept).
            if isinstance(e.__cause__, OSError):
                raise RealBasicVSRError(f"{e}; finished chunks are kept: rerun with --resume") from e.__cause__
            if fresh:
                shutil.rmtree(work, ignore_errors=True)
            raise
        result.frames = manifest.frames_done
    shutil.rmtree(work, ignore_errors=True)
    result.seconds = time.perf_counter() - t0
    return result


def _run_windows(source: FrameSource, upscaler, options: OutputOptions, kind: str, work: Path,
                 manifest: _Manifest, result: JobResult) -> None:
    """Decode -> windows -> model -> segment writer, with decoding and encoding in background threads."""
    result.resumed_frames = manifest.frames_done
    writer = _SegmentWriter(_make_segment_writer(kind, work, source, options, manifest))
    bar = _progress(source, manifest.frames_done, options.progress, source.path.name)
    try:
        frames = _prefetch(_guard_truncation(source, result), size=4)
        for window in iter_windows(frames, options.chunk_frames, options.overlap, first_window=len(manifest.segments)):
            outs = upscaler([f for f, _ in window.items])[window.keep]
            pts = [p for _, p in window.items][window.keep]
            writer.submit(window.index, outs, pts)
            bar.update(len(outs))
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        bar.close()


def _open_work(work: Path, ident: dict, options: OutputOptions) -> _Manifest:
    if work.exists():
        if options.resume:
            manifest = _Manifest.load(work, ident)
            for stale in work.glob("*.part"):
                remove_path(stale)
            done = manifest.frames_done
            for png in (work / "frames").glob("*.png") if (work / "frames").is_dir() else ():
                if int(png.stem) >= done:  # from a chunk that was interrupted half-way
                    png.unlink()
            return manifest
        if not options.overwrite:
            raise RealBasicVSRError(
                f"an interrupted run of this job exists ({work}); pass --resume to continue it "
                "or --overwrite to start over"
            )
        shutil.rmtree(work)
    try:
        work.mkdir(parents=True)
    except OSError as e:
        raise RealBasicVSRError(f"cannot create {work}: {e.strerror or e}") from e
    manifest = _Manifest(work, ident)
    manifest.save()
    return manifest


def _guard_truncation(source: FrameSource, result: JobResult) -> Iterator[tuple[np.ndarray, int]]:
    """Frames of ``source``; a damaged or truncated tail ends the stream with a warning (policy: keep the
    decodable part), while a video whose start cannot be decoded stays an error."""
    n = 0
    try:
        for item in source.timed_frames():
            n += 1
            yield item
    except TruncatedInputError as e:
        result.warnings.append(f"{e}; kept the {n} decodable frames")
        return
    expected = source.num_frames if source.kind == "video" else None
    if expected and n < expected * 0.99 - 1:
        result.warnings.append(f"{source.path}: only {n} of {expected} frames could be read (truncated file?)")


def _make_segment_writer(kind: str, work: Path, source: FrameSource, options: OutputOptions, manifest: _Manifest):
    def write(index: int, frames: list, pts: list) -> None:
        if kind == "video":
            name = f"seg_{index:06d}.mp4"
            part = work / f"{name}.part"
            enc = VideoEncoder(part, codec=options.codec, rate=source.rate, time_base=source.time_base,
                               crf=options.crf, preset=options.preset, pix_fmt=options.pix_fmt, fmt="mp4",
                               colour=source.colour)
            try:
                for f, p in zip(frames, pts):
                    enc.write(f, p)
            finally:
                enc.close()
            os.replace(part, work / name)
        else:  # PNGs go straight into one folder; the manifest says which of them are complete
            name = f"frames[{manifest.frames_done}:{manifest.frames_done + len(frames)}]"
            folder = work / "frames"
            folder.mkdir(exist_ok=True)
            for i, f in enumerate(frames):
                write_image(folder / f"{manifest.frames_done + i:08d}.png", f)
        manifest.segments.append(
            {"name": name, "frames": len(frames), "first_time": str(Fraction(pts[0]) * source.time_base)}
        )
        manifest.save()

    return write


def _finalize(kind: str, work: Path, out: Path, source: FrameSource, manifest: _Manifest, options: OutputOptions) -> list[str]:
    """Assemble the output from the finished segments and rename it into place in one step."""
    if out.exists() and not options.overwrite:
        raise RealBasicVSRError(f"{out} appeared while upscaling; not overwriting it")
    try:
        if kind == "frames":
            publish(work / "frames", out)  # already complete: a single rename
            return []
        tmp = out.parent / f".{out.name}.partial{out.suffix}"
        remove_path(tmp)
        try:
            warnings: list[str] = []
            if kind == "video":
                segs = [(work / s["name"], Fraction(s["first_time"])) for s in manifest.segments]
                warnings = mux_video(
                    segs, tmp, source=source.path if source.kind == "video" else None,
                    display_matrix=source.display_matrix, fmt=container_format(out),
                )
            else:
                write_image(tmp, read_image(work / "frames" / "00000000.png"))
            publish(tmp, out)
        finally:
            remove_path(tmp)
        return warnings
    except OSError as e:
        raise RealBasicVSRError(f"writing {out} failed: {e.strerror or e}") from e


def _progress(source: FrameSource, initial: int, enabled: bool, name: str):
    from tqdm.auto import tqdm

    return tqdm(total=source.num_frames, initial=initial, unit="frame", desc=name, disable=not enabled,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def settings_identity(model_source: str, engine_options) -> dict:
    """What about the model and engine must match for a resume to be consistent."""
    src = Path(model_source)
    model_id = {"source": str(src.resolve()) if src.exists() else model_source}
    if src.is_file():
        st = src.stat()
        model_id.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    return {"model": model_id, "engine": {k: v for k, v in asdict(engine_options).items() if k != "device"}}
