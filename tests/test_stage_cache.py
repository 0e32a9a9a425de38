"""The stage cache: unchanged stages are reused, prose edits re-render, code edits re-execute."""

from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path

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


def execute_in_process(notebook, path, out_dir, **engine):
    """Stand-in for papermill: the tiny stages' code run in this process, stdout kept.

    The stage control is the same; only the kernel is skipped, so these tests take
    milliseconds (mutation testing runs them per mutant).  Tests marked ``kernel``
    execute in a real Jupyter kernel.
    """
    executed, namespace = copy.deepcopy(notebook), {}
    code = [c for c in executed.cells if c.cell_type == "code"]
    for count, cell in enumerate(code, start=1):
        cell.execution_count = count
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                exec(cell.source, namespace)
        except Exception as exc:
            raise pipeline.PipelineError(f"{path.name} failed: {exc!r}") from None
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed.getvalue())]
    nbformat.write(executed, out_dir / path.name)
    return executed


@pytest.fixture
def project(tmp_path, monkeypatch, request):
    if request.node.get_closest_marker("kernel") is None:
        monkeypatch.setattr(pipeline, "_execute", execute_in_process)
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


@pytest.mark.parametrize(
    "executor", ["in-process", pytest.param("kernel", marks=pytest.mark.kernel)]
)
def test_a_second_run_reuses_every_stage_and_restores_its_files(project, executor):
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


@pytest.mark.kernel
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


# --- stage control: selection, plans, run folders ---------------------------------------------


def test_stages_select_by_prefix_and_unknown_ones_are_named(project):
    notebooks, _, _ = project
    write_stage(notebooks, "10_tenth", "pass")
    every = [p.name for p in pipeline.notebook_paths(notebooks)]
    assert every == ["01_first.ipynb", "02_second.ipynb", "10_tenth.ipynb"]
    assert pipeline.notebook_paths(notebooks, []) == pipeline.notebook_paths(notebooks)
    chosen = pipeline.notebook_paths(notebooks, ["10", "01"])
    assert [p.name for p in chosen] == ["01_first.ipynb", "10_tenth.ipynb"]  # in stage order
    (notebooks / "notes.ipynb").write_text("{}")  # not a stage: no NN_ prefix
    assert len(pipeline.notebook_paths(notebooks)) == 3
    with pytest.raises(pipeline.PipelineError) as error:
        pipeline.notebook_paths(notebooks, ["01", "07", "99"])
    assert str(error.value) == "no stage notebook starts with 07, 99 (stages: 01, 02, 10)"


def test_rerunning_some_stages_keeps_the_others_and_their_timings(project):
    _, _, run = project
    _, run_dir = run()
    before = read_json(run_dir / "artifacts" / "timings.json")
    executed, run_dir = run(stages=["02"])
    assert executed == ["02_second"]
    assert (run_dir / "artifacts" / "a.txt").read_text() == "[42]"  # stage 01's file stays
    timings = read_json(run_dir / "artifacts" / "timings.json")
    assert set(timings) == {"01_first", "02_second"}
    assert timings["01_first"] == before["01_first"]
    states = read_json(run_dir / "artifacts" / "stage_cache.json")["stages"]
    assert states["01_first"]["state"] == "executed" and states["02_second"]["state"] == "executed"
    assert states["02_second"]["inputs"] == states["01_first"]["key"]


def test_stages_need_a_run_folder(project, tmp_path):
    notebooks, data, _ = project
    with pytest.raises(pipeline.PipelineError, match="not a run directory; run every stage"):
        pipeline.run_pipeline(
            "ci",
            data_dir=data,
            run_dir=tmp_path / "elsewhere",
            notebooks_dir=notebooks,
            cache_dir=tmp_path / "cache",
            stages=["02"],
        )


def test_a_full_run_clears_what_an_earlier_run_left(project):
    _, _, run = project
    _, run_dir = run()
    (run_dir / "artifacts" / "stale.json").write_text("{}")
    (run_dir / "book").mkdir()
    (run_dir / "keep.txt").write_text("a reviewer's note")
    executed, run_dir = run()
    assert executed == []  # every stage reused, and still nothing stale survives
    assert not (run_dir / "artifacts" / "stale.json").exists()
    assert not (run_dir / "book").exists()
    assert (run_dir / "keep.txt").read_text() == "a reviewer's note"
    assert (run_dir / "artifacts" / "b.txt").read_text() == "[42][42]"


def test_clear_run_dir_touches_only_run_folders(tmp_path):
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_text("x")
    with pytest.raises(pipeline.PipelineError, match="is not a run directory"):
        pipeline.clear_run_dir(other)
    assert (other / "cat.jpg").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    pipeline.clear_run_dir(empty)
    assert (empty / pipeline.RUN_MARKER).is_file()
    new = tmp_path / "new" / "run"
    pipeline.clear_run_dir(new)
    for name in ("artifacts", "notebooks", "book"):
        (new / name).mkdir()
        (new / name / "f").write_text("old")
    pipeline.clear_run_dir(new)
    assert sorted(p.name for p in new.iterdir()) == [pipeline.RUN_MARKER]


def test_the_plan_and_the_time_left_are_announced(project, capsys):
    _, _, run = project
    from ids_utils.artifacts import write_json

    _, run_dir = run()
    write_json(run_dir / "artifacts" / "timings.json", {"01_first": 150, "02_second": 20})
    capsys.readouterr()
    run(force=True)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        "[pipeline] ci: 2 stage(s); reused from the cache: none; to execute: 01, 02 "
        "(about 3 min by the last run's timings)"
    )
    assert err[1] == "[pipeline] ci: 01_first.ipynb (1/2) executing"
    assert err[2].startswith("[pipeline] ci: 01_first.ipynb executed in ")
    assert err[2].endswith(" s; about 20 s left by the last run's timings")
    assert err[3] == "[pipeline] ci: 02_second.ipynb (2/2) executing"
    assert err[4].startswith("[pipeline] ci: 02_second.ipynb executed in ") and "left" not in err[4]
    run()
    assert "reused from the cache: 01, 02; to execute: none" in capsys.readouterr().err


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0, "0 s"),
        (29, "29 s"),
        (31, "1 min"),
        (59 * 60, "59 min"),
        (3600, "1 h 00 min"),
        (2 * 3600 + 5 * 60 + 40, "2 h 06 min"),
    ],
)
def test_durations_read_as_a_person_would_say_them(seconds, text):
    assert pipeline._duration(seconds) == text


def test_a_parameter_no_profile_sets_is_refused(project):
    notebooks, _, run = project
    notebook = nbformat.read(notebooks / "02_second.ipynb", as_version=4)
    notebook.cells[1].source += "\nmystery = 3"
    nbformat.write(notebook, notebooks / "02_second.ipynb")
    with pytest.raises(pipeline.PipelineError, match="02_second.ipynb declares parameter.*mystery"):
        run()


def test_a_first_run_promises_no_time_and_defaults_live_in_the_project(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(pipeline, "_execute", execute_in_process)
    monkeypatch.setattr(pipeline, "PROJECT_ROOT", tmp_path)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_stage(notebooks, "01_first", "pass")
    notebook = nbformat.read(notebooks / "01_first.ipynb", as_version=4)
    notebook.cells[1].source += '\ndata_dir = "x"\nsource = "y"'
    notebook.cells[2].source += '\n(folder / "seen.txt").write_text(f"{data_dir}|{source}")'
    nbformat.write(notebook, notebooks / "01_first.ipynb")
    monkeypatch.setenv("STAGE_LOG", str(tmp_path / "log"))
    (tmp_path / "data").mkdir()
    run_dir = pipeline.run_pipeline("ci", data_dir=tmp_path / "data", notebooks_dir=notebooks)
    assert run_dir == (tmp_path / "runs" / "ci").resolve()
    assert (tmp_path / "runs" / "cache").is_dir()  # the default stage cache
    seen = (run_dir / "artifacts" / "seen.txt").read_text()
    assert seen == f"{(tmp_path / 'data').resolve()}|auto"
    assert capsys.readouterr().err.splitlines()[0] == (
        "[pipeline] ci: 1 stage(s); reused from the cache: none; to execute: 01"
    )
    from ids_utils.workers import THREADS_PER_WORKER

    machine = read_json(run_dir / "artifacts" / "machine.json")
    assert machine["threads_per_training"] == THREADS_PER_WORKER


def test_every_unknown_parameter_is_named(project):
    notebooks, _, run = project
    notebook = nbformat.read(notebooks / "02_second.ipynb", as_version=4)
    notebook.cells[1].source += "\nmystery = 3\nriddle = 4"
    nbformat.write(notebook, notebooks / "02_second.ipynb")
    with pytest.raises(pipeline.PipelineError) as error:
        run()
    assert str(error.value) == (
        "02_second.ipynb declares parameter(s) no profile sets: mystery, riddle"
    )


def test_timings_and_the_records_of_a_run_are_what_they_claim(project, capsys):
    import re

    notebooks, _, run = project
    write_stage(notebooks, "03_slow", "import time; time.sleep(0.13)")
    from ids_utils.artifacts import write_json

    _, run_dir = run()
    timings = read_json(run_dir / "artifacts" / "timings.json")
    # Seconds of each stage rounded to 0.1 s: the slow stage says 0.1 (more when slowed), not 0.13.
    assert all(isinstance(t, float) and t == round(t, 1) and 0 <= t < 60 for t in timings.values())
    assert 0.1 <= timings["03_slow"] < 5
    record = read_json(run_dir / "artifacts" / "stage_cache.json")
    assert set(record) == {"profile", "parameters", "environment", "stages"}
    assert record["profile"] == "ci"
    # A stage the last run did not time adds nothing to the time left.
    write_json(run_dir / "artifacts" / "timings.json", {"01_first": 150})
    capsys.readouterr()
    run(force=True)
    err = capsys.readouterr().err.splitlines()
    executed = [line for line in err if " executed in " in line]
    assert len(executed) == 3 and not any("left" in line for line in executed)
    for line in executed:  # the elapsed time of the stage, not a clock reading
        seconds = float(re.fullmatch(r".* executed in (\d+\.\d) s", line).group(1))
        assert 0 <= seconds < 60


# --- a side stage: a second lane beside the stages after its anchor ---------------------------


def _side_project(notebooks):
    write_stage(
        notebooks,
        "03_side",
        'import time\ntime.sleep(0.3)\n(folder / "c.txt").write_text("side")\n'
        # a file in folders no earlier stage made, and where the side stage ran
        'nested = folder / "side" / "deep"\nnested.mkdir(parents=True)\n'
        '(nested / "where.txt").write_text(str(folder.parent))',
    )
    write_stage(
        notebooks,
        "04_last",
        'text = (folder / "b.txt").read_text() + (folder / "c.txt").read_text()\n'
        '(folder / "d.txt").write_text(text)',
    )


def _recorded_files(cache_dir):
    """Stage name -> the files its latest cache record restores."""
    cache = stage_cache.StageCache(cache_dir)
    files = {}
    for record in sorted(cache.cache.list_cache_records(), key=lambda r: r.pk):
        bundle = cache.cache.get_cache_bundle(record.pk)
        name = next(c.source for c in bundle.nb.cells if "STAGE_LOG" in c.source)
        name = name.split('write("')[1].split("\\n")[0]
        files[name] = sorted(str(path) for path, _ in bundle.artifacts)
    return files


@pytest.mark.parametrize(
    "executor,anchor",
    [("in-process", "02_second"), pytest.param("kernel", "01_first", marks=pytest.mark.kernel)],
)
def test_a_side_stage_runs_in_a_second_lane_and_keys_on_what_it_reads(
    project, tmp_path, capsys, executor, anchor
):
    notebooks, _, run = project
    _side_project(notebooks)
    side = {"03_side": anchor}
    executed, run_dir = run(side_stages=side)
    assert sorted(executed) == ["01_first", "02_second", "03_side", "04_last"]
    said = capsys.readouterr().err
    assert "[pipeline] ci: 03_side.ipynb (3/4) executing beside the next stages" in said
    seconds = read_json(run_dir / "artifacts" / "timings.json")["03_side"]
    assert seconds >= 0.3 and f"03_side.ipynb executed in {seconds:.1f} s" in said
    assert (run_dir / "artifacts" / "d.txt").read_text() == "[42][42]side"
    # Each stage's files are its own: the side stage wrote c.txt in a scratch folder.
    assert _recorded_files(tmp_path / "cache") == {
        "01_first": ["artifacts/a.txt"],
        "02_second": ["artifacts/b.txt"],
        "03_side": ["artifacts/c.txt", "artifacts/side/deep/where.txt"],
        "04_last": ["artifacts/d.txt"],
    }
    # It ran in a scratch folder beside the run, named after both, which is gone.
    scratch = Path((run_dir / "artifacts" / "side" / "deep" / "where.txt").read_text())
    assert scratch.parent == run_dir.parent and scratch.name.startswith(f".{run_dir.name}-03_side-")
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(".run-")]
    shown = nbformat.read(run_dir / "notebooks" / "03_side.ipynb", as_version=4)
    assert shown.metadata["papermill"]["parameters"]["run_dir"] == str(run_dir)
    injected = next(c for c in shown.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'run_dir = "{run_dir}"' in injected.source
    assert shown.cells[-1].outputs[0]["text"] == "03_side done\n"
    record = read_json(run_dir / "artifacts" / "stage_cache.json")
    states = record["stages"]
    assert {stage: s["state"] for stage, s in states.items()} == dict.fromkeys(
        ["01_first", "02_second", "03_side", "04_last"], "executed"
    )
    assert states["03_side"]["inputs"] == record["environment"]  # it reads no stage
    assert states["04_last"]["inputs"] == pipeline._folded(
        states["02_second"]["key"], states["03_side"]["key"]
    )

    executed, run_dir = run(side_stages=side)  # nothing changed: everything reused
    assert executed == [] and (run_dir / "artifacts" / "d.txt").read_text() == "[42][42]side"
    # A reused stage is said to take the time of its restore, not the recorded run's.
    assert "03_side.ipynb reused in 0.0 s" in capsys.readouterr().err

    write_stage(notebooks, "01_first", '(folder / "a.txt").write_text(str(seeds) + "!")')
    executed, _ = run(side_stages=side)
    assert sorted(executed) == ["01_first", "02_second", "04_last"]  # not the side stage

    write_stage(notebooks, "03_side", '(folder / "c.txt").write_text("other")')
    executed, run_dir = run(side_stages=side)
    assert sorted(executed) == ["03_side", "04_last"]
    assert (run_dir / "artifacts" / "d.txt").read_text() == "[42]![42]!other"


def test_a_failing_side_stage_stops_the_run_where_it_joins(project):
    notebooks, _, run = project
    write_stage(notebooks, "03_side", 'raise ValueError("broken side")')
    write_stage(notebooks, "04_last", "pass")
    with pytest.raises(pipeline.PipelineError, match="broken side"):
        run(side_stages={"03_side": "01_first"})


def test_a_side_stage_is_said_to_take_its_own_time_not_the_wait_for_it(project, capsys):
    notebooks, _, run = project
    write_stage(notebooks, "02_second", "import time\ntime.sleep(1.0)")
    write_stage(notebooks, "03_side", "import time\ntime.sleep(0.4)")
    _, run_dir = run(side_stages={"03_side": "01_first"})  # done long before 02 is
    seconds = read_json(run_dir / "artifacts" / "timings.json")["03_side"]
    assert seconds >= 0.4
    assert f"03_side.ipynb executed in {seconds:.1f} s" in capsys.readouterr().err


def test_the_estimates_count_a_side_stage_beside_the_main_lane(project, capsys):
    notebooks, _, run = project
    _side_project(notebooks)
    _, run_dir = run(side_stages={"03_side": "01_first"})
    from ids_utils.artifacts import write_json

    timings = {"01_first": 60, "02_second": 120, "03_side": 600, "04_last": 60}
    write_json(run_dir / "artifacts" / "timings.json", timings)
    capsys.readouterr()
    run(side_stages={"03_side": "01_first"}, force=True)
    said = capsys.readouterr().err.splitlines()
    # 03 runs from 60 s to 660 s, beside 02; 04 follows: 12 min in all, not the 14 min of the sum.
    assert said[0].endswith("to execute: 01, 02, 03, 04 (about 12 min by the last run's timings)")
    left = [line.split("; about ")[1] for line in said if "; about " in line]
    assert left == [
        "11 min left by the last run's timings",  # after 01: 720 s - 60 s
        "9 min left by the last run's timings",  # after 02: 720 s - 180 s (03 runs on)
        "1 min left by the last run's timings",  # after 03
    ]


def _ended(pid: int) -> bool:
    """Whether a process has ended (gone, or a zombie waiting to be reaped)."""
    import pathlib

    status = pathlib.Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()
    except FileNotFoundError:
        return True


@pytest.mark.kernel
def test_a_failing_main_lane_stops_the_side_stage_and_its_workers(project, tmp_path):
    import time

    notebooks, _, run = project
    pids = tmp_path / "pids"
    write_stage(
        notebooks,
        "03_side",
        "import subprocess, time\n"
        'worker = subprocess.Popen(["sleep", "300"])\n'
        f'pathlib.Path("{pids}").write_text(f"{{os.getpid()}} {{worker.pid}}")\n'
        "time.sleep(300)",
    )
    # The main lane fails once the side stage (and its worker) is running.
    write_stage(
        notebooks,
        "02_second",
        "import time\n"
        f'while not pathlib.Path("{pids}").exists(): time.sleep(0.1)\n'
        'raise ValueError("main lane broken")',
    )
    start = time.perf_counter()
    with pytest.raises(pipeline.PipelineError, match="main lane broken"):
        run(side_stages={"03_side": "01_first"})
    assert time.perf_counter() - start < 60  # not the side stage's 300 s
    kernel, worker = map(int, pids.read_text().split())
    deadline = time.monotonic() + 10
    while not (_ended(kernel) and _ended(worker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _ended(kernel) and _ended(worker)
    assert not [p for p in (tmp_path).iterdir() if p.name.startswith(".run-")]


def test_a_failing_main_lane_leaves_no_scratch_folder_of_the_side_stage(project, tmp_path):
    notebooks, _, run = project
    write_stage(notebooks, "02_second", 'raise ValueError("main lane broken")')
    write_stage(notebooks, "03_side", "import time\ntime.sleep(0.5)")
    with pytest.raises(pipeline.PipelineError, match="main lane broken"):
        run(side_stages={"03_side": "01_first"})
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run-")]


def test_the_side_stage_kernel_is_started_by_a_manager_that_records_it(project, monkeypatch):
    from jupyter_client import AsyncKernelManager

    notebooks, _, run = project
    write_stage(notebooks, "03_side", "pass")
    engines = {}

    def execute(notebook, path, out_dir, **engine):
        engines[path.stem] = engine
        return execute_in_process(notebook, path, out_dir)

    monkeypatch.setattr(pipeline, "_execute", execute)
    run(side_stages={"03_side": "01_first"})
    assert engines["01_first"] == engines["02_second"] == {}  # the main lane's own kernels
    recorded = engines["03_side"]["kernel_manager_class"]
    assert issubclass(recorded, AsyncKernelManager) and recorded is not AsyncKernelManager
