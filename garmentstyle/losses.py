"""Loss terms as small pure functions (with shapes), shared by the transfer loop and the tests.

The guided Gram matrix follows the official code of Gatys et al. (2017): a weighted mean of feature outer products
over the region, ``G_r = Σ_p T_r(p)² f_p f_pᵀ / Σ_p T_r(p)²``. Normalising by the guide's mass (not by H·W, as one
library does) keeps style strength independent of the region's area: a sleeve and a bodice meet the same target.
"""
from __future__ import annotations

import torch


def gram(features: torch.Tensor) -> torch.Tensor:
    """Plain Gram matrix, mean over positions. Args: ``(B, C, h, w)``. Returns ``(B, C, C)``."""
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def guided_gram(features: torch.Tensor, guides: torch.Tensor, *, min_mass: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Guided Gram matrices, one per region.

    Args:
        features: ``(1, C, h, w)`` (or ``(C, h, w)``) feature map.
        guides: ``(R, h, w)`` guidance channels in [0, 1] at the same resolution.
        min_mass: a region whose squared-guide mass Σ T² is below this gets a zero matrix and ``valid = False``.

    Returns:
        ``(R, C, C)`` Gram matrices and ``(R,)`` bool ``valid`` flags.
    """
    f = features.reshape(features.shape[-3], -1)  # (C, N)
    w = guides.reshape(guides.shape[0], -1).square()  # (R, N)
    mass = w.sum(dim=1)  # (R,)
    valid = mass >= min_mass
    grams = []
    for r in range(w.shape[0]):
        if not bool(valid[r]):
            grams.append(f.new_zeros(f.shape[0], f.shape[0]))
            continue
        idx = w[r] > 0
        fr = f[:, idx]
        wr = w[r, idx]
        grams.append((fr * wr) @ fr.T / mass[r])
    return torch.stack(grams), valid


def gram_loss(g: torch.Tensor, target: torch.Tensor, *, norm: float | None = None) -> torch.Tensor:
    """Squared Frobenius distance ``‖G − A‖² / norm``; ``(C, C)`` → scalar.

    ``norm`` defaults to C² (layer weights ∝ 1/C_l², Gatys 2016); the transfer passes ‖A‖² for encoders whose
    ``gram_norm`` is "target".
    """
    c = g.shape[-1]
    return (g - target).square().sum() / (c * c if norm is None else norm)


def content_loss(features: torch.Tensor, target: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """Mean squared feature difference inside ``guide``.

    Args: features / target ``(1, C, h, w)``; guide ``(h, w)`` in [0, 1]. Returns a scalar (0 for an empty guide).
    """
    mass = guide.sum()
    if float(mass) <= 0:
        return features.new_zeros(())
    diff = (features - target).square().mean(dim=1)[0]
    return (diff * guide).sum() / mass


def tv_loss(image: torch.Tensor, weight_map: torch.Tensor | None = None) -> torch.Tensor:
    """Total variation (squared neighbour differences), optionally only where ``weight_map`` ``(H, W)`` is 1.

    Args: image ``(1, 3, H, W)``. Returns a scalar, mean over the counted pixels.
    """
    dx = (image[..., :, 1:] - image[..., :, :-1]).square().sum(dim=1)[0]
    dy = (image[..., 1:, :] - image[..., :-1, :]).square().sum(dim=1)[0]
    if weight_map is None:
        return dx.mean() + dy.mean()
    wx = weight_map[:, 1:] * weight_map[:, :-1]
    wy = weight_map[1:, :] * weight_map[:-1, :]
    return (dx * wx).sum() / wx.sum().clamp_min(1.0) + (dy * wy).sum() / wy.sum().clamp_min(1.0)
