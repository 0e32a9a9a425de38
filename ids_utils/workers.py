"""Independent trainings in worker processes, one TensorFlow thread each.

Seeds, sweep points and learning-curve sizes do not depend on each other, and
small-batch LSTM steps use a second thread poorly, so two one-thread
processes train two models in less time than one two-thread process
(:func:`benchmark_parallelism`; the training chapter measures it and the
reproducibility chapter reports it).  Every training runs in a worker, even
with one worker, so a run's numbers never depend on how many workers it had:
the same seed gives the same weights, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

#: Threads each worker gives TensorFlow.
THREADS_PER_WORKER = 1

#: Set in each worker before TensorFlow starts: its C++ log off (errors still
#: raise in Python; the log's tf.data notices would otherwise land in the
#: notebooks' outputs), no oneDNN reordering (see ``ids_utils/__init__.py``).
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


def run_jobs(function: Callable, jobs: list[dict], workers: int, desc: str = "trainings") -> list:
    """Call ``function(**job)`` for every job in worker processes; results in job order.

    The jobs are handed to the workers largest first (:func:`job_size`; equal sizes
    keep their order): with more jobs than workers, a long job handed out last would
    train alone at the end while the other workers idle.  A job's result does not
    depend on its worker or on the jobs before it (each training seeds itself).

    Parameters
    ----------
    function : callable
        A module-level function (it is sent to the workers).
    jobs : list of dict
        Keyword arguments of each call.
    workers : int
        Worker processes (at least 1).
    desc : str
        Label of the progress bar.

    Raises
    ------
    ValueError
        If ``workers`` is below 1.
    """
    from concurrent.futures import as_completed

    from joblib.externals.loky import get_reusable_executor
    from tqdm import tqdm

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    # joblib's Parallel runs a single job in this process; loky's executor always
    # uses workers, so one worker trains exactly as two do.
    executor = get_reusable_executor(max_workers=workers, env=WORKER_ENV)
    largest_first = sorted(range(len(jobs)), key=lambda i: -job_size(jobs[i]))
    futures = {i: executor.submit(_in_worker, function, jobs[i]) for i in largest_first}
    for _ in tqdm(as_completed(futures.values()), total=len(futures), desc=desc):
        pass
    return [futures[i].result() for i in range(len(jobs))]


def job_size(job: dict) -> int:
    """The work of a training job: training flows x features (sequence steps) x epochs.

    Read from the job's ``parts["train"]``, ``features`` and ``settings["epochs"]``;
    0 for a job that does not carry them (its place in the queue is kept).
    """
    parts, settings = job.get("parts"), job.get("settings")
    if not (isinstance(parts, dict) and "train" in parts and isinstance(settings, dict)):
        return 0
    return len(parts["train"]) * len(job.get("features", ())) * int(settings.get("epochs", 1))


def run_with_threads(
    function: Callable, jobs: list[dict], threads: int, env: dict | None = None
) -> list:
    """Call ``function(**job)`` for every job, one after the other, in one fresh process
    whose TensorFlow uses ``threads`` threads; results in job order.

    TensorFlow fixes its thread pools (and reads its environment) once per
    process, so a thread count or an ``env`` other than the workers' needs a
    process of its own.  ``env`` is set on top of :data:`WORKER_ENV`.
    """
    from joblib.externals.loky import ProcessPoolExecutor

    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    with ProcessPoolExecutor(max_workers=1, env={**WORKER_ENV, **(env or {})}) as executor:
        futures = [executor.submit(_in_worker, function, job, threads) for job in jobs]
        return [future.result() for future in futures]


def benchmark_parallelism(function: Callable, jobs: list[dict], cores: int = 2) -> dict:
    """Wall time of the same jobs run two ways on ``cores`` cores, in fresh processes.

    ``serial``: one process with ``cores`` TensorFlow threads runs the jobs one
    after the other; ``parallel``: ``cores`` one-thread processes run them side
    by side (what :func:`run_jobs` does).  Process start-up is included in both.

    Returns
    -------
    dict
        ``jobs``, ``cores``, ``serial_seconds``, ``parallel_seconds`` and
        ``faster`` (``"parallel"`` or ``"serial"``).
    """
    import time

    from joblib.externals.loky import ProcessPoolExecutor

    seconds = {}
    for arrangement, (processes, threads) in {"serial": (1, cores), "parallel": (cores, 1)}.items():
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=processes, env=WORKER_ENV) as executor:
            futures = [executor.submit(_in_worker, function, job, threads) for job in jobs]
            for future in futures:
                future.result()
        seconds[arrangement] = time.perf_counter() - start
    return {
        "jobs": len(jobs),
        "cores": cores,
        "serial_seconds": seconds["serial"],
        "parallel_seconds": seconds["parallel"],
        "faster": min(seconds, key=seconds.get),
    }


def _in_worker(function: Callable, job: dict, threads: int = THREADS_PER_WORKER):
    import logging

    _set_threads(threads)
    # A worker builds model after model; TensorFlow's notices about retracing
    # them are expected and would only clutter the notebooks' outputs.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return function(**job)


def _set_threads(threads: int) -> None:
    """Fix TensorFlow's thread pools (a no-op if this worker did it before)."""
    import tensorflow as tf

    threading = tf.config.threading
    if (
        threading.get_intra_op_parallelism_threads() == threads
        and threading.get_inter_op_parallelism_threads() == threads
    ):
        return
    threading.set_intra_op_parallelism_threads(threads)
    threading.set_inter_op_parallelism_threads(threads)
