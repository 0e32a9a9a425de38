"""nbval reusing a valid execution from the stage cache (``-p tests.nbval_reuse``).

``make test`` runs the ``ci`` pipeline, which executes every committed
notebook once with the ``ci`` parameters, the notebooks' own defaults.  nbval
executing the same notebook again, on the same machine and inputs, would give
the same outputs (same seed, same numbers: tested separately, bit for bit).
So for a notebook whose execution in that run is *valid*, its checked cells
(``NBVAL_CHECK_OUTPUT``) are compared with the run's outputs by nbval's own
comparison (same sanitisers, same rules) instead of being executed again.

Valid means: the run is of the ``ci`` profile; ``ids_utils``, the package
pins and the data are what the run saw (its environment key); and the
notebook's code cells, parameterised as the run parameterised them, hash to
the key the run executed (or reused) for that stage.  Any other notebook is
executed by nbval as usual, so a stale or edited notebook is never let
through.  Without ``--nbval-reuse-run`` nothing changes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import (
    IPyNbCell,
    IPyNbFile,
    coalesce_streams,
    find_comment_markers,
    find_metadata_tags,
)


def pytest_addoption(parser):
    parser.addoption(
        "--nbval-reuse-run",
        default=None,
        metavar="RUN_DIR",
        help="compare checked cells with this ci run's valid executions "
        "instead of executing the notebooks again",
    )


def valid_execution(notebook_path: Path, run_dir: Path):
    """The run's executed notebook for ``notebook_path`` when it is valid, else None."""
    from papermill.iorw import load_notebook_node

    from ids_utils.pipeline import PROJECT_ROOT, PipelineError, declared_parameters
    from ids_utils.stage_cache import StageCache, environment_key

    record_path = run_dir / "artifacts" / "stage_cache.json"
    executed_path = run_dir / "notebooks" / notebook_path.name
    if not record_path.is_file() or not executed_path.is_file():
        return None
    record = json.loads(record_path.read_text())
    stage = record["stages"].get(notebook_path.stem)
    if record["profile"] != "ci" or stage is None:
        return None
    if record["environment"] != environment_key(record["parameters"]["data_dir"], PROJECT_ROOT):
        return None
    try:
        parameters = declared_parameters(notebook_path, record["parameters"])
    except PipelineError:
        return None  # it declares a parameter the run did not have: not the notebook it ran
    parameterised = StageCache.parameterise(
        load_notebook_node(str(notebook_path)), parameters, stage["inputs"]
    )
    if StageCache.key(parameterised) != stage["key"]:
        return None
    return nbformat.read(executed_path, as_version=4)


class ReusedCell(IPyNbCell):
    """A notebook cell whose fresh outputs are the run's, compared as nbval compares them."""

    def runtest(self):
        if self.options["skip"]:
            pytest.skip()
        if not self.options["check"] or self.cell.execution_count is None:
            return  # the run executed it without error; nothing to compare
        outs = coalesce_streams(self.parent.executed_outputs[self.cell_num])
        if not self.compare_outputs(outs, coalesce_streams(self.cell.outputs)):
            self.raise_cell_error(
                "Cell outputs differ (against the ci run's execution)",
                "\n".join(self.comparison_traceback),
            )


class ReusedNotebook(IPyNbFile):
    """A committed notebook checked against a valid execution; no kernel is started."""

    executed_outputs: list = []

    def setup(self):
        self.setup_sanitize_files()

    def teardown(self):
        pass

    def collect(self):
        self.nb = nbformat.read(str(self.fspath), as_version=4)
        cell_num = 0
        for cell in self.nb.cells:
            if cell.cell_type != "code":
                continue
            options = defaultdict(bool, find_metadata_tags(cell.metadata))
            options.update(dict(find_comment_markers(cell.source)))
            options.setdefault("check", self.compare_outputs)
            yield ReusedCell.from_parent(
                self, name=f"Cell {cell_num}", cell_num=cell_num, cell=cell, options=options
            )
            cell_num += 1


@pytest.hookimpl(tryfirst=True)
def pytest_collect_file(file_path, parent):
    run = parent.config.getoption("--nbval-reuse-run")
    if not run or file_path.suffix != ".ipynb":
        return None
    executed = valid_execution(Path(file_path), Path(run).resolve())
    if executed is None:
        return None
    parent.config._nbval_reused = getattr(parent.config, "_nbval_reused", set()) | {file_path}
    notebook = ReusedNotebook.from_parent(parent, path=file_path)
    notebook.executed_outputs = [
        cell.outputs
        for cell in executed.cells
        if cell.cell_type == "code" and "injected-parameters" not in cell.metadata.get("tags", [])
    ]
    return notebook


def pytest_collection_modifyitems(config, items):
    """Drop nbval's own (executing) items for the notebooks checked against the run."""
    reused = getattr(config, "_nbval_reused", set())
    dropped = [
        item
        for item in items
        if isinstance(item, IPyNbCell) and not isinstance(item, ReusedCell) and item.path in reused
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def pytest_report_header(config):
    run = config.getoption("--nbval-reuse-run")
    return (
        f"nbval-reuse: checked cells compared with {run} where its execution is valid"
        if run
        else None
    )
