"""Write the mutation-testing report (Markdown) from mutmut's results: ``make mutation``.

Score per module = killed / (checked mutants - those listed as equivalent in
``tests/mutation_equivalent.txt``, one ``mutant: reason`` per line). Mutants
that no test reaches ("no tests"), survivors and timeouts count against the
score and are listed; so does a mutant whose test process crashed
("segfault"): worker processes forked beside TensorFlow, XGBoost or OpenMP can
crash whatever the mutant does, so a crash proves nothing; mutants of an
interrupted run that were never checked are counted apart. Timeouts are not
counted as kills (mutmut's own score does count them): a mutant's tests are
stopped after a CPU-time limit derived from the tests' measured time, and a
test whose set-up costs more than its measured time runs out of it whatever
the mutant does, so a timeout proves nothing by itself.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: The target of the tests-with-teeth issue, over the modules the verdicts rest on.
TARGET = 0.85

#: Modules judged on some functions only: the pipeline's stage control (what runs,
#: what is reused, what is cleared, what runs in the second lane), its book building
#: being checked by the strict build; the diagnostics' divergence guard and what the
#: book says from the diagnostics, the step-by-step recorder itself (training_diagnostics,
#: _probe) training a TensorFlow model per test (18 s a mutant, about 200 mutants) and
#: checked by its own structure tests.
SCOPE = {
    "ids_utils.diagnostics": (
        "is_loss_spike",
        "divergence_check",
        "growth_per_position",
        "summary_table",
        "describe",
    ),
    "ids_utils.pipeline": (
        "run_pipeline",
        "notebook_paths",
        "declared_parameters",
        "clear_run_dir",
        "_announce",
        "_duration",
        "_folded",
        # The second lane's methods (mutmut names a method xǁ<class>ǁ<method>).
        "ǁ_SideLaneǁ__init__",
        "ǁ_SideLaneǁstarted",
        "ǁ_SideLaneǁstart_after",
        "ǁ_SideLaneǁjoin",
        "ǁ_SideLaneǁclose",
    ),
}


def in_scope(name: str) -> bool:
    """Whether a mutant (``module.x_function__mutmut_N``) is of a function the score covers."""
    module, _, rest = name.partition(".x")
    functions = SCOPE.get(module)
    if functions is None:
        return True
    # mutmut names a function's mutants x_<function>__mutmut_<n>, a method's xǁ<class>ǁ<method>...
    function = rest.removeprefix("_").split("__mutmut_")[0]
    return function in functions


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    output = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    status = dict(line.strip().rsplit(": ", 1) for line in output.splitlines() if ": " in line)
    out_of_scope = sorted(name for name in status if not in_scope(name))
    for name in out_of_scope:
        del status[name]
    equivalent = {}
    listed = HERE / "mutation_equivalent.txt"
    if listed.is_file():
        for line in listed.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, reason = line.split(":", 1)
                equivalent[name.strip()] = reason.strip()
    per_module = defaultdict(Counter)
    for name, state in status.items():
        module = name.split(".x", 1)[0]  # functions are x_name, methods xǁClassǁname
        state = "crashed" if state == "segfault" else state
        per_module[module]["equivalent" if name in equivalent else state] += 1
    lines = [
        "# Mutation testing",
        "",
        "Written by `make mutation` (mutmut; configuration in `pyproject.toml`). Score = "
        "killed / (checked mutants - equivalent).",
        "",
        "| module | mutants | not checked | killed | survived | timeout | crashed "
        "| no test reaches it | equivalent | score |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    totals = Counter()
    for module in sorted(per_module):
        c = per_module[module]
        totals.update(c)
        lines.append(_row(module, c))
    lines.append(_row("**all**", totals))
    judged = sum(totals.values()) - totals["equivalent"] - totals["not checked"]
    score = totals["killed"] / judged if judged else 0.0
    lines += [
        "",
        f"Target: {TARGET:.0%} over these modules; this run: {score:.1%} "
        f"({'met' if score >= TARGET else 'not met'}).",
    ]
    if out_of_scope:
        lines += [
            "",
            f"Not counted: {len(out_of_scope)} mutants of functions outside the judged part "
            "of " + ", ".join(f"`{m}` (counted: {', '.join(f)})" for m, f in SCOPE.items()) + ".",
        ]
    if totals["not checked"]:
        lines += [
            "",
            f"The run was interrupted: {totals['not checked']} mutants were not checked "
            "(`make mutation` resumes it); their modules' scores cover the checked ones.",
        ]
    lines += ["", "## Mutants not killed", ""]
    lines += [
        f"- `{name}`: {state}"
        for name, state in sorted(status.items())
        if state not in ("killed", "not checked") and name not in equivalent
    ]
    lines += ["", "## Equivalent mutants (no test can tell them apart)", ""]
    lines += [f"- `{name}`: {reason}" for name, reason in sorted(equivalent.items())]
    print("\n".join(lines))
    return 0


def _row(module: str, c: Counter) -> str:
    total = sum(c.values())
    judged = total - c["equivalent"] - c["not checked"]
    score = f"{c['killed'] / judged:.0%}" if judged else "-"
    return (
        f"| {module} | {total} | {c['not checked']} | {c['killed']} | {c['survived']} | "
        f"{c['timeout']} | {c['crashed']} | {c['no tests']} | {c['equivalent']} | {score} |"
    )


if __name__ == "__main__":
    sys.exit(main())
