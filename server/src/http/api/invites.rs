//! Minting join tokens over the API: invites (a token, a link, and the invitee listed as
//! `invited` in the room) and bare tokens (`POST /api/v1/tokens`).

use super::extract::{Json, Path};
use super::guard::Caller;
use super::schema::{AuthErrors, BodyErrors, Invite, NotFound, PermissionsSchema, TokenReply};
use super::run;
use crate::state::AppState;
use crate::auth::Claims;
use crate::http::ApiError;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use switchboard_signaling::admin::check_range;
use switchboard_signaling::{ops, Identity, Permissions, RoomName};
use utoipa::ToSchema;

/// Default lifetime of an invite link (a day: people open them later).
const INVITE_TTL_S: u64 = 24 * 3600;
/// Default lifetime of a minted token.
const TOKEN_TTL_S: u64 = 3600;
/// Longest lifetime either may ask for (30 days).
const MAX_TTL_S: u64 = 30 * 24 * 3600;

/// Body of `POST /api/v1/rooms/{room}/invites`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateInvite {
    /// Identity the invitee will have in the room (1–128 bytes, no control characters).
    #[schema(value_type = String, min_length = 1, max_length = 128)]
    identity: Identity,
    /// Display name.
    name: Option<String>,
    /// Permissions carried by the token (default: publish, subscribe, data).
    #[schema(value_type = Option<PermissionsSchema>)]
    permissions: Option<Permissions>,
    /// Lifetime in seconds (default 86400, at most 2592000).
    #[schema(minimum = 1, maximum = 2592000)]
    ttl_s: Option<u64>,
}

/// Body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateToken {
    /// Room the token admits to (1–64 letters, digits, `-`, `_` or `.`).
    #[schema(value_type = String, min_length = 1, max_length = 64)]
    room: RoomName,
    /// Participant identity (1–128 bytes, no control characters).
    #[schema(value_type = String, min_length = 1, max_length = 128)]
    identity: Identity,
    /// Display name.
    name: Option<String>,
    /// Permissions (default: publish, subscribe, data).
    #[schema(value_type = Option<PermissionsSchema>)]
    permissions: Option<Permissions>,
    /// Lifetime in seconds (default 3600, at most 2592000).
    #[schema(minimum = 1, maximum = 2592000)]
    ttl_s: Option<u64>,
}

fn ttl(requested: Option<u64>, default: u64) -> Result<Duration, ApiError> {
    let secs = requested.unwrap_or(default);
    check_range("ttl_s", secs, 1, MAX_TTL_S)?;
    Ok(Duration::from_secs(secs))
}

fn join_claims(
    state: &AppState,
    room: &RoomName,
    identity: &Identity,
    name: Option<&str>,
    permissions: Option<Permissions>,
    ttl: Duration,
) -> Claims {
    let mut claims = Claims::join(&state.config.api_key, room.as_str(), identity.as_str(), name, ttl);
    if let Some(p) = permissions {
        claims.permissions = p;
    }
    claims
}

/// `scheme://host[:port]` of this server as the client reached it: the Host header (checked to be
/// a plain host and port), `X-Forwarded-Proto: https` behind a TLS proxy, else the bind address.
fn public_base(headers: &HeaderMap, bind: SocketAddr) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c)))
        .map(str::to_owned)
        .unwrap_or_else(|| bind.to_string());
    let https =
        headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

fn rfc3339(unix_s: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(unix_s)).to_string()
}

/// Invite someone: a join token, its `/join?token=…` link, and the invitee listed as `invited`
/// until it joins or the invite expires.
#[utoipa::path(
    operation_id = "create_invite",
    post, path = "/api/v1/rooms/{room}/invites", tag = "invites", request_body = CreateInvite,
    params(("room" = String, Path, description = "Room name")),
    responses((status = 201, description = "The invite", body = Invite), NotFound, BodyErrors, AuthErrors)
)]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path(room): Path<RoomName>,
    Json(body): Json<CreateInvite>,
) -> Result<impl IntoResponse, ApiError> {
    let ttl = ttl(body.ttl_s, INVITE_TTL_S)?;
    let claims = join_claims(&state, &room, &body.identity, body.name.as_deref(), body.permissions, ttl);
    let op = ops::Invite { identity: body.identity, name: body.name, expires_at: claims.exp };
    run(&state, &room, op, &caller).await?;
    let token = claims.sign(&state.config.api_secret);
    let url = format!("{}/join?token={token}", public_base(&headers, state.config.bind));
    let invite = serde_json::json!({ "token": token, "url": url, "expires_at": rfc3339(claims.exp) });
    Ok((StatusCode::CREATED, Json(invite)))
}

/// Mint a join token for any room (which need not exist yet).
#[utoipa::path(
    operation_id = "create_token",
    post, path = "/api/v1/tokens", tag = "invites", request_body = CreateToken,
    responses((status = 201, description = "The token", body = TokenReply), BodyErrors, AuthErrors)
)]
pub(crate) async fn mint(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Json(body): Json<CreateToken>,
) -> Result<impl IntoResponse, ApiError> {
    let ttl = ttl(body.ttl_s, TOKEN_TTL_S)?;
    let claims = join_claims(&state, &body.room, &body.identity, body.name.as_deref(), body.permissions, ttl);
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "token": claims.sign(&state.config.api_secret) }))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn base_url_follows_the_host_header_and_refuses_odd_hosts() {
        let bind: SocketAddr = "127.0.0.1:7880".parse().unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(public_base(&h, bind), "http://127.0.0.1:7880");
        h.insert(header::HOST, HeaderValue::from_static("meet.example.com"));
        assert_eq!(public_base(&h, bind), "http://meet.example.com");
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(public_base(&h, bind), "https://meet.example.com");
        h.insert(header::HOST, HeaderValue::from_static("evil.com/phish?x="));
        assert_eq!(public_base(&h, bind), "https://127.0.0.1:7880");
    }

    #[test]
    fn ttl_defaults_and_bounds() {
        assert_eq!(ttl(None, 60).unwrap(), Duration::from_secs(60));
        assert_eq!(ttl(Some(0), 60).unwrap_err().status(), 400);
        assert_eq!(ttl(Some(MAX_TTL_S + 1), 60).unwrap_err().status(), 400);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
