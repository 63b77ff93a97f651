"""The package's exceptions and the one exit-code table of the command line.

Every error the package raises on purpose subclasses ``FourByFourError`` *and* the builtin
it means (as gpiozero's ``exc.py`` does), so a researcher catches ``ValueError`` for a bad
profile or ``FourByFourError`` for anything of ours, and the CLI maps classes to exit codes in
one place (``exit_code``) instead of once per command:

=====  ======================  ===================================================
code   name                    when
=====  ======================  ===================================================
0      ok
1      failure                 anything else (a bug, a broker that said no)
2      usage                   the command line itself (argparse)
65     EX_DATAERR              data given cannot be used (profile, plan, command)
69     EX_UNAVAILABLE          the treadmill link is down: systemd restarts the service
78     EX_CONFIG               the configuration cannot be used: the unit does not restart
141    SIGPIPE                 the reader of the output went away (``| head``)
=====  ======================  ===================================================

The classes live here when several layers raise them (``ConfigError``); the others live
beside the code that raises them and subclass one of the families below.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EX_DATAERR = 65
EX_UNAVAILABLE = 69
EX_CONFIG = 78
EXIT_BROKEN_PIPE = 141


class FourByFourError(Exception):
    """The base of every error the package raises on purpose."""


class ConfigError(FourByFourError, ValueError):
    """A configuration that cannot be used; names the file, the key and what is wrong."""


class DataError(FourByFourError, ValueError):
    """Input data that cannot be used (a profile, a plan, a signed command)."""


class Unavailable(FourByFourError, ConnectionError):
    """A device the service needs is not there or does not answer (it may come back)."""


EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (ConfigError, EX_CONFIG),
    (Unavailable, EX_UNAVAILABLE),
    (DataError, EX_DATAERR),
    (FourByFourError, EXIT_FAILURE),
)
"""Most specific first: the first family an error belongs to gives its exit code."""


def exit_code(error: BaseException | type[BaseException], default: int = EXIT_FAILURE) -> int:
    """The exit code for an error (or its class) by the table above."""
    cls = error if isinstance(error, type) else type(error)
    for family, code in EXIT_CODES:
        if issubclass(cls, family):
            return code
    return default


__all__ = [
    "EXIT_BROKEN_PIPE", "EXIT_CODES", "EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "EX_CONFIG",
    "EX_DATAERR", "EX_UNAVAILABLE", "ConfigError", "DataError", "FourByFourError",
    "Unavailable", "exit_code",
]
