//! Reading and verifying the audit log.

use holdfast_model::audit::{AuditEntry, ChainError, ChainVerifier};
use holdfast_model::org::{Actor, Permission, Role};
use serde::Serialize;

use crate::{Result, Service, ServiceError, require};

/// Entries read per query while verifying.
const PAGE: i64 = 1000;

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    /// Entries that verified, from the first.
    pub verified: i64,
    /// The first fault, naming its entry; `None` when the whole chain verified.
    pub error: Option<ChainError>,
}

/// Checks a page size (field `limit`): 1 to 1000.
pub(crate) fn check_limit(limit: i64) -> Result<()> {
    if (1..=PAGE).contains(&limit) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "limit",
            format!("must be between 1 and {PAGE}"),
        ))
    }
}

impl Service {
    /// Up to `limit` (1 to 1000) entries after `after_seq`: all for admins, those of their own
    /// organisation for staff.
    pub async fn audit_entries(
        &self,
        actor: &Actor,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        require(actor, Permission::ReadAudit)?;
        check_limit(limit)?;
        let scope = (actor.role != Role::Admin).then_some(actor.org_id);
        let mut tx = self.store.read().await?;
        Ok(tx.audit_entries(after_seq, limit, scope).await?)
    }

    /// Walks the whole chain from its first entry (admins only).
    pub async fn verify_audit(&self, actor: &Actor) -> Result<AuditVerification> {
        require(actor, Permission::VerifyAudit)?;
        let mut tx = self.store.read().await?;
        let mut verifier = ChainVerifier::new();
        let mut after = 0;
        loop {
            let page = tx.audit_entries(after, PAGE, None).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for entry in &page {
                if let Err(error) = verifier.check(entry) {
                    return Ok(AuditVerification {
                        verified: verifier.verified(),
                        error: Some(error),
                    });
                }
            }
        }
        Ok(AuditVerification {
            verified: verifier.verified(),
            error: None,
        })
    }
}
