"""Finding numbers typed by hand into the book's prose.

A number a reader sees in prose must come from executed code: a myst-nb
``glue`` role or directive in a notebook, or a snippet the pipeline generates
for a Markdown page.  Two kinds of digits may be typed: the paper's own values,
quoted (they are the ones in :data:`ids_utils.paper.PAPER_CLAIMS`), and
references to the paper's structure ("Table 2", "Section 4.1").
"""

from __future__ import annotations

import re
from pathlib import Path

from .paper import paper_claims

#: Fenced blocks (code, ``{include}`` and ``{glue:md}`` directives) are not prose.
FENCED_BLOCK = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.DOTALL | re.MULTILINE)
#: Inline roles such as {glue:text}`key:.4f` and {cite:p}`key`, then code spans.
ROLE = re.compile(r"\{[\w:.-]+\}`[^`]*`")
CODE_SPAN = re.compile(r"`[^`\n]*`")
#: "Table 1", "Sections 4.2-4.3", "Section 3.4 and 4.1", "Tables 1 and 2".
STRUCTURE = re.compile(
    r"\b(?:Tables?|Sections?|Figures?)\s+\d+(?:\.\d+)*"
    r"(?:\s*(?:-|–|,|and)\s*\d+(?:\.\d+)*)*"
)
#: A number on its own: not part of a word (CICIoT2023, KDDTest-21, p99) or a path.
NUMBER = re.compile(r"(?<![\w.\-/])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])(?!\.\d)")


def paper_number_forms() -> set[str]:
    """Every way a value of the paper's claims table may be written in prose.

    Integers as written plainly and with thousands separators; fractions also
    as percentages (and their complements, for ratios such as 90:10 and
    80/20); and the numbers in the claims' own descriptions ("epoch 15").
    """
    forms: set[str] = set()
    claims = paper_claims()
    for value in claims["paper"]:
        if isinstance(value, str):
            continue
        forms.update({str(value), f"{value:,}", f"{value:g}"})
        if 0 < value <= 1:
            forms.update(
                {
                    f"{value:.2f}",
                    f"{value:.4f}",
                    f"{value * 100:g}",
                    f"{(1 - value) * 100:g}",
                    f"{value * 100:.1f}",
                }
            )
    for text in claims["what"]:
        forms.update(NUMBER.findall(text))
    return forms


def prose_of_markdown(text: str) -> str:
    """The text of a Markdown source with code, roles and structural references removed."""
    for pattern in (FENCED_BLOCK, ROLE, CODE_SPAN, STRUCTURE):
        text = pattern.sub(" ", text)
    return text


def typed_numbers(text: str, allowed: set[str] | None = None) -> list[str]:
    """The numbers in a Markdown text that are neither glued nor quoted from the paper.

    Parameters
    ----------
    text : str
        Markdown source (a notebook's Markdown cell or a book page).
    allowed : set of str, optional
        Number forms allowed as typed; the paper's (:func:`paper_number_forms`)
        by default.
    """
    allowed = paper_number_forms() if allowed is None else allowed
    return [number for number in NUMBER.findall(prose_of_markdown(text)) if number not in allowed]


def markdown_sources(project_root: str | Path) -> dict[str, str]:
    """Every prose source of the book: each notebook's Markdown cells and each page.

    Generated snippets (``book/_generated``) are left out: code writes them.

    Returns
    -------
    dict
        ``"notebooks/05_evaluation.ipynb#cell-3"`` or ``"book/intro.md"`` -> text.
    """
    import nbformat

    root = Path(project_root)
    sources = {}
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "markdown":
                sources[f"notebooks/{path.name}#cell-{index}"] = cell.source
    for path in sorted((root / "book").glob("*.md")):
        sources[f"book/{path.name}"] = path.read_text()
    return sources
