"""The entry of ``fourbyfour`` (the script ``./run demo`` runs) and ``python -m controller``.

Light on purpose: a Ctrl-C while Python imports the package (the first second or two) or
before a command takes the signal itself ends with one line and status 130, as an
interrupted command does, not a KeyboardInterrupt traceback (the trial). A ``spawn`` child
imports this module as its parent's main module: it imports nothing more here than
``core.sigint`` (small; a child ignores Ctrl-C anyway).
"""

import sys

from controller.core.sigint import ctrl_c_noted, hand_over_ctrl_c, note_ctrl_c

note_ctrl_c()  # (``controller``'s ``__init__`` did already for ``fourbyfour``, ``-m controller``)


def main() -> int:
    """The commands' imports run with Ctrl-C only noted (``core.sigint``: a KeyboardInterrupt
    raised mid-import was a traceback, or swallowed by the import system and the demo ran
    on); every command but the demo gets Python's own Ctrl-C back before it starts, the demo
    decides per mode (its headless run hands it to its controlled stop)."""
    try:
        from controller.app.cli import main as cli_main

        if ctrl_c_noted():
            raise KeyboardInterrupt
        if sys.argv[1:2] != ["demo"]:  # the command is the first argument (cli.build_parser)
            hand_over_ctrl_c()
        return cli_main()
    except KeyboardInterrupt:
        return _interrupted()


def _interrupted() -> int:
    """The demo's own line in the command line's language; a second Ctrl-C while saying it
    changes nothing. Nothing has moved the belt before a command takes Ctrl-C itself."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from controller.app.cli_words import help_language
    from controller.core import i18n

    i18n.set_language(help_language(sys.argv[1:]))
    print(i18n._("Interrupted: the belt is stopped."), flush=True)
    return 130


if __name__ == "__main__":  # not when a worker process (multiprocessing spawn) imports it
    raise SystemExit(main())
