"""The sweep of unstated settings: every grid point, the choice on validation only, and the
chosen setting tested once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ids_utils import tuning
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


def test_learning_rate_jobs_train_on_a_stratified_share_and_never_see_the_test_part():
    frame = pd.DataFrame({"f": np.arange(40.0), "g": 1.0, "attack": [1] * 8 + [0] * 32})
    parts = {"train": frame, "val": frame.iloc[:10], "test": frame.iloc[10:]}
    splits = {1: (parts, ["f", "g"], ["g"]), 2: (parts, ["f"], [])}
    settings = {"epochs": 2, "batch_size": 64, "learning_rate": 1e-3, "threshold": 0.5}
    keys, jobs = tuning.learning_rate_jobs(splits, settings, [1e-3, 1e-4], 0.25)
    assert len(keys) == len(jobs) == 2 * len(CNN_LSTMS) * 2
    assert [(k["seed"], k["model"], k["learning_rate"], k["batch_size"]) for k in keys[:4]] == [
        (1, AS_WRITTEN, 1e-3, 64),
        (1, AS_WRITTEN, 1e-4, 64),
        (1, STABILISED, 1e-3, 64),
        (1, STABILISED, 1e-4, 64),
    ]
    assert all(set(job["parts"]) == {"train", "val"} for job in jobs)
    # A quarter of the training part, its 1:4 class ratio kept; validation whole.
    assert all(job["parts"]["train"]["attack"].tolist().count(1) == 2 for job in jobs)
    assert all(len(job["parts"]["train"]) == 10 and len(job["parts"]["val"]) == 10 for job in jobs)
    # Each seed keeps its own encoding.
    assert [(job["features"], job["unscaled"]) for job in (jobs[0], jobs[4])] == [
        (["f", "g"], ["g"]),
        (["f"], []),
    ]
    assert jobs[1]["settings"] == {**settings, "learning_rate": 1e-4}
    assert {key["train_flows"] for key in keys} == {10}


def test_the_learning_rate_is_chosen_on_the_paper_protocols_validation_only(monkeypatch):
    from ids_utils import workers
    from ids_utils.experiments import PAPER_PROTOCOL

    frame = pd.DataFrame({"f": np.arange(40.0), "attack": [1] * 8 + [0] * 32})
    parts = {"train": frame, "val": frame.iloc[:10], "test": frame.iloc[10:]}
    protocols = {
        (PAPER_PROTOCOL, 1): (parts, {PAPER_PROTOCOL: parts["test"]}, ["f"], []),
        ("official", 1): ({"train": frame, "val": frame}, {}, ["f"], []),
    }
    seen = []

    def run_jobs(function, jobs, n_workers, desc):
        seen.extend(jobs)
        # The as-written model does best at the small rate, the stabilised one at the large.
        return [
            {
                "balanced_accuracy": (job["settings"]["learning_rate"] == 1e-4)
                == (job["lstm_activation"] == "relu"),
                "diverged": False,
            }
            for job in jobs
        ]

    monkeypatch.setattr(workers, "run_jobs", run_jobs)
    settings = {"epochs": 2, "batch_size": 32, "learning_rate": 1e-3, "threshold": 0.5}
    validation, per_model = tuning.choose_learning_rates(protocols, settings, [1e-3, 1e-4], 0.5, 2)
    assert per_model == {
        AS_WRITTEN: {"learning_rate": 1e-4, "batch_size": 32},
        STABILISED: {"learning_rate": 1e-3, "batch_size": 32},
    }
    assert len(seen) == len(validation) == 4 and set(validation["train_flows"]) == {20}
    assert all(set(job["parts"]) == {"train", "val"} for job in seen)
    assert all(len(job["parts"]["val"]) == 10 for job in seen)  # the paper protocol's part


def test_chosen_settings_are_plain_numbers_per_model():
    chosen = pd.DataFrame(
        {"learning_rate": [np.float64(3e-4)], "batch_size": [np.int64(128)], "x": [0.9]},
        index=pd.Index([STABILISED], name="model"),
    )
    settings = tuning.chosen_settings(chosen)
    assert settings == {STABILISED: {"learning_rate": 3e-4, "batch_size": 128}}
    point = settings[STABILISED]
    assert type(point["learning_rate"]) is float and type(point["batch_size"]) is int


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


def test_the_answer_says_each_extrapolation_and_each_unscored_point():
    import pandas as pd

    from ids_utils.curves import extrapolate

    chosen = pd.DataFrame(
        {
            "learning_rate": [3e-4],
            "batch_size": [32],
            tuning.SELECTION_METRIC: [0.7],
            "diverged_share": [0.0],
        },
        index=["CNN-LSTM stabilised"],
    )
    reached = pd.DataFrame(
        {"reached": [False, True]},
        index=pd.MultiIndex.from_tuples(
            [("CNN-LSTM stabilised", "recall"), ("CNN-LSTM stabilised", "false_positive_rate")]
        ),
    )
    curve = pd.DataFrame(
        {
            "model": ["m"] * 3,
            "train_flows": [100, 400, 1600],
            "balanced_accuracy": [float("nan"), 0.8, 0.9],
        }
    )
    made = {
        "data": "A",
        "model": "m",
        **extrapolate(
            pd.DataFrame({"train_flows": [100, 400, 1600], "balanced_accuracy": [0.6, 0.8, 0.9]}),
            "balanced_accuracy",
            80_000,
        ),
    }
    declined = {
        "data": "B",
        "model": "m",
        **extrapolate(curve.iloc[1:], "balanced_accuracy", 80_000),
    }
    assert made["declined"] is None and isinstance(declined["declined"], str)
    answer = tuning.settings_and_scale_answer(
        chosen, reached, curve, curve, pd.DataFrame([made, declined])
    )
    assert "its best seed reaches the paper's value on false positive rate." in answer
    assert "m unscored (outputs not finite) at 100 flows to 0.9000 at 1,600" in answer
    assert (
        f"m on A, extrapolated {made['fold']:.0f}-fold to 80,000 training flows: balanced "
        f"accuracy {made['prediction']:.4f}"
    ) in answer
    assert (
        f"Extrapolating m on B to 80,000 training flows is declined: {declined['declined']}."
        in answer
    )
    assert "declined: nan" not in answer
