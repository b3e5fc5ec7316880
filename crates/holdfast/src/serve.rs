//! `holdfast serve`: open the store, create the first admin (and the demo), serve the API.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use holdfast_http::AppState;
use holdfast_service::{Clock, DEMO_PASSWORD, IssuedToken, Service};
use holdfast_store::Store;
use jiff::Timestamp;

use crate::config::Config;

/// The system clock: the one place that reads the time.
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Runs the server until interrupted.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("creating the data directory {}", config.data.display()))?;
    let store = match &config.database {
        Some(url) => Store::open(url).await,
        None => Store::open_data_dir(&config.data).await,
    }
    .context("opening the database")?;
    let service = Service::new(store.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    if let Some(token) = service.bootstrap(clock.now()).await? {
        let path = write_token(&config.data, "admin-token", &token)?;
        eprintln!(
            "First start: the admin's API token is written to {}",
            path.display()
        );
    }
    if config.demo {
        match service.install_demo(clock.now()).await? {
            Some(demo) => {
                let path = write_token(&config.data, "demo-token", &demo.admin_token)?;
                println!("Demo installation created.");
                println!("Admin API token: {}", demo.admin_token.token);
                println!("(also written to {})", path.display());
                for (role, email) in &demo.users {
                    println!("  {:<16} {email}  password: {DEMO_PASSWORD}", role.as_str());
                }
            }
            None => println!(
                "Demo installation already present; the admin token is in {}",
                config.data.join("demo-token").display()
            ),
        }
    }

    let (udp, tcp) = holdfast_dns::bind(config.dns_listen)
        .await
        .with_context(|| format!("listening for DNS on udp+tcp {}", config.dns_listen))?;
    let dns_address = udp.local_addr()?;
    service.set_embedded_dns(dns_address);
    let zones = Arc::new(service.zone_data());
    tokio::spawn(async move {
        if let Err(error) = holdfast_dns::serve(udp, tcp, zones, std::future::pending()).await {
            tracing::error!(%error, "the embedded DNS server stopped");
        }
    });
    println!("DNS (embedded, authoritative) on udp+tcp {dns_address}");
    tokio::spawn(background(service.clone(), clock.clone()));
    tokio::spawn(clocks(service.clone(), clock.clone()));
    start_mail(&config, &service, &clock).await?;
    let publisher = service.clone();
    tokio::spawn(async move { publisher.run_publisher().await });

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    println!("Holdfast listening on http://{address}");
    let state = AppState::new(service, clock).with_trusted_proxies(config.trusted_proxies.clone());
    holdfast_http::serve(listener, state, shutdown_signal())
        .await
        .context("serving HTTP")?;
    store.close().await;
    Ok(())
}

/// The server's own work: finish actions a stop left half-done, then lift blocks whose end date
/// passed, every minute.
async fn background(service: Service, clock: Arc<dyn Clock>) {
    match service.resume_actions(clock.as_ref()).await {
        Ok(0) => {}
        Ok(resumed) => tracing::info!(resumed, "finished actions a stop left half-done"),
        Err(error) => tracing::error!(%error, "resuming actions failed"),
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(error) = service.lift_expired_blocks(clock.now()).await {
            tracing::error!(%error, "lifting expired blocks failed");
        }
    }
}

/// The clock worker: reminders, breaches and mitigated cases, woken at the next clock event
/// (at least every minute, so that clocks started meanwhile are seen).
async fn clocks(service: Service, clock: Arc<dyn Clock>) {
    loop {
        let now = clock.now();
        let next = match service.tick(now).await {
            Ok(report) => report.next,
            Err(error) => {
                tracing::error!(%error, "the clock worker failed");
                None
            }
        };
        // Sleep until the next clock event, at most a minute; only a moment when events are
        // already due (a tick handles at most a thousand clocks).
        let wait = match next {
            Some(at) => std::time::Duration::try_from(at.duration_since(now)).unwrap_or_default(),
            None => std::time::Duration::from_secs(60),
        }
        .clamp(
            std::time::Duration::from_millis(50),
            std::time::Duration::from_secs(60),
        );
        tokio::time::sleep(wait).await;
    }
}

/// Starts the SMTP listener for the desks' addresses, and the sender of the outgoing queue
/// when a relay is configured.
async fn start_mail(
    config: &Config,
    service: &Service,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<()> {
    let addresses = service.desk_addresses().await?;
    let listener = tokio::net::TcpListener::bind(config.smtp_listen)
        .await
        .with_context(|| format!("listening for SMTP on {}", config.smtp_listen))?;
    println!(
        "SMTP for {} desk address(es) on {}",
        addresses.len(),
        listener.local_addr()?
    );
    let smtp = holdfast_mail::SmtpConfig::new(config.smtp_hostname.clone(), addresses);
    // A desk's new address is taken at once when set through this server, and within a minute
    // when another instance set it.
    let recipients = smtp.recipients.clone();
    let reloader = service.clone();
    tokio::spawn(async move {
        loop {
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(60),
                reloader.desk_addresses_changed(),
            )
            .await;
            match reloader.desk_addresses().await {
                Ok(addresses) => recipients.replace(addresses),
                Err(error) => tracing::warn!(%error, "reading the desks' addresses failed"),
            }
        }
    });
    let receiver = service.clone();
    let receive_clock = clock.clone();
    let sink = move |envelope: holdfast_mail::Envelope, raw: Vec<u8>| {
        let service = receiver.clone();
        let clock = receive_clock.clone();
        async move {
            let peer = envelope.peer.to_string();
            service
                .receive_mail(
                    &envelope.mail_from,
                    &envelope.rcpt_to,
                    &peer,
                    &raw,
                    clock.now(),
                )
                .await
                .map(|_| ())
                .map_err(|error| {
                    tracing::error!(%error, "taking an e-mail failed");
                    "the desk could not take the message now".to_owned()
                })
        }
    };
    tokio::spawn(async move {
        if let Err(error) = holdfast_mail::serve(listener, smtp, sink, std::future::pending()).await
        {
            tracing::error!(%error, "the SMTP listener stopped");
        }
    });
    if let Some(relay) = &config.smtp_relay {
        let (host, port) = relay
            .rsplit_once(':')
            .and_then(|(host, port)| Some((host.to_owned(), port.parse::<u16>().ok()?)))
            .with_context(|| format!("smtp_relay {relay:?} is not host:port"))?;
        let relay = holdfast_mail::SmtpRelay::new(host, port, config.smtp_hostname.clone());
        let sender = service.clone();
        let clock = clock.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(2));
            loop {
                every.tick().await;
                if let Err(error) = sender.send_pending(&relay, clock.now()).await {
                    tracing::error!(%error, "sending the desk's messages failed");
                }
            }
        });
    }
    Ok(())
}

/// Writes a token to `data/name`, readable only by the owner.
fn write_token(data: &Path, name: &str, token: &IssuedToken) -> anyhow::Result<std::path::PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = data.join(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{}", token.token)?;
    Ok(path)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = interrupt => {},
        () = terminate => {},
    }
}
