"""The footer of the console's and the monitor's screens: only words from our catalog.

Textual's own widgets bring their own footer keys in English ("esc Dismiss menu" under an
open list in the patient form showed in a bokmål console). This footer shows a key only when
its description is one of our catalog's words, in the UI's language; a Textual key we have a
word for (``TEXTUAL_WORDS``) is said with ours, and any other is left out rather than shown
in English.
"""

from __future__ import annotations

from functools import cache

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from controller.core.i18n import N_, _, translations

TEXTUAL_WORDS = {"Dismiss menu": N_("close the list")}
"""Textual's own footer descriptions that staff see, in our words."""


@cache
def _catalog() -> tuple[frozenset[str], frozenset[str]]:
    """Our catalog's source texts and their bokmål translations."""
    cat = getattr(translations("nb"), "_catalog", {})
    return (frozenset(k for k in cat if isinstance(k, str) and k),
            frozenset(v for k, v in cat.items() if isinstance(k, str) and k))


def catalog_word(description: str) -> str | None:
    """``description`` as the footer says it (the UI's language), or None when it is not
    one of our words (a Textual default: not shown)."""
    if description in TEXTUAL_WORDS:
        return _(TEXTUAL_WORDS[description])
    sources, translated = _catalog()
    if description in sources:
        return _(description)
    if description in translated:
        return description  # said in bokmål already (translated where the binding is made)
    return None


class CatalogFooter(Footer):
    """A compact footer of the keys that work here, each said in our words."""

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        shown: dict[str, tuple[str, str, str, bool]] = {}
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in shown:
                continue
            said = catalog_word(binding.description)
            if said:
                shown[binding.action] = (binding.key, self.app.get_key_display(binding),
                                         said, enabled)
        self.styles.grid_size_columns = len(shown)
        for action, (key, display, said, enabled) in shown.items():
            yield FooterKey(key, display, said, action, disabled=not enabled,
                            tooltip=said).data_bind(compact=Footer.compact)
