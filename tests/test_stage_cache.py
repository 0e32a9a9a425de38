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
    notebook.cells = [nbformat.v4.new_markdown_cell(prose), parameters,
                      nbformat.v4.new_code_cell(STAGE.format(name=name, body=body))]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, folder / f"{name}.ipynb")


@pytest.fixture
def project(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_stage(notebooks, "01_first", '(folder / "a.txt").write_text(str(seeds))')
    write_stage(notebooks, "02_second",
                '(folder / "b.txt").write_text((folder / "a.txt").read_text() * 2)')
    log = tmp_path / "executed.log"
    monkeypatch.setenv("STAGE_LOG", str(log))
    data = tmp_path / "data"
    data.mkdir()
    (data / "flows.csv").write_text("a\n1\n")

    def run(**kwargs):
        log.write_text("")
        run_dir = pipeline.run_pipeline("ci", data_dir=data, run_dir=tmp_path / "run",
                                        notebooks_dir=notebooks, cache_dir=tmp_path / "cache",
                                        **kwargs)
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
    assert read_json(run_dir / "artifacts" / "stage_cache.json") == {
        "01_first": "reused", "02_second": "reused"}
    assert set(read_json(run_dir / "artifacts" / "timings.json")) == {"01_first", "02_second"}
    shown = nbformat.read(run_dir / "notebooks" / "02_second.ipynb", as_version=4)
    assert shown.cells[-1].outputs[0]["text"] == "02_second done\n"


def test_a_prose_edit_rerenders_without_executing(project):
    notebooks, _, run = project
    run()
    write_stage(notebooks, "02_second",
                '(folder / "b.txt").write_text((folder / "a.txt").read_text() * 2)',
                prose="Better prose.")
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
    write_stage(notebooks, "02_second",
                '(folder / "b.txt").write_text((folder / "a.txt").read_text() * 3)')
    executed, run_dir = run()
    assert executed == ["02_second"]
    assert read_json(run_dir / "artifacts" / "stage_cache.json")["01_first"] == "reused"


def test_data_package_and_force_invalidate(project, monkeypatch):
    _, data, run = project
    run()
    (data / "flows.csv").write_text("a\n1\n2\n")
    assert run()[0] == ["01_first", "02_second"]
    assert run()[0] == []
    original = stage_cache.environment_key
    monkeypatch.setattr(pipeline, "environment_key",
                        lambda *args: original(*args) + "another ids_utils")
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
