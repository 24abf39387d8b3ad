//! The admin API client behind the CLI's subcommands: one request, signed locally with a
//! short-lived admin token, answered with JSON or a typed error.

use crate::auth::Claims;
use crate::config::Config;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::time::Duration;

/// Lifetime of the admin token each CLI call signs for itself.
const TOKEN_TTL: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a CLI call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `--url` is not an http(s) URL.
    #[error("invalid --url {0:?}: give the server's base URL, e.g. http://127.0.0.1:7880")]
    BadUrl(String),
    /// The server could not be reached or did not answer.
    #[error("cannot reach the server at {url}: {source}; is it running, and is --url (SWITCHBOARD_URL) right?")]
    Unreachable {
        /// Base URL.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The server answered with an error.
    #[error("{message} ({status}, {code})")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// Stable error code.
        code: String,
        /// Explanation.
        message: String,
    },
}

/// A client for one server.
#[derive(Debug)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    token: String,
}

impl ApiClient {
    /// A client for `url`, authenticating with an admin token signed with `config`'s key and secret.
    pub fn new(url: &str, config: &Config) -> Result<Self, ClientError> {
        let base = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|source| ClientError::Unreachable { url: url.to_owned(), source })?;
        let token = Claims::admin(&config.api_key, "switchboard-cli", TOKEN_TTL).sign(&config.api_secret);
        Ok(Self { http, base, token })
    }

    /// `{base}/api/v1/{segments…}`, each segment percent-encoded (room names may hold spaces).
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http(s) URLs, checked in `new`, have path segments")
            .pop_if_empty()
            .extend(["api", "v1"])
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends one request; `Ok(None)` for a response without content (204).
    pub async fn send(&self, method: Method, url: Url, body: Option<Value>) -> Result<Option<Value>, ClientError> {
        let unreachable = |source| ClientError::Unreachable { url: self.base.to_string(), source };
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status.is_success() {
            return Ok(json);
        }
        let error = json.as_ref().map(|j| &j["error"]);
        let text = |key: &str| error.and_then(|e| e[key].as_str()).map(str::to_owned);
        Err(ClientError::Api {
            status,
            code: text("code").unwrap_or_else(|| "unknown".into()),
            message: text("message").unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_built_under_api_v1_with_encoded_segments() {
        let c = ApiClient::new("http://127.0.0.1:7880/", &Config::default()).unwrap();
        let u = c.url(&["rooms", "daily standup", "participants"], &[]);
        assert_eq!(u.as_str(), "http://127.0.0.1:7880/api/v1/rooms/daily%20standup/participants");
        let u = c.url(&["rooms", "r", "participants", "a/b"], &[("ban", "true"), ("reason", "spam & eggs")]);
        assert_eq!(u.as_str(), "http://127.0.0.1:7880/api/v1/rooms/r/participants/a%2Fb?ban=true&reason=spam+%26+eggs");
        assert!(matches!(ApiClient::new("localhost:7880", &Config::default()), Err(ClientError::BadUrl(_))));
    }
}
