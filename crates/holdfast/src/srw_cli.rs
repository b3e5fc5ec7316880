//! The Security Response Waiver commands: a registry or registrar drafts a request from a JSON
//! file and submits it; the reviewers take the review steps and decide; both write the
//! after-action report; anyone reads the published figures.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::client::Client;

/// `holdfast srw`.
#[derive(Debug, Subcommand)]
pub enum SrwCommand {
    /// Start a request from a JSON file (any fields; the answer lists what is missing).
    Draft {
        #[arg(long)]
        file: PathBuf,
    },
    /// Rewrite a draft from a JSON file.
    Edit {
        id: i64,
        #[arg(long)]
        file: PathBuf,
    },
    /// Submit a complete draft: the review clocks start.
    Submit { id: i64 },
    /// Attach a file (at most 10 MiB; its SHA-256 is recorded).
    Attach { id: i64, file: PathBuf },
    /// Your organisation's requests, or for reviewers every submitted one.
    List,
    /// One request with its deadlines, review and issued waiver.
    Show { id: i64 },
    /// A review step.
    Review {
        id: i64,
        #[arg(value_enum)]
        step: Step,
        /// The named reviewer (assign-reviewer).
        #[arg(long)]
        reviewer: Option<String>,
        /// The answer (decide).
        #[arg(long, value_enum)]
        decision: Option<DecisionArg>,
        /// The waiver updated, or whose scope covers the request (decide).
        #[arg(long)]
        waiver: Option<i64>,
        /// Why the waiver is not granted (decide not-granted).
        #[arg(long)]
        reason: Option<String>,
        /// The waiver's terms as a JSON file (decide new-waiver or updated-waiver).
        #[arg(long)]
        terms: Option<PathBuf>,
        /// The question (ask-information), the answer (answer-information), or a note.
        #[arg(long)]
        message: Option<String>,
    },
    /// Write to a submitted request's thread.
    Message {
        id: i64,
        #[arg(long)]
        text: String,
    },
    /// Waivers with their versions (one waiver's with an id).
    Waivers { id: Option<i64> },
    /// The after-action report: show it, write a section, redact a passage, approve.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The published yearly figures (JSON, or the open-data CSV with --csv).
    Figures {
        #[arg(long)]
        csv: bool,
    },
}

/// `holdfast srw report`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The report, its redactions and the preview of its published form.
    Show { id: i64 },
    /// Write a section (timeline, actions, outcome, lessons) from a text file.
    Write {
        id: i64,
        section: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Mark a passage of a section confidential.
    Redact {
        id: i64,
        section: String,
        #[arg(long)]
        passage: String,
        #[arg(long)]
        reason: String,
        /// Which appearance of the passage (1 = the first).
        #[arg(long, default_value_t = 1)]
        occurrence: usize,
    },
    /// Approve the text and redactions as they are, for your side.
    Approve { id: i64 },
}

/// A review step.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Step {
    AssignReviewer,
    ConfirmIncident,
    AskInformation,
    AnswerInformation,
    Discuss,
    Decide,
}

/// A decision.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DecisionArg {
    NewWaiver,
    UpdatedWaiver,
    InScope,
    NotGranted,
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn decision(
    decision: Option<DecisionArg>,
    waiver: Option<i64>,
    reason: Option<String>,
) -> anyhow::Result<Value> {
    let waiver = || waiver.context("--waiver: name the waiver");
    Ok(
        match decision.context("--decision: say what the answer is")? {
            DecisionArg::NewWaiver => json!("new_waiver"),
            DecisionArg::UpdatedWaiver => json!({ "updated_waiver": { "waiver_id": waiver()? } }),
            DecisionArg::InScope => json!({ "in_scope_of_existing": { "waiver_id": waiver()? } }),
            DecisionArg::NotGranted => json!({ "not_granted": {
            "reason": reason.context("--reason: say why the waiver is not granted")?
        } }),
        },
    )
}

/// Runs an `srw` command.
pub fn srw(client: &Client, command: SrwCommand) -> anyhow::Result<Value> {
    match command {
        SrwCommand::Draft { file } => client.post("/api/v1/srw", &read_json(&file)?),
        SrwCommand::Edit { id, file } => {
            client.put(&format!("/api/v1/srw/{id}"), &read_json(&file)?)
        }
        SrwCommand::Submit { id } => client.post(&format!("/api/v1/srw/{id}/submit"), &json!({})),
        SrwCommand::Attach { id, file } => {
            let name = file
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
            let opened = std::fs::File::open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            client.post_file(
                &format!("/api/v1/srw/{id}/attachments?filename={name}"),
                "application/octet-stream",
                opened,
            )
        }
        SrwCommand::List => client.get("/api/v1/srw"),
        SrwCommand::Show { id } => client.get(&format!("/api/v1/srw/{id}")),
        SrwCommand::Review {
            id,
            step,
            reviewer,
            decision: answer,
            waiver,
            reason,
            terms,
            message,
        } => {
            let mut body = match step {
                Step::AssignReviewer => json!({ "step": "assign_reviewer",
                    "reviewer": reviewer.context("--reviewer: name the reviewer")? }),
                Step::ConfirmIncident => json!({ "step": "confirm_incident" }),
                Step::AskInformation => json!({ "step": "ask_information" }),
                Step::AnswerInformation => json!({ "step": "answer_information" }),
                Step::Discuss => json!({ "step": "discuss" }),
                Step::Decide => {
                    let mut body =
                        json!({ "step": "decide", "decision": decision(answer, waiver, reason)? });
                    if let Some(terms) = terms {
                        body["terms"] = read_json(&terms)?;
                    }
                    body
                }
            };
            if let Some(message) = message {
                body["message"] = json!(message);
            }
            client.post(&format!("/api/v1/srw/{id}/review"), &body)
        }
        SrwCommand::Message { id, text } => client.post(
            &format!("/api/v1/srw/{id}/messages"),
            &json!({ "text": text }),
        ),
        SrwCommand::Waivers { id: None } => client.get("/api/v1/waivers"),
        SrwCommand::Waivers { id: Some(id) } => client.get(&format!("/api/v1/waivers/{id}")),
        SrwCommand::Report(command) => report(client, command),
        SrwCommand::Figures { csv: false } => client.get("/api/v1/srw/figures"),
        SrwCommand::Figures { csv: true } => client
            .get_text("/published/srw/figures.csv")
            .map(Value::String),
    }
}

fn report(client: &Client, command: ReportCommand) -> anyhow::Result<Value> {
    let edit = |id: i64, body: Value| client.post(&format!("/api/v1/srw/{id}/report"), &body);
    match command {
        ReportCommand::Show { id } => client.get(&format!("/api/v1/srw/{id}/report")),
        ReportCommand::Write { id, section, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            edit(
                id,
                json!({ "edit": "write", "section": section, "text": text }),
            )
        }
        ReportCommand::Redact {
            id,
            section,
            passage,
            reason,
            occurrence,
        } => edit(
            id,
            json!({ "edit": "redact", "section": section, "passage": passage,
                    "reason": reason, "occurrence": occurrence }),
        ),
        ReportCommand::Approve { id } => edit(id, json!({ "edit": "approve" })),
    }
}
