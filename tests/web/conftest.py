"""Helpers for the web page's tests: a real server (uvicorn on a free port, in a thread), a small HTTP client,
deadline polling, and checks of the media the server produces."""

from __future__ import annotations

import http.client
import json
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import av
import cv2
import pytest
import uvicorn

from realbasicvsr.web.app import create_app

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample.mp4"
SMALL_SIZE = (80, 60)  # the small sample's frame size: the sample's, halved each way


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample clip at a quarter of its pixels (80x60, its 24 frames re-encoded, its audio copied), named
    ``sample.mp4``: the tests that run a model through the page take a quarter of the time on it."""
    path = tmp_path_factory.mktemp("small") / "sample.mp4"
    with av.open(str(SAMPLE)) as src, av.open(str(path), "w") as dst:
        video_in, audio_in = src.streams.video[0], src.streams.audio[0]
        video = dst.add_stream("libx264", rate=video_in.average_rate)
        video.width, video.height, video.pix_fmt = *SMALL_SIZE, "yuv420p"
        video.options = {"crf": "30"}
        audio = dst.add_stream_from_template(audio_in)
        for packet in src.demux(video_in, audio_in):
            if packet.stream is audio_in and packet.dts is not None:
                packet.stream = audio
                dst.mux(packet)
            elif packet.stream is video_in:
                for frame in packet.decode():
                    small = av.VideoFrame.from_ndarray(
                        cv2.resize(frame.to_ndarray(format="rgb24"), SMALL_SIZE, interpolation=cv2.INTER_AREA),
                        format="rgb24")
                    small.pts, small.time_base = frame.pts, frame.time_base
                    dst.mux(video.encode(small))
        dst.mux(video.encode(None))
    return path


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Server:
    """A running server and a client for it that sends exactly the headers it is given."""

    port: int
    token: str
    jobs: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body=None, headers: dict | None = None, *, token: bool = True,
                host: str | None = None) -> Reply:
        """One request on a new connection; ``token`` adds X-Token, ``host`` replaces the Host header."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = dict(headers or {})
        if token:
            headers.setdefault("X-Token", self.token)
        if host is not None:
            headers["Host"] = host
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        chunked = body is not None and not isinstance(body, (bytes, str))
        try:
            conn.request(method, path, body=body, headers=headers, encode_chunked=chunked)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413) before the whole body was sent: read that answer
        reply = conn.getresponse()
        out = Reply(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
        conn.close()
        return out

    def upload(self, path: Path, name: str | None = None) -> dict:
        reply = self.request("POST", f"/api/uploads?name={name or path.name}", path.read_bytes())
        assert reply.status == 201, reply.body
        return reply.json()

    def job(self, job_id: str) -> dict:
        reply = self.request("GET", "/api/jobs")
        assert reply.status == 200, reply.body
        return next(j for j in reply.json() if j["id"] == job_id)


@contextmanager
def running_server(jobs: Path, **options) -> Iterator[Server]:
    """``create_app(jobs, **options)`` served by uvicorn on a free port of 127.0.0.1 until the block ends
    (then the server shuts down as on Ctrl-C: a running job is stopped and stays queued)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(jobs, port=port, **options)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 20, "the server did not start")
    try:
        yield Server(port, app.state.token, jobs)
    finally:
        server.should_exit = True
        thread.join(60)
        sock.close()
        assert not thread.is_alive(), "the server did not stop"


def wait_for(condition: Callable[[], object], seconds: float, what: str, every: float = 0.05):
    """Poll ``condition`` until it returns something truthy (returned) or the deadline passes (fail)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {seconds} s: {what}")


def check_upscaled_sample(path: Path, size: tuple[int, int] = (160, 120)) -> None:
    """The sample clip (of ``size``) upscaled x4: 24 frames of 4x its size, and its audio kept."""
    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 1
        stream = container.streams.video[0]
        frames = [f for f in container.decode(stream)]
    assert len(frames) == 24
    assert (frames[0].width, frames[0].height) == (4 * size[0], 4 * size[1])


def listing(root: Path, skip: Path) -> set[str]:
    """Every path under ``root`` except those under ``skip``."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if skip not in (p, *p.parents)}


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp dir, cwd and model cache of its own (inherited by the workers), so a listing of ``tmp_path``
    shows everything the server writes; jobs go to ``tmp_path / "jobs"``."""
    for name in ("tmp", "cwd", "home"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path
