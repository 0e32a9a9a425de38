"""Composition of a data source, gathered chunk by chunk (bounded memory).

Used by ``check-data`` (one file at a time) and by the data notebook (the whole
source, in the same pass that draws the sample).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import SIGNED_FEATURES


class SourceSummary:
    """Counts, non-finite values, duplicates and constant columns of a source.

    Parameters
    ----------
    features : list of str
        The feature columns to audit.

    Examples
    --------
    >>> summary = SourceSummary(features)          # doctest: +SKIP
    >>> for chunk in chunks: summary.add(chunk)    # doctest: +SKIP
    >>> summary.to_dict()                          # doctest: +SKIP
    """

    def __init__(self, features: list[str]):
        self.features = list(features)
        self.rows = 0
        self.family = pd.Series(dtype="int64")
        self.fine_label = pd.Series(dtype="int64")
        self.nan = np.zeros(len(self.features), dtype="int64")
        self.inf = np.zeros(len(self.features), dtype="int64")
        self.negative = np.zeros(len(self.features), dtype="int64")
        self.minimum = np.full(len(self.features), np.inf)
        self.maximum = np.full(len(self.features), -np.inf)
        self._row_hashes: list[np.ndarray] = []
        self._feature_hashes: list[np.ndarray] = []
        self._attack: list[np.ndarray] = []

    def add(self, chunk: pd.DataFrame) -> None:
        """Account for one chunk of standard-layout flows."""
        values = chunk[self.features].to_numpy(dtype="float64")
        self.rows += len(chunk)
        self.family = self.family.add(chunk["family"].value_counts(), fill_value=0)
        fine = chunk["fine_label"].dropna()
        if len(fine):
            self.fine_label = self.fine_label.add(fine.value_counts(), fill_value=0)
        self.nan += np.isnan(values).sum(axis=0)
        self.inf += np.isinf(values).sum(axis=0)
        self.negative += (values < 0).sum(axis=0)
        finite = np.where(np.isfinite(values), values, np.nan)
        if len(chunk):
            with np.errstate(invalid="ignore"):
                self.minimum = np.fmin(self.minimum, np.nanmin(finite, axis=0, initial=np.inf))
                self.maximum = np.fmax(self.maximum, np.nanmax(finite, axis=0, initial=-np.inf))
        feature_hash = pd.util.hash_pandas_object(chunk[self.features], index=False)
        row_hash = pd.util.hash_pandas_object(
            chunk[self.features + ["fine_label", "family"]], index=False
        )
        self._feature_hashes.append(feature_hash.to_numpy())
        self._row_hashes.append(row_hash.to_numpy())
        self._attack.append(chunk["attack"].to_numpy(dtype="int8"))

    def to_dict(self) -> dict:
        """The summary as JSON-ready numbers.

        ``duplicate_rows`` counts rows identical to an earlier row (features and
        labels); ``duplicate_feature_rows`` ignores the labels;
        ``conflicting_feature_vectors`` counts feature vectors that occur with
        both labels (benign and attack).
        """
        row_hashes = np.concatenate(self._row_hashes) if self._row_hashes else np.array([])
        feature_hashes = (
            np.concatenate(self._feature_hashes) if self._feature_hashes else np.array([])
        )
        attack = np.concatenate(self._attack) if self._attack else np.array([])
        by_vector = pd.DataFrame({"h": feature_hashes, "a": attack}).groupby("h")["a"].nunique()
        family = self.family.astype("int64").sort_index()
        benign = int(family.get("Benign", 0))
        return {
            "rows": int(self.rows),
            "benign": benign,
            "attack": int(self.rows - benign),
            "family_counts": {str(k): int(v) for k, v in family.items()},
            "fine_label_counts": {
                str(k): int(v) for k, v in self.fine_label.astype("int64").sort_index().items()
            },
            "nan_per_feature": self._nonzero(self.nan),
            "inf_per_feature": self._nonzero(self.inf),
            # Counts, lengths, rates and flags cannot be negative; a covariance can.
            "negative_per_feature": self._nonzero(
                np.where([f in SIGNED_FEATURES for f in self.features], 0, self.negative)
            ),
            "duplicate_rows": int(len(row_hashes) - len(np.unique(row_hashes))),
            "duplicate_feature_rows": int(len(feature_hashes) - len(np.unique(feature_hashes))),
            "conflicting_feature_vectors": int((by_vector > 1).sum()),
            "constant_features": [
                f for f, lo, hi in zip(self.features, self.minimum, self.maximum) if lo == hi
            ],
        }

    def _nonzero(self, counts: np.ndarray) -> dict[str, int]:
        return {f: int(n) for f, n in zip(self.features, counts) if n}


# --- Data audit of a sample (the "Beyond the paper" data-audit chapter) -----------------

#: How many of the strongest single features count as shortcuts to remove.
N_SHORTCUTS = 3

#: Significant digits kept when looking for near duplicates.
NEAR_DUPLICATE_DIGITS = 3


def duplicate_counts(flows: pd.DataFrame, features: list[str]) -> dict:
    """Exact and near duplicates in a set of flows, and vectors with conflicting labels.

    Near duplicates are flows whose features agree once every value is rounded
    to :data:`NEAR_DUPLICATE_DIGITS` significant digits.

    Returns
    -------
    dict
        ``flows``, ``exact_duplicate_rows`` (features and label), ``duplicate_vectors``
        (features only), ``near_duplicate_vectors``, ``conflicting_vectors`` (distinct
        vectors seen with both labels).
    """
    values = flows[features]
    rounded = values.apply(lambda column: _round_significant(column.to_numpy(dtype="float64")))
    vectors = pd.util.hash_pandas_object(values, index=False)
    labels = flows["attack"].to_numpy()
    labels_per_vector = pd.Series(labels).groupby(vectors.to_numpy()).nunique()
    return {
        "flows": int(len(flows)),
        "exact_duplicate_rows": int(flows[[*features, "attack"]].duplicated().sum()),
        "duplicate_vectors": int(vectors.duplicated().sum()),
        "near_duplicate_vectors": int(
            pd.util.hash_pandas_object(rounded, index=False).duplicated().sum()
        ),
        "conflicting_vectors": int((labels_per_vector > 1).sum()),
    }


def _round_significant(values: np.ndarray) -> np.ndarray:
    magnitude = np.floor(np.log10(np.abs(np.where(values == 0, 1.0, values))))
    factor = 10.0 ** (NEAR_DUPLICATE_DIGITS - 1 - magnitude)
    return np.round(values * factor) / factor


def single_feature_auc(train: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """ROC-AUC of each feature alone as an attack score, on training flows only.

    ``strength`` is max(AUC, 1 - AUC): a feature that separates the classes in
    either direction.  Computed on the training part so that choosing shortcut
    features never looks at the test set.

    Returns
    -------
    pandas.DataFrame
        Index: feature; columns ``auc``, ``strength``; strongest first.
    """
    from sklearn.metrics import roc_auc_score

    y = train["attack"].to_numpy()
    if len(np.unique(y)) < 2:
        raise ValueError("single-feature ROC-AUC needs both classes in the training part")
    auc = pd.Series({f: roc_auc_score(y, train[f].to_numpy(dtype="float64")) for f in features})
    table = pd.DataFrame({"auc": auc, "strength": np.maximum(auc, 1 - auc)})
    return table.sort_values("strength", ascending=False, kind="stable").rename_axis("feature")


def without_train_copies(
    train: pd.DataFrame, test: pd.DataFrame, features: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """De-duplicate: one copy of each feature vector in training, and no test flow
    whose feature vector is in training.

    Returns
    -------
    train, test : pandas.DataFrame
    removed : dict
        Rows removed from each part (every removed row is counted).
    """
    train_keys = pd.util.hash_pandas_object(train[features], index=False)
    kept_train = train[~train_keys.duplicated().to_numpy()]
    test_keys = pd.util.hash_pandas_object(test[features], index=False)
    kept_test = test[~test_keys.isin(set(train_keys)).to_numpy()]
    return (
        kept_train.reset_index(drop=True),
        kept_test.reset_index(drop=True),
        {"train": int(len(train) - len(kept_train)), "test": int(len(test) - len(kept_test))},
    )


def signed_change(change: pd.Series) -> str:
    """A metric's change under a condition (``-mean`` of reference minus condition), signed,
    with its paired interval when there is one."""
    interval = (
        ""
        if pd.isna(change["ci_low"])
        else f" (interval {-change['ci_high']:+.4f} to {-change['ci_low']:+.4f})"
    )
    return f"{-change['mean']:+.4f}{interval}"


def audit_answer(
    copy_share: float, rows_removed: int, strongest: str, strength: float, changes: pd.DataFrame
) -> str:
    """The data-audit chapter's answer, from its measurements.

    Parameters
    ----------
    copy_share : float
        Share of test flows with a feature-identical copy in training.
    rows_removed : int
        Rows de-duplication removed, over every seed and part.
    strongest : str
        The strongest single feature; ``strength`` its strength alone.
    changes : pandas.DataFrame
        Reference minus condition of the balanced accuracy (``mean``, ``ci_low``,
        ``ci_high``), indexed by condition (``without shortcuts``, ``de-duplicated``).
    """
    if copy_share > 0:
        independence = (
            f"{copy_share:.1%} of the test flows have a feature-identical copy in "
            "training: the test set is not fully independent."
        )
    else:
        independence = (
            "No test flow has a feature-identical copy in training: in that sense "
            "this build's test sets are independent."
        )
    if rows_removed:
        deduplication = (
            f"de-duplicating changes it by {signed_change(changes.loc['de-duplicated'])}"
        )
    else:
        deduplication = (
            "de-duplication removes no flow from this sample, so its models and "
            "scores are the reference's"
        )
    return (
        f"{independence} The strongest single feature, `{strongest}`, reaches a strength of "
        f"{strength:.3f} alone. Removing the {N_SHORTCUTS} strongest features changes the "
        f"CNN-LSTM's balanced accuracy by "
        f"{signed_change(changes.loc['without shortcuts'])}; {deduplication}."
    )
