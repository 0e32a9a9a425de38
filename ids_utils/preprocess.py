"""Preprocessing (paper Section 3.2): non-finite values, stratified split, scaling.

Every step accounts for its rows: nothing is dropped without being counted.
The scaler and any other fitted quantity see the training rows only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from .artifacts import write_json, write_parquet

NON_FINITE_POLICIES = ("drop", "zero")


def clean_non_finite(
    frame: pd.DataFrame, features: list[str], policy: str = "drop"
) -> tuple[pd.DataFrame, dict]:
    """Apply the NaN/infinity policy to the feature columns, with row accounting.

    The paper says NaN and infinite values were "identified and removed" and,
    in the next sentence, "converted to zero and then filtered".  ``"drop"``
    (the default) removes every row with a NaN or infinite feature;
    ``"zero"`` replaces those values by 0 and keeps the rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Flows in the standard layout.
    features : list of str
        The feature columns to check.
    policy : {"drop", "zero"}
        What to do with non-finite values.

    Returns
    -------
    cleaned : pandas.DataFrame
    report : dict
        ``rows_in``, ``rows_kept``, ``rows_dropped`` by reason (``nan``: at least
        one NaN; ``inf``: infinite values but no NaN), ``values_replaced`` and
        the non-finite count per feature.  ``rows_in == rows_kept + sum(rows_dropped)``.
    """
    if policy not in NON_FINITE_POLICIES:
        raise ValueError(f"policy must be one of {NON_FINITE_POLICIES}, got {policy!r}")
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ValueError(f"feature column(s) not in the data: {missing}")
    values = frame[features].to_numpy(dtype="float64")
    is_nan = np.isnan(values)
    is_inf = np.isinf(values)
    row_nan = is_nan.any(axis=1)
    row_inf = is_inf.any(axis=1) & ~row_nan
    per_feature = {f: int(n) for f, n in zip(features, (is_nan | is_inf).sum(axis=0)) if n}
    if policy == "drop":
        cleaned = frame.loc[~(row_nan | row_inf)].reset_index(drop=True)
        dropped = {"nan": int(row_nan.sum()), "inf": int(row_inf.sum())}
        replaced = 0
    else:
        cleaned = frame.copy()
        cleaned[features] = np.where(is_nan | is_inf, 0.0, values)
        dropped = {"nan": 0, "inf": 0}
        replaced = int((is_nan | is_inf).sum())
    report = {
        "policy": policy,
        "rows_in": int(len(frame)),
        "rows_kept": int(len(cleaned)),
        "rows_dropped": dropped,
        "values_replaced": replaced,
        "non_finite_per_feature": per_feature,
    }
    assert report["rows_in"] == report["rows_kept"] + sum(dropped.values())
    return cleaned, report


def split_train_val_test(
    frame: pd.DataFrame,
    test_fraction: float,
    val_fraction: float,
    seed: int,
    stratify: str = "family",
) -> dict[str, pd.DataFrame]:
    """Stratified train / validation / test split.

    The test set is ``test_fraction`` of all rows (the paper: 0.2).  The
    validation set is ``val_fraction`` of the *training* part, so it never
    touches the test rows; the rest is the ``train`` set that models fit on.

    Parameters
    ----------
    frame : pandas.DataFrame
    test_fraction, val_fraction : float
        Each strictly between 0 and 1.
    seed : int
        Seed of both splits.
    stratify : str, default "family"
        Column whose proportions every part keeps (the family implies the
        binary label).

    Returns
    -------
    dict
        ``{"train": ..., "val": ..., "test": ...}``, rows in source order.
    """
    for name, value in (("test_fraction", test_fraction), ("val_fraction", val_fraction)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}")
    counts = frame[stratify].value_counts()
    too_small = counts[counts < 4]
    if not too_small.empty:
        raise ValueError(
            f"cannot stratify on {stratify!r}: these values have fewer than "
            f"4 rows: {too_small.to_dict()}"
        )
    rest, test = train_test_split(
        frame, test_size=test_fraction, random_state=seed, stratify=frame[stratify]
    )
    return {
        **split_train_val(rest, val_fraction, seed, stratify),
        "test": test.sort_index().reset_index(drop=True),
    }


def write_seed_split(
    cleaned: pd.DataFrame,
    features: list[str],
    test_fraction: float,
    val_fraction: float,
    seed: int,
    folder: str | Path,
) -> dict[str, pd.DataFrame]:
    """One seed's split and scaler, written: what the preprocessing stage stores per seed.

    Splits with :func:`split_train_val_test`, fits the scaler on the training part
    alone (:func:`fit_scaler`) and writes ``train.parquet``, ``val.parquet``,
    ``test.parquet`` and ``scaler.json`` into ``folder`` (atomically; the same
    inputs give the same bytes).

    Parameters
    ----------
    cleaned : pandas.DataFrame
        Flows after :func:`clean_non_finite`.
    features : list of str
    test_fraction, val_fraction : float
    seed : int
    folder : str or Path
        The seed's folder of the run (:func:`ids_utils.artifacts.seed_dir`).

    Returns
    -------
    dict
        The parts, as :func:`split_train_val_test` returns them.
    """
    folder = Path(folder)
    parts = split_train_val_test(cleaned, test_fraction, val_fraction, seed)
    scaler = fit_scaler(parts["train"], features)
    for name, part in parts.items():
        write_parquet(part, folder / f"{name}.parquet")
    write_json(folder / "scaler.json", scaler)
    return parts


def split_train_val(
    frame: pd.DataFrame, val_fraction: float, seed: int, stratify: str = "family"
) -> dict[str, pd.DataFrame]:
    """Stratified training / validation split of a training set (no test part).

    Used directly when the test set is given apart (NSL-KDD's official files).
    """
    train, val = train_test_split(
        frame, test_size=val_fraction, random_state=seed, stratify=frame[stratify]
    )
    return {
        name: part.sort_index().reset_index(drop=True)
        for name, part in (("train", train), ("val", val))
    }


def fit_scaler(train: pd.DataFrame, features: list[str], unscaled=()) -> dict:
    """Fit a StandardScaler on the training rows' features (and nothing else).

    Parameters
    ----------
    train : pandas.DataFrame
    features : list of str
        Every feature the model reads, in order.
    unscaled : iterable of str, default ()
        Features kept as they are (mean 0, scale 1), such as 0/1 indicator
        columns: standardising a rare category's indicator turns its 1 into
        z ~ sqrt(n - 1), far outside the range of every other input.

    Returns
    -------
    dict
        ``features``, ``mean``, ``scale`` and ``n_samples_seen`` as plain numbers,
        so the scaler is saved as JSON and reloaded without pickle.
    """
    unscaled = set(unscaled)
    unknown = sorted(unscaled - set(features))
    if unknown:
        raise ValueError(f"unscaled feature(s) not among the features: {unknown}")
    scaler = StandardScaler().fit(train[features].to_numpy(dtype="float64"))
    kept = np.array([f in unscaled for f in features])
    return {
        "features": list(features),
        "mean": [float(v) for v in np.where(kept, 0.0, scaler.mean_)],
        "scale": [float(v) for v in np.where(kept, 1.0, scaler.scale_)],
        "n_samples_seen": int(scaler.n_samples_seen_),
    }


def scale(frame: pd.DataFrame, scaler_params: dict) -> np.ndarray:
    """Apply saved scaler parameters to a frame; returns a float32 matrix.

    Raises
    ------
    ValueError
        If a feature the scaler was fitted on is missing from ``frame``.
    """
    features = scaler_params["features"]
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ValueError(f"the data lack feature(s) the scaler was fitted on: {missing}")
    values = frame[features].to_numpy(dtype="float64")
    scaled = (values - np.asarray(scaler_params["mean"])) / np.asarray(scaler_params["scale"])
    return scaled.astype("float32")


def count_cross_duplicates(train: pd.DataFrame, test: pd.DataFrame, features: list[str]) -> dict:
    """How many test rows have an exact copy of their features among training rows.

    Returns counts for feature-only copies and for copies that also share the
    binary label, so a reader sees how much of the test set a model could
    answer from memory.
    """
    train_keys = pd.util.hash_pandas_object(train[features], index=False)
    test_keys = pd.util.hash_pandas_object(test[features], index=False)
    in_train = test_keys.isin(set(train_keys))
    train_labelled = set(zip(train_keys, train["attack"]))
    same_label = pd.Series(
        [(k, a) in train_labelled for k, a in zip(test_keys, test["attack"])], index=test.index
    )
    return {
        "test_rows": int(len(test)),
        "with_feature_copy_in_train": int(in_train.sum()),
        "with_feature_and_label_copy_in_train": int(same_label.sum()),
        "by_family": {
            str(f): int(n)
            for f, n in test.loc[in_train.to_numpy(), "family"].value_counts().sort_index().items()
        },
    }


def one_hot(
    train: pd.DataFrame,
    others: dict[str, pd.DataFrame],
    numeric: list[str],
    columns: tuple[str, ...],
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], list[str]]:
    """Add 0/1 indicator columns for categorical columns, categories from training only.

    A category that appears only outside the training part gets no column (all
    its indicators are 0), as it would for a deployed model.

    Parameters
    ----------
    train : pandas.DataFrame
    others : dict of pandas.DataFrame
        Validation and test parts, encoded like ``train``.
    numeric : list of str
        The numeric feature columns, first in the returned feature list.
    columns : tuple of str
        The categorical columns.

    Returns
    -------
    train : pandas.DataFrame
    others : dict of pandas.DataFrame
    features : list of str
        The numeric columns followed by the indicator columns, in a fixed order.
    """
    categories = {column: sorted(train[column].dropna().unique()) for column in columns}

    def encode(frame):
        encoded = frame.drop(columns=list(columns))
        indicators = {
            f"{column}={value}": (frame[column] == value).astype("float64").to_numpy()
            for column, values in categories.items()
            for value in values
        }
        return pd.concat([encoded, pd.DataFrame(indicators, index=frame.index)], axis=1)

    features = [*numeric, *(f"{c}={v}" for c, values in categories.items() for v in values)]
    return encode(train), {name: encode(frame) for name, frame in others.items()}, features


def split_report(parts: dict[str, pd.DataFrame], features: list[str]) -> dict:
    """One seed's split in numbers: flows, benign and attack per part, and the test flows
    with a copy in training (:func:`count_cross_duplicates`)."""
    return {
        "split": {
            name: {
                "flows": len(part),
                "benign": int((part["attack"] == 0).sum()),
                "attack": int(part["attack"].sum()),
            }
            for name, part in parts.items()
        },
        "cross_duplicates": count_cross_duplicates(parts["train"], parts["test"], features),
    }
