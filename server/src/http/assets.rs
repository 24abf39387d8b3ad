//! The browser client, embedded in the binary from `web/` (no CDN, works offline).

use super::ApiError;
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../web/"]
struct Assets;

fn serve(path: &str) -> Result<Response, ApiError> {
    let file = Assets::get(path).ok_or_else(|| ApiError::not_found(format!("no such page: /{path}")))?;
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    Ok(([(header::CONTENT_TYPE, mime.as_ref().to_owned()), (header::CACHE_CONTROL, "no-cache".to_owned())], file.data)
        .into_response())
}

/// `/` and `/join`: the client page.
pub(crate) async fn index() -> Result<Response, ApiError> {
    serve("index.html")
}

/// `/admin`: the moderator dashboard.
pub(crate) async fn admin() -> Result<Response, ApiError> {
    serve("admin.html")
}

/// Any other path: a file of the client, or a JSON 404.
pub(crate) async fn file(uri: Uri) -> Result<Response, ApiError> {
    serve(uri.path().trim_start_matches('/'))
}
