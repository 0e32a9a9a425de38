"""The stage cache: a stage whose inputs did not change is not executed again.

Built on jupyter-cache, the Executable Books cache behind Jupyter Book's
``execute_notebooks: cache``: an executed notebook is stored under the hash of
its *code cells* (source and cell metadata; Markdown is left out), and its
outputs are merged back into the current notebook on a hit, so a chapter
whose prose alone changed is re-rendered with the stored outputs.

What else determines a stage's outputs is written into its code, as a comment
in papermill's injected-parameters cell (``# Parameters; inputs <key>``), so
jupyter-cache's code-cell hash covers it:

- the parameters (the injected cell itself);
- the ``ids_utils`` source, the locked package versions (``requirements.txt``)
  and the data files (name, size and modification time; hashing 13 GB of
  CICIoT2023 on every run would cost minutes): :func:`environment_key`;
- every earlier stage's key, since a stage reads what earlier stages wrote.

The files a stage writes into the run's ``artifacts/`` folder are stored
with it as jupyter-cache artefacts and restored on a hit.
"""

from __future__ import annotations

import copy
import hashlib
import shutil
from pathlib import Path

from .files import atomic_write

PACKAGE_DIR = Path(__file__).resolve().parent

#: Files of the run folder that the runner itself writes; never a stage's output.
RUNNER_FILES = frozenset(
    {"artifacts/timings.json", "artifacts/stage_cache.json", "artifacts/machine.json"}
)


def environment_key(data_dir: str | Path, project_root: str | Path) -> str:
    """Hash of what every stage depends on besides its notebook and parameters."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    requirements = Path(project_root) / "requirements.txt"
    if requirements.is_file():
        digest.update(requirements.read_bytes())
    data_dir = Path(data_dir)
    if data_dir.is_dir():
        for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
            stat = path.stat()
            digest.update(
                f"{path.relative_to(data_dir)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode()
            )
    return digest.hexdigest()


def snapshot(run_dir: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under ``run_dir/artifacts``."""
    folder = run_dir / "artifacts"
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(run_dir)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def written_between(before: dict, after: dict) -> list[str]:
    """Files (relative to the run folder) created or changed between two snapshots."""
    return sorted(
        path
        for path, stamp in after.items()
        if before.get(path) != stamp and path not in RUNNER_FILES
    )


class StageCache:
    """Executed stage notebooks and their artefacts, keyed by code cells and inputs.

    Parameters
    ----------
    path : str or Path
        The jupyter-cache folder (created when missing).
    """

    def __init__(self, path: str | Path):
        from jupyter_cache import get_cache

        self.path = Path(path)
        self.cache = get_cache(self.path)

    @staticmethod
    def parameterise(notebook, parameters: dict, inputs_key: str):
        """The notebook with papermill's injected-parameters cell, carrying ``inputs_key``."""
        from papermill.parameterize import parameterize_notebook

        # Sorted, so that parameters read back from JSON give the same cell (and key).
        return parameterize_notebook(
            copy.deepcopy(notebook),
            dict(sorted(parameters.items())),
            comment=f"Parameters; inputs {inputs_key}",
            kernel_name="python3",
            language="python",
        )

    @staticmethod
    def key(notebook) -> str:
        """jupyter-cache's hash of a (parameterised) notebook's code cells."""
        from jupyter_cache.cache.main import JupyterCacheBase

        # The hash needs no cache folder: the path is never touched.
        return JupyterCacheBase(PACKAGE_DIR).create_hashed_notebook(notebook)[1]

    def lookup(self, notebook):
        """(record id, notebook with the cached outputs merged in), or None on a miss."""
        try:
            return self.cache.merge_match_into_notebook(notebook)
        except KeyError:
            return None

    def store(self, notebook, executed, run_dir: Path, outputs: list[str], seconds: float) -> int:
        """Cache an execution: ``notebook``'s cells with ``executed``'s outputs, and the files.

        The stored cells are the parameterised notebook's own (their metadata
        is part of the hash; papermill adds timing metadata when it executes).
        """
        from jupyter_cache.base import CacheBundleIn
        from jupyter_cache.cache.main import NbArtifacts

        stored = copy.deepcopy(notebook)
        code = [cell for cell in executed.cells if cell.cell_type == "code"]
        for cell in stored.cells:
            if cell.cell_type == "code":
                ran = code.pop(0)
                cell.outputs, cell.execution_count = ran.outputs, ran.execution_count
        bundle = CacheBundleIn(
            stored,
            uri=str(run_dir),
            data={"seconds": seconds},
            artifacts=NbArtifacts([run_dir / p for p in outputs], in_folder=run_dir),
        )
        return self.cache.cache_notebook_bundle(bundle, overwrite=True).pk

    def restore(self, record_id: int, run_dir: Path) -> float:
        """Copy a cached stage's files into ``run_dir``; returns the seconds it took to run."""
        bundle = self.cache.get_cache_bundle(record_id)
        for relative, handle in bundle.artifacts:
            target = run_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(target, "wb") as out:
                shutil.copyfileobj(handle, out)
        return float(bundle.record.data.get("seconds", 0.0))
