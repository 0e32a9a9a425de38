"""Writing files so that a reader never sees half of one, and JSON that strict readers accept."""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temporary file beside ``path``; it replaces ``path`` only if the block succeeds.

    A failure inside the block (a full disk, an exception while writing)
    leaves an existing ``path`` untouched and no partial file behind.

    Parameters
    ----------
    path : str or Path
        The file to (re)place.  Its folder must exist.
    mode : {"w", "wb"}, default "w"
    encoding : str or None, default "utf-8"
        Text encoding (ignored in binary mode).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".partial"
    )
    try:
        with os.fdopen(
            handle,
            mode,
            encoding=None if "b" in mode else encoding,
            newline=None if "b" in mode else "",
        ) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        give_usual_mode(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def give_usual_mode(path: str | Path) -> None:
    """Give a file the mode a plain ``open`` would (``0o666`` less the umask).

    Temporary files (``mkstemp``, and the downloads of pooch) are readable by
    their owner only; data and results are meant to be shared.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def strict(data):
    """``data`` with every NaN or infinite float replaced by None (JSON ``null``).

    Python's ``json`` writes ``NaN`` and ``Infinity``, which are not JSON;
    strict readers (browsers, ``jq``) reject the whole document.
    """
    if isinstance(data, numbers.Integral):
        return data
    if isinstance(data, numbers.Real):  # Python and NumPy floats alike
        value = float(data)
        return value if math.isfinite(value) else None
    if isinstance(data, dict):
        return {key: strict(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict(value) for value in data]
    if hasattr(data, "tolist"):  # NumPy arrays, pandas Series
        return strict(data.tolist())
    return data


def dumps(data, **kwargs) -> str:
    """Strict JSON text (see :func:`strict`); ``kwargs`` go to :func:`json.dumps`."""
    return json.dumps(strict(data), allow_nan=False, **kwargs)
