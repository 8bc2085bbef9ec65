"""``realbasicvsr serve``: the local web page (drop a video, compare a frame, run, download; realbasicvsr.web)."""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from pathlib import Path

from ..errors import RealBasicVSRError

MIN_TOKEN_LENGTH = 8


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="a local web page: drop videos, preview before/after, upscale, download",
                       description="Serve a web page for upscaling: drop videos or images, compare a frame before "
                       "and after, run with live progress, download the result. Jobs are kept in --jobs and "
                       "resume after a restart. Needs the web extra: pip install 'realbasicvsr[web]'.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only). Any other needs --token, and "
                   "other machines must use this address (the Host header is checked)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--jobs", default=None, metavar="DIR",
                   help="folder for the jobs: uploads, logs and results (default: web-jobs in the cache folder)")
    p.add_argument("--token", default=None,
                   help="a secret every request must carry (open http://HOST:PORT/?token=TOKEN); without it a "
                   "random one is made and embedded in the page")
    p.add_argument("--max-upload-mb", type=int, default=4096, metavar="N", help="largest upload in MB (default 4096)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..extras import missing_extra, require_extra
    from ..hub import cache_dir

    require_extra("web", "serve")
    try:
        import uvicorn

        from ..web.app import create_app
        from ..web.security import is_loopback
    except ImportError as e:  # installed but broken (a dependency of fastapi missing)
        raise missing_extra("web", "serve", e.name) from e
    if not 0 < args.port < 65536:
        raise RealBasicVSRError("--port must be between 1 and 65535")
    if args.max_upload_mb < 1:
        raise RealBasicVSRError("--max-upload-mb must be at least 1")
    if args.token is not None and len(args.token) < MIN_TOKEN_LENGTH:
        raise RealBasicVSRError(f"--token must have at least {MIN_TOKEN_LENGTH} characters to be a secret")
    if not is_loopback(args.host):
        print(f"realbasicvsr serve: warning: --host {args.host} makes the page reachable from other machines; "
              "anyone with the token can upload files and run jobs here", file=sys.stderr)
        if args.token is None:
            raise RealBasicVSRError(f"--host {args.host} is reachable from other machines: pass --token SECRET too")
    jobs = Path(args.jobs) if args.jobs else cache_dir() / "web-jobs"
    try:  # bound here, so a busy port is a one-line error before anything starts
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.create_server((args.host, args.port), family=family)
    except OSError as e:
        where = f"cannot listen on {args.host}:{args.port}"
        if e.errno == errno.EADDRINUSE:
            raise RealBasicVSRError(f"{where}: the port is in use (try another --port)") from e
        raise RealBasicVSRError(f"{where}: {e.strerror or e}") from e
    with sock:
        app = create_app(jobs, host=args.host, port=args.port, token=args.token, max_upload_mb=args.max_upload_mb)
        shown = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{shown}:{args.port}/" + (f"?token={args.token}" if args.token else "")
        print(f"realbasicvsr serve: open {url} (jobs in {jobs}; Ctrl-C stops)", file=sys.stderr, flush=True)
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
        try:
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn shuts down on Ctrl-C, then raises it again: the normal way out
            pass
    print("realbasicvsr serve: stopped (unfinished jobs continue on the next start)", file=sys.stderr)
    return 0
