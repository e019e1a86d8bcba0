"""The guided loss as a module and as a function (the benchmarks use them), gradcheck of the guided Gram, and
kornia-style shape/exception tests for every public tensor function of losses / guidance / plan."""
from __future__ import annotations

import pytest
import torch

from garmentstyle import guidance, losses
from garmentstyle.encoders.base import LayerGeometry
from garmentstyle.plan import crop_box, exclusive_masks, level_factors, nearest_region_labels


def test_gradcheck_guided_gram():
    torch.manual_seed(0)
    f = torch.randn(1, 3, 5, 4, dtype=torch.float64, requires_grad=True)
    guides = torch.rand(2, 5, 4, dtype=torch.float64) + 0.5
    assert torch.autograd.gradcheck(lambda x: losses.guided_gram(x, guides)[0], (f,), eps=1e-6, atol=1e-5)
    target = torch.randn(3, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda x: losses.gram_loss(losses.guided_gram(x, guides)[0][1], target, norm=2.0), (f,), eps=1e-6, atol=1e-5)


class _Toy(torch.nn.Module):
    """A two-layer encoder with the attributes the loss reads."""

    name = "toy"
    layers = ("a", "b")

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.c1 = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.c2 = torch.nn.Conv2d(4, 4, 3, padding=1, stride=2)
        for p in self.parameters():
            p.data = torch.randn(p.shape, generator=g) * 0.3

    def forward(self, x, layers=None):
        a = torch.relu(self.c1(x))
        b = torch.relu(self.c2(a))
        return {n: v for n, v in (("a", a), ("b", b)) if layers is None or n in layers}


def _setup():
    enc = _Toy()
    masks = torch.zeros(2, 16, 16)
    masks[0, :, :8] = 1
    masks[1, :, 8:] = 1
    guides = {"a": masks.clone(), "b": masks[:, ::2, ::2].clone()}
    targets = [{n: torch.rand(4, 4) for n in ("a", "b")} for _ in range(2)]
    use = losses.usable_layers(guides, ("a", "b"), min_cells=4)
    terms = losses.style_terms(targets, use, gram_norm="target")
    return enc, guides, terms


def test_module_and_functional_twin_agree_and_name_terms():
    enc, guides, terms = _setup()
    x = torch.rand(1, 3, 16, 16)
    mod = losses.GuidedStyleLoss(enc, guides, terms, ["left", "right"], [1.0, 2.0], range_weight=0.0)
    out = mod(x)
    fn = losses.guided_style_loss(enc(x), guides, terms, ["left", "right"], [1.0, 2.0])
    assert set(out) == {"style/left", "style/right", "style", "total"}
    for k in fn:
        assert torch.allclose(out[k], fn[k])
    assert torch.allclose(out["style"], out["style/left"] + 2 * out["style/right"])
    assert torch.allclose(out["total"], out["style"])


def test_range_penalty_content_and_tv_terms():
    enc, guides, terms = _setup()
    x = torch.rand(1, 3, 16, 16) * 1.4 - 0.2
    target = enc(torch.rand(1, 3, 16, 16))["b"]
    mod = losses.GuidedStyleLoss(enc, guides, terms, ["l", "r"], content=("b", target, guides["b"].amax(0), 0.5),
                                 tv_weight=0.1, tv_map=torch.ones(16, 16))
    out = mod(x)
    assert {"content", "tv"} <= set(out)
    penalty = 10.0 * (torch.relu(x - 1) + torch.relu(-x)).square().mean()
    assert torch.allclose(out["total"], out["style"] + 0.5 * out["content"] + 0.1 * out["tv"] + penalty, atol=1e-6)
    assert mod.taps == ("a", "b")


def test_bf16_autocast_keeps_statistics_fp32():
    enc, guides, terms = _setup()
    x = torch.rand(1, 3, 16, 16)
    mod = losses.GuidedStyleLoss(enc, guides, terms, ["l", "r"], autocast=("cpu", torch.bfloat16))
    feats = mod.features(x)
    assert all(f.dtype == torch.float32 for f in feats.values())
    ref = losses.GuidedStyleLoss(enc, guides, terms, ["l", "r"])(x)["style"].detach()
    assert mod(x)["style"].dtype == torch.float32
    with torch.no_grad():
        assert abs(float(mod(x)["style"]) - float(ref)) < 0.05 * float(ref)


def test_style_terms_normalisation():
    t = {"a": torch.eye(4) * 2.0}
    target_norm = losses.style_terms([t], [["a"]], gram_norm="target")
    assert target_norm[0].norm == pytest.approx(16.0, rel=1e-6)
    chan = losses.style_terms([t, t], [["a"], ["a"]], gram_norm="channels", layer_weights={"a": 0.5})
    # one global constant: the loss starts O(1) — Σ ‖A‖²/norm == number of terms
    assert sum(float(x.target.square().sum()) / x.norm for x in chan) == pytest.approx(2.0)


def test_usable_layers_skips_small_guides():
    guides = {"a": torch.ones(2, 8, 8), "b": torch.zeros(2, 2, 2)}
    guides["a"][1] = 0
    assert losses.usable_layers(guides, ("a", "b"), min_cells=16) == [["a"], []]


# ---- kornia-style shape / exception tests, one per public tensor function
@pytest.mark.parametrize("call", [
    lambda: losses.gram(torch.rand(3, 4, 4)),
    lambda: losses.guided_gram(torch.rand(2, 3, 4, 4), torch.ones(1, 4, 4)),
    lambda: losses.guided_gram(torch.rand(1, 3, 4, 4), torch.ones(1, 5, 4)),
    lambda: losses.guided_gram(torch.rand(1, 3, 4, 4), torch.ones(4, 4)),
    lambda: losses.gram_loss(torch.rand(3, 3), torch.rand(4, 4)),
    lambda: losses.gram_loss(torch.rand(3, 4), torch.rand(3, 4)),
    lambda: losses.content_loss(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5), torch.ones(4, 4)),
    lambda: losses.content_loss(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), torch.ones(3, 4)),
    lambda: losses.tv_loss(torch.rand(3, 4, 4)),
    lambda: losses.tv_loss(torch.rand(1, 3, 4, 4), torch.ones(4, 5)),
    lambda: guidance.min_filter(torch.ones(4, 4), 3),
    lambda: guidance.propagate(torch.ones(4, 4), {}, {}),
    lambda: guidance.propagate(torch.ones(1, 4, 4), {}, {"x": (2, 2)}),
    lambda: crop_box(torch.zeros(5, 5), 1),
], ids=lambda f: "")
def test_bad_shapes_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_shapes_of_public_tensor_functions():
    f = torch.rand(1, 5, 6, 7)
    assert losses.gram(f).shape == (1, 5, 5)
    g, valid = losses.guided_gram(f, torch.ones(3, 6, 7))
    assert g.shape == (3, 5, 5) and valid.shape == (3,) and valid.dtype == torch.bool
    assert losses.gram_loss(g[0], g[1]).shape == ()
    assert losses.content_loss(f, f * 0, torch.ones(6, 7)).shape == ()
    assert losses.tv_loss(torch.rand(1, 3, 6, 7), torch.ones(6, 7)).shape == ()
    assert guidance.min_filter(torch.ones(2, 6, 7), 3).shape == (2, 6, 7)
    geo = {"l": LayerGeometry(field=3, stride=2, channels=5, offset=0.5)}
    assert guidance.propagate(torch.ones(2, 12, 14), geo, {"l": (6, 7)})["l"].shape == (2, 6, 7)
    hard = exclusive_masks(torch.ones(2, 4, 4))
    assert hard.dtype == torch.bool and not hard[0].any() and hard[1].all()
    lab = torch.zeros(2, 5, 5, dtype=torch.bool)
    lab[0, 0, 0] = True
    lab[1, 4, 4] = True
    labels = nearest_region_labels(lab)
    assert labels.shape == (5, 5) and labels[0, 1] == 0 and labels[4, 3] == 1
    assert crop_box(lab.any(0), 1) == (0, 5, 0, 5)
    assert level_factors(800)[-1] == 1.0 and len(level_factors(100)) == 1
