"""Closed-loop 4x4 training: session core, control law, virtual patient."""

import sys as _sys

if _sys.argv[0].rsplit("/", 1)[-1] == "fourbyfour" or _sys.orig_argv[1:3] == ["-m",
                                                                            "controller"]:
    # the command line's process (the script ``fourbyfour``, ``python -m controller``): from
    # this first line of ours a Ctrl-C is noted, not raised mid-import; with the built-in
    # ``_signal`` (nothing more to read from disk first); core/sigint.py adopts what it noted
    import _signal  # type: ignore[import-not-found]

    def _early_ctrl_c(signum: int, frame: object) -> None:
        _early_ctrl_c.noted.append(signum)  # type: ignore[attr-defined]

    _early_ctrl_c.noted = []  # type: ignore[attr-defined]
    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        _signal.signal(_signal.SIGINT, _early_ctrl_c)
