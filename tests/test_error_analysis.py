"""Error analysis: recall by family, outcomes, the overlap of misses, the intensity test."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
