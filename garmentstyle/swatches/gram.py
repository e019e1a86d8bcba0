"""Gram-loss texture synthesis on a wrap-around canvas (Gatys, Ecker & Bethge 2015), with VGG19.

The canvas is a torus: a copy of the encoder whose convolutions pad circularly (``padding_mode="circular"``) sees
the canvas's right edge continue into its left edge, and with a side that is a multiple of 16 the pooling grid
closes too, so the loss has no boundary and the result tiles by construction. Targets are the Gram matrices of the
(light-flattened) photo at the encoder's style layers, measured on the photo's interior (away from its real, zero-
padded borders). Optimised with L-BFGS from the photo's mean colour plus noise. Used by
:func:`garmentstyle.swatches.prepare` when the VGG19 weights are present (``synthesizer="auto"``) or asked for
(``synthesizer="gram"``); offline it is image quilting instead (the ``texture`` encoder breaks regular structure,
bench/RESULTS.md).
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from .. import encoders
from ..losses import gram, gram_loss
from ..solvers import LBFGS, Evaluate, Evaluation

#: L-BFGS iterations by default (CPU: about a second each at 256 px; a GPU makes them cheap).
ITERATIONS = 60


def circular(encoder: nn.Module) -> nn.Module:
    """A copy of ``encoder`` whose convolutions pad circularly (the original is untouched)."""
    enc = copy.deepcopy(encoder)
    for m in enc.modules():
        if isinstance(m, nn.Conv2d) and m.padding != (0, 0):
            m.padding_mode = "circular"
    return enc


def synthesize_gram(flat: np.ndarray, size: int, *, seed: int = 0, iterations: int = ITERATIONS,
                    encoder: nn.Module | None = None, device: str = "cpu",
                    check: Callable[[], None] | None = None) -> tuple[np.ndarray, int]:
    """A seamless ``(s, s, 3)`` tile (s = ``size`` rounded down to a multiple of 16) with the photo's texture.

    Args:
        flat: ``(H, W, 3)`` float32 in [0, 1], the light-flattened photo.
        size: wanted tile side in px.
        iterations: L-BFGS iterations.
        encoder: the feature extractor (default ``encoders.get("vgg19")``: needs the weights).
        check: called before each L-BFGS evaluation; raises to stop (a cancelled render).
    Returns: (tile, iterations run).
    """
    enc = encoder if encoder is not None else encoders.get("vgg19", device=device)
    layers = tuple(enc.style_layers)
    torus = circular(enc).to(device)
    side = max(32, (size // 16) * 16)
    src = torch.from_numpy(np.ascontiguousarray(flat)).permute(2, 0, 1)[None].float().to(device)
    with torch.no_grad():
        feats = enc(src, layers)
        targets = {}
        for n, f in feats.items():  # leave out the cells that saw the photo's zero-padded border
            m = max(1, f.shape[-1] // 16)
            inner = f[..., m: f.shape[-2] - m, m: f.shape[-1] - m] if min(f.shape[-2:]) > 2 * m + 2 else f
            targets[n] = gram(inner)[0]
    gen = torch.Generator().manual_seed(seed)
    mean = src.mean(dim=(2, 3), keepdim=True).cpu()
    x = (mean + 0.1 * torch.randn(1, 3, side, side, generator=gen)).clamp(0, 1).to(device)
    runs = 0

    def evaluate(point: torch.Tensor) -> Evaluation:
        nonlocal runs
        if check is not None:
            check()
        p = point.detach().requires_grad_(True)
        with torch.enable_grad():
            out = torus(p.clamp(0, 1), layers)
            loss = sum(gram_loss(gram(out[n])[0], targets[n]) for n in layers)
            loss.backward()
        runs += 1
        return Evaluation(loss=float(loss.detach()), grad=p.grad.detach())

    x = _minimise(evaluate, x, iterations)
    tile = x.detach().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
    return tile, runs


def _minimise(evaluate: Evaluate, x: torch.Tensor, iterations: int) -> torch.Tensor:
    """L-BFGS (history 20, strong Wolfe) for ``iterations`` iterations or 1.25× as many evaluations, stopping early
    when the loss stops changing (by < 1e-9) or the gradient vanishes (< 1e-7)."""
    solver = LBFGS(history=20, tolerance_grad=1e-7, tolerance_change=1e-9)
    ev = evaluate(x)
    budget, used = iterations * 5 // 4, 1
    for _ in range(iterations):
        solver.max_line_search = max(1, min(25, budget - used))  # the line search shares the evaluation budget
        out = solver.step(x, ev, evaluate)
        if out is None:
            break
        x, new, n = out
        used += n
        change, ev = abs(new.loss - ev.loss), new
        if change < 1e-9 or used >= budget:
            break
    return x
