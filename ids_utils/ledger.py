"""The claims ledger: every quantitative claim of the paper against this run's results.

Built only from the run's JSON artefacts and the paper's claims table
(:mod:`ids_utils.paper`); nothing in it is typed by hand.

Verdict rule (also printed above the ledger in the book):

- **reproduced**: a repeated measurement's 95% interval over seeds contains the
  paper's value; an exact quantity (a count, a size) equals it; a bound (latency,
  throughput) is met by at least one of our inference paths; a qualitative
  claim (a ranking, the slow-rate explanation) holds in our data.
- **not reproduced**: the same tests fail.
- **not testable with these data**: the claim depends on data this build does
  not have (the paper's scale, its release's 43 features).
- **inconsistent within the paper**: the paper's own numbers contradict each
  other (its Table 1 against its Table 2); our value is still shown.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import read_json
from .evaluation import metrics_from_confusion
from .paper import TABLE1_METRICS, paper_claims

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_TESTABLE = "not testable with these data"
INCONSISTENT = "inconsistent within the paper"

#: Above this gap between a reported metric and the one its Table 2 implies,
#: the paper is inconsistent with itself (its values have four digits).
ARITHMETIC_TOLERANCE = 5e-4

#: An interval wider than this contains almost any value: a "reproduced" verdict
#: inside it is flagged as uninformative.
WIDE_INTERVAL = 0.1


def _interval(row: dict) -> tuple[float, float, float]:
    return row["mean"], row["ci_low"], row["ci_high"]


def _within(value: float, low: float, high: float) -> str:
    if np.isnan(low) or np.isnan(high):
        return NOT_TESTABLE
    return REPRODUCED if low <= value <= high else NOT_REPRODUCED


def build_ledger(run_dir: str | Path) -> pd.DataFrame:
    """One row per claim: where, what, the paper's value, ours, our interval, the verdict.

    Parameters
    ----------
    run_dir : str or Path
        A complete run (every stage's JSON present).
    """
    artifacts = Path(run_dir) / "artifacts"
    data = read_json(artifacts / "data_report.json")
    prep = read_json(artifacts / "preprocessing_report.json")
    metrics = read_json(artifacts / "metrics.json")
    baselines = read_json(artifacts / "baselines.json")
    errors = read_json(artifacts / "errors.json")
    latency = read_json(artifacts / "latency.json")
    histories = pd.concat([pd.read_csv(artifacts / f"seed-{s}" / "history.csv")
                           for s in metrics["seeds"]])
    claims = paper_claims()
    rows = []

    def add(claim, ours, low=np.nan, high=np.nan, verdict=None, note=""):
        rows.append({"claim": claim, "where": claims.loc[claim, "where"],
                     "what": claims.loc[claim, "what"], "paper": claims.loc[claim, "paper"],
                     "ours": ours, "ci_low": low, "ci_high": high, "verdict": verdict,
                     "note": note})

    # Data and split (Sections 3.1-3.2)
    achieved, requested = data["sample"]["achieved"], data["sample"]["requested"]
    scale_note = (f"the source limits this build to {achieved['total']:,} flows"
                  if achieved["total"] < requested["total"] else
                  f"the {data['profile']} profile asks for {requested['total']:,} flows")
    add("dataset_flows", achieved["total"],
        verdict=REPRODUCED if achieved["total"] == claims.loc["dataset_flows", "paper"]
        else NOT_TESTABLE, note=scale_note)
    n_features = len(data["features"]["used"])
    add("features", n_features,
        verdict=REPRODUCED if n_features == claims.loc["features", "paper"] else NOT_TESTABLE,
        note="" if n_features == claims.loc["features", "paper"]
        else f"{data['source']['release']} has {n_features} features")
    fraction = data["sample"]["benign_fraction_achieved"]
    add("benign_fraction", round(fraction, 4),
        verdict=REPRODUCED if abs(fraction - claims.loc["benign_fraction", "paper"]) < 5e-3
        else NOT_REPRODUCED)
    split = next(iter(prep["per_seed"].values()))["split"]
    train_flows = split["train"]["flows"] + split["val"]["flows"]
    for claim, ours in (("train_flows", train_flows), ("test_flows", split["test"]["flows"])):
        add(claim, ours, verdict=REPRODUCED if ours == claims.loc[claim, "paper"]
            else NOT_TESTABLE, note=scale_note)
    epochs = int(histories["epoch"].max())
    add("epochs", epochs,
        verdict=REPRODUCED if epochs == claims.loc["epochs", "paper"] else NOT_TESTABLE,
        note="" if epochs == claims.loc["epochs", "paper"]
        else f"the {data['profile']} profile trains {epochs} epochs")

    # Table 1, with the paper's own arithmetic (Table 2 implies other values)
    implied = metrics_from_confusion(*(int(claims.loc[c, "paper"]) for c in ("tn", "fp", "fn", "tp")))
    for name in TABLE1_METRICS:
        mean, low, high = _interval(metrics["aggregate"][name])
        verdict = _within(claims.loc[name, "paper"], low, high)
        note = "" if verdict != NOT_TESTABLE else "one seed: no interval"
        if verdict == REPRODUCED and high - low > WIDE_INTERVAL:
            note = "interval too wide to tell: consistent with the paper, not a confirmation"
        if name in implied and abs(implied[name] - claims.loc[name, "paper"]) > ARITHMETIC_TOLERANCE:
            verdict = INCONSISTENT
            note = f"its Table 2 implies {implied[name]:.4f}"
        add(name, mean, low, high, verdict, note)

    # Table 2: cell counts depend on the test-set size, so compare the rates they imply
    n_test = split["test"]["flows"]
    for cell in ("tn", "fp", "fn", "tp"):
        values = [m[cell] for m in metrics["per_seed"].values()]
        add(cell, float(np.mean(values)),
            verdict=NOT_TESTABLE if n_test != claims.loc["test_flows", "paper"] else
            _within(claims.loc[cell, "paper"], min(values), max(values)),
            note=f"mean count over seeds on {n_test:,} test flows")

    # Training trajectory (Section 4.1), mean training values at the stated epochs
    by_epoch = histories.groupby("epoch")
    for claim in claims.index[claims.index.str.startswith(("train_loss", "train_accuracy"))]:
        epoch = int(claim.rsplit("_", 1)[1])
        column = "loss" if claim.startswith("train_loss") else "accuracy"
        if epoch not in by_epoch.groups:
            add(claim, np.nan, verdict=NOT_TESTABLE, note="this run trained fewer epochs")
            continue
        values = by_epoch.get_group(epoch)[column]
        add(claim, values.mean(), values.min(), values.max(),
            _within(claims.loc[claim, "paper"], values.min(), values.max()),
            note="range over seeds")

    # Baselines (Table 3)
    for claim, model in (("random_forest_accuracy", "Random Forest"), ("svm_accuracy", "SVM (RBF)")):
        mean, low, high = _interval(baselines["aggregate"][model]["accuracy"])
        add(claim, mean, low, high, _within(claims.loc[claim, "paper"], low, high))
    best = max(m["accuracy"]["mean"] for m in baselines["aggregate"].values())
    for claim in ("literature_accuracy_low", "literature_accuracy_high"):
        add(claim, np.nan, verdict=NOT_TESTABLE,
            note="other datasets (NSL-KDD, CICIDS2017); see the cross-dataset chapter when present")
    holds = baselines["ranking"]["paper_ranking_holds"]
    add("ranking", "holds" if holds else "does not hold",
        verdict=REPRODUCED if holds else NOT_REPRODUCED,
        note=f"best mean accuracy here: {baselines['ranking']['order'][0]} ({best:.4f})")

    # Error analysis (Section 4.3)
    slow = errors["slow_rate_verdict"]
    add("slow_rate_misses", slow.split(":")[0],
        verdict=REPRODUCED if slow.startswith("supported") else
        NOT_TESTABLE if slow.startswith("not testable") else NOT_REPRODUCED,
        note="one-sided Mann-Whitney test on Rate, misses against hits")

    # Latency (Section 4.5): the paper's figures as bounds a deployment must meet
    results = pd.DataFrame(latency["results"])
    one_thread = results[results["threads"] == 1]
    naive = one_thread[one_thread["path"] == "Keras predict"]["median_ms"].iloc[0]
    fastest = one_thread["median_ms"].min()
    add("latency_ms_per_flow", fastest,
        verdict=REPRODUCED if fastest <= claims.loc["latency_ms_per_flow", "paper"]
        else NOT_REPRODUCED,
        note=f"fastest path, one thread; Keras predict on one row: {naive:.2f} ms")
    best_rate = results["flows_per_second"].max()
    add("flows_per_second", best_rate,
        verdict=REPRODUCED if best_rate >= claims.loc["flows_per_second", "paper"]
        else NOT_REPRODUCED, note="best batched path")
    return pd.DataFrame(rows)


def ledger_markdown(ledger: pd.DataFrame) -> str:
    """The ledger as a Markdown table, numbers formatted for reading."""
    def number(value):
        if isinstance(value, str):
            return value
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return "-"
        if abs(value) >= 1000 or (float(value).is_integer() and abs(value) >= 10):
            return f"{value:,.0f}"
        return f"{value:.4g}"

    lines = ["| claim | where | paper | ours | 95% interval | verdict | note |",
             "| --- | --- | ---: | ---: | --- | --- | --- |"]
    for row in ledger.itertuples():
        interval = ("-" if np.isnan(row.ci_low) else f"[{number(row.ci_low)}, {number(row.ci_high)}]")
        lines.append(f"| {row.what} | {row.where} | {number(row.paper)} | {number(row.ours)} | "
                     f"{interval} | **{row.verdict}** | {row.note} |")
    counts = ledger["verdict"].value_counts()
    summary = ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
    return f"{len(ledger)} claims: {summary}.\n\n" + "\n".join(lines) + "\n"
