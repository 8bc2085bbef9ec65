"""The web page's jobs: one folder each under the jobs root, a first-in first-out queue, one worker at a time.

``<root>/<id>/`` holds ``job.json`` (the ``Job`` record), ``input<ext>`` (the upload), ``log.txt`` (what the
worker printed), ``output.mp4`` (``output.png`` for an image) once done, the engine's hidden work folder
while a run is unfinished, and ``preview/`` (the before/after frames). Every run and preview happens in a
subprocess (``realbasicvsr.web.worker``), so a crash or an out-of-memory kill fails that job, not the server.
A job that was queued or running when the server stopped is queued again on the next start and resumes from
the engine's work folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..atomic import write_text_atomic
from ..errors import RealBasicVSRError
from ..hub import MODEL_ZOO
from ..inference.engine import ENSEMBLE_SIZES

JOB_ID = re.compile(r"[0-9a-f]{16}")
STOP_GRACE_S = 20.0  # how long a worker may take to stop cleanly before it is killed
# the command that starts a worker, before its arguments (tests substitute one that pauses at a known frame)
WORKER_COMMAND: tuple[str, ...] = (sys.executable, "-m", "realbasicvsr.web.worker")


class JobSettings(BaseModel):
    """What the page lets the user choose for a run (validated; stored in job.json)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = "realbasicvsr_lite_x4"
    outscale: float | None = Field(None, gt=0, le=16)  # None: the model's own factor
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    crf: int = Field(18, ge=0, le=51)
    chunk_frames: int | None = Field(None, ge=1, le=1000)  # None: 24, fewer when frames are very large
    ensemble: int = 1  # orientations averaged (upscale --ensemble)

    @field_validator("model")
    @classmethod
    def _known_model(cls, name: str) -> str:
        # Zoo names only: a path would let a page make the server read any file.
        if name not in MODEL_ZOO:
            raise ValueError(f"unknown model {name!r} (choose from {', '.join(MODEL_ZOO)})")
        return name

    @field_validator("ensemble")
    @classmethod
    def _ensemble_size(cls, n: int) -> int:
        if n not in ENSEMBLE_SIZES:  # the engine's sizes, checked here too so a bad one is a 422, not a failed job
            raise ValueError(f"ensemble must be one of {', '.join(map(str, ENSEMBLE_SIZES))}")
        return n


class JobStateError(RealBasicVSRError):
    """An action the job's current state does not allow (answered 409)."""


@dataclass
class Job:
    """One upload and what happened to it: the content of job.json."""

    id: str
    name: str  # the uploaded file's name, for display only (never used as a path)
    input: str  # the stored upload's file name inside the job folder: input<ext>
    info: dict  # kind, frames, width, height, fps, bytes of the input
    status: str = "ready"  # ready, queued, running, done, failed, cancelled
    settings: dict | None = None  # JobSettings of the current or last run
    fresh: bool = False  # the next run starts over (its settings differ from the interrupted run's)
    created: float = field(default_factory=time.time)
    queued: float | None = None
    started: float | None = None
    finished: float | None = None
    error: str = ""
    progress: dict = field(default_factory=dict)  # done, total, fps, eta (seconds)
    result: dict | None = None  # frames, seconds, resumed_frames, warnings, cuts
    preview: dict | None = None

    @property
    def output(self) -> str:
        return "output.png" if self.info.get("kind") == "image" else "output.mp4"

    def public(self) -> dict:
        """What the page gets."""
        return {**asdict(self), "output": self.output}


class JobManager:
    """Owns the jobs under ``root``: creation, the queue, the worker thread, cancel, delete and previews.

    State changes bump ``version`` so the page's event stream knows when to send the list again.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.version = 0
        self._cv = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._proc: subprocess.Popen | None = None  # the worker of the running job
        self._cancel: set[str] = set()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._preview_lock = threading.Lock()
        root.mkdir(parents=True, exist_ok=True)
        self._load()

    # -- persistence -------------------------------------------------------------------------------

    def _load(self) -> None:
        names = {f.name for f in fields(Job)}
        for folder in sorted(self.root.iterdir()):
            record = folder / "job.json"
            if not JOB_ID.fullmatch(folder.name):
                continue
            if not record.is_file():  # an upload the server never finished
                shutil.rmtree(folder, ignore_errors=True)
                continue
            try:
                data = json.loads(record.read_text(encoding="utf-8"))
                job = Job(**{k: v for k, v in data.items() if k in names})
            except (OSError, ValueError, TypeError) as e:
                print(f"realbasicvsr serve: skipping {folder}: unreadable job.json ({e})", file=sys.stderr)
                continue
            if job.status == "running":  # the server stopped mid-run: resume it
                job.status = "queued"
            self._jobs[job.id] = job

    def _save(self, job: Job) -> None:
        """Write job.json and tell the event streams (call with the lock held). A failed write (a full disk)
        is reported on stderr and the job goes on in memory: the queue must not stop over its record."""
        try:
            write_text_atomic(self.folder(job.id) / "job.json", json.dumps(asdict(job), indent=1))
        except RealBasicVSRError as e:
            print(f"realbasicvsr serve: warning: {e}", file=sys.stderr)
        self.version += 1
        self._cv.notify_all()

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    # -- the page's actions ------------------------------------------------------------------------

    def new_folder(self) -> tuple[str, Path]:
        """A fresh job id and its (new, empty) folder, for an upload in progress."""
        job_id = secrets.token_hex(8)
        folder = self.folder(job_id)
        folder.mkdir()
        return job_id, folder

    def add(self, job: Job) -> Job:
        with self._cv:
            self._jobs[job.id] = job
            self._save(job)
        return job

    def get(self, job_id: str) -> Job:
        with self._cv:
            job = self._jobs.get(job_id) if JOB_ID.fullmatch(job_id) else None
        if job is None:
            raise LookupError(f"no job {job_id!r}")
        return job

    def snapshot(self) -> list[dict]:
        """Every job, oldest first, with queued jobs' positions."""
        with self._cv:
            queue = [j.id for j in self._queue()]
            return [{**j.public(), "position": queue.index(j.id) + 1 if j.id in queue else None}
                    for j in sorted(self._jobs.values(), key=lambda j: j.created)]

    def submit(self, job_id: str, settings: JobSettings) -> Job:
        """Queue a run; the same settings as an unfinished run resume it, other settings start over."""
        with self._cv:
            job = self.get(job_id)
            new = settings.model_dump()
            if job.status in ("queued", "running"):
                raise JobStateError(f"{job.name} is already {job.status}")
            if job.status == "done" and job.settings == new:
                raise JobStateError(f"{job.name} is already done with these settings")
            # other settings than the unfinished run's start over (and a pending fresh start stays one)
            job.fresh = job.fresh or (job.settings is not None and job.settings != new)
            if job.status == "done":  # run again: the old result must not pass for the new one
                (self.folder(job_id) / job.output).unlink(missing_ok=True)
            job.settings, job.status, job.queued, job.error, job.result = new, "queued", time.time(), "", None
            job.progress = {}
            self._save(job)
        return job

    def cancel(self, job_id: str) -> Job:
        """Stop a queued or running job; its finished chunks are kept, so a later start resumes it."""
        with self._cv:
            job = self.get(job_id)
            if job.status == "queued":
                job.status = "cancelled"
                self._save(job)
            elif job.status == "running":
                self._cancel.add(job_id)
                if self._proc is not None:
                    _interrupt(self._proc)
            else:
                raise JobStateError(f"{job.name} is {job.status}: nothing to cancel")
        return job

    def delete(self, job_id: str) -> None:
        with self._cv:
            job = self.get(job_id)
            if job.status == "running":
                raise JobStateError(f"{job.name} is running: cancel it first")
            del self._jobs[job_id]
            shutil.rmtree(self.folder(job_id), ignore_errors=True)
            self.version += 1

    def preview(self, job_id: str, settings: JobSettings) -> dict:
        """Upscale one frame (in a worker, one preview at a time) for the before/after view; blocks."""
        job = self.get(job_id)
        folder = self.folder(job_id)
        args = ["preview", "--input", str(folder / job.input), "--preview-dir", str(folder / "preview"),
                "--settings", settings.model_dump_json()]
        with self._preview_lock:
            messages, rc = _run_worker(args, folder / "log.txt", lambda p: None, lambda m: None)
        if rc != 0 or "preview" not in messages:
            raise RealBasicVSRError(self._scrub(job, messages.get("error") or f"the preview failed (exit code {rc}); "
                                                "see the job's log"))
        preview = {**messages["preview"], "settings": settings.model_dump(), "made": time.time()}
        with self._cv:
            if job_id in self._jobs:  # not deleted meanwhile
                job.preview = preview
                self._save(job)
        return preview

    # -- the queue ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread (jobs left queued by an earlier server run start first)."""
        self._thread = threading.Thread(target=self._work, daemon=True, name="realbasicvsr-web-jobs")
        self._thread.start()

    def stop(self) -> None:
        """Stop the running job (it stays queued, to resume on the next start) and the worker thread."""
        with self._cv:
            self._stopping = True
            proc = self._proc
            if proc is not None:
                _interrupt(proc)
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(STOP_GRACE_S)
            if self._thread.is_alive() and proc is not None:
                proc.kill()
                self._thread.join()

    def _queue(self) -> list[Job]:
        return sorted((j for j in self._jobs.values() if j.status == "queued"), key=lambda j: j.queued or 0)

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._stopping and not self._queue():
                    self._cv.wait()
                if self._stopping:
                    return
                job = self._queue()[0]
                job.status, job.started, job.progress = "running", time.time(), {}
                self._save(job)
            try:
                self._run(job)
            except Exception as e:  # noqa: BLE001 - a bug here fails this job, never the queue
                with self._cv:
                    job.status, job.error = "failed", f"internal error: {type(e).__name__}: {e}"
                    self._save(job)

    def _run(self, job: Job) -> None:
        folder = self.folder(job.id)
        args = ["run", "--input", str(folder / job.input), "--output", str(folder / job.output),
                "--settings", json.dumps(job.settings)] + (["--fresh"] if job.fresh else [])
        speed = _Speed()

        def started(proc: subprocess.Popen) -> None:
            with self._cv:
                self._proc = proc
                if self._stopping or job.id in self._cancel:
                    _interrupt(proc)

        def progress(message: dict) -> None:
            done, total = message["progress"]
            with self._cv:
                job.progress = {"done": done, "total": total, **speed.update(done, total)}
                job.fresh = False  # the new run has finished chunks now: a restart resumes it
                self._save(job)

        messages, rc = _run_worker(args, folder / "log.txt", started, progress)
        with self._cv:
            self._proc = None
            cancelled = job.id in self._cancel
            self._cancel.discard(job.id)
            job.finished = time.time()
            if rc == 0 and "result" in messages:
                job.status, job.result = "done", messages["result"]
            elif self._stopping:
                job.status = "queued"
            elif cancelled:
                job.status = "cancelled"
            else:
                job.status = "failed"
                job.error = self._scrub(job, messages.get("error") or (
                    f"the worker stopped unexpectedly (exit code {rc}); see the job's log. Starting it again "
                    "resumes from the last finished chunk"))
            self._save(job)

    def _scrub(self, job: Job, message: str) -> str:
        """A worker's message with the server's paths replaced by what the user knows."""
        folder = self.folder(job.id)
        return message.replace(str(folder / job.input), job.name).replace(str(folder) + os.sep, "")


class _Speed:
    """Frames per second and ETA of a run, measured from its first progress report (so model loading and
    frames resumed from an earlier run don't count)."""

    def __init__(self) -> None:
        self.first: tuple[float, int] | None = None

    def update(self, done: int, total: int | None) -> dict:
        now = time.monotonic()
        if self.first is None:
            self.first = (now, done)
            return {"fps": None, "eta": None}
        t0, d0 = self.first
        fps = (done - d0) / (now - t0) if now > t0 and done > d0 else None
        eta = (total - done) / fps if fps and total else None
        return {"fps": fps, "eta": eta}


def _run_worker(args: list[str], log: Path, started: Callable[[subprocess.Popen], None],
                on_progress: Callable[[dict], None]) -> tuple[dict, int]:
    """Run the worker (``WORKER_COMMAND ARGS``), its stderr appended to ``log``; the last message of each kind
    it sent, and its exit code."""
    messages: dict = {}
    with open(log, "a", encoding="utf-8") as err:
        err.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {args[0]}\n")
        err.flush()
        try:
            proc = subprocess.Popen([*WORKER_COMMAND, *args], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=os.name == "posix")
        except OSError as e:
            return {"error": f"cannot start a worker process: {e.strerror or e}"}, -1
        with proc:
            started(proc)
            for line in proc.stdout:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                messages.update(message)
                if "progress" in message:
                    on_progress(message)
        return messages, proc.returncode


def _interrupt(proc: subprocess.Popen) -> None:
    """Ask a worker to stop cleanly: it watches its stdin and stops like Ctrl-C when it closes."""
    try:
        proc.stdin.close()
    except OSError:
        pass
