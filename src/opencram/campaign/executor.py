"""Running campaign tasks: in this process, over local processes, or on a Ray cluster.

Every executor calls the same pure function (:func:`opencram.campaign.worker.run_task`),
so the same tasks give the same rows whichever runs them; only the order in which results
arrive differs (the store sorts them).

- ``inline``: one after the other in this process (debugging, tests).
- ``local``: a :class:`concurrent.futures.ProcessPoolExecutor` with the ``forkserver``
  start method (no fork of a parent holding threads or a rich console). Workers ignore
  SIGINT, so Ctrl-C reaches only the parent, which stops submitting and saves what has
  finished. If a worker process dies (killed, out of memory) every run the broken pool
  held is tried again in a fresh pool, up to ``MAX_ATTEMPTS`` times in all, then recorded
  as failed (``opencram campaign --retry-failed`` runs it again). Workers exit when the
  campaign's process does, even when it is killed (:func:`_watch_parent`); the forkserver
  and the resource tracker then follow.
- ``ray``: ``ray.init(address=...)`` joins an existing cluster (or, without an address,
  starts a local instance with ``workers`` CPUs); each run is a Ray task.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

# Loaded at import so that each worker process, which imports this module to find its
# initializer, has the engine ready before its first timed run.
import opencram.analysis.summary
import opencram.c2.engine
import opencram.c2.stages  # noqa: F401
from opencram.campaign.worker import Task, run_task
from opencram.errors import UserError

CONNECT_TIMEOUT_S = 5.0  # for the reachability check of --address
# A broken pool fails every run it held, not only the one whose worker died, so each is
# tried this many times in all before it is recorded as failed.
MAX_ATTEMPTS = 3
PARENT_POLL_S = 1.0  # how often a worker without pidfds checks that the campaign lives

OnResult = Callable[[dict[str, Any]], None]
EXECUTORS = ("local", "ray", "inline")


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def execute(
    tasks: list[Task],
    on_result: OnResult,
    *,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
) -> None:
    """Run ``tasks``, calling ``on_result`` in this process with each result as it comes."""
    workers = workers or default_workers()
    if executor == "inline":
        for t in tasks:
            on_result(run_task(t))
    elif executor == "local":
        _run_local(tasks, on_result, workers)
    elif executor == "ray":
        _run_ray(tasks, on_result, workers, address)
    else:
        raise UserError(f"--executor {executor}: must be one of {', '.join(EXECUTORS)}")


def _failed(task: Task, error: str) -> dict[str, Any]:
    return {
        "run": {
            "layout": task.layout,
            "run": task.run,
            "seed": task.seed,
            "status": "failed",
            "error": error,
            "variant": None,
        },
        "threats": [],
    }


# ---- local processes ---------------------------------------------------------------------


def _worker_init(parent_pid: int | None = None) -> None:
    """Workers ignore Ctrl-C (only the parent handles it) and exit when ``parent_pid``, the
    campaign's process, does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent_pid is not None:
        threading.Thread(
            target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True
        ).start()


def _watch_parent(parent_pid: int) -> None:
    """End this worker as soon as process ``parent_pid`` has exited.

    A worker's parent is the forkserver, not the campaign, so ``PR_SET_PDEATHSIG`` would
    wait for the forkserver, which itself exits only once every worker has closed its
    end of the forkserver's "alive" pipe: killed campaigns left both waiting for ever.
    A pidfd (Linux 5.3+) of the campaign's process becomes readable when it exits, and
    waiting on it costs nothing; without pidfds the process is polled every
    ``PARENT_POLL_S``."""
    try:
        fd = os.pidfd_open(parent_pid)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    else:  # pragma: no cover - not Linux, or an old kernel
        while _alive(parent_pid):
            time.sleep(PARENT_POLL_S)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a reused pid of another user
        return False
    return True


def _run_local(tasks: list[Task], on_result: OnResult, workers: int) -> None:
    ctx = mp.get_context("forkserver")
    queue = list(reversed(tasks))
    attempts: dict[tuple[str, int], int] = {}
    depth = 2 * workers  # tasks in flight: enough to keep workers busy, few to lose
    while queue:
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )
        inflight: dict = {}
        broken = False
        try:
            while queue or inflight:
                while queue and len(inflight) < depth and not broken:
                    t = queue.pop()
                    attempts[(t.layout, t.run)] = attempts.get((t.layout, t.run), 0) + 1
                    try:
                        inflight[pool.submit(run_task, t)] = t
                    except BrokenProcessPool:
                        queue.append(t)
                        broken = True
                if not inflight:
                    break
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for f in done:
                    t = inflight.pop(f)
                    try:
                        res = f.result()
                    except BrokenProcessPool:
                        broken = True
                        if attempts[(t.layout, t.run)] >= MAX_ATTEMPTS:
                            on_result(
                                _failed(
                                    t,
                                    f"a worker process died {MAX_ATTEMPTS} times while this "
                                    "run was in the pool",
                                )
                            )
                        else:
                            queue.append(t)
                        continue
                    on_result(res)
                if broken and not inflight:
                    break
        finally:
            # on Ctrl-C: drop what has not started; running tasks end with their process
            pool.shutdown(wait=not broken, cancel_futures=True)


# ---- Ray ---------------------------------------------------------------------------------


def _run_ray(tasks: list[Task], on_result: OnResult, workers: int, address: str | None) -> None:
    try:
        import ray  # deferred: Ray is an optional extra and slow to import
    except ImportError:
        raise UserError("--executor ray: Ray is not installed; pip install 'ray>=2.9,<3'") from None
    started = False
    if not ray.is_initialized():
        _ray_init(ray, workers, address)
        started = True
    try:
        _ray_pump(ray, tasks, on_result, workers)
    finally:
        if started:
            ray.shutdown()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _ray_init(ray, workers: int, address: str | None) -> None:
    """Join the cluster at ``address``, or start a local Ray with ``workers`` CPUs; a
    failure is one ``UserError`` line."""
    if address:
        check_reachable(address)
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"--address {address}" if address else "--executor ray"
        first = _first_line(exc) or type(exc).__name__
        raise UserError(f"{where}: cannot start or reach Ray: {first}") from None


def _ray_pump(ray, tasks: list[Task], on_result: OnResult, workers: int) -> None:
    """Keep twice the cluster's CPUs in flight as Ray tasks; report each result as it
    comes (a task Ray failed becomes a failed row). Ctrl-C cancels what is in flight."""
    remote = ray.remote(num_cpus=1, max_retries=1)(run_task)
    cpus = int(ray.cluster_resources().get("CPU", workers)) or 1
    depth = 2 * cpus
    queue = list(reversed(tasks))
    inflight: dict = {}
    try:
        while queue or inflight:
            while queue and len(inflight) < depth:
                t = queue.pop()
                inflight[remote.remote(t)] = t
            done, _ = ray.wait(list(inflight), num_returns=1)
            for ref in done:
                t = inflight.pop(ref)
                try:
                    res = ray.get(ref)
                except Exception as exc:  # the worker died or Ray failed the task
                    res = _failed(t, f"{type(exc).__name__} in Ray: {_first_line(exc)}"[:2000])
                on_result(res)
    except KeyboardInterrupt:
        for ref in list(inflight):
            ray.cancel(ref, force=True)
        raise


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast, with one line, when ``--address`` names a host and port that nothing
    answers on: ``ray.init`` itself retries for minutes. ``auto`` and addresses without a
    port are left to Ray."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"--address {address}: no Ray cluster answers there ({reason})") from None
