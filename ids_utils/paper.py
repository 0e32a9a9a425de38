"""The paper's own claims: the one place where its numbers are typed in.

Every value below is quoted from Hashmi et al. (2026), with the section or
table it comes from.  Nothing here is a result of this project; the book shows
these values beside ours, labelled as the paper's.
"""

from __future__ import annotations

import pandas as pd

#: (claim id, where in the paper, what, the paper's value, kind).  ``result`` rows
#: are what the paper found and each gets a ledger row; ``setting`` rows are how
#: it says it worked (the architecture, the threshold, the split), which this
#: project follows; ``premise`` rows are what its method takes for granted, tested
#: in the "Beyond the paper" chapters.
PAPER_CLAIMS = [
    ("dataset_flows", "Section 3.1", "flows in the study's dataset", 100_000, "result"),
    ("features", "Section 3.1", "attributes per flow", 43, "result"),
    ("benign_fraction", "Section 3.1", "share of benign flows", 0.90, "result"),
    ("train_flows", "Section 3.2", "training flows", 80_000, "result"),
    ("test_flows", "Section 3.2 / Table 1", "test flows", 20_000, "result"),
    ("epochs", "Section 3.4", "training epochs", 20, "result"),
    ("accuracy", "Table 1", "accuracy", 0.9981, "result"),
    ("precision", "Table 1", "precision", 0.9981, "result"),
    ("recall", "Table 1", "recall", 0.9981, "result"),
    ("f1", "Table 1", "F1-score", 0.9981, "result"),
    ("roc_auc", "Table 1", "ROC-AUC", 0.9989, "result"),
    ("average_precision", "Table 1", "average precision", 0.9985, "result"),
    ("false_positive_rate", "Table 1", "false positive rate", 0.0011, "result"),
    ("detection_rate", "Section 5", "detection rate", 0.981, "result"),
    ("tn", "Table 2", "true negatives", 17_980, "result"),
    ("fp", "Table 2", "false positives", 20, "result"),
    ("fn", "Table 2", "false negatives", 38, "result"),
    ("tp", "Table 2", "true positives", 1_962, "result"),
    ("train_loss_epoch_1", "Section 4.1", "training loss after epoch 1", 0.49, "result"),
    ("train_loss_epoch_5", "Section 4.1", "training loss after epoch 5", 0.025, "result"),
    ("train_accuracy_epoch_1", "Section 4.1", "training accuracy after epoch 1", 0.80, "result"),
    ("train_accuracy_epoch_5", "Section 4.1", "training accuracy after epoch 5", 0.97, "result"),
    ("train_accuracy_epoch_15", "Section 4.1", "training accuracy by epoch 15", 0.993, "result"),
    ("train_accuracy_epoch_20", "Section 4.1", "training accuracy at epoch 20", 0.998, "result"),
    ("train_loss_epoch_20", "Section 4.1", "training loss at epoch 20", 0.006, "result"),
    ("random_forest_accuracy", "Table 3", "Random Forest accuracy", 0.973, "result"),
    ("svm_accuracy", "Table 3", "SVM accuracy", 0.968, "result"),
    (
        "literature_accuracy_low",
        "Section 2 / Table 3",
        "published CNN-LSTM accuracy, NSL-KDD",
        0.9839,
        "result",
    ),
    (
        "literature_accuracy_high",
        "Section 2 / Table 3",
        "published CNN-LSTM accuracy, CICIDS2017",
        0.994,
        "result",
    ),
    ("ranking", "Section 4.4", "CNN-LSTM > Random Forest > SVM (accuracy)", "holds", "result"),
    (
        "slow_rate_misses",
        "Section 4.3",
        "missed attacks are mainly low-intensity, slow-rate",
        "yes",
        "result",
    ),
    ("latency_ms_per_flow", "Section 4.5", "inference latency per flow (ms)", 2.5, "result"),
    ("flows_per_second", "Section 4.5", "inference throughput (flows/s)", 400, "result"),
    # What the method takes for granted (tested beyond the paper)
    (
        "independent_test_set",
        "Abstract",
        "the test set is fully independent of training",
        "yes",
        "premise",
    ),
    (
        "natural_imbalance",
        "Section 3.1",
        "90:10 benign to attack is CICIoT2023's natural ratio",
        0.90,
        "premise",
    ),
    (
        "hybrid_beats_parts",
        "Section 3.3",
        "CNN and LSTM together beat either alone",
        "yes",
        "premise",
    ),
    (
        "feature_order_matters",
        "Section 3.3",
        "convolutions over three consecutive features find local patterns",
        "yes",
        "premise",
    ),
    (
        "dropout_prevents_overfitting",
        "Section 4.1",
        "dropout (rate 0.5) prevents overfitting",
        "yes",
        "premise",
    ),
    # How the paper says it worked (followed here, not results)
    (
        "test_fraction",
        "Section 3.2",
        "share of flows held out for testing (80:20)",
        0.20,
        "setting",
    ),
    ("conv_filters", "Section 3.3", "Conv1D filters", 32, "setting"),
    ("kernel_size", "Section 3.3", "Conv1D kernel size", 3, "setting"),
    ("lstm1_units", "Section 3.3", "units of the first LSTM", 64, "setting"),
    ("lstm2_units", "Section 3.3", "units of the second LSTM", 32, "setting"),
    ("dense_units", "Section 3.3", "units of the dense layer", 16, "setting"),
    ("dropout_rate", "Section 3.3", "dropout rate", 0.5, "setting"),
    (
        "threshold",
        "Section 3.3",
        "probability at or above which a flow is an attack",
        0.5,
        "setting",
    ),
]

#: The Table 1 metrics, in the paper's order, with the names our code uses.
TABLE1_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "average_precision",
    "false_positive_rate",
    "detection_rate",
)


CLAIM_KINDS = ("result", "premise", "setting")


def paper_claims(kind: str | None = None) -> pd.DataFrame:
    """The paper's claims as a table indexed by claim id.

    Parameters
    ----------
    kind : {"result", "premise", "setting"} or None, default None
        Only rows of this kind; all rows when None.
    """
    claims = pd.DataFrame(PAPER_CLAIMS, columns=["claim", "where", "what", "paper", "kind"])
    if kind is not None:
        if kind not in CLAIM_KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose one of {CLAIM_KINDS}")
        claims = claims[claims["kind"] == kind]
    return claims.set_index("claim")


def paper_value(claim: str) -> float:
    """One of the paper's values, by claim id (KeyError names the unknown id)."""
    claims = paper_claims()
    if claim not in claims.index:
        raise KeyError(f"the paper makes no claim {claim!r}; known: {list(claims.index)}")
    return claims.loc[claim, "paper"]


def training_trajectory() -> pd.DataFrame:
    """The training-loss and -accuracy points the paper gives in Section 4.1."""
    claims = paper_claims()
    rows = []
    for claim, value in claims["paper"].items():
        if claim.startswith(("train_loss_epoch_", "train_accuracy_epoch_")):
            metric = "loss" if claim.startswith("train_loss") else "accuracy"
            rows.append(
                {
                    "epoch": int(claim.rsplit("_", 1)[1]),
                    "metric": metric,
                    "value": float(value),
                    "claim": claim,
                }
            )
    return pd.DataFrame(rows)
