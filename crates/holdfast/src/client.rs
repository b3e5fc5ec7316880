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

    /// Adds the token, when there is one; sign-in needs none.
    fn authorize<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(token) => request.header("Authorization", format!("Bearer {}", token.trim())),
            None => request,
        }
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        let request = self.authorize(self.agent.get(format!("{}{path}", self.url)));
        self.answer(path, request.call())
    }

    /// POST `body` as JSON to `path`.
    pub fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self.authorize(self.agent.post(format!("{}{path}", self.url)));
        self.answer(path, request.send_json(body))
    }

    /// DELETE `path`.
    pub fn delete(&self, path: &str) -> anyhow::Result<Value> {
        let request = self.authorize(self.agent.delete(format!("{}{path}", self.url)));
        self.answer(path, request.call())
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
        if status == 401 && self.token.is_none() {
            bail!("set HOLDFAST_TOKEN (or --token) to an API token");
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
