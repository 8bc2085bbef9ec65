"""The web server's worker, pausing after the first chunk it writes unless that chunk ends the job, until the
server stops or cancels it (closes its stdin, or SIGTERM), which then lands at a known frame whatever the
machine's speed. The server's tests start it through ``realbasicvsr.web.jobs.WORKER_COMMAND``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

from realbasicvsr.web import worker
from realbasicvsr.web.jobs import JobSettings

_run = worker.run


def run_pausing(inp: Path, out: Path, settings: JobSettings, fresh: bool, send: Callable[[dict], None]) -> dict:
    """``worker.run``, its first progress report short of the end followed by a wait for the stop."""
    reports = []

    def send_then_pause(message: dict) -> None:
        send(message)
        if "progress" in message:
            reports.append(message)
            done, total = message["progress"]
            while len(reports) == 1 and done < total:
                time.sleep(0.05)  # the stop arrives as KeyboardInterrupt (the worker's stdin watch or SIGTERM)

    return _run(inp, out, settings, fresh, send_then_pause)


if __name__ == "__main__":
    worker.run = run_pausing
    sys.exit(worker.main())
