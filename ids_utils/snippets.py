"""The Markdown snippets the book's prose chapters include, written from a run's artefacts.

Each ``write_*`` function reads one artefact of the run and writes one file
into the staged book's ``book/_generated`` folder, so that no number in the
prose is typed by hand; :func:`write_snippets` writes them all.
"""

from __future__ import annotations

import os
from pathlib import Path

from .acquire import OFFICIAL_PART_COUNT, OFFICIAL_RELEASE_BENIGN, OFFICIAL_RELEASE_FLOWS
from .artifacts import read_json
from .files import dumps
from .lanes import SIDE_STAGES, wall_seconds


def write_snippets(run_dir: Path, folder: Path) -> list[Path]:
    """Write every snippet of the run into ``folder``; the paths written."""
    return [
        write_build_facts(run_dir, folder),
        write_timings(run_dir, folder),
        write_training_speed(run_dir, folder),
        write_parallelism(run_dir, folder),
        write_rerun_movement(run_dir, folder),
        *write_ledger(run_dir, folder),
        write_environment(folder),
        write_run_download(run_dir, folder),
    ]


def write_build_facts(run_dir: Path, folder: Path) -> Path:
    """Write the Markdown snippet that tells which data and scale a build used.

    Generated from the run's ``data_report.json`` so no number is typed by hand.
    """
    report = read_json(run_dir / "artifacts" / "data_report.json")
    sample = report["sample"]
    source = report["source"]
    lines = [
        f"- **Profile**: `{report['profile']}`",
        f"- **Source**: {source['release']} ({source['files']} file(s), "
        f"{source['summary']['rows']:,} flows, {source['summary']['benign']:,} benign)",
        f"- **Sample**: {sample['achieved']['total']:,} flows "
        f"({sample['achieved']['benign']:,} benign, {sample['achieved']['attack']:,} attack) "
        f"of the {sample['requested']['total']:,} requested",
        f"- **Features**: {len(report['features']['used'])}",
    ]
    if sample["shortfall"]:
        lines.append(f"- **Scale**: {sample['shortfall']}")
    lines.append(
        f"- **The full original release** (its publishers' figures): "
        f"{OFFICIAL_RELEASE_FLOWS:,} flows ({OFFICIAL_RELEASE_BENIGN:,} benign) in "
        f"{OFFICIAL_PART_COUNT} part files"
    )
    return _write_markdown(folder, "build_facts.md", "\n".join(lines) + "\n")


def write_timings(run_dir: Path, folder: Path) -> Path:
    """Write the Markdown table of the seconds each stage took in the run, and their total.

    The total is given twice: one stage after another, and as the stages run, the side
    stages (:data:`ids_utils.lanes.SIDE_STAGES`) beside the main lane: the wall time of
    a build that executes every stage.
    """
    timings = read_json(run_dir / "artifacts" / "timings.json")
    rows = ["| stage | seconds |", "| --- | ---: |"]
    rows += [f"| `{stage}` | {seconds:.1f} |" for stage, seconds in timings.items()]
    total = sum(timings.values())
    rows.append(f"| **all stages, one after another** ({total / 60:.1f} minutes) | {total:.1f} |")
    beside = {stage: anchor for stage, anchor in SIDE_STAGES.items() if stage in timings}
    if beside:
        wall = wall_seconds(timings, beside)
        lanes = "; ".join(
            f"`{stage}` beside the stages after `{anchor}`" for stage, anchor in beside.items()
        )
        rows.append(
            f"| **all stages in two lanes**: {lanes} ({wall / 60:.1f} minutes) | {wall:.1f} |"
        )
    return _write_markdown(folder, "timings.md", "\n".join(rows) + "\n")


def write_training_speed(run_dir: Path, folder: Path) -> Path:
    """Write the Markdown table of the training-speed benchmark of the run."""
    results = read_json(run_dir / "artifacts" / "training_speed.json")
    rows = [
        "| setting | rows | first epoch (s) | s per epoch | flows per s | GFLOP/s | "
        "min for 20 epochs |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows += [
        f"| {r['setting']} | {r['rows']:,} | {r['first_epoch_seconds']:.1f} | "
        f"{r['seconds_per_epoch']:.1f} | {r['flows_per_second']:,.0f} | "
        f"{r.get('gflops_per_second', float('nan')):.1f} | "
        f"{r['minutes_for_20_epochs']:.1f} |"
        for r in results
    ]
    return _write_markdown(folder, "training_speed.md", "\n".join(rows) + "\n")


def write_parallelism(run_dir: Path, folder: Path) -> Path:
    """Write the sentence comparing one two-thread process with two one-thread processes."""
    result = read_json(run_dir / "artifacts" / "parallelism.json")
    text = (
        f"Measured in this run: {result['jobs']} trainings took "
        f"{result['serial_seconds']:.1f} s one after the other in one process with "
        f"{result['cores']} TensorFlow threads, and {result['parallel_seconds']:.1f} s side "
        f"by side in {result['cores']} one-thread processes; the {result['faster']} "
        "arrangement is the faster here.\n"
    )
    return _write_markdown(folder, "parallelism.md", text)


def write_rerun_movement(run_dir: Path, folder: Path) -> Path:
    """Write the table of how far one seed's Table 1 metrics moved in reruns with one thing
    changed (``rerun_movement.json``, from the baselines chapter), as
    :func:`ids_utils.compare.movement_table` lays it out."""
    from .compare import movement_table

    reruns = read_json(run_dir / "artifacts" / "rerun_movement.json")["reruns"]
    table = movement_table(reruns).reset_index()
    metrics = list(table.columns[5:])
    rows = [
        "| " + " | ".join(table.columns) + " |",
        "| --- | --- | --- | --- | ---: | " + " | ".join("---:" for _ in metrics) + " |",
    ]
    for row in table.itertuples(index=False):
        change, model, threads, identical, flipped, *changes = row
        rows.append(
            f"| {change} | {model} | {threads} | {'yes' if identical else 'no'} | {flipped:,} | "
            + " | ".join(f"{value:+.4f}" for value in changes)
            + " |"
        )
    seeds = sorted({report["seed"] for report in reruns})
    text = (
        f"Seed {', '.join(map(str, seeds))}, each metric's change (rerun minus run) on that "
        "seed's test flows:\n\n" + "\n".join(rows) + "\n"
    )
    return _write_markdown(folder, "rerun_movement.md", text)


def write_ledger(run_dir: Path, folder: Path) -> tuple[Path, Path]:
    """Write the claims ledger of the run, and the verdict rule above it, as Markdown."""
    from .ledger import VERDICT_RULE, build_ledger, ledger_markdown

    return (
        _write_markdown(folder, "verdict_rule.md", VERDICT_RULE),
        _write_markdown(folder, "ledger.md", ledger_markdown(build_ledger(run_dir))),
    )


#: The packages whose versions the reproducibility chapter lists.
KEY_PACKAGES = (
    "tensorflow-cpu",
    "keras",
    "scikit-learn",
    "xgboost-cpu",
    "pandas",
    "numpy",
    "onnxruntime",
    "jupyter-book",
    "myst-nb",
    "papermill",
)


def write_environment(folder: Path) -> Path:
    """Write the Markdown list of the interpreter, machine and key package versions."""
    import platform
    from importlib import metadata

    lines = [
        f"- **Python** {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "- **Packages** (all pinned in `requirements.txt`): "
        + ", ".join(f"{name} {metadata.version(name)}" for name in KEY_PACKAGES),
    ]
    return _write_markdown(folder, "environment.md", "\n".join(lines) + "\n")


#: The archive of a run's results offered on the reproducibility page.
RUN_DOWNLOAD = "run-artifacts.zip"


def write_run_download(run_dir: Path, folder: Path) -> Path:
    """Zip the run's JSON artefacts, training histories and ledger (CSV and JSON).

    Unzipped, it is a run folder that ``compare-runs`` reads: a reviewer
    compares their rerun with the published numbers.
    """
    import zipfile

    from .ledger import build_ledger

    folder.mkdir(parents=True, exist_ok=True)
    artifacts = run_dir / "artifacts"
    files = sorted([*artifacts.glob("*.json"), *artifacts.glob("seed-*/*/history.csv")])
    ledger = build_ledger(run_dir)
    path = folder / RUN_DOWNLOAD
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, f"{run_dir.name}/{file.relative_to(run_dir)}")
        archive.writestr(f"{run_dir.name}/ledger.csv", ledger.to_csv(index=False))
        archive.writestr(
            f"{run_dir.name}/ledger.json", dumps(ledger.to_dict(orient="records"), indent=2)
        )
    return path


def _write_markdown(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path
