"""Metrics of Table 1 and Table 2, their spread over seeds, and the paper's arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score

from .paper import TABLE1_METRICS


#: Confidence level of every interval in the book.
CONFIDENCE = 0.95


def metrics_from_confusion(tn: int, fp: int, fn: int, tp: int) -> dict[str, float]:
    """Accuracy, precision, recall, F1, false positive and detection rates from the four cells.

    A ratio whose denominator is zero is 0 (scikit-learn's ``zero_division=0``):
    a model that flags nothing has precision 0, not an undefined value that a
    mean over seeds would silently skip.
    """
    total = tn + fp + fn + tp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    if total == 0:
        raise ValueError("the confusion matrix is empty")
    return {
        "accuracy": (tp + tn) / total,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
        "detection_rate": recall,
    }


def binary_metrics(y_true, probability, threshold: float = 0.5) -> dict[str, float]:
    """Every Table 1 metric and the Table 2 cells, at a decision threshold.

    Parameters
    ----------
    y_true : array-like of {0, 1}
        1 for an attack.
    probability : array-like of float
        The model's attack probability per flow.
    threshold : float, default 0.5
        A flow is called an attack when its probability is at least this (the
        paper's rule, Section 3.3).

    Returns
    -------
    dict
        The metrics of :data:`ids_utils.paper.TABLE1_METRICS`, then ``tn``,
        ``fp``, ``fn``, ``tp`` and ``n``.
    """
    y_true = np.asarray(y_true).astype(int).ravel()
    probability = np.asarray(probability, dtype="float64").ravel()
    if y_true.shape != probability.shape:
        raise ValueError(f"y_true has {y_true.size} values but probability {probability.size}")
    if not set(np.unique(y_true)) <= {0, 1}:
        raise ValueError("y_true must hold only 0 and 1")
    if not np.isfinite(probability).all():
        raise ValueError("probability holds NaN or infinite values")
    predicted = (probability >= threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y_true, predicted, labels=[0, 1]).ravel())
    both_classes = len(np.unique(y_true)) == 2
    result = metrics_from_confusion(tn, fp, fn, tp)
    result["roc_auc"] = roc_auc_score(y_true, probability) if both_classes else float("nan")
    result["average_precision"] = (
        average_precision_score(y_true, probability) if both_classes else float("nan")
    )
    ordered = {name: float(result[name]) for name in TABLE1_METRICS}
    return {**ordered, "tn": tn, "fp": fp, "fn": fn, "tp": tp, "n": int(y_true.size)}


def scored_metrics(y_true, probability, threshold: float = 0.5) -> dict[str, float]:
    """:func:`binary_metrics` plus ``non_finite``, the flows the model gave no finite
    probability.

    A model that cannot score every flow (a diverged network's NaN or infinite
    output) has no metrics: every metric and Table 2 cell is NaN, so none of
    those flows is ever counted as benign, and ``n`` and ``non_finite`` say why.
    """
    probability = np.asarray(probability, dtype="float64")
    non_finite = int((~np.isfinite(probability)).sum())
    if non_finite:
        unscored = (*TABLE1_METRICS, "tn", "fp", "fn", "tp")
        return {
            **dict.fromkeys(unscored, float("nan")),
            "n": int(np.asarray(y_true).size),
            "non_finite": non_finite,
        }
    return {**binary_metrics(y_true, probability, threshold), "non_finite": 0}


def summarise_over_seeds(
    per_seed: pd.DataFrame,
    confidence: float = CONFIDENCE,
    bounds: tuple[float, float] | None = (0.0, 1.0),
) -> pd.DataFrame:
    """Mean, standard deviation and a t-based confidence interval of each column.

    Parameters
    ----------
    per_seed : pandas.DataFrame
        One row per seed, one column per metric.
    confidence : float, default :data:`CONFIDENCE`
    bounds : (float, float) or None, default (0, 1)
        The range the metrics live in; the interval is clipped to it (a t
        interval of a rate near 1 can otherwise pass 1).  None: no clipping.

    Returns
    -------
    pandas.DataFrame
        Index: the metrics; columns ``mean``, ``std``, ``ci_low``, ``ci_high``,
        ``n_seeds``.  With a single seed the spread is unknown (NaN).
    """
    n = len(per_seed)
    if n == 0:
        raise ValueError("no seeds to summarise")
    # A seed without a value (a model that could not score its test set) is not skipped:
    # the summary is then NaN, never a mean over the other seeds that hides it.
    mean = per_seed.mean(skipna=False)
    std = per_seed.std(ddof=1, skipna=False) if n > 1 else mean * np.nan
    half = (
        stats.t.ppf(0.5 + confidence / 2, df=n - 1) * std / np.sqrt(n) if n > 1 else mean * np.nan
    )
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = low.clip(lower=bounds[0]), high.clip(upper=bounds[1])
    return pd.DataFrame({"mean": mean, "std": std, "ci_low": low, "ci_high": high, "n_seeds": n})


def predictions_frame(
    seed: int, test: pd.DataFrame, probability: np.ndarray, threshold: float
) -> pd.DataFrame:
    """Per test flow: seed, source, probability, prediction, label and family.

    ``prediction`` is pandas' nullable ``Int8``: a flow whose probability is
    NaN or infinite could not be scored, and its prediction is missing (``<NA>``),
    never 0 (benign); every consumer counts such flows as unscored.

    Raises
    ------
    ValueError
        If there are not as many probabilities as test flows.
    """
    probability = np.asarray(probability, dtype="float64")
    if probability.shape != (len(test),):
        raise ValueError(
            f"seed {seed}: {probability.size} probabilities for {len(test)} test flows"
        )
    scored = np.isfinite(probability)
    prediction = pd.array(np.where(scored, probability >= threshold, 0), dtype="Int8")
    prediction[~scored] = pd.NA
    return pd.DataFrame(
        {
            "seed": np.full(len(test), seed, dtype="int64"),
            "source_file": test["source_file"].to_numpy(),
            "source_line": test["source_line"].to_numpy(),
            "probability": probability,
            "prediction": prediction,
            "attack": test["attack"].to_numpy(dtype="int8"),
            "family": test["family"].to_numpy(),
        }
    )


#: The code of a flow the model could not score, in :func:`prediction_codes`.
UNSCORED = -1


def prediction_codes(predictions: pd.DataFrame) -> np.ndarray:
    """Each flow's prediction as an integer: 0 benign, 1 attack, :data:`UNSCORED` (-1) when
    the model gave no finite probability (a missing prediction of :func:`predictions_frame`)."""
    return predictions["prediction"].fillna(UNSCORED).to_numpy("int64")


def confusion_table(cells: dict) -> pd.DataFrame:
    """Table 2's layout from the four cells (``tn``, ``fp``, ``fn``, ``tp``): rows actual,
    columns predicted."""
    return pd.DataFrame(
        [[cells["tn"], cells["fp"]], [cells["fn"], cells["tp"]]],
        index=["benign", "attack"],
        columns=["benign", "attack"],
    )


def metrics_report(
    predictions: pd.DataFrame, threshold: float, diverged: dict[str, dict[str, bool]]
) -> dict:
    """Per model: Table 1 metrics and Table 2 cells per seed (each with its ``diverged``
    mark), their summary over seeds, and the seeds that diverged.

    Parameters
    ----------
    predictions : pandas.DataFrame
        :func:`predictions_frame` rows of every model, with a ``model`` column.
    threshold : float
    diverged : dict
        Model -> seed (as a string) -> whether that training run diverged
        (``training.json``).

    Returns
    -------
    dict
        ``{model: {"per_seed", "aggregate", "diverged_seeds"}}``; the aggregate
        is over every seed, diverged ones included, and says how many diverged.
    """
    report = {}
    for model, part in predictions.groupby("model", sort=False):
        per_seed = metrics_by_seed(part, threshold)
        marks = {str(seed): bool(diverged[model][str(seed)]) for seed in per_seed.index}
        report[model] = {
            "per_seed": {
                str(seed): {**row, "diverged": marks[str(seed)]}
                for seed, row in per_seed.to_dict(orient="index").items()
            },
            "aggregate": summarise_over_seeds(per_seed[list(TABLE1_METRICS)]).to_dict(
                orient="index"
            ),
            "diverged_seeds": [int(seed) for seed, mark in marks.items() if mark],
        }
    return report


def metrics_by_seed(predictions: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Table 1 metrics and Table 2 cells per seed, recomputed from a predictions frame."""
    rows = {
        seed: scored_metrics(part["attack"], part["probability"], threshold)
        for seed, part in predictions.groupby("seed")
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("seed")


def result_properties(per_seed: pd.DataFrame) -> dict[str, bool]:
    """Properties of one model's per-seed results that any working training gives.

    nbval checks these where exact values would vary with another CPU's
    arithmetic: each compares the model with a constant predictor (ROC-AUC
    0.5, recall 0), so a collapsed or unscored model fails them.

    Parameters
    ----------
    per_seed : pandas.DataFrame
        One row per seed with ``roc_auc`` and ``recall``; the Table 2 cells
        (``tn``, ``fp``, ``fn``, ``tp``, ``n``) and ``diverged`` when present (a
        missing mark, as a baseline's, is no mark).

    Returns
    -------
    dict
        Property -> whether it holds on every seed (NaN metrics fail).
    """
    if per_seed.empty:
        raise ValueError("no per-seed results to check")
    properties = {
        "ROC-AUC above a constant predictor's 0.5": bool((per_seed["roc_auc"] > 0.5).all()),
        "recall above a constant 'benign' predictor's 0": bool((per_seed["recall"] > 0).all()),
    }
    if {"tn", "fp", "fn", "tp", "n"} <= set(per_seed.columns):
        cells = per_seed[["tn", "fp", "fn", "tp"]].sum(axis=1, min_count=4)
        properties["Table 2 cells add up to the test flows"] = bool((cells == per_seed["n"]).all())
    # A model that is not a trained network (a baseline) has no divergence mark.
    marks = per_seed["diverged"].dropna() if "diverged" in per_seed.columns else []
    if len(marks):
        properties["no diverged seed"] = not bool(marks.astype(bool).any())
    return properties
