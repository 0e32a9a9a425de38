"""One seaborn style for every figure of the book."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

PALETTE = {"Benign": "#4C72B0", "Attack": "#C44E52"}


def use_style() -> None:
    """Apply the book's style: seaborn whitegrid, colour-blind palette, 110 dpi."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind",
                  rc={"figure.dpi": 110, "savefig.dpi": 150, "figure.figsize": (7, 4),
                      "axes.titleweight": "bold"})


def save(fig: plt.Figure, run_dir: str | Path, name: str) -> Path:
    """Save a figure as ``artifacts/figures/<name>.png`` of the run."""
    path = Path(run_dir) / "artifacts" / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", metadata={"Software": None})
    return path


def bar_counts(counts, title: str, xlabel: str, log: bool = False) -> plt.Figure:
    """Horizontal bar chart of counts (a pandas Series indexed by category)."""
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(counts) + 1.2))
    sns.barplot(x=counts.to_numpy(), y=[str(i) for i in counts.index], ax=ax,
                color=sns.color_palette()[0], orient="h")
    ax.set(title=title, xlabel=xlabel, ylabel="")
    if log:
        ax.set_xscale("log")
    for container in ax.containers:
        ax.bar_label(container, fmt="{:,.0f}", padding=3, fontsize=9)
    fig.tight_layout()
    return fig


def warning_box(text: str):
    """A visible warning admonition for a notebook and the book (HTML output)."""
    from html import escape

    from IPython.display import HTML

    return HTML('<div class="admonition warning"><p class="admonition-title">Warning</p>'
                f"<p>{escape(text)}</p></div>")
