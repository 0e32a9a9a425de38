"""Atomic writes and strict JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ids_utils.files import atomic_write, dumps, strict


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as out:
            out.write("half a")
            raise RuntimeError("disk full")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_successful_write_replaces_the_file_with_the_usual_mode(tmp_path):
    path = tmp_path / "out.bin"
    with atomic_write(path, "wb") as out:
        out.write(b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert path.stat().st_mode & 0o044 == 0o044  # readable by group and others (umask 022)


def test_strict_json_has_no_nan_tokens():
    data = {
        "a": float("nan"),
        "b": [np.float32("inf"), -math.inf, 1.5, np.float64(2.0)],
        "c": {"d": np.int64(3), "e": True, "f": None, "g": "NaN"},
    }
    text = dumps(data, default=int)
    assert json.loads(text, parse_constant=lambda token: pytest.fail(token)) == {
        "a": None,
        "b": [None, None, 1.5, 2.0],
        "c": {"d": 3, "e": True, "f": None, "g": "NaN"},
    }
    assert strict(7) == 7 and strict(True) is True
