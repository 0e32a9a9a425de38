"""Baselines: every model fits and scores, stratified subsamples, paired tests, Table 3."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ids_utils import baselines


def test_every_baseline_fits_and_scores_in_range():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 39))
    y = (x[:, 0] > 0.8).astype(int)
    for name, model in baselines.make_baselines(0).items():
        result = baselines.fit_and_score(name, model, x[:200], y[:200], x[200:], None, 0)
        p = result["probability"]
        assert p.shape == (100,) and np.all((p >= 0) & (p <= 1)), name
        assert result["fit_seconds"] >= 0 and result["train_rows"] == 200


def test_svm_subsample_is_stratified_and_limited():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 5))
    y = (rng.random(500) < 0.1).astype(int)
    result = baselines.fit_and_score(
        "SVM (RBF)",
        baselines.make_baselines(0)["SVM (RBF)"],
        x,
        y,
        x[:10],
        max_train_rows=100,
        seed=0,
    )
    assert result["train_rows"] == 100


def test_mlp_budget_is_close_to_the_cnn_lstm():
    assert baselines.mlp_parameters(39) == 39 * 256 + 256 + 256 * 96 + 96 + 96 + 1
    assert abs(baselines.mlp_parameters(43) - 37_921) / 37_921 < 0.1


def test_mcnemar_counts_discordant_flows():
    a = np.array([True] * 10 + [False] * 0 + [True] * 5)
    b = np.array([False] * 10 + [True] * 5)
    result = baselines.mcnemar(a, b)
    assert (result["only_a"], result["only_b"]) == (10, 0)
    assert result["p_value"] == pytest.approx(2 * 0.5**10)
    assert baselines.mcnemar(a, a)["p_value"] == 1.0
    with pytest.raises(ValueError, match="same flows"):
        baselines.mcnemar(a, b[:-1])


def test_paired_differences():
    per_seed = pd.DataFrame(
        {
            "model": ["A"] * 3 + ["B"] * 3,
            "seed": [1, 2, 3] * 2,
            "accuracy": [0.90, 0.91, 0.92, 0.95, 0.97, 0.96],
        }
    )
    table = baselines.paired_differences(per_seed, "A", "accuracy")
    assert table.loc["B", "mean_difference"] == pytest.approx(0.05)
    assert table.loc["B", "ci_low"] < 0.05 < table.loc["B", "ci_high"]
    assert 0 < table.loc["B", "p_value"] < 0.05


def test_mcnemar_table_counts_discordant_flows_per_seed(predictions_of):
    reference = predictions_of("CNN-LSTM", [0, 0, 1, 1, 0, 0])  # right on 0, 1, 2, 3
    other = predictions_of("RF", [1, 1, 1, 1, 1, 1])  # right on 2, 3, 4, 5
    table = baselines.mcnemar_table(pd.concat([reference, other]), "CNN-LSTM")
    row = table.iloc[0]
    assert (row["model"], row["reference"]) == ("RF", "CNN-LSTM")
    assert row["only model right"] == 2 and row["only reference right"] == 2
    assert row["p_value"] == 1.0
    with pytest.raises(ValueError, match="no predictions of the reference"):
        baselines.mcnemar_table(other, "CNN-LSTM")
    with pytest.raises(ValueError, match="not scored on the reference's test flows"):
        baselines.mcnemar_table(pd.concat([reference.iloc[:4], other]), "CNN-LSTM")


@pytest.mark.parametrize("seed", range(10))
def test_the_svm_subsample_keeps_the_class_proportions_exactly(seed):
    x = np.arange(1000.0).reshape(-1, 1)
    y = np.array([1] * 100 + [0] * 900)
    sub_x, sub_y = baselines.stratified_subsample(x, y, 200, seed)
    assert len(sub_x) == 200 and sub_y.sum() == 20  # 10% attacks, as in the full part
    assert set(sub_x[sub_y == 1, 0]) <= set(range(100))  # rows keep their labels
    assert baselines.stratified_subsample(x, y, None, seed)[0] is x


def test_table3_puts_our_rows_best_first_then_the_papers_quoted():
    from ids_utils.paper import paper_claims

    def summary(mean, low, high):
        return pd.DataFrame(
            {"mean": [mean], "ci_low": [low], "ci_high": [high]}, index=["accuracy"]
        )

    claims = paper_claims()
    table = baselines.table3(
        {"SVM": summary(0.9, 0.85, 0.95), "Random Forest": summary(0.97, 0.96, 0.98)}, claims
    )
    assert table.index[:2].tolist() == ["Random Forest", "SVM"]
    assert table.loc["SVM", "95% CI"] == "[0.8500, 0.9500]"
    assert (
        table.loc["Random Forest (paper)", "accuracy"]
        == claims.loc["random_forest_accuracy", "paper"]
    )
    assert table.loc["CNN-LSTM (paper)", "accuracy"] == claims.loc["accuracy", "paper"]
    assert (table["source"] == "this build").sum() == 2 and len(table) == 6


def test_mcnemar_on_unequal_discordant_counts_is_the_exact_binomial():
    # Only A right on 7 flows, only B right on 2, both right on 3: P(X <= 2 or X >= 7), n = 9.
    a = np.array([True] * 7 + [False] * 2 + [True] * 3)
    b = np.array([False] * 7 + [True] * 2 + [True] * 3)
    result = baselines.mcnemar(a, b)
    assert (result["only_a"], result["only_b"]) == (7, 2)
    assert result["p_value"] == pytest.approx(2 * (1 + 9 + 36) / 2**9)  # 0.1796875
    assert baselines.mcnemar(b, a) == {"only_a": 2, "only_b": 7, "p_value": result["p_value"]}


def test_mcnemar_table_keeps_each_side_and_each_seed_apart(predictions_of):
    reference = pd.concat(
        [
            predictions_of("CNN-LSTM", [1, 1, 1, 1, 1, 1]),  # right on 2-5
            predictions_of("CNN-LSTM", [0, 0, 0, 0, 0, 0]).assign(seed=2),  # right on 0, 1
        ]
    )
    other = pd.concat(
        [
            predictions_of("RF", [0, 0, 0, 0, 0, 0]),  # right on 0, 1
            predictions_of("RF", [0, 0, 0, 0, 0, 0]).assign(seed=2),
        ]
    )
    table = baselines.mcnemar_table(pd.concat([reference, other]), "CNN-LSTM").set_index("seed")
    assert table.loc[1, "only model right"] == 2 and table.loc[1, "only reference right"] == 4
    assert table.loc[1, "p_value"] == pytest.approx(
        baselines.mcnemar(np.array([1, 1, 0, 0, 0, 0], bool), np.array([0, 0, 1, 1, 1, 1], bool))[
            "p_value"
        ]
    )
    assert table.loc[2, "only model right"] == 0 and table.loc[2, "p_value"] == 1.0


def test_paired_differences_match_the_textbook_t_interval_and_test():
    # Differences B - A: 0.05, 0.06, 0.04 (mean 0.05, sd 0.01); t(0.975, 2) = 4.302653.
    per_seed = pd.DataFrame(
        {
            "model": ["A"] * 3 + ["B"] * 3,
            "seed": [1, 2, 3] * 2,
            "f1": [0.50, 0.50, 0.50, 0.55, 0.56, 0.54],
        }
    )
    row = baselines.paired_differences(per_seed, "A", "f1").loc["B"]
    half = 4.302653 * 0.01 / np.sqrt(3)
    assert row["mean_difference"] == pytest.approx(0.05)
    assert (row["ci_low"], row["ci_high"]) == (
        pytest.approx(0.05 - half),
        pytest.approx(0.05 + half),
    )
    assert row["p_value"] == pytest.approx(0.013072, abs=1e-5)  # t = 8.660, 2 df
    assert row["n_seeds"] == 3


def test_paired_differences_without_spread_or_with_one_seed_have_no_interval():
    same = pd.DataFrame(
        {"model": ["A", "A", "B", "B"], "seed": [1, 2, 1, 2], "f1": [0.5, 0.6, 0.6, 0.7]}
    )  # B - A = 0.1 on both seeds
    row = baselines.paired_differences(same, "A", "f1").loc["B"]
    assert row["mean_difference"] == pytest.approx(0.1) and np.isnan(row["ci_low"])
    assert np.isnan(row["p_value"]) and row["n_seeds"] == 2
    one = baselines.paired_differences(same[same["seed"] == 1], "A", "f1").loc["B"]
    assert one["n_seeds"] == 1 and np.isnan(one["ci_high"])
    with pytest.raises(ValueError, match="no model named 'C'"):
        baselines.paired_differences(same, "C", "f1")


def test_mcnemar_table_makes_no_test_on_flows_a_model_could_not_score(predictions_of):
    reference = predictions_of("CNN-LSTM", [0, 0, 1, 1, 0, 0])
    other = predictions_of("RF", [1, 1, 1, 1, 1, 1])
    other["prediction"] = pd.array([1, 1, None, 1, 1, 1], dtype="Int8")
    row = baselines.mcnemar_table(pd.concat([reference, other]), "CNN-LSTM").iloc[0]
    # Unknown whether RF was right on flow 2: no counts, no p-value, never "right" or "wrong".
    assert row["unscored"] == 1
    assert np.isnan(row["p_value"]) and np.isnan(row["only model right"])
    scored = baselines.mcnemar_table(
        pd.concat([reference, predictions_of("RF", [1, 1, 1, 1, 1, 1])]), "CNN-LSTM"
    ).iloc[0]
    assert scored["unscored"] == 0 and scored["p_value"] == 1.0


def test_mcnemar_summary_sums_seeds_and_marks_an_untested_seed(predictions_of):
    reference = pd.concat(
        [
            predictions_of("CNN-LSTM", [0, 0, 1, 1, 0, 0]),
            predictions_of("CNN-LSTM", [0, 0, 1, 1, 0, 0]).assign(seed=2),
        ]
    )
    rf = pd.concat(
        [
            predictions_of("RF", [1, 1, 1, 1, 1, 1]),
            predictions_of("RF", [0, 0, 1, 1, 1, 1]).assign(seed=2),
        ]
    )
    tests = baselines.mcnemar_table(pd.concat([reference, rf]), "CNN-LSTM")
    summary = baselines.mcnemar_summary(tests).loc[("CNN-LSTM", "RF")]
    assert summary["only model right"] == 4 and summary["only reference right"] == 2
    assert summary["largest p over seeds"] == 1.0 and summary["unscored"] == 0
    rf["prediction"] = pd.array([1, 1, 1, 1, 1, 1, 0, 0, None, 1, 1, 1], dtype="Int8")
    tests = baselines.mcnemar_table(pd.concat([reference, rf]), "CNN-LSTM")
    summary = baselines.mcnemar_summary(tests).loc[("CNN-LSTM", "RF")]
    assert summary["unscored"] == 1 and np.isnan(summary["largest p over seeds"])
    assert np.isnan(summary["only model right"])


def ranking_inputs(accuracy, p_values, interval=(-0.02, 0.01)):
    """Mean accuracies, their paired differences from the CNN-LSTM and McNemar p-values."""
    accuracy = pd.Series(accuracy)
    differences = pd.DataFrame(
        {
            "mean_difference": accuracy.drop("CNN-LSTM") - accuracy["CNN-LSTM"],
            "ci_low": interval[0],
            "ci_high": interval[1],
        }
    )
    tests = pd.DataFrame(
        [
            {"model": model, "seed": seed, "p_value": p}
            for model, ps in p_values.items()
            for seed, p in enumerate(ps)
        ]
    )
    return accuracy, differences, tests


def test_the_ranking_verdict_holds_only_for_the_papers_order():
    accuracy, differences, tests = ranking_inputs(
        {"CNN-LSTM": 0.95, "Random Forest": 0.93, "SVM (RBF)": 0.90, "XGBoost": 0.94},
        {"Random Forest": [0.01, 0.2, 0.04], "SVM (RBF)": [0.001, 0.001, 0.001]},
    )
    verdict = baselines.ranking_verdict(accuracy, differences, tests)
    assert verdict["paper_ranking_holds"] is True
    assert verdict["order"] == ["CNN-LSTM", "XGBoost", "Random Forest", "SVM (RBF)"]
    assert verdict["significant_seeds"] == {"Random Forest": 2, "SVM (RBF)": 3}
    assert "**holds** here" in verdict["text"]
    assert "ranks the models: CNN-LSTM (0.9500), XGBoost (0.9400)" in verdict["text"]
    assert (
        "Random Forest minus CNN-LSTM: -0.0200 accuracy, 95% interval [-0.0200, +0.0100]; "
        "McNemar p < 0.05 in 2 of 3 seed(s)."
    ) in verdict["text"]
    swapped = accuracy.copy()
    swapped[["Random Forest", "SVM (RBF)"]] = [0.90, 0.93]
    assert not baselines.ranking_verdict(swapped, differences, tests)["paper_ranking_holds"]
    tied = accuracy.copy()
    tied["Random Forest"] = 0.95  # a tie is not "better than"
    assert not baselines.ranking_verdict(tied, differences, tests)["paper_ranking_holds"]


def test_the_ranking_verdict_names_the_best_model_and_untested_seeds():
    accuracy, differences, tests = ranking_inputs(
        {"CNN-LSTM": 0.90, "Random Forest": 0.97, "SVM (RBF)": 0.91, "XGBoost": 0.98},
        {"Random Forest": [0.01, np.nan], "SVM (RBF)": [0.5, 0.6], "XGBoost": [0.04, 0.049]},
        interval=(np.nan, np.nan),
    )
    verdict = baselines.ranking_verdict(accuracy, differences, tests, alpha=0.05)
    assert verdict["paper_ranking_holds"] is False and "**does not hold** here" in verdict["text"]
    assert verdict["order"][0] == "XGBoost"
    # The best model is compared too; an unscored seed is said, not counted.
    assert verdict["significant_seeds"] == {"Random Forest": 1, "SVM (RBF)": 0, "XGBoost": 2}
    assert (
        "Random Forest minus CNN-LSTM: +0.0700 accuracy; McNemar p < 0.05 in 1 of 2 seed(s) "
        "(1 not tested: flows a model could not score)."
    ) in verdict["text"]
    strict = baselines.ranking_verdict(accuracy, differences, tests, alpha=0.045)
    assert strict["significant_seeds"]["XGBoost"] == 1


def test_the_baselines_are_built_with_their_stated_settings():
    made = baselines.make_baselines(7)
    assert list(made) == [
        "Random Forest",
        "SVM (RBF)",
        "Logistic regression",
        "HistGradientBoosting",
        "XGBoost",
        "MLP",
    ]
    expected = {
        "Random Forest": {"n_estimators": 100, "random_state": 7, "n_jobs": 2},
        "SVM (RBF)": {"kernel": "rbf", "C": 1.0, "gamma": "scale", "random_state": 7},
        "Logistic regression": {"max_iter": 2_000, "random_state": 7},
        "HistGradientBoosting": {"random_state": 7},
        "XGBoost": {
            "n_estimators": 300,
            "max_depth": 6,
            "learning_rate": 0.1,
            "tree_method": "hist",
            "n_jobs": 2,
            "random_state": 7,
            "eval_metric": "logloss",
        },
        "MLP": {
            "hidden_layer_sizes": baselines.MLP_HIDDEN,
            "max_iter": 200,
            "early_stopping": True,
            "random_state": 7,
        },
    }
    for name, settings in expected.items():
        params = made[name].get_params()
        assert {key: params[key] for key in settings} == settings, name
    # Everything else is the library's default (the paper gives no settings).
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.svm import SVC

    for name, cls in (("Random Forest", RandomForestClassifier), ("SVM (RBF)", SVC)):
        defaults = cls().get_params()
        params = made[name].get_params()
        assert {k: v for k, v in params.items() if k not in expected[name]} == {
            k: v for k, v in defaults.items() if k not in expected[name]
        }


def test_table3_is_exactly_our_rows_then_the_papers():
    from ids_utils.paper import paper_claims

    def summary(mean, low, high):
        return pd.DataFrame(
            {"mean": [mean, 0.5], "ci_low": [low, 0.4], "ci_high": [high, 0.6]},
            index=["accuracy", "f1"],
        )

    claims = paper_claims()
    paper = claims["paper"]
    table = baselines.table3(
        {"SVM": summary(0.9, 0.85, 0.95), "Random Forest": summary(0.97, 0.96123, 0.98)}, claims
    )
    expected = pd.DataFrame(
        {
            "source": [
                "this build",
                "this build",
                "paper, Table 3",
                "paper, Table 3",
                "paper, Table 3",
                "paper, Table 3 (NSL-KDD / CICIDS2017)",
            ],
            "accuracy": [
                0.97,
                0.9,
                paper["random_forest_accuracy"],
                paper["svm_accuracy"],
                paper["accuracy"],
                f"{paper['literature_accuracy_low']} - {paper['literature_accuracy_high']}",
            ],
            "95% CI": [
                "[0.9612, 0.9800]",
                "[0.8500, 0.9500]",
                "not given",
                "not given",
                "not given",
                "not given",
            ],
        },
        index=[
            "Random Forest",
            "SVM",
            "Random Forest (paper)",
            "SVM (paper)",
            "CNN-LSTM (paper)",
            "published CNN-LSTMs",
        ],
    )
    pd.testing.assert_frame_equal(table.astype(str), expected.astype(str))


def test_two_seeds_already_give_a_paired_interval():
    per_seed = pd.DataFrame(
        {"model": ["A", "A", "B", "B"], "seed": [1, 2, 1, 2], "f1": [0.5, 0.6, 0.6, 0.8]}
    )
    row = baselines.paired_differences(per_seed, "A", "f1").loc["B"]
    # Differences 0.1 and 0.2: mean 0.15, sd 0.0707; t(0.975, 1) = 12.706205.
    half = 12.706205 * np.std([0.1, 0.2], ddof=1) / np.sqrt(2)
    assert row["n_seeds"] == 2 and row["mean_difference"] == pytest.approx(0.15)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.15 - half, 0.15 + half))
    assert 0 < row["p_value"] < 1


def test_mcnemar_refuses_other_flows_and_a_duplicated_reference_flow(predictions_of):
    with pytest.raises(ValueError, match=r"^the two models were not scored on the same flows$"):
        baselines.mcnemar(np.array([True, False]), np.array([True]))
    reference = predictions_of("CNN-LSTM", [0, 0, 1, 1, 0, 0])
    other = predictions_of("RF", [1, 1, 1, 1, 1, 1])
    twice = pd.concat([reference, reference.iloc[:1]])
    with pytest.raises(pd.errors.MergeError):
        baselines.mcnemar_table(pd.concat([twice, other]), "CNN-LSTM")
    reference["prediction"] = pd.array([0, 0, None, 1, 0, 0], dtype="Int8")
    row = baselines.mcnemar_table(pd.concat([reference, other]), "CNN-LSTM").iloc[0]
    assert row["unscored"] == 1 and np.isnan(row["p_value"])  # the reference's own gap


def test_the_ranking_verdict_in_full_at_its_edges():
    accuracy, differences, tests = ranking_inputs(
        {"CNN-LSTM": 0.95, "Random Forest": 0.93, "SVM (RBF)": 0.93},
        {"Random Forest": [0.05, 0.01], "SVM (RBF)": [0.2, 0.3]},
    )
    verdict = baselines.ranking_verdict(accuracy, differences, tests)
    assert verdict["paper_ranking_holds"] is False  # Random Forest only ties the SVM
    assert verdict["significant_seeds"]["Random Forest"] == 1  # p = alpha is not below it
    assert verdict["text"] == (
        "On this build's data, mean test accuracy ranks the models: CNN-LSTM (0.9500), "
        "Random Forest (0.9300), SVM (RBF) (0.9300). The paper's ranking, CNN-LSTM > "
        "Random Forest > SVM (RBF), **does not hold** here. Random Forest minus CNN-LSTM: "
        "-0.0200 accuracy, 95% interval [-0.0200, +0.0100]; McNemar p < 0.05 in 1 of 2 "
        "seed(s). SVM (RBF) minus CNN-LSTM: -0.0200 accuracy, 95% interval [-0.0200, "
        "+0.0100]; McNemar p < 0.05 in 0 of 2 seed(s)."
    )


def test_mcnemar_summary_blanks_both_counts_of_an_untested_pair(predictions_of):
    reference = predictions_of("CNN-LSTM", [0, 0, 1, 1, 0, 0])
    rf = predictions_of("RF", [1, 1, 1, 1, 1, 1])
    rf["prediction"] = pd.array([1, 1, None, 1, 1, 1], dtype="Int8")
    tests = baselines.mcnemar_table(pd.concat([reference, rf]), "CNN-LSTM")
    summary = baselines.mcnemar_summary(tests).loc[("CNN-LSTM", "RF")]
    assert summary[["only model right", "only reference right"]].isna().all()


def test_a_decision_function_becomes_its_logistic():
    class Margin:  # no predict_proba, like the SVM
        def decision_function(self, x):
            return np.asarray(x, dtype=float).ravel()

    probability = baselines.attack_probability(Margin(), [[0.0], [2.0], [-2.0]])
    np.testing.assert_allclose(probability, [0.5, 1 / (1 + np.exp(-2)), 1 / (1 + np.exp(2))])


def test_fit_and_score_reports_its_model_rows_and_times():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3))
    y = (x[:, 0] + 0.5 * rng.standard_normal(200) > 0).astype(int)
    runs = [
        baselines.fit_and_score("LR", LogisticRegression(), x, y, x[:20], 60, seed=5)
        for _ in range(2)
    ]
    result = runs[0]
    assert set(result) == {"model", "probability", "fit_seconds", "predict_seconds", "train_rows"}
    assert result["model"] == "LR" and result["train_rows"] == 60
    assert all(0 <= result[k] < 60 for k in ("fit_seconds", "predict_seconds"))
    # The same seed draws the same subsample, so the same model and scores.
    np.testing.assert_array_equal(runs[0]["probability"], runs[1]["probability"])


def test_a_subsample_of_every_row_is_the_data_itself():
    x, y = np.arange(20.0).reshape(10, 2), np.array([0, 1] * 5)
    same_x, same_y = baselines.stratified_subsample(x, y, 10, seed=0)
    assert same_x is x and same_y is y
    a = baselines.stratified_subsample(x, y, 6, seed=1)[0]
    np.testing.assert_array_equal(a, baselines.stratified_subsample(x, y, 6, seed=1)[0])
