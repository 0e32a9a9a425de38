"""The stage cache: unchanged stages are reused, prose edits re-render, code edits re-execute."""

from __future__ import annotations

import nbformat
import pytest

from ids_utils import pipeline, stage_cache
from ids_utils.artifacts import read_json

STAGE = """import os, pathlib
pathlib.Path(os.environ["STAGE_LOG"]).open("a").write("{name}\\n")
folder = pathlib.Path(run_dir, "artifacts")
folder.mkdir(parents=True, exist_ok=True)
{body}
print("{name} done")"""


def write_stage(folder, name, body, prose="Some prose."):
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('run_dir = "x"\nseeds = [0]')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [
        nbformat.v4.new_markdown_cell(prose),
        parameters,
        nbformat.v4.new_code_cell(STAGE.format(name=name, body=body)),
    ]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, folder / f"{name}.ipynb")


@pytest.fixture
def project(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_stage(notebooks, "01_first", '(folder / "a.txt").write_text(str(seeds))')
    write_stage(
        notebooks, "02_second", '(folder / "b.txt").write_text((folder / "a.txt").read_text() * 2)'
    )
    log = tmp_path / "executed.log"
    monkeypatch.setenv("STAGE_LOG", str(log))
    data = tmp_path / "data"
    data.mkdir()
    (data / "flows.csv").write_text("a\n1\n")

    def run(**kwargs):
        log.write_text("")
        run_dir = pipeline.run_pipeline(
            "ci",
            data_dir=data,
            run_dir=tmp_path / "run",
            notebooks_dir=notebooks,
            cache_dir=tmp_path / "cache",
            **kwargs,
        )
        return log.read_text().split(), run_dir

    return notebooks, data, run


def test_a_second_run_reuses_every_stage_and_restores_its_files(project):
    _, _, run = project
    executed, run_dir = run()
    assert executed == ["01_first", "02_second"]
    first = (run_dir / "artifacts" / "b.txt").read_text()
    executed, run_dir = run()
    assert executed == []
    assert (run_dir / "artifacts" / "b.txt").read_text() == first == "[42][42]"
    states = read_json(run_dir / "artifacts" / "stage_cache.json")["stages"]
    assert {stage: s["state"] for stage, s in states.items()} == {
        "01_first": "reused",
        "02_second": "reused",
    }
    assert states["02_second"]["inputs"] == states["01_first"]["key"]  # keys chain
    assert set(read_json(run_dir / "artifacts" / "timings.json")) == {"01_first", "02_second"}
    shown = nbformat.read(run_dir / "notebooks" / "02_second.ipynb", as_version=4)
    assert shown.cells[-1].outputs[0]["text"] == "02_second done\n"


def test_a_prose_edit_rerenders_without_executing(project):
    notebooks, _, run = project
    run()
    write_stage(
        notebooks,
        "02_second",
        '(folder / "b.txt").write_text((folder / "a.txt").read_text() * 2)',
        prose="Better prose.",
    )
    executed, run_dir = run()
    assert executed == []
    shown = nbformat.read(run_dir / "notebooks" / "02_second.ipynb", as_version=4)
    assert shown.cells[0].source == "Better prose."
    assert shown.cells[-1].outputs[0]["text"] == "02_second done\n"


def test_a_code_edit_executes_that_stage_and_every_later_one(project):
    notebooks, _, run = project
    run()
    write_stage(notebooks, "01_first", '(folder / "a.txt").write_text(str(seeds) + "!")')
    executed, run_dir = run()
    assert executed == ["01_first", "02_second"]
    assert (run_dir / "artifacts" / "b.txt").read_text() == "[42]![42]!"


def test_a_later_stage_edit_leaves_earlier_stages_reused(project):
    notebooks, _, run = project
    run()
    write_stage(
        notebooks, "02_second", '(folder / "b.txt").write_text((folder / "a.txt").read_text() * 3)'
    )
    executed, run_dir = run()
    assert executed == ["02_second"]
    stages = read_json(run_dir / "artifacts" / "stage_cache.json")["stages"]
    assert stages["01_first"]["state"] == "reused"


def test_data_package_and_force_invalidate(project, monkeypatch):
    _, data, run = project
    run()
    (data / "flows.csv").write_text("a\n1\n2\n")
    assert run()[0] == ["01_first", "02_second"]
    assert run()[0] == []
    original = stage_cache.environment_key
    monkeypatch.setattr(
        pipeline, "environment_key", lambda *args: original(*args) + "another ids_utils"
    )
    assert run()[0] == ["01_first", "02_second"]
    assert run(force=True)[0] == ["01_first", "02_second"]
    assert run(stages=["02"])[0] == ["02_second"]


def test_a_parameter_change_invalidates(project, monkeypatch):
    from ids_utils import profiles

    _, _, run = project
    run()
    monkeypatch.setitem(profiles.PROFILES["ci"], "seeds", [7])
    executed, run_dir = run()
    assert executed == ["01_first", "02_second"]
    assert (run_dir / "artifacts" / "a.txt").read_text() == "[7]"


# --- nbval reusing a valid execution (tests/nbval_reuse.py) -----------------------------------


def _commit_outputs(notebooks, run_dir, name):
    """Copy a run's outputs into the committed notebook, as `make notebooks` would."""
    committed = nbformat.read(notebooks / name, as_version=4)
    executed = [
        c
        for c in nbformat.read(run_dir / "notebooks" / name, as_version=4).cells
        if c.cell_type == "code" and "injected-parameters" not in c.metadata["tags"]
    ]
    for cell in (c for c in committed.cells if c.cell_type == "code"):
        ran = executed.pop(0)
        cell.outputs, cell.execution_count = ran.outputs, ran.execution_count
    nbformat.write(committed, notebooks / name)


def _nbval(notebooks, run_dir, log):
    import subprocess
    import sys

    from ids_utils.pipeline import PROJECT_ROOT

    log.write_text("")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.nbval_reuse",
            "--nbval-reuse-run",
            str(run_dir),
            str(notebooks),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    return result.returncode, log.read_text().split(), result.stdout


def test_nbval_compares_with_a_valid_execution_and_executes_otherwise(project, tmp_path):
    from tests.nbval_reuse import valid_execution

    notebooks, _, run = project
    for name in ("01_first.ipynb", "02_second.ipynb"):
        notebook = nbformat.read(notebooks / name, as_version=4)
        notebook.cells[-1].source = "# NBVAL_CHECK_OUTPUT\n" + notebook.cells[-1].source
        nbformat.write(notebook, notebooks / name)
    _, run_dir = run()  # the run the committed notebooks match
    for name in ("01_first.ipynb", "02_second.ipynb"):
        _commit_outputs(notebooks, run_dir, name)
    assert valid_execution(notebooks / "01_first.ipynb", run_dir) is not None
    log = tmp_path / "executed.log"

    status, executed, out = _nbval(notebooks, run_dir, log)
    assert status == 0 and executed == [], out  # compared, nothing executed

    stale = nbformat.read(notebooks / "02_second.ipynb", as_version=4)
    stale.cells[-1].outputs[0]["text"] = "02_second finished\n"
    nbformat.write(stale, notebooks / "02_second.ipynb")
    status, executed, out = _nbval(notebooks, run_dir, log)
    assert status == 1 and "Cell outputs differ" in out and executed == []

    edited = nbformat.read(notebooks / "01_first.ipynb", as_version=4)
    edited.cells[-1].source += "\nx = 1"
    nbformat.write(edited, notebooks / "01_first.ipynb")
    assert valid_execution(notebooks / "01_first.ipynb", run_dir) is None
    status, executed, out = _nbval(notebooks, run_dir, log)
    assert "01_first" in executed  # an edited notebook is executed by nbval for real


def test_a_fresh_run_of_some_stages_holds_those_stages_alone(project):
    _, _, run = project
    run()
    executed, run_dir = run(stages=["01"], fresh=True)
    assert executed == ["01_first"]  # executed although the cache holds it
    assert set(read_json(run_dir / "artifacts" / "timings.json")) == {"01_first"}
    assert not (run_dir / "artifacts" / "b.txt").exists()  # nothing of the earlier run survives
    states = read_json(run_dir / "artifacts" / "stage_cache.json")["stages"]
    assert {stage: s["state"] for stage, s in states.items()} == {"01_first": "executed"}
