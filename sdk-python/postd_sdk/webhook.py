"""Webhook signature checks, over raw bytes and in constant time."""

import hashlib as _hashlib
import hmac as _hmac


def hmac_sha256(key, message):
    """HMAC-SHA256 of ``message`` under ``key`` (both bytes), 32 bytes."""
    return _hmac.new(key, message, _hashlib.sha256).digest()


def verify_hmac_sha256(key, message, expected):
    """True when ``expected`` (bytes) is the HMAC-SHA256 of ``message`` under ``key``,
    compared in constant time."""
    return _hmac.compare_digest(hmac_sha256(key, message), expected)


def verify_hmac_sha256_hex(key, message, signature_hex):
    """True when ``signature_hex`` (case-insensitive hex) is the HMAC-SHA256 of ``message``
    under ``key``; malformed hex is False."""
    try:
        expected = bytes.fromhex(signature_hex.strip())
    except ValueError:
        return False
    return verify_hmac_sha256(key, message, expected)


def constant_time_eq(a, b):
    """Compares two byte strings in time that depends only on their lengths."""
    return _hmac.compare_digest(a, b)
