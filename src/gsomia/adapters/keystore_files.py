"""A node's keys and trust store in a directory, private keys encrypted at rest.

Layout of a key directory (mode 0700; every file mode 0600, written atomically: temporary file,
fsync, rename, fsync of the directory)::

    keys.json    the node's keys, every generation, oldest first: the public records in clear
                 (``format``, ``party``, ``generations``) and the private keys encrypted
                 (``kdf``, ``aead``, ``ciphertext``)
    trust.json   partners' public keys (the trust store)

Private keys at rest: scrypt (RFC 7914; N = 2**15, r = 8, p = 1 by default) derives a 256-bit key
from the passphrase; AES-256-GCM encrypts the JSON of the raw keys, with the RFC 8785 canonical
public part as associated data, so a public record cannot be altered, swapped or relabelled
unnoticed.  On load each private key must reproduce its public record.  One file holds
everything, so a rotation is one atomic rename: a crash leaves the old keys or the new, never a
mix.

The passphrase comes from the environment variable ``GSOMIA_KEY_PASSPHRASE`` or from a passphrase
file (:func:`resolve_passphrase`); it is never a command-line argument (``ps`` shows those).

Permissions, as OpenSSH checks its own keys: :func:`load_keys`, :func:`load_trust` and a
passphrase file are refused with ``KEY_PERMISSIONS`` when the directory or file grants *any*
permission to group or others (``mode & 0o077``), or is a symbolic link.  The trust store is
checked too: whoever can write it can make us trust their key.

Failures raise :class:`~gsomia.envelope.keys.KeyMaterialError` with a stable code:
``KEY_PERMISSIONS``, ``KEY_PASSPHRASE`` (missing, too short or wrong), ``KEY_EXISTS``,
``KEY_STORE_MISSING``, ``KEY_STORE_IO``, ``KEY_INVALID``, ``KEY_FINGERPRINT_MISMATCH``.
Writers are not locked against each other: key commands are run by one officer at a time.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import os
import stat
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import rfc8785

from gsomia import strictjson
from gsomia.envelope import _primitives as prim
from gsomia.envelope.keys import (
    KeyGeneration,
    KeyMaterialError,
    NodeKeys,
    PublicKeyBundle,
    PublicKeyRecord,
    TrustStore,
    normalize_fingerprint,
)

__all__ = [
    "KEYS_FILE",
    "MIN_PASSPHRASE_BYTES",
    "PASSPHRASE_ENV",
    "TRUST_FILE",
    "export_public",
    "init_keys",
    "load_keys",
    "load_trust",
    "resolve_passphrase",
    "rotate_keys",
    "trust_add",
]

PASSPHRASE_ENV: Final = "GSOMIA_KEY_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)
KEYS_FILE: Final = "keys.json"
TRUST_FILE: Final = "trust.json"
KEYS_FORMAT: Final = "gsomia-node-keys/1"
_KEYS_MEMBERS: Final = frozenset({"format", "party", "generations", "kdf", "aead", "ciphertext"})
MIN_PASSPHRASE_BYTES: Final = 12
DEFAULT_LOG2_N: Final = 15
_MAX_FILE_BYTES: Final = 4 * 1024 * 1024


def _error(message: str, code: str, path: Path | None = None) -> KeyMaterialError:
    return KeyMaterialError(message, code=code, detail={} if path is None else {"path": str(path)})


# ------------------------------------------------------------------ file system, carefully


def _refuse_loose(path: Path, what: str, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise _error(f"{what} {path} is a symbolic link", "KEY_PERMISSIONS", path)
    if info.st_mode & 0o077:
        raise KeyMaterialError(
            f"{what} {path} has mode {stat.S_IMODE(info.st_mode):04o}; group and others must have "
            f"no access (chmod {'700' if stat.S_ISDIR(info.st_mode) else '600'})",
            code="KEY_PERMISSIONS",
            detail={"path": str(path), "mode": f"{stat.S_IMODE(info.st_mode):04o}"},
        )


def _check_private(path: Path, what: str) -> None:
    """Refuse a symlink, or anything group/world-accessible."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise _error(f"{what} {path} does not exist", "KEY_STORE_MISSING", path) from None
    except OSError as exc:
        raise _error(f"cannot read {what} {path}: {exc.strerror}", "KEY_STORE_IO", path) from None
    _refuse_loose(path, what, info)


def _read(path: Path, what: str) -> bytes:
    """Read a private file: no symlink (O_NOFOLLOW), mode checked on the open descriptor."""
    _check_private(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            _refuse_loose(path, what, os.fstat(handle.fileno()))
            data = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _error(f"cannot read {what} {path}: {exc.strerror}", "KEY_STORE_IO", path) from None
    if len(data) > _MAX_FILE_BYTES:
        raise _error(f"{what} {path} is too large", "KEY_INVALID", path)
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600: temp file, fsync, rename, fsync directory."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _error(f"cannot write {path}: {exc.strerror}", "KEY_STORE_IO", path) from None


def _json(data: bytes, path: Path) -> Any:
    try:
        return strictjson.loads(data, max_bytes=_MAX_FILE_BYTES, max_depth=8)
    except strictjson.JsonProblem as exc:
        raise _error(f"{path} is not valid JSON: {exc.message}", "KEY_INVALID", path) from None


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64u(text: object, path: Path) -> bytes:
    if not isinstance(text, str):
        raise _error(f"{path}: expected base64url text", "KEY_INVALID", path)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _error(f"{path}: expected base64url text", "KEY_INVALID", path) from None


# ------------------------------------------------------------------ passphrase


def resolve_passphrase(
    passphrase_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> bytes:
    """The passphrase from ``passphrase_file`` (one trailing newline dropped) or the environment."""
    if passphrase_file is not None:
        data = _read(Path(passphrase_file), "passphrase file")
        passphrase = data[:-1] if data.endswith(b"\n") else data
        passphrase = passphrase[:-1] if passphrase.endswith(b"\r") else passphrase
    else:
        env = os.environ if environ is None else environ
        passphrase = env.get(PASSPHRASE_ENV, "").encode("utf-8")
    if not passphrase:
        raise _error(
            f"no passphrase: set {PASSPHRASE_ENV} or give a passphrase file", "KEY_PASSPHRASE"
        )
    return passphrase


def _strong(passphrase: bytes) -> bytes:
    if not isinstance(passphrase, bytes) or len(passphrase) < MIN_PASSPHRASE_BYTES:
        raise _error(
            f"the passphrase must have at least {MIN_PASSPHRASE_BYTES} bytes", "KEY_PASSPHRASE"
        )
    return passphrase


# ------------------------------------------------------------------ encoding the key file


def _public_header(keys: NodeKeys) -> dict[str, Any]:
    return {
        "format": KEYS_FORMAT,
        "party": keys.party,
        "generations": [{"sig": g.sig.to_dict(), "enc": g.enc.to_dict()} for g in keys.generations],
    }


def _keys_json(keys: NodeKeys, passphrase: bytes, log2_n: int) -> bytes:
    header = _public_header(keys)
    secret = rfc8785.dumps(
        {
            "generations": [
                {
                    "sig": None if g.signing is None else _b64u(g.signing.raw()),
                    "enc": _b64u(g.agreement.raw()),
                }
                for g in keys.generations
            ]
        }
    )
    try:
        box = prim.encrypt_with_passphrase(secret, passphrase, rfc8785.dumps(header), log2_n=log2_n)
    except prim.CryptoError as exc:
        raise _error(exc.message, "KEY_INVALID") from None
    return rfc8785.dumps(
        {
            **header,
            "kdf": {
                "name": "scrypt",
                "log2_n": box.log2_n,
                "r": box.r,
                "p": box.p,
                "salt": _b64u(box.salt),
            },
            "aead": {"name": "AES-256-GCM", "nonce": _b64u(box.nonce)},
            "ciphertext": _b64u(box.ciphertext),
        }
    )


def _field(obj: Any, name: str, path: Path) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise _error(f"{path}: missing {name!r}", "KEY_INVALID", path)
    return obj[name]


def _int(obj: Any, name: str, path: Path) -> int:
    value = _field(obj, name, path)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _error(f"{path}: {name!r} must be an integer", "KEY_INVALID", path)
    return value


def _read_keys_file(
    directory: Path,
) -> tuple[dict[str, Any], list[tuple[PublicKeyRecord, PublicKeyRecord]]]:
    """The parsed key file and its public records per generation (nothing decrypted yet)."""
    _check_private(directory, "key directory")
    path = directory / KEYS_FILE
    doc = _json(_read(path, "key file"), path)
    if not isinstance(doc, dict) or set(doc) != _KEYS_MEMBERS:
        raise _error(f"{path}: not a gsomia key file", "KEY_INVALID", path)
    if doc["format"] != KEYS_FORMAT:
        raise _error(f"{path}: unknown key file format {doc['format']!r}", "KEY_INVALID", path)
    generations = doc["generations"]
    if not isinstance(generations, list) or not generations:
        raise _error(f"{path}: no key generations", "KEY_INVALID", path)
    records = [
        (
            PublicKeyRecord.from_dict(_field(g, "sig", path)),
            PublicKeyRecord.from_dict(_field(g, "enc", path)),
        )
        for g in generations
    ]
    return doc, records


# ------------------------------------------------------------------ the public API


def init_keys(
    party: str,
    directory: Path,
    passphrase: bytes,
    now: datetime,
    *,
    log2_n: int = DEFAULT_LOG2_N,
) -> NodeKeys:
    """Create ``directory`` (0700) with a fresh key generation for ``party`` valid from ``now``."""
    directory = Path(directory)
    _strong(passphrase)
    if (directory / KEYS_FILE).exists() or (directory / KEYS_FILE).is_symlink():
        raise _error(
            f"{directory} already holds keys; rotate them instead", "KEY_EXISTS", directory
        )
    keys = NodeKeys.generate(party, now)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if directory.is_symlink():
            raise _error(f"{directory} is a symbolic link", "KEY_PERMISSIONS", directory)
        directory.chmod(0o700)
    except OSError as exc:
        raise _error(
            f"cannot create {directory}: {exc.strerror}", "KEY_STORE_IO", directory
        ) from None
    _write_atomic(directory / KEYS_FILE, _keys_json(keys, passphrase, log2_n))
    return keys


def load_keys(directory: Path, passphrase: bytes) -> NodeKeys:
    """The node's keys; refuses loose permissions, a wrong passphrase or an altered file."""
    directory = Path(directory)
    path = directory / KEYS_FILE
    doc, records = _read_keys_file(directory)
    kdf, aead = doc["kdf"], doc["aead"]
    if _field(kdf, "name", path) != "scrypt" or _field(aead, "name", path) != "AES-256-GCM":
        raise _error(f"{path}: unsupported algorithms", "KEY_INVALID", path)
    box = prim.PassphraseBox(
        log2_n=_int(kdf, "log2_n", path),
        r=_int(kdf, "r", path),
        p=_int(kdf, "p", path),
        salt=_unb64u(_field(kdf, "salt", path), path),
        nonce=_unb64u(_field(aead, "nonce", path), path),
        ciphertext=_unb64u(doc["ciphertext"], path),
    )
    header = {"format": doc["format"], "party": doc["party"], "generations": doc["generations"]}
    try:
        secret = prim.decrypt_with_passphrase(box, passphrase, rfc8785.dumps(header))
    except prim.CryptoError as exc:
        code = "KEY_PASSPHRASE" if exc.code == "CRYPTO_PASSPHRASE" else "KEY_INVALID"
        raise _error(exc.message, code, path) from None
    secrets = _field(_json(secret, path), "generations", path)
    if not isinstance(secrets, list) or len(secrets) != len(records):
        raise _error(f"{path}: generations do not match", "KEY_INVALID", path)
    try:
        built = []
        for (sig, enc), raw in zip(records, secrets, strict=True):
            seed = _field(raw, "sig", path)
            enc_raw = _unb64u(_field(raw, "enc", path), path)
            built.append(
                KeyGeneration(
                    sig=sig,
                    enc=enc,
                    agreement=prim.AgreementKey.from_raw(enc_raw),
                    signing=None if seed is None else prim.SigningKey.from_raw(_unb64u(seed, path)),
                )
            )
    except prim.CryptoError as exc:
        raise _error(f"{path}: {exc.message}", "KEY_INVALID", path) from None
    return NodeKeys(doc["party"], tuple(built))


def rotate_keys(
    directory: Path, passphrase: bytes, now: datetime, *, log2_n: int = DEFAULT_LOG2_N
) -> NodeKeys:
    """Retire the current generation at ``now`` and store a new one (re-encrypting the file)."""
    directory = Path(directory)
    keys = load_keys(directory, passphrase).rotate(now)
    _write_atomic(directory / KEYS_FILE, _keys_json(keys, _strong(passphrase), log2_n))
    return keys


def export_public(directory: Path) -> bytes:
    """The canonical JSON public key bundle partners import with :func:`trust_add`.

    Needs no passphrase: the public records are the key file's plaintext header.
    """
    directory = Path(directory)
    doc, records = _read_keys_file(directory)
    return PublicKeyBundle(doc["party"], tuple(r for pair in records for r in pair)).to_json()


def load_trust(directory: Path) -> TrustStore:
    """The trust store of ``directory`` (empty if there is none yet)."""
    directory = Path(directory)
    _check_private(directory, "key directory")
    path = directory / TRUST_FILE
    if not path.exists() and not path.is_symlink():
        return TrustStore()
    return TrustStore.from_json(_read(path, "trust store"))


def trust_add(directory: Path, public_json: bytes | str, fingerprint_expected: str) -> TrustStore:
    """Trust a partner's exported bundle, if its fingerprint is the one read out to us.

    ``fingerprint_expected`` is :attr:`PublicKeyBundle.fingerprint` as the partner's officer read
    it (spaces, colons and case do not matter).  A mismatch is ``KEY_FINGERPRINT_MISMATCH`` and
    changes nothing.
    """
    directory = Path(directory)
    bundle = PublicKeyBundle.from_json(public_json)
    expected = normalize_fingerprint(fingerprint_expected)
    if not hmac.compare_digest(normalize_fingerprint(bundle.fingerprint), expected):
        raise KeyMaterialError(
            f"the key bundle of {bundle.party} does not have the fingerprint you were given",
            code="KEY_FINGERPRINT_MISMATCH",
            detail={"party": bundle.party},
        )
    store = load_trust(directory).add_bundle(bundle)
    _write_atomic(directory / TRUST_FILE, store.to_json())
    return store
