"""Error analysis (paper Section 4.3): who is misclassified, and are the misses "slow-rate"?"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .evaluation import UNSCORED, prediction_codes

#: Features that measure a flow's intensity: the paper says misses are mainly
#: "low intensity, slow rate" attacks with "short connection durations".
INTENSITY_FEATURES = ("Rate", "IAT", "Number", "Tot sum", "Header_Length", "flow_duration")

KEYS = ["seed", "source_file", "source_line"]


def errors_by_family(predictions: pd.DataFrame) -> pd.DataFrame:
    """False positives (benign) and false negatives (attacks) per seed and family.

    Returns
    -------
    pandas.DataFrame
        Index (seed, family); columns ``flows``, ``unscored`` (flows the model
        could not score), ``errors`` (FP for benign, FN for attack families,
        among the scored flows) and ``error_rate``, which is unknown (NaN) for
        a group holding an unscored flow: its error could be either way.
    """
    predicted = prediction_codes(predictions)
    unscored = predicted == UNSCORED
    wrong = ~unscored & (predicted != predictions["attack"].to_numpy())
    table = (
        predictions.assign(wrong=wrong, unscored=unscored)
        .groupby(["seed", "family"], observed=True)
        .agg(flows=("wrong", "size"), unscored=("unscored", "sum"), errors=("wrong", "sum"))
    )
    table = table.astype({"unscored": int, "errors": int})
    table["error_rate"] = np.where(table["unscored"] == 0, table["errors"] / table["flows"], np.nan)
    return table


def errors_over_seeds(by_family: pd.DataFrame) -> pd.DataFrame:
    """:func:`errors_by_family` tables of several models summed over seeds.

    Parameters
    ----------
    by_family : pandas.DataFrame
        Index (model, seed, family), the columns of :func:`errors_by_family`.

    Returns
    -------
    pandas.DataFrame
        Index (model, family): ``flows``, ``unscored``, ``errors`` and
        ``error rate``, unknown (NaN) where a flow was not scored.
    """
    totals = by_family.groupby(["model", "family"])[["flows", "unscored", "errors"]].sum()
    rate = totals["errors"] / totals["flows"]
    totals["error rate"] = np.where(totals["unscored"] == 0, rate, np.nan)
    return totals


def label_outcomes(predictions: pd.DataFrame) -> pd.Series:
    """Each flow's outcome: benign (correct), false positive, caught attack, missed
    attack, or unscored (the model gave no finite probability)."""
    predicted = prediction_codes(predictions)
    attack = predictions["attack"].to_numpy()
    outcome = np.select(
        [
            predicted == UNSCORED,
            (attack == 0) & (predicted == 0),
            (attack == 0) & (predicted == 1),
            (attack == 1) & (predicted == 1),
            (attack == 1) & (predicted == 0),
        ],
        ["unscored", "benign", "false positive", "caught attack", "missed attack"],
        default="",
    )
    if (outcome == "").any():
        raise ValueError("predictions and labels must be 0 or 1 (or a missing prediction)")
    return pd.Series(outcome, index=predictions.index, name="outcome")


def intensity_test(
    flows: pd.DataFrame, features: list[str], min_misses: int = 5, alpha: float = 0.05
) -> pd.DataFrame:
    """Do missed attacks have lower intensity than caught ones?

    For each intensity feature present, the medians of missed attacks, caught
    attacks and benign flows, and a one-sided Mann-Whitney U test of "missed
    attacks have lower values than caught attacks", with the effect size
    P(missed < caught) (0.5 = no difference).

    Parameters
    ----------
    flows : pandas.DataFrame
        Test flows with an ``outcome`` column (see :func:`label_outcomes`) and
        raw (unscaled) features.
    min_misses : int, default 5
        Fewer missed attacks than this and the test is reported as not testable.
    """
    missed = flows[flows["outcome"] == "missed attack"]
    caught = flows[flows["outcome"] == "caught attack"]
    benign = flows[flows["attack"] == 0]
    rows = {}
    for feature in features:
        if feature not in flows.columns:
            continue
        row = {
            "median missed": missed[feature].median(),
            "median caught": caught[feature].median(),
            "median benign": benign[feature].median(),
            "missed": len(missed),
            "caught": len(caught),
        }
        if len(missed) >= min_misses and len(caught) >= min_misses:
            test = stats.mannwhitneyu(missed[feature], caught[feature], alternative="less")
            # U counts the pairs where the missed flow is larger (ties count half).
            row["P(missed < caught)"] = 1.0 - test.statistic / (len(missed) * len(caught))
            row["p_value"] = float(test.pvalue)
            row["misses lower"] = bool(test.pvalue < alpha)
        else:
            row["P(missed < caught)"], row["p_value"], row["misses lower"] = np.nan, np.nan, None
        rows[feature] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def slow_rate_verdict(test: pd.DataFrame, feature: str = "Rate") -> str:
    """The paper's "low-intensity, slow-rate" claim against the Rate test, in words."""
    if feature not in test.index or test.loc[feature, "misses lower"] is None:
        return "not testable with these data (too few missed attacks)"
    row = test.loc[feature]
    if row["misses lower"]:
        return (
            f"supported: missed attacks have a lower {feature} than caught ones "
            f"(median {row['median missed']:.3g} against {row['median caught']:.3g}, "
            f"one-sided p = {row['p_value']:.2g})"
        )
    return (
        f"not supported: missed attacks do not have a significantly lower {feature} than "
        f"caught ones (median {row['median missed']:.3g} against {row['median caught']:.3g}, "
        f"one-sided p = {row['p_value']:.2g})"
    )


def miss_overlap(predictions: pd.DataFrame, reference: str = "CNN-LSTM") -> dict:
    """Attack flows missed by every model, and by the reference model alone.

    ``predictions`` holds every model's predictions (column ``model``) on the
    same flows.  An attack a model could not score is not counted as missed
    (nor as caught): it is counted in ``unscored_by_each``, and a flow that
    some model did not score is left out of ``missed_by_all``.
    """
    attacks = predictions[predictions["attack"] == 1]
    outcome = attacks.assign(code=prediction_codes(attacks)).pivot_table(
        index=KEYS, columns="model", values="code", aggfunc="first"
    )
    missed, unscored = outcome == 0, outcome == UNSCORED
    others = missed.drop(columns=reference)
    return {
        "attack_flows": int(len(missed)),
        "missed_by_reference": int(missed[reference].sum()),
        "missed_by_all": int(missed.all(axis=1).sum()),
        "missed_only_by_reference": int((missed[reference] & ~others.any(axis=1)).sum()),
        "missed_by_each": {m: int(v) for m, v in missed.sum().items()},
        "unscored_by_each": {m: int(v) for m, v in unscored.sum().items()},
    }
