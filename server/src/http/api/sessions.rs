//! Session records (`/api/v1/sessions[/{id}]`): room sessions, newest first with an opaque paging
//! cursor, and one session with its participant legs. The records themselves are derived from
//! events (`events::records`) and kept by the store; this file parses filters and answers.

use super::extract::{Json, Path, Query};
use super::guard::Caller;
use super::schema::{AuthErrors, BadParams, ErrorBody};
use crate::state::AppState;
use crate::http::ApiError;
use crate::store::{parse_rfc3339_ms, SessionCursor, SessionDetail, SessionPage, SessionQuery};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;

/// Page size when none is asked for.
const DEFAULT_LIMIT: usize = 50;
/// Largest page.
const MAX_LIMIT: usize = 500;

/// Query of `GET /api/v1/sessions`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SessionsQuery {
    /// Only this room's sessions.
    room: Option<String>,
    /// Only sessions this participant identity took part in.
    identity: Option<String>,
    /// RFC 3339: only sessions still running at or after this time.
    #[param(format = DateTime)]
    from: Option<String>,
    /// RFC 3339: only sessions started at or before this time.
    #[param(format = DateTime)]
    to: Option<String>,
    /// Sessions per page, 1–500 (default 50).
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}

fn time(name: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            parse_rfc3339_ms(v)
                .ok_or_else(|| bad(format!("{name} must be an RFC 3339 time like 2024-05-01T12:00:00Z, not {v:?}")))
        })
        .transpose()
}

fn non_empty(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if v.trim().is_empty() => Err(bad(format!("{name} must not be empty"))),
        other => Ok(other),
    }
}

impl SessionsQuery {
    fn parse(self) -> Result<SessionQuery, ApiError> {
        let from_ms = time("from", self.from.as_deref())?;
        let to_ms = time("to", self.to.as_deref())?;
        if let (Some(from), Some(to)) = (from_ms, to_ms) {
            if from > to {
                return Err(bad("from is after to"));
            }
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(bad(format!("limit must be 1–{MAX_LIMIT}, not {limit}")));
        }
        let cursor = match self.cursor {
            Some(token) => {
                Some(SessionCursor::decode(&token).ok_or_else(|| bad("cursor is not a next_cursor of this API"))?)
            }
            None => None,
        };
        Ok(SessionQuery {
            room: non_empty("room", self.room)?,
            identity: non_empty("identity", self.identity)?,
            from_ms,
            to_ms,
            limit,
            cursor,
        })
    }
}

/// List room sessions, newest first.
#[utoipa::path(
    operation_id = "list_sessions",
    get, path = "/api/v1/sessions", tag = "sessions",
    params(SessionsQuery),
    responses((status = 200, description = "One page of sessions", body = SessionPage), BadParams, AuthErrors)
)]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Query(query): Query<SessionsQuery>,
) -> Result<Json<SessionPage>, ApiError> {
    let query = query.parse()?;
    state.store.sessions(query).await.map(Json).map_err(ApiError::internal)
}

/// One room session with its participant legs.
#[utoipa::path(
    operation_id = "get_session",
    get, path = "/api/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id (the room sid, `RM_…`)")),
    responses(
        (status = 200, description = "The session", body = SessionDetail),
        (status = 404, description = "No such session (`session_not_found`)", body = ErrorBody),
        BadParams, AuthErrors,
    )
)]
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionDetail>, ApiError> {
    match state.store.session(id.clone()).await.map_err(ApiError::internal)? {
        Some(session) => Ok(Json(session)),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "session_not_found", format!("no session {id:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_or_are_refused_with_400() {
        let q = SessionsQuery { from: Some("2024-05-01T12:00:00+02:00".into()), limit: Some(10), ..Default::default() };
        let parsed = q.parse().unwrap();
        assert_eq!((parsed.from_ms, parsed.limit), (Some(1_714_557_600_000), 10));
        assert_eq!(SessionsQuery::default().parse().unwrap().limit, DEFAULT_LIMIT);
        let cursor = SessionCursor { started_ms: 5, id: "RM_x".into() };
        let q = SessionsQuery { cursor: Some(cursor.encode()), ..Default::default() };
        assert_eq!(q.parse().unwrap().cursor, Some(cursor));
        let bad_queries = [
            SessionsQuery { from: Some("yesterday".into()), ..Default::default() },
            SessionsQuery {
                from: Some("2024-05-02T00:00:00Z".into()),
                to: Some("2024-05-01T00:00:00Z".into()),
                ..Default::default()
            },
            SessionsQuery { limit: Some(0), ..Default::default() },
            SessionsQuery { limit: Some(501), ..Default::default() },
            SessionsQuery { cursor: Some("garbage".into()), ..Default::default() },
            SessionsQuery { room: Some(" ".into()), ..Default::default() },
        ];
        for q in bad_queries {
            let what = format!("{q:?}");
            let e = q.parse().unwrap_err();
            assert_eq!((e.status().as_u16(), e.code()), (400, "invalid_query"), "{what}");
        }
    }
}
