"""Final assembly of an upscaled video: video segments and the input's audio/subtitles, by packet copy.

Segments are independent video-only encodes (one per finished chunk, which is what makes resume
possible). Their packets are joined in order with their original timestamps restored, and interleaved by
time with the untouched audio and subtitle packets of the input, so memory stays bounded.
"""

from __future__ import annotations

import heapq
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av

from ..errors import RealBasicVSRError

IDENTITY_MATRIX = [65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30]


def _segment_pts(path: Path) -> tuple[Fraction, list[int]]:
    """(time base, pts of the segment's packets in decode order)."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        pts = [p.pts for p in c.demux(stream) if p.size and p.pts is not None]
        tb = stream.time_base
    if not pts:
        raise RealBasicVSRError(f"segment {path.name} holds no video packets")
    return tb, pts


def _timeline(segments: list[tuple[Path, Fraction]]) -> tuple[Fraction, list[int], list[int], list[int], dict[int, int]]:
    """Timestamps for the joined stream: (time base, per-segment pts offsets, pts and dts in decode order,
    duration by pts).

    Each segment is restored to its original first timestamp (containers may shift it slightly). Every
    segment's encoder starts with its own reordering delay, so decode timestamps are rebuilt over the whole
    stream: the i-th packet gets the (i - D)-th presentation time, with D the largest reordering depth.
    """
    tb = None
    offsets, pts_all = [], []
    for path, first_time in segments:
        seg_tb, pts = _segment_pts(path)
        if tb is None:
            tb = seg_tb
        elif seg_tb != tb:
            raise RealBasicVSRError(f"segment {path.name} has time base {seg_tb}, expected {tb}")
        off = int(round(first_time / tb)) - min(pts)
        offsets.append(off)
        pts_all += [p + off for p in pts]
    order = sorted(pts_all)
    rank = {p: i for i, p in enumerate(order)}
    if len(rank) != len(order):
        raise RealBasicVSRError("segments overlap in time; delete the work folder and start over")
    delay = max(0, max(i - rank[p] for i, p in enumerate(pts_all)))
    step = (order[1] - order[0]) if len(order) > 1 else 1
    dts = [order[i - delay] if i >= delay else order[0] - (delay - i) * step for i in range(len(order))]
    durations = {p: (order[i + 1] - p if i + 1 < len(order) else (p - order[i - 1] if i else step)) for i, p in enumerate(order)}
    return tb, offsets, pts_all, dts, durations


def _video_packets(segments: list[tuple[Path, Fraction]], out_stream) -> Iterator[tuple[float, int, av.Packet]]:
    tb, offsets, pts_all, dts_all, durations = _timeline(segments)
    i = 0
    for (path, _), off in zip(segments, offsets):
        with av.open(str(path)) as c:
            for packet in c.demux(c.streams.video[0]):
                if not packet.size or packet.pts is None:
                    continue
                packet.pts = pts_all[i]
                packet.dts = dts_all[i]
                packet.duration = durations[packet.pts]
                packet.stream = out_stream
                yield float(packet.dts * tb), 0, packet
                i += 1


def _copied_packets(source, mapping: dict, transcoded: set) -> Iterator[tuple[float, int, av.Packet]]:
    """The source's audio/subtitle packets, copied, or re-encoded for streams in ``transcoded``."""
    if not mapping:
        return
    streams = [s for s in source.streams if s.index in mapping]
    for packet in source.demux(streams):
        index = packet.stream.index
        if index in transcoded:
            for frame in packet.decode():
                yield from _stamped(mapping[index].encode(frame))
            continue
        if packet.pts is None and packet.dts is None:
            continue
        packet.stream = mapping[index]
        yield from _stamped([packet])
    for index in transcoded:
        yield from _stamped(mapping[index].encode(None))


def _stamped(packets) -> Iterator[tuple[float, int, av.Packet]]:
    for packet in packets:
        key = packet.dts if packet.dts is not None else packet.pts
        if key is not None:
            yield float(key * packet.time_base), 1, packet


def _transcode_stream(out, stream, dest: Path):
    """An AAC (Opus for WebM) output stream for audio whose codec the output container can't hold."""
    codec = "libopus" if dest.suffix.lower() in (".webm", ".ogv") else "aac"
    rate = stream.rate if codec == "aac" else 48000
    layout = stream.layout.name if stream.layout and stream.layout.nb_channels <= 2 else "stereo"
    o = out.add_stream(codec, rate=rate, layout=layout)
    o.metadata.update(stream.metadata)
    return o, codec


def mux_video(
    segments: list[tuple[Path, Fraction]],
    dest: str | os.PathLike,
    *,
    source: str | os.PathLike | None = None,
    display_matrix: list[int] | None = None,
    fmt: str | None = None,
) -> list[str]:
    """Write ``dest`` from segment files ``(path, time of its first frame in seconds)`` and, when a
    ``source`` video is given, its audio/subtitle streams and metadata. Returns warnings for streams that
    the output container cannot hold (they are dropped)."""
    warnings: list[str] = []
    src = av.open(str(source)) if source is not None else None
    try:
        with av.open(str(segments[0][0])) as first:
            template = first.streams.video[0]
            out = av.open(str(dest), "w", format=fmt)
            try:
                vstream = out.add_stream_from_template(template)
            except ValueError as e:
                out.close()
                raise RealBasicVSRError(f"{Path(dest).suffix} cannot hold {template.codec_context.name} video: {e}") from e
        try:
            if display_matrix is not None and display_matrix != IDENTITY_MATRIX:
                vstream.set_display_matrix(display_matrix)
            mapping, transcoded = {}, set()
            if src is not None:
                out.metadata.update({k: v for k, v in src.metadata.items() if k.lower() != "encoder"})
                vin = src.streams.video[0]
                vstream.metadata.update({k: v for k, v in vin.metadata.items() if k.lower() not in ("encoder", "handler_name")})
                for s in src.streams:
                    if s.type not in ("audio", "subtitle"):
                        continue
                    name = s.codec_context.name if s.codec_context else "?"
                    try:
                        o = out.add_stream_from_template(s)
                        o.metadata.update(s.metadata)
                    except (ValueError, av.error.FFmpegError) as e:
                        if s.type != "audio":
                            warnings.append(f"{s.type} stream #{s.index} ({name}) cannot be stored in "
                                            f"{Path(dest).suffix or fmt}; dropped it ({e}). Use .mkv to keep it")
                            continue
                        o, codec = _transcode_stream(out, s, Path(dest))
                        transcoded.add(s.index)
                        warnings.append(f"audio stream #{s.index} ({name}) cannot be copied into "
                                        f"{Path(dest).suffix or fmt}; re-encoded it as {codec}. Use .mkv to copy it")
                    mapping[s.index] = o
            merged = heapq.merge(
                _video_packets(segments, vstream), _copied_packets(src, mapping, transcoded) if src else iter(()),
                key=lambda item: (item[0], item[1]),
            )
            for _, _, packet in merged:
                out.mux(packet)
        finally:
            out.close()
    except av.error.FFmpegError as e:
        raise RealBasicVSRError(f"writing {dest} failed: {e}") from e
    finally:
        if src is not None:
            src.close()
    return warnings
