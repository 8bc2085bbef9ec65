"""The training loop end to end on the CPU: exact resume, checkpoints load_model reads, the CLI, Ctrl-C,
and the errors a user can cause."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from realbasicvsr import RealBasicVSRError, load_model
from realbasicvsr.checkpoint import read_checkpoint
from realbasicvsr.models import RealBasicVSRNet
from realbasicvsr.training import train
from realbasicvsr.training.checkpoints import list_checkpoints
from realbasicvsr.training.loop import load_teacher

from .conftest import H264, SMOKE, smoke_config

CLI = [sys.executable, "-m", "realbasicvsr"]


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    obj = read_checkpoint(path)
    flat = {f"sd/{k}": v for k, v in obj["state_dict"].items()}
    for name, opt in obj["optimizers"].items():
        for pid, st in opt["state"].items():
            flat.update({f"opt/{name}/{pid}/{k}": v for k, v in st.items() if isinstance(v, torch.Tensor)})
    return flat


def test_resume_reproduces_an_uninterrupted_run_exactly(tmp_path: Path):
    settings = ["train.checkpoint_every=3", "data.num_workers=1", *H264]
    whole = train(smoke_config(*settings, "train.iterations=6"), tmp_path / "whole", log=lambda s: None)
    part = train(smoke_config(*settings, "train.iterations=3"), tmp_path / "parts", log=lambda s: None)
    assert part.iteration == 3
    resumed = train(smoke_config(*settings, "train.iterations=6"), tmp_path / "parts", resume=True,
                    log=lambda s: None)
    assert resumed.iteration == whole.iteration == 6
    a, b = _tensors(whole.checkpoint), _tensors(resumed.checkpoint)
    assert a.keys() == b.keys() and len(a) > 100
    differing = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differing, differing[:5]
    # the losses of the resumed steps are the uninterrupted run's too
    assert [h["pixel"] for h in whole.history[3:]] == [h["pixel"] for h in resumed.history]
    # and the run really trained: G moved away from its initialisation, EMA differs from G
    sd = read_checkpoint(whole.checkpoint)["state_dict"]
    assert not torch.equal(sd["generator.image_cleaning.1.weight"], sd["generator_ema.image_cleaning.1.weight"])


def test_checkpoints_keep_last_k_and_load_as_models(tmp_path: Path):
    result = train(smoke_config("train.iterations=6", "train.checkpoint_every=2", "train.keep_last=2"),
                   tmp_path, log=lambda s: None)
    assert [i for i, _ in list_checkpoints(tmp_path / "checkpoints")] == [4, 6]
    assert not list((tmp_path / "checkpoints").glob("*.partial"))
    model = load_model(result.checkpoint)  # the EMA generator, sizes read off the tensors
    assert isinstance(model, RealBasicVSRNet) and model.mid_channels == 8
    ema = read_checkpoint(result.checkpoint)["state_dict"]["generator_ema.image_cleaning.1.weight"]
    assert torch.equal(model.state_dict()["image_cleaning.1.weight"], ema)
    lines = [json.loads(s) for s in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == [1, 2, 3, 4, 5, 6]
    assert all(r["pixel"] > 0 and r["cleaning"] > 0 and r["lr"] == 1e-3 for r in lines)
    assert (tmp_path / "config.toml").is_file()


def _write_video(path: Path, n: int = 6, h: int = 32, w: int = 48) -> None:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(n):
            y, x = np.mgrid[0:h, 0:w]
            img = (127 + 100 * np.sin((x + 2 * i) / 4.0)[..., None] * np.cos(y / 5.0)[..., None]).repeat(3, -1)
            for p in s.encode(av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


@pytest.mark.slow
def test_cli_train_then_upscale_with_the_checkpoint(tmp_path: Path):
    work = tmp_path / "run"
    res = subprocess.run([*CLI, "train", str(SMOKE), "--work-dir", str(work), "--set", "train.iterations=2",
                          "--set", "train.log_every=1"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "iter 2/2" in res.stderr and "it/s" in res.stderr and "eta" in res.stderr
    ckpt = work / "checkpoints" / "iter_00000002.pth"
    assert ckpt.is_file()
    video = tmp_path / "in.mp4"
    _write_video(video)
    out = tmp_path / "out.mp4"
    res = subprocess.run([*CLI, "upscale", str(video), "-o", str(out), "--model", str(ckpt), "--no-progress"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    import av

    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 6 and frames[0].shape == (128, 192, 3)
    # a second run into the same folder without --resume is refused; --resume past the end is a no-op
    res = subprocess.run([*CLI, "train", str(SMOKE), "--work-dir", str(work), "--set", "train.iterations=2"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "already holds checkpoints; pass --resume" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_ctrl_c_writes_a_checkpoint_and_resume_continues(tmp_path: Path):
    work = tmp_path / "run"
    # far more iterations than can run before the signal: the run logs a line every 5 steps to stderr, which
    # is a pipe this test stops reading when it signals, so the run blocks after at most a pipe's worth of
    # lines (64 KiB, a few thousand steps) whatever the machine's speed
    cmd = [*CLI, "train", str(SMOKE), "--work-dir", str(work), "--set", "train.iterations=100000",
           "--set", "train.checkpoint_every=1000000", "--set", "data.num_workers=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = work / "log.jsonl"
    seen = []  # signal once the run reports a finished step (its signal handler is in place by then)
    while not (seen and seen[-1].startswith("iter ")):
        seen.append(proc.stderr.readline())
        assert seen[-1], "".join(seen)[-2000:]  # the run ended before its first report
    reported = int(seen[-1].split()[1].split("/")[0])
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    ckpts = list_checkpoints(work / "checkpoints")
    assert len(ckpts) == 1, err[-2000:]
    stopped_at = ckpts[0][0]
    assert reported <= stopped_at < 100000
    assert len(log.read_text().splitlines()) == stopped_at  # the checkpoint holds every finished step
    assert "continue with --resume" in err
    res = subprocess.run([*CLI, "train", str(SMOKE), "--work-dir", str(work), "--resume",
                          "--set", f"train.iterations={stopped_at + 1}", "--set", "data.num_workers=1"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "resumed from" in res.stderr and list_checkpoints(work / "checkpoints")[-1][0] == stopped_at + 1


def test_resume_onto_a_different_config_names_the_setting(tmp_path: Path):
    train(smoke_config("train.iterations=1"), tmp_path, log=lambda s: None)
    with pytest.raises(RealBasicVSRError, match=r"config differs: train.lr \(checkpoint 0.001, now 0.002\)"):
        train(smoke_config("train.iterations=2", "train.lr=2e-3"), tmp_path, resume=True)
    with pytest.raises(RealBasicVSRError, match="no checkpoint in"):
        train(smoke_config(), tmp_path / "empty", resume=True)


def test_data_errors(tmp_path: Path):
    with pytest.raises(RealBasicVSRError, match="no such file or folder"):
        train(smoke_config("data.source=folder", f"data.root={tmp_path / 'nope'}"), tmp_path / "w1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RealBasicVSRError, match="holds no videos, frame folders or frames"):
        train(smoke_config("data.source=folder", f"data.root={tmp_path / 'empty'}"), tmp_path / "w2")
    with pytest.raises(RealBasicVSRError, match="data.root is required"):
        train(smoke_config("data.source=reds"), tmp_path / "w3")
    assert not (tmp_path / "w1" / "checkpoints").exists()


def test_init_from_another_architecture(tmp_path: Path):
    other = RealBasicVSRNet(mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1)
    torch.save(other.state_dict(), tmp_path / "other.pth")
    with pytest.raises(RealBasicVSRError, match="another architecture.*init_partial"):
        train(smoke_config(f"model.init={tmp_path / 'other.pth'}"), tmp_path / "w")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(RealBasicVSRError, match="not a readable PyTorch checkpoint"):
        train(smoke_config(f"model.init={tmp_path / 'junk.pth'}"), tmp_path / "w")


def test_cli_distils_from_a_teacher_file_and_refuses_one_at_another_scale(tmp_path: Path):
    """`train --set loss.distill_weight=... --set loss.distill_teacher=FILE` logs the distil loss and writes a
    checkpoint; a teacher at another scale, or a file that is no checkpoint, is one line and exit 2."""
    torch.manual_seed(0)
    x4, x2 = tmp_path / "teacher_x4.pth", tmp_path / "teacher_x2.pth"
    torch.save(RealBasicVSRNet(8, 1, 1, head_channels=8).state_dict(), x4)
    torch.save(RealBasicVSRNet(8, 1, 1, upscale=2, head_channels=8).state_dict(), x2)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    base = [*CLI, "train", str(SMOKE), "--set", "train.iterations=1", "--set", "train.log_every=1",
            "--set", "loss.distill_weight=1", "--set", "loss.distill_ensemble=2"]
    res = subprocess.run([*base, "--work-dir", str(tmp_path / "ok"), "--set", f"loss.distill_teacher={x4}"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    log = [json.loads(line) for line in (tmp_path / "ok" / "log.jsonl").read_text().splitlines()]
    assert any(r.get("distill", 0) > 0 for r in log), log
    assert (tmp_path / "ok" / "checkpoints" / "iter_00000001.pth").is_file()
    for teacher, message in ((x2, "upscales x2, the model x4"), (tmp_path / "junk.pth", "not a readable")):
        res = subprocess.run([*base, "--work-dir", str(tmp_path / teacher.stem), "--set",
                              f"loss.distill_teacher={teacher}"], capture_output=True, text=True, timeout=300)
        assert res.returncode == 2 and message in res.stderr, res.stderr[-2000:]
        assert len(res.stderr.strip().splitlines()) == 1
        assert not (tmp_path / teacher.stem / "checkpoints").exists()


def test_cli_distils_from_a_two_stage_teacher(tmp_path: Path):
    """`--set loss.distill_then=FILE`: the teacher is the first model, its output shrunk back to the input size
    by antialiased bicubic, then the second model (what `load_teacher` builds, checked by hand); a second stage
    at another scale is one line and exit 2."""
    torch.manual_seed(0)
    first, then, x2 = tmp_path / "first.pth", tmp_path / "then.pth", tmp_path / "x2.pth"
    torch.save(RealBasicVSRNet(8, 1, 1, head_channels=8).state_dict(), first)
    torch.save(RealBasicVSRNet(8, 1, 1, head_channels=8).state_dict(), then)
    torch.save(RealBasicVSRNet(8, 1, 1, upscale=2, head_channels=8).state_dict(), x2)
    config = smoke_config("loss.distill_weight=1", f"loss.distill_teacher={first}", f"loss.distill_then={then}")
    teacher = load_teacher(config, torch.device("cpu"))
    lq = torch.rand(1, 3, 3, 12, 16)
    a, b = load_model(str(first)), load_model(str(then))
    with torch.no_grad():
        small = F.interpolate(a(lq)[0].clamp(0, 1), size=(12, 16), mode="bicubic", antialias=True)
        assert torch.allclose(teacher(lq), b(small[None]), atol=1e-6)
    assert not any(p.requires_grad for p in teacher.parameters())
    base = [*CLI, "train", str(SMOKE), "--set", "train.iterations=1", "--set", "train.log_every=1",
            "--set", "loss.distill_weight=1", "--set", "loss.distill_ensemble=1",
            "--set", f"loss.distill_teacher={first}"]
    res = subprocess.run([*base, "--work-dir", str(tmp_path / "ok"), "--set", f"loss.distill_then={then}"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    log = [json.loads(line) for line in (tmp_path / "ok" / "log.jsonl").read_text().splitlines()]
    assert any(r.get("distill", 0) > 0 for r in log), log
    res = subprocess.run([*base, "--work-dir", str(tmp_path / "bad"), "--set", f"loss.distill_then={x2}"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "loss.distill_then" in res.stderr and "upscales x2, the model x4" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "bad" / "checkpoints").exists()


def test_init_partial_copies_matching_tensors(tmp_path: Path):
    from realbasicvsr.training import build_generator

    x4 = build_generator(smoke_config())
    torch.save(x4.state_dict(), tmp_path / "x4.pth")
    x2 = build_generator(smoke_config("model.upscale=2", f"model.init={tmp_path / 'x4.pth'}", "model.init_partial=true"))
    assert x2.upscale == 2
    same = [k for k, v in x2.state_dict().items() if k in x4.state_dict() and torch.equal(v, x4.state_dict()[k])]
    assert "image_cleaning.0.main.0.weight" in same and "basicvsr.backward_resblocks.main.0.weight" in same


def test_supersampled_x2_starts_as_the_x4_init_averaged_down_and_trains(tmp_path: Path):
    from realbasicvsr.training import build_generator

    x4 = build_generator(smoke_config()).eval()
    torch.save(x4.state_dict(), tmp_path / "x4.pth")
    settings = ("model.upscale=2", "model.supersample=2", f"model.init={tmp_path / 'x4.pth'}",
                "model.init_partial=true")
    x2 = build_generator(smoke_config(*settings)).eval()
    lq = torch.rand(1, 2, 3, 12, 12)
    with torch.no_grad():
        pooled = torch.nn.functional.avg_pool2d(x4(lq).flatten(0, 1), 2).unflatten(0, (1, 2))
        assert x2(lq).shape == (1, 2, 3, 24, 24) and (x2(lq) - pooled).abs().max() <= 1e-6
    train(smoke_config(*settings, "train.iterations=1", "train.batch_size=1", "data.clip_length=2"),
          tmp_path / "w", log=lambda s: None)
    trained = load_model(tmp_path / "w" / "checkpoints" / "iter_00000001.pth")
    assert trained.upscale == 2 and trained.basicvsr.head_scale == 4


def test_full_disk_leaves_no_half_written_checkpoint(tmp_path: Path, monkeypatch):
    import realbasicvsr.training.checkpoints as ck

    def full(payload, f):
        Path(f).write_bytes(b"\0" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ck.torch, "save", full)
    with pytest.raises(RealBasicVSRError, match="cannot write .*iter_00000001.pth: disk full"):
        train(smoke_config("train.iterations=1"), tmp_path, log=lambda s: None)
    assert list((tmp_path / "checkpoints").iterdir()) == []


def test_tensorboard_scalars_when_installed(tmp_path: Path, monkeypatch):
    """With the optional tensorboard package, every step's losses are written as scalars."""
    import types

    written: list[tuple[str, float, int]] = []

    class Writer:
        def __init__(self, logdir: str) -> None:
            assert logdir == str(tmp_path / "tensorboard")

        def add_scalar(self, tag: str, value: float, step: int) -> None:
            written.append((tag, value, step))

        def close(self) -> None:
            written.append(("closed", 0.0, 0))

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=Writer))
    train(smoke_config("train.iterations=2", "train.batch_size=1", "data.clip_length=2"), tmp_path, log=lambda s: None)
    assert [(t, s) for t, _, s in written if t.startswith("loss/")] == [
        ("loss/pixel", 1), ("loss/cleaning", 1), ("loss/pixel", 2), ("loss/cleaning", 2)]
    assert written[-1][0] == "closed"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_gloo_ranks_match_one_process(tmp_path: Path):
    """2 CPU ranks x 1 clip: one set of checkpoints (rank 0), ranks verified in sync at every checkpoint, and
    the weights equal a single process with 2 clips per step (same items, averaged gradients)."""
    settings = ["train.iterations=3", "train.checkpoint_every=1", "train.keep_last=5", "data.clip_length=2",
                "data.num_workers=0", *H264]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
           "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "realbasicvsr", "train",
           str(SMOKE), "--work-dir", str(tmp_path / "ddp"), "--set", "train.batch_size=1"]
    for s in settings:
        cmd += ["--set", s]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stderr.count("trained 3 iterations") == 1  # rank 0 alone reports and writes
    files = sorted(p.name for p in (tmp_path / "ddp" / "checkpoints").iterdir())
    assert files == ["iter_00000001.pth", "iter_00000002.pth", "iter_00000003.pth"]
    assert len((tmp_path / "ddp" / "log.jsonl").read_text().splitlines()) == 3
    ddp = read_checkpoint(tmp_path / "ddp" / "checkpoints" / "iter_00000003.pth")["state_dict"]
    single = train(smoke_config(*settings, "train.batch_size=2"), tmp_path / "single", log=lambda s: None)
    one = read_checkpoint(single.checkpoint)["state_dict"]
    assert ddp.keys() == one.keys()
    worst = max(float((ddp[k].float() - one[k].float()).abs().max()) for k in one)
    assert worst < 1e-5, worst
    assert isinstance(load_model(tmp_path / "ddp" / "checkpoints" / "iter_00000003.pth"), RealBasicVSRNet)


def _write_val_set(root: Path, lq_side: int, frames: int = 3, paired: bool = True) -> None:
    from realbasicvsr.io import write_image
    from realbasicvsr.data import synthetic_sequence

    gt = synthetic_sequence(9, size=lq_side * 4, num_frames=frames).read(range(frames))
    for sub in (["lq/clipA", "gt/clipA"] if paired else ["clipA"]):
        (root / sub).mkdir(parents=True)
    for i, f in enumerate(gt):
        lq = f.reshape(lq_side, 4, lq_side, 4, 3).mean(axis=(1, 3)).round().astype(np.uint8)
        write_image(root / ("lq/clipA" if paired else "clipA") / f"{i:08d}.png", lq)
        if paired:
            write_image(root / "gt/clipA" / f"{i:08d}.png", f)


def test_validation_scores_keeps_the_best_and_writes_crops(tmp_path: Path):
    _write_val_set(tmp_path / "val_set", 16)
    lines: list[str] = []
    result = train(smoke_config("train.iterations=2", "train.batch_size=1", "data.clip_length=2",
                                f"val.root={tmp_path / 'val_set'}", "val.every=1"), tmp_path / "run",
                   log=lines.append)
    assert [s.split(":")[0] for s in lines if s.startswith("validation")] == ["validation @ 1", "validation @ 2"]
    psnr = [float(s.split("PSNR ")[1].split()[0]) for s in lines if s.startswith("validation")]
    assert all(10 < p < 60 for p in psnr)
    from realbasicvsr.io import read_image

    sheet = read_image(tmp_path / "run" / "val" / "iter_00000002.png")
    assert sheet.shape == (64, 3 * 64 + 2 * 4, 3)  # LQ (nearest x4) | output | GT
    best = read_checkpoint(tmp_path / "run" / "checkpoints" / "best.pth")
    assert best["meta"]["best"]["metric"] == "psnr"
    assert best["meta"]["best"]["value"] == pytest.approx(max(psnr), abs=1e-3)
    assert result.iteration == 2


def test_validation_without_ground_truth_uses_niqe(tmp_path: Path):
    _write_val_set(tmp_path / "lq_only", 48, frames=2, paired=False)
    lines: list[str] = []
    train(smoke_config("train.iterations=1", "train.batch_size=1", "data.clip_length=2",
                       f"val.root={tmp_path / 'lq_only'}", "val.paired=false"), tmp_path / "run", log=lines.append)
    line = next(s for s in lines if s.startswith("validation @ 1"))
    assert 0 < float(line.split("NIQE ")[1]) < 100
    with pytest.raises(RealBasicVSRError, match="needs a sub-folder named"):
        train(smoke_config("train.iterations=1", f"val.root={tmp_path / 'lq_only'}"), tmp_path / "run2")


def test_paired_validation_can_add_niqe_and_still_keeps_the_best_by_psnr(tmp_path: Path):
    """val.niqe: a GAN stage's validation shows texture (NIQE) beside PSNR/SSIM; best.pth still follows PSNR."""
    _write_val_set(tmp_path / "val_set", 48, frames=2)
    lines: list[str] = []
    train(smoke_config("train.iterations=1", "train.batch_size=1", "data.clip_length=2", "val.niqe=true",
                       f"val.root={tmp_path / 'val_set'}", "val.every=1"), tmp_path / "run", log=lines.append)
    line = next(s for s in lines if s.startswith("validation @ 1"))
    assert 10 < float(line.split("PSNR ")[1].split()[0]) < 60
    assert 0 < float(line.split("NIQE ")[1]) < 100
    best = read_checkpoint(tmp_path / "run" / "checkpoints" / "best.pth")
    assert best["meta"]["best"]["metric"] == "psnr"


def test_manifest_source_pans_over_photos_and_reads_videos(tmp_path: Path):
    """data.source = "manifest": the files of one split of scripts/fetch_training_data.py's manifest."""
    from realbasicvsr.io import write_image
    from realbasicvsr.training.data import build_dataset

    rng = np.random.default_rng(0)
    write_image(tmp_path / "a.png", rng.integers(0, 255, (200, 260, 3), dtype=np.uint8))
    _write_video(tmp_path / "v.mp4", n=8, h=80, w=96)
    files = [{"path": "a.png", "kind": "photo", "split": "train"}, {"path": "v.mp4", "kind": "video", "split": "train"},
             {"path": "held_out.png", "kind": "photo", "split": "eval"}]
    (tmp_path / "manifest.json").write_text(json.dumps({"files": files}))
    config = smoke_config("data.source=manifest", f"data.root={tmp_path / 'manifest.json'}", "data.pans_per_photo=3")
    ds = build_dataset(config)
    assert [type(s).__name__ for s in ds.sequences] == ["PanSequence"] * 3 + ["VideoSequence"]
    lq, gt, _ = ds[(0, 3)]  # the video
    assert lq.shape == (8, 3, 16, 16) and gt.shape == (8, 3, 64, 64)
    with pytest.raises(RealBasicVSRError, match="lists no files of split 'test'"):
        build_dataset(smoke_config("data.source=manifest", f"data.root={tmp_path / 'manifest.json'}", "data.split=test"))
    with pytest.raises(RealBasicVSRError, match="no manifest at"):
        build_dataset(smoke_config("data.source=manifest", f"data.root={tmp_path / 'nope.json'}"))


def test_init_partial_into_a_deeper_model_keeps_its_function(tmp_path: Path):
    """Growing 1 -> 3 propagation blocks from a checkpoint: the new blocks start as identity, so the deeper
    model's output equals the shallow one's exactly, and the grown blocks are still trainable (not frozen)."""
    from realbasicvsr.training import build_generator

    shallow = build_generator(smoke_config("model.num_propagation_blocks=1"))
    with torch.no_grad():  # non-trivial weights everywhere, so a wrongly loaded block would show
        for p in shallow.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    torch.save(shallow.state_dict(), tmp_path / "shallow.pth")
    logs: list[str] = []
    deep = build_generator(smoke_config("model.num_propagation_blocks=3", f"model.init={tmp_path / 'shallow.pth'}",
                                        "model.init_partial=true"), log=logs.append)
    assert any("4 new residual blocks start as identity" in line for line in logs), logs
    x = torch.rand(1, 3, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(deep.eval()(x), shallow.eval()(x))
    new = deep.basicvsr.forward_resblocks.main[2][2]
    assert not torch.any(new.conv2.weight) and torch.any(new.conv1.weight) and new.conv2.weight.requires_grad


def test_init_partial_widens_a_narrower_model_and_keeps_its_function(tmp_path: Path):
    """8 -> 12 channels and 1 -> 2 blocks: the grown model computes the narrow one's output (the new channels
    cannot reach the old ones at step 0), yet its new channels are live, so training can use them."""
    from realbasicvsr.training import build_generator

    torch.manual_seed(3)
    narrow = RealBasicVSRNet(8, 1, 1, head_channels=8).eval()
    torch.save(narrow.state_dict(), tmp_path / "narrow.pth")
    logs = []
    wide = build_generator(smoke_config("model.mid_channels=12", "model.num_propagation_blocks=2",
                                        "model.num_cleaning_blocks=2", "model.head_channels=8",
                                        f"model.init={tmp_path / 'narrow.pth'}", "model.init_partial=true"),
                           logs.append).eval()
    assert "widened" in logs[0] and "3 new residual blocks start as identity" in logs[0]
    lq = torch.rand(1, 4, 3, 16, 20)
    with torch.no_grad():
        assert (wide(lq) - narrow(lq)).abs().max() < 1e-5
    w = wide.basicvsr.fusion.weight
    assert w.shape == (12, 24, 1, 1) and w[8:].abs().sum() > 0  # new output channels are initialised
    assert w[:8, 8:12].abs().sum() == 0 and w[:8, 20:].abs().sum() == 0  # no path from them into old ones yet


def test_init_from_a_sharpened_file_trains_without_the_output_stage(tmp_path: Path):
    from realbasicvsr.training import build_generator

    net = RealBasicVSRNet(8, 1, 1, head_channels=8, output_sharpen=2.0)
    torch.save(net.state_dict(), tmp_path / "sharp.pth")
    logs = []
    g = build_generator(smoke_config("model.mid_channels=8", "model.num_propagation_blocks=1",
                                     "model.num_cleaning_blocks=1", "model.head_channels=8",
                                     f"model.init={tmp_path / 'sharp.pth'}"), logs.append)
    assert g.basicvsr.output_sharpen is None and "convert --sharpen" in logs[0]
    assert torch.equal(g.basicvsr.fusion.weight, net.basicvsr.fusion.weight)
