"""Throwaway certificates for the TLS tests against taky: ``python tak_certs.py FOLDER``.

Run with the taky environment's Python (``.venv-taky/bin/python``), which has the
``cryptography`` package because taky itself uses it to issue client certificates. Writes,
into FOLDER:

- ``ca.crt``, ``ca.key``: a certificate authority;
- ``server.crt``, ``server.key``: the server's certificate for 127.0.0.1 and localhost;
- ``client.crt``, ``client.key`` and ``client.pem`` (the two in one file), and
  ``client.p12`` (password ``opencram``): a client certificate signed by the CA;
- ``rogue-client.pem``: a client certificate and key signed by another CA, which the
  server must refuse;
- ``expired-client.pem``: a client certificate from the right CA that has expired.

Everything is valid for a day (except the expired one), 2048-bit RSA, SHA-256.
"""

from __future__ import annotations

import ipaddress
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

P12_PASSWORD = b"opencram"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_ca(cn: str):
    key = _key()
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue(ca, cn: str, *, server: bool, valid=(timedelta(minutes=-5), timedelta(days=1))):
    ca_cert, ca_key = ca
    key = _key()
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + valid[0])
        .not_valid_after(now + valid[1])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def write_all(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ca = make_ca("opencram test CA")
    (folder / "ca.crt").write_bytes(_pem_cert(ca[0]))
    (folder / "ca.key").write_bytes(_pem_key(ca[1]))
    server_cert, server_key = issue(ca, "127.0.0.1", server=True)
    (folder / "server.crt").write_bytes(_pem_cert(server_cert))
    (folder / "server.key").write_bytes(_pem_key(server_key))
    client_cert, client_key = issue(ca, "opencram-client", server=False)
    (folder / "client.crt").write_bytes(_pem_cert(client_cert))
    (folder / "client.key").write_bytes(_pem_key(client_key))
    (folder / "client.pem").write_bytes(_pem_cert(client_cert) + _pem_key(client_key))
    p12 = pkcs12.serialize_key_and_certificates(
        b"opencram-client",
        client_key,
        client_cert,
        [ca[0]],
        serialization.BestAvailableEncryption(P12_PASSWORD),
    )
    (folder / "client.p12").write_bytes(p12)
    rogue_cert, rogue_key = issue(make_ca("rogue CA"), "opencram-client", server=False)
    (folder / "rogue-client.pem").write_bytes(_pem_cert(rogue_cert) + _pem_key(rogue_key))
    expired = (timedelta(days=-2), timedelta(days=-1))
    old_cert, old_key = issue(ca, "opencram-client", server=False, valid=expired)
    (folder / "expired-client.pem").write_bytes(_pem_cert(old_cert) + _pem_key(old_key))


if __name__ == "__main__":
    write_all(Path(sys.argv[1]))
