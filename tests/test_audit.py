"""The data audit's answer: signs and intervals of the changes it reports."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ids_utils import audit


def test_the_answer_reports_changes_with_their_sign_and_interval():
    changes = pd.DataFrame(
        {"mean": [0.05, -0.01], "ci_low": [0.01, -0.03], "ci_high": [0.09, 0.01]},
        index=["without shortcuts", "de-duplicated"],
    )
    text = audit.audit_answer(0.25, 12, "IAT", 0.91234, changes)
    assert text.startswith("25.0% of the test flows have a feature-identical copy")
    # The reference beats "without shortcuts" by 0.05: the condition changes it by -0.05.
    assert "balanced accuracy by -0.0500 (interval -0.0900 to -0.0100)" in text
    assert "de-duplicating changes it by +0.0100 (interval -0.0100 to +0.0300)" in text
    assert "`IAT`, reaches a strength of 0.912 alone" in text


def test_without_copies_or_removals_the_answer_says_so():
    changes = pd.DataFrame(
        {"mean": [0.02], "ci_low": [np.nan], "ci_high": [np.nan]}, index=["without shortcuts"]
    )
    text = audit.audit_answer(0.0, 0, "Rate", 0.5, changes)
    assert text.startswith("No test flow has a feature-identical copy in training")
    assert "by -0.0200;" in text and "removes no flow from this sample" in text
