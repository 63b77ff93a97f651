"""The entry of ``fourbyfour`` (the script ``./run demo`` runs) and ``python -m controller``.

Light on purpose: a Ctrl-C while Python imports the package (the first second or two) or
before a command takes the signal itself ends with one line and status 130, as an
interrupted command does, not a KeyboardInterrupt traceback (the trial). A ``spawn`` child
imports this module as its parent's main module: it imports nothing more here.
"""

import sys


def main() -> int:
    try:
        from controller.app.cli import main as cli_main

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
