"""Figures of the benchmark: median and spread, ratio to a baseline, JSON and Markdown."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pelican_tui.backends.frozen import frozen


@frozen
class Spread:
    median: float
    low: float
    high: float
    samples: list[float]

    @classmethod
    def of(cls, samples: list[float]) -> Spread | None:
        values = [float(v) for v in samples if v is not None]
        if not values:
            return None
        return cls(statistics.median(values), min(values), max(values), values)


@dataclass(slots=True)
class Figure:
    """One line of the results table."""

    key: str
    name: str
    unit: str
    value: Spread | None
    """pelican-tui's number, one sample per run."""
    baseline_name: str = ""
    baseline: Spread | None = None
    """The same quantity for the baseline, measured in the same runs."""
    ratio: Spread | None = None
    """value / baseline, paired run by run."""
    target: str = ""
    """For people, e.g. "≤ 0.05"."""
    target_on: str = "value"
    """Which number the target applies to: "value" or "ratio"."""
    limit: float | None = None
    higher_is_better: bool = False
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        spread = self.ratio if self.target_on == "ratio" else self.value
        if self.limit is None or spread is None:
            return None
        if self.higher_is_better:
            return spread.median >= self.limit
        return spread.median <= self.limit

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["met"] = self.met
        return data


def paired_ratio(values: list[float | None], baselines: list[float | None]) -> Spread | None:
    """Run-by-run ratios (pairs with a missing or zero baseline are skipped)."""
    ratios = [v / b for v, b in zip(values, baselines, strict=False) if v is not None and b]
    return Spread.of(ratios)


def _fmt(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value:.3f}"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    if unit == "tok/s":
        return f"{value:.1f} tok/s"
    if unit == "us":
        return f"{value:.0f} µs"
    if unit == "B/token":
        return f"{value:.0f} B/tok"
    if abs(value) >= 100:
        return f"{value:.0f} {unit}".strip()
    return f"{value:.3g} {unit}".strip()


def _cell(spread: Spread | None, unit: str) -> str:
    if spread is None:
        return "-"
    if len(spread.samples) == 1 or spread.low == spread.high:
        return _fmt(spread.median, unit)
    return f"{_fmt(spread.median, unit)} ({_fmt(spread.low, unit)}-{_fmt(spread.high, unit)})"


def markdown_table(figures: list[Figure]) -> str:
    lines = [
        "| # | Figure | pelican-tui median (min-max) | Baseline median (min-max) "
        "| Ratio median (min-max) | Target | Met |",
        "|---|---|---|---|---|---|---|",
    ]
    for figure in figures:
        met = {True: "yes", False: "**no**", None: "-"}[figure.met]
        baseline = _cell(figure.baseline, figure.unit)
        if figure.baseline_name and figure.baseline is not None:
            baseline = f"{baseline}<br>*{figure.baseline_name}*"
        lines.append(
            f"| {figure.key} | {figure.name} | {_cell(figure.value, figure.unit)} | {baseline} "
            f"| {_cell(figure.ratio, 'ratio')} | {figure.target or '-'} | {met} |"
        )
    notes = [f"- **{f.key}** {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


def _load(meta: dict[str, Any], when: str) -> str:
    load = meta.get(f"load_average_at_{when}")
    return f"{load[0]:.1f}" if load else "?"


def write_results(
    folder: Path, figures: list[Figure], meta: dict[str, Any], raw: dict[str, Any]
) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / "latest.json"
    md_path = folder / "latest.md"
    data = {"meta": meta, "figures": [f.to_json() for f in figures], "raw": raw}
    json_path.write_text(json.dumps(data, indent=1, default=str) + "\n")
    header = [
        "# pelican-tui benchmark",
        "",
        f"`{meta['command']}` — {meta['generated_at']}, {meta['machine']}, "
        f"{meta['runs']} interleaved A/B runs, {meta['workload']}. Load average "
        f"(1 min) {_load(meta, 'start')} at the start, {_load(meta, 'end')} at the end.",
        "",
        "",
    ]
    md_path.write_text("\n".join(header) + markdown_table(figures))
    return json_path, md_path
