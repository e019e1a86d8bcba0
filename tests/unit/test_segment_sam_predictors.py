"""SAM on its public API only (issue 11, "Ownership"): one ``SamPredictor`` per cached sketch, each given its image
once with ``set_image``, all sharing the one model; going back to an earlier sketch reuses its predictor (no new
embedding) and gives exactly the masks a fresh embedding gives."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from garmentstyle.segment import SamSegmenter
from garmentstyle.segment import sam as sam_mod
from tests.unit.test_segment_sam import sketch, tiny_sam

PROMPTS = ([[50, 60]], [1])


def _same(p, q) -> bool:
    return torch.equal(p.masks, q.masks) and torch.equal(p.scores, q.scores) and torch.equal(p.logits, q.logits)


def test_back_to_an_earlier_sketch_gives_the_fresh_masks_without_a_new_embedding():
    model = tiny_sam()
    seg = SamSegmenter(sam=model)
    a, b = sketch(30), sketch(10)
    seg.set_image(a)
    first = seg.predict(*PROMPTS)
    seg.set_image(b)
    other = seg.predict(*PROMPTS)
    seg.set_image(a)
    again = seg.predict(*PROMPTS)
    box = seg.predict(box=[10, 10, 90, 110])
    assert seg.embeddings_computed == 2
    fresh = SamSegmenter(sam=model)  # the same model, a new embedding of the first sketch
    fresh.set_image(a)
    assert _same(again, fresh.predict(*PROMPTS)) and _same(again, first)
    assert _same(box, fresh.predict(box=[10, 10, 90, 110]))
    assert not _same(other, first)  # the second sketch really was another embedding


def test_one_predictor_per_sketch_set_once_through_the_public_api(monkeypatch):
    from segment_anything import SamPredictor

    calls = []
    real = SamPredictor.set_image

    def spy(self, image, image_format="RGB"):
        calls.append(id(self))
        return real(self, image, image_format)

    monkeypatch.setattr(SamPredictor, "set_image", spy)
    model = tiny_sam()
    seg = SamSegmenter(sam=model, cache_size=2)
    seg.set_image(sketch(30))
    pa = seg.predictor
    seg.set_image(sketch(10))
    pb = seg.predictor
    seg.set_image(sketch(30))
    assert seg.predictor is pa and pa is not pb
    assert pa.model is model and pb.model is model  # one model, shared
    assert calls == [id(pa), id(pb)] and seg.embeddings_computed == 2  # each predictor's image set once
    assert pa.is_image_set and pa.original_size == (120, 100)


def test_predictor_before_any_sketch_has_no_image():
    seg = SamSegmenter(sam=tiny_sam())
    assert not seg.predictor.is_image_set and seg.image_size is None


def test_two_threads_on_one_segmenter_stay_consistent():
    """The RLock: a click's ``set_image`` + ``predict`` from two tabs never mixes sketches."""
    model = tiny_sam()
    seg = SamSegmenter(sam=model)
    ref = {}
    for s in (30, 10):
        r = SamSegmenter(sam=model)
        r.set_image(sketch(s))
        ref[s] = r.predict(*PROMPTS)
    errors: list = []

    def work(s: int) -> None:
        for _ in range(5):
            with seg._lock:  # what ui's sam_lock does around the pair
                seg.set_image(sketch(s))
                got = seg.predict(*PROMPTS)
            if not _same(got, ref[s]):
                errors.append(s)

    threads = [threading.Thread(target=work, args=(s,)) for s in (30, 10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and seg.embeddings_computed == 2


def test_process_segmenters_are_one_per_model_and_device():
    sam_mod._SEGMENTERS.clear()
    a = sam_mod.get_segmenter("sam-vit-b")
    assert sam_mod.get_segmenter("sam-vit-b") is a and sam_mod.get_segmenter("sam-vit-l") is not a
    assert len(sam_mod._SEGMENTERS) == 2
    sam_mod._SEGMENTERS.clear()


def test_a_bad_checkpoint_fails_set_image_and_caches_nothing(tmp_path):
    from garmentstyle.errors import WeightsDownloadError

    bad = tmp_path / "sam_vit_b_01ec64.pth"
    bad.write_bytes(b"not a checkpoint at all")
    seg = SamSegmenter(checkpoint=bad)
    with pytest.raises(WeightsDownloadError):
        seg.set_image(np.zeros((16, 16, 3), np.float32))
    assert len(seg._predictors) == 0 and seg.embeddings_computed == 0 and seg.image_size is None
