"""Live missile-warning tracks at one node, as the dashboard uses them (PRODUCT.md §5).

The hub and the lens moved to :mod:`gsomia.streaming` (issue 5: the node process owns the hub,
the dashboard is one of its subscribers beside the CoT clients).  This module keeps the names the
dashboard's pages use: :class:`TrackBuffer` is the node's :class:`~gsomia.streaming.TrackHub`
(``publish``, ``subscribe`` with its backlog, ``snapshot``, ``subscribers``), :class:`TrackLens`
decides what one official may see (Art. 7), :func:`marking_view` shows a marking.
"""

from __future__ import annotations

from gsomia.streaming.hub import QUEUE_LIMIT, RING_SIZE, Subscription, TrackHub
from gsomia.streaming.lens import TrackLens, marking_view

__all__ = [
    "QUEUE_LIMIT",
    "RING_SIZE",
    "Subscription",
    "TrackBuffer",
    "TrackLens",
    "marking_view",
]

TrackBuffer = TrackHub
"""The node's track hub, under the dashboard's first name for it."""
