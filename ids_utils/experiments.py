"""Repeated train-and-test experiments for the "Beyond the paper" chapters.

Every experiment follows the replication's protocol: a stratified split per
seed, a scaler fitted on the training part only, the model trained watching
only the validation part, and the test part scored once.  What varies is the
data (features removed, duplicates removed, another class ratio, another
dataset) or the model (:data:`ids_utils.models.VARIANTS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score

from .baselines import paired_differences
from .diagnostics import divergence_check
from .evaluation import CONFIDENCE, scored_metrics, summarise_over_seeds
from .preprocess import fit_scaler, scale, split_train_val, split_train_val_test
from .training import train_cnn_lstm

#: Metrics the Beyond-the-paper chapters report, in order.
METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "false_positive_rate",
)


def score(y_true: np.ndarray, probability: np.ndarray, threshold: float) -> dict:
    """:func:`~ids_utils.evaluation.scored_metrics` plus balanced accuracy (the mean of
    the two classes' recalls; NaN, like every metric, for a model that cannot score
    every flow)."""
    result = scored_metrics(y_true, probability, threshold)
    result["balanced_accuracy"] = (
        float("nan")
        if result["non_finite"]
        else float(balanced_accuracy_score(y_true, (np.asarray(probability) >= threshold)))
    )
    return result


def train_and_test(
    parts: dict[str, pd.DataFrame],
    features: list[str],
    seed: int,
    settings: dict,
    variant: str = "CNN-LSTM",
    tests: dict[str, pd.DataFrame] | None = None,
    return_probabilities: bool = False,
    lstm_activation: str = "relu",
    unscaled=(),
):
    """Fit the scaler and a model on ``parts["train"]``; score the test set(s) once.

    Parameters
    ----------
    parts : dict of pandas.DataFrame
        ``train``, ``val`` and ``test`` parts with the feature columns and ``attack``.
    features : list of str
        The columns the model sees, in this order.
    seed : int
        Seeds the model's initial weights, dropout and batch order.
    settings : dict
        ``epochs``, ``batch_size``, ``learning_rate`` and ``threshold`` (a profile).
    variant : str, default "CNN-LSTM"
        One of :data:`ids_utils.models.VARIANTS`.
    tests : dict of pandas.DataFrame, optional
        Named test sets; ``{"test": parts["test"]}`` by default.
    return_probabilities : bool, default False
        Also return each test flow's attack probability.
    lstm_activation : {"relu", "tanh"}, default "relu"
        The CNN-LSTM as written, or stabilised (:data:`ids_utils.models.CNN_LSTMS`).
    unscaled : iterable of str, default ()
        Features the scaler leaves as they are (0/1 indicators).

    Returns
    -------
    dict
        Test-set name -> :func:`score` of that set (with ``n``, its flows,
        ``diverged``, the run's :func:`~ids_utils.diagnostics.divergence_check`, and
        ``epochs_run``, fewer than the settings' epochs for a run stopped diverged).
    dict, only with ``return_probabilities``
        Test-set name -> probabilities, in the test set's row order.
    """
    model, scaler, _, check = fit_cnn_lstm(
        parts, features, seed, settings, variant, lstm_activation, unscaled
    )
    tests = {"test": parts["test"]} if tests is None else tests
    probabilities = {name: _predict(model, scale(test, scaler)) for name, test in tests.items()}
    results = {
        name: score(test["attack"].to_numpy(), probabilities[name], settings["threshold"])
        for name, test in tests.items()
    }
    # A model that cannot score every test flow diverged, whatever its validation said.
    diverged = check["diverged"] or any(r["non_finite"] for r in results.values())
    results = {
        name: {**r, "diverged": diverged, "epochs_run": check["epochs_run"]}
        for name, r in results.items()
    }
    return (results, probabilities) if return_probabilities else results


def fit_cnn_lstm(
    parts: dict[str, pd.DataFrame],
    features: list[str],
    seed: int,
    settings: dict,
    variant: str = "CNN-LSTM",
    lstm_activation: str = "relu",
    unscaled=(),
):
    """Fit the scaler and a model on ``parts["train"]``, watching ``parts["val"]`` only,
    and check the run for divergence.  ``parts["test"]`` is not read.

    Training stops after the first epoch whose loss marks the run diverged
    (``stop_on_divergence`` of :func:`~ids_utils.training.train_cnn_lstm`): these
    chapters train many models, and a diverged run's later epochs change no verdict.

    Arguments as :func:`train_and_test`.

    Returns
    -------
    model : keras.Model
    scaler : dict
    val_probability : numpy.ndarray
        Each validation flow's attack probability.
    check : dict
        The run's :func:`~ids_utils.diagnostics.divergence_check`, and ``epochs_run``.
    """
    scaler = fit_scaler(parts["train"], features, unscaled)
    x_val = scale(parts["val"], scaler)
    model, history = train_cnn_lstm(
        scale(parts["train"], scaler),
        parts["train"]["attack"].to_numpy(),
        x_val,
        parts["val"]["attack"].to_numpy(),
        seed=seed,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"],
        verbose=0,
        variant=variant,
        lstm_activation=lstm_activation,
        stop_on_divergence=True,
    )
    val_probability = _predict(model, x_val)
    check = divergence_check(history["loss"], val_probability, settings["threshold"])
    return model, scaler, val_probability, {**check, "epochs_run": len(history)}


def _predict(model, x: np.ndarray) -> np.ndarray:
    return model.predict(x, batch_size=4096, verbose=0).ravel()


def split(flows: pd.DataFrame, seed: int, settings: dict) -> dict[str, pd.DataFrame]:
    """The replication's stratified split of ``flows`` for one seed (profile fractions)."""
    return split_train_val_test(flows, settings["test_fraction"], settings["val_fraction"], seed)


def summarise(per_seed: pd.DataFrame, by: str) -> dict:
    """Mean and interval over seeds of each metric, per value of ``by``.

    Returns
    -------
    dict
        ``{group: {metric: {"mean", "std", "ci_low", "ci_high", "n_seeds"}}}``.
    """
    return {
        str(group): summarise_over_seeds(part[list(METRICS)]).to_dict(orient="index")
        for group, part in per_seed.groupby(by, sort=False)
    }


def advantage(
    per_seed: pd.DataFrame, reference: str, metric: str, by: str = "model"
) -> pd.DataFrame:
    """How much the reference beats each other model, seed by seed (reference minus other).

    Returns
    -------
    pandas.DataFrame
        Per other model: ``mean``, ``ci_low``, ``ci_high`` (the paired t-interval,
        :data:`~ids_utils.evaluation.CONFIDENCE`) and ``p_value``; NaN with one seed.
    """
    table = per_seed.rename(columns={by: "model"})[["model", "seed", metric]]
    difference = paired_differences(table, reference, metric, CONFIDENCE)
    return pd.DataFrame(
        {
            "mean": -difference["mean_difference"],
            "ci_low": -difference["ci_high"],
            "ci_high": -difference["ci_low"],
            "p_value": difference["p_value"],
        }
    )


def describe_advantage(row: pd.Series) -> str:
    """One advantage (reference minus other, :func:`advantage`) in words: the mean, its
    interval, and whether the reference is better (interval above zero), worse (below) or
    not clearly different."""
    if pd.isna(row["ci_low"]):
        return f"{row['mean']:+.4f} (one seed, no interval)"
    word = (
        "better" if row["ci_low"] > 0 else "worse" if row["ci_high"] < 0 else "no clear difference"
    )
    return f"{row['mean']:+.4f} [{row['ci_low']:+.4f}, {row['ci_high']:+.4f}], {word}"


def ablation_answer(advantages: pd.DataFrame, metric: str, variants) -> str:
    """The ablation chapter's answer: the CNN-LSTM's metric minus each variant's."""
    return (
        f"The CNN-LSTM's {metric} minus each variant's: "
        + "; ".join(f"{v}: {describe_advantage(advantages.loc[v])}" for v in variants)
        + "."
    )


def table(per_seed: pd.DataFrame, by: str, metrics: tuple[str, ...] = METRICS) -> pd.DataFrame:
    """Mean over seeds per group, with the interval of each metric as "[low, high]"."""
    rows = {}
    for group, summary in summarise(per_seed, by).items():
        row = {}
        for metric in metrics:
            stats = summary[metric]
            row[metric] = stats["mean"]
            if not pd.isna(stats["ci_low"]):
                row[f"{metric} interval"] = f"[{stats['ci_low']:.4f}, {stats['ci_high']:.4f}]"
        rows[group] = row
    return pd.DataFrame.from_dict(rows, orient="index")


#: Baselines the cross-dataset chapter chooses from: the fast ones (the SVM and
#: the MLP take minutes per fit on the full NSL-KDD training file).
CROSS_DATASET_CANDIDATES = (
    "Random Forest",
    "Logistic regression",
    "HistGradientBoosting",
    "XGBoost",
)


def best_baseline(
    parts: dict[str, pd.DataFrame],
    features: list[str],
    seed: int,
    threshold: float,
    tests: dict[str, pd.DataFrame],
    candidates: tuple[str, ...] = CROSS_DATASET_CANDIDATES,
    unscaled=(),
):
    """Fit each candidate baseline on the training part, keep the one with the best
    validation accuracy, and score the test set(s) with it once.

    The choice sees the validation part only, never a test set.  ``unscaled``
    features are left as they are by the scaler (0/1 indicators).

    Returns
    -------
    name : str
        The chosen baseline.
    results : dict
        Test-set name -> :func:`score`.
    probabilities : dict
        Test-set name -> each test flow's attack probability.
    """
    from .baselines import attack_probability, make_baselines

    scaler = fit_scaler(parts["train"], features, unscaled)
    x_train, y_train = scale(parts["train"], scaler), parts["train"]["attack"].to_numpy()
    x_val, y_val = scale(parts["val"], scaler), parts["val"]["attack"].to_numpy()
    models = make_baselines(seed)
    validation = {}
    for name in candidates:
        models[name].fit(x_train, y_train)
        validation[name] = score(y_val, attack_probability(models[name], x_val), threshold)[
            "accuracy"
        ]
    chosen = max(validation, key=validation.get)
    probabilities = {
        name: attack_probability(models[chosen], scale(test, scaler))
        for name, test in tests.items()
    }
    return (
        chosen,
        {
            name: score(test["attack"].to_numpy(), probabilities[name], threshold)
            for name, test in tests.items()
        },
        probabilities,
    )


def encode_nsl_kdd(parts: dict[str, pd.DataFrame], tests: dict[str, pd.DataFrame]):
    """One-hot encode NSL-KDD's categorical features, categories from ``parts["train"]`` only.

    Parameters
    ----------
    parts : dict of pandas.DataFrame
        ``train`` and the other parts (``val``, maybe ``test``) as read by
        :func:`ids_utils.datasets.read_nsl_kdd`.
    tests : dict of pandas.DataFrame
        Further test sets, encoded the same way.

    Returns
    -------
    parts, tests : dict of pandas.DataFrame
        The encoded frames (features, ``attack`` and ``family``).
    features : list of str
        The numeric features, then the 0/1 indicator columns.
    indicators : list of str
        The indicator columns, which the scaler leaves as they are.
    """
    from .datasets import NSL_KDD_CATEGORICAL, NSL_KDD_FEATURES
    from .preprocess import one_hot

    numeric = [f for f in NSL_KDD_FEATURES if f not in NSL_KDD_CATEGORICAL]
    keep = [*numeric, *NSL_KDD_CATEGORICAL, "attack", "family"]
    others = {name: frame[keep] for name, frame in {**parts, **tests}.items() if name != "train"}
    train, encoded, features = one_hot(parts["train"][keep], others, numeric, NSL_KDD_CATEGORICAL)
    return (
        {"train": train, **{name: encoded[name] for name in parts if name != "train"}},
        {name: encoded[name] for name in tests},
        features,
        features[len(numeric) :],
    )


def nsl_kdd_paper_split(
    train_file: pd.DataFrame,
    n_flows: int,
    benign_fraction: float,
    sample_seed: int,
    seed: int,
    test_fraction: float,
    val_fraction: float,
):
    """The paper's protocol on NSL-KDD for one seed: a sample of ``KDDTrain+`` at the
    profile's size and benign fraction, split stratified on the binary label, encoded.

    Returns
    -------
    parts : dict of pandas.DataFrame
        ``train``, ``val``, ``test``, encoded by :func:`encode_nsl_kdd`.
    features, indicators : list of str
    """
    from .sampling import sample_paper

    sample, _ = sample_paper([train_file], n_flows, benign_fraction, sample_seed)
    split = split_train_val_test(sample, test_fraction, val_fraction, seed, stratify="attack")
    parts, _, features, indicators = encode_nsl_kdd(split, {})
    return parts, features, indicators


#: The name of the paper's protocol on NSL-KDD in the cross-dataset chapter's tables.
PAPER_PROTOCOL = "KDDTrain+ split (the paper's protocol)"


def cross_dataset_protocols(
    paper_sample: pd.DataFrame,
    official_train: pd.DataFrame,
    official_tests: dict[str, pd.DataFrame],
    seeds,
    test_fraction: float,
    val_fraction: float,
) -> dict:
    """The two NSL-KDD protocols of the cross-dataset chapter, per seed, encoded.

    ``(PAPER_PROTOCOL, seed)``: the paper's sample of ``KDDTrain+`` split into
    train / validation / test; ``("official", seed)``: the official training
    flows split into train / validation, tested on the official test files.

    Returns
    -------
    dict
        ``(protocol, seed) -> (parts, tests, features, indicators)`` as
        :func:`encode_nsl_kdd` gives them (``tests`` maps a test-set name to its flows).
    """
    protocols = {}
    for seed in seeds:
        split = split_train_val_test(
            paper_sample, test_fraction, val_fraction, seed, stratify="attack"
        )
        parts, _, features, indicators = encode_nsl_kdd(split, {})
        protocols[(PAPER_PROTOCOL, seed)] = (
            parts,
            {PAPER_PROTOCOL: parts["test"]},
            features,
            indicators,
        )
        official = split_train_val(official_train, val_fraction, seed, stratify="attack")
        protocols[("official", seed)] = encode_nsl_kdd(official, official_tests)
    return protocols


def cross_dataset_jobs(
    protocols: dict, settings: dict, per_model: dict[str, dict] | None = None
) -> list[dict]:
    """One :func:`train_and_test` job per protocol, seed and CNN-LSTM, in that order.

    Parameters
    ----------
    protocols : dict
        As :func:`cross_dataset_protocols` gives it.
    settings : dict
        Training settings of a profile.
    per_model : dict, optional
        Model name -> settings that replace the profile's for that model (e.g. a
        learning rate chosen on validation, :func:`ids_utils.tuning.chosen_settings`).
    """
    from .models import CNN_LSTMS, settings_for

    return [
        {
            "parts": parts,
            "features": features,
            "seed": seed,
            "settings": settings_for(model, settings, per_model),
            "tests": tests,
            "return_probabilities": True,
            "lstm_activation": activation,
            "unscaled": indicators,
        }
        for (_, seed), (parts, tests, features, indicators) in protocols.items()
        for model, activation in CNN_LSTMS.items()
    ]


def recall_by_group(
    test: pd.DataFrame, probability: np.ndarray, threshold: float, group: pd.Series
) -> pd.Series:
    """Share of each group's attack flows detected (recall), e.g. by attack family.

    A group with a flow the model gave no finite probability has no recall (NaN):
    an unscored attack is neither detected nor missed.
    """
    attacks = test["attack"].to_numpy() == 1
    scores = pd.Series(np.asarray(probability, dtype="float64")[attacks])
    groups = np.asarray(group)[attacks]
    recall = (scores >= threshold).groupby(groups).mean()
    unscored = (~np.isfinite(scores)).groupby(groups).any()
    return recall.mask(unscored)


def kddtest_recalls(
    kddtest: pd.DataFrame, seen_types: set, threshold: float, probabilities: dict
) -> pd.DataFrame:
    """Recall on ``KDDTest+`` attacks by family and by whether their type is seen in training.

    Parameters
    ----------
    kddtest : pandas.DataFrame
        ``KDDTest+`` as read (``attack``, ``family``, ``fine_label``).
    seen_types : set of str
        The fine labels of the training file.
    probabilities : dict
        ``(model, seed)`` -> each ``KDDTest+`` flow's attack probability.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``seed``, ``by`` (family / attack type), ``group``, ``recall``.
    """
    kind = (
        kddtest["fine_label"]
        .isin(seen_types)
        .map({True: "type seen in training", False: "type new in test"})
    )
    rows = []
    for (model, seed), probability in probabilities.items():
        for by, group in (("family", kddtest["family"]), ("attack type", kind)):
            recall = recall_by_group(kddtest, probability, threshold, group)
            rows += [
                {"model": model, "seed": seed, "by": by, "group": g, "recall": r}
                for g, r in recall.items()
            ]
    return pd.DataFrame(rows)


def cross_dataset_answer(per_seed: pd.DataFrame, recall_table: pd.DataFrame) -> str:
    """The cross-dataset chapter's answer in words, from its results (no typed numbers).

    ``per_seed`` has ``test set``, ``model``, ``accuracy`` and ``roc_auc``;
    ``recall_table`` is indexed by (``by``, ``group``) with one column per model.
    """
    mean = per_seed.groupby(["test set", "model"], sort=False)[["accuracy", "roc_auc"]].mean()
    sentences = []
    for test in per_seed["test set"].unique():
        parts = [
            f"{model} accuracy {mean.loc[(test, model), 'accuracy']:.4f} "
            f"(ROC-AUC {mean.loc[(test, model), 'roc_auc']:.4f})"
            for model in per_seed.loc[per_seed["test set"] == test, "model"].unique()
        ]
        sentences.append(f"{test}: " + ", ".join(parts) + ".")
    types = recall_table.loc["attack type"]
    detected = ", ".join(
        f"{model} {types.loc['type seen in training', model]:.1%} and "
        f"{types.loc['type new in test', model]:.1%}"
        for model in types.columns
    )
    sentences.append(
        f"On KDDTest+, recall on attacks of types seen in training and of new types: {detected}."
    )
    return " ".join(sentences)


def reference_rows(
    predictions: pd.DataFrame, seeds, threshold: float, column: str, label: str
) -> list[dict]:
    """Scores of a model already trained and tested (its saved predictions), one row per
    seed, labelled ``{column: label}``: the reference a chapter's retrained models are
    compared with, without training it again."""
    rows = []
    for seed in seeds:
        reference = predictions[predictions["seed"] == seed]
        if reference.empty:
            raise ValueError(f"no saved predictions for seed {seed}")
        rows.append(
            {
                column: label,
                "seed": seed,
                **score(reference["attack"], reference["probability"], threshold),
            }
        )
    return rows


def audit_runs(
    parts: dict[int, dict],
    features: list[str],
    shortcuts: dict[int, list[str]],
    reference: pd.DataFrame,
    settings: dict,
    n_workers: int,
) -> tuple[pd.DataFrame, dict]:
    """The data audit's retrainings of the CNN-LSTM as written, per seed: without the
    seed's shortcut features, and on de-duplicated data (no test flow with a copy in
    training).

    Parameters
    ----------
    parts : dict
        Seed -> ``train``, ``val``, ``test``.
    shortcuts : dict
        Seed -> the features removed for that seed.
    reference : pandas.DataFrame
        The as-written model's saved test predictions (condition ``all features``).
    settings : dict
        Training settings of a profile.

    Returns
    -------
    per_seed : pandas.DataFrame
        One row per condition and seed, in seed order.
    removed : dict
        Seed -> rows removed by the de-duplication (:func:`ids_utils.audit.without_train_copies`).
    """
    from .audit import without_train_copies
    from .workers import run_jobs

    rows = reference_rows(reference, parts, settings["threshold"], "condition", "all features")
    keys, jobs, removed = [], [], {}
    for seed, split in parts.items():
        kept = [f for f in features if f not in shortcuts[seed]]
        train, test, removed[seed] = without_train_copies(split["train"], split["test"], features)
        deduplicated = {"train": train, "val": split["val"], "test": test}
        for condition, data, columns in (
            ("without shortcuts", split, kept),
            ("de-duplicated", deduplicated, features),
        ):
            keys.append({"condition": condition, "seed": seed})
            jobs.append({"parts": data, "features": columns, "seed": seed, "settings": settings})
    results = run_jobs(train_and_test, jobs, n_workers, desc="models")
    rows += [{**key, **result["test"]} for key, result in zip(keys, results)]
    per_seed = pd.DataFrame(rows).sort_values(["seed"], kind="stable").reset_index(drop=True)
    return per_seed, removed


#: The ablation that keeps the CNN-LSTM and reorders its input features.
PERMUTED = "permuted features"


def ablation_runs(
    parts: dict[int, dict],
    features: list[str],
    permuted: list[str],
    variants: list[str],
    reference: pd.DataFrame,
    settings: dict,
    n_workers: int,
) -> pd.DataFrame:
    """Every ablation variant trained and tested per seed, beside the CNN-LSTM as written
    (from its saved predictions).

    Parameters
    ----------
    permuted : list of str
        The features in the fixed permuted order of the :data:`PERMUTED` variant.
    variants : list of str
        :data:`ids_utils.models.VARIANTS` other than the CNN-LSTM, and :data:`PERMUTED`.

    Returns
    -------
    pandas.DataFrame
        One row per model and seed (the CNN-LSTM's rows first).
    """
    from .workers import run_jobs

    rows = reference_rows(reference, parts, settings["threshold"], "model", "CNN-LSTM")
    keys = [(seed, variant) for seed in parts for variant in variants]
    jobs = [
        {
            "parts": parts[seed],
            "seed": seed,
            "settings": settings,
            **(
                {"features": permuted, "variant": "CNN-LSTM"}
                if variant == PERMUTED
                else {"features": features, "variant": variant}
            ),
        }
        for seed, variant in keys
    ]
    results = run_jobs(train_and_test, jobs, n_workers, desc="models")
    rows += [
        {"model": variant, "seed": seed, **result["test"]}
        for (seed, variant), result in zip(keys, results)
    ]
    return pd.DataFrame(rows)
