"""Learning curves: test metrics against the number of training flows.

A curve point trains on a stratified subsample of a seed's training part (the
validation and test parts stay whole), so points differ only in how much the
model saw.  The fraction 1.0 is the whole training part.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import train_test_split

from .evaluation import CONFIDENCE

#: The metrics a curve reports.
CURVE_METRICS = ("balanced_accuracy", "recall", "false_positive_rate", "roc_auc")


def subsample_training(
    parts: dict[str, pd.DataFrame], fraction: float, seed: int
) -> dict[str, pd.DataFrame]:
    """The parts with ``train`` replaced by a stratified subsample of ``fraction`` of it.

    Raises
    ------
    ValueError
        If the fraction is not in (0, 1] or leaves a class without a flow.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return dict(parts)
    train = parts["train"]
    n = int(round(fraction * len(train)))
    counts = train["attack"].value_counts()
    if n < len(counts) or (counts * fraction).round().min() < 1:
        raise ValueError(
            f"a fraction of {fraction} of {len(train):,} training flows leaves a "
            f"class without a flow"
        )
    kept, _ = train_test_split(train, train_size=n, stratify=train["attack"], random_state=seed)
    return {**parts, "train": kept.sort_index().reset_index(drop=True)}


def extrapolate(
    curve: pd.DataFrame, metric: str, target_flows: float, confidence: float = CONFIDENCE
) -> dict:
    """Predict a metric at ``target_flows`` from a power law in its error, or decline.

    The error ``1 - metric`` (the metric itself for the false positive rate) is
    fitted as ``a * flows ** b`` by least squares on log-log axes over every
    curve point (all seeds); the prediction carries the regression's
    prediction interval at ``confidence``.  Declined (``None`` prediction,
    with the reason) when fewer than three distinct sizes exist, an error is
    zero, or the fit does not decrease with data.

    Parameters
    ----------
    curve : pandas.DataFrame
        ``train_flows`` and the metric, one row per size and seed.

    Returns
    -------
    dict
        ``method``, ``prediction``, ``low``, ``high``, ``slope``, ``largest_flows``,
        ``fold`` (target over the largest size seen) and ``declined`` (a reason or
        None).
    """
    lower_is_better = metric == "false_positive_rate"
    error = curve[metric].to_numpy(float) if lower_is_better else 1 - curve[metric].to_numpy(float)
    flows = curve["train_flows"].to_numpy(float)
    result = {
        "method": "power law in the error, least squares on log-log axes",
        "metric": metric,
        "target_flows": float(target_flows),
        "largest_flows": float(flows.max()),
        "fold": float(target_flows / flows.max()),
        "prediction": None,
        "low": None,
        "high": None,
        "slope": None,
        "declined": None,
    }
    if len(np.unique(flows)) < 3:
        result["declined"] = "fewer than three training sizes"
        return result
    if (error <= 0).any() or not np.isfinite(error).all():
        result["declined"] = "an error of zero cannot be fitted on a log scale"
        return result
    x, y = np.log(flows), np.log(error)
    fit = stats.linregress(x, y)
    result["slope"] = float(fit.slope)
    if fit.slope >= 0:
        result["declined"] = "the error does not fall with more data"
        return result
    n = len(x)
    residual = np.sqrt(np.sum((y - (fit.intercept + fit.slope * x)) ** 2) / (n - 2))
    x0 = np.log(target_flows)
    half = (
        stats.t.ppf(0.5 + confidence / 2, n - 2)
        * residual
        * np.sqrt(1 + 1 / n + (x0 - x.mean()) ** 2 / np.sum((x - x.mean()) ** 2))
    )
    centre = fit.intercept + fit.slope * x0
    to_metric = (lambda e: e) if lower_is_better else (lambda e: 1 - e)
    # A rate lives in [0, 1]: the interval is clipped to it.
    bounds = sorted(
        float(np.clip(to_metric(np.exp(centre + side * half)), 0, 1)) for side in (-1, 1)
    )
    result.update(prediction=to_metric(float(np.exp(centre))), low=bounds[0], high=bounds[1])
    return result


def curve_jobs(
    parts_by_seed: dict[int, dict],
    features: list[str],
    settings: dict,
    fractions: list[float],
    unscaled=(),
    skip: set | None = None,
    per_model: dict[str, dict] | None = None,
) -> tuple[list[dict], list[dict]]:
    """The training jobs of a learning curve: each fraction x seed x CNN-LSTM.

    Parameters
    ----------
    skip : set of (fraction, seed), optional
        Points already measured elsewhere (e.g. the full training part).
    per_model : dict, optional
        Model name -> settings that replace the profile's for that model (a setting
        chosen on validation, :func:`ids_utils.tuning.chosen_settings`).

    Returns
    -------
    keys : list of dict
        ``model``, ``fraction``, ``seed``, ``train_flows`` of each job.
    jobs : list of dict
        Keyword arguments of :func:`ids_utils.experiments.train_and_test`.
    """
    from .models import CNN_LSTMS, settings_for

    keys, jobs = [], []
    for fraction in fractions:
        for seed, parts in parts_by_seed.items():
            if skip and (fraction, seed) in skip:
                continue
            sub = subsample_training(parts, fraction, seed)
            for model, activation in CNN_LSTMS.items():
                keys.append(
                    {
                        "model": model,
                        "fraction": fraction,
                        "seed": seed,
                        "train_flows": len(sub["train"]),
                    }
                )
                jobs.append(
                    {
                        "parts": sub,
                        "features": features,
                        "seed": seed,
                        "settings": settings_for(model, settings, per_model),
                        "lstm_activation": activation,
                        "unscaled": unscaled,
                    }
                )
    return keys, jobs


def baseline_curve(
    parts_by_seed: dict[int, dict],
    features: list[str],
    threshold: float,
    fractions: list[float],
    unscaled=(),
    skip: set | None = None,
) -> pd.DataFrame:
    """The best baseline (chosen on validation at each point) along the same curve."""
    from .experiments import best_baseline

    rows = []
    for fraction in fractions:
        for seed, parts in parts_by_seed.items():
            if skip and (fraction, seed) in skip:
                continue
            sub = subsample_training(parts, fraction, seed)
            chosen, results, _ = best_baseline(
                sub, features, seed, threshold, {"test": sub["test"]}, unscaled=unscaled
            )
            rows.append(
                {
                    "model": "best baseline",
                    "chosen": chosen,
                    "fraction": fraction,
                    "seed": seed,
                    "train_flows": len(sub["train"]),
                    **results["test"],
                }
            )
    return pd.DataFrame(rows)


def points_from_cross_dataset(
    cross: dict, seeds: list[int], train_flows: dict[int, int]
) -> pd.DataFrame:
    """The full-size curve points the cross-dataset chapter measured (its paper protocol),
    for the seeds it ran; rows as :func:`curve_jobs` keys plus the scores.

    The same split, scaler, seed and settings as a curve point at fraction 1, so
    the same numbers: reused instead of trained again.
    """
    rows = [
        {
            **{k: v for k, v in row.items() if k != "test set"},
            "fraction": 1.0,
            "train_flows": train_flows[row["seed"]],
        }
        for row in cross["per_seed"]
        if row["test set"] == cross["paper_protocol"] and row["seed"] in seeds
    ]
    return pd.DataFrame(rows)


def learning_curve(
    parts_by_seed: dict[int, dict],
    features: list[str],
    settings: dict,
    fractions: list[float],
    n_workers: int,
    unscaled=(),
    measured: pd.DataFrame | None = None,
    desc: str = "curve",
    per_model: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """Both CNN-LSTMs and the best baseline at each training fraction and seed, scored
    on the test parts.

    Parameters
    ----------
    parts_by_seed : dict
        Seed -> ``train``, ``val``, ``test`` parts.
    settings : dict
        Training settings of a profile (``threshold`` among them).
    n_workers : int
        Worker processes for the CNN-LSTMs (:func:`ids_utils.workers.run_jobs`).
    unscaled : iterable of str
        Indicator features the scaler leaves alone.
    measured : pandas.DataFrame, optional
        Full-size points measured elsewhere (:func:`points_from_cross_dataset`):
        kept as they are and not trained again.
    desc : str
        Label of the progress bar.
    per_model : dict, optional
        Model name -> settings that replace the profile's for that CNN-LSTM
        (:func:`curve_jobs`); the measured points must have been trained with them.

    Returns
    -------
    pandas.DataFrame
        One row per model, fraction and seed: ``train_flows`` and the scores.
    """
    from .experiments import train_and_test
    from .tuning import results_frame
    from .workers import run_jobs

    measured = pd.DataFrame() if measured is None else measured
    skip = {(1.0, seed) for seed in measured["seed"].unique()} if len(measured) else set()
    keys, jobs = curve_jobs(parts_by_seed, features, settings, fractions, unscaled, skip, per_model)
    trained = results_frame(keys, run_jobs(train_and_test, jobs, n_workers, desc=desc), "test")
    baseline = baseline_curve(
        parts_by_seed, features, settings["threshold"], fractions, unscaled, skip
    )
    return pd.concat([trained, baseline, measured], ignore_index=True)


def nsl_kdd_curve(
    train_file: pd.DataFrame,
    cross: dict,
    settings: dict,
    sample: dict,
    seeds: list[int],
    fractions: list[float],
    n_workers: int,
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """The learning curve on NSL-KDD under the paper's protocol, continuing the
    cross-dataset chapter: its full-size points are reused (:func:`points_from_cross_dataset`)
    and every other point trains each CNN-LSTM at the learning rate that chapter chose,
    both read from the same report, so the two cannot disagree.

    Parameters
    ----------
    train_file : pandas.DataFrame
        ``KDDTrain+`` as :func:`ids_utils.datasets.read_nsl_kdd` reads it.
    cross : dict
        The cross-dataset chapter's ``cross_dataset.json``.
    settings : dict
        Training settings of a profile (``test_fraction`` and ``val_fraction`` among them).
    sample : dict
        ``n_flows``, ``benign_fraction`` and ``sample_seed`` of the profile.
    seeds, fractions : list
        The curve's seeds and training fractions.
    n_workers : int
        Worker processes for the CNN-LSTMs.

    Returns
    -------
    curve : pandas.DataFrame
        As :func:`learning_curve`.
    per_model : dict
        The settings each CNN-LSTM trained at.
    """
    from .experiments import nsl_kdd_paper_split

    splits = {
        seed: nsl_kdd_paper_split(
            train_file,
            sample["n_flows"],
            sample["benign_fraction"],
            sample["sample_seed"],
            seed,
            settings["test_fraction"],
            settings["val_fraction"],
        )
        for seed in seeds
    }
    parts = {seed: split[0] for seed, split in splits.items()}
    _, features, indicators = splits[seeds[0]]
    per_model = cross["learning_rate_choice"]["chosen"]
    reused = points_from_cross_dataset(cross, seeds, {s: len(p["train"]) for s, p in parts.items()})
    curve = learning_curve(
        parts,
        features,
        settings,
        fractions,
        n_workers,
        indicators,
        measured=reused,
        desc="NSL-KDD curve",
        per_model=per_model,
    )
    return curve, per_model
