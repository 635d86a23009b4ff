"""The figures of `make bench` and how they are printed: portal, baseline, ratio, target, met."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass
class Figure:
    name: str
    portal: float
    baseline: float
    unit: str
    target: str
    # None: reported only (the issue sets no target for it).
    met: bool | None
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.portal / self.baseline if self.baseline else math.nan


@dataclass
class Report:
    machine: dict
    data: dict
    tools: dict = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    queries: dict = field(default_factory=dict)
    seconds: float = 0.0

    def payload(self) -> dict:
        """What bench/results*.json holds: the report, each figure with its ratio."""
        payload = asdict(self)
        payload["figures"] = [dict(asdict(f), ratio=round(f.ratio, 3)) for f in self.figures]
        return payload


def number(value: float) -> str:
    """Thousands separated; two decimals below 100, none above (a rate or a size)."""
    if math.isnan(value):
        return "—"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def met_text(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "no")


def markdown_table(figures: list[Figure]) -> str:
    """The README's table of a run."""
    lines = [
        "| figure | portal | baseline | ratio | target | met |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for figure in figures:
        lines.append(
            f"| {figure.name} | {number(figure.portal)} | {number(figure.baseline)} "
            f"| {figure.ratio:.2f} | {figure.target} | {met_text(figure.met)} |"
        )
    return "\n".join(lines)


def queries_table(queries: dict[str, tuple[int, int]]) -> str:
    lines = ["| page | SQL statements, small data | full data |", "| --- | ---: | ---: |"]
    lines += [f"| {page} | {small} | {large} |" for page, (small, large) in queries.items()]
    return "\n".join(lines)


def text_report(report: Report) -> str:
    """Everything `make bench` prints at the end of a run."""
    load = report.machine.get("load_average", {})
    parts = [
        f"Data: {report.data}",
        f"Machine: {report.machine}",
        f"Load tool: {report.tools.get('load', '?')}; load average (1 min) at start "
        f"{load.get('start', '?')}, at end {load.get('end', '?')}",
        "",
        markdown_table(report.figures),
        "",
        "Notes:",
        *(f"  {figure.name}: {figure.note}" for figure in report.figures if figure.note),
        "",
        "SQL queries per request (small data -> full data):",
        queries_table(report.queries),
    ]
    growing = [page for page, (small, large) in report.queries.items() if small != large]
    if growing:
        parts.append(f"GROWS with the data: {', '.join(growing)}")
    return "\n".join(parts)
