"""Issue 21, trial 9: `h` with no patient chosen said «historikk avvist: Ingen pasient valgt:
velg pasienten først (n).», the console's general refusal form around a sentence that says
what to do. A refusal that says what to do first is said alone, for every key that meets it.
Through Textual's Pilot against the demo's real service, in bokmål."""

from controller.core import i18n
from tests.console_rig import demo_console, realtime, run_console, wait_for


@realtime
def test_no_patient_chosen_is_said_as_one_sentence_at_every_key(tmp_path):
    from controller.app.texts import reply_text

    async def main() -> dict[str, str]:
        said = {}
        async with demo_console(tmp_path, str(tmp_path / "s.db"), choose_patient=True) as (
                app, pilot):
            for key in ("h", "s", "w"):
                app.message = ""
                await pilot.press(key)
                await wait_for(lambda: app.message != "", 20)
                said[key] = app.message
        return said

    said = run_console(main(), 120, "nb")
    i18n.set_language("nb")
    try:
        sentence = reply_text({"ok": False, "code": "no_patient", "params": {}})
        none_yet = reply_text({"ok": False, "code": "no_recorded_session", "params": {}})
    finally:
        i18n.set_language("en")
    assert sentence == "Ingen pasient valgt: velg pasienten først (n).", sentence
    for key, message in said.items():
        assert "avvist" not in message, (key, message)
        assert sentence in message or none_yet in message, (key, message)
    assert sentence in said["h"] and sentence in said["s"], said
