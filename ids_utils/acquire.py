"""Getting the raw files: a local mirror folder, or the official CICIoT2023 download.

Layout of the data folder (``data/`` by default) that every later stage reads::

    data/ciciot2023/original/part-000NN-....csv   the official release (downloaded)
    data/ciciot2023/merged/...csv                 the merged release (bundled sample)
    data/ciciot2023/fixtures/...csv               small schema fixtures (never a source)
    data/nsl-kdd/KDDTrain+.txt ...                NSL-KDD

No partial file is ever left in place: copies and downloads go to a temporary
file in the destination folder and are renamed only once complete and checked.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pooch

from .files import atomic_write, give_usual_mode

#: The CIC research server's folder of the 169 original-release CSV part files.
OFFICIAL_BASE_URL = "http://cicresearch.ca/IOTDataset/CIC_IOT_Dataset2023/Dataset/CSV/CSV/"
OFFICIAL_PART_COUNT = 169
#: The full original release as its publishers describe it (flows, benign flows);
#: the class-ratio chapter uses their benign share, and prose quotes both.
OFFICIAL_RELEASE_FLOWS = 46_686_579
OFFICIAL_RELEASE_BENIGN = 1_098_195
_PART_UUID = "363d1ba3-8ab5-4f96-bc25-4d5862db7cb9-c000"

#: Registry file (``sha256sum`` format) kept beside downloaded files.
REGISTRY_NAME = "SHA256SUMS"

#: Files of the offline mirror (``../shared/data``): where each goes, and its
#: published sha256 (from the mirror's README).
MIRROR_FILES = {
    "ciciot2023/CICIoT2023_merged_sample.csv": (
        "ciciot2023/merged/CICIoT2023_merged_sample.csv",
        "571019eb5b58f032aeb340e30104b94b712a330e6b367e56b7df252f15a2ef43",
    ),
    "ciciot2023/CICIoT2023_original_sample.csv": (
        "ciciot2023/fixtures/CICIoT2023_original_sample.csv",
        "5c7ac2c9a8e3c7b80527f15382fa8c38a2a3b49b7869bfa522fad9a86c823ffe",
    ),
    "nsl-kdd/KDDTrain+.txt": (
        "nsl-kdd/KDDTrain+.txt",
        "1b86d2f957b33082081bba410fe129b475efebcc13c9014c3f447c8271aadf95",
    ),
    "nsl-kdd/KDDTest+.txt": (
        "nsl-kdd/KDDTest+.txt",
        "fa46b0935342616aa83b7c2578db355b6a7aaabbc492248172c7a1e8b7ab8f84",
    ),
    "nsl-kdd/KDDTrain+_20Percent.txt": (
        "nsl-kdd/KDDTrain+_20Percent.txt",
        "7ea86479faab5ca2190b7f18b4982fb058ce5bf2b46e0e1017d0d9ef90f9c16e",
    ),
    "nsl-kdd/KDDTest-21.txt": (
        "nsl-kdd/KDDTest-21.txt",
        "746993ac9e25868827cacf09eab450050a2a1056e1ce48a1ad39f5dc801d531d",
    ),
}


class AcquireError(RuntimeError):
    """A file could not be copied, downloaded or verified."""


def official_part_names(count: int = OFFICIAL_PART_COUNT) -> list[str]:
    """Names of the first ``count`` official part files (``part-00000-...csv`` on)."""
    if not 1 <= count <= OFFICIAL_PART_COUNT:
        raise ValueError(f"count must be between 1 and {OFFICIAL_PART_COUNT}, got {count}")
    return [f"part-{i:05d}-{_PART_UUID}.csv" for i in range(count)]


def sha256(path: str | Path) -> str:
    """The sha256 hex digest of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------
# Mirror
# --------------------------------------------------------------------------


def copy_from_mirror(mirror: str | Path, dest: str | Path) -> list[dict]:
    """Copy the known files of a mirror folder into the data layout, verified.

    Files already in place with the right checksum are left alone.  A mirror
    may also hold the full original release under ``ciciot2023/original/``;
    its part files are copied as they are.

    Returns
    -------
    list of dict
        One entry per file: ``source``, ``dest``, ``action`` (copied / present).

    Raises
    ------
    AcquireError
        If the mirror is missing, holds none of the known files, or a file's
        checksum differs from the published one.
    """
    mirror, dest = Path(mirror), Path(dest)
    if not mirror.is_dir():
        raise AcquireError(f"{mirror}: mirror folder does not exist")
    plan = [
        (mirror / src, dest / target, digest)
        for src, (target, digest) in MIRROR_FILES.items()
        if (mirror / src).is_file()
    ]
    originals = mirror / "ciciot2023" / "original"
    if originals.is_dir():
        plan += [
            (p, dest / "ciciot2023" / "original" / p.name, None)
            for p in sorted(originals.glob("*.csv"))
        ]
    if not plan:
        raise AcquireError(
            f"{mirror}: holds none of the expected data files (e.g. {next(iter(MIRROR_FILES))})"
        )
    done = []
    for source, target, digest in plan:
        if digest is not None and sha256(source) != digest:
            raise AcquireError(
                f"{source}: sha256 differs from the published value "
                f"{digest}; the mirror copy is corrupt"
            )
        if target.is_file() and sha256(target) == sha256(source):
            done.append({"source": str(source), "dest": str(target), "action": "present"})
            continue
        _atomic_copy(source, target)
        done.append({"source": str(source), "dest": str(target), "action": "copied"})
    return done


def _atomic_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as reader, atomic_write(target, "wb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)


# --------------------------------------------------------------------------
# Official download
# --------------------------------------------------------------------------


def read_registry(path: str | Path) -> dict[str, str]:
    """Read a ``sha256sum``-format registry (``<hex>  <name>`` per line)."""
    path = Path(path)
    if not path.is_file():
        return {}
    registry = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise AcquireError(f"{path}: line {number} is not '<sha256>  <file name>'")
        registry[parts[1]] = parts[0]
    return registry


def write_registry(path: str | Path, registry: dict[str, str]) -> None:
    """Write a registry in ``sha256sum`` format, sorted by name, atomically."""
    path = Path(path)
    with atomic_write(path) as out:
        out.write("".join(f"{digest}  {name}\n" for name, digest in sorted(registry.items())))


def download_official(
    dest: str | Path,
    base_url: str = OFFICIAL_BASE_URL,
    names: list[str] | None = None,
    retries: int = 3,
    progressbar: bool = True,
) -> list[dict]:
    """Download official CICIoT2023 part files into ``dest/ciciot2023/original``.

    The first download of a file records its sha256 in the folder's
    ``SHA256SUMS``; every later download or run verifies against it.

    Parameters
    ----------
    dest : str or Path
        The data folder.
    base_url : str
        Folder URL of the part files (the CIC server by default).
    names : list of str, optional
        Which files; all 169 part files by default.
    retries : int, default 3
        Extra attempts per file after a failed download.
    progressbar : bool, default True
        Show a tqdm progress bar per file.

    Raises
    ------
    AcquireError
        If a file cannot be downloaded after the retries, or its checksum
        differs from the registry.  The failed file is not left in place.
    """
    folder = Path(dest) / "ciciot2023" / "original"
    folder.mkdir(parents=True, exist_ok=True)
    registry_path = folder / REGISTRY_NAME
    registry = read_registry(registry_path)
    names = official_part_names() if names is None else names
    fetcher = pooch.create(
        path=folder,
        base_url=base_url.rstrip("/") + "/",
        registry={
            name: (f"sha256:{registry[name]}" if name in registry else None) for name in names
        },
        retry_if_failed=retries,
        allow_updates=False,
    )
    downloader = pooch.HTTPDownloader(progressbar=progressbar, timeout=60)
    done = []
    for name in names:
        target = folder / name
        existed = target.is_file()
        if existed and name in registry and sha256(target) != registry[name]:
            raise AcquireError(
                f"{target}: sha256 differs from {registry_path}; "
                "delete the file to download it again"
            )
        try:
            fetcher.fetch(name, downloader=downloader)
        except Exception as exc:  # requests, pooch and OS errors all end here
            target_state = "kept" if existed else "not created"
            raise AcquireError(
                f"{base_url.rstrip('/')}/{name}: download failed after "
                f"{retries + 1} attempt(s) ({_reason(exc)}); "
                f"{target} {target_state}"
            ) from None
        if not existed:
            give_usual_mode(target)
        if name not in registry:
            registry[name] = sha256(target)
            write_registry(registry_path, registry)
        done.append(
            {
                "source": f"{base_url.rstrip('/')}/{name}",
                "dest": str(target),
                "action": "present" if existed else "downloaded",
                "sha256": registry[name],
            }
        )
    return done


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
