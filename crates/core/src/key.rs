//! Ed25519 keys: generation, the one-line text formats on disk, key ids, and signing with a
//! domain-separation prefix. Does not decide which keys are trusted (see `trust`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use sha2::{Digest as _, Sha256};
use std::fmt;

/// Domain prefix for skill manifest signatures (DESIGN §4).
pub const SKILL_DOMAIN: &[u8] = b"aegisclaw-skill-v1\n";
/// Domain prefix for audit checkpoint signatures.
pub const CHECKPOINT_DOMAIN: &[u8] = b"aegisclaw-checkpoint-v1\n";

const SECRET_PREFIX: &str = "ed25519-secret:";
const PUBLIC_PREFIX: &str = "ed25519:";

/// Errors from reading keys and checking signatures.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The system random source failed.
    #[error("cannot read the system random source: {reason}")]
    Random {
        /// What getrandom reported.
        reason: String,
    },
    /// Text that is not `ed25519-secret:<base64 of 32 bytes>`.
    #[error("malformed secret key: expected `ed25519-secret:<base64 of 32 bytes>`")]
    MalformedSecret,
    /// Text that is not `ed25519:<base64 of 32 bytes>`.
    #[error("malformed public key `{text}`: expected `ed25519:<base64 of 32 bytes>`")]
    MalformedPublic {
        /// The text that failed to parse (public keys are not secret).
        text: String,
    },
    /// Text that is not `ed25519:<base64 of 64 bytes>`.
    #[error("malformed signature `{text}`: expected `ed25519:<base64 of 64 bytes>`")]
    MalformedSignature {
        /// The offending text.
        text: String,
    },
    /// The signature does not match the message and key.
    #[error("signature does not verify with key `{key_id}`")]
    BadSignature {
        /// The key id the signature was checked against.
        key_id: String,
    },
}

/// A private ed25519 signing key. Its `Debug` output never shows the secret.
///
/// Loading one only decodes its seed: the expanded key (a scalar multiplication, the costly
/// part) is derived at the first signature or public key, so a writer that loads the audit key
/// before a run can sign its checkpoint while the run's last records are being fsynced.
#[derive(Clone)]
pub struct SigningKey {
    seed: zeroize::Zeroizing<[u8; 32]>,
    inner: std::sync::OnceLock<ed25519_dalek::SigningKey>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public().key_id())
    }
}

impl SigningKey {
    /// Generates a new key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|error| KeyError::Random {
            reason: error.to_string(),
        })?;
        Ok(Self::from_seed(seed))
    }

    /// Builds a key from its 32-byte seed (used by known-answer tests).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            seed: zeroize::Zeroizing::new(seed),
            inner: std::sync::OnceLock::new(),
        }
    }

    fn expanded(&self) -> &ed25519_dalek::SigningKey {
        self.inner
            .get_or_init(|| ed25519_dalek::SigningKey::from_bytes(&self.seed))
    }

    /// Parses the one-line file format `ed25519-secret:<base64>`.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(KeyError::MalformedSecret)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| KeyError::MalformedSecret)?;
        let bytes = zeroize::Zeroizing::new(bytes);
        let seed: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::MalformedSecret)?;
        Ok(Self::from_seed(seed))
    }

    /// The one-line file format, with a trailing newline.
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}\n", STANDARD.encode(*self.seed))
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            inner: self.expanded().verifying_key(),
        }
    }

    /// Signs `domain || message`.
    pub fn sign(&self, domain: &[u8], message: &[u8]) -> Signature {
        let mut signed = Vec::with_capacity(domain.len() + message.len());
        signed.extend_from_slice(domain);
        signed.extend_from_slice(message);
        Signature {
            inner: self.expanded().sign(&signed),
        }
    }
}

/// A public ed25519 key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    inner: ed25519_dalek::VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl PublicKey {
    /// Parses `ed25519:<base64 of 32 bytes>`.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let trimmed = text.trim();
        let malformed = || KeyError::MalformedPublic {
            text: trimmed.chars().take(80).collect(),
        };
        let encoded = trimmed.strip_prefix(PUBLIC_PREFIX).ok_or_else(malformed)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| malformed())?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| malformed())?;
        let inner = ed25519_dalek::VerifyingKey::from_bytes(&array).map_err(|_| malformed())?;
        Ok(Self { inner })
    }

    /// The one-line text form, without a newline.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_PREFIX}{}", STANDARD.encode(self.inner.as_bytes()))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.inner.as_bytes()
    }

    /// First 16 hex digits of sha256 of the raw public key (DESIGN §4 `publisher`).
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.inner.as_bytes());
        hex::encode(&digest[..8])
    }

    /// Checks `signature` over `domain || message`, rejecting non-canonical signatures.
    pub fn verify(
        &self,
        domain: &[u8],
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), KeyError> {
        let mut signed = Vec::with_capacity(domain.len() + message.len());
        signed.extend_from_slice(domain);
        signed.extend_from_slice(message);
        self.inner
            .verify_strict(&signed, &signature.inner)
            .map_err(|_| KeyError::BadSignature {
                key_id: self.key_id(),
            })
    }
}

/// An ed25519 signature, written `ed25519:<base64 of 64 bytes>`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Signature {
    inner: ed25519_dalek::Signature,
}

impl Signature {
    /// Parses `ed25519:<base64 of 64 bytes>`.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let malformed = || KeyError::MalformedSignature {
            text: text.chars().take(100).collect(),
        };
        let encoded = text.strip_prefix(PUBLIC_PREFIX).ok_or_else(malformed)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| malformed())?;
        let array: [u8; 64] = bytes.try_into().map_err(|_| malformed())?;
        Ok(Self {
            inner: ed25519_dalek::Signature::from_bytes(&array),
        })
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_PREFIX}{}", STANDARD.encode(self.inner.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1 test 1: empty message, known seed, known public key and signature.
    #[test]
    fn rfc8032_test_vector_one() {
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let key = SigningKey::from_seed(seed);
        assert_eq!(
            hex::encode(key.public().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let signature = key.sign(b"", b"");
        assert_eq!(
            hex::encode(signature.inner.to_bytes()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        key.public().verify(b"", b"", &signature).unwrap();
    }

    #[test]
    fn text_forms_round_trip_and_domain_matters() {
        let key = SigningKey::from_seed([7; 32]);
        let again = SigningKey::from_text(&key.to_text()).unwrap();
        assert_eq!(again.public(), key.public());
        let public = PublicKey::from_text(&key.public().to_text()).unwrap();
        assert_eq!(public.key_id().len(), 16);
        let signature = key.sign(SKILL_DOMAIN, b"message");
        let parsed = Signature::from_text(&signature.to_text()).unwrap();
        public.verify(SKILL_DOMAIN, b"message", &parsed).unwrap();
        assert_eq!(
            public.verify(CHECKPOINT_DOMAIN, b"message", &parsed),
            Err(KeyError::BadSignature {
                key_id: public.key_id()
            })
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = SigningKey::from_seed([9; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.to_text()[SECRET_PREFIX.len()..40]));
    }
}
