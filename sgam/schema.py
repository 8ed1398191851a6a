"""JSON Schemas of the file formats, generated from the pydantic models (never written by hand)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from sgam.catalog import CatalogFile
from sgam.files import SCHEMAS
from sgam.models import Library, UseCase

MODELS: dict[str, type[BaseModel]] = {"usecase": UseCase, "library": Library, "catalog": CatalogFile}


def json_schema(kind: str) -> dict[str, Any]:
    schema = MODELS[kind].model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://sgam.invalid/schemas/{kind}.schema.json",
        **schema,
    }


def schema_text(kind: str) -> str:
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"


# The committed copies that editors read through each example's `$schema` line.
SCHEMA_FILES = {kind: SCHEMAS / f"{kind}.schema.json" for kind in MODELS}
