"""Real-time missile warning at a serving node: the track hub, who may see what, CoT over TCP/TLS.

The I/O half of issue 5 over the pure :mod:`gsomia.tracks` (PRODUCT.md §5):

- :mod:`~gsomia.streaming.hub`: :class:`TrackHub`, the node's one hub: per-track order, the
  current picture for late joiners, fan-out to sinks on their event loops with each output form
  encoded once per message.
- :mod:`~gsomia.streaming.lens`: :class:`TrackLens`, the decision at every egress (reader role,
  Releasable To, :func:`gsomia.policy.accept` for partners' tracks, Art. 7
  :func:`gsomia.policy.access`), cached per (subscriber, label).
- :mod:`~gsomia.streaming.ingest`: :class:`TrackIngest`, the checks before the hub (a
  ``sensor_feed`` official of this node, our originator, current, in order) and refusals counted
  and audited in batches.
- :mod:`~gsomia.streaming.cot_server`: :class:`CotServer`, TAK protocol 0 over TCP and TLS with
  client certificates mapped to officials; :mod:`~gsomia.streaming.settings`, the ``[cot]``
  section of ``node.toml``.
- :mod:`~gsomia.streaming.link` (with :mod:`~.link_wire`, :mod:`~.link_policy`,
  :mod:`~.link_settings`): partner track links (ADR 0012): a signed X25519 handshake with the
  node keys, AES-256-GCM frames, :func:`gsomia.policy.release` per partner at every egress,
  :func:`gsomia.policy.accept` (and :func:`gsomia.policy.relay` at a TISA hub) at every ingest.
- :mod:`~gsomia.streaming.sequenced`: the node's track sequencer across its workers (JetStream,
  ADR 0013) in front of the hub.

Above :mod:`gsomia.node`, below the faces (API, dashboard) and the runtime, which owns the hub
and runs the CoT server on a thread of its own (:mod:`gsomia.runtime.tracks_host`).  It never
reaches an adapter, a fake, the catalog or a face (import-linter contracts).
"""

from gsomia.streaming.hub import Delivery, Sink, Subscription, TrackHub
from gsomia.streaming.ingest import TrackIngest
from gsomia.streaming.lens import TrackLens

__all__ = ["Delivery", "Sink", "Subscription", "TrackHub", "TrackIngest", "TrackLens"]
