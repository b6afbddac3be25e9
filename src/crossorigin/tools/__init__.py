"""Command-line tools built on the core: ``check`` (diagnose a live URL), ``demo``."""
