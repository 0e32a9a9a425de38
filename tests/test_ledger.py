"""The ledger's verdicts per model, on small synthetic artifacts."""

from __future__ import annotations

import pytest

from ids_utils import ledger
from ids_utils.artifacts import write_json
from ids_utils.models import AS_WRITTEN, CNN_LSTMS, STABILISED, model_slug
from ids_utils.paper import TABLE1_METRICS, paper_value


def _aggregate(mean, low, high):
    return {
        name: {"mean": mean, "std": 0.01, "ci_low": low, "ci_high": high, "n_seeds": 3}
        for name in TABLE1_METRICS
    }


def _per_seed(diverged):
    cells = {"tn": 300, "fp": 3, "fn": 20, "tp": 14, "n": 337}
    return {str(seed): {**cells, "diverged": mark} for seed, mark in zip((1, 2, 3), diverged)}


@pytest.fixture
def run(tmp_path):
    roc = paper_value("roc_auc")
    write_json(
        tmp_path / "artifacts" / "metrics.json",
        {
            "models": {
                AS_WRITTEN: {
                    "aggregate": _aggregate(0.5, 0.3, 0.7),
                    "diverged_seeds": [2],
                    "per_seed": _per_seed([False, True, False]),
                },
                STABILISED: {
                    "aggregate": _aggregate(0.9, roc - 0.01, roc + 0.01),
                    "diverged_seeds": [],
                    "per_seed": _per_seed([False, False, False]),
                },
            }
        },
    )
    return tmp_path


def test_each_model_gets_its_own_verdict(run):
    table = ledger.chapter_ledger(run, "05_evaluation").set_index(["claim", "model"])
    assert set(table.index.get_level_values("model")) == set(CNN_LSTMS)
    # The stabilised interval holds the paper's ROC-AUC and is narrow: reproduced.
    assert table.loc[("roc_auc", STABILISED), "verdict"] == ledger.REPRODUCED
    # The as-written interval lies below the paper's value.
    assert table.loc[("roc_auc", AS_WRITTEN), "verdict"] == ledger.NOT_REPRODUCED
    # The paper's own arithmetic fails for every model alike.
    assert table.loc[("accuracy", AS_WRITTEN), "verdict"] == ledger.INCONSISTENT
    assert table.loc[("accuracy", STABILISED), "verdict"] == ledger.INCONSISTENT


def test_a_diverged_seed_is_marked_beside_every_metric_of_its_model(run):
    table = ledger.chapter_ledger(run, "05_evaluation")
    written = table[(table["model"] == AS_WRITTEN) & table["claim"].isin(TABLE1_METRICS)]
    assert written["note"].str.contains("1 of 3 seed\\(s\\) diverged \\(included, marked\\)").all()
    stabilised = table[table["model"] == STABILISED]
    assert not stabilised["note"].str.contains("diverged").any()


def test_an_interval_outside_the_paper_is_not_reproduced(tmp_path):
    write_json(
        tmp_path / "artifacts" / "metrics.json",
        {
            "models": {
                STABILISED: {
                    "aggregate": _aggregate(0.8, 0.78, 0.82),
                    "diverged_seeds": [],
                    "per_seed": _per_seed([False] * 3),
                }
            }
        },
    )
    table = ledger.chapter_ledger(tmp_path, "05_evaluation").set_index("claim")
    assert table.loc["roc_auc", "verdict"] == ledger.NOT_REPRODUCED
    assert table.loc["tn", "verdict"] == ledger.NOT_TESTABLE  # another test-set size


def test_markdown_summarises_each_model(run):
    text = ledger.ledger_markdown(ledger.chapter_ledger(run, "05_evaluation"))
    assert f"- **{AS_WRITTEN}**:" in text and f"- **{STABILISED}**:" in text
    assert f"| {AS_WRITTEN} |" in text


def test_a_wide_interval_is_flagged_as_uninformative(tmp_path):
    write_json(
        tmp_path / "artifacts" / "metrics.json",
        {
            "models": {
                STABILISED: {
                    "aggregate": _aggregate(0.9, 0.85, 1.0),
                    "diverged_seeds": [],
                    "per_seed": _per_seed([False] * 3),
                }
            }
        },
    )
    row = ledger.chapter_ledger(tmp_path, "05_evaluation").set_index("claim").loc["roc_auc"]
    assert row["verdict"] == ledger.REPRODUCED and "too wide" in row["note"]


# --- every chapter's rules on a real (ci) run: a golden ledger ---------------------------------

FIXTURE = __import__("pathlib").Path(__file__).parent / "fixtures" / "ci_run"
GOLDEN_COLUMNS = ["claim", "model", "paper", "ours", "ci_low", "ci_high", "verdict", "note"]


def test_the_ledger_of_a_real_run_matches_its_golden_copy():
    """The artefacts of a ci run (tests/fixtures/ci_run) give exactly the committed ledger.

    Regenerate after an intended change of a rule with
    ``UPDATE_GOLDEN=1 pytest tests/test_ledger.py -k golden`` and review the diff.
    """
    import os

    table = ledger.build_ledger(FIXTURE)[GOLDEN_COLUMNS]
    text = table.to_csv(index=False)
    golden = FIXTURE / "ledger.csv"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text.splitlines() == golden.read_text().splitlines()
    assert set(table["verdict"]) == {
        ledger.REPRODUCED,
        ledger.NOT_REPRODUCED,
        ledger.NOT_TESTABLE,
        ledger.INCONSISTENT,
    }


def test_a_chapters_name_agrees_between_the_toc_the_ledger_and_its_notebook():
    """The file name is the chapter's one name: the table of contents lists every stage
    notebook, the ledger's chapters are among them, and each notebook asks for its own
    verdicts."""
    import re

    import nbformat
    import yaml

    from ids_utils.pipeline import PROJECT_ROOT, notebook_paths

    toc = yaml.safe_load((PROJECT_ROOT / "_toc.yml").read_text())
    files = [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    stems = [path.stem for path in notebook_paths()]
    assert [f.removeprefix("notebooks/") for f in files if f.startswith("notebooks/")] == stems
    assert set(ledger.CHAPTERS) <= set(stems)
    for path in notebook_paths():
        source = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
        asked = re.findall(r'glue_verdicts\(run_dir, "(\w+)"\)', source)
        assert asked == ([path.stem] if path.stem in ledger.CHAPTERS else []), path.name


@pytest.mark.parametrize(
    "value, low, high, verdict",
    [
        (0.5, 0.5, 0.7, ledger.REPRODUCED),  # the bounds belong to the interval
        (0.7, 0.5, 0.7, ledger.REPRODUCED),
        (0.4999, 0.5, 0.7, ledger.NOT_REPRODUCED),
        (0.7001, 0.5, 0.7, ledger.NOT_REPRODUCED),
        (0.6, float("nan"), 0.7, ledger.NOT_TESTABLE),  # one seed: no interval
        (0.6, 0.5, float("nan"), ledger.NOT_TESTABLE),
    ],
)
def test_the_interval_rule_at_its_edges(value, low, high, verdict):
    assert ledger._within(value, low, high) == verdict


@pytest.mark.parametrize(
    "ci_low, verdict",
    [
        (0.001, ledger.REPRODUCED),
        (0.0, ledger.NOT_REPRODUCED),
        (-0.2, ledger.NOT_REPRODUCED),
        (float("nan"), ledger.NOT_TESTABLE),
    ],
)
def test_a_difference_counts_only_when_its_interval_lies_above_zero(ci_low, verdict):
    assert ledger._above_zero({"ci_low": ci_low, "ci_high": 0.5}) == verdict


def test_an_exact_quantity_is_reproduced_only_when_equal():
    rows = ledger._Rows()
    rows.exact("test_flows", paper_value("test_flows"), note="same")
    rows.exact("test_flows", paper_value("test_flows") - 1, note="")
    assert [r["verdict"] for r in rows.rows] == [ledger.REPRODUCED, ledger.NOT_TESTABLE]
    assert rows.rows[0]["paper"] == paper_value("test_flows") and rows.rows[0]["note"] == "same"
    assert rows.rows[0]["where"] == ledger.paper_claims().loc["test_flows", "where"]


def _latency_run(tmp_path, fastest_ms, best_rate):
    results = [
        {"path": "Keras predict", "threads": 1, "median_ms": 40.0, "flows_per_second": 10.0},
        {"path": "ONNX", "threads": 1, "median_ms": fastest_ms, "flows_per_second": best_rate},
        # Two threads are faster still, but the latency bound is judged on one thread.
        {"path": "ONNX", "threads": 2, "median_ms": fastest_ms / 10, "flows_per_second": 1.0},
    ]
    write_json(tmp_path / "artifacts" / "latency.json", {"results": results})
    table = ledger.chapter_ledger(tmp_path, "08_latency").set_index("claim")
    return table.loc["latency_ms_per_flow"], table.loc["flows_per_second"]


def test_latency_and_throughput_are_bounds_met_by_the_best_path(tmp_path):
    paper_ms, paper_rate = paper_value("latency_ms_per_flow"), paper_value("flows_per_second")
    latency, rate = _latency_run(tmp_path, paper_ms, paper_rate)  # exactly at the bounds
    assert latency["ours"] == paper_ms and latency["verdict"] == ledger.REPRODUCED
    assert rate["ours"] == paper_rate and rate["verdict"] == ledger.REPRODUCED
    assert "40.00 ms" in latency["note"]
    latency, rate = _latency_run(tmp_path, paper_ms * 1.01, paper_rate * 0.99)
    assert latency["verdict"] == rate["verdict"] == ledger.NOT_REPRODUCED


@pytest.mark.parametrize(
    "offset, verdict",
    [
        (0.0049, ledger.REPRODUCED),
        (-0.0049, ledger.REPRODUCED),
        (0.0051, ledger.NOT_REPRODUCED),
        (-0.0051, ledger.NOT_REPRODUCED),
    ],
)
def test_the_natural_imbalance_is_a_ratio_within_its_tolerance(tmp_path, offset, verdict):
    ours = paper_value("natural_imbalance") + offset
    write_json(
        tmp_path / "artifacts" / "class_ratio.json",
        {"source_benign_fraction": ours, "official_benign_fraction": 0.0235},
    )
    row = ledger.chapter_ledger(tmp_path, "11_class_ratio").set_index("claim").iloc[0]
    assert row["verdict"] == verdict and row["ours"] == round(ours, 4)
    assert "2.35%" in row["note"]


def _cells_run(tmp_path, n, tn_values):
    per_seed = {
        str(seed): {"tn": tn, "fp": 20, "fn": 38, "tp": 1962, "n": n, "diverged": False}
        for seed, tn in zip((1, 2, 3), tn_values)
    }
    write_json(
        tmp_path / "artifacts" / "metrics.json",
        {
            "models": {
                STABILISED: {
                    "aggregate": _aggregate(0.9, 0.85, 0.95),
                    "diverged_seeds": [],
                    "per_seed": per_seed,
                }
            }
        },
    )
    return ledger.chapter_ledger(tmp_path, "05_evaluation").set_index("claim")


def test_table2_cells_are_judged_by_the_range_over_seeds_only_at_the_papers_size(tmp_path):
    paper_tn, n = paper_value("tn"), int(paper_value("test_flows"))
    table = _cells_run(tmp_path, n, [paper_tn - 5, paper_tn, paper_tn + 5])
    assert table.loc["tn", "verdict"] == ledger.REPRODUCED
    assert table.loc["tn", "ours"] == pytest.approx(paper_tn)  # the mean over seeds
    assert table.loc["tn", "note"] == f"mean count over seeds on {n:,} test flows"
    table = _cells_run(tmp_path, n, [paper_tn + 1, paper_tn + 2, paper_tn + 3])
    assert table.loc["tn", "verdict"] == ledger.NOT_REPRODUCED
    table = _cells_run(tmp_path, n - 1, [paper_tn - 5, paper_tn, paper_tn + 5])
    assert table.loc["tn", "verdict"] == ledger.NOT_TESTABLE


def test_table1_values_its_table2_contradicts_are_inconsistent_whatever_ours(tmp_path):
    table = _cells_run(tmp_path, 337, [300, 300, 300])
    implied = ledger.metrics_from_confusion(
        *(int(paper_value(c)) for c in ("tn", "fp", "fn", "tp"))
    )
    for name in ("accuracy", "precision", "recall"):
        assert table.loc[name, "verdict"] == ledger.INCONSISTENT
        assert table.loc[name, "note"].startswith(f"its Table 2 implies {implied[name]:.4f}")
    assert table.loc["roc_auc", "verdict"] == ledger.NOT_REPRODUCED  # no Table 2 counterpart


def test_a_chapters_verdicts_read_as_a_markdown_list():
    import pandas as pd

    rows = pd.DataFrame(
        [
            {
                "what": "accuracy",
                "where": "Table 1",
                "model": "CNN-LSTM stabilised",
                "paper": 0.9981,
                "ours": 0.93391,
                "ci_low": 0.9273,
                "ci_high": 0.9404,
                "verdict": "not reproduced",
                "note": "5 seeds",
            },
            {
                "what": "test flows",
                "where": "Section 4",
                "model": "",
                "paper": 20000.0,
                "ours": 377,
                "ci_low": float("nan"),
                "ci_high": float("nan"),
                "verdict": "not testable",
                "note": "",
            },
            {
                "what": "ranking",
                "where": "Table 3",
                "model": None,
                "paper": "CNN-LSTM first",
                "ours": None,
                "ci_low": None,
                "ci_high": None,
                "verdict": "reproduced",
                "note": None,
            },
        ]
    )
    assert ledger.verdict_list(rows) == (
        "- accuracy (Table 1) [CNN-LSTM stabilised]: paper 0.9981, ours 0.9339 "
        "(interval 0.9273 to 0.9404): **not reproduced**; 5 seeds.\n"
        "- test flows (Section 4): paper 20,000, ours 377: **not testable**.\n"
        "- ranking (Table 3): paper CNN-LSTM first, ours -: **reproduced**.\n"
    )


@pytest.mark.parametrize(
    "value, text",
    [
        (0.123456, "0.1235"),
        (12.0, "12"),
        (9.0, "9"),
        (1234.5, "1,234"),
        (1000.5, "1,000"),  # from 1,000 on, whole numbers with separators
        (-2500, "-2,500"),
        (float("nan"), "-"),
        (None, "-"),
        ("n/a", "n/a"),
        (10.5, "10.5"),
    ],
)
def test_numbers_in_the_ledger_are_formatted_for_reading(value, text):
    assert ledger._number(value) == text


def test_glue_verdicts_pastes_the_chapters_rows(monkeypatch):
    import myst_nb

    glued = {}
    monkeypatch.setattr(
        myst_nb, "glue", lambda key, value, display: glued.update({key: (value, display)})
    )
    table = ledger.glue_verdicts(FIXTURE, "05_evaluation")
    assert not table.empty and set(table["chapter"]) == {"05_evaluation"}
    value, display = glued["verdicts"]  # the key the chapters paste
    assert display is False and value.data == ledger.verdict_list(table)


# --- each chapter's rules on small synthetic artefacts with several seeds ---------------------


def _artifacts(tmp_path, name, content):
    write_json(tmp_path / "artifacts" / name, content)
    return tmp_path


def _one(table, claim, model=None):
    rows = table[(table["claim"] == claim) & ((table["model"] == model) if model else True)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def _data_report(total, requested, benign_fraction, n_features, profile="paper"):
    return {
        "profile": profile,
        "sample": {
            "achieved": {"total": total},
            "requested": {"total": requested},
            "benign_fraction_achieved": benign_fraction,
        },
        "features": {"used": [f"f{i}" for i in range(n_features)]},
        "source": {"release": "ciciot2023-merged"},
    }


def test_the_data_chapter_says_why_an_exact_quantity_differs(tmp_path):
    paper_fraction = paper_value("benign_fraction")
    run = _artifacts(
        tmp_path,
        "data_report.json",
        _data_report(1888, 100_000, paper_fraction + 0.004, 39),
    )
    table = ledger.chapter_ledger(run, "01_data")
    flows = _one(table, "dataset_flows")
    assert flows["verdict"] == ledger.NOT_TESTABLE
    assert flows["note"] == "the source limits this build to 1,888 flows"
    features = _one(table, "features")
    assert features["note"] == "ciciot2023-merged has 39 features"
    fraction = _one(table, "benign_fraction")
    assert fraction["verdict"] == ledger.REPRODUCED
    assert fraction["ours"] == round(paper_fraction + 0.004, 4)
    run = _artifacts(
        tmp_path,
        "data_report.json",
        _data_report(100_000, 100_000, paper_fraction + 0.123456, int(paper_value("features"))),
    )
    table = ledger.chapter_ledger(run, "01_data")
    assert _one(table, "dataset_flows")["verdict"] == ledger.REPRODUCED
    assert _one(table, "dataset_flows")["note"] == "the paper profile asks for 100,000 flows"
    assert _one(table, "features")["verdict"] == ledger.REPRODUCED
    assert _one(table, "features")["note"] == ""
    assert _one(table, "benign_fraction")["ours"] == round(paper_fraction + 0.123456, 4)
    assert _one(table, "benign_fraction")["verdict"] == ledger.NOT_REPRODUCED
    edge = ledger.RATIO_TOLERANCE
    run = _artifacts(tmp_path, "data_report.json", _data_report(10, 10, paper_fraction + edge, 39))
    assert _one(ledger.chapter_ledger(run, "01_data"), "benign_fraction")["verdict"] == (
        ledger.NOT_REPRODUCED
    )  # the tolerance is strict


def _training_run(tmp_path, epochs, losses_by_seed, diverged):
    import pandas as pd

    for model in CNN_LSTMS:
        for seed, losses in losses_by_seed.items():
            folder = tmp_path / "artifacts" / f"seed-{seed}" / model_slug(model)
            folder.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(
                {"epoch": range(1, epochs + 1), "loss": losses, "accuracy": [0.9] * epochs}
            ).to_csv(folder / "history.csv", index=False)
    return _artifacts(
        tmp_path,
        "training.json",
        {
            "seeds": list(losses_by_seed),
            "models": {
                model: {"diverged": {str(s): {"diverged": d} for s, d in marks.items()}}
                for model, marks in diverged.items()
            },
        },
    )


def test_the_training_curve_is_judged_by_the_range_over_seeds(tmp_path):
    claims = [c for c in ledger.paper_claims().index if c.startswith("train_loss_")]
    epochs = max(int(c.rsplit("_", 1)[1]) for c in claims)
    first = int(claims[0].rsplit("_", 1)[1])
    paper_loss = paper_value(claims[0])
    low = [1.0] * epochs
    high = [1.0] * epochs
    low[first - 1], high[first - 1] = paper_loss - 0.01, paper_loss + 0.02
    run = _training_run(
        tmp_path,
        epochs,
        {1: low, 2: high},
        {AS_WRITTEN: {1: True, 2: False}, STABILISED: {1: False, 2: False}},
    )
    table = ledger.chapter_ledger(run, "04_training")
    row = _one(table, claims[0], STABILISED)
    assert row["verdict"] == ledger.REPRODUCED and row["note"] == "range over seeds"
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((paper_loss - 0.01, paper_loss + 0.02))
    assert row["ours"] == pytest.approx(paper_loss + 0.005)
    written = _one(table, claims[0], AS_WRITTEN)
    assert written["note"] == "range over seeds; 1 of 2 seed(s) diverged (included, marked)"
    epochs_row = _one(table, "epochs", STABILISED)
    expected = ledger.REPRODUCED if epochs == paper_value("epochs") else ledger.NOT_TESTABLE
    assert epochs_row["verdict"] == expected and epochs_row["ours"] == epochs
    if epochs == paper_value("epochs"):
        assert epochs_row["note"] == ""
    short = _training_run(
        tmp_path / "short",
        2,
        {1: [0.5, 0.4], 2: [0.6, 0.5]},
        {AS_WRITTEN: {1: False, 2: False}, STABILISED: {1: False, 2: False}},
    )
    table = ledger.chapter_ledger(short, "04_training")
    assert _one(table, "epochs", AS_WRITTEN)["note"] == "this profile trains 2 epochs"
    late = [c for c in claims if int(c.rsplit("_", 1)[1]) > 2][0]
    assert _one(table, late, AS_WRITTEN)["verdict"] == ledger.NOT_TESTABLE
    assert _one(table, late, AS_WRITTEN)["note"] == "this run trained fewer epochs"


def _baselines_run(tmp_path, rf, svm, holds):
    def interval(mean, low, high):
        return {"accuracy": {"mean": mean, "ci_low": low, "ci_high": high}}

    return _artifacts(
        tmp_path,
        "baselines.json",
        {
            "aggregate": {
                "Random Forest": interval(*rf),
                "SVM (RBF)": interval(*svm),
                "XGBoost": interval(0.991234, 0.98, 0.99),
            },
            "ranking": {
                model: {"paper_ranking_holds": mark, "order": ["XGBoost", model]}
                for model, mark in holds.items()
            },
        },
    )


def test_the_baselines_chapter_judges_each_accuracy_and_each_ranking(tmp_path):
    rf_paper, svm_paper = paper_value("random_forest_accuracy"), paper_value("svm_accuracy")
    run = _baselines_run(
        tmp_path,
        (0.95, rf_paper - 0.01, rf_paper + 0.01),
        (0.90, svm_paper + 0.001, svm_paper + 0.01),
        {AS_WRITTEN: False, STABILISED: True},
    )
    table = ledger.chapter_ledger(run, "06_baselines")
    rf = _one(table, "random_forest_accuracy")
    assert rf["verdict"] == ledger.REPRODUCED and rf["ours"] == 0.95
    assert (rf["ci_low"], rf["ci_high"]) == (rf_paper - 0.01, rf_paper + 0.01)
    assert _one(table, "svm_accuracy")["verdict"] == ledger.NOT_REPRODUCED
    assert _one(table, "literature_accuracy_high")["verdict"] == ledger.NOT_TESTABLE
    written, stabilised = _one(table, "ranking", AS_WRITTEN), _one(table, "ranking", STABILISED)
    assert (written["ours"], written["verdict"]) == ("does not hold", ledger.NOT_REPRODUCED)
    assert (stabilised["ours"], stabilised["verdict"]) == ("holds", ledger.REPRODUCED)
    assert stabilised["note"] == "best mean accuracy here: XGBoost (0.9912)"


def test_the_slow_rate_claim_follows_the_tests_words(tmp_path):
    run = _artifacts(
        tmp_path,
        "errors.json",
        {
            "slow_rate_verdict": {
                "a": "supported: missed attacks have a lower Rate",
                "b": "not supported: missed attacks do not",
                "c": "not testable with these data (too few missed attacks)",
            }
        },
    )
    table = ledger.chapter_ledger(run, "07_error_analysis").set_index("model")
    assert table.loc["a", "verdict"] == ledger.REPRODUCED and table.loc["a", "ours"] == "supported"
    assert table.loc["b", "verdict"] == ledger.NOT_REPRODUCED
    assert table.loc["c", "verdict"] == ledger.NOT_TESTABLE


@pytest.mark.parametrize(
    "share, verdict", [(0.0, ledger.REPRODUCED), (0.00004, ledger.NOT_REPRODUCED)]
)
def test_an_independent_test_set_has_no_copy_of_a_training_flow(tmp_path, share, verdict):
    run = _artifacts(
        tmp_path,
        "audit.json",
        {
            "test_copies": {"share_with_feature_copy_in_train": share},
            "duplicates_in_source": {"duplicate_vectors": 1234},
        },
    )
    row = _one(ledger.chapter_ledger(run, "09_data_audit"), "independent_test_set")
    assert row["verdict"] == verdict and row["ours"] == round(share, 4)
    assert row["note"].endswith("the whole source holds 1,234 repeated vectors")


def test_a_premise_is_judged_on_the_weakest_part(tmp_path):
    def diff(mean, low, high):
        return {"f1": {"mean": mean, "ci_low": low, "ci_high": high}}

    run = _artifacts(
        tmp_path,
        "ablations.json",
        {
            "metric": "f1",
            "differences": {
                "CNN only": diff(0.05, 0.01, 0.09),
                "LSTM only": diff(0.02, -0.01, 0.05),  # the weaker: decides the verdict
                "permuted features": diff(0.123456, float("nan"), float("nan")),
                "no dropout": diff(0.03, 0.001, 0.06),
            },
        },
    )
    table = ledger.chapter_ledger(run, "10_ablations")
    hybrid = _one(table, "hybrid_beats_parts")
    assert hybrid["verdict"] == ledger.NOT_REPRODUCED
    assert hybrid["note"] == "CNN-LSTM minus LSTM only, f1"
    assert (hybrid["ours"], hybrid["ci_low"], hybrid["ci_high"]) == (0.02, -0.01, 0.05)
    order = _one(table, "feature_order_matters")
    assert order["verdict"] == ledger.NOT_TESTABLE and order["ours"] == 0.1235
    assert _one(table, "dropout_prevents_overfitting")["verdict"] == ledger.REPRODUCED


def test_a_part_without_an_interval_is_the_weakest(tmp_path):
    def diff(low):
        return {"f1": {"mean": 0.1, "ci_low": low, "ci_high": 0.2}}

    run = _artifacts(
        tmp_path,
        "ablations.json",
        {
            "metric": "f1",
            "differences": {
                "CNN only": diff(float("nan")),
                "LSTM only": diff(0.05),
                "permuted features": diff(0.01),
                "no dropout": diff(0.01),
            },
        },
    )
    hybrid = _one(ledger.chapter_ledger(run, "10_ablations"), "hybrid_beats_parts")
    assert hybrid["verdict"] == ledger.NOT_TESTABLE and hybrid["note"].endswith("CNN only, f1")


def _cross_run(tmp_path, intervals, diverged):
    protocol = "KDDTrain+ split (the paper's protocol)"

    def accuracy(mean, low, high):
        return {"accuracy": {"mean": mean, "ci_low": low, "ci_high": high}}

    return _artifacts(
        tmp_path,
        "cross_dataset.json",
        {
            "paper_protocol": protocol,
            "aggregate": {
                protocol: {m: accuracy(*intervals[m]) for m in CNN_LSTMS},
                "KDDTest+": {m: accuracy(0.81234, 0.8, 0.82) for m in CNN_LSTMS},
            },
            "diverged": {m: {protocol: diverged[m]} for m in CNN_LSTMS},
            "learning_rate_choice": {
                "chosen": {
                    AS_WRITTEN: {"learning_rate": 0.001, "batch_size": 32},
                    STABILISED: {"learning_rate": 0.0003, "batch_size": 32},
                }
            },
        },
    )


def test_the_nsl_kdd_accuracy_is_judged_against_the_literatures_low_end(tmp_path):
    low_end = paper_value("literature_accuracy_low")
    protocol = "KDDTrain+ split (the paper's protocol)"
    run = _cross_run(
        tmp_path,
        {AS_WRITTEN: (0.5, 0.4, 0.6), STABILISED: (low_end, low_end - 0.01, low_end + 0.01)},
        {AS_WRITTEN: {"42": True, "43": False}, STABILISED: {"42": False, "43": False}},
    )
    table = ledger.chapter_ledger(run, "12_cross_dataset")
    written, stabilised = (
        _one(table, "literature_accuracy_low", m) for m in (AS_WRITTEN, STABILISED)
    )
    assert written["verdict"] == ledger.NOT_REPRODUCED
    assert written["note"].endswith("KDDTest+: 0.8123; 1 of 2 seed(s) diverged (included, marked)")
    assert written["note"].startswith(
        f"this project's CNN-LSTM on NSL-KDD ({protocol}), learning rate 0.001 chosen on "
        "validation; on the official"
    )
    assert "learning rate 0.0003 chosen" in stabilised["note"]
    assert stabilised["verdict"] == ledger.REPRODUCED and "diverged" not in stabilised["note"]
    assert (stabilised["ci_low"], stabilised["ci_high"]) == (low_end - 0.01, low_end + 0.01)
    one_seed = _cross_run(
        tmp_path / "one",
        {m: (0.9, float("nan"), float("nan")) for m in CNN_LSTMS},
        {m: {"42": False} for m in CNN_LSTMS},
    )
    row = _one(
        ledger.chapter_ledger(one_seed, "12_cross_dataset"), "literature_accuracy_low", STABILISED
    )
    assert row["verdict"] == ledger.NOT_TESTABLE and row["note"].startswith(
        "one seed, no interval; "
    )


def test_the_ledger_page_is_exactly_these_tables():
    import pandas as pd

    rows = pd.DataFrame(
        [
            {
                "claim": "accuracy",
                "what": "Accuracy",
                "where": "Table 1",
                "model": AS_WRITTEN,
                "paper": 0.9981,
                "ours": 0.9,
                "ci_low": 0.89,
                "ci_high": 0.91,
                "verdict": "not reproduced",
                "note": "n",
            },
            {
                "claim": "accuracy",
                "what": "Accuracy",
                "where": "Table 1",
                "model": STABILISED,
                "paper": 0.9981,
                "ours": 0.93,
                "ci_low": float("nan"),
                "ci_high": float("nan"),
                "verdict": "reproduced",
                "note": "",
            },
            {
                "claim": "test_flows",
                "what": "Test flows",
                "where": "4.1",
                "model": "",
                "paper": 20000,
                "ours": 377,
                "ci_low": float("nan"),
                "ci_high": float("nan"),
                "verdict": "reproduced",
                "note": "",
            },
            {
                "claim": "hybrid_beats_parts",
                "what": "Hybrid",
                "where": "3.2",
                "model": "",
                "paper": "yes",
                "ours": 0.01,
                "ci_low": -0.01,
                "ci_high": 0.03,
                "verdict": "not reproduced",
                "note": "x",
            },
        ]
    )
    header = "| claim | where | model | paper | ours | interval | verdict | note |\n"
    rule = "| --- | --- | --- | ---: | ---: | --- | --- | --- |\n"
    assert ledger.ledger_markdown(rows) == (
        "3 claims in 4 rows (a claim about the CNN-LSTM has a row per model): "
        "2 not reproduced, 2 reproduced.\n\n"
        f"Rows about each CNN-LSTM:\n- **{AS_WRITTEN}**: 1 not reproduced"
        f"\n- **{STABILISED}**: 1 reproduced\n\n"
        "## The paper's results\n\n"
        + header
        + rule
        + f"| Accuracy | Table 1 | {AS_WRITTEN} | 0.9981 | 0.9 | [0.89, 0.91] | "
        "**not reproduced** | n |\n"
        f"| Accuracy | Table 1 | {STABILISED} | 0.9981 | 0.93 | - | **reproduced** |  |\n"
        "| Test flows | 4.1 | - | 20,000 | 377 | - | **reproduced** |  |\n\n"
        "## What the paper takes for granted (beyond the paper)\n\n"
        + header
        + rule
        + "| Hybrid | 3.2 | - | yes | 0.01 | [-0.01, 0.03] | **not reproduced** | x |\n"
    )


def test_the_whole_ledger_has_one_row_number_per_row():
    table = ledger.build_ledger(FIXTURE)
    assert table.index.tolist() == list(range(len(table)))
    assert list(table["chapter"].unique()) == list(ledger.CHAPTERS)


def test_ratio_claims_are_strict_at_their_tolerance(tmp_path, monkeypatch):
    paper_fraction = paper_value("benign_fraction")
    ours = paper_fraction + 0.01
    monkeypatch.setattr(ledger, "RATIO_TOLERANCE", abs(ours - paper_fraction))
    run = _artifacts(tmp_path, "data_report.json", _data_report(10, 10, ours, 39))
    row = _one(ledger.chapter_ledger(run, "01_data"), "benign_fraction")
    assert row["verdict"] == ledger.NOT_REPRODUCED
    natural = paper_value("natural_imbalance")
    monkeypatch.setattr(ledger, "RATIO_TOLERANCE", abs(natural + 0.02 - natural))
    run = _artifacts(
        tmp_path,
        "class_ratio.json",
        {"source_benign_fraction": natural + 0.02, "official_benign_fraction": 0.0235},
    )
    row = _one(ledger.chapter_ledger(run, "11_class_ratio"), "natural_imbalance")
    assert row["verdict"] == ledger.NOT_REPRODUCED


def test_a_model_without_an_official_accuracy_is_said_to_be_unscored(tmp_path):
    # The as-written model's outputs overflowed on KDDTest+ at full scale: null in the JSON.
    run = _cross_run(
        tmp_path,
        {m: (0.9, 0.88, 0.92) for m in CNN_LSTMS},
        {m: {"42": True, "43": True} for m in CNN_LSTMS},
    )
    path = run / "artifacts" / "cross_dataset.json"
    cross = __import__("json").loads(path.read_text())
    cross["aggregate"]["KDDTest+"][AS_WRITTEN]["accuracy"]["mean"] = None
    write_json(path, cross)
    table = ledger.chapter_ledger(run, "12_cross_dataset")
    note = _one(table, "literature_accuracy_low", AS_WRITTEN)["note"]
    assert "on the official KDDTest+: not scored; 2 of 2 seed(s) diverged" in note
    assert "KDDTest+: 0.8123" in _one(table, "literature_accuracy_low", STABILISED)["note"]


def test_evaluation_notes_and_intervals_at_their_edges(run, tmp_path, monkeypatch):
    table = ledger.chapter_ledger(run, "05_evaluation")
    narrow = _one(table, "roc_auc", STABILISED)
    roc = paper_value("roc_auc")
    assert (narrow["ci_low"], narrow["ci_high"]) == (roc - 0.01, roc + 0.01)
    assert narrow["note"] == ""  # narrow and reproduced: nothing to add
    one_seed = {
        "aggregate": _aggregate(0.9, float("nan"), float("nan")),
        "diverged_seeds": [],
        "per_seed": _per_seed([False]),
    }
    write_json(tmp_path / "one" / "artifacts" / "metrics.json", {"models": {STABILISED: one_seed}})
    row = _one(ledger.chapter_ledger(tmp_path / "one", "05_evaluation"), "roc_auc")
    assert row["verdict"] == ledger.NOT_TESTABLE and row["note"] == "one seed: no interval"
    # An interval exactly WIDE_INTERVAL wide is not "too wide".
    monkeypatch.setattr(ledger, "WIDE_INTERVAL", (roc + 0.01) - (roc - 0.01))
    row = _one(ledger.chapter_ledger(run, "05_evaluation"), "roc_auc", STABILISED)
    assert row["note"] == ""
    monkeypatch.setattr(ledger, "WIDE_INTERVAL", 0.001)
    row = _one(ledger.chapter_ledger(run, "05_evaluation"), "roc_auc", STABILISED)
    assert row["note"] == (
        "interval too wide to tell: consistent with the paper, not a confirmation"
    )


def test_the_arithmetic_tolerance_is_strict(run, monkeypatch):
    from ids_utils.evaluation import metrics_from_confusion

    implied = metrics_from_confusion(*(int(paper_value(c)) for c in ("tn", "fp", "fn", "tp")))
    monkeypatch.setattr(
        ledger, "ARITHMETIC_TOLERANCE", abs(implied["accuracy"] - paper_value("accuracy"))
    )
    row = _one(ledger.chapter_ledger(run, "05_evaluation"), "accuracy", STABILISED)
    assert row["verdict"] != ledger.INCONSISTENT  # a gap of exactly the tolerance is allowed


def test_an_unknown_chapter_is_named_with_the_known_ones(run):
    with pytest.raises(ValueError) as error:
        ledger.chapter_ledger(run, "99_nothing")
    assert str(error.value) == (
        f"no ledger rows for chapter '99_nothing'; known: {list(ledger.CHAPTERS)}"
    )
