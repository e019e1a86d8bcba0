"""Encoders: one interface, reproducible offline encoder, honest `auto` choice."""
from __future__ import annotations

import pytest
import torch

from garmentstyle import encoders
from garmentstyle.encoders.texture import TextureEncoder
from garmentstyle.encoders.vgg19 import VGG19Encoder
from garmentstyle.errors import InputError, OptionsError, WeightsNotFoundError


def test_texture_encoder_is_reproducible():
    x = torch.rand(1, 3, 64, 64)
    a, b = TextureEncoder(filters=8)(x), TextureEncoder(filters=8)(x)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    c = TextureEncoder(filters=8, seed=1)(x)
    assert not torch.equal(a["p0k3"], c["p0k3"])


def test_texture_encoder_shapes_follow_geometry():
    enc = TextureEncoder(filters=8)
    f = enc(torch.rand(1, 3, 128, 96))
    for name, t in f.items():
        g = enc.geometry[name]
        assert t.shape[1] == g.channels
        assert t.shape[-2:] == (128 // g.stride, 96 // g.stride)


@pytest.mark.parametrize("encoder", [TextureEncoder(filters=4), VGG19Encoder(None)], ids=["texture", "vgg19"])
@pytest.mark.parametrize("size", [(96, 80), (101, 67), (203, 157)])
def test_feature_size_matches_the_forward_pass(encoder, size):
    feats = encoder(torch.rand(1, 3, *size))
    assert all(tuple(f.shape[-2:]) == encoder.feature_size(size, n) for n, f in feats.items())


def test_vgg19_taps_and_pooling():
    enc = VGG19Encoder(None, pooling="max")
    assert not enc.pretrained
    f = enc(torch.rand(1, 3, 64, 64), ("relu1_1", "relu3_1"))
    assert set(f) == {"relu1_1", "relu3_1"} and f["relu3_1"].shape == (1, 256, 16, 16)
    with pytest.raises(OptionsError):
        VGG19Encoder(None, pooling="median")


def _features_state(classifier: bool = False) -> dict:
    """A randomly initialised checkpoint laid out like torchvision's file (features.*, optionally classifier.*),
    built with torchvision's own ``make_layers`` (features only: fast)."""
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}
    if classifier:  # small stand-ins: the loader must never need them
        state.update({"classifier.0.weight": torch.zeros(8, 8), "classifier.0.bias": torch.zeros(8)})
    return state


def test_vgg19_builds_torchvisions_features_without_the_classifier():
    from torchvision.models.vgg import cfgs, make_layers

    from garmentstyle.encoders.vgg19 import _TAPS, _vgg19_features

    last = max(_TAPS.values())
    ours, ref = _vgg19_features(last), make_layers(cfgs["E"])[: last + 1]
    assert [type(m) for m in ours] == [type(m) for m in ref]
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}
    w = ours[28].weight.detach()  # torchvision's init: Kaiming normal, fan-out
    assert abs(float(w.std()) - (2.0 / (512 * 9)) ** 0.5) < 0.002 and float(ours[28].bias.detach().abs().max()) == 0.0


def test_vgg19_loader_reads_a_full_random_checkpoint_and_matches_torchvision(tmp_path):
    from torchvision.models.vgg import cfgs, make_layers

    state = _features_state(classifier=True)
    torch.save(state, tmp_path / "vgg19-dcbb9e9d.pth")
    enc = VGG19Encoder(tmp_path / "vgg19-dcbb9e9d.pth", pooling="max")
    ref = make_layers(cfgs["E"])
    ref.load_state_dict({k[len("features."):]: v for k, v in state.items() if k.startswith("features.")})
    x = torch.rand(1, 3, 48, 48)
    with torch.no_grad():
        want = ref[:30](enc.norm(x))
        got = enc(x, ("relu5_1",))["relu5_1"]
    assert torch.allclose(got, want, atol=1e-5)
    broken = {k: v for k, v in state.items() if not k.startswith("features.28")}
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(InputError, match="does not hold VGG19 features"):
        VGG19Encoder(tmp_path / "broken.pth")


def test_vgg19_loads_features_only_checkpoint(tmp_path):
    state = _features_state()
    torch.save(state, tmp_path / "vgg19-features.pth")
    enc = VGG19Encoder(tmp_path / "vgg19-features.pth")
    assert enc.pretrained
    assert torch.equal(enc.body[0].weight, state["features.0.weight"])
    assert torch.equal(enc.body[28].weight, state["features.28.weight"])  # conv5_1
    x = torch.rand(1, 3, 32, 32)
    expect = torch.relu(torch.nn.functional.conv2d((x - enc.norm.mean) / enc.norm.std, state["features.0.weight"],
                                                   state["features.0.bias"], padding=1))
    assert torch.allclose(enc(x, ("relu1_1",))["relu1_1"], expect, atol=1e-5)
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a readable VGG19 checkpoint"):
        VGG19Encoder(tmp_path / "bad.pth")


def test_auto_falls_back_to_texture_and_vgg19_needs_weights():
    assert encoders.resolve_name("auto") == "texture"  # conftest points the weights folder at an empty dir
    with pytest.raises(WeightsNotFoundError, match="garmentstyle weights download vgg19"):
        encoders.get("vgg19")
    with pytest.raises(OptionsError, match="unknown encoder"):
        encoders.resolve_name("resnet")


def test_auto_picks_vgg19_when_weights_present(tmp_path, monkeypatch):
    torch.save(_features_state(), tmp_path / "vgg19-features.pth")
    monkeypatch.setenv("GARMENTSTYLE_WEIGHTS", str(tmp_path))
    assert encoders.resolve_name("auto") == "vgg19"
    enc = encoders.get("auto")
    assert enc.name == "vgg19" and enc.pretrained
