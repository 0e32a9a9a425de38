"""The paper's sample: N flows at a fixed benign fraction, attacks stratified by family.

The sample is drawn in one streaming pass with bounded memory, so that it works
on the full CICIoT2023 release (46.7M flows) as well as on the bundled sample:

1. every flow gets a uniform random key from a seeded generator, in file order;
2. per stratum (benign, and each attack family) only the flows with the
   smallest keys are kept, at most as many as the stratum could ever need
   (a *bottom-k* sample, which is a uniform sample without replacement);
3. at the end, knowing how many flows each stratum had, the achieved sizes are
   fixed (the largest sample with the requested ratio that the source can
   supply) and each stratum gives its first rows by key.

A prefix of a bottom-k sample is itself a uniform sample, so step 3 is exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .datasets import BENIGN_FAMILY

_KEY = "_sample_key"


@dataclass
class SampleReport:
    """What was asked for, what the source had, and what the sample got."""

    requested: dict[str, int]
    achieved: dict[str, int]
    benign_fraction_requested: float
    benign_fraction_achieved: float
    source_counts: dict[str, int]
    source_family_counts: dict[str, int]
    family_counts: dict[str, int]
    shortfall: str | None
    rows_read: int
    peak_rows_held: int
    seed: int

    def to_dict(self) -> dict:
        return asdict(self)


def requested_sizes(n_flows: int, benign_fraction: float) -> tuple[int, int]:
    """Split a requested sample size into (benign, attack) counts."""
    if n_flows < 2:
        raise ValueError(f"n_flows must be at least 2, got {n_flows}")
    if not 0.0 < benign_fraction < 1.0:
        raise ValueError(
            f"benign_fraction must lie strictly between 0 and 1, got {benign_fraction}"
        )
    n_benign = round(n_flows * benign_fraction)
    return n_benign, n_flows - n_benign


def achievable_sizes(
    n_flows: int, benign_fraction: float, n_benign_available: int, n_attack_available: int
) -> tuple[int, int]:
    """The largest (benign, attack) sample of at most ``n_flows`` with the ratio kept.

    Examples
    --------
    >>> achievable_sizes(100_000, 0.9, 1_700, 14_664)
    (1699, 189)
    """
    limits = [
        n_flows,
        n_benign_available / benign_fraction,
        n_attack_available / (1.0 - benign_fraction),
    ]
    total = math.floor(min(limits) + 1e-9)
    n_benign = round(total * benign_fraction)
    return min(n_benign, n_benign_available), min(total - n_benign, n_attack_available)


def allocate(total: int, counts: dict[str, int]) -> dict[str, int]:
    """Share ``total`` among strata in proportion to ``counts`` (largest remainder).

    No stratum gets more than it has; ties break by name so the result is
    deterministic.
    """
    available = sum(counts.values())
    if total > available:
        raise ValueError(f"cannot draw {total} from {available} flows")
    share = {k: total * c / available for k, c in counts.items()} if available else {}
    result = {k: min(math.floor(v), counts[k]) for k, v in share.items()}
    order = sorted(counts, key=lambda k: (-(share[k] - math.floor(share[k])), k))
    while sum(result.values()) < total:
        for k in order:
            if sum(result.values()) == total:
                break
            if result[k] < counts[k]:
                result[k] += 1
    return result


def sample_paper(
    chunks: Iterable[pd.DataFrame],
    n_flows: int,
    benign_fraction: float,
    seed: int,
    on_chunk: Callable[[pd.DataFrame], None] | None = None,
) -> tuple[pd.DataFrame, SampleReport]:
    """Draw the paper's sample from a stream of standard-layout chunks.

    Parameters
    ----------
    chunks : iterable of pandas.DataFrame
        Flows in the standard layout (``family`` and ``attack`` columns), e.g.
        from :func:`ids_utils.datasets.iter_flow_chunks`.
    n_flows : int
        Requested sample size (the paper: 100,000).
    benign_fraction : float
        Requested share of benign flows (the paper: 0.9).
    seed : int
        Seed of the random keys; the same seed and source give the same sample.
    on_chunk : callable, optional
        Called with every chunk as it passes, so one pass over a large source
        can also feed an audit (e.g. :meth:`ids_utils.audit.SourceSummary.add`).

    Returns
    -------
    sample : pandas.DataFrame
        The sample, in source order (file, then line).
    report : SampleReport
        Requested versus achieved counts, per family and overall.
    """
    n_benign_req, n_attack_req = requested_sizes(n_flows, benign_fraction)
    rng = np.random.default_rng(seed)
    kept: dict[str, pd.DataFrame] = {}
    counts: dict[str, int] = {}
    rows_read = 0
    peak = 0
    for chunk in chunks:
        if on_chunk is not None:
            on_chunk(chunk)
        chunk = chunk.assign(**{_KEY: rng.random(len(chunk))})
        rows_read += len(chunk)
        for family, rows in chunk.groupby("family", sort=True, observed=True):
            counts[family] = counts.get(family, 0) + len(rows)
            cap = n_benign_req if family == BENIGN_FAMILY else n_attack_req
            pool = rows if family not in kept else pd.concat([kept[family], rows])
            kept[family] = pool.nsmallest(cap, _KEY) if len(pool) > cap else pool
        peak = max(peak, len(chunk) + sum(len(f) for f in kept.values()))
    if rows_read == 0:
        raise ValueError("the source yielded no flows")

    n_benign_av = counts.get(BENIGN_FAMILY, 0)
    attack_counts = {k: v for k, v in counts.items() if k != BENIGN_FAMILY}
    n_attack_av = sum(attack_counts.values())
    if n_benign_av == 0 or n_attack_av == 0:
        raise ValueError(
            f"the source has {n_benign_av} benign and {n_attack_av} attack "
            "flows; the paper's sample needs both"
        )
    n_benign, n_attack = achievable_sizes(n_flows, benign_fraction, n_benign_av, n_attack_av)
    per_family = allocate(n_attack, attack_counts)
    per_family[BENIGN_FAMILY] = n_benign
    parts = [kept[f].sort_values(_KEY, kind="stable").head(n) for f, n in per_family.items()]
    sample = (
        pd.concat(parts)
        .drop(columns=_KEY)
        .sort_values(["source_file", "source_line"], kind="stable")
        .reset_index(drop=True)
    )

    shortfall = None
    if n_benign + n_attack < n_flows:
        limiting = (
            "benign"
            if n_benign_av / benign_fraction < n_attack_av / (1 - benign_fraction)
            else "attack"
        )
        shortfall = (
            f"The source has {n_benign_av:,} benign and {n_attack_av:,} attack "
            f"flows; keeping the requested {benign_fraction:.0%} benign ratio, the "
            f"{limiting} flows limit the sample to {n_benign + n_attack:,} of the "
            f"{n_flows:,} requested."
        )
    report = SampleReport(
        requested={"total": n_flows, "benign": n_benign_req, "attack": n_attack_req},
        achieved={"total": n_benign + n_attack, "benign": n_benign, "attack": n_attack},
        benign_fraction_requested=benign_fraction,
        benign_fraction_achieved=n_benign / (n_benign + n_attack),
        source_counts={"total": rows_read, "benign": n_benign_av, "attack": n_attack_av},
        source_family_counts={f: int(counts[f]) for f in sorted(counts)},
        family_counts={f: int(per_family[f]) for f in sorted(per_family)},
        shortfall=shortfall,
        rows_read=rows_read,
        peak_rows_held=peak,
        seed=seed,
    )
    return sample, report
