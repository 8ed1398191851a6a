"""Sequence diagrams of a scenario as SVG: the steps as specified, and the stanzas as observed.

Drawn directly (lifelines and arrows need no layout engine), so the two diagrams line up: the same
lifelines in the same order. The observed diagram shows every stanza of the scenario; those that
passed a step carry its number, the others (answers, further reports) are drawn in grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

GAP, ROW, TOP = 190, 26, 50


@dataclass(frozen=True)
class Arrow:
    producer: str
    receiver: str
    label: str
    muted: bool = False  # drawn in grey: not a step of its own


def sequence_svg(title: str, lifelines: Sequence[str], arrows: Sequence[Arrow]) -> str:
    x = {name: 90 + i * GAP for i, name in enumerate(lifelines)}
    width, height = 180 + GAP * max(len(lifelines) - 1, 0), TOP + ROW * (len(arrows) + 1) + 20
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
         'font-size="11">'),
        ('<defs><marker id="head" markerWidth="8" markerHeight="6" refX="8" refY="3" orient="auto">'
         '<path d="M0,0 L8,3 L0,6 z" fill="context-stroke"/></marker></defs>'),
        f'<text x="10" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for name, at in x.items():
        parts.append(f'<text x="{at}" y="{TOP - 12}" text-anchor="middle" font-weight="bold">{escape(name)}</text>')
        parts.append(f'<line x1="{at}" y1="{TOP - 6}" x2="{at}" y2="{height - 10}" stroke="#999" '
                     'stroke-dasharray="4 3"/>')
    for number, arrow in enumerate(arrows, 1):
        y = TOP + ROW * number
        start, end = x[arrow.producer], x[arrow.receiver]
        colour = "#999" if arrow.muted else "black"
        if start == end:  # a step inside one actor: a small loop back to its own lifeline
            parts.append(f'<path d="M{start},{y - 6} h30 v12 h-30" fill="none" stroke="{colour}" '
                         'marker-end="url(#head)"/>')
            parts.append(f'<text x="{start + 36}" y="{y + 4}" fill="{colour}">{escape(arrow.label)}</text>')
            continue
        parts.append(f'<line x1="{start}" y1="{y}" x2="{end}" y2="{y}" stroke="{colour}" marker-end="url(#head)"/>')
        parts.append(f'<text x="{(start + end) / 2}" y="{y - 4}" text-anchor="middle" fill="{colour}">'
                     f'{escape(arrow.label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
