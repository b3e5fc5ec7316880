//! Server configuration: defaults, then a TOML file, then `HOLDFAST_*` environment variables, then
//! command-line flags. Unknown keys are refused, naming the key and where it came from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Environment variables with the `HOLDFAST_` prefix that are not server settings.
const CLIENT_VARIABLES: [&str; 3] = ["URL", "TOKEN", "CONFIG"];

/// What `holdfast serve` runs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address of the HTTP API.
    pub listen: SocketAddr,
    /// Data directory: the SQLite database, tokens written at first start.
    pub data: PathBuf,
    /// A database URL (`postgres://…` or `sqlite:…`); the SQLite file in `data` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Create the demo installation on first start.
    #[serde(default)]
    pub demo: bool,
    /// Address (UDP and TCP) of the embedded authoritative DNS server, which serves the TLDs
    /// that have no RFC 2136 primary straight from the store.
    pub dns_listen: SocketAddr,
    /// Address of the SMTP listener that takes reports and replies for the desks' addresses
    /// (no TLS, no AUTH: run it behind the organisation's MTA).
    pub smtp_listen: SocketAddr,
    /// The SMTP relay (`host:port`, plain SMTP, usually the local MTA) the desk's messages go
    /// through; without one they wait in the queue and are shown in the portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_relay: Option<String>,
    /// The name the SMTP listener and the sender give for this host.
    pub smtp_hostname: String,
    /// Reverse proxies in front of the HTTP listener: from these, the client's address (for
    /// the per-address limits) is read from `X-Forwarded-For`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("holdfast-data"),
            database: None,
            demo: false,
            dns_listen: SocketAddr::from(([127, 0, 0, 1], 5353)),
            smtp_listen: SocketAddr::from(([127, 0, 0, 1], 2525)),
            smtp_relay: None,
            smtp_hostname: "localhost".to_owned(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Config {
    /// Loads the configuration from `file` (if any) and the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            anyhow::ensure!(
                file.exists(),
                "configuration file {} does not exist",
                file.display()
            );
            figment = figment.merge(Toml::file_exact(file));
        }
        let env = Env::prefixed("HOLDFAST_").ignore(&CLIENT_VARIABLES);
        figment
            .merge(env)
            .extract()
            .context("the configuration is not valid")
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn a_file_and_the_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "holdfast.toml",
                "listen = \"127.0.0.1:9000\"\ndemo = true\n",
            )?;
            jail.set_env("HOLDFAST_DATA", "/var/lib/holdfast");
            jail.set_env("HOLDFAST_URL", "http://ignored");
            let config =
                Config::load(Some(Path::new("holdfast.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 9000)));
            assert_eq!(config.data, PathBuf::from("/var/lib/holdfast"));
            assert!(config.demo);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "holdfast.toml",
                "listen = \"127.0.0.1:9000\"\nlisten_port = 1\n",
            )?;
            let error = Config::load(Some(Path::new("holdfast.toml"))).unwrap_err();
            let message = format!("{error:#}");
            assert!(message.contains("listen_port"), "{message}");
            assert!(message.contains("holdfast.toml"), "{message}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("HOLDFAST_LISTNE", "127.0.0.1:1");
            let message = format!("{:#}", Config::load(None).unwrap_err());
            assert!(message.contains("listne"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let error = Config::load(Some(Path::new("/nonexistent/holdfast.toml"))).unwrap_err();
        assert!(error.to_string().contains("does not exist"));
    }
}
