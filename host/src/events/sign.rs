//! Signing as the Standard Webhooks specification says (<https://www.standardwebhooks.com>):
//!
//! - `webhook-id`: the event id, the same on every attempt;
//! - `webhook-timestamp`: when this attempt was sent, Unix seconds;
//! - `webhook-signature`: `v1,` and the base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`,
//!   keyed with the base64-decoded part of the secret after `whsec_`. During a rotation's grace
//!   period the header carries one signature per secret, space-separated; verifiers accept a
//!   delivery when any of them matches.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Random bytes in a new secret (the specification asks for 24 to 64).
#[cfg(test)]
const SECRET_BYTES: usize = 32;

/// A new signing secret: `whsec_` and the base64 of 32 bytes from the operating system's
/// generator.
pub fn new_secret() -> String {
    let key = crate::capability::vault::DataKey::generate();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key.expose()))
}

/// The key bytes of `secret`; `None` when it is not `whsec_` and base64.
fn key_of(secret: &str) -> Option<Zeroizing<Vec<u8>>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX)?;
    STANDARD.decode(encoded).ok().map(Zeroizing::new)
}

/// One `v1,<signature>` for `secret`.
fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = key_of(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header for `body` under every secret in `secrets` (the current one
/// first); secrets that are not `whsec_…` are skipped.
pub fn signature_header(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|secret| signature(secret, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_specification_test_vector() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature_header(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_rotation_signs_with_both_secrets_and_new_secrets_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX) && key_of(&a).unwrap().len() == SECRET_BYTES);
        let header = signature_header(&[&a, &b], "evt_1", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_eq!(signature_header(&["not-a-secret"], "evt_1", 1, b"{}"), "");
    }
}
