"""Ray backend: items as Ray tasks, on a local Ray instance (``--ray local``) or a cluster (``--ray HOST:PORT``).

Ray is optional (``pip install garmentstyle[ray]``) and imported only here, only when asked. Each task runs
:func:`garmentstyle.batch.worker.render_item` — the code a local worker runs — with the same torch thread count, so
the PNG bytes are the same as a local run's. Items run on one long-lived actor per slot (``threads`` CPUs each, and
one GPU each when the cluster has GPUs and the items' device is not ``cpu``), routed by fabric as the local
backend routes them: an actor's swatch, colourway and style-target caches serve all the items of its fabrics. Inputs are read by the workers from the paths in the batch (a cluster needs them on shared storage);
the PNGs come back to the driver, which writes them.
"""
from __future__ import annotations

import socket
from typing import Iterator, Sequence

from ..errors import InputError
from .worker import Outcome, render_item

#: Seconds to wait for a cluster address to answer before calling it unreachable.
CONNECT_TIMEOUT = 5.0


def _import_ray():
    try:
        import ray  # noqa: PLC0415 - optional, heavy
    except ImportError:
        raise InputError("--ray needs Ray: pip install 'garmentstyle[ray]' (or pip install ray)") from None
    return ray


def _check_reachable(address: str) -> None:
    """One clear error before any work when ``HOST:PORT`` (or ``ray://HOST:PORT``) does not answer."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--ray {address!r}: give 'local', 'auto', HOST:PORT (the head's GCS port, usually 6379) "
                         "or ray://HOST:10001")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise InputError(f"--ray {address}: the Ray cluster is unreachable ({exc.strerror or exc}); is the head "
                         "running (ray start --head) and the port open?") from None


def preflight(address: str) -> None:
    """Before anything is printed or read: Ray importable, and a cluster address answering."""
    _import_ray()
    if address != "local":
        _check_reachable(address)


def connect(address: str, *, workers: int, threads: int):
    """Start a local Ray instance with ``workers × threads`` CPUs (``"local"``), or join the cluster at
    ``address``. Returns ``(ray, started_here)``."""
    ray = _import_ray()
    if address != "local":
        _check_reachable(address)
    try:
        if address == "local":
            ray.init(num_cpus=workers * threads, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, … with multi-line text
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"--ray {address}: could not start or join Ray ({first})") from None
    cpus = ray.cluster_resources().get("CPU", 0)
    if cpus < threads:
        ray.shutdown()
        raise InputError(f"--ray {address}: the cluster has {cpus:g} CPUs; a task needs --threads {threads}")
    return ray, address == "local"


class _Worker:
    """One long-lived Ray actor per slot: it keeps the library's caches (swatch preparation, colourways, style
    targets) for the whole batch, and items are routed to it by fabric (:class:`~.local._Affinity`)."""

    def __init__(self, threads: int) -> None:
        from .worker import set_threads

        set_threads(threads)

    def render(self, item, threads: int) -> Outcome:
        return render_item(item, threads)


def run_ray(items: Sequence, *, session: tuple, workers: int, threads: int, want_gpu: bool) -> Iterator[Outcome]:
    """Yield one :class:`Outcome` per item as each finishes, on ``session`` (from :func:`connect`). Closing
    the generator stops every actor, so nothing queued or running goes on (the caller shuts the session down)."""
    from .local import QUEUE_PER_WORKER, _Affinity

    ray, started = session
    refs: dict = {}  # ObjectRef → (actor slot, item index)
    actors: list = []
    try:
        gpus = ray.cluster_resources().get("GPU", 0) if want_gpu else 0
        slots = workers if started else max(1, int(gpus or ray.cluster_resources().get("CPU", 1) // threads))
        actor = ray.remote(num_cpus=threads, num_gpus=1 if gpus else 0, max_restarts=1, max_task_retries=1)(_Worker)
        actors = [actor.remote(threads) for _ in range(slots)]
        todo = _Affinity(items, slots)
        while todo or refs:
            for w, a in enumerate(actors):
                while sum(1 for slot, _ in refs.values() if slot == w) < QUEUE_PER_WORKER:
                    item = todo.next_for(w)
                    if item is None:
                        break
                    refs[a.render.remote(item, threads)] = (w, item.index)
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                yield _get(ray, ref, refs.pop(ref)[1])
    finally:
        for a in actors:
            try:
                ray.kill(a)
            except Exception:  # already gone, or the cluster is
                pass


def disconnect(session: tuple) -> None:
    """Leave the cluster; a local instance started by :func:`connect` is stopped."""
    ray, _ = session
    ray.shutdown()


def _get(ray, ref, index: int) -> Outcome:
    try:
        return ray.get(ref)
    except Exception as exc:  # the worker process died (out of memory, node lost) after its retry
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Outcome(index=index, status="failed", seconds=0.0, error=f"Ray task failed: {first}")


