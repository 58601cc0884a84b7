"""A small JSON Schema validator for the subset /api/openapi.json uses (tests only).

It refuses keywords it does not implement, so the description cannot silently use a rule that
is never checked.
"""

from __future__ import annotations

CHECKED = {"$ref", "type", "enum", "properties", "required", "additionalProperties", "items",
           "minimum", "maximum", "minLength", "maxLength", "oneOf"}
ANNOTATIONS = {"description", "title", "format", "example"}

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


def resolve(ref: str, root: dict) -> dict:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref are supported, not {ref!r}")
    node = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def errors(value, schema: dict, root: dict, path: str = "$") -> list[str]:
    """Every way `value` breaks `schema` (empty when it is valid)."""
    unknown = set(schema) - CHECKED - ANNOTATIONS
    if unknown:
        raise ValueError(f"schema at {path} uses unchecked keywords {sorted(unknown)}")
    if "$ref" in schema:
        return errors(value, resolve(schema["$ref"], root), root, path)
    found = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            return [f"{path}: {value!r:.60} is not of type {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if "oneOf" in schema:
        matches = [s for s in schema["oneOf"] if not errors(value, s, root, path)]
        if len(matches) != 1:
            found.append(f"{path}: matches {len(matches)} of the oneOf schemas, not 1")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{path}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            found.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{path}: longer than {schema['maxLength']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{path}: missing required {name!r}")
        for name, item in value.items():
            if name in properties:
                found += errors(item, properties[name], root, f"{path}.{name}")
            elif schema.get("additionalProperties", True) is False:
                found.append(f"{path}: unexpected property {name!r}")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += errors(item, schema["additionalProperties"], root, f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += errors(item, schema["items"], root, f"{path}[{i}]")
    return found


def check_schema_keywords(schema, root: dict, path: str = "$") -> None:
    """Raise if any schema in the tree uses a keyword this validator does not check."""
    if isinstance(schema, dict):
        unknown = set(schema) - CHECKED - ANNOTATIONS
        if unknown:
            raise ValueError(f"schema at {path} uses unchecked keywords {sorted(unknown)}")
        for name, sub in schema.get("properties", {}).items():
            check_schema_keywords(sub, root, f"{path}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                check_schema_keywords(schema[key], root, f"{path}.{key}")
        for i, sub in enumerate(schema.get("oneOf", [])):
            check_schema_keywords(sub, root, f"{path}.oneOf[{i}]")
