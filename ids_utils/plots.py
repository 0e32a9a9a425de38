"""One seaborn style for every figure of the book."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns



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


def layer_stack(layers: "pd.DataFrame") -> plt.Figure:
    """The model's layers top to bottom with their parameter counts and output shapes.

    ``layers`` has columns ``layer``, ``output_shape`` and ``parameters``.
    """
    labels = [f"{row.layer}  {row.output_shape}" for row in layers.itertuples()]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(layers) + 1.2))
    sns.barplot(x=layers["parameters"].to_numpy(), y=labels, ax=ax, orient="h",
                color=sns.color_palette()[2])
    ax.bar_label(ax.containers[0], fmt="{:,.0f}", padding=3, fontsize=9)
    ax.set(title="Layer stack (input at the top) and parameters per layer",
           xlabel="trainable parameters", ylabel="")
    fig.tight_layout()
    return fig


def training_curves(history: "pd.DataFrame", paper_points: "pd.DataFrame") -> plt.Figure:
    """Loss and accuracy per epoch, training versus validation, with the paper's points.

    ``history`` is long: ``epoch``, ``seed``, ``metric`` (loss / accuracy),
    ``part`` (training / validation), ``value``; the band spans the seeds.
    ``paper_points`` has ``epoch``, ``metric`` and ``value``.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        data = history[history["metric"] == metric]
        sns.lineplot(data=data, x="epoch", y="value", hue="part", errorbar=("pi", 100),
                     marker="o", markersize=4, ax=ax)
        points = paper_points[paper_points["metric"] == metric]
        ax.scatter(points["epoch"], points["value"], marker="X", s=70, color="black",
                   zorder=5, label="paper (training, Section 4.1)")
        ax.set(title=f"Training {metric}", xlabel="epoch", ylabel=metric)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def roc_pr_curves(predictions: "pd.DataFrame") -> plt.Figure:
    """ROC and precision-recall curves of the test predictions, one line per seed."""
    import pandas as pd
    from sklearn.metrics import precision_recall_curve, roc_curve

    roc, pr = [], []
    for seed, part in predictions.groupby("seed"):
        fpr, tpr, _ = roc_curve(part["attack"], part["probability"])
        roc.append(pd.DataFrame({"false positive rate": fpr, "true positive rate": tpr,
                                 "seed": str(seed)}))
        precision, recall, _ = precision_recall_curve(part["attack"], part["probability"])
        pr.append(pd.DataFrame({"recall": recall, "precision": precision, "seed": str(seed)}))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    sns.lineplot(data=pd.concat(roc), x="false positive rate", y="true positive rate",
                 hue="seed", ax=left, estimator=None, sort=False, drawstyle="steps-post")
    left.plot([0, 1], [0, 1], ls=":", color="grey")
    left.set(title="ROC curve (test set)")
    sns.lineplot(data=pd.concat(pr), x="recall", y="precision", hue="seed", ax=right,
                 estimator=None, sort=False, drawstyle="steps-post")
    right.set(title="Precision-recall curve (test set)", ylim=(0, 1.02))
    fig.tight_layout()
    return fig


def confusion_heatmaps(ours: "pd.DataFrame", paper: "pd.DataFrame", ours_title: str) -> plt.Figure:
    """Our confusion matrix beside the paper's Table 2 (rows actual, columns predicted)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, matrix, title in ((axes[0], ours, ours_title), (axes[1], paper, "Paper, Table 2")):
        shares = matrix.div(matrix.sum(axis=1), axis=0)
        annotations = matrix.map(lambda v: f"{v:,.0f}")
        sns.heatmap(shares, annot=annotations, fmt="", cmap="Blues", vmin=0, vmax=1, cbar=False,
                    ax=ax, linewidths=1, linecolor="white")
        ax.set(title=title, xlabel="predicted", ylabel="actual")
    fig.tight_layout()
    return fig
