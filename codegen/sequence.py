"""Sequence diagrams of a scenario as SVG: the steps as specified, and the stanzas as observed.

Drawn directly (lifelines and arrows need no layout engine), so the two diagrams line up: same
lifelines in the same order, one arrow per step or per observed stanza.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

Arrow = tuple[str, str, str]  # producer, receiver, label
GAP, ROW, TOP = 190, 28, 50


def sequence_svg(title: str, lifelines: Sequence[str], arrows: Sequence[Arrow]) -> str:
    x = {name: 90 + i * GAP for i, name in enumerate(lifelines)}
    width, height = 180 + GAP * max(len(lifelines) - 1, 0), TOP + ROW * (len(arrows) + 1) + 20
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
         'font-size="11">'),
        ('<defs><marker id="head" markerWidth="8" markerHeight="6" refX="8" refY="3" orient="auto">'
         '<path d="M0,0 L8,3 L0,6 z"/></marker></defs>'),
        f'<text x="10" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for name, at in x.items():
        parts.append(f'<text x="{at}" y="{TOP - 12}" text-anchor="middle" font-weight="bold">{escape(name)}</text>')
        parts.append(f'<line x1="{at}" y1="{TOP - 6}" x2="{at}" y2="{height - 10}" stroke="#999" '
                     'stroke-dasharray="4 3"/>')
    for number, (producer, receiver, label) in enumerate(arrows, 1):
        y = TOP + ROW * number
        start, end = x[producer], x[receiver]
        parts.append(f'<line x1="{start}" y1="{y}" x2="{end}" y2="{y}" stroke="black" marker-end="url(#head)"/>')
        parts.append(f'<text x="{(start + end) / 2}" y="{y - 4}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
