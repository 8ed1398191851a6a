"""The static HTML report: an index with the repository's SGAM heat map, a page per use case and a
page per standard. Pages are jinja2 templates; diagrams are inline SVG; the site needs no network.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import jinja2

from sgam.enums import Layer
from sgam.files import write_atomic
from sgam.graph import Exchange
from sgam.models import UseCase
from sgam.publish import diagrams
from sgam.publish.view import Publication

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("sgam.publish", "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)
_PROLOGUE = re.compile(r"\A.*?(?=<svg)", re.DOTALL)


def inline_svg(svg: bytes, prefix: str) -> str:
    """SVG text to put inside a page: no XML prologue, and ids made unique within the page."""
    text = _PROLOGUE.sub("", svg.decode("utf-8"))
    return re.sub(r'\bid="', f'id="{prefix}-', text)


@dataclass
class StandardUse:
    """Where one standard (as the use cases name it) is used."""

    name: str
    page: str
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def usecases(self) -> list[str]:
        return list(dict.fromkeys(e.usecase for e in self.exchanges))


def standard_uses(pub: Publication) -> dict[str, StandardUse]:
    """Every standard the exchanges use, each with a page name unique within the site."""
    uses: dict[str, StandardUse] = {}
    taken: set[str] = set()
    for exchange in pub.exchanges():
        for name in pub.standards(exchange):
            if name not in uses:
                slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "standard"
                page, n = slug, 1
                while page in taken:
                    n += 1
                    page = f"{slug}-{n}"
                taken.add(page)
                uses[name] = StandardUse(name, f"standards/{page}.html")
            uses[name].exchanges.append(exchange)
    return uses


def _page(template: str, root: str, **context: Any) -> str:
    return TEMPLATES.get_template(template).render(root=root, **context)


def _index(pub: Publication, uses: dict[str, StandardUse]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for exchange in pub.exchanges():
        counts[exchange.usecase] += 1
    heat = inline_svg(diagrams.render(diagrams.draw_plane(diagrams.repository_plane(pub))), "heat")
    return _page("index.html", "", usecases=pub.usecases, exchange_counts=counts, heat_svg=heat,
                 standards=sorted(uses.values(), key=lambda u: u.name.lower()))


def _usecase(pub: Publication, usecase: UseCase, uses: dict[str, StandardUse]) -> str:
    exchanges = pub.exchanges(usecase.id)
    standards = {name: uses[name] for e in exchanges for name in pub.standards(e)}
    actors = [pub.element(usecase.id, pub.data(n)["id"]) for n in pub.model.nodes("actor", usecase.id)]
    draw = diagrams.render
    return _page(
        "usecase.html", "../",
        usecase=usecase,
        actors=actors,
        usecase_svg=inline_svg(draw(diagrams.usecase_diagram(pub, usecase)), "uc"),
        planes=[(layer.value, inline_svg(draw(diagrams.draw_plane(diagrams.plane(pub, layer, usecase.id))),
                                         f"plane-{layer.value}")) for layer in Layer],
        sequences={s.id: inline_svg(draw(diagrams.sequence_diagram(pub, usecase, s)), f"seq-{s.id}")
                   for s in usecase.scenarios},
        names={**{a.id: a.name for a in actors}, **{i.id: i.name for i in usecase.information}},
        standards=sorted(standards.values(), key=lambda u: u.name.lower()),
        gaps=[e for e in exchanges if not pub.standards(e)],
        unplaced=[pub.data(n) for n in pub.model.unplaced(usecase.id)],
        crossings=pub.model.crossings(usecase.id),
    )


def build_site(pub: Publication, out: Path, progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write the site into `out`: index.html, usecases/ID.html, standards/NAME.html. Returns the pages."""
    uses = standard_uses(pub)
    pages: list[tuple[str, Callable[[], str]]] = [("index.html", partial(_index, pub, uses))]
    pages += [(f"usecases/{u.id}.html", partial(_usecase, pub, u, uses)) for u in pub.usecases]
    pages += [(use.page, partial(_page, "standard.html", "../", standard=use)) for use in uses.values()]
    written = []
    for done, (name, render) in enumerate(pages, 1):
        write_atomic(out / name, render())
        written.append(out / name)
        if progress:
            progress(done, len(pages))
    return written
