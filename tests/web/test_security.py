"""What the web server refuses: foreign Hosts and Origins, missing tokens, unsafe names, oversized or
undecodable uploads, a full disk; and that nothing is ever written outside --jobs."""

from __future__ import annotations

import socket

import pytest
from conftest import SAMPLE, listing, running_server

from realbasicvsr.cli import main
from realbasicvsr.web import uploads


def test_host_origin_and_token_checks(sandbox):
    jobs = sandbox / "jobs"
    with running_server(jobs) as s:
        page = s.request("GET", "/", token=False)
        assert page.status == 200
        assert f'content="{s.token}"' in page.body.decode()
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        for host in (f"localhost:{s.port}", f"[::1]:{s.port}"):
            assert s.request("GET", "/", token=False, host=host).status == 200

        # DNS rebinding: another name (or port) that resolves here gets nothing, not even the page
        for host in (f"evil.example:{s.port}", "127.0.0.1:1", "127.0.0.1"):
            reply = s.request("GET", "/", token=False, host=host)
            assert reply.status == 421, host
            assert "Host" in reply.json()["error"]
        rebound = s.request("POST", "/api/uploads?name=a.mp4", SAMPLE.read_bytes(), host=f"evil.example:{s.port}")
        assert rebound.status == 421

        # a cross-origin POST is refused even with the right token; a same-origin one passes the guard
        foreign = s.request("POST", "/api/uploads?name=a.mp4", SAMPLE.read_bytes(), {"Origin": "http://evil.example"})
        assert (foreign.status, foreign.json()["error"]) == (403, "cross-origin request refused")
        assert s.request("GET", "/api/jobs", headers={"Origin": "null"}).status == 403
        same = s.request("POST", "/api/uploads?name=a.mp4", SAMPLE.read_bytes(), {"Origin": s.url})
        assert same.status == 201

        # state changes need the token in the header; reads of /api/ need it in the header or the query
        assert s.request("POST", "/api/uploads?name=a.mp4", SAMPLE.read_bytes(), token=False).status == 403
        assert s.request("POST", f"/api/uploads?name=a.mp4&token={s.token}", b"x", token=False).status == 403
        assert s.request("POST", "/api/uploads?name=a.mp4", b"x", {"X-Token": "wrong"}).status == 403
        assert s.request("GET", "/api/jobs", token=False).status == 403
        assert s.request("GET", f"/api/jobs?token={s.token}", token=False).status == 200
        assert s.request("OPTIONS", "/api/uploads", token=False).status == 403
        assert [j["name"] for j in s.request("GET", "/api/jobs").json()] == ["a.mp4"]


def test_given_token_guards_the_page_too(sandbox):
    with running_server(sandbox / "jobs", token="s3cret-token") as s:
        assert s.request("GET", "/", token=False).status == 403
        assert s.request("GET", "/?token=wrong", token=False).status == 403
        page = s.request("GET", "/?token=s3cret-token", token=False)
        assert page.status == 200 and b'content="s3cret-token"' in page.body
        assert s.request("GET", "/static/app.js", token=False).status == 200  # assets hold no secrets


def test_unsafe_names_are_never_paths(sandbox):
    jobs = sandbox / "jobs"
    before = listing(sandbox, jobs)
    with running_server(jobs) as s:
        job = s.upload(SAMPLE, name="..%2F..%2F..%2Fevil%0A.MP4")
        assert job["name"] == "evil.MP4"
        assert sorted(p.name for p in (jobs / job["id"]).iterdir()) == ["input.mp4", "job.json"]
        job = s.upload(SAMPLE, name="..%5C..%5Cwin.mkv")
        assert (job["name"], job["input"]) == ("win.mkv", "input.mkv")

        refused = s.request("POST", "/api/uploads?name=..%2F..%2Fx.sh", SAMPLE.read_bytes())
        assert refused.status == 415 and "not a video or image file type" in refused.json()["error"]
        assert s.request("POST", "/api/uploads", SAMPLE.read_bytes()).status == 415  # no name, no extension

        # jobs are found by id only: nothing else reaches the file system
        for path in ("/api/jobs/..%2F..%2Fetc/result", "/api/jobs/../../etc/passwd/log", "/api/jobs/0123/log",
                     f"/api/jobs/{job['id']}/preview/..%2Fjob.json", f"/api/jobs/{job['id']}/preview/job.json",
                     "/static/..%2F..%2Fapp.py"):
            assert s.request("GET", path).status == 404, path
        assert s.request("GET", f"/api/jobs/{job['id']}/result").status == 409  # not done: nothing to download
        bad_model = s.request("POST", f"/api/jobs/{job['id']}/start", {"model": "/etc/passwd"})
        assert bad_model.status == 422 and bad_model.json()["error"].startswith("model: unknown model '/etc/passwd'")
    assert listing(sandbox, jobs) == before


def test_oversized_and_undecodable_uploads(sandbox):
    jobs = sandbox / "jobs"
    before = listing(sandbox, jobs)
    with running_server(jobs, max_upload_mb=1) as s:
        big = bytes(3 * 2**20)
        declared = s.request("POST", "/api/uploads?name=big.mp4", big)  # Content-Length says it all
        assert declared.status == 413 and "at most 1 MB" in declared.json()["error"]
        streamed = s.request("POST", "/api/uploads?name=big.mp4", (big[i:i + 65536] for i in range(0, len(big), 65536)))
        assert streamed.status == 413 and "larger than this server takes" in streamed.json()["error"]

        text = s.request("POST", "/api/uploads?name=notes.mp4", b"these are not the frames you are looking for\n" * 50)
        assert text.status == 415
        assert text.json()["error"].startswith("notes.mp4 is not a readable video")
        truncated = s.request("POST", "/api/uploads?name=cut.mp4", SAMPLE.read_bytes()[:2000])
        assert truncated.status == 415 and "cut.mp4" in truncated.json()["error"]
        image = s.request("POST", "/api/uploads?name=photo.png", b"\x89PNG\r\n\x1a\n" + bytes(100))
        assert image.status == 415 and "photo.png" in image.json()["error"]
        empty = s.request("POST", "/api/uploads?name=empty.mp4", b"")
        assert (empty.status, empty.json()["error"]) == (400, "the file is empty")

        assert s.request("GET", "/api/jobs").json() == []
        assert list(jobs.iterdir()) == []  # every partial file and job folder was removed
        assert s.upload(SAMPLE)["info"] == {"kind": "video", "frames": 24, "width": 160, "height": 120,
                                            "fps": pytest.approx(30000 / 1001), "bytes": SAMPLE.stat().st_size}
    assert listing(sandbox, jobs) == before


def test_full_disk_is_507_and_the_server_keeps_serving(sandbox, monkeypatch):
    with running_server(sandbox / "jobs") as s:
        with monkeypatch.context() as m:
            m.setattr(uploads.shutil, "disk_usage", lambda _path: type("Usage", (), {"free": 1000})())
            full = s.request("POST", "/api/uploads?name=clip.mp4", SAMPLE.read_bytes())
        assert full.status == 507 and "not enough disk space" in full.json()["error"]
        assert list((sandbox / "jobs").iterdir()) == []
        assert s.upload(SAMPLE)["status"] == "ready"


@pytest.mark.parametrize("argv, message", [
    (["--host", "0.0.0.0"], "--host 0.0.0.0 is reachable from other machines: pass --token SECRET too"),
    (["--host", "192.168.1.5", "--token", "short"], "--token must have at least 8 characters"),
    (["--port", "0"], "--port must be between 1 and 65535"),
])
def test_serve_refuses_unsafe_options(argv, message, capsys):
    assert main(["serve", *argv]) == 2
    assert message in capsys.readouterr().err


def test_serve_reports_a_busy_port(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port), "--jobs", str(tmp_path / "jobs")]) == 2
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use (try another --port)" in capsys.readouterr().err
    assert not (tmp_path / "jobs").exists()
