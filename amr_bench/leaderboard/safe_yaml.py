"""A bounded YAML reader for files from outside (DCASE ``.meta.yaml``): plain JSON-like data or a located error.

What PyYAML's ``safe_load`` would do and this refuses or changes, each with the 1-based line:

- aliases and anchors (``&a`` / ``*a``, also ``<<: *a`` merges) are refused before anything is
  built, so an alias bomb costs nothing (``safe_load`` would expand it into gigabytes);
- the document size, the number of nodes and the nesting depth are capped;
- duplicate keys are refused (``safe_load`` keeps the last one silently);
- ``!!set``, ``!!omap``, ``!!pairs``, ``!!binary`` and local tags (``!foo``) are refused;
  NaN and infinities are refused (they are not JSON);
- dates and times (``submitted: 2026-06-01``) stay the text that was written;
- scalar keys that are not strings (``2026: x``, ``true: y``) become the text that was written.

The result is JSON-serialisable by construction; the composed node tree is returned too, so callers
can point at the line of any value (:func:`line_of`).
"""

from __future__ import annotations

import math
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


def load(data: bytes) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document into JSON-like data; raises :class:`YamlProblem`."""
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
    return (None if node is None else _value(node)), node


def _located(exc: yaml.MarkedYAMLError) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    reason = exc.problem or str(exc)
    if "'\\t'" in reason or "\t" in reason:
        reason = _TAB_HINT
    return YamlProblem(None if mark is None else mark.line + 1, f"invalid YAML: {reason}")


def _value(node: yaml.Node) -> Any:
    line = node.start_mark.line + 1
    if node.tag in _REFUSED_TAGS:
        raise YamlProblem(line, _REFUSED_TAGS[node.tag])
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, line)
    if isinstance(node, yaml.SequenceNode) and node.tag == _TAG + "seq":
        return [_value(item) for item in node.value]
    if isinstance(node, yaml.MappingNode) and node.tag == _TAG + "map":
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _key(key_node)
            if key in out:
                raise YamlProblem(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            out[key] = _value(value_node)
        return out
    raise YamlProblem(line, f"YAML tag {node.tag} is not accepted")


def _scalar(node: yaml.ScalarNode, line: int) -> Any:
    if node.tag not in _SCALAR_TAGS:
        raise YamlProblem(line, f"YAML tag {node.tag} is not accepted")
    if node.tag in (_TAG + "str", _TAG + "timestamp"):
        return str(node.value)  # a date stays the text that was written
    value = yaml.SafeLoader.yaml_constructors[node.tag](_CONSTRUCTOR, node)
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
