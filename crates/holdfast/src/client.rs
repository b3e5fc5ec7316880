//! The command-line client: every subcommand but `serve` talks to a running server's API, so it
//! works the same whatever database and however many instances are behind it.

use std::io::Read;

use anyhow::{Context, bail};
use serde_json::Value;

/// A connection to the API.
pub struct Client {
    agent: ureq::Agent,
    url: String,
    token: Option<String>,
}

impl Client {
    /// A client of the server at `url`, authenticating with `token`.
    pub fn new(url: &str, token: Option<String>) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            agent,
            url: url.trim_end_matches('/').to_owned(),
            token,
        }
    }

    fn authorization(&self) -> anyhow::Result<String> {
        match &self.token {
            Some(token) => Ok(format!("Bearer {}", token.trim())),
            None => bail!("set HOLDFAST_TOKEN (or --token) to an API token"),
        }
    }

    /// GET `path`, with the token.
    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .agent
            .get(format!("{}{path}", self.url))
            .header("Authorization", self.authorization()?)
            .call();
        self.answer(path, response)
    }

    /// POST `body` to `path`, with the token unless `path` is the sign-in.
    pub fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let mut request = self.agent.post(format!("{}{path}", self.url));
        if path != "/api/v1/login" {
            request = request.header("Authorization", self.authorization()?);
        }
        self.answer(path, request.send_json(body))
    }

    /// DELETE `path`, with the token.
    pub fn delete(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .agent
            .delete(format!("{}{path}", self.url))
            .header("Authorization", self.authorization()?)
            .call();
        self.answer(path, response)
    }

    fn answer(
        &self,
        path: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<Value> {
        let mut response =
            response.with_context(|| format!("cannot reach Holdfast at {}", self.url))?;
        let status = response.status();
        let text = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("reading the answer to {path}"))?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("the answer to {path} is not JSON"))?
        };
        if status.is_success() {
            return Ok(value);
        }
        let error = &value["error"];
        let message = error["message"].as_str().unwrap_or("no message");
        match error["field"].as_str() {
            Some(field) => bail!(
                "{} ({status}): {field}: {message}",
                error["code"].as_str().unwrap_or("error")
            ),
            None => bail!(
                "{} ({status}): {message}",
                error["code"].as_str().unwrap_or("error")
            ),
        }
    }
}

/// Reads one line (a password) from standard input.
pub fn read_secret_from_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let secret = text.lines().next().unwrap_or_default().to_owned();
    anyhow::ensure!(
        !secret.is_empty(),
        "expected the password on standard input"
    );
    Ok(secret)
}
