"""Issue 21, the bokmål new-nurse trial: the command line's words (a subprocess on a live
store, as staff run it)."""

from tests.test_cli_words import _cli


def test_the_sessions_column_says_intervals_in_the_zone_in_staffs_words(tmp_path):
    """Trial (28): the sessions list's column "Intervaller ok" is not how staff speak: it
    counts the intervals that reached the zone and stayed there, "Intervaller i sonen"."""
    db = str(tmp_path / "r.db")
    _cli("demo", "--fast", "--lang", "nb", "--store", db, "--patient", "P-17")
    out = _cli("sessions", "--store", db, "P-17", "--lang", "nb").stdout
    assert "Intervaller i sonen" in out and " ok" not in out.lower(), out
    english = _cli("sessions", "--store", db, "P-17", "--lang", "en").stdout
    assert "Intervals in zone" in english, english
