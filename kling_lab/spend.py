"""Spend reports from the store: per day, per host, per batch, estimated against actual."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pandas as pd

from kling_lab.capabilities import CAPABILITIES
from kling_lab.store import SpendRecord


def spend_frame(records: Sequence[SpendRecord]) -> pd.DataFrame:
    """One row per job: day, host, batch, estimated, actual (when the host reported it) and charged."""
    return pd.DataFrame(
        {
            "day": [time.strftime("%Y-%m-%d", time.localtime(r.created_at)) for r in records],
            "host": [CAPABILITIES[r.provider].label if r.provider in CAPABILITIES else r.provider for r in records],
            "batch": [r.batch_id for r in records],
            "estimated": [float(r.estimated) if r.estimated is not None else 0.0 for r in records],
            "actual": [float(r.actual) if r.actual is not None else None for r in records],
            "charged": [float(r.charged) for r in records],
        },
        columns=["day", "host", "batch", "estimated", "actual", "charged"],
    )


def spend_by(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Totals grouped by `day`, `host` or `batch`: clips, estimated, reported actual, charged."""
    if frame.empty:
        return pd.DataFrame(columns=[key, "clips", "estimated", "actual", "charged"])
    grouped = frame.groupby(key, sort=True).agg(
        clips=("charged", "size"),
        estimated=("estimated", "sum"),
        actual=("actual", lambda s: s.sum(min_count=1)),
        charged=("charged", "sum"),
    )
    return grouped.reset_index().round({"estimated": 2, "actual": 2, "charged": 2})


def spend_over_time(frame: pd.DataFrame) -> pd.DataFrame:
    """Charged spend per day and host, wide (one column per host) for a stacked chart."""
    if frame.empty:
        return pd.DataFrame()
    return frame.pivot_table(index="day", columns="host", values="charged", aggfunc="sum", fill_value=0.0)
