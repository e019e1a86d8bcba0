"""The pure region model and its undo history: exclusive regions, add/remove with provenance, slivers, undo/redo
depth and coalescing, memory of a long history."""
from __future__ import annotations

import numpy as np
import pytest

from garmentstyle.errors import InputError
from ui import model as M

SHAPE = (60, 80)


def _rect(y0, y1, x0, x1, shape=SHAPE):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


@pytest.fixture
def two():
    """Left half "a", right half "b" (both with fabrics)."""
    snap = M.Snapshot.empty(SHAPE)
    fa, fb = M.Fabric("a.png", "tartan"), M.Fabric("b.png", "denim")
    return M.replace_all(snap, [("a", _rect(0, 60, 0, 40)), ("b", _rect(0, 60, 40, 80))], [fa, fb])


def test_replace_all_makes_exclusive_named_regions(two):
    assert two.names() == ["a", "b"] and two.current == two.regions[0].uid
    assert two.areas() == {1: 2400, 2: 2400}
    assert two.regions[0].fabric.label == "tartan" and two.regions[0].colour != two.regions[1].colour
    with pytest.raises(InputError, match="no garment part"):
        M.replace_all(two, [("x", np.zeros(SHAPE, bool))], [])


def test_add_takes_area_and_remove_gives_it_back(two):
    a, b = (r.uid for r in two.regions)
    area = _rect(0, 30, 40, 80)  # the top of b
    s = M.add_area(two, a, area)
    assert s.areas() == {a: 3600, b: 1200}
    assert (s.origin.array[area] == b).all()
    s2 = M.remove_area(s, a, area)  # Alt-click: the area goes back to the region it came from
    assert s2.areas() == {a: 2400, b: 2400}
    assert (s2.labels.array == two.labels.array).all()
    s3 = M.remove_area(two, a, _rect(0, 30, 0, 40))  # a's own area with no origin: it belongs to no region
    assert s3.areas()[a] == 1200 and (s3.labels.array[_rect(0, 30, 0, 40)] == 0).all()


def test_remove_gives_back_only_to_a_region_that_still_exists(two):
    a, b = (r.uid for r in two.regions)
    s = M.add_area(two, a, _rect(0, 30, 40, 80))
    s = M.delete(s, b)
    s = M.remove_area(s, a, _rect(0, 30, 40, 80))
    assert s.region(b) is None and (s.labels.array[_rect(0, 30, 40, 80)] == 0).all()


def test_a_sliver_left_by_an_add_goes_to_the_taker(two):
    a, b = (r.uid for r in two.regions)
    s = M.add_area(two, a, _rect(0, 60, 40, 79))  # leaves b a one-pixel column
    assert s.areas() == {a: 60 * 80, b: 0}  # b keeps its name and fabric: its area can be given back
    assert s.areas() == M.add_area(two, a, two.mask(b)).areas()
    assert M.remove_area(s, a, _rect(0, 60, 40, 79)).areas() == two.areas()  # the column came back with it


def test_new_region_carves_and_gets_the_last_fabric(two):
    a = two.regions[0].uid
    s = M.set_fabric(two, a, M.Fabric("c.png", "linen", pattern=2.0))
    s = M.new_region(s, _rect(10, 20, 10, 20))
    new = s.selected
    assert new.name == "region" and new.fabric.label == "linen" and new.fabric.pattern == 2.0
    assert s.areas()[new.uid] == 100 and s.areas()[a] == 2300
    assert M.new_region(s, _rect(30, 40, 10, 20)).selected.name == "region 2"
    with pytest.raises(InputError, match="empty"):
        M.new_region(s, np.zeros(SHAPE, bool))


def test_rename_merge_delete_select(two):
    a, b = (r.uid for r in two.regions)
    s = M.rename(two, b, "  skirt ")
    assert s.region(b).name == "skirt"
    with pytest.raises(InputError, match="already called"):
        M.rename(s, a, "skirt")
    with pytest.raises(InputError, match="region name"):
        M.rename(s, a, "<script>")
    with pytest.raises(InputError, match="must be text"):
        M.rename(s, a, 5)
    m = M.merge(s, a, [b])
    assert m.names() == ["a"] and m.areas()[a] == 4800
    with pytest.raises(InputError, match="choose one or more"):
        M.merge(s, a, [])
    d = M.delete(s, a)
    assert d.names() == ["skirt"] and d.current == b
    assert M.select(s, b).current == b
    with pytest.raises(InputError, match="select a region"):
        M.select(s, 99)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "2", True, None, 0.0, 1e9])
def test_fabric_settings_are_checked(bad):
    with pytest.raises(InputError, match="pattern size"):
        M.Fabric("a.png", "a", pattern=bad)


def test_paint_adds_and_erases_in_one_step(two):
    a, b = (r.uid for r in two.regions)
    s = M.paint(two, [(a, _rect(0, 10, 40, 50))], _rect(50, 60, 0, 80))
    assert s.labels.array[5, 45] == a and (s.labels.array[50:] == 0).all()


def test_history_undo_redo_and_depth(two):
    h = M.History(two)
    a = two.regions[0].uid
    for i in range(60):
        h.push(M.rename(h.present, a, f"name{i}"))
    assert h.present.region(a).name == "name59"
    for i in range(58, -1, -1):
        h.undo()
        assert h.present.region(a).name == f"name{i}"
    h.undo()
    assert h.present is two and not h.can_undo
    with pytest.raises(InputError, match="nothing to undo"):
        h.undo()
    h.redo()
    assert h.present.region(a).name == "name0"
    h.push(M.rename(h.present, a, "fresh"))
    assert not h.can_redo  # a new edit drops the redo branch


def test_history_keeps_its_limit_and_coalesces_a_drag(two):
    h = M.History(two, limit=50)
    a = two.regions[0].uid
    for i in range(80):
        h.push(M.rename(h.present, a, f"n{i}"))
    assert len(h.past) == 50
    h2 = M.History(two)
    for i, p in enumerate((1.1, 1.2, 1.3)):  # one slider drag: three events, one undo step
        h2.push(M.set_fabric(h2.present, a, M.Fabric("a.png", "t", pattern=p)), key=("fabric", a), now=10 + 0.1 * i)
    assert len(h2.past) == 1 and h2.present.region(a).fabric.pattern == 1.3
    h2.push(M.set_fabric(h2.present, a, M.Fabric("a.png", "t", pattern=2)), key=("fabric", a), now=20)
    assert len(h2.past) == 2


def test_a_long_history_of_a_large_sketch_stays_small():
    big = (1500, 1200)
    snap = M.replace_all(M.Snapshot.empty(big), [("a", _rect(0, 1500, 0, 600, big)),
                                                 ("b", _rect(0, 1500, 600, 1200, big))], [M.Fabric()])
    h = M.History(snap)
    a = snap.regions[0].uid
    for i in range(50):
        h.push(M.add_area(h.present, a, _rect(i * 10, i * 10 + 10, 600, 700, big)))
    one = 2 * 1500 * 1200 * 2  # the two uint16 label maps of one step
    past = h.nbytes() - h.present.labels.nbytes - h.present.origin.nbytes
    assert past < 50 * one / 50, (past, one)  # 50 past steps cost less than one raw step (compressed)
    for _ in range(50):
        h.undo()
    assert np.array_equal(h.present.labels.array, snap.labels.array)


def test_same_content_ignores_the_selection(two):
    b = two.regions[1].uid
    assert M.same_content(two, M.select(two, b))
    assert not M.same_content(two, M.rename(two, b, "x"))


def test_a_region_taken_whole_stays_to_get_its_area_back(two):
    a, b = (r.uid for r in two.regions)
    s = M.add_area(two, a, s_b := two.mask(b))
    assert s.region(b) is not None and s.areas()[b] == 0  # empty, but its name and fabric are kept
    s = M.remove_area(s, a, s_b)
    assert s.areas() == two.areas() and s.region(b).fabric.label == "denim"
    s = M.delete(M.add_area(two, a, s_b), a)  # nothing can give it back any more: it goes
    assert s.regions == ()


def test_strokes_are_packed_and_compared_by_content():
    m = _rect(10, 12, 5, 70)
    a, b = M.Strokes(m), M.Strokes(m.copy())
    assert a == b and hash(a) == hash(b) and a is not b
    assert np.array_equal(a.array, m) and a.pixels == int(m.sum())
    assert M.Strokes(_rect(10, 12, 5, 69)) != a
    big = np.zeros((4000, 3000), bool)
    big[2000:2004, 100:2900] = True
    assert len(M.Strokes(big)._packed) < 20_000  # 12 MP of strokes kept in a few kB


@pytest.mark.parametrize("kw,match", [(dict(prepare="sometimes"), "preparation"), (dict(grain="diagonal"), "grain"),
                                      (dict(grain="strokes"), "draw grain strokes"), (dict(drape=3.0), "drape"),
                                      (dict(drape=float("nan")), "drape"), (dict(colourway=("red",)), "palette"),
                                      (dict(colourway=("#000000",) * 9), "palette"),
                                      (dict(strokes=np.ones((3, 3), bool)), "grain brush")])
def test_fabric_panel_settings_are_checked(kw, match):
    with pytest.raises(InputError, match=match):
        M.Fabric("a.png", "x", **kw)


def test_palette_grain_and_strokes_undo_like_any_edit(two):
    h = M.History(two)
    uid = two.regions[0].uid
    f0 = two.regions[0].fabric
    f1 = M.Fabric("a.png", "tartan", colourway=("#112233", "#ffffff"))
    f2 = M.Fabric("a.png", "tartan", colourway=("#112233", "#ffffff"), grain="strokes",
                  strokes=M.Strokes(_rect(20, 22, 0, 40)), drape=0.5)
    h.push(M.set_fabric(h.present, uid, f1), now=0)
    h.push(M.set_fabric(h.present, uid, f2), now=10)
    assert not M.same_content(h.present, two) and h.present.region(uid).fabric.strokes.pixels == 80
    h.undo()
    assert h.present.region(uid).fabric == f1
    h.undo()
    assert h.present.region(uid).fabric == f0 and M.same_content(h.present, two)
    h.redo()
    h.redo()
    # a fabric equal in content (strokes redrawn identically) is the same content: downloads stay current
    same = M.set_fabric(h.present, uid, M.Fabric("a.png", "tartan", colourway=("#112233", "#ffffff"),
                                                 grain="strokes", strokes=M.Strokes(_rect(20, 22, 0, 40)), drape=0.5))
    assert M.same_content(same, h.present)
