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
FLOATING_POINT_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni",
                        "amx_tile")

#: Packages whose versions change numbers.
NUMERIC_PACKAGES = ("tensorflow-cpu", "keras", "numpy", "scikit-learn", "xgboost-cpu",
                    "onnxruntime")


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
    return {"cpu": machine_description()["cpu"], "floating_point_flags": flags, "cores": os.cpu_count(),
            "threads_per_training": threads,
            "tf_enable_onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
            "python": platform.python_version(), "system": platform.platform(),
            "packages": versions}


def bitwise_expected(a: dict, b: dict) -> tuple[bool, list[str]]:
    """Whether two runs' machine records promise identical numbers, and what differs."""
    keys = ("cpu", "floating_point_flags", "threads_per_training", "tf_enable_onednn_opts",
            "packages", "python")
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
        rows.append({"claim": key[0], "model": key[1],
                     "what": (ra if ra is not None else rb)["what"],
                     "a": value_a, "b": value_b, "a_low": low, "a_high": high,
                     "b_within_a": within, "verdict_a": verdict_a, "verdict_b": verdict_b,
                     "same_verdict": verdict_a == verdict_b})
    return pd.DataFrame(rows)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def read_machine(run_dir: str | Path) -> dict | None:
    """A run's ``machine.json``, or None for a run made before runs recorded it."""
    from .artifacts import read_json

    path = Path(run_dir) / "artifacts" / "machine.json"
    return read_json(path) if path.is_file() else None
