"""One optimiser loop for L-BFGS and Adam, whose result does not depend on who is watching.

The loop runs the optimiser one iteration at a time; a convergence check (``stop``) runs every ``check_every``
iterations — a fixed internal interval — and observation points (``observe_every``, for previews) are only places
where the caller is shown the image. L-BFGS keeps its state (history, direction, step size) between ``step()``
calls; each call is one iteration with the line search capped at 25 evaluations (torch's default, the same for every
iteration), and the evaluation each call makes at its starting point is answered from a memo of the recent
evaluations (bitwise the same point, with its gradient), so it costs nothing. Hence a render's pixels are identical
with previews off, every step or every five steps (tested), and the UI and the CLI run the same optimisation for the
same settings. (Before, the L-BFGS call size *was* the preview interval, and so was the line-search budget:
previews every step cut the line search to two evaluations and stopped a noise-start render 200× short.)
"""
from __future__ import annotations

import importlib
import math
import sys
import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

import torch

from .errors import Cancelled

__all__ = ["CHECK_EVERY", "OptimiseResult", "optimise", "preload"]

#: Iterations between convergence checks (and the L-BFGS call size without observers). The old default preview
#: cadence, so renders keep their measured behaviour.
CHECK_EVERY = 5
#: L-BFGS memory.
HISTORY = 50
#: Evaluations one L-BFGS line search may take (torch's own default cap).
MAX_LINE_SEARCH = 25

#: What the first ``torch.optim`` optimiser imports: its methods are wrapped to switch TorchDynamo off, and the
#: first call imports it (~1.3 s on the 2-core machine, more than a 256 px VGG19 evaluation) although nothing here
#: compiles. :func:`preload` starts that import early, on a thread, so it overlaps the style-target measurement.
_OPTIMISER_IMPORTS = ("torch._dynamo",)
_preload_lock = threading.Lock()
_preloading: Optional[threading.Thread] = None


def preload() -> None:
    """Begin importing what the first optimiser construction will import, on a daemon thread, and return at once.

    Called by a render that will optimise, before it measures its style targets: most of the import then runs
    while the main thread is inside torch's kernels (which release the GIL). Idempotent, and a no-op once the
    modules are loaded; an import error is left for the optimiser's own construction to raise."""
    global _preloading
    with _preload_lock:
        if _preloading is not None or all(m in sys.modules for m in _OPTIMISER_IMPORTS):
            return
        _preloading = threading.Thread(target=_import_quietly, name="garmentstyle-preload", daemon=True)
        _preloading.start()


def _import_quietly() -> None:
    for name in _OPTIMISER_IMPORTS:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the optimiser's construction imports it again and reports the error
            return


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


class _Memo:
    """The criterion with its value and gradient remembered for the last few points evaluated (the line search's
    bracket), so re-evaluating a point L-BFGS already saw costs nothing."""

    def __init__(self, criterion: Criterion, x: torch.Tensor, keep: int = 3) -> None:
        self.criterion, self.x, self.keep = criterion, x, keep
        self.seen: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, float]]] = []
        self.terms: dict[str, float] = {}
        self.evaluations = 0
        #: called with "optimise" before each new evaluation inside an iteration (a Cancel lands within one
        #: evaluation, not after a whole line search of up to 25)
        self.checkpoint: Optional[Callable[[str], None]] = None

    def __call__(self) -> torch.Tensor:
        """Loss at ``x`` with ``x.grad`` set (a closure for ``torch.optim``); ``terms`` are its named terms."""
        here = self.x.detach()
        for at, grad, loss, terms in reversed(self.seen):
            if torch.equal(at, here):
                self.x.grad = grad.clone()
                self.terms = terms
                return loss
        if self.checkpoint is not None:
            self.checkpoint("optimise")
        self.evaluations += 1
        self.x.grad = None
        with torch.enable_grad():
            out = self.criterion(self.x)
            loss = out["total"]
            loss.backward()
        self.terms = {k: float(v.detach()) for k, v in out.items()}
        grad = self.x.grad.detach().clone() if self.x.grad is not None else torch.zeros_like(here)
        self.seen = (self.seen + [(here.clone(), grad, loss.detach(), self.terms)])[-self.keep:]
        return loss.detach()


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
    x = x0.detach().clone().requires_grad_(True)
    memo = _Memo(criterion, x)
    if steps <= 0:  # only the losses at the start: no gradient needed
        with torch.no_grad():
            first = {k: float(v) for k, v in criterion(x.detach()).items()}
        return OptimiseResult(x=x0.detach().clone(), evaluations=1, first=first, last=dict(first))
    memo()  # with its gradient: the first L-BFGS/Adam step reuses it
    memo.checkpoint = evaluation_checkpoint
    result = OptimiseResult(x=x0.detach().clone(), first=dict(memo.terms), last=dict(memo.terms))
    reason = stop(result.first, None) if stop is not None else None
    if reason:  # the start already satisfies the rule (e.g. at the noise floor): no optimiser is built
        result.stopped, result.evaluations = reason, memo.evaluations
        return result
    if method == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS(
            [x], lr=1.0, max_iter=1, max_eval=1 + MAX_LINE_SEARCH, history_size=HISTORY,
            line_search_fn=LINE_SEARCH, tolerance_grad=1e-12, tolerance_change=1e-14)
    else:
        opt = torch.optim.Adam([x], lr=lr)
    avg = x.detach().clone() if method == "adam" else None
    good = x.detach().clone()
    previous: Optional[dict[str, float]] = None
    done = 0
    try:
        while done < steps:
            ran = _lbfgs_iteration(opt, x, memo) if method == "lbfgs" else _adam_step(opt, x, memo, avg, done)
            done += 1
            view = avg if avg is not None else x.detach()
            is_check = done % check_every == 0 or done == steps
            shows = bool(observe_every) and done % observe_every == 0
            if is_check:
                if method == "lbfgs":
                    memo()  # the losses at the current point (a memo hit unless the line search ended elsewhere)
                now = dict(memo.terms)
                if not math.isfinite(now.get("total", math.nan)):
                    result.stopped = "diverged"
                    break
                with torch.no_grad():
                    good.copy_(view)
                result.last = now
            if observe is not None and (is_check or shows):
                observe(done, dict(memo.terms), view if shows else None)
            if not ran:
                result.stopped = "stalled"
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
    with torch.no_grad():
        final = good if result.stopped == "diverged" else (avg if avg is not None else x.detach())
        result.x = final.detach().clone()
    result.steps = done
    result.evaluations = memo.evaluations
    return result


def _lbfgs_iteration(opt: torch.optim.LBFGS, x: torch.Tensor, memo: _Memo) -> bool:
    """One L-BFGS iteration (line search ≤ 25 evaluations); False when it could not start (zero gradient)."""
    before = opt.state[x].get("n_iter", 0) if x in opt.state else 0
    opt.step(memo)
    return opt.state[x].get("n_iter", 0) > before


def _adam_step(opt: torch.optim.Adam, x: torch.Tensor, memo: _Memo, avg: torch.Tensor, step: int) -> bool:
    """One Adam step, clamped to [0, 1], with iterate averaging (it smooths Adam's last steps)."""
    memo()
    opt.step()
    with torch.no_grad():
        x.clamp_(0, 1)
        beta = min(0.9, step / (step + 10.0))
        avg.mul_(beta).add_(x, alpha=1 - beta)
    return True
