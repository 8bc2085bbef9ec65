"""One upscaling job: input file/folder -> output video, frame folder or image, streamed and resumable.

Work happens in a hidden work folder beside the output: every finished temporal chunk becomes a
segment (a video-only encode, or its PNG frames) recorded in ``manifest.json``. ``resume`` skips the
finished chunks; the final step joins the segments (plus the input's audio and subtitles) into a
temporary file that is renamed to the output only when complete.
"""

from __future__ import annotations

import errno
import os
import queue
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import av
from tqdm.auto import tqdm

from ..atomic import publish, remove_path
from ..errors import RealBasicVSRError
from ..io.frames import IMAGE_EXTENSIONS, read_image, write_image
from ..io.mux import mux_video
from ..io.sink import check_output_path
from ..io.source import FrameSource, open_source
from ..io.video import VideoEncoder, container_format, is_video_path
from ..report import SettingError, error_text, on_progress
from ..timing import clock
from .engine import FrameUpscaler
from .scenes import Shots, find_cuts, shots_for, split_windows
from .resume import Manifest, drop_states_before, job_identity, load_state, manifest_name, save_state, work_dir_for


@dataclass
class OutputOptions:
    """How outputs are written and how the job treats existing files."""

    codec: str = "libx264"
    crf: int | None = 18
    preset: str | None = "medium"
    pix_fmt: str | None = None
    fps: float | None = None  # rate for frame-folder/image inputs (videos keep theirs)
    overwrite: bool = False
    resume: bool = False
    progress: bool = True  # the terminal's progress bar
    # a listener of the job's progress events: (frames done, total frames or None) after every chunk
    on_progress: Callable[[int, int | None], None] | None = None


@dataclass
class JobResult:
    """What one job did; ``warnings`` are the warning events emitted while it ran."""

    input: Path
    output: Path
    frames: int = 0
    seconds: float = 0.0
    resumed_frames: int = 0
    warnings: list[str] = field(default_factory=list)
    part: tuple[int, int] | None = None  # (rank, world) when this process did one share of a split video
    cuts: list[int] = field(default_factory=list)  # first frames of the shots after the first (scene cuts)


def output_kind(source: FrameSource, output: Path) -> str:
    """'video' for a video extension, 'image' for an image path when the input is one image, else 'frames'
    (a folder of PNGs); an image path for a video or a frame folder is an error, not a surprise folder."""
    if is_video_path(output):
        return "video"
    if output.suffix.lower() in IMAGE_EXTENSIONS:
        if source.kind == "image":
            return "image"
        raise RealBasicVSRError(
            f"{output} is an image path, but {source.path} is a {source.kind} of "
            f"{source.num_frames if source.num_frames is not None else 'several'} frames: give a video path "
            f"(e.g. {output.with_suffix('.mp4').name}) or a folder name for its frames"
        )
    return "frames"


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

    def __init__(self, write: Callable[[int, list, list, dict | None], None]) -> None:
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

    def submit(self, index: int, frames: list, pts: list, state: dict | None) -> None:
        self._check()
        self._q.put((index, frames, pts, state))

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
    source: FrameSource | str | os.PathLike,
    output_path: str | os.PathLike,
    upscaler: FrameUpscaler,
    options: OutputOptions | None = None,
    identity: dict | None = None,
    part: tuple[int, int] | None = None,
    scene_cuts: str = "auto",
) -> JobResult:
    """Upscale one input (a path, or a source the caller opened and closes) into ``output_path`` with an
    upscaler (its ``stream`` does the chunking); ``identity`` (the model, say) is added to what a resume
    must match. Progress and warnings go to the upscaler's reporter; the job's warnings also end up in
    ``JobResult.warnings``.

    ``part`` = (rank, world) splits one video across ranks (torchrun): each rank upscales its share of the
    chunks into the shared work folder, with its own manifest; rank 0 waits for the others and joins all
    segments. A rank's first chunk has no forward state to carry, so it reads ``overlap`` frames before it.
    ``scene_cuts`` (auto, off or a cut list file, see ``scenes``) makes every shot its own sequence.
    """
    options = options or OutputOptions()
    if not isinstance(source, FrameSource):
        with open_source(source, fps=options.fps) as opened:
            return upscale_file(opened, output_path, upscaler, options, identity, part, scene_cuts)
    out = Path(output_path)
    reporter = upscaler.reporter
    with reporter.listening(on_progress(options.on_progress)), reporter.collecting_warnings() as warnings:
        result = JobResult(source.path, out, warnings=warnings, part=part)
        _upscale_source(source, upscaler, options, identity, result, scene_cuts)
    return result


def _upscale_source(source: FrameSource, upscaler: FrameUpscaler, options: OutputOptions, identity: dict | None,
                    result: JobResult, scene_cuts: str = "auto") -> None:
    """``upscale_file`` on an open source, filling ``result``."""
    t0, started = clock(), time.time()
    inp, out, part = source.path, result.output, result.part
    check_output_path(out, [inp], options.overwrite)
    kind = output_kind(source, out)
    shots = shots_for(scene_cuts, source.rate)
    if part is not None and shots is not None and shots.detector is not None:
        with open_source(inp, fps=options.fps) as whole:  # every rank needs every cut before it starts
            shots = Shots(cuts=find_cuts(whole, shots.detector))
    ident = job_identity(inp, kind, upscaler.options, options, dict(identity or {}, scene_cuts=(
        scene_cuts if scene_cuts in ("auto", "off") else shots.cuts)))
    work = work_dir_for(out)
    windows = _share(source, upscaler.options.chunk_frames, part, kind, shots.cuts if shots is not None else None)
    manifest = _open_work(work, ident, options, part)
    manifest.cuts = result.cuts = shots.cuts if shots is not None else []
    fresh = not manifest.segments
    try:
        _run_stream(source, upscaler, options, kind, work, manifest, result, windows, shots)
        if part is not None:
            manifest.status = "done"
            manifest.save()
            if part[0] != 0:  # rank 0 joins the parts
                result.frames = manifest.frames_done
                result.seconds = clock() - t0
                return
            manifest.segments = _wait_for_parts(work, part[1], manifest, started)
        if not manifest.segments:
            raise RealBasicVSRError(f"{inp} has zero decodable frames")
        for warning in _finalize(kind, work, out, source, manifest, options):
            upscaler.reporter.warning(warning)
    except BaseException as e:
        if part is not None and manifest.path.exists():  # so that rank 0 stops waiting for this part
            manifest.status = f"failed: {e}" if str(e) else f"failed: {type(e).__name__}"
            manifest.save()
        if not isinstance(e, RealBasicVSRError) or part is not None:
            raise
        # I/O failures (disk full...) keep the finished chunks for --resume; bad input can't be
        # resumed, so a work folder this run started is dropped (one from an earlier run is kept).
        if isinstance(e.__cause__, OSError) and manifest.segments:
            raise SettingError(f"{error_text(e)}; finished chunks are kept: rerun with `resume`") from e.__cause__
        if fresh:
            shutil.rmtree(work, ignore_errors=True)
        raise
    result.frames = manifest.frames_done
    shutil.rmtree(work, ignore_errors=True)
    result.seconds = clock() - t0


def _share(source: FrameSource, chunk: int, part: tuple[int, int] | None, kind: str,
           cuts: list[int] | None = None) -> tuple[int, int | None]:
    """The [first, stop) window indices this process computes (stop None: to the end of the stream); with
    scene ``cuts`` the boundaries between ranks move onto cuts near them (``scenes.split_windows``)."""
    if part is None:
        return 0, None
    rank, world = part
    if kind != "video" or not source.num_frames:
        raise RealBasicVSRError(f"{source.path}: only a video of known length with a video output can be split "
                                "across ranks; run it in one process")
    if cuts is not None:
        return split_windows(cuts, source.num_frames, chunk, rank, world)
    total = -(-source.num_frames // chunk)
    return rank * total // world, None if rank == world - 1 else (rank + 1) * total // world


def _wait_for_parts(work: Path, world: int, own: Manifest, since: float) -> list[dict]:
    """Rank 0: wait until every rank's manifest says done, then all segments in window order. A failure
    recorded before ``since`` (this run's start) is an earlier run's: that rank is resuming it."""
    segments = {s["name"]: s for s in own.segments}
    for r in range(1, world):
        path = work / manifest_name((r, world))
        while True:
            status, segs = Manifest.read_status(path)
            if status == "done":
                segments.update({s["name"]: s for s in segs})
                break
            if status.startswith("failed") and path.stat().st_mtime >= since:
                raise SettingError(f"rank {r} {status}; rerun with `resume` once that is fixed")
            time.sleep(0.2)
    return [segments[k] for k in sorted(segments)]


def _run_stream(source: FrameSource, upscaler: FrameUpscaler, options: OutputOptions, kind: str, work: Path,
                manifest: Manifest, result: JobResult, windows: tuple[int, int | None] = (0, None),
                shots: Shots | None = None) -> None:
    """Decode -> ``upscaler.stream`` -> segment writer, with decoding and encoding in background threads."""
    result.resumed_frames = manifest.frames_done
    first, stop = windows
    done = first + len(manifest.segments)
    state = load_state(work, done - 1) if manifest.segments else None
    writer = _SegmentWriter(_make_segment_writer(kind, work, source, options, manifest))
    bar = _progress(source, manifest.frames_done, options.progress, source.path.name)
    try:
        frames = _prefetch(source.timed_frames(), size=4)
        for chunk in upscaler.stream(frames, first_window=done, state=state, stop_window=stop, shots=shots):
            writer.submit(chunk.index, chunk.frames, [p for _, p in chunk.items], chunk.state)
            bar.update(len(chunk.frames))
            upscaler.reporter.progress(chunk.start + len(chunk.frames), source.num_frames)
        writer.finish()
        for warning in source.warnings:
            upscaler.reporter.warning(warning)
    except BaseException:
        writer.abort()
        raise
    finally:
        bar.close()


def _interrupted_run(work: Path) -> SettingError:
    return SettingError(f"an interrupted run of this job exists ({work}); pass `resume` to continue it "
                        "or `overwrite` to start over")


def _open_work(work: Path, ident: dict, options: OutputOptions, part: tuple[int, int] | None = None) -> Manifest:
    if part is not None:  # the folder is shared: each rank looks after its own manifest only
        name = manifest_name(part)
        try:
            work.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RealBasicVSRError(f"cannot prepare the work folder {work}: {e.strerror or e}") from e
        if (work / name).exists() and options.resume:
            return Manifest.load(work, ident, name)
        if (work / name).exists() and not options.overwrite:
            raise _interrupted_run(work)
        manifest = Manifest(work, ident, name)
        manifest.save()
        return manifest
    try:
        if work.exists():
            if options.resume:
                manifest = Manifest.load(work, ident)
                for stale in work.glob("*.part"):
                    remove_path(stale)
                done = manifest.frames_done
                for png in (work / "frames").glob("*.png") if (work / "frames").is_dir() else ():
                    if int(png.stem) >= done:  # from a chunk that was interrupted half-way
                        png.unlink()
                return manifest
            if not options.overwrite:
                raise _interrupted_run(work)
            shutil.rmtree(work)
        work.mkdir(parents=True)
    except OSError as e:
        raise RealBasicVSRError(f"cannot prepare the work folder {work}: {e.strerror or e}") from e
    manifest = Manifest(work, ident)
    manifest.save()
    return manifest


def _make_segment_writer(kind: str, work: Path, source: FrameSource, options: OutputOptions, manifest: Manifest):
    def write(index: int, frames: list, pts: list, state: dict | None) -> None:
        try:
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
        except OSError as e:
            reason = "disk full" if e.errno == errno.ENOSPC else (e.strerror or str(e))
            raise RealBasicVSRError(f"cannot write to the work folder {work}: {reason}") from e
        except av.error.FFmpegError as e:  # e.g. a codec that refuses the pixel format
            raise SettingError(f"encoding with {options.codec} failed ({e}); try another `codec` or "
                               "`pix_fmt`") from e
        save_state(work, index, state)
        manifest.segments.append(
            {"name": name, "frames": len(frames), "first_time": str(Fraction(pts[0]) * source.time_base)}
        )
        manifest.save()
        drop_states_before(work, index)

    return write


def _finalize(kind: str, work: Path, out: Path, source: FrameSource, manifest: Manifest, options: OutputOptions) -> list[str]:
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


def _progress(source: FrameSource, initial: int, enabled: bool, name: str) -> tqdm:
    """The terminal's progress bar for one job (disabled: shows nothing)."""
    return tqdm(total=source.num_frames, initial=initial, unit="frame", desc=name, disable=not enabled,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
