"""What makes a job resumable: its work folder, the identity a resume must match, the manifest of finished
segments and the forward state carried past the last one.

A resumed run continues the stream where the manifest stops: it restores the forward branch's state saved
with the last segment, so its frames are exactly those of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path

import torch

from ..atomic import atomic_write, write_text_atomic
from ..report import SettingError
from ..models import ForwardState
from ..nested import differences

MANIFEST_VERSION = 2
_STATE = re.compile(r"state_(\d{6})\.safetensors$")


def work_dir_for(output: Path) -> Path:
    """The hidden folder beside ``output`` that holds an unfinished job."""
    return output.parent / f".{output.name}.realbasicvsr-work"


def input_fingerprint(path: Path) -> dict:
    """Identifies the input well enough to refuse resuming onto a different or modified file."""
    st = path.stat()
    if path.is_dir():
        names = sorted(p.name for p in path.iterdir())
        digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
        return {"path": str(path.resolve()), "files": len(names), "names": digest}
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def model_identity(model_source: str) -> dict:
    """A model by zoo name, or a checkpoint file by path, size and modification time."""
    src = Path(model_source)
    model_id = {"source": str(src.resolve()) if src.exists() else model_source}
    if src.is_file():
        st = src.stat()
        model_id.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    return model_id


def job_identity(input_path: Path, output_kind: str, engine_options, output_options, extra: dict | None = None) -> dict:
    """Everything a resumed run must share with the interrupted one (the device may differ)."""
    engine = {k: v for k, v in asdict(engine_options).items() if k != "device"}
    encoder = {k: getattr(output_options, k) for k in ("codec", "crf", "preset", "pix_fmt", "fps")}  # not callbacks
    return {"input": input_fingerprint(input_path), "output_kind": output_kind, "engine": engine,
            "encoder": encoder, **(extra or {})}


def manifest_name(part: tuple[int, int] | None) -> str:
    """The manifest's file name: one per job, or one per rank of a video split across ``part[1]`` ranks."""
    return "manifest.json" if part is None else f"manifest.rank{part[0]}of{part[1]}.json"


class Manifest:
    """The work folder's record of settings and finished segments, rewritten atomically after each one."""

    def __init__(self, work: Path, identity: dict, name: str = manifest_name(None)) -> None:
        self.path = work / name
        self.identity = identity
        self.segments: list[dict] = []
        self.status = "running"  # "done" or "failed: <why>" tell the other ranks of a split video
        self.cuts: list[int] = []  # scene cuts found so far (first frames of shots), for the record

    @classmethod
    def load(cls, work: Path, identity: dict, name: str = manifest_name(None)) -> "Manifest":
        m = cls(work, identity, name)
        try:
            data = json.loads(m.path.read_text())
        except (OSError, ValueError) as e:
            raise SettingError(f"cannot resume: {m.path} is missing or damaged ({e}); use `overwrite` to start over") from e
        if data.get("version") != MANIFEST_VERSION:
            raise SettingError("cannot resume: the work folder is from another version of realbasicvsr; "
                               "use `overwrite` to start over")
        diff = differences(data.get("identity") or {}, identity)
        if diff:
            more = f" (and {len(diff) - 3} more)" if len(diff) > 3 else ""
            raise SettingError(
                f"cannot resume: {'; '.join(diff[:3])}{more}; use the same options, or `overwrite` to start over"
            )
        m.segments = data["segments"]
        m.cuts = data.get("cuts", [])
        return m

    def save(self) -> None:
        write_text_atomic(self.path, json.dumps({"version": MANIFEST_VERSION, "identity": self.identity,
                                                 "segments": self.segments, "status": self.status,
                                                 "cuts": list(self.cuts)}))

    @staticmethod
    def read_status(path: Path) -> tuple[str, list[dict]]:
        """(status, segments) of another rank's manifest; ("missing", []) before that rank has written it."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return "missing", []
        return data.get("status", "running"), data.get("segments", [])

    @property
    def frames_done(self) -> int:
        return sum(s["frames"] for s in self.segments)


def save_state(work: Path, index: int, state: dict[int, ForwardState] | None) -> None:
    """Keep the forward state after segment ``index`` (strides included, so a resume computes bit for bit
    what the uninterrupted run computed); call before the manifest records that segment."""
    if not state:
        return
    from safetensors.torch import save_file

    tensors, meta = {}, {}
    for key, st in state.items():
        for name, t in st.tensors().items():
            tensors[f"{key}.{name}"] = t.detach().contiguous().cpu()
            meta[f"{key}.{name}"] = json.dumps(list(t.stride()))
    atomic_write(work / f"state_{index:06d}.safetensors", lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def drop_states_before(work: Path, index: int) -> None:
    """Remove the states of segments before ``index`` (once the manifest has moved past them)."""
    for p in work.glob("state_*.safetensors"):
        m = _STATE.match(p.name)
        if m and int(m.group(1)) < index:
            p.unlink(missing_ok=True)


def load_state(work: Path, index: int) -> dict[int, ForwardState] | None:
    """The state saved after segment ``index``, or None when there is none (then the stream re-reads left
    context instead: close to, but not bit-identical with, an uninterrupted run)."""
    path = work / f"state_{index:06d}.safetensors"
    if index < 0 or not path.is_file():
        return None
    from safetensors import safe_open

    def restore(f, name: str) -> torch.Tensor:
        t = f.get_tensor(name)
        out = torch.empty_strided(t.shape, json.loads(f.metadata()[name]), dtype=t.dtype)
        return out.copy_(t)

    try:
        with safe_open(str(path), framework="pt") as f:
            keys = sorted({int(k.split(".")[0]) for k in f.keys()})
            names = {k: [n.split(".", 1)[1] for n in f.keys() if n.split(".")[0] == str(k)] for k in keys}
            return {k: ForwardState(**{n: restore(f, f"{k}.{n}") for n in names[k]}) for k in keys}
    except Exception as e:  # noqa: BLE001 - a damaged state file is a reason to refuse, not to crash
        raise SettingError(f"cannot resume: {path} is damaged ({type(e).__name__}); use `overwrite` to start over") from e
