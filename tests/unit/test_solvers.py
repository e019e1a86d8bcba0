"""Our L-BFGS and Adam (garmentstyle.solvers): the same iterates as torch.optim's, and the line search's contract."""
from __future__ import annotations

import math

import pytest
import torch

from garmentstyle.solvers import LBFGS, Adam, Evaluation, cubic_minimum, strong_wolfe


def _rosenbrock(x: torch.Tensor) -> torch.Tensor:
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


class _Counted:
    def __init__(self, f):
        self.f, self.n = f, 0

    def __call__(self, point: torch.Tensor) -> Evaluation:
        self.n += 1
        p = point.detach().clone().requires_grad_(True)
        loss = self.f(p)
        loss.backward()
        return Evaluation(float(loss.detach()), p.grad.detach(), {"total": float(loss.detach())})


def test_lbfgs_follows_torch_optim_lbfgs():
    """The same algorithm as torch.optim.LBFGS (strong Wolfe, history 50), called one iteration at a time as the
    render's loop calls it: the iterates agree to rounding (Rosenbrock in 20-d, float64)."""
    torch.manual_seed(0)
    x0 = torch.randn(20, dtype=torch.float64)
    ref = x0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([ref], lr=1, max_iter=1, max_eval=26, history_size=50, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-12, tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(ref)
        loss.backward()
        return loss

    ours, f = LBFGS(history=50), _Counted(_rosenbrock)
    x, ev = x0.clone(), f(x0)
    for _ in range(15):
        opt.step(closure)
        x, ev, _ = ours.step(x, ev, f)
        assert torch.allclose(x, ref.detach(), rtol=0, atol=1e-9)
        assert ev.loss == pytest.approx(float(_rosenbrock(ref.detach())), rel=1e-12)
    assert ev.loss < 0.2 * float(_rosenbrock(x0))


def test_adam_is_torch_adam_bit_for_bit():
    torch.manual_seed(1)
    target = torch.rand(3, 8, 8)
    x0 = torch.rand(3, 8, 8)
    ref = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([ref], lr=0.05)
    ours, x = Adam(lr=0.05), x0.clone()
    for _ in range(20):
        opt.zero_grad()
        ((ref - target) ** 3).abs().sum().backward()
        opt.step()
        p = x.clone().requires_grad_(True)
        ((p - target) ** 3).abs().sum().backward()
        x = ours.step(x, p.grad)
        assert torch.equal(x, ref.detach())


def test_lbfgs_solves_a_quadratic_and_keeps_a_bounded_history():
    torch.manual_seed(2)
    a = torch.randn(30, 30, dtype=torch.float64)
    h = a @ a.T + 30 * torch.eye(30, dtype=torch.float64)
    b = torch.randn(30, dtype=torch.float64)
    f = _Counted(lambda x: 0.5 * x @ h @ x - b @ x)
    solver = LBFGS(history=5)
    x, ev = torch.zeros(30, dtype=torch.float64), f(torch.zeros(30, dtype=torch.float64))
    for _ in range(60):
        out = solver.step(x, ev, f)
        if out is None:
            break
        x, ev, _ = out
        assert len(solver._s) <= 5
    assert torch.allclose(x, torch.linalg.solve(h, b), atol=1e-6)


def test_the_accepted_step_meets_the_strong_wolfe_conditions():
    f = _Counted(lambda x: (x ** 4).sum() - 3 * x.sum())
    x = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
    start = f(x)
    d = -start.grad
    point, ev, t, used = strong_wolfe(f, x, start, d, 1.0)
    slope0 = float(start.grad @ d)
    assert ev.loss <= start.loss + 1e-4 * t * slope0
    assert abs(float(ev.grad @ d)) <= 0.9 * abs(slope0)
    assert torch.equal(point, x + t * d) and used == f.n - 1


def test_a_non_finite_loss_makes_the_line_search_back_away():
    """Beyond t = 0.5 the loss is NaN (as a diverging render's would be): the step found is finite and short."""
    def f(x):
        y = ((x - 2) ** 2).sum()
        return y + (math.nan if float(x[0].detach()) > 1.0 else 0.0)

    g = _Counted(f)
    x = torch.zeros(2, dtype=torch.float64)
    start = g(x)
    point, ev, t, _ = strong_wolfe(g, x, start, -start.grad, 1.0)  # the first trial lands at x = 4: NaN
    assert math.isfinite(ev.loss) and ev.loss < start.loss and float(point[0]) <= 1.0


def test_a_nan_gradient_counts_as_a_failed_trial():
    """A finite loss with a NaN gradient beyond x = 1 (a broken backward pass) is backed away from too, within the
    line search's budget, instead of extrapolating into it."""
    class Broken(_Counted):
        def __call__(self, point):
            ev = super().__call__(point)
            return Evaluation(ev.loss, ev.grad * math.nan, ev.terms) if float(point[0]) > 1.0 else ev

    g = Broken(lambda x: ((x - 2) ** 2).sum())
    x = torch.zeros(2, dtype=torch.float64)
    start = g(x)
    point, ev, t, used = strong_wolfe(g, x, start, -start.grad, 1.0)
    assert float(point[0]) <= 1.0 and torch.isfinite(ev.grad).all() and ev.loss < start.loss and used <= 26


def test_cubic_minimum():
    # f(t) = (t - 1)^2 (t + 2) has its local minimum at t = 1; slopes f'(t) = 3t^2 - 3
    f = lambda t: (t - 1) ** 2 * (t + 2)
    g = lambda t: 3 * t * t - 3
    assert cubic_minimum(0.0, f(0.0), g(0.0), 3.0, f(3.0), g(3.0), 0.0, 3.0) == pytest.approx(1.0)
    assert cubic_minimum(0.0, f(0.0), g(0.0), 3.0, f(3.0), g(3.0), 1.5, 3.0) == 1.5  # clamped to the bounds
    assert cubic_minimum(0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 0.0, 1.0) == 0.5  # no real minimiser: the middle
    assert cubic_minimum(0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0) == 0.5  # a degenerate one: the middle too


def test_no_step_where_the_gradient_vanishes_and_bad_settings_are_refused():
    f = _Counted(lambda x: ((x - 1) ** 2).sum())
    x = torch.ones(4, dtype=torch.float64)
    assert LBFGS().step(x, f(x), f) is None
    with pytest.raises(ValueError):
        LBFGS(line_search="armijo")
    with pytest.raises(ValueError):
        LBFGS(history=0)


def test_without_a_line_search_each_step_is_one_evaluation():
    f = _Counted(_rosenbrock)
    solver, x = LBFGS(line_search=None), torch.zeros(4, dtype=torch.float64)
    ev = f(x)
    for _ in range(3):
        x, ev, used = solver.step(x, ev, f)
        assert used == 1
    assert f.n == 4


def test_gram_synthesis_minimiser_keeps_its_evaluation_budget():
    """The swatch synthesiser's L-BFGS stops at its iterations or 1.25× as many evaluations (as torch.optim's
    ``max_eval`` did), and still descends."""
    from garmentstyle.swatches.gram import _minimise

    f = _Counted(_rosenbrock)
    x0 = torch.full((6,), -1.5, dtype=torch.float64)
    x = _minimise(f, x0, 8)
    assert f.n <= 8 * 5 // 4 + 1
    assert float(_rosenbrock(x)) < float(_rosenbrock(x0))
