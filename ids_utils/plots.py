"""One seaborn style for every figure of the book."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .files import atomic_write
from .models import LSTM_64


def use_style() -> None:
    """Apply the book's style: seaborn whitegrid, colour-blind palette, 110 dpi."""
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette="colorblind",
        rc={
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "figure.figsize": (7, 4),
            "axes.titleweight": "bold",
        },
    )


def save(fig: plt.Figure, run_dir: str | Path, name: str) -> Path:
    """Save a figure as ``artifacts/figures/<name>.png`` of the run, atomically (a failed
    save leaves an earlier figure of that name untouched)."""
    path = Path(run_dir) / "artifacts" / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as stream:
        fig.savefig(stream, format="png", bbox_inches="tight", metadata={"Software": None})
    return path


#: seaborn bootstraps a confidence interval from NumPy's global generator unless it is
#: given a seed, so an unseeded figure's bars move from one run to the next.
BOOTSTRAP_SEED = 0


def interval_points(data: pd.DataFrame, ax: plt.Axes, **options) -> plt.Axes:
    """Means as points with their 95% bootstrap interval (seaborn's ``pointplot``), the
    interval drawn from :data:`BOOTSTRAP_SEED`: the same figure in every run.

    Parameters
    ----------
    data : pandas.DataFrame
        Long-form values, one row per observation (e.g. per seed).
    ax : matplotlib.axes.Axes
        Where to draw.
    **options
        Passed to :func:`seaborn.pointplot` (``x``, ``y``, ``hue``, ``order``, ...);
        ``seed`` and ``errorbar`` are this function's.
    """
    return sns.pointplot(data=data, ax=ax, errorbar=("ci", 95), seed=BOOTSTRAP_SEED, **options)


def bar_counts(counts, title: str, xlabel: str, log: bool = False) -> plt.Figure:
    """Horizontal bar chart of counts (a pandas Series indexed by category)."""
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(counts) + 1.2))
    sns.barplot(
        x=counts.to_numpy(),
        y=[str(i) for i in counts.index],
        ax=ax,
        color=sns.color_palette()[0],
        orient="h",
    )
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

    return HTML(
        '<div class="admonition warning"><p class="admonition-title">Warning</p>'
        f"<p>{escape(text)}</p></div>"
    )


def layer_stack(layers: pd.DataFrame) -> plt.Figure:
    """The model's layers top to bottom with their parameter counts and output shapes.

    ``layers`` has columns ``layer``, ``output_shape`` and ``parameters``.
    """
    labels = [f"{row.layer}  {row.output_shape}" for row in layers.itertuples()]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(layers) + 1.2))
    sns.barplot(
        x=layers["parameters"].to_numpy(), y=labels, ax=ax, orient="h", color=sns.color_palette()[2]
    )
    ax.bar_label(ax.containers[0], fmt="{:,.0f}", padding=3, fontsize=9)
    ax.set(
        title="Layer stack (input at the top) and parameters per layer",
        xlabel="trainable parameters",
        ylabel="",
    )
    fig.tight_layout()
    return fig


def training_curves(history: pd.DataFrame, paper_points: pd.DataFrame) -> plt.Figure:
    """Loss and accuracy per epoch of each CNN-LSTM, training versus validation, with the
    paper's points.

    ``history`` is long: ``model``, ``epoch``, ``seed``, ``metric`` (loss /
    accuracy), ``part`` (training / validation), ``value``; the band spans the
    seeds.  Loss is drawn on a log scale: the as-written model's spikes are
    orders of magnitude above the stabilised model's curve.  ``paper_points``
    has ``epoch``, ``metric`` and ``value``.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        data = history[history["metric"] == metric]
        sns.lineplot(
            data=data,
            x="epoch",
            y="value",
            hue="model",
            style="part",
            errorbar=("pi", 100),
            marker="o",
            markersize=4,
            ax=ax,
        )
        points = paper_points[paper_points["metric"] == metric]
        ax.scatter(
            points["epoch"],
            points["value"],
            marker="X",
            s=70,
            color="black",
            zorder=5,
            label="paper (training, Section 4.1)",
        )
        ax.set(title=f"Training {metric}", xlabel="epoch", ylabel=metric)
        if metric == "loss":
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def divergence_diagnostics(diagnosis: dict, title: str) -> plt.Figure:
    """Inside training, per CNN-LSTM: loss and gradient norm per step, and the largest
    hidden value of ``lstm_64`` along the sequence at the last probe.

    ``diagnosis`` maps a model's name to :func:`ids_utils.diagnostics.training_diagnostics`.
    """
    import pandas as pd

    steps = pd.concat([d["steps"].assign(model=name) for name, d in diagnosis.items()])
    hidden = pd.concat([d["hidden"].assign(model=name) for name, d in diagnosis.items()])
    last = hidden[(hidden["layer"] == LSTM_64) & (hidden["step"] == hidden["step"].max())]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, column, label in (
        (axes[0], "loss", "batch loss"),
        (axes[1], "grad_norm", "gradient norm"),
    ):
        sns.lineplot(data=steps, x="step", y=column, hue="model", ax=ax, linewidth=1)
        ax.set(yscale="log", xlabel="optimiser step", ylabel=label, title=label.capitalize())
    sns.lineplot(data=last, x="position", y="max_abs", hue="model", ax=axes[2], marker=".")
    axes[2].set(
        yscale="log",
        xlabel="sequence position (feature)",
        ylabel="largest |h_t|",
        title=f"{LSTM_64} after {int(last['step'].max())} steps",
    )
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def roc_pr_curves(predictions: pd.DataFrame) -> plt.Figure:
    """ROC and precision-recall curves of the test predictions, one line per model and seed.

    ``predictions`` has ``model``, ``seed``, ``attack`` and ``probability``.
    """
    import pandas as pd
    from sklearn.metrics import precision_recall_curve, roc_curve

    roc, pr = [], []
    for (model, seed), part in predictions.groupby(["model", "seed"]):
        fpr, tpr, _ = roc_curve(part["attack"], part["probability"])
        roc.append(
            pd.DataFrame(
                {
                    "false positive rate": fpr,
                    "true positive rate": tpr,
                    "model": model,
                    "seed": str(seed),
                }
            )
        )
        precision, recall, _ = precision_recall_curve(part["attack"], part["probability"])
        pr.append(
            pd.DataFrame(
                {"recall": recall, "precision": precision, "model": model, "seed": str(seed)}
            )
        )
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    sns.lineplot(
        data=pd.concat(roc),
        x="false positive rate",
        y="true positive rate",
        hue="model",
        units="seed",
        ax=left,
        estimator=None,
        sort=False,
        drawstyle="steps-post",
        alpha=0.8,
    )
    left.plot([0, 1], [0, 1], ls=":", color="grey")
    left.set(title="ROC curve (test set, one line per seed)")
    sns.lineplot(
        data=pd.concat(pr),
        x="recall",
        y="precision",
        hue="model",
        units="seed",
        ax=right,
        estimator=None,
        sort=False,
        drawstyle="steps-post",
        alpha=0.8,
    )
    right.set(title="Precision-recall curve (test set)", ylim=(0, 1.02))
    for ax in (left, right):
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def sweep_heatmaps(validation: pd.DataFrame, metric: str) -> plt.Figure:
    """One heatmap per model of the mean validation metric over learning rate x batch size."""
    models = list(dict.fromkeys(validation["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 3.6), squeeze=False)
    for ax, model in zip(axes[0], models):
        table = validation[validation["model"] == model].pivot_table(
            index="learning_rate", columns="batch_size", values=metric, aggfunc="mean"
        )
        sns.heatmap(
            table.sort_index(ascending=False),
            annot=True,
            fmt=".3f",
            cmap="viridis",
            vmin=0.5,
            vmax=1,
            ax=ax,
            cbar=False,
        )
        ax.set(title=model, xlabel="batch size", ylabel="learning rate")
    fig.suptitle(f"Validation {metric.replace('_', ' ')}, mean over seeds", y=1.03)
    fig.tight_layout()
    return fig


def learning_curves(curves: pd.DataFrame, metrics: tuple[str, ...], title: str) -> plt.Figure:
    """Test metrics against training flows (log scale), one line per model; bands span seeds.

    ``curves`` has ``model``, ``train_flows`` and one column per metric.
    """
    long = curves.melt(
        id_vars=["model", "train_flows"],
        value_vars=list(metrics),
        var_name="metric",
        value_name="value",
    )
    grid = sns.relplot(
        data=long,
        x="train_flows",
        y="value",
        hue="model",
        col="metric",
        kind="line",
        marker="o",
        errorbar=("pi", 100),
        height=3.2,
        aspect=1.1,
        facet_kws={"sharey": False},
    )
    grid.set(xscale="log")
    grid.set_titles("{col_name}")
    grid.set_axis_labels("training flows", "")
    grid.figure.suptitle(title, y=1.04)
    return grid.figure


def confusion_heatmaps(ours: pd.DataFrame, paper: pd.DataFrame, ours_title: str) -> plt.Figure:
    """Our confusion matrix beside the paper's Table 2 (rows actual, columns predicted)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, matrix, title in ((axes[0], ours, ours_title), (axes[1], paper, "Paper, Table 2")):
        shares = matrix.div(matrix.sum(axis=1), axis=0)
        annotations = matrix.map(lambda v: f"{v:,.0f}")
        sns.heatmap(
            shares,
            annot=annotations,
            fmt="",
            cmap="Blues",
            vmin=0,
            vmax=1,
            cbar=False,
            ax=ax,
            linewidths=1,
            linecolor="white",
        )
        ax.set(title=title, xlabel="predicted", ylabel="actual")
    fig.tight_layout()
    return fig
