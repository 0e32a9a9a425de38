"""Error analysis: recall by family, outcomes, the overlap of misses, the intensity test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ids_utils import error_analysis


def test_errors_by_family_and_outcomes(predictions_of):
    preds = predictions_of("CNN-LSTM", [1, 0, 1, 0, 0, 1])
    table = error_analysis.errors_by_family(preds)
    assert table.loc[(1, "Benign"), "errors"] == 1 and table.loc[(1, "DDoS"), "errors"] == 2
    outcomes = error_analysis.label_outcomes(preds).tolist()
    assert outcomes == [
        "false positive",
        "benign",
        "caught attack",
        "missed attack",
        "missed attack",
        "caught attack",
    ]


def test_miss_overlap(predictions_of):
    preds = pd.concat(
        [predictions_of("CNN-LSTM", [0, 0, 0, 0, 1, 1]), predictions_of("RF", [0, 0, 0, 1, 1, 1])]
    )
    overlap = error_analysis.miss_overlap(preds)
    assert overlap["attack_flows"] == 4 and overlap["missed_by_reference"] == 2
    assert overlap["missed_by_all"] == 1 and overlap["missed_only_by_reference"] == 1


def test_intensity_test_direction():
    rng = np.random.default_rng(0)
    flows = pd.DataFrame(
        {
            "Rate": np.r_[
                rng.uniform(1, 10, 20), rng.uniform(100, 1000, 20), rng.uniform(1, 10, 20)
            ],
            "outcome": ["missed attack"] * 20 + ["caught attack"] * 20 + ["benign"] * 20,
            "attack": [1] * 40 + [0] * 20,
        }
    )
    test = error_analysis.intensity_test(flows, ["Rate", "absent"])
    assert list(test.index) == ["Rate"]
    assert test.loc["Rate", "P(missed < caught)"] == 1.0 and test.loc["Rate", "misses lower"]
    assert error_analysis.slow_rate_verdict(test).startswith("supported")
    few = error_analysis.intensity_test(flows.iloc[18:], ["Rate"])
    assert error_analysis.slow_rate_verdict(few).startswith("not testable")


def test_an_unscored_flow_is_neither_benign_nor_missed(predictions_of):
    preds = predictions_of("CNN-LSTM", [0, 0, 0, 0, 1, 1])
    preds["prediction"] = pd.array([None, 0, None, 0, 1, 1], dtype="Int8")
    outcomes = error_analysis.label_outcomes(preds).tolist()
    assert outcomes == [
        "unscored",
        "benign",
        "unscored",
        "missed attack",
        "caught attack",
        "caught attack",
    ]
    table = error_analysis.errors_by_family(preds)
    benign, ddos = table.loc[(1, "Benign")], table.loc[(1, "DDoS")]
    assert (benign["flows"], benign["unscored"], benign["errors"]) == (2, 1, 0)
    assert (ddos["flows"], ddos["unscored"], ddos["errors"]) == (4, 1, 1)
    assert np.isnan(benign["error_rate"]) and np.isnan(ddos["error_rate"])
    scored = error_analysis.errors_by_family(predictions_of("CNN-LSTM", [1, 0, 1, 0, 0, 1]))
    assert scored.loc[(1, "DDoS"), "error_rate"] == 0.5
    assert scored.loc[(1, "Benign"), "unscored"] == 0
    rf = predictions_of("RF", [0, 0, 0, 0, 0, 1])
    overlap = error_analysis.miss_overlap(pd.concat([preds, rf]))
    assert overlap["missed_by_each"] == {"CNN-LSTM": 1, "RF": 3}
    assert overlap["unscored_by_each"] == {"CNN-LSTM": 1, "RF": 0}
    assert overlap["missed_by_all"] == 1  # flow 3; flow 2 is unscored by the CNN-LSTM


def test_outcomes_refuse_a_label_that_is_not_0_or_1(predictions_of):
    preds = predictions_of("CNN-LSTM", [0, 0, 0, 0, 1, 1]).assign(attack=[0, 0, 2, 1, 1, 1])
    with pytest.raises(ValueError, match="0 or 1"):
        error_analysis.label_outcomes(preds)


def test_errors_over_seeds_sum_and_leave_an_unscored_family_unknown(predictions_of):
    one = predictions_of("CNN-LSTM", [1, 0, 1, 0, 0, 1])
    two = predictions_of("CNN-LSTM", [0, 0, 1, 1, 1, 1]).assign(seed=2)
    two["prediction"] = pd.array([None, 0, 1, 1, 1, 1], dtype="Int8")
    by_family = pd.concat(
        {"CNN-LSTM": error_analysis.errors_by_family(pd.concat([one, two]))}, names=["model"]
    )
    totals = error_analysis.errors_over_seeds(by_family)
    ddos, benign = totals.loc[("CNN-LSTM", "DDoS")], totals.loc[("CNN-LSTM", "Benign")]
    assert (ddos["flows"], ddos["errors"], ddos["error rate"]) == (8, 2, 0.25)
    assert (benign["flows"], benign["unscored"], benign["errors"]) == (4, 1, 1)
    assert np.isnan(benign["error rate"])
