//! The web map's pages and assets, from the built `web-map/dist/` directory:
//! `/` the dispatch console, `/inspector` the phone page, `/kiosk` the kiosk
//! page, `/stats` the evaluation page, `/assets/…` their scripts, styles and
//! MapLibre.

use std::path::{Component, Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::error::{ApiError, ApiResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|s: State<AppState>| page(s, "index.html")))
        .route(
            "/inspector",
            get(|s: State<AppState>| page(s, "inspector.html")),
        )
        .route("/kiosk", get(|s: State<AppState>| page(s, "kiosk.html")))
        .route("/stats", get(|s: State<AppState>| page(s, "stats.html")))
        .route("/admin", get(|s: State<AppState>| page(s, "admin.html")))
        .route("/assets/{*path}", get(asset))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

async fn send(path: PathBuf, cache: &'static str) -> ApiResult<Response> {
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok((
            [
                (header::CONTENT_TYPE, content_type(&path)),
                (header::CACHE_CONTROL, cache),
            ],
            Body::from(bytes),
        )
            .into_response()),
        Err(_) => Err(ApiError::not_found(
            "not_found",
            "no such file (is the web map built? npm --prefix web-map run build)",
        )),
    }
}

async fn page(State(state): State<AppState>, file: &'static str) -> ApiResult<Response> {
    send(state.web_dir.join(file), "no-cache").await
}

async fn asset(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
) -> ApiResult<Response> {
    let rel = Path::new(&path);
    // Plain names only: no `..`, no absolute paths.
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such file",
        ));
    }
    send(state.web_dir.join("assets").join(rel), "no-cache").await
}
