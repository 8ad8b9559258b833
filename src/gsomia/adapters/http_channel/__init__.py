"""The default government-to-government channel: HTTP between nodes, with signed requests.

Issue 4 §1 asks for mutual authentication, and for a partner node to be authenticated by its key,
never by an address.  ADR 0005 records the choice of **signed requests with the node keys** over
mutual TLS.

Theory of operation
-------------------
``send`` POSTs the sealed payload to the partner's ``/v1/channel/messages`` with headers naming
the sender party, its signing kid, an instant, a 128-bit random nonce and the idempotency key, and
an Ed25519 signature (:mod:`gsomia.envelope.signing`) over the canonical string::

    "gsomia-channel/1 request" NUL
    method LF path LF recipient LF sender LF kid LF instant LF nonce LF idempotency key LF
    hex SHA-256 of the body

The receiver checks method, path, framing (``Content-Length`` at most ``max_body``, before reading
the body; no chunked bodies), media type and headers, then the instant (within ``skew`` of its own
clock), the recipient (itself), the key (trusted, a signing key of the named sender, valid at the
instant) and the signature; last the nonce (unseen within the window, else ``409``).  Only a
request that passes everything is queued and answered ``204``; every refusal is RFC 9457 problem
details with a stable code (:mod:`._request`) and queues nothing.

Delivery: a ``2xx`` means the message is in the receiving node's in-memory queue.  The queue is not
durable, and need not be: the sender's outbox keeps the message pending until the signed receipt
comes back, so a message lost in a crash of the receiver before its node recorded it is simply
sent again (at-least-once), and the receiver's inbox makes a second copy harmless (exactly-once
effect, ADR 0004).

Batches (ADR 0005 §6): ``send_many`` carries several messages to one partner in ONE signed request
to ``/v1/channel/batch``, each message with its own idempotency key; the receiver checks the
request as any other, then queues all its messages or none.

Modules: :mod:`._request` (pure: canonical string, checks, refusals), :mod:`._batch` (pure: the
body of a batch), :mod:`._server` (the receiving side), :mod:`._channel` (:class:`HttpChannel`).
"""

from gsomia.adapters.http_channel._batch import BATCH_PATH
from gsomia.adapters.http_channel._channel import HttpChannel, peer_address
from gsomia.adapters.http_channel._request import (
    CONTEXT,
    DEFAULT_MAX_BODY,
    DEFAULT_SKEW,
    PATH,
    ChannelRefusal,
    canonical,
    sign_request,
)

__all__ = [
    "BATCH_PATH",
    "CONTEXT",
    "DEFAULT_MAX_BODY",
    "DEFAULT_SKEW",
    "PATH",
    "ChannelRefusal",
    "HttpChannel",
    "canonical",
    "peer_address",
    "sign_request",
]
