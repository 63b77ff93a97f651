"""One module per command of ``fourbyfour`` (``controller.app.cli`` builds the parser and
dispatches to them)."""
