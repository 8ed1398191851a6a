"""The HTML report, opened from file:// in headless Chromium."""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from PIL import Image

from sgam.cli import main
from sgam.publish.report import standard_uses
from tests.browser import Chromium, Page
from tests.conftest import REPO
from tests.publishing import publication

SEED = "ems-demand-response"
LINKS = "Array.from(document.querySelectorAll('a[href]'), a => [a.href, a.rel])"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "site"
    assert main(["report", str(REPO / "usecases"), "-o", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    chromium = Chromium()
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Chromium) -> Iterator[Page]:
    with browser.page() as tab:
        yield tab


class Html(HTMLParser):
    """The ids (targets of #fragments) and the links of a page."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (href, rel)
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        if tag == "a" and values.get("href"):
            self.links.append((values["href"] or "", values.get("rel") or ""))


@functools.cache
def ids_of(page: Path) -> set[str]:
    return Html(page).ids


def check_link(site: Path, page: Path, href: str, rel: str) -> None:
    """An internal link names a page of the site (and an id on it); others are marked external."""
    url = urlsplit(urljoin(page.as_uri(), href))
    if url.scheme in ("http", "https"):
        assert rel == "external", f"{page.name}: {href} leaves the site without saying so"
        return
    assert url.scheme == "file", f"{page.name}: odd link {href}"
    target = Path(unquote(url.path))
    assert target.is_file() and site in target.parents, f"{page.name}: broken link {href}"
    if url.fragment:
        assert url.fragment in ids_of(target), f"{page.name}: no #{url.fragment} in {target.name}"


def opened(page: Page, path: Path) -> Page:
    page.open(path.as_uri())
    assert page.errors() == []
    assert all(url.startswith(("file:", "data:")) for url in page.requests()), page.requests()
    return page


def test_the_site_has_an_index_a_page_per_use_case_and_per_standard(site: Path) -> None:
    pub = publication(REPO / "usecases")
    uses = standard_uses(pub)
    assert set(uses) == set(pub.catalog.standards)  # every catalog standard, used or not
    expected = {"index.html", *(f"usecases/{u.id}.html" for u in pub.usecases), *(use.page for use in uses.values())}
    assert {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()} == expected
    openadr = uses["IEC 62746-10-1"]
    assert openadr.page == "standards/iec-62746-10-1.html"
    assert set(openadr.usecases) == {"ems-demand-response", "flexibility-traffic-light", "ev-smart-charging"}


def test_index_and_use_case_pages_load_offline_without_errors(site: Path, page: Page) -> None:
    opened(page, site / "index.html")
    assert page.evaluate("document.querySelectorAll('#usecases tr').length") == 1 + 5
    assert page.evaluate("document.querySelector('svg').getBoundingClientRect().width") > 300
    opened(page, site / "usecases" / f"{SEED}.html")
    plane = "document.querySelector('#plane-communication svg')"
    assert page.evaluate(f"{plane}.getBoundingClientRect().height") > 100
    text = page.evaluate(f"{plane}.textContent")
    assert "OpenADR 2.0b" in text and "IEC 61850-8-2 ACSI over XMPP" in text
    assert page.evaluate("document.querySelectorAll('section[id^=scenario-] svg').length") == 4


def test_every_internal_link_resolves(site: Path) -> None:
    checked = 0
    for path in site.rglob("*.html"):
        for href, rel in Html(path).links:
            check_link(site, path, href, rel)
            checked += 1
    assert checked > 500


def test_the_links_the_browser_sees_resolve(site: Path, page: Page) -> None:
    for path in (site / "index.html", site / "usecases" / f"{SEED}.html", site / "standards" / "iec-62746-10-1.html"):
        opened(page, path)
        links = page.evaluate(LINKS)
        assert len(links) > 5
        for href, rel in links:
            check_link(site, path, href, rel)


def test_a_screenshot_of_the_index_is_not_blank(site: Path, page: Page) -> None:
    opened(page, site / "index.html")
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    assert image.size == (1280, 900)
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 20
    assert max(count for count, _ in colours) < 0.9 * image.size[0] * image.size[1]  # no single colour fills it


def test_sgam_report_lists_its_pages_and_refuses_a_file_as_folder(sgam, usecase: Path, tmp_path: Path) -> None:
    result = sgam("report", usecase, "-o", tmp_path / "site", "--json")
    assert result.status == 0, result.err
    written = json.loads(result.out)["written"]
    assert written[0].endswith("index.html") and any(p.endswith("usecases/uc-demo.html") for p in written)
    (tmp_path / "file").write_text("")
    refused = sgam("report", usecase, "-o", tmp_path / "file")
    assert refused.status == 2 and "is a file, not a folder" in refused.err


@pytest.mark.parametrize("command", ["report", "diagram"])
def test_a_dot_that_fails_part_way_leaves_the_output_folder_as_it_was(
        sgam, usecase: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    out = tmp_path / "out"
    assert sgam(command, usecase, "-o", out, "--quiet").status == 0
    before = files_of(out)
    # a `dot` that draws the other diagrams with the real Graphviz but fails on every sequence diagram
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "dot").write_text(f"""#!/bin/sh
input=$(cat)
case "$input" in *"digraph sequence"*) echo "dot: simulated crash" >&2; exit 3;; esac
printf '%s' "$input" | exec {shutil.which("dot")} "$@"
""")
    (broken / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{broken}:{os.environ['PATH']}")
    failed = sgam(command, usecase, "-o", out, "--quiet")
    assert failed.status == 1
    assert "error: Graphviz `dot` failed on a diagram: dot: simulated crash" in failed.err
    assert "Traceback" not in failed.err
    assert files_of(out) == before  # not one file written, not even an unchanged one


def files_of(folder: Path) -> dict[Path, tuple[bytes, int]]:
    return {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in folder.rglob("*") if path.is_file()}


def test_an_unwritable_output_folder_is_bad_input(sgam, usecase: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "usecases").write_text("a file where the report wants a folder")
    result = sgam("report", usecase, "-o", locked)
    assert result.status == 2 and "error[unwritable]: cannot write" in result.err and "hint: give a path" in result.err


def test_use_case_pages_show_the_gaps_and_suggestions_of_the_standards_analysis(site: Path, page: Page) -> None:
    pub = publication(REPO / "usecases")
    usecase = "dso-volt-var-der"
    gaps = [g for g in pub.gaps if g.usecase == usecase]
    suggestions = [s for s in pub.suggestions if s.need.usecase == usecase]
    assert gaps and suggestions  # the example leaves its Modbus link unsecured
    opened(page, site / "usecases" / f"{usecase}.html")
    shown = page.evaluate("Array.from(document.querySelectorAll('#gaps + table tr.gap'), r => r.cells[2].textContent)")
    assert shown == [g.message for g in gaps]
    rows = page.evaluate("document.querySelectorAll('#suggestions + table tr').length")
    assert rows == 1 + len(suggestions)
    first = page.evaluate("document.querySelector('#suggestions + table ol a').textContent")
    assert first == suggestions[0].candidates[0].standard
