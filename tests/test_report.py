"""The HTML report, opened from file:// in headless Chromium."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image

from sgam.cli import main
from sgam.loader import load_repository
from sgam.publish.report import standard_uses
from sgam.publish.view import Publication
from tests.browser import Chromium, Page
from tests.conftest import REPO

SEED = "ems-demand-response"
LINKS = "Array.from(document.querySelectorAll('a[href]'), a => a.href)"


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


class Ids(HTMLParser):
    """The id attributes of a page (targets of #fragments)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)


def opened(page: Page, path: Path) -> Page:
    page.open(path.as_uri())
    assert page.errors() == []
    assert all(url.startswith(("file:", "data:")) for url in page.requests()), page.requests()
    return page


def test_the_site_has_an_index_a_page_per_use_case_and_per_standard(site: Path) -> None:
    pub = Publication.of(load_repository([REPO / "usecases"]))
    expected = {"index.html", *(f"usecases/{u.id}.html" for u in pub.usecases),
                *(use.page for use in standard_uses(pub).values())}
    assert {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()} == expected
    assert "standards/openadr-2-0b-iec-62746-10-1.html" in expected


def test_index_and_use_case_pages_load_offline_without_errors(site: Path, page: Page) -> None:
    opened(page, site / "index.html")
    assert page.evaluate("document.querySelectorAll('#usecases tr').length") == 1 + 5
    assert page.evaluate("document.querySelector('svg').getBoundingClientRect().width") > 300
    opened(page, site / "usecases" / f"{SEED}.html")
    plane = "document.querySelector('#plane-communication svg')"
    assert page.evaluate(f"{plane}.getBoundingClientRect().height") > 100
    text = page.evaluate(f"{plane}.textContent")
    assert "OpenADR 2.0b (IEC 62746-10-1)" in text and "IEC 61850-8-2 (ACSI over XMPP)" in text
    assert page.evaluate("document.querySelectorAll('section[id^=scenario-] svg').length") == 4


def test_every_internal_link_resolves(site: Path, page: Page) -> None:
    pages = [site / "index.html", *sorted((site / "usecases").iterdir()), next((site / "standards").iterdir())]
    checked = 0
    for path in pages:
        opened(page, path)
        for href in page.evaluate(LINKS):
            url = urlsplit(href)
            assert url.scheme == "file", f"{path.name} links outside the site: {href}"
            target = Path(unquote(url.path))
            assert target.is_file() and site in target.parents, f"{path.name}: broken link {href}"
            if url.fragment:
                assert url.fragment in Ids(target).ids, f"{path.name}: no #{url.fragment} in {target.name}"
            checked += 1
    assert checked > 100


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


def test_an_unwritable_output_folder_is_bad_input(sgam, usecase: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "usecases").write_text("a file where the report wants a folder")
    result = sgam("report", usecase, "-o", locked)
    assert result.status == 2 and "cannot write" in result.err and "hint: choose another -o" in result.err
