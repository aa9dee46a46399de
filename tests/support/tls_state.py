"""What pulumi-tls's certificate resources would hold in state, made for real from their inputs.

Under mocks a resource returns only its inputs; the webhook's certificate must
be checkable, so the mocks build real X.509 objects with ``cryptography`` the way
terraform-provider-tls does (``internal/provider/common_cert.go``, which
pulumi-tls bridges): validity from now for ``validityPeriodHours``, key usages
and extended key usages from ``allowedUses``, basic constraints with ``isCaCertificate``,
subject and DNS names from the inputs (self-signed) or from the request (locally
signed, issuer = the CA's subject). Unknown ``allowedUses`` values fail loudly,
as the provider's schema validation would.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from support.recorded import plain

# allowed_uses → x509.KeyUsage argument (the provider's keyUsages map).
KEY_USAGES = {
    "digital_signature": "digital_signature", "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment", "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement", "cert_signing": "key_cert_sign", "crl_signing": "crl_sign",
    "encipher_only": "encipher_only", "decipher_only": "decipher_only",
}
# allowed_uses → extended key usage (the provider's extKeyUsages map).
EXTENDED_KEY_USAGES = {
    "any_extended": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH, "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING, "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
}
SUBJECT_FIELDS = {
    "commonName": NameOID.COMMON_NAME, "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME, "country": NameOID.COUNTRY_NAME,
    "locality": NameOID.LOCALITY_NAME, "province": NameOID.STATE_OR_PROVINCE_NAME,
    "serialNumber": NameOID.SERIAL_NUMBER,
}


def _name(subject: dict[str, Any] | None) -> x509.Name:
    subject = subject or {}
    unknown = set(subject) - set(SUBJECT_FIELDS)
    assert not unknown, f"subject fields the tls provider does not have: {unknown}"
    return x509.Name([x509.NameAttribute(SUBJECT_FIELDS[k], str(v)) for k, v in subject.items() if v])




def _key(pem: str):
    return serialization.load_pem_private_key(pem.encode(), None)


def _rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _usages(builder: x509.CertificateBuilder, allowed: list[str]) -> x509.CertificateBuilder:
    unknown = set(allowed) - set(KEY_USAGES) - set(EXTENDED_KEY_USAGES)
    assert not unknown, f"allowedUses the tls provider rejects: {unknown}"
    flags = {arg: False for arg in KEY_USAGES.values()}
    for use in allowed:
        if use in KEY_USAGES:
            flags[KEY_USAGES[use]] = True
    if any(flags.values()):
        builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    extended = [EXTENDED_KEY_USAGES[u] for u in allowed if u in EXTENDED_KEY_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    return builder


def _certificate(inputs: dict[str, Any], subject: x509.Name, issuer: x509.Name, public_key,
                 signing_key, dns_names: list[str], authority=None) -> dict[str, Any]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    end = now + timedelta(hours=int(inputs["validityPeriodHours"]))
    is_ca = bool(inputs.get("isCaCertificate", False))
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(public_key).serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
               .not_valid_before(now).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True))
    builder = _usages(builder, list(inputs.get("allowedUses") or []))
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
    if is_ca:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if authority is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority), critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    return {
        "certPem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "validityStartTime": _rfc3339(now),
        "validityEndTime": _rfc3339(end),
        "readyForRenewal": False,
    }


def self_signed_cert(inputs: dict[str, Any]) -> dict[str, Any]:
    """tls.SelfSignedCert's state: the certificate signed by its own key."""
    inputs = plain(inputs)
    key = _key(inputs["privateKeyPem"])
    name = _name(inputs.get("subject"))
    return _certificate(inputs, name, name, key.public_key(), key, list(inputs.get("dnsNames") or []))


def cert_request(inputs: dict[str, Any]) -> dict[str, Any]:
    """tls.CertRequest's state: a signed PKCS#10 request with the subject and DNS names."""
    inputs = plain(inputs)
    builder = x509.CertificateSigningRequestBuilder().subject_name(_name(inputs.get("subject")))
    names = list(inputs.get("dnsNames") or [])
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    request = builder.sign(_key(inputs["privateKeyPem"]), hashes.SHA256())
    return {"certRequestPem": request.public_bytes(serialization.Encoding.PEM).decode()}


def locally_signed_cert(inputs: dict[str, Any]) -> dict[str, Any]:
    """tls.LocallySignedCert's state: the request's subject and names, signed by the CA."""
    inputs = plain(inputs)
    request = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
    assert request.is_signature_valid, "the tls provider refuses a request with a bad signature"
    ca = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
    ca_key = _key(inputs["caPrivateKeyPem"])
    assert ca_key.public_key() == ca.public_key(), "the CA key does not match the CA certificate"
    try:
        names = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = names.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        dns_names = []
    return _certificate(inputs, request.subject, ca.subject, request.public_key(), ca_key, dns_names,
                        authority=ca.public_key())
