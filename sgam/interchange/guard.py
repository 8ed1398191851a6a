"""Limits for files from elsewhere: hostile XML and zip archives are refused before parsing.

An .xlsx is a zip of XML parts. A zip bomb (a small file that inflates to gigabytes) is caught by
summing the sizes the archive declares and the ratio of each part, before anything is inflated;
openpyxl parses the parts with defusedxml when it is installed (it is a dependency), so entities
inside a workbook are refused too. Formulas are never evaluated: openpyxl only reads the value
Excel cached when it last saved the file.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from lxml import etree

from sgam.diagnostics import BadInput, Diagnostic
from sgam.enums import Severity

MAX_FILE_BYTES = 20_000_000
MAX_UNZIPPED_BYTES = 100_000_000
MAX_RATIO = 200  # well above what real workbooks reach (text compresses about 10:1)
MAX_ROWS = 5_000
MAX_COLUMNS = 2_000
MAX_CELLS = 50_000  # filled cells in a sheet; the largest real use case sheet seen has about 800


def refuse(path: Path, code: str, message: str, hint: str, line: int | None = None) -> BadInput:
    return BadInput(Diagnostic(Severity.error, code, message, str(path), line, 1 if line else None, hint))


def check_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise refuse(path, "too-large", f"the file has {size} bytes; sgam reads at most {MAX_FILE_BYTES}",
                     "split the file, or check that it is the file you meant")


def check_zip(path: Path) -> None:
    """Refuse what is not a zip, or what would inflate beyond the limits."""
    check_size(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise refuse(path, "not-a-workbook", f"not an Excel workbook (.xlsx/.xlsm is a zip archive): {exc}",
                     "save the file from Excel as .xlsx, or give an IEC 62559-3 .xml file") from None
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > 1_000_000 and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise refuse(path, "zip-bomb", f"part {member.filename!r} inflates {member.compress_size} bytes to "
                         f"{member.file_size}: refused as a zip bomb", "re-save the workbook from Excel")
    if total > MAX_UNZIPPED_BYTES:
        raise refuse(path, "too-large", f"the workbook inflates to {total} bytes; sgam reads at most "
                     f"{MAX_UNZIPPED_BYTES}", "split the workbook, one use case per file")


def parse_xml(path: Path) -> etree._ElementTree:
    """Parse with no entity expansion, no DTD loading and no network; any DOCTYPE is refused.

    IEC 62559-3 files have no DTD; a DOCTYPE can only declare entities, which is how XXE and
    entity-expansion bombs work, so refusing it before parsing is both safe and simple. (Outside
    comments and CDATA, '<!DOCTYPE' cannot appear in XML text unescaped.) An encoding other than
    UTF-8 hides it from that byte search; the parsed document (entities unexpanded) still shows it.
    """
    check_size(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise refuse(path, "unreadable", f"cannot read: {exc.strerror}", "check the path and its permissions") from None
    doctype = data.find(b"<!DOCTYPE")
    if doctype >= 0:
        raise _doctype(path, data.count(b"\n", 0, doctype) + 1)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True)
    try:
        tree = etree.parse(io.BytesIO(data), parser, base_url=str(path))
    except etree.XMLSyntaxError as exc:
        raise refuse(path, "xml-syntax", f"malformed XML: {exc.msg}", "check the file is complete, well-formed "
                     "XML (an editor with XML support shows where)", exc.lineno or None) from None
    if tree.docinfo.doctype:  # one the byte search cannot see: in UTF-16, say (its entities were not expanded)
        raise _doctype(path, None)
    return tree


def _doctype(path: Path, line: int | None) -> BadInput:
    return refuse(path, "xml-doctype", "the XML declares a DOCTYPE (a DTD): refused, because DTD entities can "
                  "read local files (XXE) or expand without limit", "remove the <!DOCTYPE ...> declaration; "
                  "IEC 62559-3 files do not need one", line)
