"""``fourbyfour patient``: show, create or update a patient's profile."""

from __future__ import annotations

import argparse

from controller.app.commands.patients import patient_command
from controller.app.commands.records import on_store


def patient(args: argparse.Namespace) -> int:
    """The profile as it is after the options given (the store is created if missing)."""
    import sqlite3

    from controller.records.store import StoreError

    def work(store) -> None:  # type: ignore[no-untyped-def]
        try:
            print(patient_command(store, args))
        except sqlite3.OperationalError as e:  # the service's batch held the lock
            raise StoreError(f"{args.store}: busy (the service is writing: {e}); try "
                             "again in a moment") from None

    return on_store(args, work, writes=True)
