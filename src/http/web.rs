//! The web map's pages and assets, from the built `web-map/dist/` directory:
//! `/` the dispatch console, `/inspector` the phone page, `/kiosk` the kiosk
//! page, `/stats` the evaluation page, `/admin` administration, `/track/{no}`
//! a citizen's case (and its address as a QR code for receipts), `/assets/…`
//! their scripts, styles, MapLibre and the labels' glyphs.

use std::path::{Component, Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
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
        .route(
            "/track/{case_no}",
            get(|s: State<AppState>| page(s, "track.html")),
        )
        .route("/track/{case_no}/qr.svg", get(track_qr))
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
        "pbf" => "application/x-protobuf",
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
    let file = state.web_dir.join("assets").join(rel);
    // A label glyph range the build has not made (the Chinese ones: the
    // device draws those itself) is an empty set of glyphs, not an error.
    if path.starts_with("fonts/") && path.ends_with(".pbf") && !file.is_file() {
        return Ok((
            [
                (header::CONTENT_TYPE, "application/x-protobuf"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            Body::empty(),
        )
            .into_response());
    }
    send(file, "no-cache").await
}

/// Whether `s` is a plain `host[:port]` (names, IPv4 or bracketed IPv6), fit
/// to build an address for a QR code from.
pub fn is_authority(s: &str) -> bool {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']');
    !s.is_empty() && s.len() <= 255 && s.bytes().all(plain)
}

/// `text` as a QR code (SVG), or none when it is too long for one.
pub fn qr_svg(text: &str) -> Option<String> {
    let qr = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        qr.render::<qrcode::render::svg::Color>()
            .min_dimensions(240, 240)
            .build(),
    )
}

/// The address of a case's tracking page as a QR code, for the kiosk's
/// receipt: scanned with a phone, it opens `/track/{case_no}`.
async fn track_qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(case_no): UrlPath<String>,
) -> ApiResult<Response> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    if case_no.is_empty() || case_no.len() > 40 || !case_no.bytes().all(plain) {
        return Err(ApiError::bad_request(
            "invalid_case_no",
            "a case number has letters, digits and '-'",
        ));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_authority(h))
        .ok_or_else(|| ApiError::bad_request("invalid_host", "the request names no host"))?;
    let scheme = if state.sessions.secure_cookie {
        "https"
    } else {
        "http"
    };
    let svg = qr_svg(&format!("{scheme}://{host}/track/{case_no}"))
        .ok_or_else(|| ApiError::bad_request("invalid_case_no", "too long for a QR code"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        svg,
    )
        .into_response())
}
