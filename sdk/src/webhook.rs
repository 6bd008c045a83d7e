//! Webhook signature checks, over raw bytes and in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// True when `signature_hex` (case-insensitive hex) is the HMAC-SHA256 of `message` under `key`.
/// The comparison takes the same time wherever the first difference is.
pub fn verify_hmac_sha256_hex(key: &[u8], message: &[u8], signature_hex: &str) -> bool {
    match hex::decode(signature_hex.trim()) {
        Ok(expected) => verify_hmac_sha256(key, message, &expected),
        Err(_) => false,
    }
}

/// True when `expected` is the HMAC-SHA256 of `message` under `key`, compared in constant time.
pub fn verify_hmac_sha256(key: &[u8], message: &[u8], expected: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.verify_slice(expected).is_ok()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231, test case 2.
    const KEY: &[u8] = b"Jefe";
    const MESSAGE: &[u8] = b"what do ya want for nothing?";
    const DIGEST: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        assert_eq!(hex::encode(hmac_sha256(KEY, MESSAGE)), DIGEST);
        assert!(verify_hmac_sha256_hex(KEY, MESSAGE, DIGEST));
        assert!(verify_hmac_sha256_hex(KEY, MESSAGE, &DIGEST.to_uppercase()));
    }

    #[test]
    fn tampered_bodies_wrong_keys_and_garbage_are_refused() {
        assert!(!verify_hmac_sha256_hex(
            KEY,
            b"what do ya want for nothing!",
            DIGEST
        ));
        assert!(!verify_hmac_sha256_hex(b"jefe", MESSAGE, DIGEST));
        assert!(!verify_hmac_sha256_hex(KEY, MESSAGE, "not hex"));
        assert!(!verify_hmac_sha256_hex(KEY, MESSAGE, &DIGEST[..62]));
        assert!(!verify_hmac_sha256_hex(KEY, MESSAGE, ""));
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"secret-url-token", b"secret-url-token"));
        assert!(!constant_time_eq(b"secret-url-token", b"secret-url-tokem"));
        assert!(!constant_time_eq(b"short", b"longer"));
    }
}
