//! The audit chain: each entry carries the hash of the one before it, so any change is detectable.

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry says, before it is chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Who acted: a user's e-mail address, or `system` for the server's own work.
    pub actor: String,
    /// The acting user's id, if a user acted.
    pub actor_user_id: Option<i64>,
    /// The organisation whose data changed, if any; scopes who may read the entry.
    pub org_id: Option<i64>,
    /// What happened, e.g. `organisation.create`.
    pub action: String,
    /// What it happened to, e.g. `organisation:3`.
    pub subject: String,
    /// Why, in the actor's words (may be empty for routine changes).
    pub reason: String,
    /// The change itself, as JSON.
    pub details: serde_json::Value,
}

/// A stored entry: the event, its place in the chain, and the hashes that link it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When it was recorded.
    pub at: Timestamp,
    /// What was recorded.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// The hash of entry `seq - 1`, or [`GENESIS_HASH`].
    pub prev_hash: String,
    /// The hash of this entry's content and `prev_hash`.
    pub hash: String,
}

impl AuditEntry {
    /// Chains `event` after an entry with sequence `prev_seq` and hash `prev_hash`.
    pub fn chain(prev_seq: i64, prev_hash: &str, at: Timestamp, event: AuditEvent) -> AuditEntry {
        let seq = prev_seq + 1;
        let hash = entry_hash(seq, at, &event, prev_hash);
        AuditEntry {
            seq,
            at,
            event,
            prev_hash: prev_hash.to_owned(),
            hash,
        }
    }
}

/// The hash of an entry: SHA-256 over every field, each length-prefixed so that no two different
/// entries can serialise to the same bytes.
pub fn entry_hash(seq: i64, at: Timestamp, event: &AuditEvent, prev_hash: &str) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(prev_hash.as_bytes());
    field(&seq.to_be_bytes());
    field(&at.as_microsecond().to_be_bytes());
    field(event.actor.as_bytes());
    field(&event.actor_user_id.unwrap_or(-1).to_be_bytes());
    field(&event.org_id.unwrap_or(-1).to_be_bytes());
    field(event.action.as_bytes());
    field(event.subject.as_bytes());
    field(event.reason.as_bytes());
    field(event.details.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// Why a chain does not verify, naming the first entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum ChainError {
    /// The entry's content does not match its stored hash: it was altered.
    #[error("audit entry {seq} was altered: its content does not match its hash")]
    Altered { seq: i64 },
    /// The entry does not point at the hash of the entry before it.
    #[error("audit entry {seq} does not link to entry {}: the chain was cut or reordered", seq - 1)]
    BrokenLink { seq: i64 },
    /// An entry is missing: sequence numbers jump.
    #[error("audit entry {expected} is missing (found {found} next)")]
    Missing { expected: i64, found: i64 },
}

impl ChainError {
    /// The sequence number of the entry at fault (for a gap, the missing one).
    pub fn entry(&self) -> i64 {
        match self {
            ChainError::Altered { seq } | ChainError::BrokenLink { seq } => *seq,
            ChainError::Missing { expected, .. } => *expected,
        }
    }
}

/// Walks a chain from its first entry and tells how many entries verified; stops at the first
/// entry at fault.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    last_seq: i64,
    last_hash: Option<String>,
}

impl ChainVerifier {
    /// Starts at the beginning of the chain.
    pub fn new() -> ChainVerifier {
        ChainVerifier::default()
    }

    /// Checks the next entry, in sequence order.
    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), ChainError> {
        let expected = self.last_seq + 1;
        if entry.seq != expected {
            return Err(ChainError::Missing {
                expected,
                found: entry.seq,
            });
        }
        let expected_prev = self.last_hash.as_deref().unwrap_or(GENESIS_HASH);
        if entry.prev_hash != expected_prev {
            return Err(ChainError::BrokenLink { seq: entry.seq });
        }
        if entry_hash(entry.seq, entry.at, &entry.event, &entry.prev_hash) != entry.hash {
            return Err(ChainError::Altered { seq: entry.seq });
        }
        self.last_seq = entry.seq;
        self.last_hash = Some(entry.hash.clone());
        Ok(())
    }

    /// How many entries verified so far.
    pub fn verified(&self) -> i64 {
        self.last_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str) -> AuditEvent {
        AuditEvent {
            actor: "admin@example.net".into(),
            actor_user_id: Some(1),
            org_id: Some(2),
            action: action.into(),
            subject: "organisation:2".into(),
            reason: String::new(),
            details: serde_json::json!({"name": "Example"}),
        }
    }

    fn chain(actions: &[&str]) -> Vec<AuditEntry> {
        let mut entries: Vec<AuditEntry> = Vec::new();
        for (i, action) in actions.iter().enumerate() {
            let (seq, hash) = entries
                .last()
                .map_or((0, GENESIS_HASH.to_owned()), |e| (e.seq, e.hash.clone()));
            let at = Timestamp::from_second(1_700_000_000 + i as i64).unwrap();
            entries.push(AuditEntry::chain(seq, &hash, at, event(action)));
        }
        entries
    }

    fn verify(entries: &[AuditEntry]) -> Result<i64, ChainError> {
        let mut verifier = ChainVerifier::new();
        for entry in entries {
            verifier.check(entry)?;
        }
        Ok(verifier.verified())
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify(&chain(&["a", "b", "c"])), Ok(3));
    }

    #[test]
    fn each_kind_of_tampering_names_the_entry() {
        let mut altered = chain(&["a", "b", "c"]);
        altered[1].event.reason = "covered up".into();
        assert_eq!(verify(&altered), Err(ChainError::Altered { seq: 2 }));
        assert_eq!(ChainError::Altered { seq: 2 }.entry(), 2);

        let mut rehashed = chain(&["a", "b", "c"]);
        rehashed[1].event.reason = "covered up".into();
        rehashed[1].hash = entry_hash(
            2,
            rehashed[1].at,
            &rehashed[1].event,
            &rehashed[1].prev_hash,
        );
        assert_eq!(verify(&rehashed), Err(ChainError::BrokenLink { seq: 3 }));

        let mut cut = chain(&["a", "b", "c"]);
        cut.remove(1);
        assert_eq!(
            verify(&cut),
            Err(ChainError::Missing {
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn fields_cannot_be_shifted_between_each_other() {
        let mut left = event("x");
        left.subject = "ab".into();
        left.reason = "c".into();
        let mut right = event("x");
        right.subject = "a".into();
        right.reason = "bc".into();
        let at = Timestamp::UNIX_EPOCH;
        assert_ne!(
            entry_hash(1, at, &left, GENESIS_HASH),
            entry_hash(1, at, &right, GENESIS_HASH)
        );
    }
}
