"""The strap staff chose: checked, keyed and labelled the same way everywhere."""

from __future__ import annotations

from typing import Any

from controller.core.refusals import Refusal
from controller.hr.ant import ant_extended_id

# -- the strap staff chose ---------------------------------------------------------------

StrapChoice = dict[str, Any]
"""``{"kind": "ant", "device_number": 12345}`` or ``{"kind": "ble", "address": "AA:…"}``."""


def check_strap(strap: object) -> StrapChoice:
    """A strap staff chose (or a profile remembered); a ValueError (``Refusal``: a code the
    console renders in its language) says what is wrong."""
    if not isinstance(strap, dict):
        raise Refusal("strap_not_object")
    kind = strap.get("kind")
    if kind == "ant":
        n = strap.get("device_number")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 0xFFFF:
            raise Refusal("strap_ant_number")
        tt = strap.get("transmission_type", 0)
        if isinstance(tt, bool) or not isinstance(tt, int) or not 0 <= tt <= 0xFF:
            raise Refusal("strap_ant_type")
        out: StrapChoice = {"kind": "ant", "device_number": n}
        if tt:
            out["transmission_type"] = tt  # pinned on the full id (issue 22)
        return out
    if kind == "ble":
        addr = strap.get("address")
        if not isinstance(addr, str) or not 1 <= len(addr) <= 64:
            raise Refusal("strap_ble_address")
        return {"kind": "ble", "address": addr}
    raise Refusal("strap_kind", kind=repr(kind))


def strap_key(strap: StrapChoice) -> int | str:
    """What names a strap on the site: its 20-bit ANT+ id (the device number when the
    transmission type is not known) or its BLE address."""
    if strap["kind"] == "ant":
        return ant_extended_id(strap["device_number"], strap.get("transmission_type", 0))
    return str(strap["address"]).upper()


def strap_label(strap: StrapChoice) -> str:
    return f"#{strap_key(strap)}" if strap["kind"] == "ant" else str(strap["address"])


