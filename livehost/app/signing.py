"""The audit chain's signing key: Ed25519 (``cryptography``), kept under ``LIVEHOST_HOME/audit/``.

The private key is made on first use (``ed25519.pem``, mode 0600) and never
leaves the machine; its public key (``livehost audit key``) is what an
auditor verifies with.  A key id is the first 16 hex digits of the SHA-256 of
the raw public key, so checkpoints name the key that signed them and an old
key can be kept for verification after a rotation (``audit/trusted/*.pem``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from livehost.core.config import ConfigError


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Ed25519Signer:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self._private.sign(data)).decode()

    @classmethod
    def for_home(cls, home: Path) -> Ed25519Signer:
        """The home's key, made (0600) when there is none yet."""
        path = Path(home) / "audit" / "ed25519.pem"
        if path.exists():
            try:
                private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (ValueError, TypeError) as e:
                raise ConfigError(f"audit key {str(path)!r}: not an unencrypted PEM private key ({e})") from None
            if not isinstance(private, Ed25519PrivateKey):
                raise ConfigError(f"audit key {str(path)!r}: not an Ed25519 key")
            return cls(private)
        path.parent.mkdir(parents=True, exist_ok=True)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.replace(tmp, path)
        return cls(private)


class KeyRing:
    """Public keys by id: verifies checkpoint and anchor signatures."""

    def __init__(self, keys: list[Ed25519PublicKey]) -> None:
        self.keys = {key_id(k): k for k in keys}

    def verify(self, kid: str, data: bytes, signature: str) -> bool:
        key = self.keys.get(kid)
        if key is None:
            return False
        try:
            key.verify(base64.b64decode(signature, validate=True), data)
            return True
        except (InvalidSignature, ValueError):
            return False

    @classmethod
    def from_pem(cls, *pems: bytes) -> KeyRing:
        keys = []
        for pem in pems:
            key = serialization.load_pem_public_key(pem)
            if not isinstance(key, Ed25519PublicKey):
                raise ConfigError("audit: a trusted key is not an Ed25519 public key")
            keys.append(key)
        return cls(keys)

    @classmethod
    def for_home(cls, home: Path) -> KeyRing:
        """The home's own key and any kept in ``audit/trusted/*.pem`` (older keys, other machines)."""
        keys = [Ed25519Signer.for_home(home).public]
        for pem in sorted((Path(home) / "audit" / "trusted").glob("*.pem")):
            keys.extend(cls.from_pem(pem.read_bytes()).keys.values())
        return cls(keys)
