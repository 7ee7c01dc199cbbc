"""Text on its way to a terminal: escaped, and never on stdout by accident.

- :func:`printable` escapes every character a terminal would act on instead of showing (C0/C1
  control characters such as ESC, CR and BEL, line and paragraph separators, bidirectional
  overrides and zero-width format characters, lone surrogates) as ``\\xNN`` / ``\\uNNNN``, so a
  file name, zip member name or YAML key chosen by someone else cannot move the cursor, clear the
  screen, reorder the line or hide text in a message.
- :func:`note` writes one line to stderr, and nothing at all when stderr is closed: Python then
  sets ``sys.stderr`` to None, and ``print(..., file=None)`` would write to *stdout*, inside the
  JSON a command prints there.
"""

from __future__ import annotations

import sys
import unicodedata

_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"})


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: object) -> str:
    """``text`` with every control, format, separator, unassigned or surrogate character escaped;
    a backslash is kept as it is (paths on Windows). Ordinary text is returned unchanged."""
    s = str(text)
    if s.isprintable() and s.isascii():
        return s
    return "".join(_escape(ch) if unicodedata.category(ch) in _ESCAPED_CATEGORIES else ch for ch in s)


def note(message: str) -> None:
    """One line to stderr (escaped); dropped when stderr is closed, never written to stdout."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        line = printable(message).encode(encoding, "backslashreplace").decode(encoding, "replace")
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):  # a closed or broken stderr: the note is lost, the command goes on
        pass


__all__ = ["note", "printable"]
