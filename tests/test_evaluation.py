"""Metrics, intervals, and the paper's arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from ids_utils import evaluation
from ids_utils.paper import TABLE1_METRICS, paper_claims, paper_value, training_trajectory


def test_binary_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.2).astype(int)
    p = np.clip(0.6 * y + 0.5 * rng.random(500), 0, 1)
    m = evaluation.binary_metrics(y, p, threshold=0.5)
    predicted = (p >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    assert m["precision"] == pytest.approx(precision_score(y, predicted))
    assert m["recall"] == pytest.approx(recall_score(y, predicted)) == m["detection_rate"]
    assert m["f1"] == pytest.approx(f1_score(y, predicted))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["false_positive_rate"] == pytest.approx(m["fp"] / (m["fp"] + m["tn"]))
    assert m["tn"] + m["fp"] + m["fn"] + m["tp"] == m["n"] == 500
    assert list(m)[:8] == list(TABLE1_METRICS)


def test_threshold_is_inclusive():
    m = evaluation.binary_metrics([0, 1], [0.2, 0.5], threshold=0.5)
    assert m["tp"] == 1 and m["fp"] == 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="only 0 and 1"):
        evaluation.binary_metrics([0, 2], [0.1, 0.9])
    with pytest.raises(ValueError, match="NaN"):
        evaluation.binary_metrics([0, 1], [0.1, np.nan])


def test_the_paper_table_2_implies_other_values_than_its_table_1():
    implied = evaluation.metrics_from_confusion(17_980, 20, 38, 1_962)
    assert implied["accuracy"] == pytest.approx(0.9971)
    assert implied["precision"] == pytest.approx(0.98990, abs=1e-5)
    assert implied["recall"] == pytest.approx(0.9810)
    assert abs(implied["accuracy"] - paper_value("accuracy")) > 1e-3


def test_interval_over_seeds():
    per_seed = pd.DataFrame({"accuracy": [0.90, 0.92, 0.94]})
    row = evaluation.summarise_over_seeds(per_seed).loc["accuracy"]
    # t(0.975, 2) = 4.3027; std = 0.02; half-width = 4.3027 * 0.02 / sqrt(3)
    assert row["mean"] == pytest.approx(0.92)
    assert row["ci_high"] - row["mean"] == pytest.approx(4.302653 * 0.02 / np.sqrt(3), rel=1e-5)
    single = evaluation.summarise_over_seeds(per_seed.head(1)).loc["accuracy"]
    assert np.isnan(single["ci_low"]) and single["n_seeds"] == 1


def test_paper_claims_table():
    claims = paper_claims()
    assert claims.index.is_unique
    assert paper_value("tn") + paper_value("fp") + paper_value("fn") + paper_value("tp") == 20_000
    with pytest.raises(KeyError, match="no claim"):
        paper_value("speed_of_light")
    assert set(training_trajectory()["metric"]) == {"loss", "accuracy"}


def test_interval_is_clipped_to_the_metric_range():
    per_seed = pd.DataFrame({"precision": [1.0, 0.2, 1.0]})
    row = evaluation.summarise_over_seeds(per_seed).loc["precision"]
    assert row["ci_high"] == 1.0 and row["ci_low"] >= 0.0
    unclipped = evaluation.summarise_over_seeds(per_seed, bounds=None).loc["precision"]
    assert unclipped["ci_high"] > 1.0


def test_confusion_table_has_table_2s_layout():
    table = evaluation.confusion_table({"tn": 1, "fp": 2, "fn": 3, "tp": 4})
    assert table.loc["benign"].tolist() == [1, 2] and table.loc["attack"].tolist() == [3, 4]
    assert table.columns.tolist() == ["benign", "attack"]


def test_metrics_report_keeps_each_models_seeds_and_marks():
    import pandas as pd

    rows = []
    for model, seed, probabilities in (
        ("a", 1, [0.9, 0.2, 0.8, 0.1]),
        ("a", 2, [0.9, 0.6, 0.3, 0.1]),
        ("b", 1, [0.5, 0.5, 0.5, 0.5]),
        ("b", 2, [0.5, 0.5, 0.5, 0.5]),
    ):
        rows.append(
            pd.DataFrame(
                {"model": model, "seed": seed, "attack": [1, 0, 1, 0], "probability": probabilities}
            )
        )
    report = evaluation.metrics_report(
        pd.concat(rows), 0.5, {"a": {"1": False, "2": False}, "b": {"1": True, "2": False}}
    )
    assert list(report) == ["a", "b"]
    assert report["a"]["per_seed"]["1"]["accuracy"] == 1.0
    assert report["a"]["per_seed"]["2"]["accuracy"] == 0.5
    assert report["a"]["aggregate"]["accuracy"]["mean"] == 0.75
    assert report["b"]["diverged_seeds"] == [1]
    assert report["b"]["per_seed"]["1"]["diverged"] and not report["b"]["per_seed"]["2"]["diverged"]
    # Everything flagged an attack: recall 1, false positive rate 1.
    assert report["b"]["aggregate"]["false_positive_rate"]["mean"] == 1.0


def test_known_answers_worked_by_hand():
    # Predictions at 0.5: [0, 1, 0, 1, 1] -> tn 1, fp 1, fn 1, tp 2.
    m = evaluation.binary_metrics([0, 0, 1, 1, 1], [0.1, 0.6, 0.4, 0.8, 0.9], threshold=0.5)
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (1, 1, 1, 2)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3) and m["false_positive_rate"] == pytest.approx(1 / 2)
    # Of the 6 (attack, benign) pairs, the attack scores higher in 5: ranks, not hard labels.
    assert m["roc_auc"] == pytest.approx(5 / 6)
    # Average precision: precision at each attack's rank (0.9 -> 1/1, 0.8 -> 2/2, 0.4 -> 3/4).
    assert m["average_precision"] == pytest.approx((1 + 1 + 3 / 4) / 3)


def test_zero_division_is_zero_and_one_class_has_no_auc():
    nothing_flagged = evaluation.binary_metrics([0, 1, 1], [0.1, 0.2, 0.3])
    assert nothing_flagged["precision"] == 0.0 and nothing_flagged["f1"] == 0.0
    assert nothing_flagged["recall"] == 0.0 and nothing_flagged["accuracy"] == pytest.approx(1 / 3)
    only_attacks = evaluation.binary_metrics([1, 1], [0.9, 0.2])
    assert only_attacks["false_positive_rate"] == 0.0 and np.isnan(only_attacks["roc_auc"])
    assert np.isnan(only_attacks["average_precision"]) and only_attacks["recall"] == 0.5
    with pytest.raises(ValueError, match="empty"):
        evaluation.metrics_from_confusion(0, 0, 0, 0)


def test_interval_matches_the_textbook_t_interval():
    # 1..5: mean 3, s = sqrt(2.5), t(0.975, 4) = 2.776445: [1.0368, 4.9632].
    row = evaluation.summarise_over_seeds(pd.DataFrame({"x": [1.0, 2, 3, 4, 5]}), bounds=None).loc[
        "x"
    ]
    assert row["std"] == pytest.approx(np.sqrt(2.5))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((1.036757, 4.963243), abs=1e-6)


def test_conventions_at_the_edges():
    # Precision with as many false as true alarms; recall without any attack (no division).
    assert evaluation.metrics_from_confusion(tn=5, fp=1, fn=0, tp=1)["precision"] == 0.5
    no_attack = evaluation.metrics_from_confusion(tn=5, fp=1, fn=0, tp=0)
    assert no_attack["recall"] == 0.0 and no_attack["detection_rate"] == 0.0
    assert no_attack["false_positive_rate"] == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="no seeds to summarise"):
        evaluation.summarise_over_seeds(pd.DataFrame({"x": []}))


def test_two_seeds_already_give_an_interval_and_both_bounds_are_exact():
    row = evaluation.summarise_over_seeds(pd.DataFrame({"x": [0.4, 0.6]})).loc["x"]
    # t(0.975, 1) = 12.7062; s = 0.1414; half-width = 12.7062 * 0.1414 / sqrt(2) = 1.2706,
    # clipped to the metric's range [0, 1].
    assert (row["ci_low"], row["ci_high"]) == (0.0, 1.0)
    row = evaluation.summarise_over_seeds(pd.DataFrame({"x": [0.90, 0.92, 0.94]})).loc["x"]
    half = 4.302653 * 0.02 / np.sqrt(3)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.92 - half, 0.92 + half))
    unbounded = evaluation.summarise_over_seeds(pd.DataFrame({"x": [0.4, 0.6]}), bounds=None).loc[
        "x"
    ]
    assert unbounded["ci_low"] == pytest.approx(0.5 - 12.706205 * np.sqrt(0.02) / np.sqrt(2))


def test_predictions_frame_applies_the_threshold_inclusively_and_keeps_the_source():
    import pandas as pd

    test = pd.DataFrame(
        {
            "source_file": ["a.csv", "a.csv", "b.csv"],
            "source_line": [2, 3, 9],
            "attack": [1, 0, 1],
            "family": ["DDoS", "Benign", "Mirai"],
        }
    )
    frame = evaluation.predictions_frame(7, test, np.array([0.5, 0.49, 0.9], "float32"), 0.5)
    assert frame["prediction"].tolist() == [1, 0, 1]  # 0.5 itself is an attack
    assert frame["seed"].tolist() == [7, 7, 7] and frame["source_line"].tolist() == [2, 3, 9]
    assert frame["source_file"].tolist() == ["a.csv", "a.csv", "b.csv"]
    assert frame["family"].tolist() == ["DDoS", "Benign", "Mirai"]
    assert frame["probability"].dtype == "float64" and frame["attack"].tolist() == [1, 0, 1]


def test_predictions_frame_leaves_an_unscored_flow_without_a_prediction():
    import pandas as pd

    test = pd.DataFrame(
        {"source_file": ["a.csv"] * 3, "source_line": [2, 3, 4], "attack": [1, 1, 0]}
    ).assign(family=["DDoS", "DDoS", "Benign"])
    frame = evaluation.predictions_frame(1, test, np.array([np.nan, np.inf, 0.1]), 0.5)
    # Never 0 (benign): the prediction of a NaN or infinite probability is missing.
    assert frame["prediction"].isna().tolist() == [True, True, False]
    assert frame["prediction"].iloc[2] == 0
    with pytest.raises(ValueError, match="2 probabilities for 3 test flows"):
        evaluation.predictions_frame(1, test, np.array([0.1, 0.2]), 0.5)


def test_metrics_by_seed_recomputes_each_seeds_cells():
    import pandas as pd

    predictions = pd.DataFrame(
        {
            "seed": [2, 2, 2, 2, 1, 1],
            "attack": [1, 1, 0, 0, 1, 0],
            "probability": [0.9, 0.2, 0.7, 0.1, 0.8, 0.3],
        }
    )
    table = evaluation.metrics_by_seed(predictions, 0.5)
    assert table.index.tolist() == [1, 2] and table.index.name == "seed"
    assert (table.loc[2, "tp"], table.loc[2, "fn"], table.loc[2, "fp"], table.loc[2, "tn"]) == (
        1,
        1,
        1,
        1,
    )
    assert table.loc[1, "accuracy"] == 1.0 and table.loc[2, "recall"] == 0.5


def test_a_seed_without_a_value_makes_the_summary_unknown_not_a_mean_of_the_others():
    import pandas as pd

    per_seed = pd.DataFrame({"accuracy": [0.9, np.nan, 0.8], "recall": [0.5, 0.6, 0.7]})
    summary = evaluation.summarise_over_seeds(per_seed)
    assert np.isnan(summary.loc["accuracy", "mean"]) and np.isnan(summary.loc["accuracy", "ci_low"])
    assert summary.loc["recall", "mean"] == pytest.approx(0.6)


def test_a_seed_the_model_could_not_score_has_no_metrics_in_the_evaluation_chapter():
    import pandas as pd

    predictions = pd.DataFrame(
        {"seed": [1, 1, 2, 2], "attack": [1, 0, 1, 0], "probability": [0.9, 0.1, np.nan, 0.1]}
    )
    table = evaluation.metrics_by_seed(predictions, 0.5)
    assert table.loc[1, "accuracy"] == 1.0 and table.loc[1, "non_finite"] == 0
    assert table.loc[2, "non_finite"] == 1 and np.isnan(table.loc[2, "tn"])  # no benign count
    assert np.isnan(table.loc[2, "accuracy"])


def test_result_properties_fail_a_collapsed_an_unscored_or_a_diverged_model():
    import pandas as pd

    good = pd.DataFrame(
        {"roc_auc": [0.9, 0.8], "recall": [0.4, 0.1], "tn": [5, 6], "fp": [1, 0], "fn": [2, 3]}
    ).assign(tp=[2, 1], n=[10, 10], diverged=[False, False])
    assert evaluation.result_properties(good) == {
        "ROC-AUC above a constant predictor's 0.5": True,
        "recall above a constant 'benign' predictor's 0": True,
        "Table 2 cells add up to the test flows": True,
        "no diverged seed": True,
    }
    constant = good.assign(roc_auc=[0.9, 0.5], recall=[0.4, 0.0])  # seed 2 says benign always
    assert not any(list(evaluation.result_properties(constant).values())[:2])
    unscored = good.assign(roc_auc=[0.9, np.nan], recall=[0.4, np.nan], tp=[2, np.nan])
    properties = evaluation.result_properties(unscored)
    assert not properties["ROC-AUC above a constant predictor's 0.5"]
    assert not properties["Table 2 cells add up to the test flows"]
    assert not evaluation.result_properties(good.assign(diverged=[False, True]))["no diverged seed"]
    # One cell unknown: the other three happen to add up to n, still not a full Table 2.
    gap = good.assign(tn=[5, 7], tp=[2, np.nan])
    assert not evaluation.result_properties(gap)["Table 2 cells add up to the test flows"]
    lost = good.assign(tn=[5, 5])  # a flow missing from the cells
    assert not evaluation.result_properties(lost)["Table 2 cells add up to the test flows"]
    unmarked = evaluation.result_properties(good.assign(diverged=[np.nan, np.nan]))
    assert "no diverged seed" not in unmarked  # a baseline: nothing to mark
    bare = evaluation.result_properties(good[["roc_auc", "recall"]])
    assert list(bare) == list(properties)[:2]
    with pytest.raises(ValueError, match=r"^no per-seed results to check$"):
        evaluation.result_properties(good.iloc[:0])


def test_bad_inputs_are_refused_with_messages_that_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"^y_true has 3 values but probability 2$"):
        evaluation.binary_metrics([0, 1, 1], [0.1, 0.9])
    with pytest.raises(ValueError, match=r"^y_true must hold only 0 and 1$"):
        evaluation.binary_metrics([0, 2], [0.1, 0.9])
    with pytest.raises(ValueError, match=r"^probability holds NaN or infinite values$"):
        evaluation.binary_metrics([0, 1], [0.1, np.inf])
    with pytest.raises(ValueError, match=r"^the confusion matrix is empty$"):
        evaluation.metrics_from_confusion(0, 0, 0, 0)
    import pandas as pd

    with pytest.raises(ValueError, match=r"^no seeds to summarise$"):
        evaluation.summarise_over_seeds(pd.DataFrame({"accuracy": []}))


@pytest.mark.filterwarnings("error")
def test_one_class_and_one_prediction_still_give_all_four_cells_without_warnings():
    # Every flow benign and called benign: scikit-learn's confusion matrix would be 1 x 1
    # without the labels, and its ranking metrics would warn; neither happens.
    m = evaluation.binary_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert (m["tn"], m["fp"], m["fn"], m["tp"], m["n"]) == (3, 0, 0, 0, 3)
    assert np.isnan(m["roc_auc"]) and np.isnan(m["average_precision"])
    assert m["accuracy"] == 1.0 and m["false_positive_rate"] == 0.0
    assert list(m) == [*evaluation.TABLE1_METRICS, "tn", "fp", "fn", "tp", "n"]
    assert all(type(m[cell]) is int for cell in ("tn", "fp", "fn", "tp", "n"))
    assert all(type(m[name]) is float for name in evaluation.TABLE1_METRICS)


def test_scored_metrics_default_threshold_and_the_shape_of_an_unscored_result():
    m = evaluation.scored_metrics([0, 1, 1], [0.49, 0.5, 0.51])  # the paper's 0.5 by default
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (1, 0, 0, 2) and m["non_finite"] == 0
    unscored = evaluation.scored_metrics([0, 1, 1, 0], [0.2, np.nan, -np.inf, 0.1])
    keys = [*evaluation.TABLE1_METRICS, "tn", "fp", "fn", "tp"]
    assert list(unscored) == [*keys, "n", "non_finite"]
    assert all(isinstance(unscored[k], float) and np.isnan(unscored[k]) for k in keys)
    assert unscored["n"] == 4 and unscored["non_finite"] == 2


def test_a_seed_without_a_spread_value_has_no_interval_either():
    import pandas as pd

    # skipna=False: a missing seed leaves the standard deviation unknown too.
    summary = evaluation.summarise_over_seeds(
        pd.DataFrame({"accuracy": [0.9, np.nan, 0.8]}), bounds=None
    )
    assert np.isnan(summary.loc["accuracy", "std"])
    assert np.isnan(summary.loc["accuracy", "ci_high"])


def test_metrics_report_keeps_the_models_in_their_order_of_appearance():
    import pandas as pd

    rows = [
        pd.DataFrame({"model": model, "seed": 1, "attack": [1, 0], "probability": [0.9, 0.1]})
        for model in ("zeta", "alpha")
    ]
    report = evaluation.metrics_report(
        pd.concat(rows), 0.5, {"zeta": {"1": False}, "alpha": {"1": False}}
    )
    assert list(report) == ["zeta", "alpha"]
    assert list(report["zeta"]["per_seed"]) == ["1"]
    assert set(report["zeta"]["aggregate"]) == set(evaluation.TABLE1_METRICS)


def test_metrics_by_seed_uses_the_threshold_it_is_given():
    import pandas as pd

    predictions = pd.DataFrame({"seed": [1, 1], "attack": [1, 0], "probability": [0.4, 0.3]})
    assert evaluation.metrics_by_seed(predictions, 0.35).loc[1, "fp"] == 0
    assert evaluation.metrics_by_seed(predictions, 0.35).loc[1, "tp"] == 1
    assert evaluation.metrics_by_seed(predictions, 0.5).loc[1, "tp"] == 0


def test_predictions_frame_column_types():
    import pandas as pd

    test = pd.DataFrame(
        {"source_file": ["a.csv"] * 2, "source_line": [2, 3], "attack": [1, 0]}
    ).assign(family=["DDoS", "Benign"])
    frame = evaluation.predictions_frame(3, test, np.array([0.7, np.nan]), 0.5)
    assert frame["prediction"].dtype == "Int8"  # nullable: an unscored flow has <NA>
    assert frame["attack"].dtype == "int8" and frame["seed"].dtype == "int64"
    assert frame["prediction"].iloc[0] == 1 and frame["prediction"].isna().iloc[1]
    assert evaluation.prediction_codes(frame).tolist() == [1, evaluation.UNSCORED]


def test_the_threshold_is_compared_in_float64_with_float32_probabilities():
    # NumPy compares a float32 array with a Python float in float32: a probability just below
    # the threshold would be rounded up to it and called an attack.
    p = np.float32(0.3)
    threshold = float(p) + 1e-12
    metrics = evaluation.binary_metrics(np.array([1, 0]), np.array([p, 0.1], "float32"), threshold)
    assert (metrics["tp"], metrics["fn"]) == (0, 1)
