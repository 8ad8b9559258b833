"""Adapters: the I/O behind the ports (SQLite, PostgreSQL, HTTP channel, NATS, clock, key files).

Each adapter wraps the foreign exceptions of its library in :class:`~gsomia.errors.GsomiaError`
subclasses at its boundary.  The core (``gsomia.audit``, ``gsomia.policy``, …) never imports this
package; the service layer wires adapters to it.
"""
