"""Profiles, notebook parameters, and determinism of whole pipeline runs."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbformat
import pytest

from ids_utils import pipeline, snippets
from ids_utils.artifacts import read_json
from ids_utils.profiles import PROFILES

PATH_PARAMETERS = {"data_dir": "../data", "run_dir": "../runs/ci", "source": "auto"}


def _parameters(notebook_path) -> dict:
    notebook = nbformat.read(notebook_path, as_version=4)
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{notebook_path.name}: needs exactly one 'parameters' cell"
    values = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign), f"{notebook_path.name}: only assignments"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


@pytest.mark.parametrize("path", pipeline.notebook_paths(), ids=lambda p: p.name)
def test_committed_notebooks_declare_what_they_use_with_ci_defaults(path):
    import re

    from ids_utils.profiles import TRAINING_KEYS

    declared = _parameters(path)
    ci = {**PROFILES["ci"], **PATH_PARAMETERS}
    assert declared == {name: ci[name] for name in declared}  # known names, ci values
    notebook = nbformat.read(path, as_version=4)
    code = "\n".join(
        c.source
        for c in notebook.cells
        if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])
    )
    implicit = set(TRAINING_KEYS) if "training_settings(locals())" in code else set()
    unused = [
        name for name in declared if name not in implicit and not re.search(rf"\b{name}\b", code)
    ]
    assert unused == [], f"{path.name} declares parameters it never uses"
    assert pipeline.declared_parameters(path, {**PROFILES["paper"], **PATH_PARAMETERS}) == {
        name: {**PROFILES["paper"], **PATH_PARAMETERS}[name] for name in declared
    }


def test_every_profile_key_is_used_by_some_chapter():
    used = set().union(*(_parameters(path) for path in pipeline.notebook_paths()))
    assert set(PROFILES["ci"]) <= used


def test_source_prefers_the_original_release(tmp_path):
    (tmp_path / "ciciot2023" / "merged").mkdir(parents=True)
    (tmp_path / "ciciot2023" / "merged" / "m.csv").write_text("x\n")
    assert pipeline.resolve_source(tmp_path).name == "merged"
    (tmp_path / "ciciot2023" / "original").mkdir()
    (tmp_path / "ciciot2023" / "original" / "part-00000.csv").write_text("x\n")
    assert pipeline.resolve_source(tmp_path).name == "original"


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    """A complete ci run.

    ``make test`` makes it beside the tests that need no run and passes it in
    ``IDS_CI_RUN`` rather than running the stages again; without it (``pytest``
    alone) the fixture makes its own.
    """
    complete = os.environ.get("IDS_CI_RUN")
    if not complete:
        run = tmp_path_factory.mktemp("run")
        pipeline.run_pipeline("ci", run_dir=run)
        return run
    run = Path(complete)
    stages = set(read_json(run / "artifacts" / "timings.json"))
    assert stages == {p.stem for p in pipeline.notebook_paths()}, (
        f"IDS_CI_RUN={complete} is not a complete run"
    )
    return run


def test_same_seed_gives_byte_identical_sample_and_split_files(ci_run, tmp_path):
    """The data and preprocessing stages' files, made again in this process from the
    same source and seeds, are the run's byte for byte (training's part of "same
    seed, same numbers" is the next test)."""
    from ids_utils import datasets, preprocess
    from ids_utils.artifacts import write_parquet
    from ids_utils.sampling import sample_paper

    ci = PROFILES["ci"]
    artifacts = ci_run / "artifacts"
    features = read_json(artifacts / "data_report.json")["features"]["used"]
    source = pipeline.resolve_source(pipeline.DEFAULT_DATA_DIR)
    sample, _ = sample_paper(
        datasets.iter_flow_chunks(source), ci["n_flows"], ci["benign_fraction"], ci["sample_seed"]
    )
    write_parquet(sample, tmp_path / "flows.parquet")
    assert (tmp_path / "flows.parquet").read_bytes() == (artifacts / "flows.parquet").read_bytes()
    cleaned, _ = preprocess.clean_non_finite(sample, features, ci["non_finite_policy"])
    seed = ci["seeds"][0]
    preprocess.write_seed_split(
        cleaned, features, ci["test_fraction"], ci["val_fraction"], seed, tmp_path
    )
    for name in ("train.parquet", "val.parquet", "test.parquet", "scaler.json"):
        made, run = tmp_path / name, artifacts / f"seed-{seed}" / name
        assert made.read_bytes() == run.read_bytes(), name


def test_row_accounting_adds_up(ci_run):
    artifacts = ci_run / "artifacts"
    data = read_json(artifacts / "data_report.json")
    prep = read_json(artifacts / "preprocessing_report.json")
    cleaning = prep["cleaning"]
    assert cleaning["rows_in"] == data["sample"]["achieved"]["total"]
    assert cleaning["rows_in"] == cleaning["rows_kept"] + sum(cleaning["rows_dropped"].values())
    for report in prep["per_seed"].values():
        assert cleaning["rows_kept"] == sum(part["flows"] for part in report["split"].values())
    assert data["sample"]["requested"]["total"] == PROFILES["ci"]["n_flows"]


def test_same_seed_gives_the_same_probabilities_bit_for_bit(ci_run):
    """The baselines chapter trains the first seed's CNN-LSTMs again in a fresh process
    with nothing changed; every test probability must come out bit for bit, so no
    metric moves."""
    from ids_utils.compare import SAME_SETTINGS
    from ids_utils.models import CNN_LSTMS

    reruns = read_json(ci_run / "artifacts" / "rerun_movement.json")["reruns"]
    same = next(report for report in reruns if report["change"] == SAME_SETTINGS)
    assert set(same["models"]) == set(CNN_LSTMS)
    for model, result in same["models"].items():
        assert result["identical_probabilities"], model
        assert result["max_probability_difference"] == 0.0
        assert result["flipped_predictions"] == 0
        assert result["diverged"]["run"] == result["diverged"]["rerun"]
        assert all(values["difference"] == 0 for values in result["metrics"].values()), model


def test_the_parallelism_benchmark_timed_both_arrangements(ci_run):
    result = read_json(ci_run / "artifacts" / "parallelism.json")
    assert result["jobs"] == 2 and result["cores"] == 2
    assert result["serial_seconds"] > 0 and result["parallel_seconds"] > 0
    assert result["faster"] == min(("serial", "parallel"), key=lambda a: result[f"{a}_seconds"])


def test_the_latency_benchmark_timed_every_path_of_both_models(ci_run):
    from ids_utils import latency
    from ids_utils.models import CNN_LSTMS

    report = read_json(ci_run / "artifacts" / "latency.json")
    rows = report["results"]
    assert {(r["model"], r["path"]) for r in rows} == {
        (model, path) for model in CNN_LSTMS for path in latency.PATHS
    }
    for r in rows:
        assert r["p99_ms"] >= r["median_ms"] > 0 and r["flows_per_second"] > 0
        assert r["agrees_with_keras"] and r["calls"] == PROFILES["ci"]["latency_calls"]


def test_metrics_json_agrees_with_the_predictions(ci_run):
    import pandas as pd

    from ids_utils.evaluation import metrics_by_seed

    from ids_utils.models import CNN_LSTMS

    artifacts = ci_run / "artifacts"
    saved = read_json(artifacts / "metrics.json")
    predictions = pd.read_parquet(artifacts / "predictions.parquet")
    assert list(saved["models"]) == list(CNN_LSTMS)
    training = read_json(artifacts / "training.json")
    for model, result in saved["models"].items():
        recomputed = metrics_by_seed(predictions[predictions["model"] == model], saved["threshold"])
        for seed, row in recomputed.iterrows():
            for name, value in row.items():
                assert result["per_seed"][str(seed)][name] == pytest.approx(value, abs=1e-12)
            # The divergence mark travels from training to every metric of the run.
            assert (
                result["per_seed"][str(seed)]["diverged"]
                == training["models"][model]["diverged"][str(seed)]["diverged"]
            )
    assert len(predictions) == sum(
        m["n"] for result in saved["models"].values() for m in result["per_seed"].values()
    )


def test_the_reruns_start_from_the_runs_own_numbers(ci_run):
    from ids_utils.compare import RERUNS, THREADED_BASELINE
    from ids_utils.models import CNN_LSTMS

    artifacts = ci_run / "artifacts"
    reruns = read_json(artifacts / "rerun_movement.json")["reruns"]
    metrics = read_json(artifacts / "metrics.json")
    assert [report["change"] for report in reruns] == list(RERUNS)
    for report in reruns:
        seed = str(report["seed"])
        expected = set(CNN_LSTMS) | (
            {THREADED_BASELINE} if report["change"] == "two threads" else set()
        )
        assert set(report["models"]) == expected
        for model, result in report["models"].items():
            for name, values in result["metrics"].items():
                if model in CNN_LSTMS:  # the run's side is the evaluation chapter's number
                    assert values["run"] == metrics["models"][model]["per_seed"][seed][name]
                assert values["difference"] == pytest.approx(values["rerun"] - values["run"])
            if result["identical_probabilities"]:
                assert result["flipped_predictions"] == 0
                assert result["max_probability_difference"] == 0.0


def test_the_saved_models_are_the_papers_and_its_stabilised_twin(ci_run):
    from ids_utils.artifacts import model_dir
    from ids_utils.detectors import load_detector
    from ids_utils.models import CNN_LSTMS, trainable_parameters

    seed = PROFILES["ci"]["seeds"][0]
    for model, activation in CNN_LSTMS.items():
        detector = load_detector(model_dir(ci_run, seed, model) / "model.keras")
        assert trainable_parameters(detector.model) == 37_921
        assert detector.threshold == PROFILES["ci"]["threshold"]
        assert detector.model.get_layer("lstm_64").get_config()["activation"] == activation
        assert detector.metadata["model"] == model


def test_a_foreign_folder_is_never_cleared(tmp_path):
    keep = tmp_path / "artifacts" / "precious.txt"
    keep.parent.mkdir()
    keep.write_text("mine")
    with pytest.raises(pipeline.PipelineError, match="not a run directory"):
        pipeline.run_pipeline("ci", run_dir=tmp_path)
    assert keep.read_text() == "mine"


def test_the_ledger_lists_every_claim_once_with_a_verdict(ci_run):
    from ids_utils import ledger
    from ids_utils.paper import paper_claims

    from ids_utils.models import CNN_LSTMS

    table = ledger.build_ledger(ci_run)
    claims = paper_claims()
    assert sorted(set(table["claim"])) == sorted(claims.index[claims["kind"] != "setting"])
    # A claim about the CNN-LSTM has one row per model; the others one row without a model.
    for claim, rows in table.groupby("claim"):
        assert sorted(rows["model"]) in (sorted(CNN_LSTMS), [""]), claim
    assert set(table.loc[table["claim"] == "accuracy", "model"]) == set(CNN_LSTMS)
    assert set(table["verdict"]) <= {
        ledger.REPRODUCED,
        ledger.NOT_REPRODUCED,
        ledger.NOT_TESTABLE,
        ledger.INCONSISTENT,
    }
    inconsistent = table[table["verdict"] == ledger.INCONSISTENT]
    assert set(inconsistent["claim"]) == {"accuracy", "precision", "recall", "f1"}
    assert len(inconsistent) == 4 * len(CNN_LSTMS)
    text = ledger.ledger_markdown(table)
    assert text.startswith(f"{table['claim'].nunique()} claims in {len(table)} rows")


def test_stages_need_an_existing_run(tmp_path):
    with pytest.raises(pipeline.PipelineError, match="not a run directory"):
        pipeline.run_pipeline("ci", run_dir=tmp_path / "new", stages=["09"])


def test_compare_runs_of_a_run_with_itself_agrees_and_expects_identical_numbers(ci_run):
    import subprocess
    import sys

    run = ci_run
    result = subprocess.run(
        [sys.executable, "-m", "ids_utils", "compare-runs", str(run), str(run)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.endswith(
        "verdicts agree; bitwise-identical numbers expected (same machine "
        "type, threads and packages)"
    )
    agree, total = last.split(" verdicts")[0].split(" of ")
    assert agree == total and int(total) > 40


def test_make_lab_serves_the_notebooks():
    """`make lab` starts JupyterLab on the notebooks (headless here: the server answers on
    127.0.0.1 and lists the stage notebooks)."""
    import json
    import secrets
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(8)
    args = (
        f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
        f"--IdentityProvider.token={token}"
    )
    server = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_ARGS={args}"],
        cwd=pipeline.PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/contents?token={token}"
        for _ in range(120):
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    listing = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within a minute")
        names = {item["name"] for item in listing["content"]}
        assert {p.name for p in pipeline.notebook_paths()} <= names
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def test_the_published_run_archive_is_a_run_compare_runs_reads(ci_run, tmp_path):
    import subprocess
    import sys
    import zipfile

    run = ci_run
    archive = snippets.write_run_download(run, tmp_path / "generated")
    with zipfile.ZipFile(archive) as opened:
        names = set(opened.namelist())
        opened.extractall(tmp_path / "published")
    assert f"{run.name}/artifacts/metrics.json" in names and f"{run.name}/ledger.csv" in names
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ids_utils",
            "compare-runs",
            str(tmp_path / "published" / run.name),
            str(run),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def _data_report(run):
    from ids_utils.artifacts import write_json

    write_json(
        run / "artifacts" / "data_report.json",
        {
            "profile": "ci",
            "source": {"release": "CICIoT2023 merged"},
            "sample": {"achieved": {"total": 1500}},
        },
    )


def test_the_book_gets_launch_buttons_only_with_a_repository(tmp_path, monkeypatch):
    import yaml

    _data_report(tmp_path)
    monkeypatch.delenv(pipeline.REPOSITORY_VARIABLE, raising=False)
    plain = yaml.safe_load(pipeline.write_config(tmp_path, tmp_path / "a.yml").read_text())
    assert "repository" not in plain and "launch_buttons" not in plain
    assert "1,500 flows sampled" in plain["html"]["extra_footer"]
    monkeypatch.setenv(pipeline.REPOSITORY_VARIABLE, "https://example.org/ids")
    config = yaml.safe_load(pipeline.write_config(tmp_path, tmp_path / "b.yml").read_text())
    assert config["repository"]["url"] == "https://example.org/ids"
    assert config["html"]["use_repository_button"] and config["html"]["use_download_button"]
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert "colab_url" in config["launch_buttons"]
    with pytest.raises(pipeline.PipelineError, match="https://"):
        pipeline.write_config(tmp_path, tmp_path / "c.yml", repository="git@example.org:ids")
