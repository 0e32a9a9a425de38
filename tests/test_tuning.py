"""The sweep of unstated settings and the learning curves: choice on validation only,
stratified subsamples, and an extrapolation that says when it cannot be made."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ids_utils import curves, tuning
from ids_utils.models import AS_WRITTEN, CNN_LSTMS, STABILISED


def test_grid_is_every_pair_learning_rate_first():
    assert tuning.grid([1e-3, 1e-4], [32, 128]) == [
        {"learning_rate": 1e-3, "batch_size": 32},
        {"learning_rate": 1e-3, "batch_size": 128},
        {"learning_rate": 1e-4, "batch_size": 32},
        {"learning_rate": 1e-4, "batch_size": 128},
    ]
    with pytest.raises(ValueError, match="at least one"):
        tuning.grid([], [32])


def _parts():
    frame = pd.DataFrame({"f": np.arange(10.0), "attack": [0, 1] * 5})
    return {"train": frame, "val": frame.iloc[:4], "test": frame.iloc[4:]}


def test_sweep_jobs_never_carry_the_test_part():
    points = tuning.grid([1e-3], [32, 64])
    keys, jobs = tuning.sweep_jobs(
        {1: _parts(), 2: _parts()}, ["f"], {"epochs": 2, "threshold": 0.5}, points
    )
    assert len(keys) == len(jobs) == len(CNN_LSTMS) * 2 * 2
    assert all(set(job["parts"]) == {"train", "val"} for job in jobs)
    assert keys[0] == {"model": AS_WRITTEN, "learning_rate": 1e-3, "batch_size": 32, "seed": 1}
    assert jobs[0]["settings"] == {
        "epochs": 2,
        "threshold": 0.5,
        "learning_rate": 1e-3,
        "batch_size": 32,
    }
    assert {job["lstm_activation"] for job in jobs} == {"relu", "tanh"}


def _validation(scores):
    rows = []
    for (model, lr, bs), values in scores.items():
        rows += [
            {
                "model": model,
                "learning_rate": lr,
                "batch_size": bs,
                "seed": s,
                "balanced_accuracy": v,
                "diverged": v < 0.6,
            }
            for s, v in enumerate(values)
        ]
    return pd.DataFrame(rows)


def test_choose_takes_the_best_mean_validation_score_per_model():
    validation = _validation(
        {
            (AS_WRITTEN, 1e-3, 32): [0.5, 0.9],  # mean 0.70, one seed diverged
            (AS_WRITTEN, 1e-4, 32): [0.75, 0.75],  # mean 0.75: chosen
            (STABILISED, 1e-3, 32): [0.9, 0.8],  # mean 0.85: chosen
            (STABILISED, 1e-4, 32): [0.85, 0.85],  # mean 0.85: a tie, the earlier point wins
        }
    )
    chosen = tuning.choose(validation)
    assert chosen.loc[AS_WRITTEN, "learning_rate"] == 1e-4
    assert chosen.loc[STABILISED, "learning_rate"] == 1e-3
    assert chosen.loc[AS_WRITTEN, "balanced_accuracy"] == pytest.approx(0.75)
    keys, jobs = tuning.test_jobs({7: _parts()}, ["f"], {"epochs": 1}, chosen)
    assert keys == [
        {"model": AS_WRITTEN, "learning_rate": 1e-4, "batch_size": 32, "seed": 7},
        {"model": STABILISED, "learning_rate": 1e-3, "batch_size": 32, "seed": 7},
    ]
    assert set(jobs[0]["parts"]) == {"train", "val", "test"}
    assert jobs[1]["lstm_activation"] == "tanh" and jobs[1]["settings"]["learning_rate"] == 1e-3


def test_grid_table_and_diverged_share():
    validation = _validation(
        {(AS_WRITTEN, 1e-3, 32): [0.5, 0.9], (AS_WRITTEN, 1e-3, 64): [0.7, 0.7]}
    )
    table = tuning.grid_table(validation)
    assert table.loc[(AS_WRITTEN, 1e-3), 32] == pytest.approx(0.7)
    assert tuning.choose(validation).loc[AS_WRITTEN, "diverged_share"] == 0.5


def test_reaches_compares_the_best_seed_in_the_right_direction():
    test = pd.DataFrame(
        {"model": ["m", "m"], "accuracy": [0.97, 0.99], "false_positive_rate": [0.02, 0.001]}
    )
    table = tuning.reaches(test, {"accuracy": 0.98, "false_positive_rate": 0.0011})
    assert table.loc[("m", "accuracy"), "reached"]
    assert table.loc[("m", "accuracy"), "best seed"] == 0.99
    assert table.loc[("m", "false_positive_rate"), "reached"]
    assert not tuning.reaches(test, {"accuracy": 0.995}).loc[("m", "accuracy"), "reached"]


def test_results_frame_joins_keys_and_results():
    frame = tuning.results_frame([{"seed": 1}], [{"test": {"accuracy": 0.5}}], "test")
    assert frame.to_dict(orient="records") == [{"seed": 1, "accuracy": 0.5}]
    with pytest.raises(ValueError, match="1 jobs but 0 results"):
        tuning.results_frame([{"seed": 1}], [])


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


def test_validate_trains_without_a_test_part_and_train_and_test_agrees():
    from ids_utils import experiments

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((240, 6)), columns=[f"f{i}" for i in range(6)])
    frame["attack"] = (frame["f0"] > 1).astype(int)
    parts = {"train": frame.iloc[:160], "val": frame.iloc[160:200], "test": frame.iloc[200:]}
    settings = {"epochs": 1, "batch_size": 32, "learning_rate": 1e-3, "threshold": 0.5}
    features = [f"f{i}" for i in range(6)]
    validation = tuning.validate(
        {"train": parts["train"], "val": parts["val"]}, features, 3, settings, "tanh"
    )
    assert {"balanced_accuracy", "roc_auc", "diverged"} <= set(validation)
    assert validation["n"] == 40
    tested = experiments.train_and_test(parts, features, 3, settings, lstm_activation="tanh")
    assert tested["test"]["n"] == 40 and tested["test"]["diverged"] == validation["diverged"]
