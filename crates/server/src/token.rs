//! Random tokens (sessions, share links, digest unsubscribe links, webhook
//! secrets, record ids) and how the ones that open something are kept.

/// A random token: 32 bytes from the OS, as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS has a source of randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How a token is kept in the store: a copy of the store opens nothing.
pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
