"""Comparing runs: every ledger row side by side, and what the machines promise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ids_utils import compare, ledger


def fake_ledger(values, verdicts, low=np.nan, high=np.nan):
    return pd.DataFrame(
        {
            "claim": ["accuracy", "accuracy", "flows"],
            "model": ["as written", "stabilised", ""],
            "what": ["accuracy", "accuracy", "flows"],
            "ours": values,
            "ci_low": [low, 0.90, np.nan],
            "ci_high": [high, 0.95, np.nan],
            "verdict": verdicts,
        }
    )


@pytest.fixture
def two_ledgers(monkeypatch):
    ledgers = {
        "A": fake_ledger([0.5, 0.93, 1500], ["not reproduced", "reproduced", "x"]),
        "B": fake_ledger([0.6, 0.97, 1500], ["not reproduced", "not reproduced", "x"]),
    }
    monkeypatch.setattr(ledger, "build_ledger", lambda run: ledgers[str(run)])


def test_rows_are_matched_by_claim_and_model(two_ledgers):
    table = compare.compare_runs("A", "B").set_index(["claim", "model"])
    row = table.loc[("accuracy", "stabilised")]
    assert (row["a"], row["b"], row["b_within_a"]) == (0.93, 0.97, False)
    assert not row["same_verdict"] and row["verdict_b"] == "not reproduced"
    assert table.loc[("accuracy", "as written"), "b_within_a"] is None  # A has no interval
    assert table["same_verdict"].tolist() == [True, False, True]


def test_a_value_inside_the_interval_is_within():
    ledgers = {
        "A": fake_ledger([0.5, 0.93, 1], ["r", "r", "r"]),
        "B": fake_ledger([0.5, 0.90, 1], ["r", "r", "r"]),
    }
    import unittest.mock as mock

    with mock.patch.object(ledger, "build_ledger", lambda run: ledgers[str(run)]):
        table = compare.compare_runs("A", "B")
    assert table["b_within_a"].tolist()[1] is True  # the bound itself is within


def test_bitwise_promise_needs_the_same_cpu_flags_threads_and_packages():
    a = compare.machine_record(threads=1)
    assert compare.bitwise_expected(a, dict(a)) == (True, [])
    other = {**a, "threads_per_training": 2, "floating_point_flags": ["avx2"]}
    assert compare.bitwise_expected(a, other) == (
        False,
        ["floating_point_flags", "threads_per_training"],
    )
    assert set(compare.NUMERIC_PACKAGES) == set(a["packages"])


def test_compare_runs_names_a_missing_artifact_in_one_line(tmp_path):
    import subprocess
    import sys

    for run in ("a", "b"):
        (tmp_path / run / "artifacts").mkdir(parents=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ids_utils",
            "compare-runs",
            str(tmp_path / "a"),
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "data_report.json: not found" in line and "pipeline --profile a" in line
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ids_utils",
            "compare-runs",
            str(tmp_path / "a"),
            str(tmp_path / "nope"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "not a run folder" in result.stderr


def test_a_flipped_verdict_exits_1_and_is_named(monkeypatch, capsys):
    from ids_utils import cli

    ledgers = {
        "A": fake_ledger([0.5, 0.93, 1500], ["n", "reproduced", "x"]),
        "B": fake_ledger([0.5, 0.97, 1500], ["n", "not reproduced", "x"]),
    }
    monkeypatch.setattr(ledger, "build_ledger", lambda run: ledgers[str(run)])
    monkeypatch.setattr(compare.Path, "is_dir", lambda self: True)
    assert cli.main(["compare-runs", "A", "B"]) == 1
    out = capsys.readouterr().out
    assert (
        "accuracy [stabilised]: A 0.93, B 0.97 (outside A's interval); reproduced -> "
        "not reproduced  (VERDICT CHANGED)" in out
    )
    assert "2 of 3 verdicts agree" in out


def published_predictions(probability, attack):
    probability = np.asarray(probability, dtype="float64")
    return pd.DataFrame(
        {
            "probability": probability,
            "attack": attack,
            "prediction": (probability >= 0.5).astype("int8"),
        }
    )


def test_a_rerun_with_the_same_probabilities_moves_nothing():
    published = published_predictions([0.1, 0.7, 0.4, 0.9], [0, 1, 1, 1])
    moved = compare._movement(published, [0.1, 0.7, 0.4, 0.9], 0.5)
    assert moved["identical_probabilities"] and moved["flipped_predictions"] == 0
    assert moved["max_probability_difference"] == 0.0
    assert all(m["difference"] == 0.0 for m in moved["metrics"].values())


def test_a_flipped_flow_moves_the_metrics_by_its_weight():
    published = published_predictions([0.1, 0.7, 0.4, 0.9], [0, 1, 1, 1])
    moved = compare._movement(published, [0.1, 0.7, 0.6, 0.9], 0.5)  # the third flow now right
    assert not moved["identical_probabilities"] and moved["flipped_predictions"] == 1
    assert moved["max_probability_difference"] == pytest.approx(0.2)
    metrics = moved["metrics"]
    assert metrics["accuracy"]["run"] == 0.75 and metrics["accuracy"]["rerun"] == 1.0
    assert metrics["accuracy"]["difference"] == 0.25
    assert metrics["recall"]["difference"] == pytest.approx(1 / 3)
    assert metrics["false_positive_rate"]["difference"] == 0.0


def test_a_flow_that_becomes_scorable_or_unscorable_changes_class():
    published = published_predictions([0.1, np.nan, 0.4, 0.9], [0, 1, 1, 1])
    published["prediction"] = pd.array([0, None, 0, 1], dtype="Int8")
    assert compare._movement(published, [0.1, 0.2, np.inf, 0.9], 0.5)["flipped_predictions"] == 2
    assert compare._movement(published, [0.1, np.nan, 0.4, 0.9], 0.5)["flipped_predictions"] == 0


def test_a_rerun_of_other_flows_is_refused():
    published = published_predictions([0.1, 0.7], [0, 1])
    with pytest.raises(ValueError, match="3 test flows, the run 2"):
        compare._movement(published, [0.1, 0.7, 0.2], 0.5)


def test_rerun_movement_needs_a_known_change_and_a_seed_of_the_run(tmp_path):
    from ids_utils.artifacts import write_json

    write_json(tmp_path / "artifacts" / "training.json", {"seeds": [42]})
    with pytest.raises(ValueError, match="unknown change 'GPU'"):
        compare.rerun_movement(tmp_path, 42, "GPU")
    with pytest.raises(ValueError, match="seed 7 is not among"):
        compare.rerun_movement(tmp_path, 7, "two threads")


def test_the_movement_table_has_a_row_per_change_and_model_and_a_column_per_metric():
    from ids_utils.paper import TABLE1_METRICS

    published = published_predictions([0.1, 0.7, 0.4, 0.9], [0, 1, 1, 1])
    result = {"threads_run": 1, "threads_rerun": 2, "diverged": {"run": False}}
    reports = [
        {
            "seed": 42,
            "change": "two threads",
            "models": {
                "stabilised": {**result, **compare._movement(published, [0.1, 0.7, 0.6, 0.9], 0.5)}
            },
        },
        {
            "seed": 42,
            "change": "oneDNN kernels",
            "models": {
                "stabilised": {**result, **compare._movement(published, [0.1, 0.7, 0.4, 0.9], 0.5)}
            },
        },
    ]
    table = compare.movement_table(reports)
    assert table.index.tolist() == [("two threads", "stabilised"), ("oneDNN kernels", "stabilised")]
    assert set(TABLE1_METRICS) <= set(table.columns)
    assert table.loc[("two threads", "stabilised"), "accuracy"] == 0.25
    assert table.loc[("oneDNN kernels", "stabilised"), "accuracy"] == 0.0
    assert table.loc[("two threads", "stabilised"), "threads (run, rerun)"] == "1, 2"


def test_the_control_changes_nothing_and_every_other_rerun_exactly_one_thing():
    from ids_utils.workers import THREADS_PER_WORKER, WORKER_ENV

    assert next(iter(compare.RERUNS)) == compare.SAME_SETTINGS
    for change, rerun in compare.RERUNS.items():
        other_threads = rerun["threads"] != THREADS_PER_WORKER
        other_env = any(WORKER_ENV.get(k) != v for k, v in rerun["env"].items())
        if change == compare.SAME_SETTINGS:
            assert not other_threads and not other_env
        else:
            assert other_threads != other_env, change


def test_the_reruns_run_side_by_side_and_come_back_in_the_order_of_the_changes(monkeypatch):
    import threading
    import time

    running, peak = [0], [0]
    lock = threading.Lock()

    def rerun(run_dir, seed, change):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05 * (len(compare.RERUNS) - list(compare.RERUNS).index(change)))
        with lock:
            running[0] -= 1
        return {"seed": seed, "change": change, "run_dir": run_dir}

    monkeypatch.setattr(compare, "rerun_movement", rerun)
    reports = compare.rerun_movements("run", 42, n_workers=2)
    assert [r["change"] for r in reports] == list(compare.RERUNS)
    assert {(r["seed"], r["run_dir"]) for r in reports} == {(42, "run")}
    assert peak[0] == 2
    peak[0] = 0
    compare.rerun_movements("run", 42, n_workers=1)
    assert peak[0] == 1
    with pytest.raises(ValueError, match="at least 1"):
        compare.rerun_movements("run", 42, n_workers=0)
