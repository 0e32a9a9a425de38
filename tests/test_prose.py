"""No number in the book's prose is typed by hand (issue 6)."""

from __future__ import annotations


from ids_utils import prose
from ids_utils.pipeline import PROJECT_ROOT


def test_a_typed_result_is_caught():
    text = "Our accuracy was 0.9212 on 1,888 flows, the paper's 99.81%."
    assert prose.typed_numbers(text) == ["0.9212", "1,888"]


def test_glue_code_references_and_names_are_not_typed_numbers():
    text = (
        "Accuracy {glue:text}`accuracy:.4f` in Table 1 (Sections 4.2-4.3), `seed-42`, "
        "CICIoT2023 and KDDTest-21, p99.\n\n```bash\nmake book  # 20 minutes\n```\n"
    )
    assert prose.typed_numbers(text) == []


def test_the_papers_values_may_be_quoted_in_their_usual_forms():
    text = "100,000 flows, 90% benign (90:10), 80/20 split, 0.9989, 17,980, 2.5 ms, epoch 15."
    assert prose.typed_numbers(text) == []


def test_no_number_in_the_books_prose_is_typed_by_hand():
    typed = {
        where: numbers
        for where, text in prose.markdown_sources(PROJECT_ROOT).items()
        if (numbers := prose.typed_numbers(text))
    }
    assert not typed, f"numbers typed into prose (glue them or quote the paper): {typed}"


def test_readme_and_package_docstring_list_every_module():
    import re
    from pathlib import Path

    import ids_utils

    root = Path(__file__).resolve().parents[1]
    modules = {p.stem for p in (root / "ids_utils").glob("*.py")} - {"__init__", "__main__"}
    readme_row = next(
        line
        for line in (root / "README.md").read_text().splitlines()
        if line.startswith("| `ids_utils/` |")
    )
    assert modules == set(re.findall(r"`(\w+)`", readme_row)) - {"ids_utils"}
    assert modules <= set(re.findall(r"``(\w+)``", ids_utils.__doc__))
