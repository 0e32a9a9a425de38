"""Learning curves: stratified subsamples, the jobs of a curve, extrapolation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ids_utils import curves
from ids_utils.models import AS_WRITTEN, STABILISED


@pytest.mark.parametrize("seed", range(20))
def test_subsamples_keep_the_class_proportions(seed):
    train = pd.DataFrame({"f": np.arange(1000.0), "attack": [1] * 100 + [0] * 900})
    parts = {"train": train, "val": train.iloc[:10], "test": train.iloc[10:20]}
    small = curves.subsample_training(parts, 0.2, seed)
    assert len(small["train"]) == 200 and small["train"]["attack"].sum() == 20
    assert small["val"] is parts["val"] and small["test"] is parts["test"]
    assert small["train"]["f"].is_unique


def test_subsample_limits():
    train = pd.DataFrame({"f": np.arange(20.0), "attack": [1] * 2 + [0] * 18})
    parts = {"train": train}
    assert curves.subsample_training(parts, 1.0, 0)["train"] is train
    with pytest.raises(ValueError, match="leaves a class without a flow"):
        curves.subsample_training(parts, 0.1, 0)
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        curves.subsample_training(parts, 0, 0)


def test_extrapolation_recovers_a_power_law_and_its_interval_narrows_with_fit():
    flows = np.array([100, 300, 1000, 3000, 10000] * 2, dtype=float)
    rng = np.random.default_rng(0)
    error = 0.5 * flows**-0.5 * np.exp(rng.normal(0, 0.05, len(flows)))
    curve = pd.DataFrame({"train_flows": flows, "balanced_accuracy": 1 - error})
    result = curves.extrapolate(curve, "balanced_accuracy", 80_000)
    truth = 1 - 0.5 * 80_000**-0.5
    assert result["declined"] is None and result["slope"] == pytest.approx(-0.5, abs=0.05)
    assert result["low"] < truth < result["high"]
    assert result["prediction"] == pytest.approx(truth, abs=2e-3)
    assert result["fold"] == 8.0


def test_extrapolation_of_the_false_positive_rate_fits_the_rate_itself():
    curve = pd.DataFrame(
        {"train_flows": [100.0, 1000.0, 10000.0], "false_positive_rate": [0.1, 0.01, 0.001]}
    )
    result = curves.extrapolate(curve, "false_positive_rate", 100_000)
    assert result["prediction"] == pytest.approx(1e-4)


@pytest.mark.parametrize(
    "values, reason",
    [
        ([0.9, 0.95], "fewer than three training sizes"),
        ([0.9, 0.95, 1.0], "an error of zero"),
        ([0.95, 0.9, 0.85], "the error does not fall with more data"),
    ],
)
def test_extrapolation_declines_when_it_cannot_be_made(values, reason):
    curve = pd.DataFrame(
        {"train_flows": [100.0, 1000.0, 10000.0][: len(values)], "roc_auc": values}
    )
    result = curves.extrapolate(curve, "roc_auc", 80_000)
    assert result["prediction"] is None and result["declined"].startswith(reason)


def test_curve_jobs_cover_each_point_once_and_skip_what_is_measured():
    train = pd.DataFrame({"f": np.arange(100.0), "attack": [1] * 10 + [0] * 90})
    parts = {"train": train, "val": train.iloc[:10], "test": train.iloc[10:30]}
    keys, jobs = curves.curve_jobs({3: parts}, ["f"], {"epochs": 1}, [0.5, 1.0], skip={(1.0, 3)})
    assert [(k["model"], k["fraction"], k["train_flows"]) for k in keys] == [
        (AS_WRITTEN, 0.5, 50),
        (STABILISED, 0.5, 50),
    ]
    assert all(len(job["parts"]["train"]) == 50 and job["seed"] == 3 for job in jobs)
    assert all(job["settings"] == {"epochs": 1} for job in jobs)


def test_curve_jobs_train_each_model_at_its_chosen_setting():
    train = pd.DataFrame({"f": np.arange(100.0), "attack": [1] * 10 + [0] * 90})
    parts = {"train": train, "val": train.iloc[:10], "test": train.iloc[10:30]}
    chosen = {AS_WRITTEN: {"learning_rate": 1e-4, "batch_size": 512}}
    _, jobs = curves.curve_jobs(
        {3: parts}, ["f"], {"learning_rate": 1e-3, "batch_size": 32}, [0.5, 1.0], per_model=chosen
    )
    assert [(j["lstm_activation"], j["settings"]) for j in jobs[:2]] == [
        ("relu", {"learning_rate": 1e-4, "batch_size": 512}),
        ("tanh", {"learning_rate": 1e-3, "batch_size": 32}),
    ]
    assert [j["settings"] for j in jobs[2:]] == [j["settings"] for j in jobs[:2]]


def test_full_points_are_read_from_the_cross_dataset_chapter():
    cross = {
        "paper_protocol": "P",
        "per_seed": [
            {"test set": "P", "model": "m", "seed": 1, "accuracy": 0.9},
            {"test set": "KDDTest+", "model": "m", "seed": 1, "accuracy": 0.7},
            {"test set": "P", "model": "m", "seed": 2, "accuracy": 0.8},
        ],
    }
    points = curves.points_from_cross_dataset(cross, [1], {1: 500})
    assert points.to_dict(orient="records") == [
        {"model": "m", "seed": 1, "accuracy": 0.9, "fraction": 1.0, "train_flows": 500}
    ]


def test_the_nsl_kdd_curve_trains_at_the_rate_the_cross_dataset_chapter_chose(
    kdd_test, monkeypatch
):
    from ids_utils import datasets, experiments

    train_file = datasets.read_nsl_kdd(kdd_test)
    chosen = {STABILISED: {"learning_rate": 3e-4, "batch_size": 32}}
    cross = {
        "paper_protocol": experiments.PAPER_PROTOCOL,
        "learning_rate_choice": {"chosen": chosen},
        "per_seed": [
            {"test set": experiments.PAPER_PROTOCOL, "model": STABILISED, "seed": 7, "recall": 0.9},
            {"test set": "KDDTest+", "model": STABILISED, "seed": 7, "recall": 0.5},
        ],
    }
    calls = []
    monkeypatch.setattr(curves, "learning_curve", lambda *a, **k: calls.append((a, k)) or "curve")
    settings = {"test_fraction": 0.2, "val_fraction": 0.1, "threshold": 0.5}
    sample = {"n_flows": 500, "benign_fraction": 0.9, "sample_seed": 1}
    curve, per_model = curves.nsl_kdd_curve(train_file, cross, settings, sample, [7], [0.5], 2)
    assert (curve, per_model) == ("curve", chosen)
    ((args, kwargs),) = calls
    parts, features, indicators = experiments.nsl_kdd_paper_split(
        train_file, 500, 0.9, 1, 7, 0.2, 0.1
    )
    assert args[0][7]["train"].equals(parts["train"]) and args[1] == features
    assert args[5] == indicators and kwargs["per_model"] == chosen
    reused = kwargs["measured"]
    assert reused[["model", "seed", "recall", "fraction"]].values.tolist() == [
        [STABILISED, 7, 0.9, 1.0]
    ]
    assert reused["train_flows"].tolist() == [len(parts["train"])]
