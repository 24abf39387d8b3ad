//! The one JSON error type of the HTTP API: `{"error": {"code": "...", "message": "..."}}`, and the
//! single place where domain errors ([`AdminError`]) become HTTP statuses.

use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::time::Duration;
use switchboard_signaling::{AdminError, InvalidName, InvalidSetting};
use tracing::error;

/// An HTTP error with a stable snake_case code.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// `WWW-Authenticate: Bearer` (401 only).
    challenge: bool,
    /// `Retry-After` in whole seconds (429 only).
    retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), challenge: false, retry_after: None }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 400: the request is syntactically wrong (body, path or query).
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 `invalid_request`: a value that cannot be one of the request's types (out of its
    /// range, against the naming rule); the message names the field.
    pub(crate) fn invalid_value(message: impl Into<String>) -> Self {
        Self::bad_request("invalid_request", message)
    }

    /// 401 with a `WWW-Authenticate: Bearer` challenge.
    pub(crate) fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self { challenge: true, ..Self::new(StatusCode::UNAUTHORIZED, code, message) }
    }

    /// 403: authenticated, but not allowed.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 413: the body exceeds the limit.
    pub(crate) fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body exceeds the {limit}-byte limit"),
        )
    }

    /// 429 with `Retry-After` (rounded up to whole seconds, at least 1).
    pub(crate) fn rate_limited(wait: Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self {
            retry_after: Some(secs.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many admin API requests; slow down")
        }
    }

    /// 500 with generic client text; the cause is logged here, once.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        error!(%cause, "internal error in an HTTP handler");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        let status = match &e {
            AdminError::RoomNotFound(_) | AdminError::ParticipantNotFound(_) | AdminError::TrackNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            AdminError::RoomExists(_) => StatusCode::CONFLICT,
            AdminError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AdminError::PermissionDenied(_) => StatusCode::FORBIDDEN,
            AdminError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            // A variant added to signalling without a mapping here is our bug, not the client's.
            _ => return Self::internal(format!("unmapped admin error: {e:?}")),
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<InvalidSetting> for ApiError {
    fn from(e: InvalidSetting) -> Self {
        Self::invalid_value(e.to_string())
    }
}

impl From<InvalidName> for ApiError {
    fn from(e: InvalidName) -> Self {
        Self::invalid_value(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if self.challenge {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_errors_map_to_statuses_and_keep_their_codes() {
        let cases = [
            (AdminError::RoomNotFound("r".into()), 404, "room_not_found"),
            (AdminError::ParticipantNotFound("a".into()), 404, "participant_not_found"),
            (AdminError::TrackNotFound("t".into()), 404, "track_not_found"),
            (AdminError::RoomExists("r".into()), 409, "room_exists"),
            (AdminError::Invalid("bad kind".into()), 422, "invalid_request"),
            (AdminError::PermissionDenied("no".into()), 403, "permission_denied"),
            (AdminError::ShuttingDown, 503, "unavailable"),
        ];
        for (e, status, code) in cases {
            let api = ApiError::from(e);
            assert_eq!((api.status().as_u16(), api.code()), (status, code));
        }
    }

    #[test]
    fn rate_limit_rounds_retry_after_up() {
        let r = ApiError::rate_limited(Duration::from_millis(20)).into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[RETRY_AFTER], "1");
        let r = ApiError::rate_limited(Duration::from_millis(2100)).into_response();
        assert_eq!(r.headers()[RETRY_AFTER], "3");
        let r = ApiError::unauthorized("unauthorized", "no token").into_response();
        assert_eq!(r.headers()[WWW_AUTHENTICATE], "Bearer");
    }
}
