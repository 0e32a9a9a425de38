"""Figures: one style, saved into the run without a timestamp, intervals from a fixed seed
(identical bytes per run)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pytest

from ids_utils import plots

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_a_saved_figure_lands_in_the_runs_figures_and_is_byte_stable(tmp_path):
    plots.use_style()
    counts = pd.Series({"DDoS": 30, "Benign": 5})
    first = plots.save(plots.bar_counts(counts, "flows", "n"), tmp_path, "counts").read_bytes()
    path = plots.save(plots.bar_counts(counts, "flows", "n"), tmp_path, "counts")
    assert path == tmp_path / "artifacts" / "figures" / "counts.png"
    assert path.read_bytes() == first and first.startswith(b"\x89PNG")


def test_a_failed_save_leaves_the_earlier_figure_and_no_partial_file(tmp_path, monkeypatch):
    plots.use_style()
    figure = plots.bar_counts(pd.Series({"DDoS": 30, "Benign": 5}), "flows", "n")
    path = plots.save(figure, tmp_path, "counts")
    before = path.read_bytes()

    def fail(stream, **options):
        stream.write(b"half a png")
        raise OSError("disk full")

    monkeypatch.setattr(figure, "savefig", fail)
    with pytest.raises(OSError, match="disk full"):
        plots.save(figure, tmp_path, "counts")
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["counts.png"]


def _interval_png(tmp_path, name: str) -> bytes:
    per_seed = pd.DataFrame(
        {
            "model": ["a"] * 5 + ["b"] * 5,
            "value": [0.1, 0.9, 0.4, 0.7, 0.2, 0.5, 0.6, 0.3, 0.8, 0.4],
        }
    )
    figure, ax = plt.subplots()
    plots.interval_points(per_seed, ax, x="model", y="value")
    path = plots.save(figure, tmp_path, name)
    plt.close(figure)
    return path.read_bytes()


def test_an_interval_figure_is_the_same_whatever_numpys_global_generator_holds(tmp_path):
    # seaborn bootstraps from NumPy's global generator when it has no seed: the intervals,
    # and so the pixels, would change between runs.
    plots.use_style()
    np.random.seed(1)
    first = _interval_png(tmp_path, "first")
    np.random.seed(2)
    assert _interval_png(tmp_path, "second") == first


def test_no_notebook_draws_a_bootstrap_interval_without_the_fixed_seed():
    # The notebooks' bar charts have one value a bar; their point plots draw intervals.
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        code = "\n".join(
            cell.source
            for cell in nbformat.read(path, as_version=4).cells
            if cell.cell_type == "code"
        )
        assert "sns.pointplot(" not in code, f"{path.name}: use plots.interval_points"
