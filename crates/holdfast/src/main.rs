//! The `holdfast` binary: `serve` runs the server; every other subcommand is a client of its API.

mod client;
mod config;
mod desk_cli;
mod registry_cli;
mod serve;
mod srw_cli;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use crate::client::{Client, read_secret_from_stdin};
use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "holdfast",
    version,
    about = "The security-threat response desk for the domain name industry"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The server's address, for client commands.
    #[arg(
        long,
        global = true,
        env = "HOLDFAST_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    url: String,
    /// An API token, for client commands.
    #[arg(long, global = true, env = "HOLDFAST_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Show who the token belongs to.
    Whoami,
    /// Sign in with e-mail and password (read from standard input); prints a session token.
    Login {
        #[arg(long)]
        email: String,
    },
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Top-level domains.
    #[command(subcommand)]
    Tld(TldCommand),
    /// Registrars.
    #[command(subcommand)]
    Registrar(RegistrarCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Act on names: holdfast act ACTION NAME… --reason TEXT; or undo, approve, show, list.
    Act(registry_cli::ActArgs),
    /// The registration guard: is a name available, registered, blocked or not ours?
    Check { name: String },
    /// Load registry data.
    #[command(subcommand)]
    Import(registry_cli::ImportCommand),
    /// TLD zones.
    #[command(subcommand)]
    Zone(registry_cli::ZoneCommand),
    /// Reports: submit (names or a file of any size, evidence), list, show.
    #[command(subcommand)]
    Report(desk_cli::ReportCommand),
    /// The case desk: the queue, a case, its steps.
    #[command(subcommand)]
    Case(desk_cli::CaseCommand),
    /// Security Response Waivers: draft, submit, review, decide, after-action report, figures.
    #[command(subcommand)]
    Srw(srw_cli::SrwCommand),
}

#[derive(Debug, Subcommand)]
enum RegistrarCommand {
    /// List registrars.
    List,
    /// Create a registrar (admins).
    Create {
        name: String,
        /// The IANA Registrar ID, if accredited.
        #[arg(long)]
        iana_id: Option<i64>,
        /// The registrar's organisation in Holdfast.
        #[arg(long)]
        org: Option<i64>,
        #[arg(long)]
        abuse_email: String,
        #[arg(long)]
        abuse_phone: String,
        /// The registry operator's own registrar.
        #[arg(long)]
        internal: bool,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Create a demo installation on first start and print its admin token.
    #[arg(long)]
    demo: bool,
    /// Address of the HTTP API (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Data directory (default ./holdfast-data); holds the SQLite database.
    #[arg(long, conflicts_with = "database")]
    data: Option<PathBuf>,
    /// Database URL instead of the SQLite file: postgres://… or sqlite:…
    #[arg(long)]
    database: Option<String>,
    /// Address of the embedded DNS server, UDP and TCP (default 127.0.0.1:5353).
    #[arg(long)]
    dns_listen: Option<SocketAddr>,
    /// Address of the SMTP listener for reports and replies (default 127.0.0.1:2525).
    #[arg(long)]
    smtp_listen: Option<SocketAddr>,
    /// The SMTP relay the desk's messages go through, host:port (none: they wait in the queue).
    #[arg(long)]
    smtp_relay: Option<String>,
    /// A reverse proxy in front of the API whose X-Forwarded-For names the client (repeatable).
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// A TOML configuration file.
    #[arg(long, env = "HOLDFAST_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// List the organisations you may see.
    List,
    /// Create an organisation (admins).
    Create {
        name: String,
        /// operator, registry, registrar, reviewer or reporter.
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// List an organisation's users.
    Users { org: i64 },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user (admins).
    Create {
        #[arg(long)]
        org: i64,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, registry_staff, registrar_staff, reviewer or reporter.
        #[arg(long)]
        role: String,
        /// Read a password for the user from standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Disable a user (admins): no sign-in, and their tokens and sessions stop working.
    Disable {
        id: i64,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Enable a disabled user again (admins).
    Enable {
        id: i64,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token (for yourself, or for --user as an admin); prints it once.
    Create {
        #[arg(long)]
        label: String,
        #[arg(long)]
        user: Option<i64>,
        /// RFC 3339 time at which the token stops working.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List your tokens.
    List,
    /// Revoke a token.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
enum TldCommand {
    /// List TLDs.
    List,
    /// Create a TLD run by a registry organisation (admins).
    Create {
        name: String,
        #[arg(long)]
        org: i64,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Set the sinkhole hosts redirect and create delegate names to (admins).
    Sinkhole {
        #[arg(long)]
        tld: String,
        #[arg(required = true)]
        hosts: Vec<String>,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// List entries.
    List {
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Verify the whole hash chain; exits with status 1 naming the first entry at fault.
    Verify,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,hickory_server=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let client = Client::new(&cli.url, cli.token.clone());
    let output = match cli.command {
        Command::Serve(args) => {
            let mut config = Config::load(args.config.as_deref())?;
            config.demo |= args.demo;
            if let Some(listen) = args.listen {
                config.listen = listen;
            }
            if let Some(data) = args.data {
                config.data = data;
            }
            if let Some(database) = args.database {
                config.database = Some(database);
            }
            if let Some(dns_listen) = args.dns_listen {
                config.dns_listen = dns_listen;
            }
            if let Some(smtp_listen) = args.smtp_listen {
                config.smtp_listen = smtp_listen;
            }
            if let Some(relay) = args.smtp_relay {
                config.smtp_relay = Some(relay);
            }
            if !args.trusted_proxies.is_empty() {
                config.trusted_proxies = args.trusted_proxies;
            }
            let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
            runtime.block_on(serve::serve(config))?;
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Command::Whoami => client.get("/api/v1/me")?,
        Command::Login { email } => {
            let password = read_secret_from_stdin()?;
            client.post(
                "/api/v1/login",
                &json!({ "email": email, "password": password }),
            )?
        }
        Command::Org(OrgCommand::List) => client.get("/api/v1/organisations")?,
        Command::Org(OrgCommand::Create { name, kind, reason }) => client.post(
            "/api/v1/organisations",
            &json!({ "name": name, "kind": kind, "reason": reason }),
        )?,
        Command::Org(OrgCommand::Users { org }) => {
            client.get(&format!("/api/v1/organisations/{org}/users"))?
        }
        Command::User(UserCommand::Create {
            org,
            email,
            name,
            role,
            password_stdin,
            reason,
        }) => {
            let password = password_stdin.then(read_secret_from_stdin).transpose()?;
            client.post(
                &format!("/api/v1/organisations/{org}/users"),
                &json!({ "email": email, "display_name": name, "role": role,
                         "password": password, "reason": reason }),
            )?
        }
        Command::User(UserCommand::Disable { id, reason }) => client.put(
            &format!("/api/v1/users/{id}/disabled"),
            &json!({ "disabled": true, "reason": reason }),
        )?,
        Command::User(UserCommand::Enable { id, reason }) => client.put(
            &format!("/api/v1/users/{id}/disabled"),
            &json!({ "disabled": false, "reason": reason }),
        )?,
        Command::Token(TokenCommand::Create {
            label,
            user,
            expires,
        }) => {
            let user = match user {
                Some(user) => user,
                None => client.get("/api/v1/me")?["id"]
                    .as_i64()
                    .context("the server did not say who you are")?,
            };
            client.post(
                &format!("/api/v1/users/{user}/tokens"),
                &json!({ "label": label, "expires_at": expires }),
            )?
        }
        Command::Token(TokenCommand::List) => client.get("/api/v1/tokens")?,
        Command::Token(TokenCommand::Revoke { id }) => {
            client.delete(&format!("/api/v1/tokens/{id}"))?
        }
        Command::Tld(TldCommand::List) => client.get("/api/v1/tlds")?,
        Command::Tld(TldCommand::Create { name, org, reason }) => client.post(
            "/api/v1/tlds",
            &json!({ "name": name, "org_id": org, "reason": reason }),
        )?,
        Command::Tld(TldCommand::Sinkhole { tld, hosts, reason }) => {
            registry_cli::sinkhole(&client, &tld, hosts, reason)?
        }
        Command::Act(args) => registry_cli::act(&client, args)?,
        Command::Check { name } => {
            let name: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
            client.get(&format!("/api/v1/check/{name}"))?
        }
        Command::Import(command) => registry_cli::import(&client, command)?,
        Command::Zone(command) => registry_cli::zone(&client, command)?,
        Command::Report(command) => desk_cli::report(&client, command)?,
        Command::Case(command) => desk_cli::case(&client, command)?,
        Command::Srw(command) => srw_cli::srw(&client, command)?,
        Command::Registrar(RegistrarCommand::List) => client.get("/api/v1/registrars")?,
        Command::Registrar(RegistrarCommand::Create {
            name,
            iana_id,
            org,
            abuse_email,
            abuse_phone,
            internal,
            reason,
        }) => client.post(
            "/api/v1/registrars",
            &json!({ "name": name, "iana_id": iana_id, "org_id": org, "abuse_email": abuse_email,
                     "abuse_phone": abuse_phone, "internal": internal, "reason": reason }),
        )?,
        Command::Audit(AuditCommand::List { after, limit }) => {
            client.get(&format!("/api/v1/audit?after={after}&limit={limit}"))?
        }
        Command::Audit(AuditCommand::Verify) => {
            let result = client.post("/api/v1/audit/verify", &Value::Null)?;
            return Ok(report_verification(&result));
        }
    };
    match output {
        Value::Null => {}
        // A document (CSV, say) is printed as it is.
        Value::String(text) => print!("{text}"),
        output => println!("{}", serde_json::to_string_pretty(&output)?),
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn report_verification(result: &Value) -> std::process::ExitCode {
    let verified = result["verified"].as_i64().unwrap_or(0);
    if result["ok"].as_bool() == Some(true) {
        println!("audit chain verified: {verified} entries");
        std::process::ExitCode::SUCCESS
    } else {
        println!(
            "audit chain BROKEN at entry {}: {} ({verified} entries verified before it)",
            result["bad_entry"],
            result["problem"].as_str().unwrap_or("unknown problem")
        );
        std::process::ExitCode::from(1)
    }
}
