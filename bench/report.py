"""Bench results: each row is a path's figure, its ceiling's, the ratio and the target."""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field


@dataclass
class Row:
    path: str
    metric: str
    value: float
    unit: str
    ceiling: float | None = None
    target_ratio: float | None = None
    target_value: float | None = None
    target_is_max: bool = False
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ceiling:
            return self.value / self.ceiling
        return None

    @property
    def met(self) -> bool | None:
        checks = []
        if self.target_ratio is not None and self.ratio is not None:
            checks.append(self.ratio >= self.target_ratio)
        if self.target_value is not None:
            checks.append(
                self.value <= self.target_value
                if self.target_is_max
                else self.value >= self.target_value
            )
        return all(checks) if checks else None


@dataclass
class Report:
    scale: int
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        ratio = f" ratio {row.ratio:.2f}" if row.ratio is not None else ""
        print(f"  {row.path}: {row.metric} = {row.value:,.1f} {row.unit}{ratio}", flush=True)

    def table(self) -> str:
        header = (
            f"{'path':<28} {'metric':<34} {'value':>12} {'ceiling':>12} {'ratio':>6}  target    met"
        )
        lines = [f"Firsthand bench — SCALE={self.scale:,} customers", header, "-" * len(header)]
        for row in self.rows:
            target = []
            if row.target_ratio is not None:
                target.append(f"≥{row.target_ratio:g}x")
            if row.target_value is not None:
                target.append(f"{'≤' if row.target_is_max else '≥'}{row.target_value:g}")
            met = {True: "yes", False: "NO", None: ""}[row.met]
            lines.append(
                f"{row.path:<28} {row.metric + ' (' + row.unit + ')':<34} {row.value:>12,.1f} "
                f"{(f'{row.ceiling:,.1f}' if row.ceiling else ''):>12} "
                f"{(f'{row.ratio:.2f}' if row.ratio is not None else ''):>6}  "
                f"{' '.join(target):<9} {met}"
            )
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "scale": self.scale,
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {"cpus": _cpus(), "python": platform.python_version()},
            "rows": [{**asdict(row), "ratio": row.ratio, "met": row.met} for row in self.rows],
        }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
