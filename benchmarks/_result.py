"""Result rows, their JSON form and the Markdown table.

A row is one contender against one baseline in one case (a body size, an
adapter, a concurrency). Its ratio is contender / baseline for times (lower
is better) or for throughput (higher is better); the target says which way.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from _harness import Series, paired_ratio

__all__ = ["FIGURES", "Row", "Target", "markdown", "ratio_row"]

FIGURES = {
    1: "SignatureVerifier.verify vs raw hmac (bytes in memory)",
    2: "Peer verifiers on the same bodies",
    3: "Per delivery through each adapter vs a hand-written endpoint (in-process)",
    4: "Memory",
    5: "Real servers on 127.0.0.1 (requests/s, wrapped / bare)",
    6: "Scaling: time per delivery vs body size",
}

TIMES = "\u00d7"
NONE = "\u2013"

_OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, "<": operator.lt, ">=": operator.ge}


@dataclass(frozen=True)
class Target:
    op: str  # "<=", "<" or ">="
    value: float

    def met(self, ratio: float) -> bool:
        return _OPS[self.op](ratio, self.value)

    def __str__(self) -> str:
        sign = {"<=": "\u2264", "<": "<", ">=": "\u2265"}[self.op]
        return f"{sign} {self.value:g}{TIMES}"


@dataclass
class Row:
    figure: int
    case: str
    contender: str
    baseline: str = ""
    value: float | None = None  # the contender's median (seconds per call, bytes, requests/s)
    baseline_value: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    unit: str = "us"  # how ``value`` is shown: us, ms, MiB, rps, B
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ratio_row(
    figure: int,
    case: str,
    contender: Series,
    baseline: Series,
    target: Target | None = None,
    *,
    note: str = "",
    label: str | None = None,
    baseline_label: str | None = None,
) -> Row:
    """A timing row: medians of both, the paired ratio, the target verdict."""
    ratio = paired_ratio(contender, baseline)
    return Row(
        figure=figure,
        case=case,
        contender=label or contender.name,
        baseline=baseline_label or baseline.name,
        value=contender.median,
        baseline_value=baseline.median,
        ratio=ratio,
        target=str(target) if target else "",
        met=target.met(ratio) if target else None,
        note=note,
        extra={
            "rounds": len(contender.per_call),
            "calls_per_round": [contender.calls, baseline.calls],
            "ratio_per_round": [a / b for a, b in zip(contender.per_call, baseline.per_call, strict=True)],
        },
    )


def _show(value: float | None, unit: str) -> str:
    if value is None:
        return NONE
    if unit == "us":
        seconds = value
        if seconds >= 0.1:
            return f"{seconds * 1e3:,.0f} ms"
        if seconds >= 1e-3:
            return f"{seconds * 1e3:,.2f} ms"
        return f"{seconds * 1e6:,.1f} µs"
    if unit == "MiB":
        return f"{value / (1 << 20):,.2f} MiB"
    if unit == "rps":
        return f"{value:,.0f}/s"
    if unit == "B":
        return f"{value:,.0f} B"
    return f"{value:g} {unit}"


def _verdict(row: Row) -> str:
    if row.met is None:
        return ""
    return "met" if row.met else "**missed**"


def _scaling_table(rows: list[Row]) -> list[str]:
    """Figure 6 pivoted: one line per contender, time and growth exponent per size."""
    sizes: list[str] = []
    by_name: dict[str, list[Row]] = {}
    for r in rows:
        if r.case not in sizes:
            sizes.append(r.case)
        by_name.setdefault(r.contender, []).append(r)
    out = [
        "| contender | " + " | ".join(sizes) + " | ns/byte (slope) | superlinear |",
        "| --- | " + " | ".join("---:" for _ in sizes) + " | ---: | --- |",
    ]
    for name, items in by_name.items():
        cells = []
        for r in items:
            cell = _show(r.value, r.unit)
            if r.ratio is not None:
                cell += f" (^{r.ratio:.2f})"
            cells.append(cell)
        slope = items[-1].extra.get("slope_ns_per_byte_from_64k")
        judged = [r for r in items if r.met is not None]
        verdict = NONE if not judged else ("**yes**" if any(not r.met for r in judged) else "no")
        shown = f"{slope:.2f}" if slope is not None else NONE
        out.append(f"| {name} | " + " | ".join(cells) + f" | {shown} | {verdict} |")
    out.append("")
    out.append(
        "(^x): growth exponent from the previous size; 1.00 is linear. Superlinear: more than 0.1 above the "
        "floor's exponent over the same step, from 64 KiB up."
    )
    out.append("")
    return out


def markdown(rows: Iterable[Row], notes: dict[int, list[str]]) -> str:
    """One table per figure, in figure order, with the figure's notes under it."""
    by_figure: dict[int, list[Row]] = {}
    for row in rows:
        by_figure.setdefault(row.figure, []).append(row)
    out: list[str] = []
    for number, title in FIGURES.items():
        figure_rows = by_figure.get(number, [])
        out.append(f"### {number}. {title}\n")
        if figure_rows and number == 6:
            out.extend(_scaling_table(figure_rows))
        elif figure_rows:
            out.append("| case | contender | median | baseline | median | ratio | target | |")
            out.append("| --- | --- | ---: | --- | ---: | ---: | --- | --- |")
            for r in figure_rows:
                digits = 3 if r.unit == "MiB" else 2
                ratio = f"{r.ratio:.{digits}f}{TIMES}" if r.ratio is not None else NONE
                out.append(
                    f"| {r.case} | {r.contender} | {_show(r.value, r.unit)} | {r.baseline} | "
                    f"{_show(r.baseline_value, r.unit)} | {ratio} | {r.target} | {_verdict(r)} |"
                )
            out.append("")
        for note in notes.get(number, []):
            out.append(f"- {note}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
