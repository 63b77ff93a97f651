"""Issue 21: staff read words in the console that our docs' word list did not explain:
«reset» (the treadmill's own button; the footer's «Reset (demo)», the alarms page's «trykk
reset på tredemøllen») and «båndet stanset» (the header when staff paused during an active
pause). The staff's word list (docs/personale/ordliste.md, in the staff's part of the site)
says each word with a short why; the catalog uses them, so the list must say them."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_glossary import bokmal_texts

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGE = DOCS / "personale" / "ordliste.md"
WORDS = ("reset", "båndet stanset")
"""Words staff read in the console that need saying: the catalog's own words."""


def _rows() -> dict[str, str]:
    """The page's table: the word (bold, first column) → the rest of its row."""
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*\*\*(.+?)\*\*\s*\|(.+)\|\s*$", line)
        if m:
            rows[m.group(1).strip().lower()] = m.group(2)
    return rows


def test_the_staff_word_list_says_reset_and_baandet_stanset_with_why():
    assert PAGE.exists(), "no word list (ordliste) in the staff's docs"
    rows = _rows()
    texts = " ".join(bokmal_texts().values()).lower()
    for w in WORDS:
        assert w in texts, f"{w!r} is no longer in the catalog: update WORDS"
        assert w in rows, (w, sorted(rows))
        why = re.sub(r"[|*`]", " ", rows[w]).split()
        assert len(why) >= 6, (w, rows[w])  # a short why, not a bare word


def test_the_word_list_is_in_the_staff_part_of_the_site():
    nav = (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
    assert "personale/ordliste.md" in nav
    assert "(ordliste.md)" in (DOCS / "personale" / "index.md").read_text(encoding="utf-8")
