#!/usr/bin/env python3
"""Writes the committed OpenAPI document as openapi-python-client can read it.

    generator_document.py openapi/openapi.json OUT.json

poem-openapi writes a request field whose type is an enum with a default as
`{"default": d, "allOf": [{"$ref": enum}, {"default": d}]}`. openapi-python-client cannot
take `allOf` of a non-object ("Cannot take allOf a non-object") and drops the whole schema,
and with it `POST /api/v1/todos` and `POST /api/v1/expenses`. The second `allOf` member
only repeats the default already beside it, so it is removed; nothing else changes.
Standard library only."""

import json
import sys


def restated_default(member: dict) -> bool:
    return set(member) == {"default"}


def simplify(node, schemas: dict) -> None:
    if isinstance(node, dict):
        members = node.get("allOf")
        if isinstance(members, list) and any(is_enum_ref(m, schemas) for m in members):
            node["allOf"] = [m for m in members if not restated_default(m)]
        for value in node.values():
            simplify(value, schemas)
    elif isinstance(node, list):
        for value in node:
            simplify(value, schemas)


def is_enum_ref(member, schemas: dict) -> bool:
    ref = member.get("$ref", "") if isinstance(member, dict) else ""
    return ref.startswith("#/components/schemas/") and "enum" in schemas.get(ref.rsplit("/", 1)[1], {})


def main() -> int:
    if len(sys.argv) != 3:
        sys.exit("usage: " + __doc__.splitlines()[2].strip())
    with open(sys.argv[1]) as source:
        document = json.load(source)
    simplify(document, document["components"]["schemas"])
    with open(sys.argv[2], "w") as out:
        json.dump(document, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
