"""Benchmark sealing and opening a 1 KiB item to two recipients, against otdf-python, in one run.

    python bench/envelope.py [--json] [--n N] [--peer-n M] [--no-peer]

Ours (``gsomia.envelope``): ``seal`` of 1,024 bytes under a STANAG 4774 label to two recipients
(JPN, USA) plus ``to_bytes``, then ``open_item`` of those bytes by one recipient (parse, sender key
lookup, clock check, Ed25519 verify, label decode, key unwrap, key commitment, AEAD open).  The
label is the same object each time — the common case of a stream of track updates under one
label, where the label's canonical bytes and its decoding are memoized; ``*_fresh_label`` figures
use a new label per item (nothing memoized).  ``*_batch`` figures seal in batches of ``--batch``
items sharing one :class:`SealSession` (one ephemeral key per batch, as ``release_many`` does) and
open with one :class:`OpenCache` (as a node does; ADR 0015); ``*_mean_ms_batch`` is the
amortized cost per item, the first item of each batch included.  ``*_signed_batch`` figures also
sign each batch once (wire suite 2, :func:`seal_in_batch` and :class:`BatchSigner`, as
``release_many`` does since ADR 0019): a batch is sealed and signed whole, its time shared
evenly by its items (so the seal figures are per-item means over one batch), and each item is
then opened on its own with the cache, which verifies the batch signature once.

Peer (otdf-python, no platform server: there is none to talk to here):

- ``otdf``: the nearest local equivalent of a two-recipient seal — a standard TDF
  (``TDF.create_tdf``, ZIP container + JSON manifest, AES-256-GCM payload, DEK wrapped with
  RSA-OAEP to *two* key access objects with RSA-2048 public keys given in ``KASInfo``, HMAC
  policy binding and root signature, no assertion signatures), opened with ``TDF.load_tdf`` and
  ``TDFReaderConfig(kas_private_key=PEM)`` — otdf-python's documented local unwrap in place of a
  KAS round trip.  Nothing in it is an originator signature.
- ``otdf_nanotdf``: NanoTDF (``create_nanotdf``/``read_nanotdf``), ECDH P-256 to *one* KAS public
  key, decrypted with the KAS private key PEM locally; single recipient, no signature.

Both peers are measured in the same process, interleaved with ours pass by pass, so a noisy
machine hits every contestant alike.  Target (PRODUCT.md §7): ours seal+open p50 <= 0.5 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gsomia.envelope import (
    BatchSigner,
    NodeKeys,
    OpenCache,
    PublicKeyRecord,
    SealSession,
    TrustStore,
    open_item,
    seal,
    seal_in_batch,
)

try:  # the peer is optional: without it the JSON says why under "otdf"
    from otdf_python.config import KASInfo, NanoTDFConfig, TDFConfig
    from otdf_python.crypto_utils import CryptoUtils
    from otdf_python.nanotdf import NanoTDF
    from otdf_python.tdf import TDF, TDFReaderConfig

    OTDF_MISSING = ""
except ImportError as exc:  # pragma: no cover - depends on the environment
    OTDF_MISSING = f"otdf-python not importable: {exc}"
from gsomia.labels.model import RELEASABLE_TO, TOPIC, Category, CategoryType, OriginatorLabel

PAYLOAD = bytes(range(256)) * 4  # 1 KiB
T0 = datetime(2024, 5, 1, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
AGREEMENT = ("ROK-JPN-GSOMIA-2016", 1)


def label(created: datetime = T0) -> OriginatorLabel:
    return OriginatorLabel(
        policy_id="KOR",
        classification="군사II급비밀",
        originator="KOR",
        created=created,
        categories=(
            Category(RELEASABLE_TO, CategoryType.PERMISSIVE, ("KOR", "JPN", "USA")),
            Category(TOPIC, CategoryType.RESTRICTIVE, ("NK-MISSILE",)),
        ),
    )


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 4)


def mean(samples: list[float]) -> float:
    return round(sum(samples) / len(samples) * 1000, 4)


def figures(seals: list[float], opens: list[float]) -> dict[str, Any]:
    both = [s + o for s, o in zip(seals, opens, strict=True)]
    return {
        "seal_mean_ms": mean(seals),
        "open_mean_ms": mean(opens),
        "seal_p50_ms": pct(seals, 0.5),
        "seal_p99_ms": pct(seals, 0.99),
        "open_p50_ms": pct(opens, 0.5),
        "open_p99_ms": pct(opens, 0.99),
        "seal_open_p50_ms": pct(both, 0.5),
        "seal_open_p99_ms": pct(both, 0.99),
        "samples": len(both),
    }


Runner = Callable[[], tuple[float, float]]


def parties() -> tuple[NodeKeys, NodeKeys, TrustStore, dict[str, PublicKeyRecord]]:
    """KOR (the sender), JPN (who opens), JPN's trust in KOR, and the two recipients' keys."""
    kor, jpn, usa = (NodeKeys.generate(p, T0) for p in ("KOR", "JPN", "USA"))
    trust = TrustStore().add_bundle(kor.public_bundle())
    return kor, jpn, trust, {"JPN": jpn.current.enc, "USA": usa.current.enc}


def ours() -> tuple[Runner, Runner]:
    kor, jpn, trust, recipients = parties()
    shared = label()
    counter = iter(range(1, 10**9))

    def run(lab: OriginatorLabel) -> tuple[float, float]:
        t0 = time.perf_counter()
        data = seal(PAYLOAD, lab, recipients, AGREEMENT, kor, NOW).to_bytes()
        t1 = time.perf_counter()
        opened = open_item(data, jpn, trust, NOW)
        t2 = time.perf_counter()
        if opened.payload != PAYLOAD:
            raise SystemExit("ours: round trip failed")
        return t1 - t0, t2 - t1

    def fresh() -> tuple[float, float]:
        return run(label(T0 + timedelta(microseconds=next(counter))))

    return (lambda: run(shared)), fresh


def ours_batched(batch: int) -> Runner:
    """Seal in sessions of ``batch`` items, open with one cache (what the nodes do)."""
    kor, jpn, trust, recipients = parties()
    shared = label()
    cache = OpenCache()
    state = [SealSession(), batch]  # the session, items left in it

    def run() -> tuple[float, float]:
        if state[1] == 0:
            state[0], state[1] = SealSession(), batch
        state[1] -= 1
        session = state[0]
        assert isinstance(session, SealSession)
        t0 = time.perf_counter()
        data = seal(PAYLOAD, shared, recipients, AGREEMENT, kor, NOW, session=session).to_bytes()
        t1 = time.perf_counter()
        opened = open_item(data, jpn, trust, NOW, cache=cache)
        t2 = time.perf_counter()
        if opened.payload != PAYLOAD:
            raise SystemExit("ours (batch): round trip failed")
        return t1 - t0, t2 - t1

    return run


def ours_signed_batch(batch: int) -> Runner:
    """Seal and sign batches of ``batch`` items (suite 2); open each item with one cache."""
    kor, jpn, trust, recipients = parties()
    shared = label()
    cache = OpenCache()
    queue: list[tuple[bytes, float]] = []  # the sealed batch, last item first; per-item time

    def run() -> tuple[float, float]:
        if not queue:
            session, signer = SealSession(), BatchSigner()
            t0 = time.perf_counter()
            pending = [
                seal_in_batch(PAYLOAD, shared, recipients, AGREEMENT, kor, NOW,
                              signer=signer, session=session)
                for _ in range(batch)
            ]  # fmt: skip
            signer.sign()
            items = [p.to_bytes() for p in pending]
            share = (time.perf_counter() - t0) / batch
            queue.extend((data, share) for data in reversed(items))
        data, share = queue.pop()
        t1 = time.perf_counter()
        opened = open_item(data, jpn, trust, NOW, cache=cache)
        t2 = time.perf_counter()
        if opened.payload != PAYLOAD:
            raise SystemExit("ours (signed batch): round trip failed")
        return share, t2 - t1

    return run


def otdf_tdf() -> Runner:
    if OTDF_MISSING:
        raise RuntimeError(OTDF_MISSING)
    pairs = [CryptoUtils.generate_rsa_keypair() for _ in range(2)]
    pems = [
        (CryptoUtils.get_rsa_public_key_pem(pub), CryptoUtils.get_rsa_private_key_pem(priv))
        for priv, pub in pairs
    ]
    config = TDFConfig(
        kas_info_list=[
            KASInfo(url=f"https://kas.{party}.example", public_key=public, kid="r1")
            for party, (public, _) in zip(("jpn", "usa"), pems, strict=True)
        ],
        attributes=["https://gsomia.example/attr/classification/value/secret"],
    )
    tdf = TDF()
    reader = TDFReaderConfig(kas_private_key=pems[0][1])

    def run() -> tuple[float, float]:
        t0 = time.perf_counter()
        _, _, out = tdf.create_tdf(PAYLOAD, config)
        data = out.getvalue()
        t1 = time.perf_counter()
        opened = tdf.load_tdf(data, reader)
        t2 = time.perf_counter()
        if opened.payload != PAYLOAD:
            raise SystemExit("otdf: round trip failed")
        return t1 - t0, t2 - t1

    return run


def otdf_nanotdf() -> Runner:
    if OTDF_MISSING:
        raise RuntimeError(OTDF_MISSING)
    private, public = CryptoUtils.generate_ec_keypair()
    config = NanoTDFConfig(
        kas_info_list=[
            KASInfo(
                url="https://kas.jpn.example", public_key=CryptoUtils.get_public_key_pem(public)
            )
        ],
        attributes=["https://gsomia.example/attr/classification/value/secret"],
    )
    reader = NanoTDFConfig(cipher=CryptoUtils.get_private_key_pem(private))
    nano = NanoTDF()

    def run() -> tuple[float, float]:
        t0 = time.perf_counter()
        data = nano.create_nanotdf(PAYLOAD, config)
        t1 = time.perf_counter()
        opened = nano.read_nanotdf(data, reader)
        t2 = time.perf_counter()
        if opened != PAYLOAD:
            raise SystemExit("otdf nanotdf: round trip failed")
        return t1 - t0, t2 - t1

    return run


def measure(runners: dict[str, tuple[Runner, int]], passes: int) -> dict[str, dict[str, Any]]:
    """Run every contestant ``count`` times per pass, interleaving contestants pass by pass."""
    samples: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in runners}
    for runner, _ in runners.values():  # warm up
        for _ in range(3):
            runner()
    gc.collect()
    gc.disable()
    try:
        for _ in range(passes):
            for name, (runner, count) in runners.items():
                seals, opens = samples[name]
                for _ in range(max(1, count // passes)):
                    s, o = runner()
                    seals.append(s)
                    opens.append(o)
    finally:
        gc.enable()
    return {name: figures(*samples[name]) for name in runners}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--n", type=int, default=4000, help="our items (default 4000)")
    parser.add_argument("--peer-n", type=int, default=100, help="otdf TDF items (default 100)")
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("--no-peer", action="store_true", help="skip otdf-python")
    parser.add_argument("--batch", type=int, default=100, help="items per session (default 100)")
    args = parser.parse_args(argv)

    shared, fresh = ours()
    runners: dict[str, tuple[Runner, int]] = {"ours": (shared, args.n)}
    runners["ours_fresh_label"] = (fresh, max(args.passes, args.n // 4))
    runners["ours_batch"] = (ours_batched(args.batch), args.n)
    runners["ours_signed_batch"] = (ours_signed_batch(args.batch), args.n)
    result: dict[str, Any] = {}
    if not args.no_peer:
        for name, make, count in (
            ("otdf", otdf_tdf, args.peer_n),
            ("otdf_nanotdf", otdf_nanotdf, args.n // 4),
        ):
            try:
                runners[name] = (make(), count)
            except Exception as exc:  # the peer is optional: report why it did not run
                result[name] = {"error": f"{type(exc).__name__}: {exc}"}
    measured = measure(runners, args.passes)
    fresh_figures = measured.pop("ours_fresh_label")
    measured["ours"].update(
        {f"{k}_fresh_label": v for k, v in fresh_figures.items() if k != "samples"}
    )
    for suffix in ("batch", "signed_batch"):
        extra = measured.pop(f"ours_{suffix}")
        measured["ours"].update({f"{k}_{suffix}": v for k, v in extra.items() if k != "samples"})
    result = {**measured, **result}
    result["what"] = {
        "ours": "seal 1 KiB to 2 recipients (X25519+HKDF+AES-GCM wrap, AES-256-GCM STREAM, "
        "Ed25519 signature) + to_bytes; open_item from bytes by one recipient; *_batch: "
        "SealSession per batch, OpenCache on open; *_signed_batch: also one signature per "
        "batch (suite 2), the batch's seal time shared by its items",
        "otdf": "otdf-python TDF.create_tdf with 2 RSA-2048 KASInfo public keys (local, no "
        "server) + TDF.load_tdf with TDFReaderConfig(kas_private_key) local unwrap; no signature",
        "otdf_nanotdf": "otdf-python NanoTDF ECDH P-256 to 1 KAS key, local read with the KAS "
        "private key; single recipient, no signature",
    }
    result["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    result["target"] = {"ours_seal_open_p50_ms": 0.5}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for name in ("ours", "otdf", "otdf_nanotdf"):
            if name in result:
                print(f"{name:13} {json.dumps(result[name])}")
        print(f"ours seal+open p50 {result['ours']['seal_open_p50_ms']} ms (target <= 0.5 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
