"""The keys that work on every screen and prompt of the console: Pause, Stop and the
alarm's acknowledgement (issue 21: a Borg prompt once swallowed them while the footer showed
them); r resumes after a Pause given there. A modal screen hides the main screen's
bindings, so each prompt lists these; they run the console's own actions, which apply only
when the session allows them (otherwise the key does nothing here). Screens with a text box
do not take them while it has the focus: a note must be able to contain the letter p.
"""

from __future__ import annotations

from textual.binding import Binding

from controller.core.i18n import N_

SAFETY_KEYS = "aprx"
"""Never a prompt's own key."""
SAFETY_BINDINGS = [Binding("p", "app.pause", show=False), Binding("x", "app.stop", show=False),
                   Binding("a", "app.ack", show=False), Binding("r", "app.resume", show=False)]

TEXT_STOP_BINDING = Binding("ctrl+x", "app.stop", N_("Stop"), priority=True)
"""Stop from a screen with a text box (the note, the patient form), where x is a letter of
the text: ctrl+x, shown in the footer in x's place (the trial: the footer said "x Stopp" and
x went into the note). Priority: it is taken before the text box (whose ctrl+x would cut)."""
