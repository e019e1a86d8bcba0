"""precision="auto" picks bf16 only where it was shown safe enough (CUDA); CPUs stay fp32 unless bf16 is asked for."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from garmentstyle import precision

VGG = SimpleNamespace(name="vgg19")
TEXTURE = SimpleNamespace(name="texture")


@pytest.fixture
def native_cpu(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)


def test_auto_keeps_a_bf16_cpu_in_fp32(native_cpu):
    assert precision.autocast_for("auto", "cpu", VGG) == (None, None)


def test_bf16_asked_for_on_a_native_cpu_is_used(native_cpu):
    assert precision.autocast_for("bf16", "cpu", VGG) == (("cpu", torch.bfloat16), None)


def test_bf16_asked_for_without_native_support_runs_fp32_and_says_so(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    ctx, note = precision.autocast_for("bf16", "cpu", VGG)
    assert ctx is None and "no native bf16" in note


def test_auto_on_a_bf16_gpu_uses_bf16_for_vgg_only(monkeypatch):
    monkeypatch.setattr(precision, "_native", lambda device: device.type == "cuda")
    assert precision.autocast_for("auto", "cuda", VGG) == (("cuda", torch.bfloat16), None)
    assert precision.autocast_for("auto", "cuda", TEXTURE) == (None, None)


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of"):
        precision.autocast_for("fp8", "cpu", VGG)


def test_style_targets_are_measured_in_bf16_wherever_it_is_native_unless_fp32_is_asked(native_cpu):
    """The target pass is measured once and never differentiated: bf16 under "auto" and "bf16" where native."""
    bf16 = ("cpu", torch.bfloat16)
    assert precision.targets_autocast_for("auto", "cpu", VGG) == bf16
    assert precision.targets_autocast_for("bf16", "cpu", VGG) == bf16
    assert precision.targets_autocast_for("fp32", "cpu", VGG) is None
    assert precision.targets_autocast_for("auto", "cpu", TEXTURE) is None
    with pytest.raises(ValueError, match="precision must be one of"):
        precision.targets_autocast_for("fp8", "cpu", VGG)


def test_style_targets_stay_fp32_without_native_bf16(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert precision.targets_autocast_for("auto", "cpu", VGG) is None
    assert precision.targets_autocast_for("bf16", "cpu", VGG) is None
