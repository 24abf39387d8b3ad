//! The gate in front of every `/api/v1` route: a bearer JWT that verifies with this server's key
//! and secret, the server-wide `admin` grant, and a rate limit per caller. Routes that need no
//! token (`openapi.json`, health, metrics) are simply not behind this layer.

use crate::state::AppState;
use crate::auth::verify;
use crate::http::ApiError;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use switchboard_signaling::{ErrorCode, Identity};

/// Sustained admin requests per second per caller.
const RATE_PER_SECOND: NonZeroU32 = NonZeroU32::new(20).expect("non-zero literal");
/// Requests a caller may make at once.
const BURST: NonZeroU32 = NonZeroU32::new(40).expect("non-zero literal");
/// Forget idle callers once this many are tracked (checked every [`SWEEP_EVERY`] requests).
const MAX_TRACKED: usize = 1024;
const SWEEP_EVERY: u32 = 256;

/// The authenticated caller of an admin route: the token's `sub`, named in events as `by`.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub(crate) Identity);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Only `require_admin` inserts it: a route mounted outside the gate refuses every call.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("unauthorized", "this route requires an admin token"))
    }
}

/// State of the gate: the app (for the key and secret) and the per-caller rate limiter.
#[derive(Clone)]
pub(crate) struct Gate {
    state: Arc<AppState>,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    checks: Arc<AtomicU32>,
}

impl Gate {
    pub(crate) fn new(state: Arc<AppState>) -> Self {
        Self {
            state,
            limiter: Arc::new(RateLimiter::keyed(Quota::per_second(RATE_PER_SECOND).allow_burst(BURST))),
            checks: Arc::new(AtomicU32::new(0)),
        }
    }

    fn check_rate(&self, key: &str) -> Result<(), ApiError> {
        if self.checks.fetch_add(1, Ordering::Relaxed).is_multiple_of(SWEEP_EVERY) && self.limiter.len() > MAX_TRACKED {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| ApiError::rate_limited(not_until.wait_time_from(self.limiter.clock().now())))
    }
}

/// Middleware: authenticate, authorise, rate-limit, then hand the [`Caller`] to the handler.
pub(crate) async fn require_admin(
    State(gate): State<Gate>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let query_token = event_stream_token(&req);
    let token = match (req.headers().get(AUTHORIZATION), query_token.as_deref()) {
        (None, Some(token)) => token,
        (header, _) => bearer_token(header)?,
    };
    let c = &gate.state.config;
    let claims = verify(token, &c.api_key, &c.api_secret).map_err(|e| {
        let code = match e.code {
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenNotYetValid => "token_not_yet_valid",
            _ => "invalid_token",
        };
        ApiError::unauthorized(code, e.message)
    })?;
    if !claims.admin {
        return Err(ApiError::forbidden(
            "this token has no admin grant; the admin API needs a server-admin token (`switchboard token --admin`)",
        ));
    }
    let caller = Identity::parse(claims.sub.as_str())
        .map_err(|e| ApiError::unauthorized("invalid_token", format!("the token's subject is not a valid identity: {e}")))?;
    gate.check_rate(&format!("{}\u{0}{}", claims.iss, claims.sub))?;
    req.extensions_mut().insert(Caller(caller));
    Ok(next.run(req).await)
}

/// `?access_token=` on `GET /api/v1/events` only: a browser's `EventSource` cannot set headers.
/// No other route takes one, because tokens in URLs end up in access logs and browser history.
fn event_stream_token(req: &Request) -> Option<String> {
    if req.uri().path() != "/api/v1/events" {
        return None;
    }
    let query = axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(req.uri()).ok()?;
    query.0.get("access_token").filter(|t| !t.is_empty()).cloned()
}

fn bearer_token(header: Option<&axum::http::HeaderValue>) -> Result<&str, ApiError> {
    let Some(value) = header else {
        return Err(ApiError::unauthorized(
            "unauthorized",
            "missing `Authorization: Bearer <token>` header; mint an admin token with `switchboard token --admin`",
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid_token", "the Authorization header is not valid text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::unauthorized("unauthorized", "the Authorization header must be `Bearer <token>`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        let ok = HeaderValue::from_static("bearer abc.def.ghi");
        assert_eq!(bearer_token(Some(&ok)).unwrap(), "abc.def.ghi");
        for bad in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "abc.def.ghi"] {
            let e = bearer_token(Some(&HeaderValue::from_static(bad))).unwrap_err();
            assert_eq!(e.status(), 401, "{bad}");
        }
        assert_eq!(bearer_token(None).unwrap_err().code(), "unauthorized");
    }

    #[test]
    fn only_the_event_stream_takes_a_token_in_the_query() {
        let req = |uri: &str| Request::builder().uri(uri).body(axum::body::Body::empty()).unwrap();
        assert_eq!(event_stream_token(&req("/api/v1/events?room=r&access_token=a.b.c")).as_deref(), Some("a.b.c"));
        assert_eq!(event_stream_token(&req("/api/v1/events?access_token=")), None);
        assert_eq!(event_stream_token(&req("/api/v1/rooms?access_token=a.b.c")), None);
    }
}
