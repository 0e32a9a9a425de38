"""Comparing runs: every ledger row side by side, and what the machines promise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ids_utils import compare, ledger


def fake_ledger(values, verdicts, low=np.nan, high=np.nan):
    return pd.DataFrame({"claim": ["accuracy", "accuracy", "flows"],
                         "model": ["as written", "stabilised", ""],
                         "what": ["accuracy", "accuracy", "flows"], "ours": values,
                         "ci_low": [low, 0.90, np.nan], "ci_high": [high, 0.95, np.nan],
                         "verdict": verdicts})


@pytest.fixture
def two_ledgers(monkeypatch):
    ledgers = {"A": fake_ledger([0.5, 0.93, 1500], ["not reproduced", "reproduced", "x"]),
               "B": fake_ledger([0.6, 0.97, 1500], ["not reproduced", "not reproduced", "x"])}
    monkeypatch.setattr(ledger, "build_ledger", lambda run: ledgers[str(run)])


def test_rows_are_matched_by_claim_and_model(two_ledgers):
    table = compare.compare_runs("A", "B").set_index(["claim", "model"])
    row = table.loc[("accuracy", "stabilised")]
    assert (row["a"], row["b"], row["b_within_a"]) == (0.93, 0.97, False)
    assert not row["same_verdict"] and row["verdict_b"] == "not reproduced"
    assert table.loc[("accuracy", "as written"), "b_within_a"] is None  # A has no interval
    assert table["same_verdict"].tolist() == [True, False, True]


def test_a_value_inside_the_interval_is_within():
    ledgers = {"A": fake_ledger([0.5, 0.93, 1], ["r", "r", "r"]),
               "B": fake_ledger([0.5, 0.90, 1], ["r", "r", "r"])}
    import unittest.mock as mock
    with mock.patch.object(ledger, "build_ledger", lambda run: ledgers[str(run)]):
        table = compare.compare_runs("A", "B")
    assert table["b_within_a"].tolist()[1] is True  # the bound itself is within


def test_bitwise_promise_needs_the_same_cpu_flags_threads_and_packages():
    a = compare.machine_record(threads=1)
    assert compare.bitwise_expected(a, dict(a)) == (True, [])
    other = {**a, "threads_per_training": 2, "floating_point_flags": ["avx2"]}
    assert compare.bitwise_expected(a, other) == (False, ["floating_point_flags",
                                                          "threads_per_training"])
    assert set(compare.NUMERIC_PACKAGES) == set(a["packages"])


def test_compare_runs_names_a_missing_artifact_in_one_line(tmp_path):
    import subprocess
    import sys

    for run in ("a", "b"):
        (tmp_path / run / "artifacts").mkdir(parents=True)
    result = subprocess.run([sys.executable, "-m", "ids_utils", "compare-runs",
                             str(tmp_path / "a"), str(tmp_path / "b")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line, = result.stderr.strip().splitlines()
    assert "data_report.json: not found" in line and "pipeline --profile a" in line
    result = subprocess.run([sys.executable, "-m", "ids_utils", "compare-runs",
                             str(tmp_path / "a"), str(tmp_path / "nope")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "not a run folder" in result.stderr


def test_a_flipped_verdict_exits_1_and_is_named(monkeypatch, capsys):
    from ids_utils import cli

    ledgers = {"A": fake_ledger([0.5, 0.93, 1500], ["n", "reproduced", "x"]),
               "B": fake_ledger([0.5, 0.97, 1500], ["n", "not reproduced", "x"])}
    monkeypatch.setattr(ledger, "build_ledger", lambda run: ledgers[str(run)])
    monkeypatch.setattr(compare.Path, "is_dir", lambda self: True)
    assert cli.main(["compare-runs", "A", "B"]) == 1
    out = capsys.readouterr().out
    assert "accuracy [stabilised]: A 0.93, B 0.97 (outside A's interval); reproduced -> " \
           "not reproduced  (VERDICT CHANGED)" in out
    assert "2 of 3 verdicts agree" in out
