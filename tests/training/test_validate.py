"""Validation results: which way each metric is better decides best.pth."""

from __future__ import annotations

from realbasicvsr.training.validate import ValidationResult


def test_better_follows_the_metrics_direction():
    psnr = ValidationResult("psnr", {"psnr": 27.5, "ssim": 0.81, "niqe": 5.0})
    assert psnr.value == 27.5 and psnr.better_than(None) and psnr.better_than(27.4) and not psnr.better_than(27.5)
    assert psnr.summary == "PSNR 27.5000  SSIM 0.8100  NIQE 5.0000"
    niqe = ValidationResult("niqe", {"niqe": 4.2})
    assert niqe.better_than(4.3) and not niqe.better_than(4.1)
