"""The web server's routes: the page, its assets, and the JSON API under ``/api/`` (see docs/web.md).

Every failure answers ``{"error": "one line"}`` with a fitting status; the server keeps serving. Requests
pass ``security.RequestGuard`` first (Host, Origin and token checks).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import shutil
from contextlib import asynccontextmanager
from pathlib import Path

from ..errors import RealBasicVSRError
from ..extras import missing_extra

try:
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
    from fastapi.staticfiles import StaticFiles
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect
except ImportError as e:
    raise missing_extra("web", "the web page (realbasicvsr.web.app)", e.name) from e

from ..hub import zoo_status
from .jobs import Job, JobManager, JobSettings, JobStateError
from .security import RequestGuard
from .uploads import UploadError, check_space, display_name, probe, receive_file, stored_extension

STATIC = Path(__file__).resolve().parent / "static"
EVENT_POLL_S = 0.2  # how often the event stream looks for changes
LOG_TAIL = 100_000  # characters of a job's log the page can show


def create_app(jobs: Path, *, host: str = "127.0.0.1", port: int = 7860, token: str | None = None,
               max_upload_mb: int = 4096) -> FastAPI:
    """The ASGI app serving the page for the jobs under ``jobs``; ``token`` None makes a random one that the
    page embeds, a given one must also be passed to open the page (``/?token=...``)."""
    manager = JobManager(Path(jobs))
    secret = token or secrets.token_urlsafe(24)
    limit = max_upload_mb * 2**20
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    page = page.replace("__TOKEN__", html.escape(secret)).replace("__MAX_UPLOAD_MB__", str(max_upload_mb))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        manager.start()
        yield
        await run_in_threadpool(manager.stop)

    app = FastAPI(title="realbasicvsr", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.manager, app.state.token = manager, secret
    app.add_middleware(RequestGuard, host=host, port=port, token=secret, page_needs_token=token is not None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _add_error_handlers(app)

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers={"cache-control": "no-store"})

    _add_listing_routes(app, manager)
    _add_upload_route(app, manager, limit)
    _add_job_routes(app, manager)
    return app


def _add_listing_routes(app: FastAPI, manager: JobManager) -> None:
    """What the page shows: the model zoo, the job list and its live updates."""

    @app.get("/api/models")
    def models() -> list[dict]:
        """The zoo, offline models first: what the page's model menu lists."""
        return [{"name": r.entry.name, "description": r.entry.description, "scale": r.scale,
                 "offline": bool(r.entry.interpolation or r.entry.bundled or r.path), "where": r.where}
                for r in zoo_status()]

    @app.get("/api/jobs")
    def jobs_list() -> list[dict]:
        return manager.snapshot()

    @app.get("/api/events")
    async def events() -> StreamingResponse:
        """Server-sent events: the job list, sent again whenever any job changes (live progress)."""
        async def stream():
            seen = None
            while True:
                if manager.version != seen:
                    seen = manager.version
                    yield f"data: {json.dumps(manager.snapshot())}\n\n"
                await asyncio.sleep(EVENT_POLL_S)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"cache-control": "no-store"})


def _add_upload_route(app: FastAPI, manager: JobManager, limit: int) -> None:
    """``POST /api/uploads``: a new job from an uploaded file of at most ``limit`` bytes."""

    @app.post("/api/uploads", status_code=201)
    async def upload(request: Request, name: str = "") -> dict:
        """The request body is the file (streamed to disk); ``name`` is the client's file name, for display."""
        ext = stored_extension(name)
        shown = display_name(name)
        length = request.headers.get("content-length")
        check_space(manager.root, int(length) if length and length.isdigit() else None, limit)
        job_id, folder = manager.new_folder()
        try:
            dest = folder / f"input{ext}"
            await receive_file(request.stream(), dest, limit)
            info = await run_in_threadpool(probe, dest, shown)
        except ClientDisconnect as e:
            shutil.rmtree(folder, ignore_errors=True)
            raise UploadError(400, "the upload was interrupted") from e
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return manager.add(Job(job_id, shown, dest.name, info)).public()


def _add_job_routes(app: FastAPI, manager: JobManager) -> None:
    """What the page does with one job: preview, start, cancel, delete, download, read its log."""

    @app.post("/api/jobs/{job_id}/preview")
    async def preview(job_id: str, settings: JobSettings) -> dict:
        return await run_in_threadpool(manager.preview, job_id, settings)

    @app.get("/api/jobs/{job_id}/preview/{image}")
    def preview_image(job_id: str, image: str) -> FileResponse:
        path = manager.folder(manager.get(job_id).id) / "preview" / image
        if image not in ("before.png", "after.png") or not path.is_file():
            raise HTTPException(404, "no preview yet: press Preview")
        return FileResponse(path, headers={"cache-control": "no-store"})

    @app.post("/api/jobs/{job_id}/start")
    def start(job_id: str, settings: JobSettings) -> dict:
        return manager.submit(job_id, settings).public()

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> dict:
        return manager.cancel(job_id).public()

    @app.delete("/api/jobs/{job_id}")
    def delete(job_id: str) -> dict:
        manager.delete(job_id)
        return {"deleted": job_id}

    @app.get("/api/jobs/{job_id}/result")
    def result(job_id: str) -> FileResponse:
        job = manager.get(job_id)
        path = manager.folder(job.id) / job.output
        if job.status != "done" or not path.is_file():
            raise JobStateError(f"{job.name} has no result yet")
        return FileResponse(path, filename=_download_name(job))

    @app.get("/api/jobs/{job_id}/log")
    def log(job_id: str) -> PlainTextResponse:
        path = manager.folder(manager.get(job_id).id) / "log.txt"
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        return PlainTextResponse(text[-LOG_TAIL:])


def _download_name(job: Job) -> str:
    """``<input stem>_<model><ext>``, reduced to safe characters for the Content-Disposition header."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(job.name).stem).strip("._") or "result"
    return f"{stem[:80]}_{(job.settings or {}).get('model', 'upscaled')}{Path(job.output).suffix}"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    """Every failure as ``{"error": "one line"}``."""
    statuses = {UploadError: None, LookupError: 404, JobStateError: 409, RealBasicVSRError: 422}
    for kind, status in statuses.items():
        app.add_exception_handler(kind, lambda _r, e, s=status: _error(s or e.status, str(e)))
    app.add_exception_handler(HTTPException, lambda _r, e: _error(e.status_code, e.detail))

    def invalid(_request: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p != "body")
        message = first["msg"].removeprefix("Value error, ")
        return _error(422, f"{where}: {message}" if where else message)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, lambda _r, e: _error(500, f"internal error: {type(e).__name__}: {e}"))
