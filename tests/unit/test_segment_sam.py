"""SAM plumbing with a tiny randomly initialised model: prompts → masks of the right shape, the embedding computed
once per sketch and cached, the auto method's choice, the checkpoint loader's errors. The real vit_b encoder is only
timed in bench/bench_segment.py (and built, not run, in one slow test)."""
from __future__ import annotations

from functools import partial

import cv2
import numpy as np
import pytest
import torch

from garmentstyle.errors import InputError, OptionsError, WeightsDownloadError, WeightsNotFoundError
from garmentstyle.segment import SamSegmenter, Strokes, build_sam, resolve_method, segment
from garmentstyle.segment import sam as sam_mod

H, W = 120, 100


def tiny_sam(img_size: int = 64, dim: int = 32):
    """A Sam with a one-block ViT on 64 px inputs: same interfaces, milliseconds per call."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    torch.manual_seed(0)
    e = img_size // 16
    return Sam(
        image_encoder=ImageEncoderViT(
            img_size=img_size, patch_size=16, embed_dim=32, depth=1, num_heads=2, out_chans=dim,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), use_rel_pos=False, window_size=0,
            global_attn_indexes=(),
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=dim, image_embedding_size=(e, e), input_image_size=(img_size, img_size), mask_in_chans=4
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=1, embedding_dim=dim, mlp_dim=64, num_heads=2),
            transformer_dim=dim, iou_head_depth=2, iou_head_hidden_dim=32,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    ).eval()


def sketch(seed_x: int = 30) -> np.ndarray:
    img = np.full((H, W), 255, np.uint8)
    cv2.rectangle(img, (20, 20), (79, 99), 0, 2)
    cv2.line(img, (seed_x + 20, 20), (seed_x + 20, 99), 0, 2)
    return np.repeat((img / 255.0).astype(np.float32)[..., None], 3, axis=2)


@pytest.fixture
def seg():
    return SamSegmenter(sam=tiny_sam())


class TestPredict:
    def test_shapes(self, seg):
        seg.set_image(sketch())
        p = seg.predict([[50, 60]], [1])
        assert p.masks.shape == (3, H, W) and p.masks.dtype == torch.bool  # one point: three candidates
        assert p.scores.shape == (3,) and 0 <= p.best < 3
        assert p.mask.shape == (H, W)
        p = seg.predict([[50, 60], [5, 5]], [1, 0], box=[10, 10, 90, 110])
        assert p.masks.shape == (1, H, W)
        p = seg.predict(box=[10, 10, 90, 110])
        assert p.masks.shape == (1, H, W)
        p = seg.predict([[50, 60]], [1], multimask=False, mask_input=p.logits[:1].numpy())
        assert p.masks.shape == (1, H, W)

    def test_embedding_computed_once_per_sketch(self, seg):
        a, b = sketch(30), sketch(10)
        k1 = seg.set_image(a)
        seg.predict([[50, 60]], [1])
        seg.predict([[40, 30]], [1])
        assert seg.set_image(a.copy()) == k1
        assert seg.embeddings_computed == 1
        seg.set_image(b)
        assert seg.embeddings_computed == 2
        seg.set_image(a)  # back to the first: restored from the cache
        assert seg.embeddings_computed == 2
        assert seg.predict([[50, 60]], [1]).masks.shape == (3, H, W)

    def test_cache_is_bounded(self):
        seg = SamSegmenter(sam=tiny_sam(), cache_size=1)
        seg.set_image(sketch(30))
        seg.set_image(sketch(10))
        seg.set_image(sketch(30))
        assert seg.embeddings_computed == 3

    def test_prompt_errors(self, seg):
        with pytest.raises(InputError, match="set_image"):
            seg.predict([[1, 1]], [1])
        seg.set_image(sketch())
        with pytest.raises(InputError, match="prompt"):
            seg.predict()
        with pytest.raises(InputError, match="outside"):
            seg.predict([[500, 10]], [1])
        with pytest.raises(InputError, match="one label per point"):
            seg.predict([[5, 5], [6, 6]], [1])
        with pytest.raises(InputError, match="1 .positive. or 0"):
            seg.predict([[5, 5]], [2])
        with pytest.raises(InputError, match="no area"):
            seg.predict(box=[200, 200, 300, 300])

    def test_bad_model_names(self):
        with pytest.raises(OptionsError):
            SamSegmenter("sam-vit-x")
        with pytest.raises(OptionsError):
            build_sam("vit_b")


class TestSegmentWithSam:
    def test_auto_garment(self, seg):
        out = segment(sketch(), method="sam", sam=seg)
        assert out.method == "sam-vit-b"
        assert out.garment.shape == (H, W) and out.labels.shape == (H, W)
        assert out.garment.sum() > 0 and 0 <= out.confidence <= 1
        assert all(r.method == "sam-vit-b" for r in out.regions)
        assert seg.embeddings_computed == 1
        segment(sketch(), method="sam", sam=seg)  # same sketch again: no new embedding
        assert seg.embeddings_computed == 1

    def test_strokes_become_prompts(self, seg, monkeypatch):
        calls = []
        real = SamSegmenter.predict

        def spy(self, points=None, labels=None, box=None, **kw):
            calls.append((None if points is None else np.asarray(points), None if labels is None else np.asarray(labels), box))
            return real(self, points, labels, box, **kw)

        monkeypatch.setattr(SamSegmenter, "predict", spy)
        pos = torch.zeros(H, W, dtype=torch.bool)
        pos[50:55, 30:45] = True
        neg = torch.zeros(H, W, dtype=torch.bool)
        neg[50:55, 60:75] = True
        st = Strokes(pos, neg, points=[(70, 90, False)], boxes=[(15, 15, 85, 105)])
        out = segment(sketch(), method="sam", strokes=st, sam=seg)
        assert out.garment.shape == (H, W)
        pts, lbl, box = calls[-1]
        assert box is not None and tuple(np.asarray(box, dtype=float)) == (15, 15, 85, 105)
        assert lbl.sum() >= 1 and (lbl == 0).sum() >= 2
        on_pos = [pos[int(y), int(x)] for (x, y), l in zip(pts, lbl) if l == 1]
        assert all(on_pos)

    def test_photo_goes_to_sam_with_a_note(self, seg):
        rng = np.random.default_rng(0)
        photo = cv2.GaussianBlur(rng.random((H, W, 3)).astype(np.float32), (0, 0), 3)
        photo = (photo - photo.min()) / (photo.max() - photo.min())
        out = segment(photo, method="sam", sam=seg)
        assert out.method == "sam-vit-b"
        assert any("line art not usable" in n for n in out.notes)


class TestMethodChoice:
    def test_auto_without_weights_is_classical(self):
        assert resolve_method("auto") == "classical"
        out = segment(sketch(), method="auto")
        assert out.method == "classical"

    def test_sam_without_weights_says_how_to_fix(self):
        sam_mod._SEGMENTERS.clear()
        with pytest.raises(WeightsNotFoundError, match="garmentstyle weights download sam-vit-b"):
            segment(sketch(), method="sam")
        sam_mod._SEGMENTERS.clear()

    def test_auto_with_a_checkpoint_runs_sam(self, monkeypatch, tmp_path):
        from garmentstyle import weights

        fake = tmp_path / "sam_vit_b_01ec64.pth"
        fake.write_bytes(b"x")
        monkeypatch.setattr(weights, "find", lambda name: fake if name == "sam-vit-b" else None)
        assert resolve_method("auto") == "sam"
        tiny = SamSegmenter(sam=tiny_sam())
        monkeypatch.setattr(sam_mod, "get_segmenter", lambda model, device="cpu": tiny)
        import garmentstyle.segment as S

        monkeypatch.setattr(S, "get_segmenter", lambda model, device="cpu": tiny)
        out = segment(sketch(), method="auto")
        assert out.method == "sam-vit-b"

    def test_unknown_method(self):
        with pytest.raises(OptionsError, match="method"):
            segment(sketch(), method="magic")

    def test_bad_checkpoint_file(self, tmp_path):
        bad = tmp_path / "sam_vit_b_01ec64.pth"
        bad.write_bytes(b"not a checkpoint at all")
        with pytest.raises(WeightsDownloadError, match="weights download sam-vit-b"):
            SamSegmenter(checkpoint=bad, sam=None).predictor


@pytest.mark.slow
def test_vit_b_builds_without_a_checkpoint():
    """The official registry builds vit_b (random weights) and its predictor takes 1024 px inputs; the encoder is not
    run here (≈ 30 s on 2 CPU cores, see bench/RESULTS.md (Segmentation))."""
    sam = build_sam("sam-vit-b", checkpoint=None)
    assert sam.image_encoder.img_size == 1024
    assert sum(p.numel() for p in sam.parameters()) > 80_000_000
