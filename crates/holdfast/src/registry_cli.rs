//! The registry's commands: act on names (with a progress bar while a large list applies), the
//! registration guard, zone import and export, sponsors, sinkhole hosts.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::client::Client;

/// `holdfast act`: decide an action, or follow, approve, undo one.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ActArgs {
    #[command(subcommand)]
    command: Option<ActCommand>,
    #[command(flatten)]
    decide: DecideArgs,
}

#[derive(Debug, Subcommand)]
enum ActCommand {
    /// Undo an applied action: restore exactly what it changed.
    Undo {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Approve a proposed delete as the second approver.
    Approve { id: i64 },
    /// Show an action; with --names, each name's result.
    Show {
        id: i64,
        #[arg(long)]
        names: bool,
    },
    /// List the newest actions.
    List {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Debug, Args)]
struct DecideArgs {
    /// refer, hold, lock, redirect, transfer, delete, no-action, create or block.
    #[arg(required = true)]
    action: Option<String>,
    /// The names (or give --from-file).
    names: Vec<String>,
    /// A file of names, one per line (the first field of a line; `#` starts a comment).
    #[arg(long)]
    from_file: Option<PathBuf>,
    #[arg(long, required = true)]
    reason: Option<String>,
    /// The case this decision belongs to.
    #[arg(long = "case")]
    case_ref: Option<String>,
    /// Who asked (a reporter, a court order).
    #[arg(long)]
    requested_by: Option<String>,
    /// The gaining registrar's id (transfer).
    #[arg(long = "to")]
    to_registrar: Option<i64>,
    /// When a block lifts: a date (midnight UTC) or an RFC 3339 time.
    #[arg(long)]
    until: Option<String>,
    /// A referral's deadline: a date (midnight UTC) or an RFC 3339 time.
    #[arg(long)]
    deadline: Option<String>,
    /// The documented direction a delete acts on.
    #[arg(long = "direction")]
    legal_direction: Option<String>,
    /// Act now although no waiver covers a create (or a transfer to the internal registrar) on
    /// a gTLD; a retroactive waiver request is opened as a draft.
    #[arg(long)]
    emergency: bool,
    /// Return once the decision is recorded, without waiting for it to apply.
    #[arg(long)]
    no_wait: bool,
}

/// A date or time on the command line, as the API's RFC 3339 time.
fn time(field: &str, text: &str) -> anyhow::Result<String> {
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Ok(at.to_string());
    }
    let date: jiff::civil::Date = text
        .parse()
        .with_context(|| format!("--{field}: expected a date (2027-01-31) or an RFC 3339 time"))?;
    Ok(date
        .to_zoned(jiff::tz::TimeZone::UTC)?
        .timestamp()
        .to_string())
}

/// Names from a file: the first field of each line; blank lines and `#` comments skipped.
fn names_from_file(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading names from {}", path.display()))?;
    Ok(text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            line.split([',', ' ', '\t'])
                .map(str::trim)
                .find(|field| !field.is_empty())
        })
        .map(str::to_owned)
        .collect())
}

/// Runs `holdfast act …`.
pub fn act(client: &Client, args: ActArgs) -> anyhow::Result<Value> {
    match args.command {
        Some(ActCommand::Undo { id, reason }) => {
            let action = client.post(
                &format!("/api/v1/actions/{id}/undo"),
                &json!({ "reason": reason }),
            )?;
            follow(client, &action)
        }
        Some(ActCommand::Approve { id }) => {
            let action = client.post(&format!("/api/v1/actions/{id}/approve"), &Value::Null)?;
            follow(client, &action)
        }
        Some(ActCommand::Show { id, names }) => {
            if names {
                all_names(client, id)
            } else {
                client.get(&format!("/api/v1/actions/{id}"))
            }
        }
        Some(ActCommand::List { limit }) => client.get(&format!("/api/v1/actions?limit={limit}")),
        None => decide(client, args.decide),
    }
}

fn decide(client: &Client, args: DecideArgs) -> anyhow::Result<Value> {
    let kind = args.action.context("name the action")?;
    let mut names = args.names;
    if let Some(path) = &args.from_file {
        names.extend(names_from_file(path)?);
    }
    if names.is_empty() {
        bail!("name at least one domain, or give --from-file");
    }
    let body = json!({
        "kind": kind,
        "names": names,
        "reason": args.reason.unwrap_or_default(),
        "case_ref": args.case_ref,
        "requested_by": args.requested_by,
        "to_registrar": args.to_registrar,
        "until": args.until.as_deref().map(|until| time("until", until)).transpose()?,
        "deadline": args.deadline.as_deref().map(|deadline| time("deadline", deadline)).transpose()?,
        "legal_direction": args.legal_direction,
        "emergency": args.emergency,
    });
    let action = client.post("/api/v1/actions", &body)?;
    if args.no_wait {
        return Ok(action);
    }
    follow(client, &action)
}

/// Waits until the action has applied (or undone), drawing a progress bar on a terminal.
fn follow(client: &Client, action: &Value) -> anyhow::Result<Value> {
    let id = action["id"]
        .as_i64()
        .context("the server did not give the action's id")?;
    let path = format!("/api/v1/actions/{id}");
    let terminal = std::io::stderr().is_terminal();
    let mut action = action.clone();
    while matches!(action["state"].as_str(), Some("applying" | "undoing")) {
        if terminal {
            draw(&action);
        }
        std::thread::sleep(Duration::from_millis(200));
        action = client.get(&path)?;
    }
    if terminal {
        draw(&action);
        eprintln!();
    }
    if action["state"] == "proposed" {
        eprintln!("action {id} waits for a second approver: holdfast act approve {id}");
    }
    Ok(action)
}

fn draw(action: &Value) {
    const WIDTH: i64 = 30;
    let total = action["total"].as_i64().unwrap_or(0).max(1);
    let undoing = action["state"] == "undoing";
    let done = if undoing {
        action["undone"].as_i64().unwrap_or(0) + action["undo_refused"].as_i64().unwrap_or(0)
    } else {
        let pending = action["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|count| count["result"] == "pending")
            .and_then(|count| count["count"].as_i64())
            .unwrap_or(0);
        total - pending
    };
    let filled = (done * WIDTH / total).clamp(0, WIDTH);
    let bar: String = (0..WIDTH)
        .map(|i| if i < filled { '#' } else { '-' })
        .collect();
    let verb = if undoing { "undone" } else { "done" };
    eprint!(
        "\r{} {} [{bar}] {done}/{total} {verb}",
        action["kind"].as_str().unwrap_or("action"),
        action["id"]
    );
    let _ = std::io::stderr().flush();
}

fn all_names(client: &Client, id: i64) -> anyhow::Result<Value> {
    let mut names = Vec::new();
    let mut after = -1;
    loop {
        let page = client.get(&format!(
            "/api/v1/actions/{id}/names?after={after}&limit=1000"
        ))?;
        let page = page.as_array().cloned().unwrap_or_default();
        let Some(last) = page.last() else {
            break;
        };
        after = last["seq"]
            .as_i64()
            .context("a name without its sequence number")?;
        names.extend(page);
    }
    Ok(Value::Array(names))
}

/// The id of the TLD named `name`.
fn tld_id(client: &Client, name: &str) -> anyhow::Result<i64> {
    let wanted = name.trim_end_matches('.').to_lowercase();
    client
        .get("/api/v1/tlds")?
        .as_array()
        .into_iter()
        .flatten()
        .find(|tld| tld["name"].as_str() == Some(wanted.as_str()))
        .and_then(|tld| tld["id"].as_i64())
        .with_context(|| format!("--tld: no TLD named {name:?} that you may see"))
}

/// `holdfast import …`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Load an RFC 1035 zone file (delegations, DS, glue, apex) into a TLD.
    Zone {
        #[arg(long)]
        tld: String,
        file: PathBuf,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Assign sponsoring registrars from a CSV of name,registrar (IANA id or name).
    Sponsors {
        #[arg(long)]
        tld: String,
        file: PathBuf,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

/// Runs `holdfast import …`.
pub fn import(client: &Client, command: ImportCommand) -> anyhow::Result<Value> {
    let (kind, content_type, tld, file, reason) = match command {
        ImportCommand::Zone { tld, file, reason } => ("zone", "text/dns", tld, file, reason),
        ImportCommand::Sponsors { tld, file, reason } => {
            ("sponsors", "text/csv", tld, file, reason)
        }
    };
    let id = tld_id(client, &tld)?;
    let opened =
        std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
    let reason: String = form_urlencoded::byte_serialize(reason.as_bytes()).collect();
    client.post_file(
        &format!("/api/v1/tlds/{id}/{kind}?reason={reason}"),
        content_type,
        opened,
    )
}

/// `holdfast zone …`.
#[derive(Debug, Subcommand)]
pub enum ZoneCommand {
    /// Write the zone a TLD publishes now, in RFC 1035 form.
    Export {
        #[arg(long)]
        tld: String,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Runs `holdfast zone …`.
pub fn zone(client: &Client, command: ZoneCommand) -> anyhow::Result<Value> {
    let ZoneCommand::Export { tld, output } = command;
    let id = tld_id(client, &tld)?;
    let text = client.get_text(&format!("/api/v1/tlds/{id}/zone"))?;
    match output {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(Value::Null)
}

/// Runs `holdfast tld sinkhole`.
pub fn sinkhole(
    client: &Client,
    tld: &str,
    hosts: Vec<String>,
    reason: String,
) -> anyhow::Result<Value> {
    let id = tld_id(client, tld)?;
    client.put(
        &format!("/api/v1/tlds/{id}/sinkhole"),
        &json!({ "hosts": hosts, "reason": reason }),
    )
}
