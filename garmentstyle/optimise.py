"""One optimiser loop for L-BFGS and Adam, whose result does not depend on who is watching.

The loop runs the optimiser one iteration at a time; a convergence check (``stop``) runs every ``check_every``
iterations — a fixed internal interval — and observation points (``observe_every``, for previews) are only places
where the caller is shown the image. The solvers (:mod:`garmentstyle.solvers`, our own: ``torch.optim`` would import
TorchDynamo on first use, ~1 s) keep their state (history, step) between iterations and hand back each accepted
point with its evaluation, so a check reads the losses there without evaluating again; each L-BFGS line search is
capped at 25 trials, the same for every iteration. Hence a render's pixels are identical with previews off, every
step or every five steps (tested), and the UI and the CLI run the same optimisation for the same settings. (Before,
the L-BFGS call size *was* the preview interval, and so was the line-search budget: previews every step cut the line
search to two evaluations and stopped a noise-start render 200× short.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

import torch

from .errors import Cancelled
from .solvers import LBFGS, Adam, Evaluation

__all__ = ["CHECK_EVERY", "OptimiseResult", "optimise"]

#: Iterations between convergence checks. The old default preview cadence, so renders keep their measured
#: behaviour.
CHECK_EVERY = 5
#: L-BFGS memory.
HISTORY = 50
#: Trials one L-BFGS line search may take after its first (torch's own default cap).
MAX_LINE_SEARCH = 25


Criterion = Callable[[torch.Tensor], Mapping[str, torch.Tensor]]
#: ``stop(losses_now, losses_at_previous_check or None) -> reason or None``.
StopRule = Callable[[Mapping[str, float], Optional[Mapping[str, float]]], Optional[str]]
#: ``observe(step, losses, x)``: ``x`` is the current image (Adam: its running average) at observation points,
#: None at check points that are not observation points.
Observer = Callable[[int, Mapping[str, float], Optional[torch.Tensor]], None]


@dataclass
class OptimiseResult:
    """What :func:`optimise` did.

    Attributes:
        x: the result (the last finite iterate; Adam: its running average), detached, same shape as ``x0``.
        steps: iterations run. evaluations: criterion evaluations (forward + backward).
        first: losses at ``x0``. last: losses at the last check.
        stopped: why it ended before ``steps``: "converged", "noise floor", … (the stop rule's reason), "stalled"
            (L-BFGS made no progress), "diverged" (a non-finite loss; ``x`` is the last good iterate), "cancelled";
            None when every step ran.
    """

    x: torch.Tensor
    steps: int = 0
    evaluations: int = 0
    first: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    stopped: Optional[str] = None


class _Counted:
    """The criterion as the solvers call it: a point in, its :class:`Evaluation` out, counted; before every
    evaluation but the first it calls ``checkpoint`` (a Cancel lands within one evaluation, not after a whole line
    search)."""

    def __init__(self, criterion: Criterion) -> None:
        self.criterion = criterion
        self.evaluations = 0
        self.checkpoint: Optional[Callable[[str], None]] = None

    def __call__(self, point: torch.Tensor) -> Evaluation:
        if self.checkpoint is not None:
            self.checkpoint("optimise")
        self.evaluations += 1
        x = point.detach().requires_grad_(True)
        with torch.enable_grad():
            out = self.criterion(x)
            out["total"].backward()
        grad = x.grad if x.grad is not None else torch.zeros_like(x)
        terms = {k: float(v.detach()) for k, v in out.items()}
        return Evaluation(loss=terms["total"], grad=grad.detach(), terms=terms)


#: L-BFGS line search: "strong_wolfe" (the default: 1.5–2.75 evaluations per iteration) or None (one evaluation,
#: a fixed step); bench/bench_vgg19.py measures what it buys in quality per second (bench/RESULTS.md).
LINE_SEARCH: Optional[str] = "strong_wolfe"


def optimise(criterion: Criterion, x0: torch.Tensor, *, steps: int, method: str = "lbfgs", lr: float = 0.02,
             stop: Optional[StopRule] = None, check_every: int = CHECK_EVERY, observe_every: int = 0,
             observe: Optional[Observer] = None, checkpoint: Optional[Callable[[str], None]] = None,
             evaluation_checkpoint: Optional[Callable[[str], None]] = None) -> OptimiseResult:
    """Minimise ``criterion(x)["total"]`` from ``x0``.

    Args:
        criterion: ``x (same shape as x0) -> {name: scalar tensor, "total": …}``.
        x0: the start, e.g. ``(1, 3, H, W)`` float in [0, 1].
        steps: iteration budget (L-BFGS iterations or Adam steps).
        method: "lbfgs" (strong-Wolfe line search, history 50) or "adam" (clamped to [0, 1], iterate averaging).
        stop: the convergence rule, called at the start (``previous`` None) and every ``check_every`` iterations
            with the losses at the current point.
        check_every: the fixed internal check interval (≥ 1); never derived from the observation cadence.
        observe_every, observe: call ``observe`` with the image every ``observe_every`` iterations (0 = never) and
            without it at the other checks. Observing never changes the iterates.
        checkpoint: called with "optimise" between iterations; a :class:`Cancelled` it raises (or ``observe`` raises)
            ends the loop with ``stopped="cancelled"`` and the current image.
        evaluation_checkpoint: called with "optimise" before every new evaluation after the first (inside an
            iteration's line search too; a ``Cancelled`` it raises ends the loop the same way).

    Returns:
        :class:`OptimiseResult`.

    Raises:
        ValueError: unknown ``method`` or ``check_every`` < 1.
    """
    if method not in ("lbfgs", "adam"):
        raise ValueError(f"method must be 'lbfgs' or 'adam', got {method!r}")
    if check_every < 1:
        raise ValueError(f"check_every must be ≥ 1, got {check_every}")
    x = x0.detach().clone()
    if steps <= 0:  # only the losses at the start: no gradient needed
        with torch.no_grad():
            first = {k: float(v) for k, v in criterion(x).items()}
        return OptimiseResult(x=x, evaluations=1, first=first, last=dict(first))
    evaluate = _Counted(criterion)
    ev = evaluate(x)  # with its gradient: the first L-BFGS/Adam step uses it
    evaluate.checkpoint = evaluation_checkpoint
    result = OptimiseResult(x=x, first=dict(ev.terms), last=dict(ev.terms))
    reason = stop(result.first, None) if stop is not None else None
    if reason:  # the start already satisfies the rule (e.g. at the noise floor): no optimiser is built
        result.stopped, result.evaluations = reason, evaluate.evaluations
        return result
    if method == "lbfgs":
        loop = _LBFGSLoop(x, ev, evaluate)
    else:
        loop = _AdamLoop(x, ev, evaluate, lr)
    _run(loop, result, steps=steps, stop=stop, check_every=check_every, observe_every=observe_every,
         observe=observe, checkpoint=checkpoint)
    result.evaluations = evaluate.evaluations
    return result


class _LBFGSLoop:
    """L-BFGS iterations; ``view`` is the current iterate, ``terms`` its losses (known without re-evaluating)."""

    def __init__(self, x: torch.Tensor, ev: Evaluation, evaluate: _Counted) -> None:
        self.solver = LBFGS(history=HISTORY, line_search=LINE_SEARCH, max_line_search=MAX_LINE_SEARCH)
        self.view, self.ev, self.evaluate = x, ev, evaluate

    @property
    def terms(self) -> dict[str, float]:
        return dict(self.ev.terms)

    def step(self, done: int) -> bool:
        out = self.solver.step(self.view, self.ev, self.evaluate)
        if out is None:
            return False
        self.view, self.ev, _ = out
        return True


class _AdamLoop:
    """Adam steps clamped to [0, 1] with iterate averaging (it smooths Adam's last steps); ``view`` is the running
    average, ``terms`` the losses at the point each step started from (as measured for its gradient)."""

    def __init__(self, x: torch.Tensor, ev: Evaluation, evaluate: _Counted, lr: float) -> None:
        self.solver, self.evaluate = Adam(lr=lr), evaluate
        self.x, self.ev, self.view = x, ev, x.clone()
        self.terms: dict[str, float] = dict(ev.terms)
        self._fresh = True  # ``ev`` is at ``x``: the first step uses the start's evaluation

    def step(self, done: int) -> bool:
        ev = self.ev if self._fresh else self.evaluate(self.x)
        self._fresh = False
        self.terms = dict(ev.terms)
        with torch.no_grad():
            self.x = self.solver.step(self.x, ev.grad).clamp_(0, 1)
            beta = min(0.9, done / (done + 10.0))
            self.view = self.view.mul(beta).add_(self.x, alpha=1 - beta)
        return True


def _run(loop: "_LBFGSLoop | _AdamLoop", result: OptimiseResult, *, steps: int, stop: Optional[StopRule], check_every: int,
         observe_every: int, observe: Optional[Observer], checkpoint: Optional[Callable[[str], None]]) -> None:
    """Iterate ``loop`` up to ``steps`` times with checks every ``check_every``; fills ``result``."""
    good = result.x
    previous: Optional[dict[str, float]] = None
    done = 0
    try:
        while done < steps:
            ran = loop.step(done)
            done += 1
            is_check = done % check_every == 0 or done == steps
            shows = bool(observe_every) and done % observe_every == 0
            if is_check:
                now = loop.terms
                if not math.isfinite(now.get("total", math.nan)):
                    result.stopped = "diverged"
                    break
                good = loop.view
                result.last = now
            if observe is not None and (is_check or shows):
                observe(done, loop.terms, loop.view if shows else None)
            if not ran:  # no step possible: a vanished gradient, or a non-finite loss where it stands
                result.stopped = "stalled" if math.isfinite(loop.terms.get("total", math.nan)) else "diverged"
                break
            if is_check and stop is not None:
                reason = stop(result.last, previous)
                if reason:
                    result.stopped = reason
                    break
                previous = result.last
            if checkpoint is not None and done < steps:
                checkpoint("optimise")
    except Cancelled:
        result.stopped = "cancelled"
    final = good if result.stopped == "diverged" else loop.view
    result.x = final.detach().clone()
    result.steps = done
