"""Figures: one style, saved into the run without a timestamp (identical bytes per run)."""

from __future__ import annotations

import pandas as pd
import pytest

from ids_utils import plots


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
