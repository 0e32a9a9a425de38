"""The paper's own claims: the one place where its numbers are typed in.

Every value below is quoted from Hashmi et al. (2026), with the section or
table it comes from.  Nothing here is a result of this project; the book shows
these values beside ours, labelled as the paper's.
"""

from __future__ import annotations

import pandas as pd

#: (claim id, where in the paper, what, the paper's value)
PAPER_CLAIMS = [
    ("dataset_flows", "Section 3.1", "flows in the study's dataset", 100_000),
    ("features", "Section 3.1", "attributes per flow", 43),
    ("benign_fraction", "Section 3.1", "share of benign flows", 0.90),
    ("train_flows", "Section 3.2", "training flows", 80_000),
    ("test_flows", "Section 3.2 / Table 1", "test flows", 20_000),
    ("epochs", "Section 3.4", "training epochs", 20),
    ("accuracy", "Table 1", "accuracy", 0.9981),
    ("precision", "Table 1", "precision", 0.9981),
    ("recall", "Table 1", "recall", 0.9981),
    ("f1", "Table 1", "F1-score", 0.9981),
    ("roc_auc", "Table 1", "ROC-AUC", 0.9989),
    ("average_precision", "Table 1", "average precision", 0.9985),
    ("false_positive_rate", "Table 1", "false positive rate", 0.0011),
    ("detection_rate", "Section 5", "detection rate", 0.981),
    ("tn", "Table 2", "true negatives", 17_980),
    ("fp", "Table 2", "false positives", 20),
    ("fn", "Table 2", "false negatives", 38),
    ("tp", "Table 2", "true positives", 1_962),
    ("train_loss_epoch_1", "Section 4.1", "training loss after epoch 1", 0.49),
    ("train_loss_epoch_5", "Section 4.1", "training loss after epoch 5", 0.025),
    ("train_accuracy_epoch_1", "Section 4.1", "training accuracy after epoch 1", 0.80),
    ("train_accuracy_epoch_5", "Section 4.1", "training accuracy after epoch 5", 0.97),
    ("train_accuracy_epoch_15", "Section 4.1", "training accuracy by epoch 15", 0.993),
    ("train_accuracy_epoch_20", "Section 4.1", "training accuracy at epoch 20", 0.998),
    ("train_loss_epoch_20", "Section 4.1", "training loss at epoch 20", 0.006),
    ("random_forest_accuracy", "Table 3", "Random Forest accuracy", 0.973),
    ("svm_accuracy", "Table 3", "SVM accuracy", 0.968),
    ("literature_accuracy_low", "Table 3", "published CNN-LSTMs, NSL-KDD / CICIDS2017 (low)", 0.9839),
    ("literature_accuracy_high", "Table 3", "published CNN-LSTMs, NSL-KDD / CICIDS2017 (high)", 0.994),
    ("ranking", "Section 4.4", "CNN-LSTM > Random Forest > SVM (accuracy)", "holds"),
    ("slow_rate_misses", "Section 4.3", "missed attacks are mainly low-intensity, slow-rate",
     "yes"),
    ("latency_ms_per_flow", "Section 4.5", "inference latency per flow (ms)", 2.5),
    ("flows_per_second", "Section 4.5", "inference throughput (flows/s)", 400),
]

#: The Table 1 metrics, in the paper's order, with the names our code uses.
TABLE1_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "average_precision",
                  "false_positive_rate", "detection_rate")


def paper_claims() -> pd.DataFrame:
    """The paper's claims as a table indexed by claim id."""
    return pd.DataFrame(PAPER_CLAIMS, columns=["claim", "where", "what", "paper"]).set_index("claim")


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
            rows.append({"epoch": int(claim.rsplit("_", 1)[1]), "metric": metric,
                         "value": float(value), "claim": claim})
    return pd.DataFrame(rows)
