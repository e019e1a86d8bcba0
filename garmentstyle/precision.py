"""Reduced precision for the encoder where the hardware has it: bf16 autocast on CUDA and on CPUs with native bf16
(AVX-512-BF16 or AMX); Grams and losses always stay fp32 (:class:`garmentstyle.losses.GuidedStyleLoss` casts the
features before any statistic).

``precision``: "auto" (bf16 for the VGG19 encoder on a CUDA GPU with native bf16, else fp32), "fp32" (force), "bf16"
(bf16 wherever it is native, CPUs with AVX-512-BF16/AMX included; elsewhere fp32 with a note saying why — emulated
bf16 is slower than fp32).

Why "auto" keeps CPUs in fp32: on this project's AVX-512-BF16 CPU, bf16 was only 0.63–0.84× the fp32 time per
evaluation, and a 192 px / 15-iteration VGG19 render ended with a 76 % higher style loss than fp32 (128 px: equal;
256 px: 13 % lower) — not within the 5 % the project asks of an automatic choice (bench/RESULTS.md, "Transfer",
bench/bench_vgg19.py; measured with randomly initialised weights). On CUDA bf16 stays automatic, unmeasured here (no
GPU was lent); ``precision="fp32"`` forces full precision there.

The style targets are different: one no-grad pass per fabric, before the first gradient, whose Grams are only
compared, never differentiated. In bf16 that pass takes 0.56–0.61× the fp32 time on this CPU, with Gram errors of
0.3–0.9 % against fp32 (the seven bundled fabrics, every VGG19 style layer) — below the targets' own sampling error
(0.5–10 % against a larger canvas). So "auto" and "bf16" measure them in bf16 wherever bf16 is native
(:func:`targets_autocast_for`); "fp32" keeps them fp32.
The offline texture encoder stays fp32 under "auto": its default render does not optimise at all, and its
noise-start quality has not been measured in bf16.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

import torch

from .options import PRECISIONS

__all__ = ["PRECISIONS", "cpu_has_native_bf16", "autocast_for", "targets_autocast_for"]


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (``avx512_bf16`` or ``amx_bf16`` in /proc/cpuinfo on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        pass
    return False


def _check(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")


def _native(device: torch.device) -> bool:
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return cpu_has_native_bf16()
    return False


def autocast_for(precision: str, device: torch.device | str, encoder) -> tuple[Optional[tuple[str, torch.dtype]],
                                                                              Optional[str]]:
    """``((device_type, dtype) or None, note or None)`` for :class:`~garmentstyle.losses.GuidedStyleLoss`.

    Raises: ValueError for an unknown ``precision`` (RenderOptions validates it first)."""
    _check(precision)
    device = torch.device(device)
    if precision == "fp32":
        return None, None
    native = _native(device)
    if precision == "auto":
        if native and device.type == "cuda" and getattr(encoder, "name", "") == "vgg19":
            return (device.type, torch.bfloat16), None
        return None, None
    if not native:
        return None, (f"precision bf16 asked for, but {device.type} here has no native bf16 (AVX-512-BF16/AMX or a "
                      "bf16 GPU); ran in fp32")
    return (device.type, torch.bfloat16), None


def targets_autocast_for(precision: str, device: torch.device | str, encoder) -> Optional[tuple[str, torch.dtype]]:
    """``(device_type, dtype)`` for the style-target pass, or None (fp32): bf16 for the VGG19 encoder wherever it
    is native, unless ``precision`` is "fp32". The offline texture encoder stays fp32 (its targets are cheap).

    Raises: ValueError for an unknown ``precision``."""
    _check(precision)
    device = torch.device(device)
    if precision == "fp32" or getattr(encoder, "name", "") != "vgg19" or not _native(device):
        return None
    return (device.type, torch.bfloat16)
