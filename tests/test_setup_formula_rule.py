"""Issue 21, left by trial 9's helpers: the patient form and the command line hold an
HRmax from an age formula to the formula's value at the patient's age (core.hrmax, one rule:
165 «Nes» at 60 is refused, the formula gives 173). The control service's ``setup`` did not:
any client of the socket could register 165 «Nes» at 60. The service refuses it too, with the
form's words, and registers nothing."""

import asyncio
import dataclasses
import json

from controller.core import i18n


def test_setup_refuses_an_hrmax_that_is_not_its_formulas_value(tmp_path):
    from controller.app.texts import reply_text
    from controller.records.register import Register
    from controller.records.store import Store
    from controller.service.config import load
    from controller.service.control_socket import ControlServer
    from controller.service.service import next_runtime

    store = Store(tmp_path / "s.db")
    demo = load(None)
    cfg = dataclasses.replace(demo, heart_rate=dataclasses.replace(demo.heart_rate,
                                                                   source="ant"))
    rt = next_runtime(cfg, tm=None, pub=None, store=store, site_straps=None)
    server = ControlServer(rt, str(tmp_path / "c.sock"))

    async def cmd(**kw):
        return await server._command(json.dumps(kw).encode())

    async def main():
        wrong = await cmd(cmd="setup", profile={"pseudonym": "P-30", "hr_max": 165,
                                                 "hr_max_source": "nes", "age_years": 60})
        right = await cmd(cmd="setup", profile={"pseudonym": "P-31", "hr_max": 173,
                                                 "hr_max_source": "nes", "age_years": 60})
        measured = await cmd(cmd="setup", profile={"pseudonym": "P-32", "hr_max": 165,
                                                    "hr_max_source": "measured",
                                                    "age_years": 60})
        return wrong, right, measured

    wrong, right, measured = asyncio.run(main())
    assert not wrong["ok"] and wrong["code"] == "hrmax_formula_conflict", wrong
    assert right["ok"] and measured["ok"], (right, measured)
    assert Register(store).get("P-30") is None  # nothing registered
    i18n.set_language("nb")
    try:
        said = reply_text(wrong)
    finally:
        i18n.set_language("en")
    assert said == "makspuls 165 slag/min er ikke aldersformelens 173: skriv 173, eller velg " \
        "en annen kilde", said  # the form's words
