"""Schemas, reading and validation of CICIoT2023 (both releases) and NSL-KDD.

Every reader returns flows in one *standard* layout so that later stages never
need to know which release they came from:

- the release's feature columns, as float64;
- ``fine_label``: the attack name (``BenignTraffic``, ``DDoS-ICMP_Flood``...),
  or missing when the release does not carry it (the merged release);
- ``family``: the attack group (``Benign``, ``DDoS``, ``Recon``...);
- ``attack``: 1 for an attack, 0 for benign traffic;
- ``source_file`` and ``source_line``: where the flow came from (the header is
  line 1), so that any flow in any later table can be traced back.

Invalid input raises :class:`DataError`, whose message names the file, the
column and the first bad line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .schema import (  # noqa: F401  (re-exported: datasets is the public home)
    ORIGINAL_FEATURES,
    MERGED_FEATURES,
    ORIGINAL_DROPPED_FEATURES,
    KNOWN_EXTRA_COLUMNS,
    FINE_LABEL_FAMILY,
    MERGED_FAMILIES,
    BENIGN_FAMILY,
    NSL_KDD_FEATURES,
    NSL_KDD_CATEGORICAL,
    NSL_KDD_ATTACK_FAMILY,
    Release,
    ORIGINAL,
    MERGED,
    RELEASES,
    DataError,
)

# --------------------------------------------------------------------------
# Release detection and file listing
# --------------------------------------------------------------------------


def read_header(path: str | Path) -> list[str]:
    """Return the column names of a CSV file.

    Raises
    ------
    DataError
        If the file does not exist, is empty or is not a CSV with a header.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no such file")
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except pd.errors.EmptyDataError:
        raise DataError(path, "the file is empty (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not a readable CSV file ({exc})") from None


def detect_release(
    columns: Iterable[str], path: str | Path, labels_required: bool = True
) -> Release:
    """Tell which CICIoT2023 release a header belongs to.

    Parameters
    ----------
    columns : iterable of str
        The header of the file.
    path : str or Path
        The file, named in error messages.
    labels_required : bool, default True
        When False, a header with a release's features and none of its label
        columns is accepted too (flows to score), as that release without labels.

    Returns
    -------
    Release
        ``ORIGINAL`` or ``MERGED`` (or an unlabelled copy of one).

    Raises
    ------
    DataError
        If the header matches neither release: names the missing or unknown
        columns of the closest release.
    """
    columns = list(columns)
    present = set(columns) - set(KNOWN_EXTRA_COLUMNS)
    candidates = list(RELEASES)
    if not labels_required:
        candidates += [unlabelled(r) for r in RELEASES]

    def mismatch(release):
        missing = [c for c in release.columns if c not in present]
        unknown = [c for c in columns if c not in release.columns and c not in KNOWN_EXTRA_COLUMNS]
        return missing, unknown

    best = min(candidates, key=lambda r: sum(map(len, mismatch(r))))
    missing, unknown = mismatch(best)
    if not missing and not unknown:
        return best
    parts = []
    if missing:
        parts.append(f"missing column(s) {_short_list(missing)}")
    if unknown:
        parts.append(f"unknown column(s) {_short_list(unknown)}")
    raise DataError(
        path,
        f"header matches no CICIoT2023 release (closest: {best.name}; " + "; ".join(parts) + ")",
        column=(missing or unknown)[0],
    )


def unlabelled(release: Release) -> Release:
    """The same release without its label columns (flows to be scored)."""
    return Release(f"{release.name} (unlabelled)", release.features, ())


def list_csv_files(path: str | Path) -> list[Path]:
    """List the CSV files of a file or folder, sorted by name.

    Raises
    ------
    DataError
        If the path does not exist or a folder holds no CSV file.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(path, "no such file or folder")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
    if not files:
        raise DataError(path, "the folder holds no .csv file")
    return files


def detect_source(path: str | Path, labels_required: bool = True) -> tuple[Release, list[Path]]:
    """Detect the one release that all CSV files under ``path`` share.

    ``labels_required`` is passed to :func:`detect_release`.

    Raises
    ------
    DataError
        If a file is unreadable, or files of different releases are mixed.
    """
    files = list_csv_files(path)
    first_release = detect_release(read_header(files[0]), files[0], labels_required)
    for other in files[1:]:
        release = detect_release(read_header(other), other, labels_required)
        if release != first_release:
            raise DataError(
                other,
                f"is {release.name} but {files[0].name} is "
                f"{first_release.name}: releases cannot be mixed "
                "in one source",
            )
    return first_release, files


# --------------------------------------------------------------------------
# Reading CICIoT2023
# --------------------------------------------------------------------------


def iter_flow_chunks(
    path: str | Path, chunksize: int = 200_000, labels_required: bool = True
) -> Iterator[pd.DataFrame]:
    """Read a CICIoT2023 file or folder chunk by chunk, in the standard layout.

    Memory stays bounded by one chunk whatever the size of the source: the full
    original release (169 files, 46.7M rows) streams through this function.

    Parameters
    ----------
    path : str or Path
        A CSV file or a folder of CSV files of a single release.
    chunksize : int, default 200_000
        Rows per chunk.
    labels_required : bool, default True
        When False, files without label columns are read too; their
        ``fine_label``, ``family`` and ``attack`` are missing.

    Yields
    ------
    pandas.DataFrame
        Validated flows in the standard layout (see the module docstring).
    """
    if chunksize < 1:
        raise ValueError(f"chunksize must be positive, got {chunksize}")
    release, files = detect_source(path, labels_required)
    for file in files:
        yield from _iter_file_chunks(file, release, chunksize)


def read_flows(path: str | Path, labels_required: bool = True) -> pd.DataFrame:
    """Read a whole CICIoT2023 file or folder into memory (small sources only).

    See :func:`iter_flow_chunks` for the layout, the options and the errors.
    """
    chunks = list(iter_flow_chunks(path, labels_required=labels_required))
    frame = pd.concat(chunks, ignore_index=True)
    if frame.empty:
        raise DataError(path, "no data rows")
    return frame


def _iter_file_chunks(file: Path, release: Release, chunksize: int) -> Iterator[pd.DataFrame]:
    # Columns outside the release (KNOWN_EXTRA_COLUMNS) are left unread on purpose.
    reader = pd.read_csv(file, chunksize=chunksize, usecols=list(release.columns), low_memory=False)
    first_line = 2  # line 1 is the header
    seen_rows = 0
    try:
        for raw in reader:
            yield _standardise(raw, release, file, first_line)
            first_line += len(raw)
            seen_rows += len(raw)
    except pd.errors.ParserError as exc:
        raise DataError(file, f"malformed CSV ({exc})") from None
    if seen_rows == 0:
        raise DataError(file, "the file has a header but no data rows")


def _standardise(raw: pd.DataFrame, release: Release, file: Path, first_line: int) -> pd.DataFrame:
    features = pd.DataFrame(
        {name: _numeric_column(raw[name], file, name, first_line) for name in release.features}
    )
    if not release.label_columns:
        fine = pd.Series(pd.NA, index=raw.index, dtype="string")
        family = fine
    elif release.label_columns == ORIGINAL.label_columns:
        fine = raw["label"].astype("string")
        _check_known(fine, FINE_LABEL_FAMILY, file, "label", first_line)
        family = fine.map(FINE_LABEL_FAMILY)
    else:
        fine = pd.Series(pd.NA, index=raw.index, dtype="string")
        family = raw["label_multiclass"].astype("string")
        _check_known(family, dict.fromkeys(MERGED_FAMILIES), file, "label_multiclass", first_line)
        _check_binary_agrees(raw["label_binary"], family, file, first_line)
    features["fine_label"] = fine
    features["family"] = family.astype("string")
    features["attack"] = (
        (family != BENIGN_FAMILY).astype("int8")
        if release.label_columns
        else pd.Series(pd.NA, index=raw.index, dtype="Int8")
    )
    features["source_file"] = file.name
    features["source_line"] = np.arange(first_line, first_line + len(raw), dtype="int64")
    return features.reset_index(drop=True)


def _numeric_column(values: pd.Series, file: Path, column: str, first_line: int) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna() & values.notna()
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            file,
            f"non-numeric value {values.iloc[position]!r} "
            f"({int(bad.sum())} such value(s) in this chunk)",
            column=column,
            line=first_line + position,
        )
    return converted.astype("float64")


def _check_known(values: pd.Series, known, file: Path, column: str, first_line: int) -> None:
    unknown = ~values.isin(list(known)) | values.isna()
    if unknown.any():
        position = int(np.flatnonzero(unknown.to_numpy())[0])
        value = values.iloc[position]
        raise DataError(
            file,
            f"unknown label {None if pd.isna(value) else str(value)!r}",
            column=column,
            line=first_line + position,
        )


def _check_binary_agrees(binary: pd.Series, family: pd.Series, file: Path, first_line: int) -> None:
    expected = (family != BENIGN_FAMILY).astype("int64").to_numpy()
    observed = pd.to_numeric(binary, errors="coerce").to_numpy()
    wrong = observed != expected
    if wrong.any():
        position = int(np.flatnonzero(wrong)[0])
        raise DataError(
            file,
            f"label_binary is {binary.iloc[position]} but "
            f"label_multiclass is {family.iloc[position]!r}",
            column="label_binary",
            line=first_line + position,
        )


# --------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------


def model_features(release: Release) -> list[str]:
    """The features the models use for a release.

    All 39 for the merged release; for the original release, the 43 that remain
    after :data:`ORIGINAL_DROPPED_FEATURES`.
    """
    if release.features == ORIGINAL.features:
        return [f for f in release.features if f not in ORIGINAL_DROPPED_FEATURES]
    return list(release.features)


# --------------------------------------------------------------------------
# NSL-KDD
# --------------------------------------------------------------------------


def read_nsl_kdd(path: str | Path) -> pd.DataFrame:
    """Read an NSL-KDD raw file (``KDDTrain+.txt``, ``KDDTest+.txt``...).

    Returns the 41 features (the 3 categorical ones as strings), ``fine_label``
    (the attack name), ``family`` (DoS, Probe, R2L, U2R or Benign), ``attack``,
    ``difficulty``, and ``source_file`` / ``source_line`` as for CICIoT2023 flows.

    Raises
    ------
    DataError
        On an empty file, a wrong number of fields, a non-numeric value in a
        numeric feature or an unknown attack name.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no such file")
    names = [*NSL_KDD_FEATURES, "fine_label", "difficulty"]
    try:
        raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(path, "the file is empty") from None
    except pd.errors.ParserError as exc:
        raise DataError(path, f"malformed file ({exc})") from None
    if raw.shape[1] != len(names):
        raise DataError(
            path,
            f"expected {len(names)} fields per line (41 features, "
            f"label, difficulty), found {raw.shape[1]}",
        )
    raw.columns = names
    frame = pd.DataFrame(index=raw.index)
    for name in NSL_KDD_FEATURES:
        if name in NSL_KDD_CATEGORICAL:
            frame[name] = raw[name].astype("string")
        else:
            frame[name] = _numeric_column(raw[name], path, name, first_line=1)
    fine = raw["fine_label"].astype("string")
    _check_known(fine, NSL_KDD_ATTACK_FAMILY, path, "label", first_line=1)
    frame["fine_label"] = fine
    frame["family"] = fine.map(NSL_KDD_ATTACK_FAMILY).astype("string")
    frame["attack"] = (frame["family"] != BENIGN_FAMILY).astype("int8")
    frame["difficulty"] = _numeric_column(
        raw["difficulty"], path, "difficulty", first_line=1
    ).astype("int64")
    frame["source_file"] = path.name
    frame["source_line"] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame


def _short_list(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
