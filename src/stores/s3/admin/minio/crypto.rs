//! The encryption MinIO puts around secret-bearing admin-API bodies
//! (madmin-go `EncryptData` / `DecryptData`; minio-py `crypto`): a key
//! derived from the admin's secret key with Argon2id, then the sio-go
//! stream format with AES-256-GCM.
//!
//! ```text
//! salt (32) | AEAD id (1) | nonce (8) | fragment 1 | fragment 2 | ...
//! ```
//!
//! Each fragment is up to 16 KiB of plaintext sealed with its 16-byte tag.
//! Fragment `i` (from 1) uses the nonce `nonce || i as u32 little-endian`
//! and the associated data `flag || T`, where `T` is the tag of sealing
//! nothing under the nonce `nonce || 0`, and `flag` is `0x80` on the last
//! fragment and `0x00` before it. An empty plaintext is one empty last
//! fragment (as sio-go writes it; minio-py writes no fragment, which
//! `decrypt` accepts too).
//!
//! Only AEAD id 0 (Argon2id + AES-256-GCM) is produced and read: it is what
//! a MinIO server on a CPU with AES instructions answers with. Id 1
//! (ChaCha20-Poly1305, servers without them) and id 2 (PBKDF2, FIPS
//! builds) are reported as such, never misread.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use argon2::{Algorithm, Argon2, Params, Version};

const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 8;
const HEADER_LEN: usize = SALT_LEN + 1 + NONCE_LEN;
const TAG_LEN: usize = 16;
/// Plaintext bytes per fragment (sio-go's `BufSize`).
const CHUNK: usize = 16 * 1024;
/// Argon2id + AES-256-GCM.
const AEAD_AES_GCM: u8 = 0;
/// madmin's Argon2id cost: 1 pass, 64 MiB, 4 lanes.
const ARGON2_TIME: u32 = 1;
const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
const ARGON2_LANES: u32 = 4;

/// Why a body could not be encrypted or decrypted. The texts never hold
/// the password or the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CryptoError {
    #[error("encrypted body too short ({0} bytes)")]
    TooShort(usize),
    // Only the tests reach this (the `testing` feature): the tool itself does not.
    #[cfg(any(test, feature = "testing"))]
    #[error("encrypted with AEAD id {0}, which this tool does not read (only 0: AES-256-GCM)")]
    UnknownAead(u8),
    #[error("cannot decrypt the body: wrong admin secret key, or a damaged answer")]
    Authentication,
    #[error("no random bytes from the system: {0}")]
    Random(String),
    #[error("key derivation failed: {0}")]
    Kdf(String),
}

/// Encrypts `plaintext` for MinIO with `password` (the admin secret key),
/// with a fresh random salt and nonce.
pub(crate) fn encrypt(password: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut header = [0u8; HEADER_LEN];
    getrandom::fill(&mut header[..SALT_LEN]).map_err(|e| CryptoError::Random(e.to_string()))?;
    getrandom::fill(&mut header[SALT_LEN + 1..]).map_err(|e| CryptoError::Random(e.to_string()))?;
    header[SALT_LEN] = AEAD_AES_GCM;
    encrypt_with(password, &header, plaintext)
}

/// `encrypt` with a given header (salt, id, nonce): deterministic, for tests.
fn encrypt_with(
    password: &str,
    header: &[u8; HEADER_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let stream = Stream::new(password, header)?;
    let fragments = plaintext.len().div_ceil(CHUNK).max(1);
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + fragments * TAG_LEN);
    out.extend_from_slice(header);
    for index in 0..fragments {
        let start = index * CHUNK;
        let end = (start + CHUNK).min(plaintext.len());
        let mut buffer = plaintext[start..end].to_vec();
        let tag = stream.seal(index, index + 1 == fragments, &mut buffer)?;
        out.extend_from_slice(&buffer);
        out.extend_from_slice(&tag);
    }
    Ok(out)
}

// Only the tests reach this (the `testing` feature): the tool itself does not.
#[cfg(any(test, feature = "testing"))]
/// Decrypts a body MinIO (or `encrypt`) encrypted with `password`.
pub(crate) fn decrypt(password: &str, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let header: &[u8; HEADER_LEN] = data
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(CryptoError::TooShort(data.len()))?;
    if header[SALT_LEN] != AEAD_AES_GCM {
        return Err(CryptoError::UnknownAead(header[SALT_LEN]));
    }
    let stream = Stream::new(password, header)?;
    let mut rest = &data[HEADER_LEN..];
    let mut out = Vec::with_capacity(rest.len());
    let mut index = 0;
    while !rest.is_empty() {
        let take = rest.len().min(CHUNK + TAG_LEN);
        if take < TAG_LEN {
            return Err(CryptoError::TooShort(data.len()));
        }
        let (fragment, tail) = rest.split_at(take);
        let (sealed, tag) = fragment.split_at(take - TAG_LEN);
        let mut buffer = sealed.to_vec();
        stream.open(index, tail.is_empty(), &mut buffer, tag)?;
        out.extend_from_slice(&buffer);
        rest = tail;
        index += 1;
    }
    Ok(out)
}

/// The key, nonce prefix and base associated data of one body.
struct Stream {
    cipher: Aes256Gcm,
    nonce: [u8; NONCE_LEN],
    /// `0x00 || T`: the flag byte is set per fragment.
    associated: [u8; 1 + TAG_LEN],
}

impl Stream {
    fn new(password: &str, header: &[u8; HEADER_LEN]) -> Result<Stream, CryptoError> {
        let (salt, rest) = header.split_at(SALT_LEN);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&rest[1..]);
        let cipher = Aes256Gcm::new(&derive_key(password, salt)?.into());
        let mut associated = [0u8; 1 + TAG_LEN];
        let mut nothing = [0u8; 0];
        let tag = cipher
            .encrypt_in_place_detached(&full_nonce(&nonce, 0), &[], &mut nothing)
            .map_err(|_| CryptoError::Authentication)?;
        associated[1..].copy_from_slice(&tag);
        Ok(Stream {
            cipher,
            nonce,
            associated,
        })
    }

    /// The associated data of fragment `index` (from 0).
    fn associated(&self, last: bool) -> [u8; 1 + TAG_LEN] {
        let mut ad = self.associated;
        ad[0] = if last { 0x80 } else { 0x00 };
        ad
    }

    fn seal(&self, index: usize, last: bool, buffer: &mut [u8]) -> Result<Tag, CryptoError> {
        let nonce = full_nonce(&self.nonce, sequence(index)?);
        self.cipher
            .encrypt_in_place_detached(&nonce, &self.associated(last), buffer)
            .map_err(|_| CryptoError::Authentication)
    }

    // Only the tests reach this (the `testing` feature): the tool itself does not.
    #[cfg(any(test, feature = "testing"))]
    fn open(
        &self,
        index: usize,
        last: bool,
        buffer: &mut [u8],
        tag: &[u8],
    ) -> Result<(), CryptoError> {
        let nonce = full_nonce(&self.nonce, sequence(index)?);
        self.cipher
            .decrypt_in_place_detached(&nonce, &self.associated(last), buffer, Tag::from_slice(tag))
            .map_err(|_| CryptoError::Authentication)
    }
}

/// Fragment `index` (from 0) is sequence number `index + 1`.
fn sequence(index: usize) -> Result<u32, CryptoError> {
    u32::try_from(index + 1).map_err(|_| CryptoError::TooShort(usize::MAX))
}

/// `nonce || sequence` (little-endian): the 12-byte GCM nonce.
fn full_nonce(prefix: &[u8; NONCE_LEN], sequence: u32) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut full = [0u8; NONCE_LEN + 4];
    full[..NONCE_LEN].copy_from_slice(prefix);
    full[NONCE_LEN..].copy_from_slice(&sequence.to_le_bytes());
    full.into()
}

/// madmin's Argon2id key: 32 bytes from the password and salt.
fn derive_key(password: &str, salt: &[u8]) -> Result<[u8; 32], CryptoError> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_TIME, ARGON2_LANES, Some(32))
        .map_err(|e| CryptoError::Kdf(e.to_string()))?;
    let mut key = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut key)
        .map_err(|e| CryptoError::Kdf(e.to_string()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "admin-secret-key";

    #[test]
    fn round_trips_every_fragment_boundary() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 7] {
            let plaintext: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = encrypt(PASSWORD, &plaintext).expect("encrypt");
            let fragments = len.div_ceil(CHUNK).max(1);
            assert_eq!(
                sealed.len(),
                HEADER_LEN + len + fragments * TAG_LEN,
                "{len}"
            );
            assert_eq!(decrypt(PASSWORD, &sealed).expect("decrypt"), plaintext);
        }
    }

    #[test]
    fn a_wrong_password_or_a_cut_body_is_refused() {
        let sealed = encrypt(PASSWORD, &[7u8; CHUNK + 10]).expect("encrypt");
        assert_eq!(
            decrypt("another", &sealed),
            Err(CryptoError::Authentication)
        );
        // Dropping the last fragment makes the first one look last: its
        // associated data no longer matches.
        let cut = &sealed[..HEADER_LEN + CHUNK + TAG_LEN];
        assert_eq!(decrypt(PASSWORD, cut), Err(CryptoError::Authentication));
        assert_eq!(
            decrypt(PASSWORD, &sealed[..5]),
            Err(CryptoError::TooShort(5))
        );
    }

    #[test]
    fn other_aeads_are_named_not_misread() {
        let mut sealed = encrypt(PASSWORD, b"{}").expect("encrypt");
        sealed[SALT_LEN] = 1;
        assert_eq!(decrypt(PASSWORD, &sealed), Err(CryptoError::UnknownAead(1)));
    }

    /// A fixed vector: the same header and plaintext always give the same
    /// bytes (the cross-check with MinIO's own code is in the integration
    /// tests, tests/it/minio_admin.rs).
    #[test]
    fn encryption_is_deterministic_for_a_given_header() {
        let mut header = [0u8; HEADER_LEN];
        header[..SALT_LEN].copy_from_slice(&[1u8; SALT_LEN]);
        header[SALT_LEN + 1..].copy_from_slice(&[2u8; NONCE_LEN]);
        let a = encrypt_with(PASSWORD, &header, b"hello").expect("a");
        let b = encrypt_with(PASSWORD, &header, b"hello").expect("b");
        assert_eq!(a, b);
        assert_eq!(&a[..HEADER_LEN], &header);
    }
}
