"""The data audit, one-hot encoding and the comparisons of the Beyond-the-paper chapters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ids_utils import audit, experiments, preprocess


def _flows():
    return pd.DataFrame(
        {
            "a": [1.0, 1.0, 1.0, 2.0, 3.0001, 3.0002],
            "b": [5.0, 5.0, 5.0, 6.0, 7.0, 7.0],
            "attack": [0, 0, 1, 1, 0, 0],
        }
    )


def test_duplicate_counts():
    counts = audit.duplicate_counts(_flows(), ["a", "b"])
    assert counts == {
        "flows": 6,
        "exact_duplicate_rows": 1,
        "duplicate_vectors": 2,
        "near_duplicate_vectors": 3,
        "conflicting_vectors": 1,
    }


def test_single_feature_auc_finds_a_shortcut_in_either_direction():
    train = pd.DataFrame(
        {"up": [0, 1, 2, 3], "down": [3, 2, 1, 0], "noise": [1, 0, 0, 1], "attack": [0, 0, 1, 1]}
    )
    table = audit.single_feature_auc(train, ["noise", "up", "down"])
    assert table.loc["up", "auc"] == 1.0 and table.loc["down", "auc"] == 0.0
    assert table.loc["down", "strength"] == 1.0 and table.index[-1] == "noise"
    with pytest.raises(ValueError, match="both classes"):
        audit.single_feature_auc(train.assign(attack=0), ["up"])


def test_deduplication_counts_every_removed_row():
    flows = _flows()
    train, test, removed = audit.without_train_copies(flows.iloc[:4], flows.iloc[2:], ["a", "b"])
    assert removed == {"train": 2, "test": 2}
    assert len(train) == 2 and len(test) == 2


def test_one_hot_uses_training_categories_only():
    train = pd.DataFrame({"x": [1.0, 2.0], "proto": ["tcp", "udp"]})
    test = pd.DataFrame({"x": [3.0], "proto": ["icmp"]})
    train_enc, others, features = preprocess.one_hot(train, {"test": test}, ["x"], ("proto",))
    assert features == ["x", "proto=tcp", "proto=udp"]
    assert others["test"][features].to_numpy().tolist() == [[3.0, 0.0, 0.0]]
    assert train_enc["proto=udp"].tolist() == [0.0, 1.0]


def test_balanced_accuracy_of_a_constant_answer_is_one_half():
    y = np.array([0] * 9 + [1])
    result = experiments.score(y, np.zeros(10), threshold=0.5)
    assert result["accuracy"] == pytest.approx(0.9)
    assert result["balanced_accuracy"] == pytest.approx(0.5)


def test_advantage_is_reference_minus_other():
    per_seed = pd.DataFrame(
        {
            "model": ["ref", "ref", "ref", "other", "other", "other"],
            "seed": [1, 2, 3, 1, 2, 3],
            "accuracy": [0.9, 0.92, 0.91, 0.8, 0.83, 0.8],
        }
    )
    row = experiments.advantage(per_seed, "ref", "accuracy").loc["other"]
    assert row["mean"] == pytest.approx(0.1)
    assert 0 < row["ci_low"] < row["mean"] < row["ci_high"]


def test_split_train_val_keeps_every_row():
    frame = pd.DataFrame({"x": range(40), "attack": [0, 1] * 20})
    parts = preprocess.split_train_val(frame, 0.25, seed=0, stratify="attack")
    assert len(parts["train"]) + len(parts["val"]) == 40
    assert parts["val"]["attack"].mean() == 0.5


def test_recall_by_group_counts_attack_flows_only():
    test = pd.DataFrame({"attack": [0, 1, 1, 1]})
    recall = experiments.recall_by_group(
        test, np.array([0.9, 0.9, 0.1, 0.8]), 0.5, pd.Series(["x", "new", "new", "old"])
    )
    assert recall.to_dict() == {"new": 0.5, "old": 1.0}


def test_nsl_kdd_encoding_takes_categories_from_training_only(kdd_test):
    from ids_utils import datasets

    flows = datasets.read_nsl_kdd(kdd_test)
    train, val = flows.iloc[:300], flows.iloc[300:400]
    unseen = flows[~flows["service"].isin(set(train["service"]))].head(20)
    parts, tests, features, indicators = experiments.encode_nsl_kdd(
        {"train": train, "val": val}, {"unseen": unseen}
    )
    assert set(parts) == {"train", "val"} and set(tests) == {"unseen"}
    assert indicators == features[len(features) - len(indicators) :]
    assert all(name.split("=")[0] in datasets.NSL_KDD_CATEGORICAL for name in indicators)
    assert {f"service={s}" for s in train["service"].unique()} <= set(indicators)
    # A service never seen in training has no column: all its service indicators are 0.
    service = [f for f in indicators if f.startswith("service=")]
    assert len(unseen) and tests["unseen"][service].to_numpy().sum() == 0
    assert set(parts["train"][indicators].to_numpy().ravel()) <= {0.0, 1.0}


def test_cross_dataset_protocols_and_jobs(kdd_test):
    from ids_utils import datasets
    from ids_utils.models import CNN_LSTMS, STABILISED

    flows = datasets.read_nsl_kdd(kdd_test)
    sample, official, test = flows.iloc[:400], flows.iloc[400:800], flows.iloc[800:1000]
    protocols = experiments.cross_dataset_protocols(
        sample, official, {"KDDTest+": test}, [1, 2], 0.2, 0.1
    )
    assert list(protocols) == [
        (experiments.PAPER_PROTOCOL, 1),
        ("official", 1),
        (experiments.PAPER_PROTOCOL, 2),
        ("official", 2),
    ]
    parts, tests, features, indicators = protocols[(experiments.PAPER_PROTOCOL, 1)]
    assert set(parts) == {"train", "val", "test"} and len(parts["test"]) == 80
    assert tests[experiments.PAPER_PROTOCOL] is parts["test"]
    assert set(indicators) <= set(features) and not set(indicators) & set(
        datasets.NSL_KDD_FEATURES
    )  # indicators are one-hot columns, not raw features
    official_parts, official_tests, _, _ = protocols[("official", 1)]
    assert set(official_parts) == {"train", "val"} and len(official_tests["KDDTest+"]) == 200
    jobs = experiments.cross_dataset_jobs(protocols, {"epochs": 1})
    assert len(jobs) == 4 * len(CNN_LSTMS)
    assert [j["lstm_activation"] for j in jobs[:2]] == list(CNN_LSTMS.values())
    assert all(j["unscaled"] == protocols[(p, s)][3] for j, (p, s) in zip(jobs[::2], protocols))
    assert all(j["settings"] == {"epochs": 1} for j in jobs)
    # A model's chosen rate replaces the profile's for that model only, in every protocol.
    chosen = {STABILISED: {"learning_rate": 3e-4, "batch_size": 32}}
    jobs = experiments.cross_dataset_jobs(protocols, {"epochs": 1, "learning_rate": 1e-3}, chosen)
    assert [j["settings"]["learning_rate"] for j in jobs] == [1e-3, 3e-4] * 4
    assert all(j["settings"]["epochs"] == 1 for j in jobs)
    with pytest.raises(ValueError, match="unknown CNN-LSTMs"):
        experiments.cross_dataset_jobs(protocols, {}, {"CNN-LSTM stabilized": {}})


def test_advantages_are_described_by_the_side_of_zero_their_interval_lies_on():
    import pandas as pd

    table = pd.DataFrame(
        {
            "mean": [0.05, -0.04, 0.01, 0.02],
            "ci_low": [0.01, -0.08, -0.02, None],
            "ci_high": [0.09, -0.01, 0.03, None],
        },
        index=["CNN only", "LSTM only", "MLP", "no dropout"],
    )
    text = experiments.ablation_answer(table, "f1", ["CNN only", "LSTM only", "MLP", "no dropout"])
    assert text == (
        "The CNN-LSTM's f1 minus each variant's: CNN only: +0.0500 [+0.0100, "
        "+0.0900], better; LSTM only: -0.0400 [-0.0800, -0.0100], worse; MLP: "
        "+0.0100 [-0.0200, +0.0300], no clear difference; no dropout: +0.0200 (one "
        "seed, no interval)."
    )


def saved_predictions(seed, probability, attack):
    return pd.DataFrame({"seed": seed, "probability": probability, "attack": attack})


def test_reference_rows_score_each_seeds_saved_predictions():
    predictions = pd.concat(
        [
            saved_predictions(1, [0.1, 0.9, 0.8, 0.2], [0, 1, 1, 1]),
            saved_predictions(2, [0.6, 0.9, 0.8, 0.7], [0, 1, 1, 1]),
        ]
    )
    rows = experiments.reference_rows(predictions, [1, 2], 0.5, "model", "CNN-LSTM")
    assert [(r["model"], r["seed"]) for r in rows] == [("CNN-LSTM", 1), ("CNN-LSTM", 2)]
    assert rows[0]["accuracy"] == 0.75 and rows[0]["recall"] == pytest.approx(2 / 3)
    assert rows[1]["false_positive_rate"] == 1.0 and rows[1]["balanced_accuracy"] == 0.5
    with pytest.raises(ValueError, match="no saved predictions for seed 3"):
        experiments.reference_rows(predictions, [3], 0.5, "model", "CNN-LSTM")


def test_a_model_that_cannot_score_a_flow_has_no_metrics_and_no_benign_count():
    scores = experiments.score(np.array([0, 1, 1, 0]), np.array([0.1, np.nan, 0.9, np.inf]), 0.5)
    assert scores["non_finite"] == 2 and scores["n"] == 4
    for name in ("accuracy", "recall", "false_positive_rate", "roc_auc", "tn", "fn"):
        assert np.isnan(scores[name]), name  # not a single flow counted as benign
    sound = experiments.score(np.array([0, 1]), np.array([0.2, 0.7]), 0.5)
    assert sound["non_finite"] == 0 and sound["accuracy"] == 1.0


class _NaNModel:
    """A trained network whose outputs overflowed (what the as-written model can become)."""

    def predict(self, x, **kwargs):
        return np.full((len(x), 1), np.nan, dtype="float32")


def test_a_run_whose_test_outputs_are_not_finite_is_marked_diverged(monkeypatch):
    parts = {
        name: pd.DataFrame({"f": [0.0, 1.0, 2.0, 3.0], "attack": [0, 1, 0, 1]})
        for name in ("train", "val", "test")
    }
    sound_check = {"diverged": False, "reasons": [], "epochs_run": 1}
    monkeypatch.setattr(
        experiments,
        "fit_cnn_lstm",
        lambda *a, **k: (
            _NaNModel(),
            preprocess.fit_scaler(parts["train"], ["f"]),
            None,
            sound_check,
        ),
    )
    results = experiments.train_and_test(parts, ["f"], 0, {"threshold": 0.5})
    assert results["test"]["diverged"] and results["test"]["non_finite"] == 4
    assert np.isnan(results["test"]["accuracy"]) and results["test"]["epochs_run"] == 1


def test_a_group_with_an_unscored_attack_has_no_recall():
    test = pd.DataFrame({"attack": [1, 1, 1, 1, 0]})
    group = pd.Series(["DoS", "DoS", "Probe", "Probe", "normal"])
    recall = experiments.recall_by_group(
        test, np.array([0.9, 0.1, 0.9, np.nan, np.nan]), 0.5, group
    )
    assert recall["DoS"] == 0.5 and np.isnan(recall["Probe"])
    assert "normal" not in recall.index  # benign flows have no recall
