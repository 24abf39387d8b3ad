//! Request extractors of the admin API that answer bad input with our JSON errors (400, 413, 415)
//! instead of axum's plain-text rejections. Validation of *values* is the room's job (422).

use crate::http::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest admin API request body.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body (request) or JSON response.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Json<T>(pub(crate) T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request("invalid_json", e.body_text()),
        // Wrong types, missing and unknown fields: the JSON is fine, its shape is not.
        JsonRejection::JsonDataError(e) => ApiError::bad_request("invalid_request", e.body_text()),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::payload_too_large(MAX_BODY_BYTES)
        }
        other => ApiError::bad_request("invalid_request", other.body_text()),
    }
}

/// Path parameters; a bad one is a 400 JSON error.
#[derive(Debug)]
pub(crate) struct Path<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(e @ PathRejection::FailedToDeserializePathParams(_)) => {
                Err(ApiError::bad_request("invalid_path", e.body_text()))
            }
            Err(e) => Err(ApiError::internal(format!("path parameters unavailable: {}", e.body_text()))),
        }
    }
}

/// Query-string parameters; a bad one (wrong type, unknown name) is a 400 JSON error.
#[derive(Debug)]
pub(crate) struct Query<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

fn query_rejection(e: QueryRejection) -> ApiError {
    ApiError::bad_request("invalid_query", e.body_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body1 {
        muted: bool,
    }

    async fn extract(content_type: Option<&str>, body: impl Into<Body>) -> Result<Json<Body1>, ApiError> {
        let mut req = Request::builder().method("POST").uri("/");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(body.into()).unwrap();
        Json::<Body1>::from_request(req, &()).await
    }

    #[tokio::test]
    async fn each_bad_body_class_has_its_status_and_code() {
        let json = Some("application/json");
        assert!(extract(json, r#"{"muted": true}"#).await.is_ok());
        let cases = [
            (json, "{muted", 400, "invalid_json"),
            (json, r#"{"muted": "yes"}"#, 400, "invalid_request"),
            (json, r#"{"muted": true, "extra": 1}"#, 400, "invalid_request"),
            (json, "{}", 400, "invalid_request"),
            (None, r#"{"muted": true}"#, 415, "unsupported_media_type"),
        ];
        for (ct, body, status, code) in cases {
            let e = extract(ct, body).await.unwrap_err();
            assert_eq!((e.status().as_u16(), e.code()), (status, code), "{body}");
        }
    }
}
