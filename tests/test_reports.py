"""Each chapter's JSON report has the schema the ledger was built against (the golden run)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ids_utils import reports
from ids_utils.files import dumps
from ids_utils.paper import paper_claims

GOLDEN = Path(__file__).parent / "fixtures" / "ci_run" / "artifacts"


def golden_keys(name):
    return set(json.loads((GOLDEN / f"{name}.json").read_text()))


def strict(report):
    """The report as the run writes it: strict JSON (no NaN)."""
    return json.loads(dumps(report))


def test_the_metrics_report_quotes_the_paper_and_its_arithmetic():
    claims = paper_claims()
    report = strict(reports.metrics_json("ci", 0.5, [42], {"m": {}}, claims, {"accuracy": 0.98}))
    assert set(report) == golden_keys("metrics")
    assert report["paper"]["accuracy"] == claims.loc["accuracy", "paper"]
    assert report["paper_arithmetic"]["accuracy"] == {
        "reported": claims.loc["accuracy", "paper"],
        "implied": 0.98,
    }


def test_the_preprocessing_report_keys_seeds_as_strings():
    report = strict(
        reports.preprocessing_report(
            "ci", ["a"], {"rows_in": 3}, [42, 43], 0.2, 0.1, {42: {"split": {}}, 43: {"split": {}}}
        )
    )
    assert set(report) == golden_keys("preprocessing_report")
    assert list(report["per_seed"]) == ["42", "43"]


def test_the_cross_dataset_report_marks_divergence_per_model_and_test_set():
    per_seed = pd.DataFrame(
        {
            "model": ["CNN-LSTM as written", "CNN-LSTM as written", "CNN-LSTM stabilised", "RF"],
            "test set": ["KDDTest+", "KDDTest+", "KDDTest+", "KDDTest+"],
            "seed": [42, 43, 42, 42],
            "diverged": [True, False, False, None],
            "group": "g",
        }
    )
    empty = pd.DataFrame()
    choice = pd.DataFrame({"model": ["m"], "learning_rate": [0.001], "balanced_accuracy": [0.9]})
    chosen = {"CNN-LSTM stabilised": {"learning_rate": 0.0003, "batch_size": 32}}
    report = strict(
        reports.cross_dataset_report(
            "ci",
            [42, 43],
            "paper",
            empty,
            10,
            per_seed,
            {},
            empty,
            empty,
            0.1,
            "answer",
            choice,
            0.05,
            chosen,
        )
    )
    assert set(report) == golden_keys("cross_dataset")
    assert report["learning_rate_choice"] == {
        "fraction": 0.05,
        "validation": [{"model": "m", "learning_rate": 0.001, "balanced_accuracy": 0.9}],
        "chosen": chosen,
    }
    assert report["diverged"]["CNN-LSTM as written"] == {"KDDTest+": {"42": True, "43": False}}
    assert report["diverged"]["CNN-LSTM stabilised"] == {"KDDTest+": {"42": False}}
    assert all("group" not in row for row in report["per_seed"])


@pytest.mark.parametrize(
    "name, build",
    [
        (
            "class_ratio",
            lambda per_seed: reports.class_ratio_report(
                "ci", [42], 0.2, 0.02, {"paper": 0.9}, pd.DataFrame(), per_seed, "answer"
            ),
        ),
        (
            "ablations",
            lambda per_seed: reports.ablations_report(
                "ci",
                [42],
                "accuracy",
                ["b", "a"],
                {"CNN-LSTM": 1},
                per_seed,
                {"accuracy": pd.DataFrame({"difference": [0.1]}, index=["MLP"])},
                ["MLP"],
                "answer",
            ),
        ),
    ],
)
def test_reports_summarised_over_seeds_have_the_golden_keys(name, build):
    from ids_utils.experiments import METRICS

    per_seed = pd.DataFrame(
        {"ratio": ["paper"], "model": ["MLP"], "seed": [42], **{m: [0.9] for m in METRICS}}
    )
    report = strict(build(per_seed))
    assert set(report) == golden_keys(name)


def test_the_errors_report_has_the_golden_keys():
    report = strict(
        reports.errors_report(
            "ci",
            [42],
            pd.DataFrame({"recall": [0.5]}, index=pd.Index(["DDoS"], name="family")),
            pd.DataFrame({"n": [1]}),
            {"m": pd.DataFrame({"p": [0.5]}, index=["rate"])},
            {},
            {},
        )
    )
    assert set(report) == golden_keys("errors")
    assert report["by_family"] == [{"family": "DDoS", "recall": 0.5}]


def test_the_settings_and_scale_report_records_the_settings_of_each_curve():
    frame = pd.DataFrame({"model": ["m"], "balanced_accuracy": [0.9]})
    chosen = frame.set_index("model")
    settings = {
        "ciciot2023": {"CNN-LSTM stabilised": {"learning_rate": 0.0003, "batch_size": 128}},
        "nsl_kdd": {"CNN-LSTM stabilised": {"learning_rate": 0.0001, "batch_size": 32}},
    }
    report = strict(
        reports.settings_and_scale_report(
            "ci",
            [{"learning_rate": 0.001, "batch_size": 32}],
            [42],
            frame,
            chosen,
            frame,
            chosen,
            [0.5, 1.0],
            [42],
            frame,
            frame,
            frame,
            "answer",
            settings,
        )
    )
    assert set(report) == {
        "profile",
        "selection_metric",
        "sweep",
        "curves",
        "extrapolations",
        "answer",
    }
    assert report["curves"]["settings"] == settings
    assert report["curves"]["fractions"] == [0.5, 1.0]
    assert report["sweep"]["chosen"] == [{"model": "m", "balanced_accuracy": 0.9}]
