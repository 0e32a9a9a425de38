"""The notebooks stay thin: short cells that call the package (issue 14)."""

from __future__ import annotations

import nbformat

from ids_utils.pipeline import notebook_paths

#: Lines a code cell may have before it is too long to read at a glance.
MAX_CELL_LINES = 15
#: Cells allowed over that length, each justified where it is (none today).
ALLOWED_LONG_CELLS = 3


def test_few_code_cells_are_long():
    """Parameter cells are papermill's interface and are not on the pages; every other
    code cell counts."""
    long = [
        f"{path.name} cell {i}: {len(cell.source.splitlines())} lines"
        for path in notebook_paths()
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells)
        if cell.cell_type == "code"
        and "parameters" not in cell.metadata.get("tags", [])
        and len(cell.source.splitlines()) > MAX_CELL_LINES
    ]
    assert len(long) <= ALLOWED_LONG_CELLS, long


def test_no_notebook_defines_functions_or_classes():
    """Logic with a name belongs in ids_utils, where it has unit tests."""
    defined = [
        f"{path.name} cell {i}"
        for path in notebook_paths()
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells)
        if cell.cell_type == "code"
        and any(line.startswith(("def ", "class ")) for line in cell.source.splitlines())
    ]
    assert defined == []
