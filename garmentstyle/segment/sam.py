"""Segment Anything: point / box prompts → masks, the image embedding computed once per sketch and cached.

:class:`SamSegmenter` is the stateful piece (the web UI keeps one): :meth:`~SamSegmenter.set_image` runs the
expensive ViT image encoder once per sketch, after which :meth:`~SamSegmenter.predict` answers each click in
milliseconds. The cache holds one ``SamPredictor`` per sketch (keyed by the image's content), each given its image
once through SAM's public ``set_image``; they share the one model. Going back to an earlier sketch makes its
predictor the current one again: nothing of SAM's internals is written. :meth:`~SamSegmenter.segment` is what
``segment(method="sam")`` runs: prompts from the designer's strokes, or for the auto garment from the classical
pick (positive points inside the chosen regions, negative points on the excluded ones, the garment's box), then the
shared refinement and the line art's regions as parts.

Checkpoints (``sam-vit-b`` default, ``sam-vit-l``, ``sam-vit-h``) come from :mod:`garmentstyle.weights`
(``garmentstyle weights download sam-vit-b``). ``build_sam(name, checkpoint=None)`` builds a randomly initialised
model: useless masks, but the right shapes and the real cost, for tests and the benchmark.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence, Union

import numpy as np
import torch

from ..cache import LRUCache, content_key
from ..errors import InputError, OptionsError, SegmentationError, WeightsDownloadError
from ..resources import register
from . import lineart
from .types import SAM_MODEL_TYPES, SAM_MODELS, SegmentOptions, Strokes

if TYPE_CHECKING:
    from segment_anything import SamPredictor


def build_sam(model: str = SAM_MODELS[0], *, checkpoint: Union[str, Path, None] = None, device: str = "cpu"):
    """A ``segment_anything`` ``Sam`` model from the official registry, in eval mode on ``device``.

    Args:
        model: one of :data:`~garmentstyle.segment.types.SAM_MODELS`.
        checkpoint: the ``.pth`` file; None builds the model with random weights (tests, timing).

    Raises:
        OptionsError: unknown model name.
        WeightsDownloadError: the checkpoint file cannot be loaded (truncated / not a SAM checkpoint).
    """
    if model not in SAM_MODEL_TYPES:
        raise OptionsError(f"unknown SAM model {model!r}; expected one of {', '.join(SAM_MODELS)}")
    from segment_anything import sam_model_registry

    builder = sam_model_registry[SAM_MODEL_TYPES[model]]
    try:
        sam = builder(checkpoint=None if checkpoint is None else str(checkpoint))
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as exc:
        raise WeightsDownloadError(
            f"{checkpoint}: could not load it as the {model} checkpoint ({type(exc).__name__}: {str(exc)[:200]}); "
            f"delete it and run `garmentstyle weights download {model}`"
        ) from None
    except Exception as exc:  # e.g. pickle.UnpicklingError from a file that is not a checkpoint at all
        if type(exc).__name__ in ("UnpicklingError",):
            raise WeightsDownloadError(
                f"{checkpoint}: not a {model} checkpoint ({exc}); delete it and run "
                f"`garmentstyle weights download {model}`"
            ) from None
        raise
    return sam.to(device).eval()


@dataclass
class SamPrediction:
    """What one prompt gives.

    Attributes:
        masks: ``(K, H, W)`` bool, K = 3 with ``multimask`` else 1.
        scores: ``(K,)`` float, SAM's predicted IoU of each mask.
        logits: ``(K, 256, 256)`` float low-resolution logits (feed one back as ``mask_input`` to refine).
    """

    masks: torch.Tensor
    scores: torch.Tensor
    logits: torch.Tensor

    @property
    def best(self) -> int:
        return int(torch.argmax(self.scores))

    @property
    def mask(self) -> torch.Tensor:
        """``(H, W)`` bool: the highest-scoring mask."""
        return self.masks[self.best]

    @property
    def score(self) -> float:
        return float(self.scores[self.best])


def _to_rgb8(sketch) -> np.ndarray:
    from ..io import read_rgb, to_uint8

    return np.ascontiguousarray(to_uint8(read_rgb(sketch)))


class SamSegmenter:
    """Segment Anything with a per-sketch predictor cache (one embedding per sketch, computed once).

    Args:
        model: checkpoint name (:data:`~garmentstyle.segment.types.SAM_MODELS`); also what results report as
            ``method``.
        checkpoint: the checkpoint file; None: looked up with :func:`garmentstyle.weights.require` when the model is
            first needed (raises :class:`~garmentstyle.errors.WeightsNotFoundError` with the download command).
        sam: an already built ``Sam`` model (tests: a tiny one; bench: a random vit_b); overrides ``checkpoint``.
        device: torch device.
        cache_size: how many sketches to keep ready: one ``SamPredictor`` each, holding that sketch's embedding
            (``(1, 256, 64, 64)`` float32, 4 MB); the model itself is shared.

    Attributes:
        embeddings_computed: how many times the image encoder ran (the cache's hits do not count).
    """

    def __init__(
        self,
        model: str = SAM_MODELS[0],
        *,
        checkpoint: Union[str, Path, None] = None,
        sam=None,
        device: str = "cpu",
        cache_size: int = 4,
    ) -> None:
        if model not in SAM_MODEL_TYPES:
            raise OptionsError(f"unknown SAM model {model!r}; expected one of {', '.join(SAM_MODELS)}")
        if cache_size < 1:
            raise OptionsError(f"cache_size: expected at least 1, got {cache_size}")
        self.model = model
        self.checkpoint = checkpoint
        self.device = device
        self.cache_size = cache_size
        self._sam = sam.to(device).eval() if sam is not None else None
        #: One predictor per sketch, each with its image set once (SAM's public API only); they share ``_sam``.
        self._predictors: LRUCache["SamPredictor"] = LRUCache(cache_size)
        #: The current sketch's predictor (before any sketch: one with no image yet).
        self._predictor: Optional["SamPredictor"] = None
        self._key: Optional[str] = None
        self._size: Optional[tuple[int, int]] = None
        self._lock = threading.RLock()
        self.embeddings_computed = 0

    # -- model -------------------------------------------------------------------------------------------------
    def _model(self):
        """The ``Sam`` model (the checkpoint loaded on first use)."""
        with self._lock:
            if self._sam is None:
                from .. import weights

                path = self.checkpoint if self.checkpoint is not None else weights.require(self.model)
                self._sam = build_sam(self.model, checkpoint=path, device=self.device)
            return self._sam

    def _new_predictor(self) -> "SamPredictor":
        from segment_anything import SamPredictor

        return SamPredictor(self._model())

    @property
    def predictor(self) -> "SamPredictor":
        """The current sketch's ``SamPredictor``; before any :meth:`set_image`, one with no image yet (built, and
        the checkpoint loaded, on first use)."""
        with self._lock:
            if self._predictor is None:
                self._predictor = self._new_predictor()
            return self._predictor

    # -- embedding ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def set_image(self, sketch) -> str:
        """Make ``sketch`` the current image: its cached predictor, or a new one whose embedding is computed now.

        Args:
            sketch: path / PIL / ``(H, W, 3)`` array / ``(1, 3, H, W)`` tensor.

        Returns:
            the sketch's cache key (content key of its 8-bit RGB pixels).
        """
        rgb = _to_rgb8(sketch)
        key = content_key(rgb)
        with self._lock:
            if key == self._key and self._predictor is not None and self._predictor.is_image_set:
                return key
            self._model()  # a bad checkpoint raises here, before anything is cached
            self._predictor = self._predictors.get(key, lambda: self._embed(rgb))
            self._key = key
            self._size = (int(rgb.shape[0]), int(rgb.shape[1]))
            return key

    def _embed(self, rgb: np.ndarray) -> "SamPredictor":
        """A new predictor with ``rgb`` ``(H, W, 3)`` uint8 set: the image encoder runs once."""
        pred = self._new_predictor()
        pred.set_image(rgb, image_format="RGB")
        self.embeddings_computed += 1
        return pred

    @property
    def image_size(self) -> Optional[tuple[int, int]]:
        """``(H, W)`` of the current image, None before :meth:`set_image`."""
        return self._size

    # -- prompts -----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(
        self,
        points: Optional[Sequence[Sequence[float]]] = None,
        labels: Optional[Sequence[int]] = None,
        box: Optional[Sequence[float]] = None,
        *,
        multimask: Optional[bool] = None,
        mask_input: Optional[np.ndarray] = None,
    ) -> SamPrediction:
        """Masks for point and/or box prompts on the current image (cheap: the embedding is reused).

        Args:
            points: ``(N, 2)`` XY pixels of the sketch.
            labels: ``(N,)`` 1 = positive (inside), 0 = negative (outside).
            box: ``(4,)`` XYXY pixels.
            multimask: three candidate masks instead of one; default: only for a single point without a box
                (where SAM's answer is ambiguous).
            mask_input: ``(1, 256, 256)`` logits from an earlier prediction, to refine it.

        Raises:
            InputError: no image set, no prompt, malformed prompts, or prompts outside the image.
        """
        if self._size is None:
            raise InputError("SamSegmenter.predict: no sketch yet; call set_image(sketch) first")
        h, w = self._size
        pc = pl = bx = None
        if points is not None and len(points):
            pc = np.asarray(points, dtype=np.float32).reshape(-1, 2)
            if labels is None:
                pl = np.ones(len(pc), np.int64)
            else:
                pl = np.asarray(labels).astype(np.int64).reshape(-1)
                if len(pl) != len(pc):
                    raise InputError(f"expected one label per point, got {len(pl)} labels for {len(pc)} points")
                if not np.isin(pl, (0, 1)).all():
                    raise InputError("point labels must be 1 (positive) or 0 (negative)")
            out = (pc[:, 0] < 0) | (pc[:, 0] > w) | (pc[:, 1] < 0) | (pc[:, 1] > h) | ~np.isfinite(pc).all(1)
            if out.any():
                x, y = pc[int(np.argmax(out))]
                raise InputError(f"point ({x:.0f}, {y:.0f}) lies outside the {w}×{h} sketch")
        if box is not None:
            bx = np.asarray(box, dtype=np.float32).reshape(4)
            bx = np.array([min(bx[0], bx[2]), min(bx[1], bx[3]), max(bx[0], bx[2]), max(bx[1], bx[3])], np.float32)
            bx = np.clip(bx, 0, [w, h, w, h]).astype(np.float32)
            if bx[2] - bx[0] < 1 or bx[3] - bx[1] < 1:
                raise InputError(f"the box {tuple(box)} has no area inside the {w}×{h} sketch")
        if pc is None and bx is None:
            raise InputError("SAM needs a prompt: at least one point or a box")
        if multimask is None:
            multimask = pc is not None and len(pc) == 1 and bx is None
        with self._lock:
            masks, scores, logits = self.predictor.predict(
                point_coords=pc, point_labels=pl, box=bx, mask_input=mask_input, multimask_output=bool(multimask)
            )
        return SamPrediction(
            masks=torch.from_numpy(np.ascontiguousarray(masks)).bool(),
            scores=torch.from_numpy(np.asarray(scores, dtype=np.float32)),
            logits=torch.from_numpy(np.asarray(logits, dtype=np.float32)),
        )

    # -- whole segmentation -----------------------------------------------------------------------------------
    def segment(
        self,
        sketch,
        *,
        strokes: Optional[Strokes] = None,
        options: SegmentOptions = SegmentOptions(),
        progress: Callable[[str], None] = lambda stage: None,
    ):
        """The garment (auto, or from strokes) with SAM, refined with the line art; parts from the line art.

        Returns:
            :class:`~garmentstyle.segment.types.Segmentation` with ``method`` = the checkpoint name.
        """
        from .auto import pick
        from .result import build, refine_garment

        progress("read")
        grey = lineart.to_grey(sketch)
        h, w = grey.shape
        notes: list[str] = []
        # The line art helps: its regions seed the prompts and become the parts.
        part = None
        pk = None
        try:
            part = lineart.partition(sketch, options)
            pk = pick(part, layout=options.layout)
        except SegmentationError as exc:
            msg = str(exc)
            if msg.startswith("no line art found"):
                raise
            notes.append(f"line art not usable for prompts ({msg.split(';')[0]}); SAM prompted with the page")
        thr = lineart.ink_threshold(grey)
        ink = grey < thr
        progress("sam-embed")
        self.set_image(sketch)
        progress("sam-predict")
        pts, lbl, boxes = self._prompts(strokes, part, pk, ink, (h, w), options, notes)
        raw, score = self._predict_union(pts, lbl, boxes, (h, w))
        progress("refine")
        speck = lineart._speck_px((h, w), options)
        garment = refine_garment(raw, options=options, speck=speck, ink=ink, grow=True)
        if not garment.any():
            raise SegmentationError(
                f"{self.model} returned an empty mask for these prompts; add positive strokes / clicks inside the "
                "garment (or use --method classical)"
            )
        parts, partition_labels = _parts_within(part, garment)
        layout = pk.layout if pk is not None else "flat"
        area = garment.mean()
        conf = score * (0.5 if area < 0.01 or area > 0.95 else 1.0)
        return build(
            garment,
            parts,
            method=self.model,
            options=options,
            confidence=conf,
            notes=notes,
            layout=layout,
            gap=part.gap if part is not None else 0,
            score=float(np.clip(score, 0, 1)),
            partition=partition_labels,
        )

    def _prompts(self, strokes: Optional[Strokes], part, pk, ink: np.ndarray, shape: tuple[int, int],
                 options: SegmentOptions, notes: list[str]
                 ) -> tuple[Optional[np.ndarray], Optional[np.ndarray], list[np.ndarray]]:
        """SAM's prompts: ``(points (N, 2) or None, labels (N,) 1/0 or None, boxes)`` from the designer's strokes,
        clicks and boxes, plus the line art's automatic prompts when there are no positive ones (or
        ``options.add_to_auto``)."""
        from .strokes import fit_to, sample_points

        pos_pts: list[np.ndarray] = []
        neg_pts: list[np.ndarray] = []
        boxes: list[np.ndarray] = []
        if strokes is not None:
            strokes = fit_to(strokes, shape)
            notes += strokes.notes
        use_auto = strokes is None or strokes.is_empty() or options.add_to_auto
        if strokes is not None and not strokes.is_empty():
            pos_pts.append(sample_points(strokes.positive.numpy(), 8))
            neg_pts.append(sample_points(strokes.negative.numpy(), 8, seed=1))
            for x, y, positive in strokes.points:
                (pos_pts if positive else neg_pts).append(np.array([[x, y]], np.float32))
            boxes += [np.asarray(b, np.float32) for b in strokes.boxes]
            if not strokes.positive.any() and not any(p[2] for p in strokes.points) and not strokes.boxes:
                use_auto = True
        if use_auto:
            a_pos, a_neg, a_box = self._auto_prompts(part, pk, ink)
            pos_pts.append(a_pos)
            neg_pts.append(a_neg)
            if a_box is not None and not boxes:
                boxes.append(a_box)
        pos = np.concatenate([p for p in pos_pts if len(p)] or [np.zeros((0, 2), np.float32)])
        neg = np.concatenate([p for p in neg_pts if len(p)] or [np.zeros((0, 2), np.float32)])
        pts = np.concatenate([pos, neg]) if len(pos) + len(neg) else None
        lbl = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]).astype(np.int64) if pts is not None else None
        return pts, lbl, boxes

    def _predict_union(self, pts: Optional[np.ndarray], lbl: Optional[np.ndarray], boxes: list[np.ndarray],
                       shape: tuple[int, int]) -> tuple[np.ndarray, float]:
        """One prediction per box (or one for the points alone; the whole page as the box when there is no
        prompt at all): the union of the masks ``(H, W)`` bool and their mean score."""
        h, w = shape
        masks = []
        scores = []
        for b in boxes or [None]:
            if pts is None and b is None:
                b = np.array([0, 0, w, h], np.float32)
            p = self.predict(pts, lbl, b)
            masks.append(p.mask.numpy())
            scores.append(p.score)
        return np.logical_or.reduce(masks), float(np.mean(scores))

    @staticmethod
    def _auto_prompts(part, pk, ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """Prompts for the auto garment: inner points of the picked regions (+), of the excluded ones (-), its box."""
        import cv2

        h, w = ink.shape
        if part is None or pk is None:
            ys, xs = np.nonzero(ink)
            if len(xs) == 0:
                return np.array([[w / 2, h / 2]], np.float32), np.zeros((0, 2), np.float32), None
            box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
            return np.array([[(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]], np.float32), np.zeros((0, 2)), box

        def inner_points(labels_: Sequence[int], k: int) -> np.ndarray:
            out = []
            for l in sorted(labels_, key=lambda l: -part.area[l - 1])[:k]:
                x0, y0, x1, y1 = part.boxes[l - 1]
                crop = (part.labels[y0:y1, x0:x1] == l).astype(np.uint8)
                d = cv2.distanceTransform(np.pad(crop, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
                yy, xx = np.unravel_index(int(np.argmax(d)), d.shape)
                out.append([x0 + xx + 0.5, y0 + yy + 0.5])
            return np.asarray(out, np.float32).reshape(-1, 2)

        pos = inner_points(pk.chosen, 6)
        neg = inner_points(pk.excluded, 6)
        if pk.layout == "figure":  # a croquis: the torso is the surest garment point
            from .auto import main_regions, silhouette, torso_point

            tx, ty = torso_point(part, silhouette(part, main_regions(part)))
            pos = np.concatenate([pos, np.array([[tx + 0.5, ty + 0.5]], np.float32)])
        m = part.mask(pk.chosen)
        ys, xs = np.nonzero(m)
        ph, pw = part.shape
        pad_x, pad_y = 0.02 * pw, 0.02 * ph
        box = np.array(
            [max(0, xs.min() - pad_x), max(0, ys.min() - pad_y), min(pw, xs.max() + 1 + pad_x),
             min(ph, ys.max() + 1 + pad_y)],
            np.float32,
        )
        inv = 1.0 / part.scale  # the partition is of the working copy; prompts are in sketch px
        return pos * inv, neg * inv, box * inv


#: The process-wide segmenters by (model, device), so a checkpoint loads once (CLI, UI, API). Bounded (each holds
#: a ViT: 375 MB for vit_b up to 2.5 GB for vit_h) and clearable through :mod:`garmentstyle.resources`.
_SEGMENTERS: LRUCache[SamSegmenter] = register("sam segmenters", LRUCache(4))


def get_segmenter(model: str = SAM_MODELS[0], *, device: str = "cpu") -> SamSegmenter:
    """A process-wide :class:`SamSegmenter` per (model, device) (the model itself loads on first use)."""
    return _SEGMENTERS.get((model, device), lambda: SamSegmenter(model, device=device))


def time_encoder(sam, *, size: int = 1024, repeats: int = 1) -> float:
    """Seconds one image-encoder pass takes on a ``size`` × ``size`` sketch (for the benchmark)."""
    seg = SamSegmenter(sam=sam)
    rng = np.random.default_rng(0)
    img = (rng.random((size, size, 3)) * 255).astype(np.uint8)
    best = float("inf")
    for i in range(repeats):
        img[0, 0, 0] = i  # a new image each time: no cache hit
        t = time.perf_counter()
        seg.set_image(img)
        best = min(best, time.perf_counter() - t)
    return best


def _parts_within(part, garment: np.ndarray) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """``(parts, partition labels)`` at the garment's size ``(H, W)``: the line art's regions inside SAM's garment
    (None, None without a usable line-art partition)."""
    if part is None:
        return None, None
    h, w = garment.shape
    full = part.labels
    if full.shape != (h, w):
        import cv2

        full = cv2.resize(full.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST)
    return np.where(garment, full, 0), full
