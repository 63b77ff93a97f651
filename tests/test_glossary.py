"""The bokmål words staff and patients read follow the clinic's glossary
(/work/shared/reference/glossary-nb.md): the compiled catalog holds none of the words it says
to avoid, so an alarming or clinical word ("pulsstopp", "nedtrapping") cannot come back."""

from __future__ import annotations

import gettext
import re

from controller.core import i18n

# the glossary's "avoid" column, as patterns over the bokmål text (placeholders removed)
AVOID = {
    r"pulsstopp": "HR hold reads as cardiac arrest: 'venter på puls – holder farten'",
    r"nedtrapp": "tapering medication in substance-use care: 'nedkjøling'/'rolig avslutning'",
    r"\bIngen (gyldig )?puls\b": "reads as cardiac arrest: 'finner ikke pulsen'",
    r"\bbeltet\b": "the belt is 'båndet' (the chest strap is 'pulsbeltet')",
    r"\bbpm\b": "'slag/min'",
    r"\bmegler": "'MQTT-serveren'",
    r"\butdatert": "'mistet kontakt' / 'ingen data'",
    r"^sett$": "last message: 'sist hørt'",
    r"øktjournal": "journal is the patient's medical record: 'øktdata'",
    r"\by/n\b|\by: |\btrykk y\b": "the keys are j / n",
    r"Borg-vurdering": "one term: 'Borg-skår'",
    r"\bsensor": "the chest strap is 'pulsbelte'",
    r"\bstropp": "the chest strap is 'pulsbelte'",
    r"\bhvile\b": "recovery is 'aktiv pause' (hvile sounds like stopping)",
    r"\btempo": "'fart'",
    r"\barbeid\b": "'belastning'",
    r"6-minuttstest": "'6-minutters pulstest' (not the 6-minute walk test)",
    r"\bkommunen\b": "'frisklivssentral / treningskontakt'",
    r"maks puls": "'makspuls'",
    # the team's own additions, from the bokmål trials (one word per thing)
    r"vakthund": "a literal 'watchdog': 'startet på nytt av seg selv'",
    r"styrekort": "the board in the treadmill is 'motorkortet', everywhere",
    r"journaltjeneste": "journal is the patient's medical record: 'øktdata-tjeneste'",
}
CASE_SENSITIVE = {r"\bHRmax\b": "'makspuls'"}


def bokmal_texts() -> dict[str, str]:
    """msgid → msgstr of the compiled catalog the programs load."""
    i18n.translations.cache_clear()
    nb = i18n.translations("nb")
    assert isinstance(nb, gettext.GNUTranslations)
    out = {}
    for msgid, msgstr in nb._catalog.items():  # type: ignore[attr-defined]
        if not msgid:
            continue
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        out[f"{key!r}[{msgid[1]}]" if isinstance(msgid, tuple) else key] = msgstr
    return out


def hits(text: str) -> list[str]:
    plain = re.sub(r"\{[^}]*\}", "", text)  # {bpm} is a placeholder, not a word
    found = [why for pat, why in AVOID.items() if re.search(pat, plain, re.I | re.M)]
    return found + [why for pat, why in CASE_SENSITIVE.items() if re.search(pat, plain)]


def test_the_bokmal_catalog_has_no_word_the_glossary_says_to_avoid():
    bad = [f"{msgid!r} → {text!r}: {why}" for msgid, text in bokmal_texts().items()
           for why in hits(text)]
    assert bad == [], "\n".join(bad)


def test_the_scan_finds_the_words_it_looks_for():
    """The patterns themselves: the old words are caught, the glossary's own are not."""
    for old in ("pulsstopp", "Nedtrapping 5 min", "Ingen puls", "på, beltet står", "120 bpm",
                "sett", "Ikke koblet til megleren", "Trykk y for å sende",
                "Borg-vurderingen", "6-minuttstest", "Ingen gyldig puls på 5 s"):
        assert hits(old), old
    for good in ("venter på puls – holder farten", "Nedkjøling 5 min", "pulsbeltet",
                 "Ingen pulsbelter innen rekkevidde", "Sett inn nøkkelen", "{bpm} slag/min",
                 "hvilepuls", "oppfølging hos frisklivssentral", "makspuls"):
        assert not hits(good), good
