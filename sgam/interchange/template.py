"""The layout of the IEC 62559-2 Excel template (sheet `IEC62559-2`), shared by reader and writer.

Rows in the template's order with their texts (column A for chapters, column B for section
headings and field labels) as the published empty template has them, and the field each label
holds. Values go from column C rightward, one column per entry where a section repeats.
"""

from __future__ import annotations

import re
from typing import NamedTuple

SHEET = "IEC62559-2"
CUSTOM_SHEET = "sgam custom information"  # section 8, which the template lacks
DATA_SHEET = "sgam data"  # SGAM placement and other sgam-only data, as JSON
SECTION = re.compile(r"^(\d(?:\.\d)?)\s+\D")  # a heading: '1.1 Name of use case', '2 Diagrams ...'
# Cell text in .xlsx escapes characters XML cannot hold as _xHHHH_ (Excel writes a carriage return
# as _x000D_), and an underscore that would start such an escape as _x005F_ (ECMA-376 ST_Xstring).
# openpyxl neither decodes nor encodes these, so the reader and the writer do.
CELL_LIMIT = 32_767  # characters an Excel cell holds ("Excel specifications and limits")
ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
LOOKS_ESCAPED = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def decode_cell_text(text: str) -> str:
    return ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def encode_cell_text(text: str) -> str:
    return LOOKS_ESCAPED.sub("_x005F_", text)


class Row(NamedTuple):
    a: str  # chapter heading in column A
    b: str  # section heading or field label in column B
    section: str  # the section the row belongs to
    field: str  # the field a label row holds; "" for headings


def _fields(section: str, *labels: tuple[str, str]) -> list[Row]:
    return [Row("", label, section, name) for label, name in labels]


LAYOUT: list[Row] = [
    Row("1 Description of the use case", "Instructions are provided as comments in the rows", "1", ""),
    Row("", "1.1 Name of use case", "1.1", ""),
    *_fields("1.1", ("Use case identification", ""), ("ID ", "id"), ("Area/ Domain(s)/ Zone(s)", "area"),
             ("Name of use case", "name")),
    Row("", "1.2 Version management", "1.2", ""),
    *_fields("1.2", ("Version No.", "number"), ("Date", "date"), ("Name of author(s)", "author"),
             ("Changes ", "changes"), ("Approval status", "status")),
    Row("", "1.3 Scope and objectives of use case", "1.3", ""),
    *_fields("1.3", ("Scope", "scope"), ("Objective(s)", "objectives"), ("Related business case(s)", "business_cases")),
    Row("", "1.4 Narrative of use case", "1.4", ""),
    *_fields("1.4", ("Short description", "short"), ("Complete description", "complete")),
    Row("", "1.5 Key performance indicators (KPI)", "1.5", ""),
    *_fields("1.5", ("ID   ", "id"), ("Name", "name"), ("Description", "description"),
             ("Reference to mentioned use case objectives", "objectives")),
    Row("", "1.6 Use case conditions", "1.6", ""),
    *_fields("1.6", ("Assumptions", "assumptions"), ("Prerequisites", "prerequisites")),
    Row("", "1.7 Further information to the use case for classification/mapping", "1.7", ""),
    *_fields("1.7", ("Relation to other use cases", "relations"), ("Level of depth", "level_of_depth"),
             ("Prioritisation", "prioritisation"), ("Generic, regional or national relation", "generic"),
             ("Nature of the use case", "nature"), ("Further keywords for classification", "keywords")),
    Row("", "1.8 General remarks", "1.8", ""),
    *_fields("1.8", ("General remarks", "remarks")),
    Row("2 Diagrams of use case", "", "2", ""),
    *_fields("2", ("Diagram name", "name"), ("Diagram type", "kind"), ("Diagram URI type", "uri_type"),
             ("Diagram URI value", "uri")),
    Row("3 Technical details", "", "3", ""),
    Row("", "3.1 Actors", "3.1", ""),
    *_fields("3.1", ("Grouping", "grouping"), ("Group description", "group_description"), ("Actor name", "name"),
             ("Actor type", "type"), ("Actor description", "description"),
             ("Further information specific to this use case", "further")),
    Row("", "3.2 References", "3.2", ""),
    *_fields("3.2", ("Name", "name"), ("No. ", "number"), ("References type", "type"), ("Reference  ", "reference"),
             ("Status", "status"), ("Impact on use case", "impact"), ("Originator/organisation", "originator"),
             ("Link", "link")),
    Row("", "", "3.2", ""),
    Row("4 Step by step analysis of use case", "4.1 Overview of scenarios", "4.1", ""),
    *_fields("4.1", ("Scenario conditions", ""), ("No. ", "number"), ("Scenario name", "name"),
             ("Scenario description", "description"), ("Primary actor", "primary_actor"),
             ("Triggering event", "triggering_event"), ("Pre-condition", "pre_condition"),
             ("Postcondition", "post_condition")),
    Row("", "4.2 Steps – Scenarios", "4.2", ""),
    *_fields("4.2", ("Scenario name:", "scenario"), ("Step No.", "number"), ("Event ", "event"),
             ("Name of process/activity", "activity"), ("Description of process/activity", "description"),
             ("Service ", "service"), ("Information producer (actor)", "producer"),
             ("Information receiver (actor)", "receiver"), ("Information exchanged (IDs)", "information"),
             ("Reference to Scenario number", "scenario_number")),
    Row("5 Information exchanged", "", "5", ""),
    *_fields("5", ("Requirement, R-Ids ", "requirements"), ("Information exchanged, ID", "id"),
             ("Name of information", "name"), ("Description of information exchanged", "description")),
]

# Other spellings found in filled workbooks, by section: label key -> field.
ALIASES: dict[str, dict[str, str]] = {
    "1.7": {"prioritization": "prioritisation"},
    "3.2": {"referencetype": "type", "originator/organization": "originator"},
    "4.1": {"precondition": "pre_condition", "post-condition": "post_condition"},
}


def label_key(text: str) -> str:
    """Labels compare without spaces, case, or a trailing ':' or '.'."""
    return re.sub(r"\s+", "", text).casefold().rstrip(":.")


def labels() -> dict[str, dict[str, str]]:
    """Per section: label key -> field ("" for headings inside a section)."""
    table: dict[str, dict[str, str]] = {}
    for row in LAYOUT:
        for heading in (row.a, row.b):
            match = SECTION.match(heading)
            if match:
                table.setdefault(match.group(1), {})
        if row.b and not SECTION.match(row.b):
            table[row.section][label_key(row.b)] = row.field
    for section, spellings in ALIASES.items():
        table[section].update(spellings)
    return table


def row_of(section: str, name: str) -> int:
    """The 1-based template row of a field."""
    return next(i for i, row in enumerate(LAYOUT, start=1) if row.section == section and row.field == name)
