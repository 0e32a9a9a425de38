"""The one CSV reader of the scorer, shared by file and stream modes.

Both modes hand this module raw lines (bytes); it returns, for every data row
in order, either the row's scaled features or the reason it cannot be scored
(with its line and column).  Because the two modes share it, they always agree
on which rows are scored and with what inputs.

Rules, in the order they are checked:

- the header: a leading UTF-8 byte-order mark is dropped; duplicated column
  names and missing model features are refused (naming them);
- a blank line is not a flow: it is skipped and counted;
- a row that is not UTF-8, or whose number of fields differs from the
  header's, cannot be scored;
- a model feature that is empty, not a number, NaN or infinite cannot be
  scored, nor a value so large that scaling it overflows float32;
- in a labelled file, an unknown label cannot be scored (its truth is unknown).

Numbers are read with NumPy's C parser, a block of rows per call; only a
block holding a bad row is split (in halves, recursively) to find it, so a
row's fate never depends on its neighbours.  Neither pandas nor TensorFlow is
imported: the streaming scorer starts in a fraction of a second.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from .schema import BENIGN_FAMILY, FINE_LABEL_FAMILY, MERGED_FAMILIES, RELEASES, DataError

#: Label columns a scored file may carry, and how each maps to an attack family.
LABEL_COLUMNS = {
    "label": FINE_LABEL_FAMILY,
    "label_multiclass": {family: family for family in MERGED_FAMILIES},
}


@dataclass(frozen=True)
class Header:
    """A parsed header: its columns, where the model's features are, and the label column."""

    columns: tuple[str, ...]
    features: tuple[str, ...]
    positions: tuple[int, ...]
    label_column: str | None
    label_at: int | None


@dataclass
class Block:
    """Parsed data rows, in input order.

    Attributes
    ----------
    line : numpy.ndarray of int64
        Line number of each row in its source (the header is line 1).
    x : numpy.ndarray of float32, shape (rows, features)
        Scaled features; zeros where the row cannot be scored.
    problem : list of (str or None)
        Why each row cannot be scored, or None when it can.
    column : list of (str or None)
        The column at fault, when there is one.
    family : list of (str or None) or None
        The attack family of each row, when the header has a label column.
    blank : int
        Blank lines skipped.
    """

    line: np.ndarray
    x: np.ndarray
    problem: list
    column: list
    family: list | None
    blank: int

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of the rows that can be scored."""
        return np.array([p is None for p in self.problem], dtype=bool)


def parse_header(raw: bytes | str, features, source: str) -> Header:
    """Parse a header line and locate the model's features in it.

    Parameters
    ----------
    raw : bytes or str
        The first line of the input, without its line break.
    features : sequence of str
        The detector's features, in the model's order.
    source : str
        The input's name, for error messages (a path, or ``<stdin>``).

    Raises
    ------
    DataError
        If the header is not UTF-8 text, is empty, repeats a column name or
        lacks a feature the model needs.
    """
    columns = header_columns(raw, source)
    seen, repeated = set(), []
    for name in columns:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    if repeated:
        raise DataError(
            source,
            f"the header repeats column name(s) {', '.join(repeated)}",
            column=repeated[0],
            line=1,
        )
    missing = [f for f in features if f not in seen]
    if missing:
        release = next((r.name for r in RELEASES if set(r.features) <= seen), None)
        raise DataError(
            source,
            f"the header lacks {len(missing)} feature(s) the model needs: "
            f"{', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}"
            + (
                f" (the header is {release}; the model expects {len(features)} features)"
                if release
                else ""
            ),
            column=missing[0],
            line=1,
        )
    label_column = next((c for c in LABEL_COLUMNS if c in seen), None)
    return Header(
        columns=tuple(columns),
        features=tuple(features),
        positions=tuple(columns.index(f) for f in features),
        label_column=label_column,
        label_at=None if label_column is None else columns.index(label_column),
    )


def header_columns(raw: bytes | str, source: str) -> list[str]:
    """The column names of a header line (a leading byte-order mark dropped).

    Raises
    ------
    DataError
        If the header is not UTF-8 text or is empty.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(source, "the header is not UTF-8 text", line=1) from None
    text = raw.removeprefix("\ufeff").rstrip("\r\n")
    if not text.strip():
        raise DataError(source, "the header line is empty (no column names)", line=1)
    return next(csv.reader([text]))


def parse_block(
    raw_lines, first_line: int, header: Header, mean: np.ndarray, scale: np.ndarray
) -> Block:
    """Parse and scale a block of data rows.

    Parameters
    ----------
    raw_lines : list of bytes
        Consecutive lines of the input, without their line breaks.
    first_line : int
        The line number of ``raw_lines[0]``.
    header : Header
    mean, scale : numpy.ndarray
        The detector's scaler, one value per feature.

    Returns
    -------
    Block
    """
    n_columns = len(header.columns)
    lines, texts, problems, columns, blank = [], [], [], [], 0
    for offset, raw in enumerate(raw_lines):
        try:
            text = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            text, problem = None, "not UTF-8 text"
        else:
            if not text.strip():
                blank += 1
                continue
            n_fields = len(next(csv.reader([text]))) if '"' in text else text.count(",") + 1
            problem = (
                None if n_fields == n_columns else f"expected {n_columns} fields, found {n_fields}"
            )
        lines.append(first_line + offset)
        texts.append(text)
        problems.append(problem)
        columns.append(None)

    values = np.zeros((len(texts), len(header.positions)))
    candidates = [i for i, p in enumerate(problems) if p is None]
    parsed, unreadable = _read_numbers([texts[i] for i in candidates], header.positions)
    values[candidates] = parsed
    for i, bad in zip(candidates, unreadable):
        if bad:
            columns[i], problems[i] = _number_problem(texts[i], header)

    with np.errstate(over="ignore", invalid="ignore"):
        x = ((values - mean) / scale).astype("float32")
    for i in np.flatnonzero(~np.isfinite(x).all(axis=1)):
        if problems[i] is None:
            j = int(np.flatnonzero(~np.isfinite(x[i]))[0])
            columns[i] = header.features[j]
            value = float(values[i, j])
            problems[i] = (
                f"non-finite value {value!r}"
                if not np.isfinite(value)
                else f"value {value!r} is out of range once scaled"
            )
    family = None
    if header.label_column is not None:
        family = [_family(texts[i], header, problems, columns, i) for i in range(len(texts))]
    x[[p is not None for p in problems]] = 0.0
    return Block(
        line=np.asarray(lines, dtype="int64"),
        x=x,
        problem=problems,
        column=columns,
        family=family,
        blank=blank,
    )


def _read_numbers(texts: list[str], positions) -> tuple[np.ndarray, np.ndarray]:
    """The feature values of each row, and a mask of the rows NumPy cannot read."""
    values = np.zeros((len(texts), len(positions)))
    unreadable = np.zeros(len(texts), dtype=bool)

    def read(start, stop):
        try:
            chunk = np.loadtxt(
                texts[start:stop],
                delimiter=",",
                usecols=positions,
                dtype="float64",
                comments=None,
                quotechar='"',
                ndmin=2,
            )
            if len(chunk) != stop - start:
                raise ValueError("rows lost")
            values[start:stop] = chunk
        except ValueError:
            if stop - start == 1:
                unreadable[start] = True
                return
            middle = (start + stop) // 2
            read(start, middle)
            read(middle, stop)

    if texts:
        read(0, len(texts))
    return values, unreadable


def _number_problem(text: str, header: Header) -> tuple[str | None, str]:
    """(column, problem) of a row whose numbers NumPy could not read."""
    fields = next(csv.reader([text]))
    for name, position in zip(header.features, header.positions):
        value = fields[position]
        if not value.strip():
            return name, "empty value"
        try:
            float(value)
        except ValueError:
            return name, f"non-numeric value {value!r}"
    return None, "unreadable numbers"


def _family(text, header: Header, problems: list, columns: list, i: int) -> str | None:
    """The row's attack family; marks the row unscorable when its label is unknown."""
    if text is None or problems[i] is not None and problems[i].startswith("expected"):
        return None
    fields = next(csv.reader([text])) if '"' in text else text.split(",")
    family = LABEL_COLUMNS[header.label_column].get(fields[header.label_at])
    if family is None and problems[i] is None:
        columns[i] = header.label_column
        problems[i] = f"unknown label {fields[header.label_at]!r}"
    return family


def is_attack(family: str) -> int:
    """1 for an attack family, 0 for benign traffic."""
    return int(family != BENIGN_FAMILY)
