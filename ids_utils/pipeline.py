"""Running the notebooks in order (papermill) and building the book from a run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .artifacts import RUN_MARKER, artifacts_dir, read_json, write_json
from .datasets import DataError
from .files import atomic_write
from .lanes import SIDE_STAGES, finish_times
from .profiles import get_profile
from .snippets import write_snippets
from .stage_cache import StageCache, environment_key, snapshot, written_between

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"

#: Environment of the notebook kernels: TensorFlow quiet and without oneDNN's
#: reordered kernels (see ``ids_utils/__init__.py``), string hashing seeded.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "PYTHONHASHSEED": "0"}


class PipelineError(RuntimeError):
    """A stage notebook or the book build failed."""


def resolve_source(data_dir: str | Path, source: str = "auto") -> Path:
    """The CICIoT2023 folder a run reads.

    ``"auto"`` takes the official original release (``ciciot2023/original``)
    when any of its part files are present, since only it can supply the
    paper's scale, and the merged sample (``ciciot2023/merged``) otherwise.
    Any other value is taken as a path.

    Raises
    ------
    DataError
        If no source is found.
    """
    if source != "auto":
        return Path(source)
    data_dir = Path(data_dir)
    for candidate in ("original", "merged"):
        folder = data_dir / "ciciot2023" / candidate
        if folder.is_dir() and any(folder.glob("*.csv")):
            return folder
    raise DataError(
        data_dir / "ciciot2023", "no CICIoT2023 data: run `python -m ids_utils fetch-data` first"
    )


def notebook_paths(
    notebooks_dir: str | Path = NOTEBOOKS_DIR, stages: list[str] | None = None
) -> list[Path]:
    """The stage notebooks (``NN_name.ipynb``) in order; only those whose names
    start with one of ``stages`` (e.g. ``["09", "12"]``) when given."""
    paths = sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))
    if not stages:
        return paths
    unknown = [s for s in stages if not any(p.name.startswith(s) for p in paths)]
    if unknown:
        raise PipelineError(
            f"no stage notebook starts with {', '.join(unknown)} (stages: "
            f"{', '.join(p.name[:2] for p in paths)})"
        )
    return [p for p in paths if p.name.startswith(tuple(stages))]


def run_pipeline(
    profile: str,
    data_dir: str | Path = DEFAULT_DATA_DIR,
    run_dir: str | Path | None = None,
    source: str = "auto",
    notebooks_dir: str | Path = NOTEBOOKS_DIR,
    stages: list[str] | None = None,
    force: bool = False,
    cache_dir: str | Path | None = None,
    fresh: bool = False,
    side_stages: dict[str, str] | None = None,
) -> Path:
    """Execute the stage notebooks in order with the profile's parameters, reusing the cache.

    A stage whose code cells, parameters, inputs (earlier stages, data,
    ``ids_utils`` source, package versions) are unchanged is not executed: its
    notebook outputs and artefacts come from the stage cache
    (:mod:`ids_utils.stage_cache`), merged into the current notebook so that
    edited prose still shows.  Executed notebooks go to ``<run_dir>/notebooks``,
    artefacts to ``<run_dir>/artifacts``; ``artifacts/timings.json`` holds the
    seconds each stage took to compute and ``artifacts/stage_cache.json`` the
    profile, parameters, environment key and, per stage, its key and whether it
    was executed or reused (what ``nbval`` needs to reuse a valid execution).

    Parameters
    ----------
    stages : list of str, optional
        Execute only the notebooks whose names start with these prefixes
        (``["09", "10"]``), whatever the cache holds, keeping what the other
        stages of the run wrote; by default the run directory is rebuilt and
        every stage is reused or executed.
    force : bool, default False
        Execute every selected stage even when the cache holds it.
    cache_dir : str or Path, optional
        The stage cache (default ``runs/cache`` in the project).
    fresh : bool, default False
        With ``stages``: start from an empty run directory, so the run holds
        those stages alone (a second execution to compare with a first).
    side_stages : dict, optional
        Stage -> the stage after which it executes in a second lane
        (:data:`SIDE_STAGES` by default).  It executes in a scratch run folder, so
        the files each lane writes are known exactly; they join the run when the
        main lane reaches the side stage's place.

    Returns
    -------
    Path
        The run directory.
    """
    import nbformat
    from papermill.iorw import load_notebook_node

    parameters = get_profile(profile)
    run_dir = Path(run_dir or PROJECT_ROOT / "runs" / profile).resolve()
    parameters.update(data_dir=str(Path(data_dir).resolve()), run_dir=str(run_dir), source=source)
    os.environ.update(QUIET_ENV)
    selected = notebook_paths(notebooks_dir, stages)
    if stages and fresh:
        clear_run_dir(run_dir)
    timings_path = run_dir / "artifacts" / "timings.json"
    previous = read_json(timings_path) if timings_path.is_file() else {}
    if stages:
        if not (run_dir / RUN_MARKER).exists():
            raise PipelineError(f"{run_dir}: not a run directory; run every stage first")
        timings = dict(previous)
        states_path = run_dir / "artifacts" / "stage_cache.json"
        states = read_json(states_path)["stages"] if states_path.is_file() else {}
    else:
        clear_run_dir(run_dir)
        timings, states = {}, {}
    from .compare import machine_record
    from .workers import THREADS_PER_WORKER

    write_json(artifacts_dir(run_dir) / "machine.json", machine_record(THREADS_PER_WORKER))
    cache = StageCache(cache_dir or PROJECT_ROOT / "runs" / "cache")
    out_dir = run_dir / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)

    side_stages = SIDE_STAGES if side_stages is None else side_stages
    # Keys chain through every stage (a stage reads what earlier ones wrote), but for a
    # side stage, which reads none, so the whole plan is known before anything runs.
    environment = inputs = environment_key(data_dir, PROJECT_ROOT)
    plan = []
    for path in notebook_paths(notebooks_dir):
        own = environment if path.stem in side_stages else inputs
        notebook = cache.parameterise(
            load_notebook_node(str(path)), declared_parameters(path, parameters), own
        )
        key = cache.key(notebook)
        if path in selected:
            hit = None if force or stages else cache.lookup(notebook)
            plan.append((path, notebook, hit, {"key": key, "inputs": own}))
        inputs = _folded(inputs, key) if path.stem in side_stages else key
    # The last run's seconds of the stages to execute, in the lanes they will run in.
    expected = finish_times(
        {p.stem: previous.get(p.stem, 0) if h is None else 0 for p, _, h, _ in plan}, side_stages
    )
    _announce(profile, plan, max(expected.values(), default=0.0))

    lane = _SideLane(profile, parameters, plan, side_stages)
    try:
        for number, (path, notebook, hit, keys) in enumerate(plan, start=1):
            start = time.perf_counter()
            joined = lane.started(path)
            if joined:
                executed, outputs, timings[path.stem] = lane.join(path, run_dir)
                nbformat.write(executed, out_dir / path.name)
                cache.store(notebook, executed, run_dir, outputs, timings[path.stem])
                states[path.stem] = {"state": "executed", **keys}
            elif hit is not None:
                record_id, merged = hit
                timings[path.stem] = cache.restore(record_id, run_dir)
                nbformat.write(merged, out_dir / path.name)
                states[path.stem] = {"state": "reused", **keys}
            else:
                print(
                    f"[pipeline] {profile}: {path.name} ({number}/{len(plan)}) executing",
                    file=sys.stderr,
                    flush=True,
                )
                before = snapshot(run_dir)
                executed = _execute(notebook, path, out_dir)
                timings[path.stem] = round(time.perf_counter() - start, 1)
                cache.store(
                    notebook,
                    executed,
                    run_dir,
                    written_between(before, snapshot(run_dir)),
                    timings[path.stem],
                )
                states[path.stem] = {"state": "executed", **keys}
            took = timings[path.stem] if joined else time.perf_counter() - start
            left = max(expected.values()) - expected[path.stem]
            print(
                f"[pipeline] {profile}: {path.name} {states[path.stem]['state']} in "
                f"{took:.1f} s"
                + (f"; about {_duration(left)} left by the last run's timings" if left else ""),
                file=sys.stderr,
                flush=True,
            )
            # Written after every stage, so an interrupted run still says what it measured.
            write_json(artifacts_dir(run_dir) / "timings.json", timings)
            write_json(
                artifacts_dir(run_dir) / "stage_cache.json",
                {
                    "profile": profile,
                    "parameters": parameters,
                    "environment": environment,
                    "stages": states,
                },
            )
            lane.start_after(path, run_dir)
    except BaseException:
        # A failed or interrupted main lane does not wait for a side stage's hour of work.
        lane.stop()
        raise
    finally:
        lane.close()
    return run_dir


def _folded(inputs: str, side_key: str) -> str:
    """The inputs key of the stages after a side stage: the chain so far and its key."""
    import hashlib

    return hashlib.sha256(f"{inputs}\0{side_key}".encode()).hexdigest()


class _SideLane:
    """Side stages (:data:`SIDE_STAGES`) executing in a thread beside the main lane.

    A side stage starts once its anchor stage is done (executed or reused) and only
    when the cache does not hold it.  It executes in a scratch run folder beside the
    run, parameterised with that folder (its key is the run's: the scratch folder only
    changes where it writes); :meth:`join` waits for it, copies its files into the run
    and gives back the executed notebook with the run's own parameters cell.  When the
    main lane fails or is interrupted, :meth:`stop` kills the side stages' kernels.
    """

    def __init__(self, profile: str, parameters: dict, plan: list, side_stages: dict[str, str]):
        self.profile, self.parameters = profile, parameters
        self.waiting = {
            side_stages[path.stem]: (number, path, notebook, keys)
            for number, (path, notebook, hit, keys) in enumerate(plan, start=1)
            if path.stem in side_stages and hit is None
        }
        self.total = len(plan)
        self.running: dict[str, tuple] = {}
        self.pool = None
        self.stopping = threading.Event()
        self.kernel_groups: list[int] = []

    def started(self, path: Path) -> bool:
        return path.stem in self.running

    def start_after(self, anchor: Path, run_dir: Path) -> None:
        """Start the side stage waiting for ``anchor``, if there is one."""
        import tempfile
        from concurrent.futures import ThreadPoolExecutor

        from papermill.iorw import load_notebook_node

        if anchor.stem not in self.waiting:
            return
        number, path, notebook, keys = self.waiting.pop(anchor.stem)
        scratch = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}-{path.stem}-", dir=run_dir.parent))
        apart = StageCache.parameterise(
            load_notebook_node(str(path)),
            declared_parameters(path, {**self.parameters, "run_dir": str(scratch)}),
            keys["inputs"],
        )
        (scratch / "notebooks").mkdir()
        self.pool = self.pool or ThreadPoolExecutor(max_workers=1)
        print(
            f"[pipeline] {self.profile}: {path.name} ({number}/{self.total}) executing beside "
            "the next stages",
            file=sys.stderr,
            flush=True,
        )
        future = self.pool.submit(
            _timed_execute,
            apart,
            path,
            scratch / "notebooks",
            kernel_manager_class=_recorded_kernels(self.kernel_groups, self.stopping),
        )
        self.running[path.stem] = (future, notebook, scratch)

    def join(self, path: Path, run_dir: Path):
        """Wait for a side stage: (executed notebook, its files in the run, seconds)."""
        future, notebook, scratch = self.running.pop(path.stem)
        executed, seconds = future.result()
        folder = scratch / "artifacts"
        outputs = (
            sorted(str(p.relative_to(scratch)) for p in folder.rglob("*") if p.is_file())
            if folder.is_dir()
            else []
        )
        for relative in outputs:
            target = run_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(scratch / relative, "rb") as reader, atomic_write(target, "wb") as writer:
                shutil.copyfileobj(reader, writer)
        shutil.rmtree(scratch)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        for cell in executed.cells:
            if cell.cell_type == "code":
                cell.source = code.pop(0).source
        executed.metadata["papermill"]["parameters"] = notebook.metadata["papermill"]["parameters"]
        return executed, outputs, seconds

    def stop(self) -> None:
        """Kill the kernels of the side stages still running, with their worker processes."""
        self.stopping.set()
        for group in list(self.kernel_groups):
            _kill_group(group)

    def close(self) -> None:
        """Wait for the lane's thread; remove the scratch folders of stages never joined."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        for _, _, scratch in self.running.values():
            shutil.rmtree(scratch, ignore_errors=True)


def _recorded_kernels(groups: list[int], stopping: threading.Event):
    """A kernel manager class that records each kernel's process group in ``groups``.

    A kernel is started in a process group of its own (jupyter_client starts it in a
    new session), which its worker processes join: killing the group stops them all.
    A kernel that starts once ``stopping`` is set is killed at once.
    """
    from jupyter_client import AsyncKernelManager

    class RecordedKernelManager(AsyncKernelManager):
        async def _async_post_start_kernel(self, **kw) -> None:
            await super()._async_post_start_kernel(**kw)
            groups.append(self.provisioner.pgid)
            if stopping.is_set():
                _kill_group(self.provisioner.pgid)

    return RecordedKernelManager


def _kill_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it has ended already


def _timed_execute(notebook, path: Path, out_dir: Path, **engine):
    start = time.perf_counter()
    executed = _execute(notebook, path, out_dir, **engine)
    return executed, round(time.perf_counter() - start, 1)


def declared_parameters(path: Path, parameters: dict) -> dict:
    """The values of the parameters a notebook declares in its ``parameters`` cell.

    Each chapter declares only what it uses, so its page and its stage key carry
    only those (a change to another chapter's setting does not re-execute it).

    Raises
    ------
    PipelineError
        If the notebook declares a parameter the run does not set.
    """
    import papermill

    declared = papermill.inspect_notebook(str(path))
    unknown = sorted(set(declared) - set(parameters))
    if unknown:
        raise PipelineError(
            f"{path.name} declares parameter(s) no profile sets: {', '.join(unknown)}"
        )
    return {name: parameters[name] for name in declared}


def _execute(notebook, path: Path, out_dir: Path, **engine):
    """Run a parameterised notebook with papermill; the executed notebook.

    ``engine`` goes to papermill's engine (``kernel_manager_class`` for the side lane).
    """
    import papermill

    try:
        return papermill.execute_notebook(
            notebook,
            str(out_dir / path.name),
            parameters=None,
            cwd=str(path.parent),
            kernel_name="python3",
            progress_bar=False,
            log_output=True,
            request_save_on_cell_execute=False,
            **engine,
        )
    except papermill.PapermillExecutionError as exc:
        raise PipelineError(
            f"{path.name} failed at cell {exc.exec_count}: "
            f"{exc.ename}: {exc.evalue} (executed notebook: "
            f"{out_dir / path.name})"
        ) from None


def _announce(profile: str, plan: list, estimate: float) -> None:
    """One line saying which stages will be reused and how long the others should take."""
    reused = [p.stem[:2] for p, _, hit, _ in plan if hit is not None]
    to_run = [p for p, _, hit, _ in plan if hit is None]
    print(
        f"[pipeline] {profile}: {len(plan)} stage(s); reused from the cache: "
        f"{', '.join(reused) or 'none'}; to execute: "
        f"{', '.join(p.stem[:2] for p in to_run) or 'none'}"
        + (f" (about {_duration(estimate)} by the last run's timings)" if estimate else ""),
        file=sys.stderr,
        flush=True,
    )


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{seconds:.0f} s"
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def clear_run_dir(run_dir: Path) -> None:
    """Empty a run directory's outputs so no stale file survives into a new run.

    Only folders marked as runs (``.ids-run``) or empty ones are touched: a
    mistyped ``--run-dir`` never deletes anything else.
    """
    if run_dir.exists() and any(run_dir.iterdir()) and not (run_dir / RUN_MARKER).exists():
        raise PipelineError(
            f"{run_dir}: exists, is not empty and is not a run directory "
            f"(no {RUN_MARKER} file); choose a new or empty folder"
        )
    for name in ("artifacts", "notebooks", "book"):
        if (run_dir / name).exists():
            shutil.rmtree(run_dir / name)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / RUN_MARKER).touch()


def refresh_notebooks(
    notebooks_dir: str | Path = NOTEBOOKS_DIR, stages: list[str] | None = None
) -> list[Path]:
    """Re-execute the committed notebooks in place with their own (``ci``) defaults.

    Their stored outputs are what nbval compares against, so they must come
    from a ``ci`` run.  No timing metadata is recorded, to keep diffs small.
    ``stages`` limits the refresh to notebooks whose names start with these
    prefixes; they read what the earlier stages left in ``runs/ci``.
    """
    import nbclient
    import nbformat

    os.environ.update(QUIET_ENV)
    paths = notebook_paths(notebooks_dir, stages)
    for path in paths:
        print(f"[refresh] {path.name}", file=sys.stderr, flush=True)
        notebook = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(
            notebook,
            timeout=600,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
        nbformat.write(notebook, path)
    return paths


def build_book(
    run_dir: str | Path, strict: bool = False, output_dir: str | Path = PROJECT_ROOT
) -> Path:
    """Build the HTML book from a run's executed notebooks.

    The book's sources (configuration, prose chapters, bibliography) are staged
    with the run's notebooks in ``<run_dir>/book``, so that the committed
    notebooks stay as they are.  The HTML lands in ``<output_dir>/_build/html``.

    Parameters
    ----------
    run_dir : str or Path
        A run made by :func:`run_pipeline`.
    strict : bool, default False
        Treat every Sphinx warning as an error (``-W --keep-going``).
    """
    run_dir = Path(run_dir).resolve()
    executed = run_dir / "notebooks"
    if not any(executed.glob("*.ipynb")):
        raise FileNotFoundError(f"{executed}: no executed notebooks; run the pipeline first")
    stage = run_dir / "book"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    for name in ("_toc.yml", "references.bib"):
        shutil.copy2(PROJECT_ROOT / name, stage / name)
    shutil.copytree(PROJECT_ROOT / "_static", stage / "_static")
    write_config(run_dir, stage / "_config.yml")
    shutil.copytree(PROJECT_ROOT / "book", stage / "book")
    shutil.copytree(executed, stage / "notebooks")
    for notebook in sorted((stage / "notebooks").glob("*.ipynb")):
        prepare_page(notebook, run_dir)
    write_snippets(run_dir, stage / "book" / "_generated")
    command = [
        str(Path(sys.executable).parent / "jupyter-book"),
        "build",
        str(stage),
        "--path-output",
        str(Path(output_dir).resolve()),
    ]
    if strict:
        command += ["-W", "-n", "--keep-going"]
    result = subprocess.run(command, env={**os.environ, **QUIET_ENV})
    if result.returncode:
        raise PipelineError(
            f"jupyter-book build of {stage} failed (exit status "
            f"{result.returncode}); its messages are above"
        )
    return Path(output_dir) / "_build" / "html"


#: Cells the book never shows: the notebook's defaults and papermill's injected values.
PLUMBING_TAGS = ("parameters", "injected-parameters")


def prepare_page(path: Path, run_dir: Path) -> None:
    """Make an executed notebook a page: parameter cells removed, no machine's paths.

    The parameter cells are tagged ``remove-cell`` (Jupyter Book drops them from
    the page), and every absolute path of the project or the run (in the
    injected parameters, papermill's metadata, any output) becomes relative, in
    the page and in the notebook offered for download.
    """
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if any(tag in tags for tag in PLUMBING_TAGS) and "remove-cell" not in tags:
            tags.append("remove-cell")
    text = nbformat.writes(notebook)
    for absolute, relative in (
        (f"{PROJECT_ROOT}/", ""),
        (f"{run_dir}/", ""),
        (str(run_dir), run_dir.name),
        (str(PROJECT_ROOT), "."),
    ):
        text = text.replace(absolute, relative)
    path.write_text(text)


def source_commit() -> str:
    """The project's git commit (with ``-dirty`` for uncommitted changes), or ``unknown``."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True
        )

    head = git("rev-parse", "--short", "HEAD")
    if head.returncode:
        return "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + ("-dirty" if dirty else "")


#: The environment variable that gives the book its public repository (``https://...``):
#: with it the pages get a repository button and Binder and Colab launch buttons.
REPOSITORY_VARIABLE = "IDS_REPOSITORY_URL"


def write_config(run_dir: Path, path: Path, repository: str | None = None) -> Path:
    """Copy ``_config.yml``, adding a footer that names the run's profile, data and commit.

    The footer is on every page, so each page says what produced it.

    Parameters
    ----------
    repository : str, optional
        The project's public repository; :data:`REPOSITORY_VARIABLE` when None.
        The project has no address of its own to type in here, so without one
        the pages carry no repository or launch buttons (a download button only).
    """
    import yaml

    config = yaml.safe_load((PROJECT_ROOT / "_config.yml").read_text())
    report = read_json(run_dir / "artifacts" / "data_report.json")
    sample = report["sample"]["achieved"]
    footer = (
        f"Built by the <code>{report['profile']}</code> profile from "
        f"{report['source']['release']} ({sample['total']:,} flows sampled), "
        f"commit <code>{source_commit()}</code>."
    )
    config.setdefault("html", {})["extra_footer"] = footer
    repository = repository or os.environ.get(REPOSITORY_VARIABLE)
    if repository:
        if not repository.startswith("https://"):
            raise PipelineError(f"{REPOSITORY_VARIABLE}={repository!r}: give an https:// address")
        config["repository"] = {"url": repository, "branch": "main"}
        config["html"].update({"use_repository_button": True})
        config["launch_buttons"] = {
            "notebook_interface": "jupyterlab",
            "binderhub_url": "https://mybinder.org",
            "colab_url": "https://colab.research.google.com",
        }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
