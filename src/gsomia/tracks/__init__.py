"""Real-time missile warning, the pure part: tracks, Cursor on Target, a simulator (PRODUCT.md §5).

- :mod:`gsomia.tracks.model`: track messages (launch, update, impact prediction, end) as checked
  immutable values, each carrying its STANAG 4774 label; :mod:`gsomia.tracks.order`: per-track
  order (:class:`TrackCursor`, :class:`Track`).
- :mod:`gsomia.tracks.cot`: one message ↔ one CoT 2.0 event (``access`` carries the
  releasability, ``detail`` the label), decoded with defusedxml under limits.
- :mod:`gsomia.tracks.framing`: TAK protocol version 0 stream framing on ``</event>``.
- :mod:`gsomia.tracks.json_codec`: the same messages as strict JSON.
- :mod:`gsomia.tracks.simulate` (over :mod:`gsomia.tracks.ballistics`): deterministic launches
  seen by a KOR and a JPN sensor.

No I/O, no clock: ``now`` and the launch instant are arguments.
"""

from gsomia.tracks.cot import access_for, check_current, decode_event, encode_event
from gsomia.tracks.framing import CotFramer
from gsomia.tracks.model import (
    Ellipse,
    EndOfTrack,
    EndReason,
    GeoPoint,
    ImpactPrediction,
    Kind,
    Launch,
    TrackMessage,
    Update,
    Velocity,
    Weapon,
)
from gsomia.tracks.order import Track, TrackCursor

__all__ = [
    "CotFramer",
    "Ellipse",
    "EndOfTrack",
    "EndReason",
    "GeoPoint",
    "ImpactPrediction",
    "Kind",
    "Launch",
    "Track",
    "TrackCursor",
    "TrackMessage",
    "Update",
    "Velocity",
    "Weapon",
    "access_for",
    "check_current",
    "decode_event",
    "encode_event",
]
