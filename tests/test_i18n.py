"""Every user-facing string has its bokmål translation, and the compiled catalog is current.

The strings are found the way ``./run i18n`` finds them (Babel's extractor over the package,
keywords ``_``, ``ngettext``, ``N_``), so a new ``_("…")`` without a translation fails here.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from controller.core import i18n

PO = i18n.LOCALE_DIR / "nb" / "LC_MESSAGES" / "fourbyfour.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None}


def source_messages() -> dict[str, str]:
    """msgid → where it is used, for every wrapped string in the package."""
    out: dict[str, str] = {}
    root = i18n.LOCALE_DIR.parents[1]
    for fname, line, msg, _comments, _ctx in extract_from_dir(
            str(root), method_map=[("**.py", "python")], keywords=KEYWORDS):
        key = msg[0] if isinstance(msg, tuple) else msg
        out.setdefault(key, f"controller/{fname}:{line}")
    return out


def catalog():
    with PO.open("rb") as f:
        return read_po(f, locale="nb")


def fields(s: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(s) if f}


def test_every_user_facing_string_has_a_bokmal_translation():
    cat = catalog()
    missing = [f"{where}: {msgid!r}" for msgid, where in source_messages().items()
               if not (m := cat.get(msgid)) or not m.string
               or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy]
    assert missing == [], "untranslated (run ./run i18n, then translate the .po):\n" + \
        "\n".join(missing)


def test_translations_keep_their_placeholders():
    for m in catalog():
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strs = m.string if isinstance(m.string, tuple) else (m.string,)
        for k, s in enumerate(strs):
            # bokmål's form 0 is n == 1 only: it keeps the singular's fields (which may
            # leave the number out: «6-minutters pulstesten»), the other forms the plural's
            source = ids[min(k, len(ids) - 1)]
            assert fields(s) == fields(source), (m.id, s)
            assert not re.search(r"\[[a-z]+\]", s) or "[" in source, (m.id, s)


def test_the_compiled_catalog_is_current():
    buf = io.BytesIO()
    write_mo(buf, catalog())
    built = gettext.GNUTranslations(io.BytesIO(buf.getvalue()))
    shipped = gettext.GNUTranslations(MO.open("rb"))
    assert built._catalog == shipped._catalog, "run ./run i18n to compile the catalog"


def test_language_switch_and_norwegian_forms():
    try:
        i18n.set_language("nb")
        assert i18n._("y: yes / n: no") == "j: ja / n: nei"
        assert i18n.format_number(1234.5) == "1\u00a0234,5"
        assert i18n.format_date(dt.date(2026, 11, 27)) == "27.11.2026"
        i18n.set_language("en")
        assert i18n._("y: yes / n: no") == "y: yes / n: no"
        assert i18n.format_number(1234.5) == "1,234.5"
    finally:
        i18n.set_language("en")
    with pytest.raises(ValueError, match="language must be one of nb, en"):
        i18n.set_language("sv")


def test_every_event_the_session_raises_has_words_in_the_ui():
    """A new event kind in the core must get its sentence in ``controller.app.texts``."""
    from controller import protocol
    from controller.app.texts import EVENTS

    source = Path(protocol.__file__).read_text()
    kinds = set(re.findall(r'emit\(\s*"([a-z_]+)"', source)) | \
        set(re.findall(r'_command\(\s*"([a-z_]+)"', source))
    assert {"phase", "hr_lost", "stop"} <= kinds  # the scan sees the session's events
    assert sorted(kinds - set(EVENTS)) == []


def test_every_alarm_the_session_can_raise_has_words():
    """`strap_missing_beats` reached the monitor and the console as its raw key: every kind the
    session emits as an alarm or a warning (protocol.py's emit calls) has its words in
    ALARMS, in both languages, so a new one cannot come back raw."""
    import ast
    import inspect

    from controller import protocol
    from controller.core import i18n as i18n_mod
    from controller.core.words import ALARMS, word

    kinds = set()
    for node in ast.walk(ast.parse(inspect.getsource(protocol))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "emit":
            first = node.args[0]
            kind = first.value if isinstance(first, ast.Constant) else \
                getattr(protocol, first.id, None) if isinstance(first, ast.Name) else None
            severity = [a.value for a in node.args[2:3] if isinstance(a, ast.Constant)] + \
                [k.value.value for k in node.keywords if k.arg == "severity"
                 and isinstance(k.value, ast.Constant)]
            if kind and severity and severity[0] in ("alarm", "warning"):
                kinds.add(kind)
    assert {"hr_lost", protocol.STRAP_ALARM} <= kinds, kinds
    assert kinds <= set(ALARMS), kinds - set(ALARMS)
    i18n_mod.set_language("nb")
    try:
        for kind in kinds:
            assert word(ALARMS, kind) != ALARMS[kind], (kind, "no bokmål")
        assert word(ALARMS, protocol.STRAP_ALARM) == \
            "usikre målinger fra pulsbeltet – fukt eller flytt det"
    finally:
        i18n_mod.set_language("en")
