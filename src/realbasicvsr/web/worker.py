"""The process that runs one job or preview for the web server (started by ``realbasicvsr.web.jobs``).

``python -m realbasicvsr.web.worker run --input IN --output OUT --settings JSON [--fresh]`` upscales a file;
``... preview --input IN --preview-dir DIR --settings JSON`` upscales the middle frame for the before/after
view and projects the time of the full run. It reports in JSON lines on stdout (``{"progress": [done,
total]}``, ``{"result": {...}}``, ``{"preview": {...}}``, ``{"error": "one line"}``); everything else it
prints goes to stderr, the job's log. When its stdin closes (the server cancels, stops or dies) or on SIGTERM
it stops as on Ctrl-C, exit code 130, and the engine keeps the finished chunks for a resume.
"""

from __future__ import annotations

import _thread
import argparse
import collections
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Callable

from ..checkpoint import load_model
from ..device import process_device
from ..errors import RealBasicVSRError
from ..inference import EngineOptions, OutputOptions, UpscaleSettings, build_upscaler, dry_run, upscale
from ..inference.engine import DEFAULT_CHUNK_FRAMES
from ..io import open_source, write_image
from ..report import Event, Reporter, error_message, print_to, terminal_reporter
from ..timing import time_calls
from .jobs import JobSettings

WARM_RETIME_S = 3.0  # a preview faster than this is timed a second time, without the warm-up
PREVIEW_LATEST_S = 10.0  # the preview frame: the middle one, or the one this far in (decoding is sequential)


def main(argv: list[str] | None = None) -> int:
    """Run the task; 0 done, 2 a user-facing error (reported), 130 stopped."""
    args = _parser().parse_args(argv)
    send = _protocol_channel()
    try:
        signal.signal(signal.SIGTERM, _raise_interrupt)
        threading.Thread(target=_interrupt_when_stdin_closes, daemon=True).start()
        settings = JobSettings.model_validate_json(args.settings)
        if args.mode == "run":
            send({"result": run(Path(args.input), Path(args.output), settings, args.fresh, send)})
        else:
            send({"preview": preview(Path(args.input), Path(args.preview_dir), settings)})
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    except RealBasicVSRError as e:
        send({"error": error_message(e)})  # settings by the page's names: JobSettings' fields
        return 2
    except MemoryError:
        send({"error": "out of memory: try fewer frames per chunk, a smaller scale or another device"})
        return 2
    except OSError as e:
        send({"error": f"{e.strerror or e}" + (f" ({e.filename})" if e.filename else "")})
        return 2
    return 0


def run(inp: Path, out: Path, settings: JobSettings, fresh: bool, send: Callable[[dict], None]) -> dict:
    """Upscale ``inp`` to ``out`` (resuming an interrupted run unless ``fresh``), reporting progress."""
    if out.exists() and not fresh:  # finished by an earlier run whose report the server never got
        with open_source(out) as src:
            return {"frames": src.num_frames, "seconds": 0.0, "resumed_frames": src.num_frames, "warnings": []}
    options = _upscale_settings(settings, OutputOptions(crf=settings.crf, overwrite=fresh, resume=not fresh,
                                                        progress=False))
    r = upscale([inp], out, options, reporter=Reporter(print_to(), _progress_to(send))).results[0]
    return {"frames": r.frames, "seconds": r.seconds, "resumed_frames": r.resumed_frames, "warnings": r.warnings,
            "cuts": r.cuts}


def preview(inp: Path, folder: Path, settings: JobSettings) -> dict:
    """Upscale the middle frame of ``inp`` (at most PREVIEW_LATEST_S in) with one neighbour on each side (the
    model is temporal), write ``before.png``/``after.png`` into ``folder``, and project the full run with
    ``--dry-run``'s estimate (the model and the encoder timed on this machine at the job's sizes)."""
    with open_source(inp) as src:
        total = src.num_frames or 1
        target = min(total // 2, round(float(src.rate) * PREVIEW_LATEST_S))
        window: collections.deque = collections.deque(maxlen=3)
        for last, frame in enumerate(src):
            window.append(frame)
            if last >= target + 1:
                break
        kind = src.kind
    model = load_model(settings.model, progress=False)
    frames = list(window)
    job = _upscale_settings(settings)
    upscaler = build_upscaler(model, job, (frames[0].shape[1], frames[0].shape[0]), process_device(),
                              even=kind == "video", reporter=terminal_reporter())
    # the first call includes one-off warm-up: a short one is timed a second time
    timing = time_calls(lambda: upscaler(frames), max_calls=1, warm_enough=WARM_RETIME_S)
    out, per_frame = timing.result, timing.per_call / len(frames)
    pick = len(frames) // 2
    folder.mkdir(exist_ok=True)
    write_image(folder / "before.png", frames[pick])
    write_image(folder / "after.png", out[pick])
    target = folder / ("projected" + {"video": ".mp4", "image": ".png"}.get(kind, ""))  # named only, never written
    estimate = dry_run([(inp, target)], job)
    return {"frame": last - (len(frames) - 1 - pick), "seconds_per_frame": per_frame,
            "projected_seconds": estimate.seconds[0],
            "width": int(out[pick].shape[1]), "height": int(out[pick].shape[0])}


def _upscale_settings(settings: JobSettings, output: OutputOptions | None = None) -> UpscaleSettings:
    """The engine's settings for a job of the page (the same for its run and its projected time)."""
    return UpscaleSettings(
        model=settings.model,
        engine=EngineOptions(precision=settings.precision, outscale=settings.outscale,
                             chunk_frames=settings.chunk_frames or DEFAULT_CHUNK_FRAMES, ensemble=settings.ensemble),
        output=output or OutputOptions(crf=settings.crf, progress=False),
        auto_chunk=settings.chunk_frames is None,
    )


def _progress_to(send: Callable[[dict], None]) -> Callable[[Event], None]:
    """The server's rendering of progress: ``{"progress": [done, total]}`` lines."""
    return lambda e: send({"progress": [e.done, e.total]}) if e.kind == "progress" else None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m realbasicvsr.web.worker")
    p.add_argument("mode", choices=["run", "preview"])
    p.add_argument("--input", required=True)
    p.add_argument("--output")
    p.add_argument("--preview-dir")
    p.add_argument("--settings", required=True, help="JobSettings as JSON")
    p.add_argument("--fresh", action="store_true", help="discard an interrupted run's chunks")
    return p


def _protocol_channel() -> Callable[[dict], None]:
    """A writer for the JSON lines on the real stdout, which from now on gets nothing else: fd 1 becomes a
    copy of stderr, so prints from libraries (or FFmpeg) land in the log."""
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(message: dict) -> None:
        channel.write(json.dumps(message) + "\n")

    return send


def _interrupt_when_stdin_closes() -> None:
    sys.stdin.read()
    # as SIGTERM, whose handler main() installed: a simulated SIGINT does nothing when the server was started
    # with SIGINT ignored (in the background of a shell, under nohup), and the worker would never stop
    _thread.interrupt_main(signal.SIGTERM)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
