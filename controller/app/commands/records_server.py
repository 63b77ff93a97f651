"""``fourbyfour records-server``: the clinic's records service."""

from __future__ import annotations

import argparse
import sys

from controller.core.i18n import _
from controller.errors import exit_code


def records_server(args: argparse.Namespace) -> int:
    """The clinic's records service: finished sessions in, profiles out."""
    import asyncio
    import logging

    from controller.net.tls import TlsConfigError
    from controller.records.clinic_db import open_clinic_db
    from controller.records.store import StoreError
    from controller.service.config import ConfigError, load
    from controller.service.journal import setup_logging
    from controller.service.records_server import RecordsServer
    from controller.service.shutdown import stop_on_sigterm

    setup_logging(logging.INFO)
    try:
        cfg = load(args.config)
        db = open_clinic_db(args.db or cfg.records_db)
    except (ConfigError, StoreError) as e:
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return exit_code(e, default=2)

    async def serve() -> None:
        stop_on_sigterm()
        await RecordsServer(cfg.mqtt, db).run()

    try:
        asyncio.run(serve())
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0
    except TlsConfigError as e:
        print(_("error: {reason}").format(reason=e), file=sys.stderr)
        return exit_code(e)
    finally:
        db.close()
    return 0
