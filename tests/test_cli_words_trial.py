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


def test_the_headless_summary_says_amounts_of_time_as_min_and_s(tmp_path):
    """Trial (16, 11): the demo's table said "62 s" to the zone and its note "120 s ... 60 s"
    where the console and the belt screen say "1 min 2 s" and "1 min": an amount of time
    told after the fact is "x min y s" everywhere."""
    import re

    out = _cli("demo", "--fast", "--lang", "nb", "--store", str(tmp_path / "s.db")).stdout
    lines = out.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.strip().startswith("intervall "))
    rows = lines[head + 1:head + 5]
    ttz = [re.split(r"\s{2,}", r.strip())[1] for r in rows]
    assert all(re.fullmatch(r"(\d+ min( \d+ s)?|[1-5]?\d s|ikke nådd)", t)
               for t in ttz), ttz
    note = lines[head + 5]
    assert "120 s" not in note and "60 s" not in note, note
    assert "2 min i intervall 1, 1 min senere" in note, note
