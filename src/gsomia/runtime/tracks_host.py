"""The serving node's real-time missile warning: its track hub, ingest and CoT listeners.

:class:`TracksHost` is what :class:`~gsomia.runtime.host.NodeHost` holds for issue 5: one
:class:`~gsomia.streaming.TrackHub` for the process (the API's JSON ingest, the dashboard's live
map and every CoT client share it), the :class:`~gsomia.streaming.TrackIngest` in front of it, and,
when ``node.toml`` has ``[[cot.listen]]`` tables, a :class:`~gsomia.streaming.cot_server.CotServer`
on an event loop in a thread of its own (``gsomia-cot``), so that CoT traffic never waits on the
API's threads or the store.  Officials are read from the node's store (the directory, Art. 7);
refusals are audited through the node (batched: :mod:`gsomia.streaming.ingest`).

When the node's workers share their tracks through JetStream (issue 7; ADR 0013,
:func:`gsomia.runtime.channels.open_track_stream`), the hub is a
:class:`~gsomia.streaming.sequenced.SequencedHub`: ingest publishes to the node's track stream,
and the stream, started before the listeners (the current picture first), feeds the hub.

``run/node.json`` gets ``"cot"``: one ``{"url", "scheme", "host", "port", "official"}`` per
listener as bound (``url`` is what PyTAK takes as ``COT_URL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Final

from gsomia.envelope import NodeKeys, TrustStore
from gsomia.errors import GsomiaError
from gsomia.node import Node
from gsomia.ports import OfficialRecord, Store
from gsomia.streaming import TrackHub, TrackIngest
from gsomia.streaming.cot_server import BoundListener, CotServer
from gsomia.streaming.link import LinkService
from gsomia.streaming.link_settings import LinkSettings
from gsomia.streaming.sequenced import SequencedHub, TrackStream
from gsomia.streaming.settings import CotSettings

__all__ = ["TracksHost"]

_START_TIMEOUT: Final = 20.0


class TracksHost:
    """The hub, the ingest and the CoT listeners of one serving node (module docstring)."""

    def __init__(
        self,
        node: Node,
        store: Store,
        settings: CotSettings,
        data: Path,
        *,
        stream: TrackStream | None = None,
        links: LinkSettings | None = None,
        keys: NodeKeys | None = None,
        trust: TrustStore | None = None,
    ) -> None:
        self.node = node
        self.store = store
        self.settings = settings
        self.data = Path(data)
        self.stream = stream  # issue 7: the workers' track sequencer (ADR 0013), if any
        self._sequenced = None if stream is None else SequencedHub(stream)
        self.hub: TrackHub = self._sequenced or TrackHub()
        self.ingest = TrackIngest(node, self.hub)
        self.bound: list[BoundListener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: CotServer | None = None
        self.links = links or LinkSettings()  # issue 5 §2: partner track links (ADR 0012)
        self._link: LinkService | None = None
        if self.links.enabled and keys is not None and trust is not None:
            self._link = LinkService(node, self.ingest, self.links, keys, trust)

    def official(self, official_id: str) -> OfficialRecord | None:
        """The official ``official_id`` in the node's directory, active or not."""
        with self.store.read() as reader:
            return reader.official(official_id)

    def start(self) -> None:
        """Start the track stream (if any; ADR 0013) and the CoT listeners (if any are
        configured); return once they listen."""
        if self.stream is not None and self._sequenced is not None:
            self.stream.start(self._sequenced.deliver)  # the current picture first
        if not self.settings.listen and self._link is None:
            return
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="gsomia-cot", daemon=True)
        self._thread.start()
        server = CotServer(self.node, self.ingest, self.settings, self.data, self.official)
        try:
            self.bound = asyncio.run_coroutine_threadsafe(server.start(), loop).result(
                _START_TIMEOUT
            )
        except Exception as exc:
            self.stop()
            raise GsomiaError(
                f"the CoT listeners could not start: {exc}", code="NODE_START_FAILED"
            ) from None
        self._server = server
        if self._link is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._link.start(), loop).result(_START_TIMEOUT)
            except Exception as exc:
                self.stop()
                raise GsomiaError(
                    f"the track links could not start: {exc}", code="NODE_START_FAILED"
                ) from None

    def stop(self) -> None:
        """Close the listeners and their connections, audit pending refusals, stop the loop."""
        loop, server = self._loop, self._server
        if loop is not None and self._link is not None:
            with contextlib.suppress(Exception):  # shutting down: nothing more to do
                asyncio.run_coroutine_threadsafe(self._link.close(), loop).result(_START_TIMEOUT)
        if loop is not None and server is not None:
            with contextlib.suppress(Exception):  # shutting down: nothing more to do
                asyncio.run_coroutine_threadsafe(server.close(), loop).result(_START_TIMEOUT)
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
            if loop is not None and not self._thread.is_alive():
                loop.close()
        if server is None:  # the CoT server flushes on close; else audit what the API counted
            with contextlib.suppress(GsomiaError):
                self.ingest.flush()
        if self.stream is not None:
            self.stream.close()
        self._loop = self._server = self._thread = None

    @property
    def alive(self) -> bool:
        """Whether the CoT thread runs (or no listener is configured)."""
        return self._thread is None or self._thread.is_alive()

    def run_info(self) -> list[dict[str, object]]:
        """What ``run/node.json`` records under ``"cot"``."""
        return [listener.as_dict() for listener in self.bound]

    def link_info(self) -> dict[str, object] | None:
        """What ``run/node.json`` records under ``"links"``: the listener as bound, or None."""
        bound = None if self._link is None else self._link.bound
        return None if bound is None else bound.as_dict()
