//! `POST /dev/token` and `POST /dev/admin-token`: in development mode only, let the built-in
//! pages get a join token or a one-hour admin token. With a configured secret they answer 404:
//! people join through invite links, and moderators use `switchboard token --admin`.

use super::ApiError;
use crate::state::AppState;
use crate::auth::Claims;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rand::Rng;
use serde::Deserialize;
use std::sync::Arc;
use switchboard_signaling::RoomName;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DevTokenRequest {
    room: String,
    name: String,
}

/// Identity from a display name: lower-case letters, digits and dashes, plus a short random
/// suffix so two people typing the same name do not replace each other.
fn identity_for(name: &str) -> String {
    let slug: String = name
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let slug = if slug.is_empty() { "guest".to_owned() } else { slug.chars().take(32).collect() };
    format!("{slug}-{:04x}", rand::thread_rng().gen::<u16>())
}

fn dev_mode_only(state: &AppState) -> Result<(), ApiError> {
    if state.config.is_dev_mode() {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "the development token endpoints are off because an API secret is configured; join with an invite link (/join?token=…) or sign an admin token with `switchboard token --admin`",
        ))
    }
}

/// A one-hour admin token for the dashboard, development mode only.
pub(crate) async fn mint_admin(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, ApiError> {
    dev_mode_only(&state)?;
    let c = &state.config;
    let token = Claims::admin(&c.api_key, "dev-moderator", Duration::from_secs(3600)).sign(&c.api_secret);
    Ok(Json(serde_json::json!({ "token": token })))
}

pub(crate) async fn mint(
    State(state): State<Arc<AppState>>,
    body: Result<Json<DevTokenRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    dev_mode_only(&state)?;
    let Json(req) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", e.body_text()))?;
    let room = RoomName::parse(req.room.trim())?;
    let name = req.name.trim();
    if name.is_empty() || name.len() > 64 {
        return Err(ApiError::invalid_value("name must be 1–64 characters"));
    }
    let identity = identity_for(name);
    let c = &state.config;
    let token = Claims::join(&c.api_key, room.as_str(), &identity, Some(name), Duration::from_secs(6 * 3600)).sign(&c.api_secret);
    Ok(Json(serde_json::json!({"token": token, "identity": identity, "room": room})))
}

#[cfg(test)]
mod tests {
    use super::identity_for;

    #[test]
    fn identities_are_slugs_with_a_suffix() {
        let id = identity_for("  Zoë  O'Brien ");
        assert!(id.starts_with("zo-o-brien-"), "{id}");
        assert!(identity_for("!!!").starts_with("guest-"));
    }
}
