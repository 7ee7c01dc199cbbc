"""A bounded YAML reader for files from outside (DCASE ``.meta.yaml``): plain JSON-like data or a located error.

What PyYAML's ``safe_load`` would do and this refuses or changes, each with the 1-based line:

- aliases and anchors (``&a`` / ``*a``, also ``<<: *a`` merges) are refused before anything is
  built, so an alias bomb costs nothing (``safe_load`` would expand it into gigabytes);
- the document size, the number of nodes and the nesting depth are capped;
- duplicate keys are refused (``safe_load`` keeps the last one silently);
- ``!!set``, ``!!omap``, ``!!pairs``, ``!!binary`` and local tags (``!foo``) are refused;
  NaN and infinities are refused (they are not JSON);
- plain scalars are typed by the YAML 1.2 core schema, not PyYAML's YAML 1.1 one: only
  ``true``/``false`` are booleans (``location: NO`` and ``on: yes`` stay text), only ``null``, ``~``
  and nothing are null, and sexagesimal (``1:30:00``), ``0b``/underscored numbers and dates
  (``submitted: 2026-06-01``) stay the text that was written;
- where the caller says a position holds text (``numeric`` returns False for its path), a number
  is the text as written too (``version: 1.10`` stays ``"1.10"``, not ``1.1``);
- scalar keys that are not strings (``2026: x``, ``true: y``) become the text that was written.

The result is JSON-serialisable by construction; the composed node tree is returned too, so callers
can point at the line of any value (:func:`line_of`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

MAX_BYTES = 128 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 32

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + k for k in ("str", "int", "float", "bool", "null", "timestamp")}
_REFUSED_TAGS = {
    _TAG + "set": "!!set is not accepted; write a list",
    _TAG + "omap": "!!omap is not accepted; write a mapping",
    _TAG + "pairs": "!!pairs is not accepted; write a mapping",
    _TAG + "binary": "binary data (!!binary) is not accepted",
}
_TAB_HINT = (
    "a TAB character; YAML indents with spaces only (real meta files often carry a TAB before a "
    "comment copied from the template): replace it with spaces"
)


@dataclass
class YamlProblem(Exception):
    """Why the document was refused, and where (``line`` is 1-based, None for the whole file)."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message


Path = Sequence[str | int]

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution): (tag, pattern, first characters)
_CORE: tuple[tuple[str, str, str], ...] = (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
)
_CORE_RE = {_TAG + name: re.compile(pattern) for name, pattern, _ in _CORE}


class _BoundedLoader(yaml.SafeLoader):
    """Composes nodes only: no alias, no anchor, at most MAX_NODES nodes and MAX_DEPTH levels."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.nodes = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise YamlProblem(line, f"YAML alias *{event.anchor} is not accepted; write the value out")
        if getattr(event, "anchor", None):
            raise YamlProblem(line, f"YAML anchor &{event.anchor} is not accepted; write values out")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlProblem(line, f"more than {MAX_NODES} YAML values; a meta file is a few hundred")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise YamlProblem(line, f"nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_BoundedLoader.yaml_implicit_resolvers = {}
for _name, _pattern, _first in _CORE:
    _BoundedLoader.add_implicit_resolver(_TAG + _name, re.compile(_pattern), [*_first, *([""] * (_name == "null"))])


def load(data: bytes, numeric: Callable[[Path], bool] | None = None) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document into JSON-like data; raises :class:`YamlProblem`.

    ``numeric(path)`` (keys and list indices from the top) says whether a plain number at that
    position is a number; where it returns False the number stays the text as written. Without it
    every plain number is a number.
    """
    if len(data) > MAX_BYTES:
        raise YamlProblem(None, f"{len(data)} bytes; a meta file has at most {MAX_BYTES}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlProblem(data.count(b"\n", 0, exc.start) + 1, "not UTF-8 text") from None
    try:
        loader = _BoundedLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise YamlProblem(line, f"invalid YAML: control character {exc.character!r} is not allowed") from None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _located(exc) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return (None if node is None else _value(node, (), numeric or _always)), node


def _always(path: Path) -> bool:
    return True


def _located(exc: yaml.MarkedYAMLError) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    reason = exc.problem or str(exc)
    if "'\\t'" in reason or "\t" in reason:
        reason = _TAB_HINT
    return YamlProblem(None if mark is None else mark.line + 1, f"invalid YAML: {reason}")


def _value(node: yaml.Node, path: tuple[str | int, ...], numeric: Callable[[Path], bool]) -> Any:
    line = node.start_mark.line + 1
    if node.tag in _REFUSED_TAGS:
        raise YamlProblem(line, _REFUSED_TAGS[node.tag])
    if isinstance(node, yaml.ScalarNode):
        value = _scalar(node, line)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not numeric(path):
            return str(node.value)  # metadata text as the team wrote it ("1.10", not 1.1)
        return value
    if isinstance(node, yaml.SequenceNode) and node.tag == _TAG + "seq":
        return [_value(item, (*path, k), numeric) for k, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode) and node.tag == _TAG + "map":
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _key(key_node)
            if key in out:
                raise YamlProblem(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            out[key] = _value(value_node, (*path, key), numeric)
        return out
    raise YamlProblem(line, f"YAML tag {node.tag} is not accepted")


def _scalar(node: yaml.ScalarNode, line: int) -> Any:
    if node.tag not in _SCALAR_TAGS:
        raise YamlProblem(line, f"YAML tag {node.tag} is not accepted")
    text = str(node.value)
    if node.tag in (_TAG + "str", _TAG + "timestamp"):
        return text  # a date stays the text that was written
    core = _CORE_RE[node.tag].match(text)
    if core is None:  # an explicit tag on a value the core schema would not type so (``!!int 1_000``)
        value = yaml.SafeLoader.yaml_constructors[node.tag](_CONSTRUCTOR, node)
    elif node.tag == _TAG + "null":
        value = None
    elif node.tag == _TAG + "bool":
        value = text.lower() == "true"
    elif node.tag == _TAG + "int":
        value = int(text[2:], 8) if text.startswith("0o") else int(text[2:], 16) if text.startswith("0x") else int(text)
    elif text.lower().endswith((".inf", ".nan")):
        value = math.inf
    else:
        value = float(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise YamlProblem(line, f"{node.value!r} is not a finite number")
    return value


def _key(node: yaml.Node) -> str:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.ScalarNode):
        raise YamlProblem(line, "a mapping key must be a plain value, not a list or mapping")
    if node.tag == _TAG + "null" and node.value in ("", "~", "null", "Null", "NULL"):
        raise YamlProblem(line, "empty (null) mapping key")
    if node.tag not in _SCALAR_TAGS:
        raise YamlProblem(line, f"YAML tag {node.tag} is not accepted on a key")
    return str(node.value)


_CONSTRUCTOR = yaml.SafeLoader("")


def line_of(node: yaml.Node | None, path: list[Any]) -> int | None:
    """1-based line of the deepest node along ``path`` (keys and list indices, as jsonschema gives them)."""
    if node is None:
        return None
    for step in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == str(step)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1
