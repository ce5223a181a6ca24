"""The typed-config base: strict pydantic models, and errors that name the field and the value.

Each package owns its section of a channel's config (``streaming.config``,
``scripts_gen.config``, ``products.show``); ``livehost.app.config``
assembles them (and reads the files, once, at the edge).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(Exception):
    pass


class Strict(BaseModel):
    """Unknown keys are errors; a config never changes once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: pydantic's wording for common errors, in ours
_PLAIN = {"list_type": "expected a list", "dict_type": "expected a mapping", "bool_parsing": "expected true or false",
          "bool_type": "expected true or false", "model_type": "expected a mapping"}


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("channels", 0, "id")`` -> ``channels[0].id``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def describe_errors(e: ValidationError) -> list[str]:
    """``field = value: reason`` for every error in ``e``."""
    lines = []
    for err in e.errors():
        msg = _PLAIN.get(err["type"]) or err["msg"].removeprefix("Value error, ")
        lines.append(f"{field_path(err['loc'])} = {err.get('input')!r}: {msg}")
    return lines


def describe(e: ValidationError, what: str) -> str:
    """``invalid <what>:`` and a ``field = value: reason`` line for every error in ``e``."""
    return f"invalid {what}:\n  " + "\n  ".join(describe_errors(e))


def merge(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Apply ``{"output.url": ...}`` style overrides onto nested ``data`` (``None`` values are skipped)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"config: {part!r} must be a mapping")
        node[leaf] = value
    return out


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"output": {"url": x}}`` -> ``{"output.url": x}`` (the form :func:`merge` takes)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
