"""Issue 21, the third bokmål trial: P-23 was in the register with age 45; a nurse chose P-23
(``--pasient P-23``, then ``n``), the form showed the age empty, and saving erased it from the
register («P-23  —» in ``pasienter``). A field the console leaves empty comes from *this*
patient's register profile (``setup_from``'s rule) — the age too — so nothing about a
patient changes unless staff chose it."""

from __future__ import annotations

from controller.protocol import PatientProfile
from controller.records.register import Register
from controller.records.store import Store
from controller.service.control_socket import setup_from


def test_a_known_patients_age_is_kept_when_the_form_leaves_it_empty(tmp_path):
    store = Store(tmp_path / "s.db")
    try:
        register = Register(store)
        register.remember(PatientProfile(hr_max=176.0, max_speed_kmh=6.5, max_incline_pct=12.0,
                                         pseudonym="P-23", age_years=45))
        # the console's setup for the known patient, the age field left empty
        profile, _plan = setup_from({"profile": {"pseudonym": "P-23"}}, register)
        assert profile.age_years == 45, profile
        register.remember(profile)  # as the service does at the session's start
        rec = register.get("P-23")
        assert rec is not None and rec.age_years == 45, rec
        # a typed age is staff's choice and is kept as typed
        typed, _plan = setup_from({"profile": {"pseudonym": "P-23", "age_years": 46}},
                                  register)
        assert typed.age_years == 46, typed
    finally:
        store.close()
