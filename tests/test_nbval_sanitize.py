"""The nbval sanitiser replaces times, rates and addresses, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

PATTERNS = get_sanitize_patterns((Path(__file__).parent / "nbval_sanitize.cfg").read_text())


def sanitise(text: str) -> str:
    for regex, replacement in PATTERNS:
        text = re.sub(regex, replacement, text)
    return text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("trained in 12.5 s", "trained in TIME"),
        ("took 340ms per call", "took TIME per call"),
        ("3 seconds", "TIME"),
        ("100%|####| 10/10 [00:02<00:00, 4.21it/s]", "100%|####| 10/10 [00:02<00:00, RATE]"),
        ("reading: 1chunk [00:00, 13.31chunk/s]", "reading: 1chunk [00:00, RATE]"),
        ("<object at 0x7f85273e0270>", "<object at 0xADDR>"),
    ],
)
def test_what_varies_between_runs_is_replaced(text, expected):
    assert sanitise(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "models: 2\nseeds: 5",  # a count, a line break, a word starting with s
        "5 seeds, 2 sets, 3 samples",  # counts followed by s-words
        "10 sweeps of 3 settings",
        "recall 0.5s-rule",  # not a unit: a word follows
        "v2s and x10ms",  # digits inside identifiers
        "precision 0x",  # no hexadecimal digits
    ],
)
def test_counts_and_words_are_left_alone(text):
    assert sanitise(text) == text
