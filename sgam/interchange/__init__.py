"""Interchange with other use-case tools: the IEC 62559-2 Excel template and IEC 62559-3 XML.

Reading goes parse -> analyse -> build, each stage a plain object: `xlsx_read` and `xml_read`
turn a file into `draft.Draft`s (the source's text, located, nothing interpreted); `build` turns a
draft into a validated `UseCase` and a `Summary` of what was mapped, kept verbatim or missing.
Writing goes the other way in `xml_write` (and `xlsx_write`). `guard` holds the limits that keep
hostile files (XML entities, zip bombs, oversized sheets) out.
"""
