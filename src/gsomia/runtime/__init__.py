"""Running a national node: its data directory, setting it up, serving it, and the demo.

The composition root (STYLE.md: faces → node → core + ports ← adapters): the only package that
wires adapters (SQLite store, HTTP channel, key files, system clock) to the node service and the
REST API.  Modules: :mod:`.config` (``DATA/node.toml``), :mod:`.setup` (``node init``,
``node peer add``), :mod:`.host` (``node serve``: :class:`~.host.NodeHost`).
"""
