//! `GET /api/v1/events`: the conference's events as server-sent events (`id:` = seq, `event:` =
//! type, `data:` = the event's JSON), replaying the stored ones after `Last-Event-ID` first, and
//! optionally one room's only. The ordering and replay guarantees live in
//! [`crate::events::Subscription`]; this file only speaks HTTP.

use super::extract::Query;
use super::guard::Caller;
use super::schema::{AuthErrors, BadParams, SseEvent};
use crate::state::AppState;
use crate::http::ApiError;
use crate::store::StoredEvent;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use futures_util::StreamExt;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use utoipa::IntoParams;

/// A comment line this often keeps proxies and load balancers from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Query of `GET /api/v1/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Only this room's events.
    room: Option<String>,
    /// Replay the stored events after this `seq` first; the `Last-Event-ID` header wins over it.
    last_event_id: Option<u64>,
    /// Admin token, for clients that cannot set `Authorization` (a browser's `EventSource`).
    #[allow(dead_code)] // read by the admin gate
    access_token: Option<String>,
}

/// `Last-Event-ID`, which a browser's `EventSource` sends when it reconnects.
fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else { return Ok(None) };
    let text = value.to_str().map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        ApiError::bad_request("invalid_last_event_id", format!("Last-Event-ID must be an event's seq, not {text:?}"))
    })
}

fn sse_event(event: &StoredEvent) -> Event {
    // Serialising a struct of strings, numbers and a JSON value cannot fail.
    let data = serde_json::to_string(event).unwrap_or_default();
    Event::default().id(event.seq.to_string()).event(&event.kind).data(data)
}

/// Live event stream (server-sent events).
///
/// Each event is sent as `id: <seq>`, `event: <type>`, `data: <JSON>`; a comment every 15 s keeps
/// the connection alive. After a disconnect, reconnect with `Last-Event-ID: <last seq received>`
/// (browsers do this by themselves) to receive exactly the events missed, in order, then the live
/// ones. Events are kept for `event_retention_s` (a day by default).
#[utoipa::path(
    operation_id = "stream_events",
    get, path = "/api/v1/events", tag = "events",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "Replay the stored events after this seq"),
    ),
    responses(
        (status = 200, description = "`text/event-stream` of events: each is `id: <seq>`, `event: <type>` and \
         `data: <an Event as JSON>`",
         content_type = "text/event-stream", body = SseEvent),
        BadParams, AuthErrors,
    )
)]
pub(crate) async fn stream(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let after = last_event_id(&headers)?.or(query.last_event_id);
    if query.room.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(ApiError::bad_request("invalid_query", "room must not be empty"));
    }
    let subscription = state.event_service.subscribe(query.room, after);
    let events = futures_util::stream::unfold(subscription, |mut s| async move { s.next().await.map(|e| (e, s)) })
        .map(|e| Ok::<_, Infallible>(sse_event(&e)))
        // Open streams would otherwise hold the graceful shutdown of the listener forever.
        .take_until(state.shutdown.clone().cancelled_owned());
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"));
    // Reverse proxies (nginx) must pass events on as they come instead of buffering them.
    Ok(([("x-accel-buffering", "no")], sse))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn last_event_id_is_a_seq_or_absent() {
        let mut h = HeaderMap::new();
        assert_eq!(last_event_id(&h).unwrap(), None);
        h.insert("last-event-id", HeaderValue::from_static(" 42 "));
        assert_eq!(last_event_id(&h).unwrap(), Some(42));
        h.insert("last-event-id", HeaderValue::from_static(""));
        assert_eq!(last_event_id(&h).unwrap(), None);
        h.insert("last-event-id", HeaderValue::from_static("abc"));
        assert_eq!(last_event_id(&h).unwrap_err().status(), 400);
    }
}
