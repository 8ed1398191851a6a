"""The static HTML report: an index with the repository's SGAM heat map, a page per use case and a
page per catalog standard. Pages are jinja2 templates; diagrams are inline SVG; the site needs no network.
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

from sgam.catalog import Standard
from sgam.enums import Layer
from sgam.files import write_all
from sgam.graph import Exchange
from sgam.models import UseCase
from sgam.publish import diagrams
from sgam.publish.view import Publication
from sgam.publish.work import in_parallel

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
    """A catalog standard, its page, and the exchanges and elements of the use cases that use it."""

    standard: Standard
    page: str
    exchanges: list[Exchange] = field(default_factory=list)
    named_by: list[dict[str, Any]] = field(default_factory=list)  # graph data of the elements naming it

    @property
    def usecases(self) -> list[str]:
        return list(dict.fromkeys([*(e.usecase for e in self.exchanges), *(n["owner"] for n in self.named_by)]))


def standard_uses(pub: Publication) -> dict[str, StandardUse]:
    """Every catalog standard by id, with a page name unique within the site and where it is used."""
    uses: dict[str, StandardUse] = {}
    taken: set[str] = set()
    for standard in sorted(pub.catalog.standards.values(), key=lambda s: s.id.lower()):
        slug = re.sub(r"[^a-z0-9]+", "-", standard.id.lower()).strip("-") or "standard"
        page, n = slug, 1
        while page in taken:
            n += 1
            page = f"{slug}-{n}"
        taken.add(page)
        uses[standard.id] = StandardUse(standard, f"standards/{page}.html")
    for exchange in pub.exchanges():
        for standard_id in exchange.standards:
            uses[standard_id].exchanges.append(exchange)
    for element, node, _ in pub.model.edges("standard"):
        uses[pub.data(node)["id"]].named_by.append(pub.data(element))
    return uses


def _page(template: str, root: str, **context: Any) -> str:
    return TEMPLATES.get_template(template).render(root=root, **context)


def _index(pub: Publication, uses: dict[str, StandardUse]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for exchange in pub.exchanges():
        counts[exchange.usecase] += 1
    heat = inline_svg(diagrams.render(diagrams.draw_plane(diagrams.repository_plane(pub))), "heat")
    return _page("index.html", "", usecases=pub.usecases, exchange_counts=counts, heat_svg=heat,
                 standards=[u for u in uses.values() if u.usecases],
                 unused=[u for u in uses.values() if not u.usecases])


def _usecase(pub: Publication, usecase: UseCase, uses: dict[str, StandardUse]) -> str:
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
        uses=uses,
        standards=[uses[pub.data(n)["id"]] for n in pub.model.nodes("standard", usecase.id)],
        gaps=[g for g in pub.gaps if g.usecase == usecase.id],
        suggestions=[s for s in pub.suggestions if s.need.usecase == usecase.id],
        unplaced=[pub.data(n) for n in pub.model.unplaced(usecase.id)],
        crossings=pub.model.crossings(usecase.id),
    )


def build_site(pub: Publication, out: Path, progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Make the site, then write it into `out`: index.html, usecases/ID.html, standards/NAME.html. Returns the pages."""
    uses = standard_uses(pub)
    pages: list[tuple[str, Callable[[], str]]] = [("index.html", partial(_index, pub, uses))]
    pages += [(f"usecases/{u.id}.html", partial(_usecase, pub, u, uses)) for u in pub.usecases]
    pages += [(use.page, partial(_page, "standard.html", "../", use=use, catalog=pub.catalog)) for use in uses.values()]

    def job(name: str, render: Callable[[], str]) -> tuple[Path, bytes]:
        return out / name, render().encode("utf-8")

    return write_all(in_parallel([partial(job, name, render) for name, render in pages], progress))
