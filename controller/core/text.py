"""Text from outside (the network, an imported file) made safe to show: one function, used
wherever such text reaches a screen, a page, a PDF or a log line.

A terminal obeys escape sequences (ESC[2J clears it, ESC[42m paints green), a line break
splits a table row, a right-to-left override turns "stop" round; so every control and format
character (Unicode categories Cc and Cf) is removed, and line breaks and tabs become a space.
What is left is shown as the data it is.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"[\t\n\r\v\f\x85\u2028\u2029]+")


def has_control(text: str) -> bool:
    """True if ``text`` holds a control or format character (what ``clean`` removes)."""
    return any(unicodedata.category(c) in ("Cc", "Cf") for c in text)


def clean(value: object, max_len: int | None = None) -> str:
    """``value`` as text with no control or format character; cut to ``max_len`` with an
    ellipsis when given."""
    text = value if isinstance(value, str) else str(value)
    if not text.isascii() or not text.isprintable():
        text = _WHITESPACE.sub(" ", text)
        text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
    if max_len is not None and len(text) > max_len:
        text = text[:max(0, max_len - 1)] + "…"
    return text
