//! Secrets: API tokens (random, stored as SHA-256) and passwords (argon2id).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

use crate::{Result, ServiceError};

/// Every token starts with this, so that leaked tokens are recognisable.
pub(crate) const TOKEN_PREFIX: &str = "hf_";

/// A new random token and the hash under which it is stored.
pub(crate) fn new_token() -> Result<(String, String)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::Internal {
        what: format!("no randomness available: {e}"),
    })?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// The stored form of a token.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hashes a password with argon2id and a random salt.
pub(crate) fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ServiceError::Internal {
        what: format!("no randomness available: {e}"),
    })?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| ServiceError::invalid("password", e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ServiceError::invalid("password", e.to_string()))
}

/// A valid argon2id hash of no one's password, to verify against when there is no user.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("no user has this password").unwrap_or_default())
}

/// Whether `password` matches a stored argon2 hash.
pub(crate) fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let (a, hash_a) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == 67);
        assert_eq!(hash_a, token_hash(&a));
        assert!(!hash_a.contains(&a[3..]));
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let stored = hash_password("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(password_matches("correct horse battery", &stored));
        assert!(!password_matches("correct horse battery!", &stored));
        assert!(!password_matches("anything", "not a hash"));
        assert!(decoy_hash().starts_with("$argon2id$"));
    }
}
