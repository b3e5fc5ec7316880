//! The command-line client: every subcommand but `serve` talks to a running server's API, so it
//! works the same whatever database and however many instances are behind it.

use std::io::Read;

use anyhow::Context;
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

    /// PUT `body` as JSON to `path`.
    pub fn put(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self.authorize(self.agent.put(format!("{}{path}", self.url)));
        self.answer(path, request.send_json(body))
    }

    /// POST a file to `path` as `content_type`, streaming it.
    pub fn post_file(
        &self,
        path: &str,
        content_type: &str,
        file: std::fs::File,
    ) -> anyhow::Result<Value> {
        let request = self.authorize(self.agent.post(format!("{}{path}", self.url)));
        let response = request
            .header("Content-Type", content_type)
            .send(ureq::SendBody::from_owned_reader(file));
        self.answer(path, response)
    }

    /// GET `path` as text of any size (a zone file, say).
    pub fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let request = self.authorize(self.agent.get(format!("{}{path}", self.url)));
        let (status, text) = self.read(path, request.call())?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(self.refusal(status, &text))
        }
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
        let (status, text) = self.read(path, response)?;
        if !status.is_success() {
            return Err(self.refusal(status, &text));
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("the answer to {path} is not JSON"))
    }

    fn read(
        &self,
        path: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<(ureq::http::StatusCode, String)> {
        let mut response =
            response.with_context(|| format!("cannot reach Holdfast at {}", self.url))?;
        let text = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_string()
            .with_context(|| format!("reading the answer to {path}"))?;
        Ok((response.status(), text))
    }

    /// The error a refused request reports: the API's code, field and message.
    fn refusal(&self, status: ureq::http::StatusCode, text: &str) -> anyhow::Error {
        if status == 401 && self.token.is_none() {
            return anyhow::anyhow!("set HOLDFAST_TOKEN (or --token) to an API token");
        }
        let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let error = &value["error"];
        let message = error["message"].as_str().unwrap_or("no message");
        let code = error["code"].as_str().unwrap_or("error");
        match error["field"].as_str() {
            Some(field) => anyhow::anyhow!("{code} ({status}): {field}: {message}"),
            None => anyhow::anyhow!("{code} ({status}): {message}"),
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
