"""The claims ledger: every claim of the paper against this run's results.

Built only from the run's JSON artefacts and the paper's claims table
(:mod:`ids_utils.paper`); nothing in it is typed by hand.  Rows are grouped by
the chapter that tests them, so each chapter can close with its own verdicts
(:func:`chapter_ledger`) and the ledger page is their union (:func:`build_ledger`).
The verdict rule is :data:`VERDICT_RULE`, printed above the ledger in the book.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import read_json
from .evaluation import CONFIDENCE, metrics_from_confusion
from .models import CNN_LSTMS, model_slug
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

#: A ratio claim holds when ours is within this of the paper's.
RATIO_TOLERANCE = 5e-3

VERDICT_RULE = f"""**Verdict rule.** *{REPRODUCED.capitalize()}*: the paper's value lies within our
{CONFIDENCE:.0%} interval over seeds (split and training repeated; the range over seeds for the
training curve); an exact quantity (a count, a size) equals ours; a ratio is within
{RATIO_TOLERANCE:g} of ours; a bound (latency, throughput) is met by at least one of our inference
paths; a qualitative claim or premise (the ranking of models, the slow-rate explanation of misses,
the benefit of an architectural part) holds in our data, for a difference between models meaning
that its {CONFIDENCE:.0%} interval over seeds lies above zero. *{NOT_REPRODUCED.capitalize()}*: the
same tests fail. *{NOT_TESTABLE.capitalize()}*: the claim depends on data this build does not have
(the paper's scale, its release's features, another dataset), or on a repeated measurement this
profile did not repeat. *{INCONSISTENT.capitalize()}*: the paper's own numbers contradict each other
(its Table 1 against its Table 2); our value is shown all the same. A *{REPRODUCED}* verdict inside
an interval wider than {WIDE_INTERVAL:g} is marked as uninformative: with few seeds at a small scale
almost any value fits.
"""


def _within(value: float, low: float, high: float) -> str:
    if pd.isna(low) or pd.isna(high):
        return NOT_TESTABLE
    return REPRODUCED if low <= value <= high else NOT_REPRODUCED


def _above_zero(difference: dict) -> str:
    """Verdict on a premise that one model beats another (paired difference over seeds)."""
    if pd.isna(difference["ci_low"]):
        return NOT_TESTABLE
    return REPRODUCED if difference["ci_low"] > 0 else NOT_REPRODUCED


class _Rows:
    """Collects ledger rows, filling in where and what from the claims table."""

    def __init__(self):
        self.claims = paper_claims()
        self.rows = []

    def paper(self, claim):
        return self.claims.loc[claim, "paper"]

    def add(self, claim, ours, low=np.nan, high=np.nan, verdict=None, note="", model=""):
        self.rows.append(
            {
                "claim": claim,
                "model": model,
                "where": self.claims.loc[claim, "where"],
                "what": self.claims.loc[claim, "what"],
                "paper": self.paper(claim),
                "ours": ours,
                "ci_low": low,
                "ci_high": high,
                "verdict": verdict,
                "note": note,
            }
        )

    def exact(self, claim, ours, note):
        """An exact quantity: equal, or not testable at another scale."""
        self.add(
            claim,
            ours,
            verdict=REPRODUCED if ours == self.paper(claim) else NOT_TESTABLE,
            note=note,
        )


def _scale_note(data: dict) -> str:
    achieved, requested = data["sample"]["achieved"], data["sample"]["requested"]
    if achieved["total"] < requested["total"]:
        return f"the source limits this build to {achieved['total']:,} flows"
    return f"the {data['profile']} profile asks for {requested['total']:,} flows"


def _data(artifacts: Path, rows: _Rows) -> None:
    data = read_json(artifacts / "data_report.json")
    rows.exact("dataset_flows", data["sample"]["achieved"]["total"], _scale_note(data))
    n_features = len(data["features"]["used"])
    rows.exact(
        "features",
        n_features,
        ""
        if n_features == rows.paper("features")
        else f"{data['source']['release']} has {n_features} features",
    )
    fraction = data["sample"]["benign_fraction_achieved"]
    rows.add(
        "benign_fraction",
        round(fraction, 4),
        verdict=REPRODUCED
        if abs(fraction - rows.paper("benign_fraction")) < RATIO_TOLERANCE
        else NOT_REPRODUCED,
    )


def _preprocessing(artifacts: Path, rows: _Rows) -> None:
    data = read_json(artifacts / "data_report.json")
    prep = read_json(artifacts / "preprocessing_report.json")
    split = next(iter(prep["per_seed"].values()))["split"]
    rows.exact("train_flows", split["train"]["flows"] + split["val"]["flows"], _scale_note(data))
    rows.exact("test_flows", split["test"]["flows"], _scale_note(data))


def _diverged_note(diverged: int, total: int) -> str:
    """Says how many of a model's runs diverged; they are in the mean, marked here."""
    return f"{diverged} of {total} seed(s) diverged (included, marked)" if diverged else ""


def _join(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


def _training(artifacts: Path, rows: _Rows) -> None:
    report = read_json(artifacts / "training.json")
    for model, result in report["models"].items():
        histories = pd.concat(
            [
                pd.read_csv(artifacts / f"seed-{s}" / model_slug(model) / "history.csv")
                for s in report["seeds"]
            ]
        )
        diverged = sum(seed["diverged"] for seed in result["diverged"].values())
        marked = _diverged_note(diverged, len(result["diverged"]))
        epochs = int(histories["epoch"].max())
        rows.exact(
            "epochs",
            epochs,
            "" if epochs == rows.paper("epochs") else f"this profile trains {epochs} epochs",
        )
        rows.rows[-1]["model"] = model
        by_epoch = histories.groupby("epoch")
        for claim in rows.claims.index[
            rows.claims.index.str.startswith(("train_loss", "train_accuracy"))
        ]:
            epoch = int(claim.rsplit("_", 1)[1])
            column = "loss" if claim.startswith("train_loss") else "accuracy"
            if epoch not in by_epoch.groups:
                rows.add(
                    claim,
                    np.nan,
                    verdict=NOT_TESTABLE,
                    note="this run trained fewer epochs",
                    model=model,
                )
                continue
            values = by_epoch.get_group(epoch)[column]
            rows.add(
                claim,
                values.mean(),
                values.min(),
                values.max(),
                _within(rows.paper(claim), values.min(), values.max()),
                _join("range over seeds", marked),
                model,
            )


def _evaluation(artifacts: Path, rows: _Rows) -> None:
    metrics = read_json(artifacts / "metrics.json")
    implied = metrics_from_confusion(*(int(rows.paper(c)) for c in ("tn", "fp", "fn", "tp")))
    for model, result in metrics["models"].items():
        marked = _diverged_note(len(result["diverged_seeds"]), len(result["per_seed"]))
        for name in TABLE1_METRICS:
            aggregate = result["aggregate"][name]
            low, high = aggregate["ci_low"], aggregate["ci_high"]
            verdict = _within(rows.paper(name), low, high)
            note = "" if verdict != NOT_TESTABLE else "one seed: no interval"
            if verdict == REPRODUCED and high - low > WIDE_INTERVAL:
                note = "interval too wide to tell: consistent with the paper, not a confirmation"
            if name in implied and abs(implied[name] - rows.paper(name)) > ARITHMETIC_TOLERANCE:
                verdict = INCONSISTENT
                note = f"its Table 2 implies {implied[name]:.4f}"
            rows.add(name, aggregate["mean"], low, high, verdict, _join(note, marked), model)
        # Cell counts depend on the test-set size: comparable only at the paper's size.
        n_test = next(iter(result["per_seed"].values()))["n"]
        for cell in ("tn", "fp", "fn", "tp"):
            values = [m[cell] for m in result["per_seed"].values()]
            rows.add(
                cell,
                float(np.mean(values)),
                verdict=NOT_TESTABLE
                if n_test != rows.paper("test_flows")
                else _within(rows.paper(cell), min(values), max(values)),
                note=f"mean count over seeds on {n_test:,} test flows",
                model=model,
            )


def _baselines(artifacts: Path, rows: _Rows) -> None:
    baselines = read_json(artifacts / "baselines.json")
    for claim, model in (
        ("random_forest_accuracy", "Random Forest"),
        ("svm_accuracy", "SVM (RBF)"),
    ):
        accuracy = baselines["aggregate"][model]["accuracy"]
        rows.add(
            claim,
            accuracy["mean"],
            accuracy["ci_low"],
            accuracy["ci_high"],
            _within(rows.paper(claim), accuracy["ci_low"], accuracy["ci_high"]),
        )
    rows.add(
        "literature_accuracy_high",
        np.nan,
        verdict=NOT_TESTABLE,
        note="CICIDS2017 is not among this project's datasets",
    )
    for model, ranking in baselines["ranking"].items():
        holds = ranking["paper_ranking_holds"]
        best = ranking["order"][0]
        rows.add(
            "ranking",
            "holds" if holds else "does not hold",
            verdict=REPRODUCED if holds else NOT_REPRODUCED,
            note=f"best mean accuracy here: {best} "
            f"({baselines['aggregate'][best]['accuracy']['mean']:.4f})",
            model=model,
        )


def _error_analysis(artifacts: Path, rows: _Rows) -> None:
    for model, slow in read_json(artifacts / "errors.json")["slow_rate_verdict"].items():
        rows.add(
            "slow_rate_misses",
            slow.split(":")[0],
            verdict=REPRODUCED
            if slow.startswith("supported")
            else NOT_TESTABLE
            if slow.startswith("not testable")
            else NOT_REPRODUCED,
            note="one-sided Mann-Whitney test on Rate, misses against hits",
            model=model,
        )


def _latency(artifacts: Path, rows: _Rows) -> None:
    # The paper's figures are bounds a deployment must meet.
    results = pd.DataFrame(read_json(artifacts / "latency.json")["results"])
    one_thread = results[results["threads"] == 1]
    naive = one_thread[one_thread["path"] == "Keras predict"]["median_ms"].iloc[0]
    fastest = one_thread["median_ms"].min()
    rows.add(
        "latency_ms_per_flow",
        fastest,
        verdict=REPRODUCED if fastest <= rows.paper("latency_ms_per_flow") else NOT_REPRODUCED,
        note=f"fastest path, one thread; Keras predict on one row: {naive:.2f} ms",
    )
    best_rate = results["flows_per_second"].max()
    rows.add(
        "flows_per_second",
        best_rate,
        verdict=REPRODUCED if best_rate >= rows.paper("flows_per_second") else NOT_REPRODUCED,
        note="best batched path",
    )


def _data_audit(artifacts: Path, rows: _Rows) -> None:
    audit = read_json(artifacts / "audit.json")
    share = audit["test_copies"]["share_with_feature_copy_in_train"]
    rows.add(
        "independent_test_set",
        round(share, 4),
        verdict=REPRODUCED if share == 0 else NOT_REPRODUCED,
        note=f"share of test flows whose feature vector is also in training (mean over "
        f"seeds); the whole source holds "
        f"{audit['duplicates_in_source']['duplicate_vectors']:,} repeated vectors",
    )


def _ablations(artifacts: Path, rows: _Rows) -> None:
    ablations = read_json(artifacts / "ablations.json")
    differences = ablations["differences"]
    metric = ablations["metric"]

    def premise(claim, variants):
        worst = min(
            variants,
            key=lambda v: (
                differences[v][metric]["ci_low"]
                if not pd.isna(differences[v][metric]["ci_low"])
                else -np.inf
            ),
        )
        difference = differences[worst][metric]
        rows.add(
            claim,
            round(difference["mean"], 4),
            difference["ci_low"],
            difference["ci_high"],
            _above_zero(difference),
            note=f"CNN-LSTM minus {worst}, {metric}",
        )

    premise("hybrid_beats_parts", ["CNN only", "LSTM only"])
    premise("feature_order_matters", ["permuted features"])
    premise("dropout_prevents_overfitting", ["no dropout"])


def _class_ratio(artifacts: Path, rows: _Rows) -> None:
    ratio = read_json(artifacts / "class_ratio.json")
    ours = ratio["source_benign_fraction"]
    rows.add(
        "natural_imbalance",
        round(ours, 4),
        verdict=REPRODUCED
        if abs(ours - rows.paper("natural_imbalance")) < RATIO_TOLERANCE
        else NOT_REPRODUCED,
        note=f"benign share of this build's source; the full release's publishers give "
        f"{ratio['official_benign_fraction']:.2%}",
    )


def _cross_dataset(artifacts: Path, rows: _Rows) -> None:
    cross = read_json(artifacts / "cross_dataset.json")
    for model in CNN_LSTMS:
        accuracy = cross["aggregate"][cross["paper_protocol"]][model]["accuracy"]
        official = cross["aggregate"]["KDDTest+"][model]["accuracy"]["mean"]
        # A model whose outputs were not finite has no accuracy (null in the JSON).
        official = "not scored" if official is None or pd.isna(official) else f"{official:.4f}"
        verdict = _within(
            rows.paper("literature_accuracy_low"), accuracy["ci_low"], accuracy["ci_high"]
        )
        seeds = "" if verdict != NOT_TESTABLE else "one seed, no interval; "
        diverged = cross["diverged"][model][cross["paper_protocol"]]
        rate = cross["learning_rate_choice"]["chosen"][model]["learning_rate"]
        rows.add(
            "literature_accuracy_low",
            accuracy["mean"],
            accuracy["ci_low"],
            accuracy["ci_high"],
            verdict,
            note=_join(
                f"{seeds}this project's CNN-LSTM on NSL-KDD "
                f"({cross['paper_protocol']}), learning rate {rate:g} chosen on "
                f"validation; on the official KDDTest+: {official}",
                _diverged_note(sum(diverged.values()), len(diverged)),
            ),
            model=model,
        )


#: Which chapter tests which claims, in the book's order.
CHAPTERS = {
    "01_data": _data,
    "02_preprocessing": _preprocessing,
    "04_training": _training,
    "05_evaluation": _evaluation,
    "06_baselines": _baselines,
    "07_error_analysis": _error_analysis,
    "08_latency": _latency,
    "09_data_audit": _data_audit,
    "10_ablations": _ablations,
    "11_class_ratio": _class_ratio,
    "12_cross_dataset": _cross_dataset,
}


def chapter_ledger(run_dir: str | Path, chapter: str) -> pd.DataFrame:
    """The ledger rows one chapter tests, from the artefacts written so far.

    Parameters
    ----------
    run_dir : str or Path
        The run; the chapter's JSON (and that of earlier chapters) must exist.
    chapter : str
        A key of :data:`CHAPTERS`, such as ``"05_evaluation"``.
    """
    if chapter not in CHAPTERS:
        raise ValueError(f"no ledger rows for chapter {chapter!r}; known: {list(CHAPTERS)}")
    rows = _Rows()
    CHAPTERS[chapter](Path(run_dir) / "artifacts", rows)
    return pd.DataFrame(rows.rows).assign(chapter=chapter)


def build_ledger(run_dir: str | Path) -> pd.DataFrame:
    """One row per claim (results and premises) and, for the claims about the CNN-LSTM,
    per model (as written, stabilised): where, what, the paper's value, ours, our
    interval, the verdict, a note, and the chapter that tests it.

    Parameters
    ----------
    run_dir : str or Path
        A complete run (every stage's JSON present).
    """
    return pd.concat([chapter_ledger(run_dir, chapter) for chapter in CHAPTERS], ignore_index=True)


def glue_verdicts(run_dir: str | Path, chapter: str, key: str = "verdicts") -> pd.DataFrame:
    """Glue a chapter's verdicts as Markdown (myst-nb) for its closing section.

    The chapter pastes them with a ``{glue:md}`` directive, so its verdicts are
    the ledger's rows and never typed.  Returns the rows.
    """
    from IPython.display import Markdown
    from myst_nb import glue

    table = chapter_ledger(run_dir, chapter)
    glue(key, Markdown(verdict_list(table)), display=False)
    return table


def verdict_list(ledger: pd.DataFrame) -> str:
    """A chapter's verdicts as a Markdown list, for the close of the chapter."""
    lines = []
    for row in ledger.itertuples():
        interval = (
            ""
            if pd.isna(row.ci_low)
            else f" (interval {_number(row.ci_low)} to {_number(row.ci_high)})"
        )
        # A ledger read back from CSV has NaN where a row has no model or note.
        note = f"; {row.note}" if isinstance(row.note, str) and row.note else ""
        model = f" [{row.model}]" if isinstance(row.model, str) and row.model else ""
        lines.append(
            f"- {row.what} ({row.where}){model}: paper {_number(row.paper)}, ours "
            f"{_number(row.ours)}{interval}: **{row.verdict}**{note}."
        )
    return "\n".join(lines) + "\n"


def _number(value) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if abs(value) >= 1000 or (float(value).is_integer() and abs(value) >= 10):
        return f"{value:,.0f}"
    return f"{value:.4g}"


def ledger_markdown(ledger: pd.DataFrame) -> str:
    """The ledger as Markdown tables, one per part of the book, numbers formatted for reading."""

    def summary(rows):
        return ", ".join(f"{n} {verdict}" for verdict, n in rows["verdict"].value_counts().items())

    per_model = "".join(
        f"\n- **{model}**: {summary(ledger[ledger['model'] == model])}" for model in CNN_LSTMS
    )
    parts = [
        f"{ledger['claim'].nunique()} claims in {len(ledger)} rows (a claim about the "
        f"CNN-LSTM has a row per model): {summary(ledger)}.\n\nRows about each CNN-LSTM:"
        f"{per_model}\n"
    ]
    premises = ledger["claim"].isin(paper_claims("premise").index)
    for title, part in (
        ("The paper's results", ledger[~premises]),
        ("What the paper takes for granted (beyond the paper)", ledger[premises]),
    ):
        lines = [
            f"## {title}\n",
            "| claim | where | model | paper | ours | interval | verdict | note |",
            "| --- | --- | --- | ---: | ---: | --- | --- | --- |",
        ]
        for row in part.itertuples():
            interval = (
                "-" if pd.isna(row.ci_low) else f"[{_number(row.ci_low)}, {_number(row.ci_high)}]"
            )
            lines.append(
                f"| {row.what} | {row.where} | {row.model or '-'} | "
                f"{_number(row.paper)} | "
                f"{_number(row.ours)} | {interval} | **{row.verdict}** | {row.note} |"
            )
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)
