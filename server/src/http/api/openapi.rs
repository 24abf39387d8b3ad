//! The OpenAPI 3.1 document of the admin API, generated from the handlers' annotations and the
//! request/response types, served without a token at `GET /api/v1/openapi.json`.

use super::{data, events, invites, lobby, moderation, participants, rooms, schema, server, sessions};
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard admin API",
        description = "Rooms, participants and moderation of a Switchboard server. Every route needs \
                       `Authorization: Bearer <JWT>` with the server-wide `admin` grant, except this document.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        rooms::create, rooms::list, rooms::get, rooms::update, rooms::end,
        participants::list, participants::get, participants::update, participants::remove,
        participants::bans, participants::lift_ban,
        moderation::mute, moderation::mute_room, moderation::hold, moderation::resume, moderation::move_to,
        invites::create, invites::mint,
        lobby::list, lobby::admit, lobby::deny,
        data::send,
        events::stream,
        sessions::list, sessions::get,
        server::get, server::drain,
        openapi_json,
    ),
    components(schemas(
        schema::ErrorBody, schema::RoomSchema, schema::ParticipantSchema, schema::TrackSchema, schema::SseEvent,
        crate::store::StoredEvent,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "rooms", description = "Create, inspect, configure and end rooms"),
        (name = "participants", description = "Who is in a room; kick and ban"),
        (name = "moderation", description = "Mute, hold, resume, move"),
        (name = "lobby", description = "The waiting room"),
        (name = "invites", description = "Join tokens and invite links"),
        (name = "data", description = "Data messages to participants"),
        (name = "events", description = "Live event stream (server-sent events) with replay"),
        (name = "sessions", description = "Session records: room sessions and participant legs"),
        (name = "server", description = "Server status and drain"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// Declares the `bearer` security scheme the document's global `security` refers to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The document as JSON, built once.
pub(crate) fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
        describe_sse_data(&mut doc);
        serde_json::to_string_pretty(&doc).expect("a JSON value serialises")
    })
}

/// utoipa has no attribute for JSON Schema's `contentMediaType`/`contentSchema`: the `data` of an
/// SSE event is JSON text whose content is an `Event`.
fn describe_sse_data(doc: &mut serde_json::Value) {
    let data = &mut doc["components"]["schemas"]["SseEvent"]["properties"]["data"];
    data["contentMediaType"] = "application/json".into();
    data["contentSchema"] = serde_json::json!({ "$ref": "#/components/schemas/Event" });
}

/// This OpenAPI document (no token needed).
#[utoipa::path(
    operation_id = "get_openapi",
    get, path = "/api/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json"))
)]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}
