"""C2PA manifests on the MP4s livehost writes: a signed statement that the video is AI-generated.

After a file is finished, :func:`sign_mp4` embeds a C2PA manifest (``c2pa-python``)
with a ``c2pa.created`` action whose digital source type is IPTC's
``trainedAlgorithmicMedia``, the channel and session, and the GB 45438 label.

The signing identity is the operator's certificate chain and private key
(``output.c2pa_cert`` / ``output.c2pa_key``: PEM files; Ed25519 or ECDSA P-256
keys), or, when none is configured, a local one made on first use under
``LIVEHOST_HOME/c2pa/``: a self-signed CA and a leaf certificate.  Readers then
report the manifest as valid but its signer as untrusted (no public trust list
knows a local CA); a certificate from a CA on the C2PA trust list makes it
trusted.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


class ProvenanceError(Exception):
    """The C2PA identity cannot be used (the message names the file and why)."""


@dataclass(frozen=True)
class C2paIdentity:
    chain_pem: str  # the leaf certificate first, then its issuers
    sign: Callable[[bytes], bytes]
    alg: str  # "ed25519" or "es256"
    origin: str  # where it came from, for people

    def signer(self):  # -> c2pa.Signer
        import c2pa

        alg = c2pa.C2paSigningAlg.ED25519 if self.alg == "ed25519" else c2pa.C2paSigningAlg.ES256
        return c2pa.Signer.from_callback(self.sign, alg, self.chain_pem, None)


def _identity(key: object, chain_pem: str, origin: str) -> C2paIdentity:
    if isinstance(key, Ed25519PrivateKey):
        return C2paIdentity(chain_pem, key.sign, "ed25519", origin)
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        def sign_es256(data: bytes) -> bytes:
            from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # COSE wants r || s
        return C2paIdentity(chain_pem, sign_es256, "es256", origin)
    raise ProvenanceError(f"{origin}: the key must be Ed25519 or ECDSA P-256")


def identity_from_files(cert: str | Path, key: str | Path) -> C2paIdentity:
    """The operator's certificate chain (PEM, leaf first) and its private key (PEM, unencrypted)."""
    try:
        chain_pem = Path(cert).read_text(encoding="ascii")
        private = serialization.load_pem_private_key(Path(key).read_bytes(), password=None)
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as e:
        raise ProvenanceError(f"output.c2pa_cert/c2pa_key {str(cert)!r}, {str(key)!r}: {e}") from None
    if "BEGIN CERTIFICATE" not in chain_pem:
        raise ProvenanceError(f"output.c2pa_cert {str(cert)!r}: no PEM certificate in it")
    return _identity(private, chain_pem, f"certificate {cert}")


def local_identity(home: Path) -> C2paIdentity:
    """This home's own C2PA identity (a local CA and a leaf, Ed25519), made on first use."""
    folder = Path(home) / "c2pa"
    key_path, chain_path = folder / "signer.key.pem", folder / "chain.pem"
    if not (key_path.exists() and chain_path.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        key_pem, chain_pem = _make_local_chain()
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key_pem)
        chain_path.write_text(chain_pem, encoding="ascii")
    return identity_from_files(chain_path, key_path)


def _make_local_chain() -> tuple[bytes, str]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "livehost local C2PA CA"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "livehost (self-signed, untrusted)")])
    no_usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                    encipher_only=False, decipher_only=False)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **no_usage), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, None))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "livehost C2PA signer"),
                                     x509.NameAttribute(NameOID.ORGANIZATION_NAME, "livehost (self-signed, untrusted)")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **no_usage),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(ca_key, None))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    chain_pem = (leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)).decode()
    return key_pem, chain_pem


def sign_mp4(path: str | Path, identity: C2paIdentity, *, title: str, metadata: dict[str, str]) -> None:
    """Embed a signed C2PA manifest stating AI generation into the finished MP4 at ``path`` (replaced in place)."""
    import c2pa

    path = Path(path)
    manifest = {
        "claim_generator_info": [{"name": "livehost", "version": "1"}],
        "title": title,
        "format": "video/mp4",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.created", "digitalSourceType": AI_SOURCE,
                "softwareAgent": {"name": "livehost"}, "description": "an AI host: synthetic picture and voice"}]}},
            {"label": "org.livehost.aigc", "data": {k: v for k, v in metadata.items()}},
        ],
    }
    fd, tmp = tempfile.mkstemp(suffix=".mp4", dir=path.parent)
    os.close(fd)
    try:
        builder = c2pa.Builder(json.dumps(manifest, ensure_ascii=False))
        builder.sign_file(str(path), tmp, identity.signer())
        os.replace(tmp, path)
    except Exception as e:
        Path(tmp).unlink(missing_ok=True)
        raise ProvenanceError(f"C2PA signing of {str(path)!r} failed: {e}") from e


def read_manifest(path: str | Path) -> dict:
    """The active C2PA manifest of a file and the reader's validation (``validation_state``, ``validation_status``)."""
    import c2pa

    reader = c2pa.Reader(str(path))
    store = json.loads(reader.json())
    manifest = store["manifests"][store["active_manifest"]]
    return {**manifest, "validation_state": store.get("validation_state"),
            "validation_status": store.get("validation_status") or []}
