"""Comparing two runs: the machine each ran on, and every ledger row side by side.

"Same seed, same numbers, bit for bit" holds on one machine type with one
thread count; on another CPU, floating-point differences are amplified by
training (enormously while a model diverges).  A reviewer who reruns the book
compares their run with the published one here: same verdict or not, and
whether their value lies within the published interval.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pandas as pd

#: CPU instruction-set flags that change which floating-point kernels run
#: (vector width, fused multiply-add), and so the last bits of results.
FLOATING_POINT_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512_bf16",
    "avx512_vnni",
    "amx_tile",
)

#: Packages whose versions change numbers.
NUMERIC_PACKAGES = (
    "tensorflow-cpu",
    "keras",
    "numpy",
    "scikit-learn",
    "xgboost-cpu",
    "onnxruntime",
)


def machine_record(threads: int | None = None) -> dict:
    """What a run records about the machine it ran on (written to ``machine.json``).

    Parameters
    ----------
    threads : int, optional
        TensorFlow threads per training (the workers' count); all cores when None.
    """
    from importlib import metadata

    from .latency import machine_description

    flags = []
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        line = next((x for x in cpuinfo.read_text().splitlines() if x.startswith("flags")), "")
        present = set(line.partition(":")[2].split())
        flags = [flag for flag in FLOATING_POINT_FLAGS if flag in present]
    versions = {}
    for name in NUMERIC_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": machine_description()["cpu"],
        "floating_point_flags": flags,
        "cores": os.cpu_count(),
        "threads_per_training": threads,
        "tf_enable_onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "python": platform.python_version(),
        "system": platform.platform(),
        "packages": versions,
    }


def bitwise_expected(a: dict, b: dict) -> tuple[bool, list[str]]:
    """Whether two runs' machine records promise identical numbers, and what differs."""
    keys = (
        "cpu",
        "floating_point_flags",
        "threads_per_training",
        "tf_enable_onednn_opts",
        "packages",
        "python",
    )
    differences = [key for key in keys if a.get(key) != b.get(key)]
    return not differences, differences


def compare_runs(run_a: str | Path, run_b: str | Path) -> pd.DataFrame:
    """Every ledger row of two runs side by side.

    Returns
    -------
    pandas.DataFrame
        ``claim``, ``model``, ``what``, ``a``, ``b``, ``a_low``, ``a_high``,
        ``b_within_a`` (True, False, or None when A has no interval or a value
        is missing), ``verdict_a``, ``verdict_b``, ``same_verdict``.
    """
    from .ledger import build_ledger

    keys = ["claim", "model"]
    a, b = (build_ledger(run).set_index(keys) for run in (run_a, run_b))
    rows = []
    for key in a.index.union(b.index, sort=False):
        ra = a.loc[key] if key in a.index else None
        rb = b.loc[key] if key in b.index else None
        value_a = None if ra is None else ra["ours"]
        value_b = None if rb is None else rb["ours"]
        low = None if ra is None else ra["ci_low"]
        high = None if ra is None else ra["ci_high"]
        within = None
        if all(_is_number(v) for v in (value_b, low, high)):
            within = bool(low <= value_b <= high)
        verdict_a = None if ra is None else ra["verdict"]
        verdict_b = None if rb is None else rb["verdict"]
        rows.append(
            {
                "claim": key[0],
                "model": key[1],
                "what": (ra if ra is not None else rb)["what"],
                "a": value_a,
                "b": value_b,
                "a_low": low,
                "a_high": high,
                "b_within_a": within,
                "verdict_a": verdict_a,
                "verdict_b": verdict_b,
                "same_verdict": verdict_a == verdict_b,
            }
        )
    return pd.DataFrame(rows)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def read_machine(run_dir: str | Path) -> dict | None:
    """A run's ``machine.json``, or None for a run made before runs recorded it."""
    from .artifacts import read_json

    path = Path(run_dir) / "artifacts" / "machine.json"
    return read_json(path) if path.is_file() else None


#: The baseline whose fit uses several threads (its histogram sums), measured beside the
#: CNN-LSTMs when the thread count changes (:func:`rerun_movement`).
THREADED_BASELINE = "XGBoost"

#: The changes :func:`rerun_movement` makes, each a stand-in on one machine for a rerun on
#: another: TensorFlow threads per training, and environment set in the rerun's process.
#: oneDNN's kernels are what TensorFlow uses by default on many other x86 builds and CPUs
#: (the run keeps them off, :mod:`ids_utils`); they sum in another order.  The first changes
#: nothing but the process: the run's own "same seed, same numbers" check, which must move
#: nothing at all (``make test`` asserts it instead of executing the stages a second time).
SAME_SETTINGS = "nothing (a fresh process)"
RERUNS = {
    SAME_SETTINGS: {"threads": 1, "env": {}},
    "two threads": {"threads": 2, "env": {}},
    "oneDNN kernels": {"threads": 1, "env": {"TF_ENABLE_ONEDNN_OPTS": "1"}},
}


def rerun_movement(run_dir: str | Path, seed: int, change: str) -> dict:
    """How far one seed's Table 1 metrics move when its models are trained again with one
    thing changed (:data:`RERUNS`): how much "same seed, same numbers" depends on it.

    Both CNN-LSTMs are trained again on the seed's split with the run's settings
    (``training.json``) in a fresh process that makes the change; for a change
    of thread count, :data:`THREADED_BASELINE` is fitted again too, with one
    thread if the run used several and with the change's count otherwise.
    Each rerun scores the seed's test flows; nothing is chosen on them.

    Parameters
    ----------
    run_dir : str or Path
        A run whose evaluation and baselines stages are done.
    seed : int
        One of the run's seeds.
    change : str
        A key of :data:`RERUNS`.

    Returns
    -------
    dict
        ``seed``, ``change`` and, per model, ``threads_run``, ``threads_rerun``,
        ``identical_probabilities`` (bit for bit), ``max_probability_difference``,
        ``flipped_predictions`` (test flows whose class changed), ``diverged``
        (run, rerun: CNN-LSTMs only) and ``metrics``: metric -> ``run``,
        ``rerun``, ``difference`` (rerun minus run).

    Raises
    ------
    ValueError
        If the change is unknown or the seed is not in the run.
    """
    from .artifacts import artifacts_dir, load_scaled_split, read_json, read_parquet
    from .baselines import attack_probability, make_baselines
    from .models import CNN_LSTMS
    from .training import retrain_test_probability
    from .workers import THREADS_PER_WORKER, run_with_threads

    if change not in RERUNS:
        raise ValueError(f"unknown change {change!r}; choose one of {sorted(RERUNS)}")
    threads, env = RERUNS[change]["threads"], RERUNS[change]["env"]
    artifacts = artifacts_dir(run_dir)
    training = read_json(artifacts / "training.json")
    if seed not in training["seeds"]:
        raise ValueError(f"seed {seed} is not among the run's seeds {training['seeds']}")
    threshold = read_json(artifacts / "metrics.json")["threshold"]
    settings = {key: training[key] for key in ("epochs", "batch_size", "learning_rate")}
    cnn_lstms = read_parquet(artifacts / "predictions.parquet")
    jobs = [
        {"run_dir": str(run_dir), "seed": seed, "model": model, "threshold": threshold, **settings}
        for model in CNN_LSTMS
    ]
    report = {"seed": seed, "change": change, "models": {}}
    for rerun in run_with_threads(retrain_test_probability, jobs, threads, env):
        model = rerun["model"]
        published = cnn_lstms[(cnn_lstms["model"] == model) & (cnn_lstms["seed"] == seed)]
        diverged = training["models"][model]["diverged"][str(seed)]["diverged"]
        report["models"][model] = {
            "threads_run": THREADS_PER_WORKER,
            "threads_rerun": threads,
            "diverged": {"run": diverged, "rerun": rerun["diverged"]},
            **_movement(published, rerun["probability"], threshold),
        }
    if threads == THREADS_PER_WORKER:
        return report

    x_train, y_train, _ = load_scaled_split(run_dir, seed, "train")
    x_test, _, _ = load_scaled_split(run_dir, seed, "test")
    baseline = make_baselines(seed)[THREADED_BASELINE]
    threads_run = baseline.get_params()["n_jobs"]
    threads_rerun = 1 if threads_run != 1 else threads
    baseline.set_params(n_jobs=threads_rerun).fit(x_train, y_train)
    baselines = read_parquet(artifacts / "baseline_predictions.parquet")
    published = baselines[(baselines["model"] == THREADED_BASELINE) & (baselines["seed"] == seed)]
    report["models"][THREADED_BASELINE] = {
        "threads_run": threads_run,
        "threads_rerun": threads_rerun,
        "diverged": None,
        **_movement(published, attack_probability(baseline, x_test), threshold),
    }
    return report


def rerun_movements(run_dir: str | Path, seed: int, n_workers: int) -> list[dict]:
    """:func:`rerun_movement` of every change of :data:`RERUNS`, in that order, up to
    ``n_workers`` at a time (each rerun trains in a process of its own, so running them
    side by side changes no number, only the wall time)."""
    from concurrent.futures import ThreadPoolExecutor

    if n_workers < 1:
        raise ValueError(f"n_workers must be at least 1, got {n_workers}")
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        return list(pool.map(lambda change: rerun_movement(run_dir, seed, change), RERUNS))


def _movement(published: pd.DataFrame, probability, threshold: float) -> dict:
    """Compare a run's predictions of a seed's test flows with a rerun's probabilities."""
    import numpy as np

    from .evaluation import UNSCORED, prediction_codes, scored_metrics
    from .paper import TABLE1_METRICS

    probability = np.asarray(probability, dtype="float64")
    if len(probability) != len(published):
        raise ValueError(
            f"the rerun scored {len(probability)} test flows, the run {len(published)}"
        )
    y = published["attack"].to_numpy()
    run = scored_metrics(y, published["probability"].to_numpy(), threshold)
    rerun = scored_metrics(y, probability, threshold)
    difference = np.abs(probability - published["probability"].to_numpy())
    # Becoming scorable, or unscorable, is a change of class too.
    rerun_class = np.where(np.isfinite(probability), probability >= threshold, UNSCORED)
    flipped = rerun_class != prediction_codes(published)
    return {
        "identical_probabilities": bool(
            np.array_equal(
                probability.astype("float32"), published["probability"].to_numpy("float32")
            )
        ),
        "max_probability_difference": float(difference.max(initial=0.0)),
        "flipped_predictions": int(flipped.sum()),
        "metrics": {
            metric: {
                "run": run[metric],
                "rerun": rerun[metric],
                "difference": rerun[metric] - run[metric],
            }
            for metric in TABLE1_METRICS
        },
    }


def movement_table(reports: list[dict]) -> pd.DataFrame:
    """:func:`rerun_movement` reports as one table: a row per change and model, with the
    thread counts, whether the probabilities are identical, the flows whose class changed,
    and each Table 1 metric's difference (rerun minus run)."""
    rows = []
    for report in reports:
        for model, result in report["models"].items():
            rows.append(
                {
                    "change": report["change"],
                    "model": model,
                    "threads (run, rerun)": f"{result['threads_run']}, {result['threads_rerun']}",
                    "identical probabilities": result["identical_probabilities"],
                    "flipped predictions": result["flipped_predictions"],
                    **{m: values["difference"] for m, values in result["metrics"].items()},
                }
            )
    return pd.DataFrame(rows).set_index(["change", "model"])
