"""One TLS client context for every MQTT client of ours (publisher, command listener, monitor,
records service), so all of them do mutual TLS the same way.

No CA file: plaintext — unless a client certificate or key is given, which is a half TLS config
and refused with a clear error (never a silent fall-back to plaintext). A certificate needs its
key and the other way round.
"""

from __future__ import annotations

import ssl
from typing import Protocol

from controller.errors import ConfigError


class TlsSettings(Protocol):
    """What TLS needs of a settings object (read-only: frozen dataclasses qualify)."""

    @property
    def tls_ca_file(self) -> str | None: ...
    @property
    def tls_cert_file(self) -> str | None: ...
    @property
    def tls_key_file(self) -> str | None: ...


class TlsConfigError(ConfigError):
    """A TLS setting that cannot work; the message names it."""


def check(s: TlsSettings) -> None:
    """Refuse a half TLS configuration (raises ``TlsConfigError``)."""
    if (s.tls_cert_file or s.tls_key_file) and not s.tls_ca_file:
        raise TlsConfigError("a client certificate or key is set but no tls_ca_file: the "
                             "connection would not be encrypted; set tls_ca_file too")
    if bool(s.tls_cert_file) != bool(s.tls_key_file):
        raise TlsConfigError("tls_cert_file and tls_key_file go together: set both or neither")


def client_context(s: TlsSettings) -> ssl.SSLContext | None:
    """The context for ``aiomqtt.Client(tls_context=...)``: server verified against the CA,
    our certificate presented when one is configured; None for plaintext."""
    check(s)
    if not s.tls_ca_file:
        return None
    try:
        ctx = ssl.create_default_context(cafile=s.tls_ca_file)
        if s.tls_cert_file:
            ctx.load_cert_chain(s.tls_cert_file, s.tls_key_file)
    except (OSError, ssl.SSLError) as e:
        raise TlsConfigError(f"cannot load the TLS files ({s.tls_ca_file}, "
                             f"{s.tls_cert_file}, {s.tls_key_file}): {e}") from None
    return ctx
