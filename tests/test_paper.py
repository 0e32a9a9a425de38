"""The paper's claims: one table, the only values typed in by hand."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("kind", ["result", "premise", "setting"])
def test_claims_table_kinds(kind):
    from ids_utils.paper import paper_claims

    assert len(paper_claims(kind)) > 0
    with pytest.raises(ValueError, match="unknown kind"):
        paper_claims("guess")


def test_every_table1_metric_is_a_claim_with_a_fraction():
    from ids_utils.paper import TABLE1_METRICS, paper_value

    for metric in TABLE1_METRICS:
        assert 0.0 <= paper_value(metric) <= 1.0, metric
    with pytest.raises(KeyError, match="no claim 'accuracy_typo'"):
        paper_value("accuracy_typo")


def test_the_training_trajectory_is_section_4_1s_points_in_order():
    from ids_utils.paper import training_trajectory

    points = training_trajectory()
    assert set(points["metric"]) == {"loss", "accuracy"}
    loss = points[points["metric"] == "loss"].sort_values("epoch")
    assert loss["value"].iloc[0] > loss["value"].iloc[-1]  # the paper's loss falls
    assert points["epoch"].between(1, 20).all()
