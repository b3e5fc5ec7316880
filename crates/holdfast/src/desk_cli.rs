//! The case desk's commands: file a report (names given, or a file of any size streamed), attach
//! evidence, follow one's reports; staff list the queue, show a case and take its steps.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::client::Client;

/// `holdfast report`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// File a report: holdfast report submit NAME… --threat-type T [--from-file F].
    Submit {
        /// The names (or give --from-file).
        names: Vec<String>,
        /// malware, botnet_cc, phishing, pharming, spam, csam or other.
        #[arg(long)]
        threat_type: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A file of names: CSV (first column) or one per line; streamed, any size.
        #[arg(long, conflicts_with = "names")]
        from_file: Option<PathBuf>,
        /// URLs of the abuse (their hosts count as names).
        #[arg(long = "abuse-url")]
        urls: Vec<String>,
        /// The registry (organisation id) the report is for, when the names do not say.
        #[arg(long)]
        registry: Option<i64>,
        /// Evidence files to attach (SHA-256 recorded).
        #[arg(long = "evidence")]
        evidence: Vec<PathBuf>,
    },
    /// Your reports.
    List,
    /// One report: where its case stands and the desk's answers.
    Show { id: i64 },
}

/// `holdfast case`.
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// The queue: open cases, nearest deadline first.
    List {
        /// Include closed cases.
        #[arg(long)]
        all: bool,
    },
    /// A case with its reports, clocks, actions and messages.
    Show { id: i64 },
    /// Acknowledge a case: the reporters are told.
    Acknowledge { id: i64 },
    /// Close a case without acting; the reporters are told why.
    CloseNoAction {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Close a mitigated case.
    Close {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
}

fn query_value(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Runs a `report` command.
pub fn report(client: &Client, command: ReportCommand) -> anyhow::Result<Value> {
    match command {
        ReportCommand::Submit {
            names,
            threat_type,
            description,
            from_file,
            urls,
            registry,
            evidence,
        } => {
            let receipt = match from_file {
                Some(path) => {
                    let file = std::fs::File::open(&path)
                        .with_context(|| format!("opening {}", path.display()))?;
                    let mut query = format!(
                        "/api/v1/reports/bulk?threat_type={}&description={}",
                        query_value(&threat_type),
                        query_value(&description)
                    );
                    if let Some(registry) = registry {
                        query.push_str(&format!("&registry={registry}"));
                    }
                    client.post_file(&query, "text/csv", file)?
                }
                None => client.post(
                    "/api/v1/reports",
                    &json!({ "threat_type": threat_type, "description": description,
                             "names": names, "urls": urls, "registry": registry }),
                )?,
            };
            for path in evidence {
                let file = std::fs::File::open(&path)
                    .with_context(|| format!("opening {}", path.display()))?;
                let filename = path
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let target = format!(
                    "/api/v1/reports/{}/evidence?filename={}",
                    receipt["report_id"],
                    query_value(&filename)
                );
                client.post_file(&target, "application/octet-stream", file)?;
            }
            Ok(receipt)
        }
        ReportCommand::List => client.get("/api/v1/reports"),
        ReportCommand::Show { id } => client.get(&format!("/api/v1/reports/{id}")),
    }
}

/// Runs a `case` command.
pub fn case(client: &Client, command: CaseCommand) -> anyhow::Result<Value> {
    let step = |id: i64, body: Value| client.post(&format!("/api/v1/cases/{id}/steps"), &body);
    match command {
        CaseCommand::List { all } => client.get(&format!("/api/v1/cases?all={all}")),
        CaseCommand::Show { id } => client.get(&format!("/api/v1/cases/{id}")),
        CaseCommand::Acknowledge { id } => step(id, json!({ "step": "acknowledge" })),
        CaseCommand::CloseNoAction { id, reason } => {
            step(id, json!({ "step": "close_no_action", "reason": reason }))
        }
        CaseCommand::Close { id, note } => step(id, json!({ "step": "close", "note": note })),
    }
}
