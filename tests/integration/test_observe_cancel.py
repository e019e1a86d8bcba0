"""Issue 11: watching a render never changes it, and one cancel contract for every stage."""
from __future__ import annotations

import threading

import pytest
import torch

import garmentstyle as gs
from garmentstyle.errors import Cancelled, GarmentStyleError
from garmentstyle.progress import CHECKPOINTS, CancelToken, Progress
from tests.conftest import checker

RED = (0.85, 0.1, 0.1)
CREAM = (0.95, 0.9, 0.75)


def _opts(**kw) -> gs.RenderOptions:
    base = dict(size=64, iterations=7, init="noise", keep_sketch=False)
    base.update(kw)
    return gs.RenderOptions(**base)


@pytest.fixture(scope="module")
def small():
    from tests.conftest import draw_sketch

    sketch, left, _ = draw_sketch()
    return sketch, [gs.Region(left, checker(RED, CREAM), name="l")]


@pytest.fixture(scope="module")
def uncancelled(small):
    return gs.render(small[0], small[1], _opts())


def test_pixels_identical_with_previews_off_every_step_and_every_five(small):
    sketch, regions = small
    seen: dict[int, list[int]] = {}
    images = []
    for every in (0, 1, 5):
        steps: list[int] = []
        res = gs.render(sketch, regions, _opts(preview_every=every),
                        on_progress=lambda p: steps.append(p.step) if p.preview is not None else None)
        seen[every] = steps
        images.append(res.image)
        assert res.report.iterations == 7  # really optimised (the old defect stopped early when observed)
    assert torch.equal(images[0], images[1]) and torch.equal(images[0], images[2])
    assert seen[0] == [] and seen[1] == list(range(1, 8)) and seen[5] == [5]


def test_previews_only_when_asked_for(small):
    sketch, regions = small
    events: list[Progress] = []
    gs.render(sketch, regions, _opts(iterations=3), on_progress=events.append, preview_every=0)
    assert events and all(e.preview is None for e in events)
    assert {e.stage for e in events} >= {"prepare", "targets", "optimise", "finish"}
    assert all(e.task == "render" and 0.0 <= e.fraction <= 1.0 for e in events)
    events.clear()
    gs.render(sketch, regions, _opts(iterations=3), on_progress=events.append, preview_every=2)
    previews = [e for e in events if e.preview is not None]
    assert previews and all(e.stage == "optimise" and e.preview.shape == (1, 3, 64, 64) for e in previews)


def test_cancelled_is_not_an_error():
    assert not issubclass(Cancelled, GarmentStyleError)
    assert Cancelled("x", checkpoint="optimise").checkpoint == "optimise"


@pytest.mark.parametrize("stage", CHECKPOINTS)
def test_cancel_at_every_stage(small, uncancelled, stage):
    """Raising Cancelled from the callback at each stage: before an image exists it raises; afterwards a finished
    image comes back and the report says where it stopped."""
    sketch, regions = small

    def on_progress(p: Progress) -> None:
        if p.stage == stage and (stage != "optimise" or p.step >= 2):
            raise Cancelled()

    if stage == "prepare":
        with pytest.raises(Cancelled):
            gs.render(sketch, regions, _opts(), on_progress=on_progress)
        return
    res = gs.render(sketch, regions, _opts(), on_progress=on_progress, preview_every=0)
    assert res.report.cancelled and res.report.cancelled_at == stage
    assert res.image.shape == (1, 3, 64, 64) and torch.isfinite(res.image).all()
    full = uncancelled
    if stage == "finish":  # the finished render is kept, not thrown away
        assert torch.equal(res.image, full.image)
    else:
        assert res.report.iterations < full.report.iterations


def test_cancel_token_inside_target_measurement(small, monkeypatch):
    """A token set while style targets are measured stops there and keeps the start image."""
    from garmentstyle import transfer

    sketch, regions = small
    token = CancelToken()
    real = transfer.style_targets

    def slow_targets(*a, **kw):
        token.cancel("stop")
        return real(*a, **kw)

    monkeypatch.setattr(transfer, "style_targets", slow_targets)
    transfer.TARGETS.clear()  # a cache hit is instant: make the measurement really run
    res = gs.render(sketch, regions, _opts(), cancel=token)
    assert res.report.cancelled_at == "targets" and res.report.iterations == 0


def test_cancel_token_from_another_thread(small):
    sketch, regions = small
    token = CancelToken()
    steps: list[int] = []

    def on_progress(p: Progress) -> None:
        if p.stage == "optimise":
            steps.append(p.step)
            if p.step >= 5:
                threading.Thread(target=token.cancel).start()
                threading.Event().wait(0.05)

    res = gs.render(sketch, regions, _opts(iterations=20), on_progress=on_progress, cancel=token)
    assert res.report.cancelled and res.report.iterations < 20 and res.report.cancelled_at == "optimise"
    token.reset()
    assert not token.cancelled


def test_cancel_before_start_raises_and_cli_says_cancelled(small, tmp_path, monkeypatch, capsys):
    sketch, regions = small
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled) as info:
        gs.render(sketch, regions, _opts(), cancel=token)
    assert info.value.checkpoint == "prepare"
    from garmentstyle import cli

    def boom(args):
        raise Cancelled("cancelled at prepare", checkpoint="prepare")

    monkeypatch.setattr(cli, "build_parser", lambda *a, **k: _parser_with(boom))
    assert cli.main(["x"]) == 130
    err = capsys.readouterr().err
    assert "cancelled" in err and "error" not in err


def _parser_with(func):
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("cmd")
    p.set_defaults(func=func)
    return p
