"""Jobs through the web server: a restart mid-run resumes, cancel keeps the finished chunks, a model that
can't be loaded fails its job (and preview) with a clear message while the server keeps serving."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import SAMPLE, SMALL_SIZE, check_upscaled_sample, listing, running_server, wait_for

from realbasicvsr.web import jobs as web_jobs

LITE = {"model": "realbasicvsr_lite_x4", "chunk_frames": 8}  # 3 chunks: one per server run below
# a worker that waits after the first chunk it writes (unless it is the last) until it is stopped or cancelled
PAUSED_WORKER = (sys.executable, str(Path(__file__).with_name("paused_worker.py")))


def _work_folders(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".") and p.is_dir()]


def test_restart_mid_job_resumes_and_cancel_keeps_work(sandbox, monkeypatch, small_sample):
    # each worker pauses after its first new chunk, so the stop and the cancel land at known frames; the
    # deadlines below only end a hung test
    monkeypatch.setattr(web_jobs, "WORKER_COMMAND", PAUSED_WORKER)
    jobs = sandbox / "jobs"
    before = listing(sandbox, jobs)
    with running_server(jobs) as s:
        job_id = s.upload(small_sample)["id"]
        assert s.request("POST", f"/api/jobs/{job_id}/start", LITE).json()["status"] == "queued"
        wait_for(lambda: s.job(job_id)["progress"].get("done"), 300, "progress from the first run")
    # the server stopped mid-run: the job waits in the queue, its finished chunk in the work folder
    record = json.loads((jobs / job_id / "job.json").read_text())
    assert record["status"] == "queued" and record["progress"]["done"] == 8
    assert not (jobs / job_id / "output.mp4").exists() and _work_folders(jobs / job_id)

    with running_server(jobs) as s:
        # a new server on the same folder picks the job up by itself and continues where it stopped
        first = wait_for(lambda: s.job(job_id)["progress"].get("done"), 300, "progress after the restart")
        assert first == 16
        assert s.request("POST", f"/api/jobs/{job_id}/cancel").status == 200
        cancelled = wait_for(lambda: (j := s.job(job_id))["status"] == "cancelled" and j, 300, "the cancel")
        assert cancelled["progress"]["done"] == 16 and _work_folders(jobs / job_id)
        assert s.request("GET", f"/api/jobs/{job_id}/result").status == 409

        assert s.request("POST", f"/api/jobs/{job_id}/start", LITE).status == 200  # same settings: resume
        done = wait_for(lambda: (j := s.job(job_id))["status"] not in ("queued", "running") and j, 300, "the run")
        assert done["status"] == "done", done["error"]
        assert done["result"]["resumed_frames"] == 16  # both earlier runs' chunks kept
        assert done["result"]["frames"] == 24

        reply = s.request("GET", f"/api/jobs/{job_id}/result?token={s.token}", token=False)
        assert reply.status == 200
        assert reply.headers["content-disposition"] == 'attachment; filename="sample_realbasicvsr_lite_x4.mp4"'
        (sandbox / "download.mp4").write_bytes(reply.body)
        check_upscaled_sample(sandbox / "download.mp4", SMALL_SIZE)
        log = s.request("GET", f"/api/jobs/{job_id}/log").body.decode()
        assert log.count("--- ") == 3 and "stopped" in log
        assert _work_folders(jobs / job_id) == []
    assert listing(sandbox, jobs) == before | {"download.mp4"}


def test_model_that_cannot_be_loaded(sandbox, monkeypatch):
    # the released model is not cached (a fresh REALBASICVSR_HOME) and its download can't succeed
    monkeypatch.setenv("REALBASICVSR_MIRROR", (sandbox / "no-such-mirror").as_uri())
    released = {"model": "realbasicvsr_x4"}
    with running_server(sandbox / "jobs") as s:
        job_id = s.upload(SAMPLE)["id"]
        models = {m["name"]: m["offline"] for m in s.request("GET", "/api/models").json()}
        assert models == {"realbasicvsr_lite_x4": True, "realbasicvsr_lite_x2": True, "bicubic": True,
                          "lanczos": True, "realbasicvsr_x4": False, "realbasicvsr_wogan_x4": False}

        preview = s.request("POST", f"/api/jobs/{job_id}/preview", released)
        assert preview.status == 422
        message = preview.json()["error"]
        assert "realbasicvsr_x4" in message and "\n" not in message and str(sandbox / "jobs") not in message

        s.request("POST", f"/api/jobs/{job_id}/start", released)
        failed = wait_for(lambda: (j := s.job(job_id))["status"] not in ("queued", "running") and j, 300,
                          "the failure")
        assert failed["status"] == "failed"
        assert "realbasicvsr_x4" in failed["error"] and "\n" not in failed["error"]

        # the server still serves, and the same upload runs with another model (a fresh start)
        ok = s.request("POST", f"/api/jobs/{job_id}/preview", {"model": "bicubic"}).json()
        assert (ok["width"], ok["height"], ok["frame"]) == (640, 480, 12)
        assert ok["projected_seconds"] > 0 and ok["seconds_per_frame"] > 0  # their arithmetic: test_worker.py
        for image, size in (("before", (160, 120)), ("after", (640, 480))):
            png = s.request("GET", f"/api/jobs/{job_id}/preview/{image}.png?token={s.token}", token=False)
            assert png.status == 200 and png.headers["content-type"] == "image/png"
            assert (int.from_bytes(png.body[16:20], "big"), int.from_bytes(png.body[20:24], "big")) == size
        # the page's self-ensemble setting: 1, 2, 4 or 8 orientations, anything else a one-line 422
        bad = s.request("POST", f"/api/jobs/{job_id}/preview", {"model": "bicubic", "ensemble": 3})
        assert bad.status == 422 and "ensemble" in bad.json()["error"] and "\n" not in bad.json()["error"]
        ens = s.request("POST", f"/api/jobs/{job_id}/preview", {"model": "bicubic", "ensemble": 2}).json()
        assert (ens["width"], ens["height"], ens["frame"]) == (640, 480, 12)
        s.request("POST", f"/api/jobs/{job_id}/start", {"model": "bicubic"})
        done = wait_for(lambda: (j := s.job(job_id))["status"] not in ("queued", "running") and j, 300, "the run")
        assert done["status"] == "done" and done["result"]["resumed_frames"] == 0 and done["error"] == ""
        assert done["result"]["cuts"] == []  # the page lists a job's scene cuts (this clip has none)
        assert s.request("DELETE", f"/api/jobs/{job_id}").status == 200
        assert s.request("GET", "/api/jobs").json() == [] and not (sandbox / "jobs" / job_id).exists()
