"""``realbasicvsr upscale INPUT... -o OUTPUT``: the main job."""

from __future__ import annotations

import argparse
import signal
import sys

from ..errors import RealBasicVSRError
from ..hub import DEFAULT_MODEL


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "upscale",
        help="upscale videos, frame folders or images (x4 with the released models; streaming, resumable)",
        description="Upscale videos (mp4, mkv, mov, avi, webm...), folders of frames or images. An OUTPUT "
        "with a video extension writes a video (audio and subtitles copied); otherwise a folder of PNG "
        "frames. Several inputs, or a folder of videos, write into the folder OUTPUT.",
    )
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="video file, folder of frames, image, or folder of videos; - reads y4m from standard input")
    p.add_argument("-i", "--input", action="append", default=[], metavar="INPUT",
                   help="an input, as with Real-ESRGAN's scripts (repeatable; positional inputs work too)")
    p.add_argument("-o", "--output", required=True,
                   help="output video/folder (a folder for several inputs); - writes y4m to standard output")
    p.add_argument("-n", "--model", default=DEFAULT_MODEL,
                   help=f"model-zoo name (see `realbasicvsr models`) or checkpoint file (default {DEFAULT_MODEL}; "
                   "realbasicvsr_lite_x4 ships in the package and needs no download)")
    p.add_argument("--dynamic-refine-thres", type=float, default=None, metavar="T",
                   help="cleaning threshold in 0-255 units (default 255 = one pass; the paper uses 1.5)")
    p.add_argument("--ensemble", type=int, default=1, metavar="N",
                   help="self-ensemble: average N orientations of every frame (1 = off, default; 2 adds the mirror "
                   "image, 4 upside-down ones, 8 transposed ones): N times slower, a little more faithful "
                   "(realbasicvsr_lite_x4 on the real-world benchmark: +0.05 dB PSNR-Y at 2, +0.10 at 8)")
    g = p.add_argument_group("memory and speed")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    g.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"],
                   help="auto = fp16 on CUDA, bf16 on CPUs with native bf16 (avx512_bf16/AMX), else fp32; a window "
                   "that overflows in fp16/bf16 is computed again in fp32")
    g.add_argument("--fp32", dest="precision", action="store_const", const="fp32", help="same as --precision fp32")
    g.add_argument("--chunk-frames", type=int, default=None,
                   help="frames written per temporal chunk (default 24, fewer for frames too big for memory)")
    g.add_argument("--overlap", type=int, default=8, help="context frames after each chunk, seen by the backward branch but not written (default 8)")
    g.add_argument("-t", "--tile", type=int, default=0,
                   help="spatial tile size in input pixels; 0 = automatic (tiles only when a chunk would not fit memory)")
    g.add_argument("--no-tile", action="store_true", help="never tile, whatever the frame size")
    g.add_argument("--tile-overlap", type=int, default=16, help="overlap between tiles in input pixels (default 16)")
    g.add_argument("--scene-cuts", default="auto", metavar="auto|off|FILE",
                   help="make every shot its own sequence, so no frame inherits features across a cut: auto "
                   "(default) detects shot changes, off treats the video as one shot, FILE lists the cuts (frame "
                   "indices, or times like 12.5s or 1:02.5, one or more a line)")
    g = p.add_argument_group("judging")
    g.add_argument("--compare", choices=["side", "stack", "split"], default=None,
                   help="write a comparison instead of the plain result: the input enlarged by bicubic and "
                   "the model's output side by side, stacked, or split down the middle (labelled)")
    g.add_argument("--preview", type=int, nargs="?", const=3, default=None, metavar="N",
                   help="instead of the full run, upscale N evenly spaced excerpts (default 3) into "
                   "OUTPUT.preview<k> files, each with a bicubic comparison, and print the projected time")
    g.add_argument("--preview-seconds", type=float, default=1.0, help="length of each excerpt (default 1 s)")
    g = p.add_argument_group("output")
    g.add_argument("-s", "--outscale", type=float, default=None,
                   help="final scale: the model's own factor (default; 4 for the released models), "
                   "else an antialiased resize of its output")
    g.add_argument("--codec", default="libx264", help="video codec: libx264, libx265, libvpx-vp9, mpeg4... (default libx264)")
    g.add_argument("--crf", type=int, default=18, help="constant rate factor for x264/x265/vp9 (default 18)")
    g.add_argument("--preset", default="medium", help="x264/x265 preset (default medium)")
    g.add_argument("--pix-fmt", default="auto",
                   help="pixel format, e.g. yuv420p10le; auto (default) = yuv420p, 10-bit for 10-bit inputs")
    g.add_argument("--fps", type=float, default=None, help="frame rate for frame-folder and image inputs (default 25)")
    g.add_argument("--ext", default=None, help="batch mode: output extension for videos/frame folders (default .mp4)")
    g.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    g.add_argument("--resume", action="store_true", help="continue an interrupted run from its last finished chunk")
    g.add_argument("--dry-run", action="store_true", help="print the plan and estimates, then stop")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _sigterm_as_interrupt(signum, frame):  # pragma: no cover - exercised via subprocess tests
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from ..inference import EngineOptions, OutputOptions, UpscaleSettings, dry_run, plan_jobs, summary, upscale
    from ..inference.engine import DEFAULT_CHUNK_FRAMES
    from ..inference.planning import shard
    from ..report import as_flag, render_settings, terminal_reporter
    from ..inference.scenes import describe_cuts
    from ..io.pipes import ReaderClosedError

    inputs = [*args.inputs, *args.input]
    if not inputs:
        raise RealBasicVSRError("no input: pass INPUT or -i INPUT")
    settings = UpscaleSettings(
        model=args.model,
        dynamic_refine_thres=args.dynamic_refine_thres,
        engine=EngineOptions(device=args.device, precision=args.precision, tile=max(0, args.tile),
                             tile_overlap=args.tile_overlap, outscale=args.outscale,
                             chunk_frames=DEFAULT_CHUNK_FRAMES if args.chunk_frames is None else args.chunk_frames,
                             overlap=args.overlap, ensemble=args.ensemble),
        output=OutputOptions(codec=args.codec, crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt, fps=args.fps,
                             overwrite=args.overwrite, resume=args.resume, progress=not args.no_progress),
        auto_tile=not args.no_tile,
        auto_chunk=args.chunk_frames is None,
        ext=args.ext,
        compare=args.compare,
        scene_cuts=args.scene_cuts,
    )
    if (args.preview is not None or args.dry_run) and any(p == "-" for p in [*inputs, args.output]):
        raise RealBasicVSRError("--preview and --dry-run read the input more than once; they can't be used with a pipe (-)")
    if args.preview is not None:
        return _preview(inputs, args, settings)
    if args.dry_run:
        print(render_settings(dry_run(shard(plan_jobs(inputs, args.output, args.ext)), settings).text, as_flag))
        return 0
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        report = upscale(inputs, args.output, settings, reporter=terminal_reporter(spell=as_flag))
    except ReaderClosedError as e:  # like `head`: the reader has what it wanted; exit 1, documented
        print(f"realbasicvsr upscale: stopped: {e}", file=sys.stderr)
        return 1
    if report.batch:
        print(render_settings(summary(report), as_flag), file=sys.stderr)
    elif report.results:
        r = report.results[0]
        resumed = f", {r.resumed_frames} of them from the interrupted run" if r.resumed_frames else ""
        if r.part is not None and r.part[0] != 0:
            print(f"[rank {r.part[0]}/{r.part[1]}] upscaled {r.frames} frames of {r.output}{resumed} "
                  f"({r.seconds:.1f} s); rank 0 joins the parts", file=sys.stderr)
        else:
            print(f"wrote {'standard output' if str(r.output) == '-' else r.output} ({r.frames} frames{resumed}, "
                  f"{r.seconds:.1f} s; scene cuts: {describe_cuts(r.cuts)})", file=sys.stderr)
    return 0 if report.ok else 1


def _preview(inputs: list[str], args: argparse.Namespace, settings) -> int:
    from ..inference.preview import preview
    from ..report import as_flag, format_duration, terminal_reporter

    if len(inputs) != 1:
        raise RealBasicVSRError("--preview takes one input")
    report = preview(inputs[0], args.output, settings, args.preview, args.preview_seconds,
                     reporter=terminal_reporter(spell=as_flag))
    n = sum(f for _, f in report.excerpts)
    projected = report.projected_seconds
    k = len(report.excerpts)
    print(f"previewed {k} excerpt{'s' if k != 1 else ''} ({n} frames) at {report.seconds_per_frame:.2f} s per frame; "
          f"the full run of {report.total_frames} frames would take about {format_duration(projected)} "
          "(model time; decoding and encoding add a little)")
    return 0
