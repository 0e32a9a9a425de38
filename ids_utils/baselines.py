"""Classical and simpler baselines (paper Table 3), fitted on the CNN-LSTM's own splits.

Every baseline sees the same scaled training part as the CNN-LSTM and is scored
once on the same test flows, so that each comparison is paired flow by flow.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from xgboost import XGBClassifier

from .evaluation import CONFIDENCE, UNSCORED, prediction_codes

#: Hidden layers of the MLP baseline: about the CNN-LSTM's 37,921 parameters
#: for 39 to 43 features (35,009 and 36,033 weights).
MLP_HIDDEN = (256, 96)


def make_baselines(seed: int) -> dict[str, object]:
    """The baseline models, unfitted, seeded.

    Random Forest and the RBF SVM are the paper's two (it gives no settings, so
    scikit-learn's defaults); logistic regression, two gradient-boosted tree
    ensembles and an MLP of about the CNN-LSTM's size are the references a
    reviewer would ask for.
    """
    return {
        "Random Forest": RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=2),
        "SVM (RBF)": SVC(kernel="rbf", C=1.0, gamma="scale", random_state=seed),
        "Logistic regression": LogisticRegression(max_iter=2_000, random_state=seed),
        "HistGradientBoosting": HistGradientBoostingClassifier(random_state=seed),
        "XGBoost": XGBClassifier(
            n_estimators=300,
            max_depth=6,
            learning_rate=0.1,
            tree_method="hist",
            n_jobs=2,
            random_state=seed,
            eval_metric="logloss",
        ),
        "MLP": MLPClassifier(
            hidden_layer_sizes=MLP_HIDDEN, max_iter=200, early_stopping=True, random_state=seed
        ),
    }


def mlp_parameters(n_features: int, hidden: tuple[int, ...] = MLP_HIDDEN) -> int:
    """Weights and biases of an MLP with one sigmoid output."""
    sizes = [n_features, *hidden, 1]
    return int(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))


def attack_probability(model, x: np.ndarray) -> np.ndarray:
    """The model's attack score in [0, 1].

    ``predict_proba`` where the model has it; for the SVM, the logistic of its
    decision function, so that 0.5 is its own decision boundary and ROC-AUC
    and average precision (rank-based) are those of the decision function.
    """
    if hasattr(model, "predict_proba"):
        return model.predict_proba(x)[:, 1]
    return 1.0 / (1.0 + np.exp(-model.decision_function(x)))


def stratified_subsample(
    x: np.ndarray, y: np.ndarray, max_rows: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_rows`` rows, with the classes in their proportions (all rows if None)."""
    if max_rows is None or len(x) <= max_rows:
        return x, y
    x, _, y, _ = train_test_split(x, y, train_size=max_rows, stratify=y, random_state=seed)
    return x, y


def fit_and_score(
    name: str,
    model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    max_train_rows: int | None,
    seed: int,
) -> dict:
    """Fit one baseline on the training part and score the test part, timed.

    Parameters
    ----------
    max_train_rows : int or None
        Fit on a stratified subsample of at most this many training rows (for
        the SVM, whose fit grows with the square of the rows); None for all.

    Returns
    -------
    dict
        ``model`` name, ``probability`` (per test flow), ``fit_seconds``,
        ``predict_seconds``, ``train_rows`` actually used.
    """
    x_train, y_train = stratified_subsample(x_train, y_train, max_train_rows, seed)
    start = time.perf_counter()
    model.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    probability = attack_probability(model, x_test)
    predict_seconds = time.perf_counter() - start
    return {
        "model": name,
        "probability": probability,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "train_rows": int(len(x_train)),
    }


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict:
    """Exact McNemar test of two classifiers on the same flows.

    Parameters
    ----------
    correct_a, correct_b : array of bool
        Whether each model classified each flow correctly.

    Returns
    -------
    dict
        ``only_a`` (flows only A got right), ``only_b``, and the two-sided exact
        binomial ``p_value`` on the discordant flows (1.0 when there are none).
    """
    correct_a, correct_b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if correct_a.shape != correct_b.shape:
        raise ValueError("the two models were not scored on the same flows")
    only_a = int((correct_a & ~correct_b).sum())
    only_b = int((~correct_a & correct_b).sum())
    discordant = only_a + only_b
    p_value = stats.binomtest(only_a, discordant, 0.5).pvalue if discordant else 1.0
    return {"only_a": only_a, "only_b": only_b, "p_value": float(p_value)}


def mcnemar_table(predictions: pd.DataFrame, reference: str) -> pd.DataFrame:
    """McNemar's exact test of every model against the reference, seed by seed.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Every model's test predictions (columns ``model``, ``seed``,
        ``source_file``, ``source_line``, ``prediction``, ``attack``), the same
        flows for each model.
    reference : str
        The model the others are compared with.

    Returns
    -------
    pandas.DataFrame
        One row per other model and seed: ``reference``, ``model``, ``seed``,
        ``only model right``, ``only reference right``, ``p_value`` and
        ``unscored`` (flows either model could not score).  With an unscored
        flow the test is not made (counts and p-value NaN): whether either
        model was right on it is unknown.
    """
    keys = ["seed", "source_file", "source_line"]
    # UNSCORED (a missing prediction) is never counted as right or wrong.
    predicted = prediction_codes(predictions)
    correct = predictions.assign(
        correct=np.where(
            predicted == UNSCORED, UNSCORED, (predicted == predictions["attack"]).astype(int)
        )
    )
    ours = correct[correct["model"] == reference][[*keys, "correct"]]
    if ours.empty:
        raise ValueError(f"no predictions of the reference model {reference!r}")
    rows = []
    for (model, seed), part in correct[correct["model"] != reference].groupby(["model", "seed"]):
        merged = part.merge(ours, on=keys, suffixes=("", "_reference"), validate="one_to_one")
        if len(merged) != len(part):
            raise ValueError(f"{model}, seed {seed}: not scored on the reference's test flows")
        unscored = int(
            ((merged["correct"] == UNSCORED) | (merged["correct_reference"] == UNSCORED)).sum()
        )
        if unscored:
            result = {"only_a": np.nan, "only_b": np.nan, "p_value": np.nan}
        else:
            result = mcnemar(merged["correct"] == 1, merged["correct_reference"] == 1)
        rows.append(
            {
                "reference": reference,
                "model": model,
                "seed": seed,
                "only model right": result["only_a"],
                "only reference right": result["only_b"],
                "p_value": result["p_value"],
                "unscored": unscored,
            }
        )
    return pd.DataFrame(rows)


def mcnemar_summary(mcnemar_tests: pd.DataFrame) -> pd.DataFrame:
    """McNemar tests summed over seeds, per reference and model.

    Parameters
    ----------
    mcnemar_tests : pandas.DataFrame
        :func:`mcnemar_table` rows, with their ``reference``.

    Returns
    -------
    pandas.DataFrame
        Discordant counts summed over seeds, the flows left unscored and the
        largest p-value over seeds; counts and p-value are NaN when any seed's
        test could not be made (a sum over the other seeds would hide it).
    """
    grouped = mcnemar_tests.groupby(["reference", "model"])
    summary = grouped.agg(
        {"only model right": "sum", "only reference right": "sum", "unscored": "sum"}
    ).astype({"only model right": float, "only reference right": float})
    summary["largest p over seeds"] = grouped["p_value"].max()
    untested = grouped["p_value"].apply(lambda p: p.isna().any())
    columns = ["only model right", "only reference right", "largest p over seeds"]
    summary.loc[untested, columns] = np.nan
    return summary


def paired_differences(
    per_seed: pd.DataFrame, reference: str, metric: str, confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """Per-seed difference of a metric between each model and the reference model.

    Parameters
    ----------
    per_seed : pandas.DataFrame
        Columns ``model``, ``seed`` and the metric.
    reference : str
        The model others are compared with (the CNN-LSTM).

    Returns
    -------
    pandas.DataFrame
        Per model: mean difference (model minus reference), its t-interval and
        the paired t-test's p-value (NaN with fewer than two seeds).
    """
    wide = per_seed.pivot(index="seed", columns="model", values=metric)
    if reference not in wide.columns:
        raise ValueError(f"no model named {reference!r} in the table")
    rows = {}
    for model in wide.columns.drop(reference):
        diff = (wide[model] - wide[reference]).dropna()
        n = len(diff)
        if n > 1 and diff.std(ddof=1) > 0:
            half = stats.t.ppf(0.5 + confidence / 2, n - 1) * diff.std(ddof=1) / np.sqrt(n)
            p_value = stats.ttest_rel(wide[model], wide[reference]).pvalue
        else:
            half, p_value = float("nan"), float("nan")
        rows[model] = {
            "mean_difference": diff.mean(),
            "ci_low": diff.mean() - half,
            "ci_high": diff.mean() + half,
            "p_value": p_value,
            "n_seeds": n,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def ranking_verdict(
    accuracy: pd.Series,
    accuracy_differences: pd.DataFrame,
    mcnemar_tests: pd.DataFrame,
    reference: str = "CNN-LSTM",
    alpha: float = 0.05,
) -> dict:
    """Whether the paper's ranking (CNN-LSTM > Random Forest > SVM) holds, in words.

    Parameters
    ----------
    accuracy : pandas.Series
        Mean test accuracy per model.
    accuracy_differences : pandas.DataFrame
        From :func:`paired_differences` on accuracy.
    mcnemar_tests : pandas.DataFrame
        From :func:`mcnemar_table` against ``reference``.

    Returns
    -------
    dict
        ``order`` (models by mean accuracy), ``paper_ranking_holds``, per-model
        ``significant_seeds`` and a plain-language ``text``.
    """
    order = accuracy.sort_values(ascending=False)
    rf, svm = "Random Forest", "SVM (RBF)"
    holds = bool(accuracy[reference] > accuracy[rf] > accuracy[svm])
    lines = [
        "On this build's data, mean test accuracy ranks the models: "
        + ", ".join(f"{m} ({v:.4f})" for m, v in order.items())
        + "."
    ]
    lines.append(
        f"The paper's ranking, {reference} > {rf} > {svm}, "
        f"**{'holds' if holds else 'does not hold'}** here."
    )
    significant = {}
    for model in (rf, svm, order.index[0]):
        if model == reference or model in significant:
            continue
        tests = mcnemar_tests[mcnemar_tests["model"] == model]
        hits = int((tests["p_value"] < alpha).sum())
        untested = int(tests["p_value"].isna().sum())
        significant[model] = hits
        diff = accuracy_differences.loc[model]
        interval = (
            ""
            if pd.isna(diff["ci_low"])
            else f", 95% interval [{diff['ci_low']:+.4f}, {diff['ci_high']:+.4f}]"
        )
        lines.append(
            f"{model} minus {reference}: {diff['mean_difference']:+.4f} accuracy"
            f"{interval}; McNemar p < {alpha} in {hits} of {len(tests)} seed(s)"
            + (f" ({untested} not tested: flows a model could not score)." if untested else ".")
        )
    return {
        "order": list(order.index),
        "paper_ranking_holds": holds,
        "significant_seeds": significant,
        "text": " ".join(lines),
    }


def table3(summary: dict[str, pd.DataFrame], claims: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 3 regenerated: our models' mean test accuracy with its interval
    (best first), then the paper's rows, quoted as the paper's.

    Parameters
    ----------
    summary : dict
        Model -> :func:`ids_utils.evaluation.summarise_over_seeds` of its metrics.
    claims : pandas.DataFrame
        :func:`ids_utils.paper.paper_claims`.
    """

    def interval(s):
        return f"[{s.loc['accuracy', 'ci_low']:.4f}, {s.loc['accuracy', 'ci_high']:.4f}]"

    ours = pd.DataFrame(
        {
            "source": "this build",
            "accuracy": [s.loc["accuracy", "mean"] for s in summary.values()],
            "95% CI": [interval(s) for s in summary.values()],
        },
        index=list(summary),
    ).sort_values("accuracy", ascending=False)
    paper = claims["paper"]
    quoted = pd.DataFrame(
        {
            "source": "paper, Table 3",
            "accuracy": [paper["random_forest_accuracy"], paper["svm_accuracy"], paper["accuracy"]],
            "95% CI": "not given",
        },
        index=["Random Forest (paper)", "SVM (paper)", "CNN-LSTM (paper)"],
    )
    literature = pd.DataFrame(
        {
            "source": "paper, Table 3 (NSL-KDD / CICIDS2017)",
            "accuracy": [
                f"{paper['literature_accuracy_low']} - {paper['literature_accuracy_high']}"
            ],
            "95% CI": "not given",
        },
        index=["published CNN-LSTMs"],
    )
    return pd.concat([ours, quoted, literature])
