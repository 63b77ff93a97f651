"""``fourbyfour report``: a printable report (PNG or PDF) of one session: ``--session ID``,
or the patient's latest session by their pseudonym (``rapport P-23``, as ``økter P-23``
takes it; issue 23)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from controller.app.commands.records import on_store
from controller.core.i18n import _

if TYPE_CHECKING:
    from controller.records.store import SessionRecord, Store


def report(args: argparse.Namespace) -> int:
    """Draw one session's report to ``--out``: the session given, or the patient's latest
    (said which, by day and clock as ``økter`` lists it)."""
    from controller.records import report as reports

    def work(store: Store) -> None:
        session = args.session if args.session is not None else \
            _latest(store, args.pseudonym).id
        if args.session is not None and args.pseudonym is not None:
            _of_patient(store, args.session, args.pseudonym)
        reports.render_session(store, session, args.out)

    return on_store(args, work)


def _latest(store: Store, pseudonym: str) -> SessionRecord:
    """The patient's latest session, said on stdout; StoreError for an unknown patient or
    one without sessions."""
    from controller.core.dates import local_datetime
    from controller.core.i18n import format_date
    from controller.core.pseudonym import check_pseudonym
    from controller.core.words import PLANS, word
    from controller.records.register import no_sessions_error

    check_pseudonym(pseudonym)
    recs = store.sessions(pseudonym)
    if not recs:
        raise no_sessions_error(store, pseudonym)
    last = recs[-1]
    when = local_datetime(last.started_unix_s)
    print(_("The latest session of {pseudonym}: {day} at {clock} ({plan}, session {id}).")
          .format(pseudonym=pseudonym, day=format_date(when.date()),
                  clock=when.strftime("%H:%M"), plan=word(PLANS, last.plan_name), id=last.id))
    return last


def _of_patient(store: Store, session_id: str, pseudonym: str) -> None:
    """Both given: the session must be that patient's (ValueError, said, otherwise)."""
    if session_id not in {r.id for r in store.sessions(pseudonym)}:
        raise ValueError(_("session {id} is not one of {pseudonym}'s sessions (see "
                           "sessions {pseudonym})").format(id=session_id, pseudonym=pseudonym))
