"""Names people choose (team, system, benchmark, dataset): one rule, checked everywhere.

A name ends up in file names, URLs, HTML pages, CSV cells and the result store, so it must be
printable text: not empty, no surrounding spaces, no ``/`` or ``\\``, not ``.`` or ``..``, no
control characters (line breaks, tabs, escape sequences, zero-width format characters), valid
UTF-8 (no lone surrogates) and at most :data:`MAX_NAME_LENGTH` characters.

Invisible format characters (category Cf) are refused, not stripped: right-to-left and
left-to-right overrides and isolates (U+202A-U+202E, U+2066-U+2069) would reorder how a name reads
on a page or in a terminal (``Team\u202eevil`` shows as ``Teamlive``), and zero-width spaces and
joiners (U+200B-U+200D, U+2060, U+FEFF) make two names that look the same compare different.

A name is compared in Unicode normal form C: :func:`check_name` returns ``unicodedata.normalize
("NFC", value)``, so ``Café`` typed with a precomposed ``é`` and with ``e`` plus a combining accent
is one name, not two.
"""

from __future__ import annotations

import unicodedata

from amr_bench.errors import UsageError

MAX_NAME_LENGTH = 100
_REFUSED_CATEGORIES = {"Cc": "a control character", "Cf": "an invisible format character", "Cs": "a lone surrogate"}
_REFUSED_SEPARATORS = {"Zl": "a line separator", "Zp": "a paragraph separator"}


def nfc(value: str) -> str:
    """``value`` in Unicode normal form C (the form every name is compared and stored in)."""
    try:
        return unicodedata.normalize("NFC", value)
    except UnicodeError:  # a lone surrogate: left as it is, name_problem refuses it
        return value


def describe_refused(ch: str) -> str | None:
    """What ``ch`` is when a name may not contain it (a control, format or separator character)."""
    category = unicodedata.category(ch)
    if category == "Cf":
        code = ord(ch)
        if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069 or code in (0x200E, 0x200F, 0x061C):
            return "a right-to-left/left-to-right control character"
        if code in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF):
            return "a zero-width character"
    return _REFUSED_CATEGORIES.get(category) or _REFUSED_SEPARATORS.get(category)


def name_problem(value: object) -> str | None:
    """Why ``value`` is not an acceptable name, or None when it is."""
    if not isinstance(value, str):
        return f"expected text, got {type(value).__name__}"
    if not value.strip():
        return "it is empty"
    if value != value.strip():
        return "it starts or ends with white space"
    if len(value) > MAX_NAME_LENGTH:
        return f"it is {len(value)} characters long (at most {MAX_NAME_LENGTH})"
    if value in (".", ".."):
        return f"{value!r} is not a name"
    for i, ch in enumerate(value):
        if ch in "/\\":
            return f"it contains {ch!r} (character {i + 1}); names cannot contain path separators"
        what = describe_refused(ch)
        if what:
            return f"it contains {what} (U+{ord(ch):04X}, character {i + 1})"
    return None


def check_name(value: str, what: str = "name") -> str:
    """Return ``value`` in normal form C if it is an acceptable name, else raise ``UsageError``
    saying why (``what`` names the option or field, e.g. ``--team``)."""
    problem = name_problem(value)
    if problem is not None:
        raise UsageError(f"{what} {value!a} is not accepted: {problem}")
    return nfc(value)


def check_benchmark_name(value: str, what: str = "benchmark name") -> str:
    """A benchmark is named like a split, ``NAME`` or ``DATASET/SPLIT``: one or two names joined
    by a single ``/``, each following :func:`check_name`."""
    parts = value.split("/") if isinstance(value, str) else [value]
    if len(parts) > 2:
        raise UsageError(f"{what} {value!a} is not accepted: at most one '/' (DATASET/SPLIT)")
    for part in parts:
        problem = name_problem(part)
        if problem is not None:
            raise UsageError(f"{what} {value!a} is not accepted: {problem}")
    return nfc(value)


__all__ = ["MAX_NAME_LENGTH", "check_benchmark_name", "check_name", "describe_refused", "name_problem", "nfc"]
