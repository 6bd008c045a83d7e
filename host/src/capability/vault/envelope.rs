//! AES-256-GCM sealing with associated data: the primitive under data keys and the local KEK.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use zeroize::Zeroizing;

/// Bytes of the random nonce stored in front of every ciphertext (96 bits, GCM's native size).
pub const NONCE_LEN: usize = 12;

/// A 256-bit key, wiped from memory when dropped.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let key = Aes256Gcm::generate_key(OsRng);
        DataKey(Zeroizing::new(key.into()))
    }

    /// A key from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(DataKey(Zeroizing::new(array)))
    }

    /// The raw key (for wrapping under a key-encryption key).
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// `nonce || ciphertext+tag` of `plaintext`, bound to `aad`, under a fresh random nonce.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.0.as_ref()));
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The plaintext of `sealed`, if it was sealed under this key with exactly this `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + 16 {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.0.as_ref()));
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_only_with_the_same_key_and_aad() {
        let key = DataKey::generate();
        let sealed = key.seal(b"tenant-a|conn-1|access-token|1", b"EAAB-token");
        assert_eq!(
            key.open(b"tenant-a|conn-1|access-token|1", &sealed)
                .unwrap()
                .as_slice(),
            b"EAAB-token"
        );
        assert!(
            key.open(b"tenant-a|conn-2|access-token|1", &sealed)
                .is_none()
        );
        assert!(
            DataKey::generate()
                .open(b"tenant-a|conn-1|access-token|1", &sealed)
                .is_none()
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(
            key.open(b"tenant-a|conn-1|access-token|1", &tampered)
                .is_none()
        );
        assert!(key.open(b"", &sealed[..10]).is_none());
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let key = DataKey::generate();
        let a = key.seal(b"", b"same");
        let b = key.seal(b"", b"same");
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
        assert_ne!(a, b);
        assert!(!format!("{key:?}").contains(|c: char| c.is_ascii_digit()));
    }
}
