//! Idempotency tokens and creator request ids: the same request sent again (a retried
//! invocation, a second run) carries the same token, so AWS does it once.
//!
//! Each token is a SHA-256 over a canonical form of what the request asks for: the JSON of a
//! domain value whose maps are ordered (`BTreeMap`), never `Debug` output or std's hasher,
//! whose results may differ between processes or compiler versions.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::AwsError;

/// What every token Bulwark sends starts with: how it tells what it created from the rest.
pub const PREFIX: &str = "bulwark-";

/// A token of at most `max_len` characters from `[a-z0-9-]`: the prefix and as many hex
/// characters of the digest as fit (at least 16, 64 bits, so collisions stay negligible).
pub fn token(max_len: usize, purpose: &str, value: &impl Serialize) -> Result<String, AwsError> {
    let canonical = serde_json::to_vec(value).map_err(|e| AwsError::Malformed(e.to_string()))?;
    let mut hasher = Sha256::new();
    hasher.update(purpose.as_bytes());
    hasher.update([0u8]);
    hasher.update(&canonical);
    let digest = hex::encode(hasher.finalize());
    let room = max_len.saturating_sub(PREFIX.len()).min(digest.len());
    if room < 16 {
        return Err(AwsError::Malformed(format!(
            "a token of {max_len} characters leaves no room for a digest"
        )));
    }
    Ok(format!("{PREFIX}{}", &digest[..room]))
}

/// AWS Backup's `CreatorRequestId` (CreateBackupVault, CreateBackupPlan,
/// CreateBackupSelection): "1 to 50 alphanumeric or '-_.' characters".
pub const CREATOR_REQUEST_ID_MAX: usize = 50;
/// DynamoDB's `ClientRequestToken` (TransactWriteItems): 1 to 36 characters.
pub const CLIENT_REQUEST_TOKEN_MAX: usize = 36;

/// A CreatorRequestId for an AWS Backup object.
pub fn creator_request_id(purpose: &str, value: &impl Serialize) -> Result<String, AwsError> {
    token(CREATOR_REQUEST_ID_MAX, purpose, value)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn tokens_fit_the_documented_limits_and_alphabet() {
        let long_name = "x".repeat(200);
        for (max, id) in [
            (
                CREATOR_REQUEST_ID_MAX,
                creator_request_id("selection", &long_name).expect("id"),
            ),
            (
                CLIENT_REQUEST_TOKEN_MAX,
                token(CLIENT_REQUEST_TOKEN_MAX, "write", &long_name).expect("token"),
            ),
        ] {
            assert!(id.len() <= max, "{id} is longer than {max}");
            assert!(id.starts_with(PREFIX));
            assert!(id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        }
    }

    #[test]
    fn the_same_value_gives_the_same_token_and_another_value_another() {
        let mut a = BTreeMap::new();
        a.insert("b", 2);
        a.insert("a", 1);
        let mut b = BTreeMap::new();
        b.insert("a", 1);
        b.insert("b", 2);
        let ta = creator_request_id("plan", &a).expect("id");
        assert_eq!(ta, creator_request_id("plan", &b).expect("id"));
        assert_ne!(ta, creator_request_id("selection", &a).expect("id"));
        b.insert("b", 3);
        assert_ne!(ta, creator_request_id("plan", &b).expect("id"));
    }

    #[test]
    fn a_limit_without_room_for_a_digest_is_refused() {
        assert!(token(20, "x", &1).is_err());
    }
}
