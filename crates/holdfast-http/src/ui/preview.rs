//! The preview of an action before it is decided, shared by the case page and the bulk page:
//! each name's planned effect in words, the counts, the approvals it needs, why deciding it
//! as it stands would be refused, and the fields the Decide form sends again unchanged.

use holdfast_model::{DomainName, DsRecord, Effect};
use holdfast_service::{ActionPreview, Need, PreviewResult};

use super::format::time;
use super::session::Fields;

/// One name of the preview.
pub struct PreviewRow {
    pub name: String,
    pub result: &'static str,
    /// `changes`, `already`, … for styling.
    pub class: &'static str,
    /// What would change, or why not, one line each.
    pub lines: Vec<String>,
}

/// One approval the decision needs.
pub struct ApprovalRow {
    pub need: &'static str,
    pub met: bool,
    pub detail: String,
}

/// A preview as a page shows it.
pub struct PreviewView {
    pub kind: String,
    pub counts: String,
    pub rows: Vec<PreviewRow>,
    /// Names counted but not listed.
    pub more: usize,
    pub approvals: Vec<ApprovalRow>,
    pub problems: Vec<String>,
    /// Where the Decide form goes, and the fields it sends again.
    pub decide_to: String,
    pub fields: Vec<(String, String)>,
}

fn result_words(result: PreviewResult) -> &'static str {
    match result {
        PreviewResult::Changes => "would change",
        PreviewResult::Already => "already so",
        PreviewResult::Refused => "refused",
        PreviewResult::NotOurs => "not ours",
        PreviewResult::Invalid => "invalid",
    }
}

fn hosts(names: &[DomainName]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(DomainName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn ds_text(records: &[DsRecord]) -> String {
    records
        .iter()
        .map(|ds| format!("key tag {} (algorithm {})", ds.key_tag, ds.algorithm))
        .collect::<Vec<_>>()
        .join(", ")
}

fn registrar(id: Option<i64>) -> String {
    id.map_or_else(|| "none".to_owned(), |id| format!("registrar {id}"))
}

/// What an effect changes, one line per kind of change.
pub fn effect_lines(effect: &Effect) -> Vec<String> {
    let mut lines = Vec::new();
    if effect.created {
        lines.push("registered to the registry's own registrar".to_owned());
    }
    if !effect.added_statuses.is_empty() {
        let added: Vec<&str> = effect.added_statuses.iter().map(|s| s.as_str()).collect();
        lines.push(format!("statuses added: {}", added.join(", ")));
    }
    if let Some(nameservers) = &effect.nameservers {
        lines.push(format!(
            "name servers: {} → {}",
            hosts(&nameservers.before),
            hosts(&nameservers.after)
        ));
    }
    if let Some(ds) = &effect.ds {
        if ds.after.is_empty() {
            lines.push(format!("DS removed: {}", ds_text(&ds.before)));
        } else {
            lines.push(format!(
                "DS: {} → {}",
                ds_text(&ds.before),
                ds_text(&ds.after)
            ));
        }
    }
    if let Some(moved) = &effect.registrar {
        lines.push(format!(
            "sponsor: {} → {}",
            registrar(moved.before),
            registrar(moved.after)
        ));
    }
    if let Some(deleted) = &effect.deleted {
        lines.push(format!(
            "deleted from the registry (name servers {}; restored exactly by undo)",
            hosts(&deleted.nameservers)
        ));
    }
    if let Some(until) = effect.blocked_until {
        lines.push(format!("blocked until {}", time(until)));
    }
    lines
}

fn need_words(need: Need) -> &'static str {
    match need {
        Need::SecondApprover => "A second approver",
        Need::LegalDirection => "A documented direction",
        Need::Waiver => "A Security Response Waiver",
    }
}

impl PreviewView {
    /// The page's view of `preview`, deciding through `decide_to` with `fields` again.
    pub fn new(preview: &ActionPreview, fields: &Fields, decide_to: String) -> PreviewView {
        let counts = preview
            .counts
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(result, count)| format!("{count} {}", result_words(*result)))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = preview
            .names
            .iter()
            .map(|name| PreviewRow {
                name: name.name.clone(),
                result: result_words(name.result),
                class: name.result.as_str(),
                lines: name
                    .effect
                    .as_ref()
                    .map(effect_lines)
                    .unwrap_or_default()
                    .into_iter()
                    .chain(name.detail.clone())
                    .collect(),
            })
            .collect();
        PreviewView {
            kind: preview.kind.as_str().to_owned(),
            counts: format!("{} names: {counts}", preview.total),
            more: preview.total.saturating_sub(preview.names.len()),
            rows,
            approvals: preview
                .approvals
                .iter()
                .map(|approval| ApprovalRow {
                    need: need_words(approval.need),
                    met: approval.met,
                    detail: approval.detail.clone(),
                })
                .collect(),
            problems: preview
                .problems
                .iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect(),
            decide_to,
            fields: fields
                .pairs()
                .iter()
                .filter(|(key, _)| key != "csrf" && key != "once")
                .cloned()
                .collect(),
        }
    }
}
