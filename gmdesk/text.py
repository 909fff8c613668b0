"""Text from files is data: what it may contain is shown, never obeyed.

A reviewer name, infant id or comment read from a case file can hold terminal escape sequences (which recolour,
retitle or rewrite a terminal), bidirectional overrides (which make ``txt.exe`` read ``exe.txt``) or any length.
:func:`escape_controls` makes such characters visible as escapes; :func:`shorten` cuts a field for display with
"…" (display only: storing a field over its limit is refused where it is stored, never cut silently).
"""

from __future__ import annotations

import unicodedata

#: Bidirectional controls (embeddings, overrides, isolates, marks): Unicode category Cf, listed for clarity.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(ch: str) -> str:
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def escape_controls(text: object, keep: str = "\n\t") -> str:
    """``text`` with control, format (bidirectional overrides, zero-width characters) and unassigned/surrogate
    characters written as escapes (``\\x1b``, ``\\u202e``); the characters in ``keep`` stay as they are."""
    s = str(text)
    if s.isprintable() and not (BIDI_CONTROLS & set(s)):
        return s
    out = []
    for ch in s:
        if ch in keep:
            out.append(ch)
        elif ch in BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


def shorten(text: object, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with "…" when it was cut."""
    s = str(text)
    return s if len(s) <= limit else s[: max(0, limit - 1)] + "…"
