"""The settings the paper does not give: a sweep of learning rate x batch size.

The paper names Adam and binary cross-entropy but gives neither a learning rate
nor a batch size.  Each CNN-LSTM is trained at every point of a grid, on
several seeds; the point with the best mean *validation* score is chosen, and
only that point is scored on the test part, once.  The test part plays no role
in the choice.
"""

from __future__ import annotations

import itertools

import pandas as pd

from .experiments import fit_cnn_lstm, score
from .models import CNN_LSTMS

#: The validation score that chooses a setting: the mean of the two classes'
#: recalls, which a model answering "benign" to everything cannot game at 90:10.
SELECTION_METRIC = "balanced_accuracy"


def grid(learning_rates: list[float], batch_sizes: list[int]) -> list[dict]:
    """Every (learning rate, batch size) pair, learning rate first."""
    if not learning_rates or not batch_sizes:
        raise ValueError("the sweep needs at least one learning rate and one batch size")
    return [
        {"learning_rate": float(lr), "batch_size": int(bs)}
        for lr, bs in itertools.product(learning_rates, batch_sizes)
    ]


def validate(
    parts: dict[str, pd.DataFrame],
    features: list[str],
    seed: int,
    settings: dict,
    lstm_activation: str,
    unscaled=(),
) -> dict:
    """Train on ``parts["train"]`` with ``settings`` and score the validation part only.

    A worker job (:func:`ids_utils.workers.run_jobs`); ``parts["test"]`` is not read.

    Returns
    -------
    dict
        :func:`~ids_utils.experiments.score` of the validation part, ``diverged`` and
        ``epochs_run``.
    """
    _, _, probability, check = fit_cnn_lstm(
        parts, features, seed, settings, lstm_activation=lstm_activation, unscaled=unscaled
    )
    return {
        **score(parts["val"]["attack"].to_numpy(), probability, settings["threshold"]),
        "diverged": check["diverged"],
        "epochs_run": check["epochs_run"],
    }


def sweep_jobs(
    parts_by_seed: dict[int, dict],
    features: list[str],
    settings: dict,
    points: list[dict],
    unscaled=(),
) -> tuple[list[dict], list[dict]]:
    """The validation jobs of a sweep: every model x grid point x seed.

    Returns
    -------
    keys : list of dict
        ``model``, ``learning_rate``, ``batch_size``, ``seed`` of each job.
    jobs : list of dict
        Keyword arguments of :func:`validate`, in the same order.
    """
    keys, jobs = [], []
    for model, activation in CNN_LSTMS.items():
        for point in points:
            for seed, parts in parts_by_seed.items():
                keys.append({"model": model, **point, "seed": seed})
                # The test part stays behind: the sweep never sees it.
                jobs.append(
                    {
                        "parts": {"train": parts["train"], "val": parts["val"]},
                        "features": features,
                        "seed": seed,
                        "settings": {**settings, **point},
                        "lstm_activation": activation,
                        "unscaled": unscaled,
                    }
                )
    return keys, jobs


def choose(validation: pd.DataFrame, metric: str = SELECTION_METRIC) -> pd.DataFrame:
    """The grid point with the best mean validation score, per model.

    Ties go to the earlier point of the grid (its order is the caller's).

    Parameters
    ----------
    validation : pandas.DataFrame
        One row per model, grid point and seed: ``model``, ``learning_rate``,
        ``batch_size``, ``seed``, the metric and ``diverged``.

    Returns
    -------
    pandas.DataFrame
        Indexed by model: ``learning_rate``, ``batch_size``, the mean
        validation metric and the share of its seeds that diverged.
    """
    means = (
        validation.groupby(["model", "learning_rate", "batch_size"], sort=False)
        .agg(**{metric: (metric, "mean"), "diverged_share": ("diverged", "mean")})
        .reset_index()
    )
    best = means.loc[means.groupby("model", sort=False)[metric].idxmax()]
    return best.set_index("model")


def test_jobs(
    parts_by_seed: dict[int, dict],
    features: list[str],
    settings: dict,
    chosen: pd.DataFrame,
    unscaled=(),
) -> tuple[list[dict], list[dict]]:
    """The test jobs: each model retrained at its chosen point on every seed (the same
    seed gives the same weights as in the sweep) and scored once on the test part.

    Keyword arguments of :func:`ids_utils.experiments.train_and_test`, with their keys.
    """
    keys, jobs = [], []
    for model, point in chosen_settings(chosen).items():
        for seed, parts in parts_by_seed.items():
            keys.append({"model": model, **point, "seed": seed})
            jobs.append(
                {
                    "parts": parts,
                    "features": features,
                    "seed": seed,
                    "settings": {**settings, **point},
                    "lstm_activation": CNN_LSTMS[model],
                    "unscaled": unscaled,
                }
            )
    return keys, jobs


def chosen_settings(chosen: pd.DataFrame) -> dict[str, dict]:
    """Each model's chosen point as training settings: model -> ``learning_rate``,
    ``batch_size``, the form :func:`~ids_utils.experiments.cross_dataset_jobs` and
    :func:`~ids_utils.curves.learning_curve` take as ``per_model``."""
    return {
        model: {"learning_rate": float(row["learning_rate"]), "batch_size": int(row["batch_size"])}
        for model, row in chosen.iterrows()
    }


def learning_rate_jobs(
    splits: dict[int, tuple],
    settings: dict,
    learning_rates: list[float],
    fraction: float,
) -> tuple[list[dict], list[dict]]:
    """The validation jobs that choose each CNN-LSTM's learning rate: every model x rate x
    seed, trained on a stratified ``fraction`` of the seed's training part
    (:func:`ids_utils.curves.subsample_training`) at the profile's batch size, scored on
    the whole validation part.

    A smaller sweep than :func:`sweep_jobs` over the full grid, for data whose full-size
    trainings are too long to repeat per grid point (NSL-KDD's 122-step sequences).

    Parameters
    ----------
    splits : dict
        Seed -> ``(parts, features, indicators)``, each seed with its own encoding
        (:func:`ids_utils.experiments.nsl_kdd_paper_split`).
    settings : dict
        Training settings of a profile.
    learning_rates : list of float
        The candidates.
    fraction : float
        The share of each training part the candidates train on.

    Returns
    -------
    keys, jobs : list of dict
        As :func:`sweep_jobs`; each key also holds ``train_flows``, the size of the
        subsample the job trains on.
    """
    from .curves import subsample_training

    points = grid(learning_rates, [settings["batch_size"]])
    keys, jobs = [], []
    for seed, (parts, features, indicators) in splits.items():
        sub = subsample_training(parts, fraction, seed)
        seed_keys, seed_jobs = sweep_jobs({seed: sub}, features, settings, points, indicators)
        keys += [{**key, "train_flows": len(sub["train"])} for key in seed_keys]
        jobs += seed_jobs
    return keys, jobs


def choose_learning_rates(
    protocols: dict,
    settings: dict,
    learning_rates: list[float],
    fraction: float,
    n_workers: int,
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Each CNN-LSTM's learning rate, chosen on the validation part of the paper's protocol
    (:func:`learning_rate_jobs` on every seed of ``protocols``, trained in worker processes).

    Parameters
    ----------
    protocols : dict
        As :func:`ids_utils.experiments.cross_dataset_protocols` gives it; only its
        paper-protocol entries are read, and of those only the training and validation parts.
    settings : dict
        Training settings of a profile.
    learning_rates : list of float
        The candidates.
    fraction : float
        The share of each training part the candidates train on.
    n_workers : int
        Worker processes (:func:`ids_utils.workers.run_jobs`).

    Returns
    -------
    validation : pandas.DataFrame
        One row per model, candidate and seed: the job's key (with ``train_flows``) and
        its validation scores.
    per_model : dict
        :func:`chosen_settings` of the best mean validation score per model.
    """
    from .experiments import PAPER_PROTOCOL
    from .workers import run_jobs

    splits = {
        seed: (parts, features, indicators)
        for (name, seed), (parts, _, features, indicators) in protocols.items()
        if name == PAPER_PROTOCOL
    }
    keys, jobs = learning_rate_jobs(splits, settings, learning_rates, fraction)
    validation = results_frame(keys, run_jobs(validate, jobs, n_workers, desc="learning rates"))
    return validation, chosen_settings(choose(validation))


def results_frame(keys: list[dict], results: list[dict], part: str | None = None) -> pd.DataFrame:
    """Join job keys with their results (of one named test set when ``part`` is given)."""
    if len(keys) != len(results):
        raise ValueError(f"{len(keys)} jobs but {len(results)} results")
    return pd.DataFrame(
        [{**key, **(result[part] if part else result)} for key, result in zip(keys, results)]
    )


def grid_table(validation: pd.DataFrame, metric: str = SELECTION_METRIC) -> pd.DataFrame:
    """Mean validation metric per model over the grid: learning rate x batch size."""
    return validation.pivot_table(
        index=["model", "learning_rate"],
        columns="batch_size",
        values=metric,
        aggfunc="mean",
        sort=False,
    )


def reaches(test: pd.DataFrame, paper: dict[str, float]) -> pd.DataFrame:
    """Per model and metric: our best seed, our mean, the paper's value, and whether any
    seed reaches it (higher is better, except the false positive rate)."""
    rows = []
    for model, part in test.groupby("model", sort=False):
        for metric, value in paper.items():
            lower_is_better = metric == "false_positive_rate"
            best = part[metric].min() if lower_is_better else part[metric].max()
            rows.append(
                {
                    "model": model,
                    "metric": metric,
                    "mean": part[metric].mean(),
                    "best seed": best,
                    "paper": value,
                    "reached": bool(best <= value if lower_is_better else best >= value),
                }
            )
    return pd.DataFrame(rows).set_index(["model", "metric"])


def paper_balanced_accuracy() -> float:
    """The balanced accuracy the paper's Table 1 implies: the mean of its recall and of one
    minus its false positive rate."""
    from .paper import paper_value

    return (paper_value("recall") + 1 - paper_value("false_positive_rate")) / 2


def settings_and_scale_answer(
    chosen: pd.DataFrame,
    reached: pd.DataFrame,
    cic_curve: pd.DataFrame,
    kdd_curve: pd.DataFrame,
    extrapolations: pd.DataFrame,
) -> str:
    """The settings-and-scale chapter's answer in words, from its results (no typed numbers)."""
    sentences = []
    for model, row in chosen.iterrows():
        hits = reached.loc[model]
        got = hits.index[hits["reached"]].tolist()
        sentences.append(
            f"{model}: the sweep chooses learning rate {row['learning_rate']:g} and batch size "
            f"{row['batch_size']:.0f} (validation {SELECTION_METRIC.replace('_', ' ')} "
            f"{row[SELECTION_METRIC]:.4f}, {row['diverged_share']:.0%} of its sweep runs "
            f"diverged); tested once, its best seed reaches the paper's value on "
            + (
                ", ".join(name.replace("_", " ") for name in got)
                if got
                else "none of " + ", ".join(name.replace("_", " ") for name in hits.index)
            )
            + "."
        )
    target = paper_balanced_accuracy()
    for name, curve in (("CICIoT2023", cic_curve), ("NSL-KDD", kdd_curve)):
        means = curve.groupby(["model", "train_flows"], sort=False)["balanced_accuracy"].mean()
        parts = []
        for model in curve["model"].unique():
            series = means.loc[model].sort_index()
            parts.append(
                f"{model} {_score(series.iloc[0])} at {series.index[0]:,} flows to "
                f"{_score(series.iloc[-1])} at {series.index[-1]:,}"
            )
        sentences.append(
            f"On {name}, test balanced accuracy goes from "
            + "; ".join(parts)
            + f" (the paper's Table 1 implies {target:.4f})."
        )
    for row in extrapolations.itertuples():
        # A frame holds a missing reason as NaN, which is truthy: only a text declines.
        if isinstance(row.declined, str) and row.declined:
            sentences.append(
                f"Extrapolating {row.model} on {row.data} to "
                f"{row.target_flows:,.0f} training flows is declined: "
                f"{row.declined}."
            )
        else:
            sentences.append(
                f"{row.model} on {row.data}, extrapolated {row.fold:.0f}-fold to "
                f"{row.target_flows:,.0f} training flows: balanced accuracy "
                f"{row.prediction:.4f} (interval {row.low:.4f} to {row.high:.4f})."
            )
    return " ".join(sentences)


def _score(value: float) -> str:
    """A balanced accuracy for the answer; a point whose model could not score is said so."""
    return "unscored (outputs not finite)" if pd.isna(value) else f"{value:.4f}"
