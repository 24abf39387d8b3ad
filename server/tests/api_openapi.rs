//! The served OpenAPI document is valid OpenAPI 3.1 as read by an independent parser (`oas3`),
//! describes the routes of the contract and no others, with their path parameters, request bodies and
//! responses, has unique operation ids, and every `$ref` in it resolves. (`scripts/validate-openapi.sh`
//! checks the same document with the reference validator, openapi-spec-validator.)

mod common;

use common::{Api, LATER_ROUTES, ROUTES};
use oas3::spec::{ObjectOrReference, ParameterIn};
use serde_json::Value;
use std::collections::BTreeSet;
use common::spawn_test_server;

/// POST routes that act on the path alone and take no body.
const BODYLESS_POSTS: &[&str] = &[
    "/api/v1/rooms/{room}/participants/{identity}/hold",
    "/api/v1/rooms/{room}/participants/{identity}/resume",
    "/api/v1/rooms/{room}/lobby/{identity}/admit",
    "/api/v1/rooms/{room}/lobby/{identity}/deny",
    "/api/v1/server/drain",
];

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.insert(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_valid_and_describes_every_route() {
    let server = spawn_test_server().await.unwrap();
    let reply = Api::with_token(&server, None).get("/api/v1/openapi.json").await;
    assert!(reply.content_type.starts_with("application/json"), "{}", reply.content_type);
    let raw = reply.expect(200);
    let spec = oas3::from_json(raw.to_string()).expect("oas3 parses the document");
    let version = spec.validate_version().expect("a supported OpenAPI version");
    assert_eq!((version.major, version.minor), (3, 1));

    // Every route of the contract, and nothing outside it.
    let paths = spec.paths.as_ref().expect("paths");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for (method, _) in item.methods() {
            documented.insert((method.to_string(), path.clone()));
        }
    }
    let as_set = |routes: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        routes.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect()
    };
    let mut required = as_set(ROUTES);
    required.insert(("GET".into(), "/api/v1/openapi.json".into()));
    let missing: Vec<_> = required.difference(&documented).collect();
    assert!(missing.is_empty(), "routes missing from the document: {missing:?}");
    let allowed: BTreeSet<_> = required.union(&as_set(LATER_ROUTES)).cloned().collect();
    let unknown: Vec<_> = documented.difference(&allowed).collect();
    assert!(unknown.is_empty(), "routes outside the contract: {unknown:?}");

    let mut operation_ids = BTreeSet::new();
    for (path, item) in paths {
        for (method, op) in item.methods() {
            let what = format!("{method} {path}");
            let id = op.operation_id.clone().unwrap_or_else(|| panic!("{what}: operationId"));
            assert!(operation_ids.insert(id.clone()), "{what}: operationId {id} is not unique");
            // Path parameters are declared for every template segment.
            let declared: BTreeSet<String> = op
                .parameters(&spec)
                .expect("parameters resolve")
                .into_iter()
                .filter(|p| p.location == ParameterIn::Path)
                .map(|p| p.name)
                .collect();
            let templated: BTreeSet<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(str::to_owned)
                .collect();
            assert_eq!(declared, templated, "{what}: path parameters");

            // Bodies: JSON with a schema for POST and PATCH, except the path-only actions.
            let body = op.request_body(&spec).expect("request body resolves");
            let wants_body = matches!(method.as_str(), "POST" | "PATCH") && !BODYLESS_POSTS.contains(&path.as_str());
            assert_eq!(body.is_some(), wants_body, "{what}: request body");
            if let Some(body) = body {
                let json = body.content.get("application/json").unwrap_or_else(|| panic!("{what}: JSON body"));
                assert!(json.schema.is_some(), "{what}: body schema");
            }

            // Responses: a 2xx, and for admin routes the auth errors with a JSON error body.
            let responses = op.responses(&spec);
            assert!(responses.keys().any(|s| s.starts_with('2')), "{what}: a success response");
            if path != "/api/v1/openapi.json" {
                for status in ["401", "403", "429"] {
                    let r = responses.get(status).unwrap_or_else(|| panic!("{what}: {status} documented"));
                    assert!(r.content.contains_key("application/json"), "{what}: {status} is JSON");
                }
                assert!(op.security.is_empty(), "{what}: inherits the global bearer requirement");
            } else {
                assert_eq!(op.security.len(), 1, "{what}: overrides security");
                assert!(op.security[0].0.is_empty(), "{what}: needs no token");
            }
        }
    }

    // Bearer security is declared globally and defined.
    assert_eq!(spec.security.len(), 1);
    assert!(spec.security[0].0.contains_key("bearer"));
    let components = spec.components.as_ref().expect("components");
    assert!(matches!(components.security_schemes.get("bearer"), Some(ObjectOrReference::Object(_))));
    for name in ["Room", "Participant", "Track", "Permissions", "ErrorBody"] {
        assert!(components.schemas.contains_key(name), "schema {name}");
    }

    // Every reference points at something that exists.
    let mut refs = BTreeSet::new();
    collect_refs(&raw, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("local reference: {r}"));
        assert!(raw.pointer(pointer).is_some(), "dangling $ref {r}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_served_json_has_exactly_the_documented_fields() {
    let server = spawn_test_server().await.unwrap();
    let doc = common::openapi(&server).await;
    let api = Api::new(&server);
    let room = api.create_room("mirror", serde_json::json!({"metadata": {"k": "v"}})).await;
    common::assert_matches_schema(&doc, "Room", &room);
    let _alice = common::join(&server, "mirror", "alice").await;
    let alice = api.get("/api/v1/rooms/mirror/participants/alice").await.expect(200);
    common::assert_matches_schema(&doc, "Participant", &alice);
    common::assert_matches_schema(&doc, "Permissions", &alice["permissions"]);
    let invite = api.post("/api/v1/rooms/mirror/invites", serde_json::json!({"identity": "bob"})).await.expect(201);
    common::assert_matches_schema(&doc, "Invite", &invite);
    let error = api.get("/api/v1/rooms/nowhere").await.expect(404);
    common::assert_matches_schema(&doc, "ErrorBody", &error);
    common::assert_matches_schema(&doc, "ErrorDetail", &error["error"]);
    server.shutdown().await;
}
