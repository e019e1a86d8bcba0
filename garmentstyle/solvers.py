"""L-BFGS (strong-Wolfe line search) and Adam on one image tensor, without ``torch.optim``.

Why our own: ``torch.optim``'s methods are wrapped to switch TorchDynamo off, and the first optimiser a process
builds imports ``torch._dynamo`` — 1.0–1.5 s on a 2-core CPU, more than four 256 px VGG19 evaluations, for a
compiler nothing here uses. A render optimises one tensor, so the whole of what we need is small: L-BFGS's two-loop
recursion over the last ``history`` steps (Nocedal & Wright, *Numerical Optimization*, algorithm 7.4), a line search
for the strong Wolfe conditions by bracketing and zooming with safeguarded cubic interpolation (algorithms 3.5–3.6,
the constants of minFunc and of torch's port of it: c1 = 1e-4, c2 = 0.9, at most 25 evaluations, a first step of
``min(1, 1/‖g‖₁)``), and Adam (Kingma & Ba) with bias correction.

The solvers are state machines: the caller holds the iterate and its :class:`Evaluation`, and each ``step`` runs
one iteration and hands back the new ones. The caller's ``evaluate(point)`` answers loss, gradient and named terms
at a point (a new tensor each time: the solvers never write into a point they handed out), so the caller counts
evaluations, checks for cancellation inside a line search and reads the terms of the accepted point without
evaluating it again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

import torch

__all__ = ["Adam", "Evaluation", "Evaluate", "LBFGS", "cubic_minimum", "strong_wolfe"]


@dataclass(frozen=True)
class Evaluation:
    """The criterion at one point: ``loss`` (a float, possibly non-finite), ``grad`` (same shape as the point, not
    aliased by anything the caller keeps) and the named ``terms`` (floats)."""

    loss: float
    grad: torch.Tensor
    terms: Mapping[str, float] = field(default_factory=dict)


#: ``evaluate(point) -> Evaluation`` at ``point`` (a tensor the caller may keep).
Evaluate = Callable[[torch.Tensor], Evaluation]


def _dot(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.dot(a.reshape(-1), b.reshape(-1)))


def cubic_minimum(t1: float, f1: float, g1: float, t2: float, f2: float, g2: float,
                  lo: float, hi: float) -> float:
    """The minimiser in ``[lo, hi]`` of the cubic through ``(t1, f1)``, ``(t2, f2)`` with slopes ``g1``, ``g2``
    (Nocedal & Wright eq. 3.59); the middle of the interval when the cubic has no real minimiser."""
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (t1 - t2)
    disc = d1 * d1 - g1 * g2
    if not disc >= 0.0:  # also NaN
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if t1 <= t2:
        num, den, t, span = g2 + d2 - d1, g2 - g1 + 2.0 * d2, t2, t2 - t1
    else:
        num, den, t, span = g1 + d2 - d1, g1 - g2 + 2.0 * d2, t1, t1 - t2
    t = t - span * (num / den) if den != 0.0 else math.nan
    if not math.isfinite(t):
        return (lo + hi) / 2.0
    return min(max(t, lo), hi)


@dataclass
class _Trial:
    """One point of the line search: step ``t`` along the direction, its evaluation and directional slope."""

    t: float
    point: torch.Tensor
    ev: Evaluation
    slope: float


def _value(p: "_Trial") -> float:
    """The loss for comparisons: a NaN loss or slope counts as +inf, so a line search backs away from it."""
    return p.ev.loss if p.ev.loss == p.ev.loss and p.slope == p.slope else math.inf


def strong_wolfe(evaluate: Evaluate, x: torch.Tensor, start: Evaluation, d: torch.Tensor, t: float,
                 *, c1: float = 1e-4, c2: float = 0.9, max_iterations: int = 25,
                 tolerance: float = 1e-9) -> tuple[torch.Tensor, Evaluation, float, int]:
    """A step along ``d`` from ``x`` satisfying the strong Wolfe conditions (or the best point found).

    Args:
        evaluate: the criterion. x: the start point; start: its evaluation. d: a descent direction
            (``<grad, d> < 0``). t: the first step to try.
        c1, c2: sufficient decrease and curvature constants.
        max_iterations: trials after the first (so at most ``max_iterations + 1`` evaluations).
        tolerance: stop zooming once the bracket is this short along ``d`` (in max-norm).
    Returns: (point, its evaluation, step, evaluations used).
    """
    slope0 = _dot(start.grad, d)
    f0 = start.loss if start.loss == start.loss else math.inf
    d_norm = float(d.abs().max())
    here = _Trial(0.0, x, start, slope0)

    def trial(step: float) -> _Trial:
        point = x + step * d
        ev = evaluate(point)
        return _Trial(step, point, ev, _dot(ev.grad, d))

    prev, new = here, trial(t)
    done = 0  # trials after the first
    bracket: Optional[list[_Trial]] = None
    while done < max_iterations:
        if _value(new) > f0 + c1 * new.t * slope0 or (done > 1 and _value(new) >= _value(prev)):
            bracket = [prev, new]
            break
        if abs(new.slope) <= -c2 * slope0:
            return new.point, new.ev, new.t, done + 1
        if new.slope >= 0:
            bracket = [prev, new]
            break
        lo, hi = new.t + 0.01 * (new.t - prev.t), new.t * 10.0
        step = cubic_minimum(prev.t, _value(prev), prev.slope, new.t, _value(new), new.slope, lo, hi)
        prev, new = new, trial(step)
        done += 1
    if bracket is None:  # the budget ran out while still extending: keep the better of the start and the last point
        bracket = [here, new]
    best, done = _zoom(bracket, trial, f0, slope0, d_norm, c1, c2, done, max_iterations, tolerance)
    return best.point, best.ev, best.t, done + 1


def _ends(bracket: list[_Trial]) -> tuple[_Trial, _Trial]:
    """(low, high): the end with the lower loss first (the first end on a tie)."""
    return (bracket[0], bracket[1]) if _value(bracket[0]) <= _value(bracket[1]) else (bracket[1], bracket[0])


def _zoom(bracket: list[_Trial], trial: Callable[[float], _Trial], f0: float, slope0: float, d_norm: float,
          c1: float, c2: float, done: int, budget: int, tolerance: float) -> tuple[_Trial, int]:
    """Shrink ``bracket`` (two trials around a strong-Wolfe point) by safeguarded cubic steps; its lower end and
    the trials used so far."""
    insufficient = False
    while done < budget:
        low, high = _ends(bracket)
        a, b = min(low.t, high.t), max(low.t, high.t)
        if (b - a) * d_norm < tolerance:
            break
        t = cubic_minimum(bracket[0].t, _value(bracket[0]), bracket[0].slope,
                          bracket[1].t, _value(bracket[1]), bracket[1].slope, a, b)
        # a step too close to an end makes little progress: the second time running, move it inside
        eps = 0.1 * (b - a)
        if min(b - t, t - a) < eps:
            if insufficient or t >= b or t <= a:
                t = b - eps if abs(t - b) < abs(t - a) else a + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        new = trial(t)
        done += 1
        if _value(new) > f0 + c1 * t * slope0 or _value(new) >= _value(low):
            bracket = [low, new]
        else:
            if abs(new.slope) <= -c2 * slope0:
                return new, done
            if new.slope * (high.t - low.t) >= 0:
                high = low
            bracket = [new, high]
    return _ends(bracket)[0], done


@dataclass
class LBFGS:
    """Limited-memory BFGS on one tensor (state between :meth:`step` calls: the last ``history`` steps).

    ``line_search`` "strong_wolfe" (default) or None (a fixed step ``lr`` along the direction, one evaluation).
    """

    history: int = 50
    line_search: Optional[str] = "strong_wolfe"
    max_line_search: int = 25
    lr: float = 1.0
    tolerance_grad: float = 1e-12
    tolerance_change: float = 1e-14
    iterations: int = 0
    _s: list[torch.Tensor] = field(default_factory=list, repr=False)
    _y: list[torch.Tensor] = field(default_factory=list, repr=False)
    _rho: list[float] = field(default_factory=list, repr=False)
    _scale: float = 1.0
    _last: Optional[tuple[torch.Tensor, torch.Tensor]] = field(default=None, repr=False)  # (step, grad before)

    def __post_init__(self) -> None:
        if self.line_search not in ("strong_wolfe", None):
            raise ValueError(f"line_search must be 'strong_wolfe' or None, got {self.line_search!r}")
        if self.history < 1 or self.max_line_search < 1:
            raise ValueError("history and max_line_search must be ≥ 1")

    def step(self, x: torch.Tensor, ev: Evaluation, evaluate: Evaluate
             ) -> Optional[tuple[torch.Tensor, Evaluation, int]]:
        """One iteration from ``x`` (evaluated as ``ev``): (new point, its evaluation, evaluations used), or None
        when no step can be made (the gradient vanished, no descent direction is left, or the line search found
        nothing better than ``x``)."""
        if not math.isfinite(ev.loss) or float(ev.grad.abs().max()) <= self.tolerance_grad:
            return None
        self._remember(ev.grad)
        d = self._direction(ev.grad)
        slope = _dot(ev.grad, d)
        if not slope < -self.tolerance_change:
            return None
        t = self.lr * (min(1.0, 1.0 / float(ev.grad.abs().sum())) if self.iterations == 0 else 1.0)
        self.iterations += 1
        if self.line_search is None:
            point, used = x + t * d, 1
            new = evaluate(point)
        else:
            point, new, t, used = strong_wolfe(evaluate, x, ev, d, t, max_iterations=self.max_line_search)
            if t == 0.0:  # nothing along d was better than the start (e.g. every trial non-finite): no step
                return None
        self._last = (d.mul_(t), ev.grad)
        return point, new, used

    def _remember(self, grad: torch.Tensor) -> None:
        """Add the last step (and the change of gradient it made, ending at ``grad``) to the history when its
        curvature is positive (otherwise the estimate would stop being positive definite)."""
        if self._last is None:
            return
        s, y = self._last[0], grad - self._last[1]
        sy = _dot(s, y)
        if sy > 1e-10:
            if len(self._s) == self.history:
                self._s.pop(0), self._y.pop(0), self._rho.pop(0)
            self._s.append(s), self._y.append(y), self._rho.append(1.0 / sy)
            self._scale = sy / _dot(y, y)
        self._last = None

    def _direction(self, grad: torch.Tensor) -> torch.Tensor:
        """``-H grad`` by the two-loop recursion, ``H`` the inverse-Hessian estimate from the history."""
        q = grad.neg()
        alphas = []
        for s, y, rho in zip(reversed(self._s), reversed(self._y), reversed(self._rho)):
            a = rho * _dot(s, q)
            q.add_(y, alpha=-a)
            alphas.append(a)
        r = q.mul_(self._scale)
        for (s, y, rho), a in zip(zip(self._s, self._y, self._rho), reversed(alphas)):
            b = rho * _dot(y, r)
            r.add_(s, alpha=a - b)
        return r


@dataclass
class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction, on one tensor."""

    lr: float = 0.02
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    steps: int = 0
    _m: Optional[torch.Tensor] = field(default=None, repr=False)
    _v: Optional[torch.Tensor] = field(default=None, repr=False)

    def step(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """The point after one step from ``x`` along ``grad`` (a new tensor; ``x`` is not written)."""
        b1, b2 = self.betas
        if self._m is None:
            self._m, self._v = torch.zeros_like(x), torch.zeros_like(x)
        self.steps += 1
        self._m.lerp_(grad, 1 - b1)
        self._v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        denom = (self._v.sqrt() / math.sqrt(1 - b2 ** self.steps)).add_(self.eps)
        return x.addcdiv(self._m, denom, value=-self.lr / (1 - b1 ** self.steps))
