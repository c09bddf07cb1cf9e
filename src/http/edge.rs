//! What every request meets before its handler, and every error answer after:
//! the one place where the request line and headers are checked (size, valid
//! UTF-8, no NUL or control characters in any decoded path or query text, so
//! that no such text ever reaches SQL), the 429 answer (the anonymous limit is
//! applied where the caller is known: `access::enforce`), a time limit per
//! request, and the documented error shape on every answer —
//! `{"error":{"code","message"}}`, Open311's own shape under `/open311/`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The longest request target (path and query) accepted.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) accepted.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most header fields a request may carry (the server reads up to
/// [`super::server::HEADERS_READ`] to answer more with this shape).
pub const MAX_HEADERS: usize = 100;
/// How long a request may take, unless it is an upload.
pub const REQUEST_TIME_LIMIT: Duration = Duration::from_secs(30);
/// How long a photo upload may take (10 MB over a slow mobile link).
pub const UPLOAD_TIME_LIMIT: Duration = Duration::from_secs(120);
/// What a 503 asks clients to wait before retrying, in seconds.
pub const RETRY_AFTER_S: u64 = 2;

/// An error in the shape the path's clients read.
pub fn error_at(path: &str, status: StatusCode, code: &'static str, message: String) -> Response {
    if path.starts_with("/open311/") {
        super::open311::error_for_path(path, status, format!("{code}: {message}"))
    } else {
        ApiError::new(status, code, message).into_response()
    }
}

/// Checks the request line and headers and applies the time limit (the
/// anonymous rate limit needs the caller: `access::enforce` applies it).
pub async fn guard(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if let Err((status, code, message)) = check_request(&req) {
        return error_at(&path, status, code, message);
    }
    let limit = if path == "/api/v1/media" {
        UPLOAD_TIME_LIMIT
    } else {
        REQUEST_TIME_LIMIT
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(path = %path, limit_s = limit.as_secs(), "request timed out");
            let mut r = error_at(
                &path,
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the request took longer than {} s; try again",
                    limit.as_secs()
                ),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
            r
        }
    }
}

/// Who is calling, for the rate limit: the peer's address, or behind a
/// trusted reverse proxy the address it appended last to `X-Forwarded-For`
/// (earlier entries are the client's to forge). An IPv6 caller is its /64:
/// one subscriber holds a whole /64.
pub(super) fn client_address(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_forwarded_for: bool,
) -> String {
    let forwarded = trust_forwarded_for
        .then(|| {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|a| !a.is_empty())
                .map(str::to_owned)
        })
        .flatten();
    let address = forwarded.or_else(|| peer.map(|p| p.ip().to_string()));
    match address.as_deref().map(|a| (a, a.parse::<IpAddr>())) {
        Some((_, Ok(ip))) => match subscriber(ip) {
            IpAddr::V6(v6) => format!("{v6}/64"),
            v4 => v4.to_string(),
        },
        Some((a, _)) => a.to_owned(),
        None => "unknown".to_owned(),
    }
}

/// The subscriber behind an address: an IPv4 address (also when written as
/// IPv6), or an IPv6 address's /64 — one subscriber holds a whole /64.
pub(super) fn subscriber(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        v4 => v4,
    }
}

/// 429 with how long to wait.
pub fn too_many(path: &str, wait: Duration) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut r = error_at(
        path,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; try again in {seconds} s"),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    r
}

/// Paths behind the anonymous rate limit: everything that reaches the
/// database or the index. The web map's own files and health checks are not.
pub(super) fn rate_limited_path(path: &str) -> bool {
    ["/api/", "/open311/", "/tiles/"]
        .iter()
        .any(|p| path.starts_with(p))
}

type Refusal = (StatusCode, &'static str, String);

fn check_request(req: &Request) -> Result<(), Refusal> {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return Err((
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is {uri_len} bytes; at most {MAX_URI_BYTES}"),
        ));
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    let count = req.headers().len();
    if count > MAX_HEADERS {
        return Err((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request has {count} header fields; at most {MAX_HEADERS}"),
        ));
    }
    if header_bytes > MAX_HEADER_BYTES {
        return Err((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES}"),
        ));
    }
    plain_text(
        "the path",
        &percent_decode(req.uri().path().as_bytes(), false),
    )?;
    if let Some(q) = req.uri().query() {
        for part in q.split('&') {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            plain_text("a query parameter", &percent_decode(k.as_bytes(), true))?;
            plain_text("a query parameter", &percent_decode(v.as_bytes(), true))?;
        }
    }
    Ok(())
}

/// Valid UTF-8 with no NUL or other control characters (tabs and line breaks
/// are not allowed in a URL either).
pub fn plain_text(what: &str, bytes: &[u8]) -> Result<(), Refusal> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
            format!("{what} is not valid UTF-8"),
        )
    })?;
    if text.chars().any(char::is_control) {
        return Err((
            StatusCode::BAD_REQUEST,
            "invalid_text",
            format!("{what} holds a control character (such as NUL)"),
        ));
    }
    Ok(())
}

/// `%XX` decoded (and `+` as a space in a query), malformed escapes kept as
/// they are.
pub fn percent_decode(bytes: &[u8], plus_is_space: bool) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Gives every error answer the documented shape: rejections from the
/// framework (bad path parameters, bodies over the limit, …) come as plain
/// text; under `/open311/` our own JSON errors become Open311's. A 503 always
/// says when to retry.
pub async fn shape_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status();
    if status.as_u16() < 400 {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let open311 = path.starts_with("/open311/");
    let is_json = content_type.starts_with("application/json");
    let shaped = if open311 {
        content_type.starts_with("text/xml") || is_json && !is_api_error(&response)
    } else {
        is_json
    };
    let mut response = if shaped {
        response
    } else {
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        let (parts, body) = response.into_parts();
        let text = axum::body::to_bytes(body, 64 * 1024)
            .await
            .unwrap_or_default();
        let (code, message) = match serde_json::from_slice::<serde_json::Value>(&text) {
            Ok(v) if v["error"]["code"].is_string() => (
                v["error"]["code"].as_str().unwrap_or("error").to_owned(),
                v["error"]["message"].as_str().unwrap_or("").to_owned(),
            ),
            _ => (
                code_for(parts.status).to_owned(),
                match String::from_utf8_lossy(&text).trim() {
                    "" => parts
                        .status
                        .canonical_reason()
                        .unwrap_or("error")
                        .to_owned(),
                    t => t.to_owned(),
                },
            ),
        };
        let mut r = if open311 {
            super::open311::error_for_path(&path, parts.status, format!("{code}: {message}"))
        } else {
            let body = serde_json::json!({"error": {"code": code, "message": message}});
            (parts.status, axum::Json(body)).into_response()
        };
        if let Some(v) = retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    };
    if status == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
    }
    response
}

/// Whether a JSON error is ours (`{"error":…}`) rather than Open311's (`[…]`):
/// told by a marker header our errors carry.
fn is_api_error(response: &Response) -> bool {
    response.extensions().get::<ApiErrorMarker>().is_some()
}

/// Set on every [`ApiError`] answer.
#[derive(Clone, Copy, Debug)]
pub struct ApiErrorMarker;

/// The machine-readable code for a framework rejection's status.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_what_sql_must_not_see() {
        assert_eq!(percent_decode(b"a%20b+c", true), b"a b c");
        assert_eq!(percent_decode(b"a%20b+c", false), b"a b+c");
        assert_eq!(percent_decode(b"%zz%4", false), b"%zz%4");
        assert_eq!(percent_decode(b"%E4%B8%AD", false), "中".as_bytes());
        assert!(plain_text("x", &percent_decode(b"/cases/%00.json", false)).is_err());
        assert_eq!(
            plain_text("x", &percent_decode(b"/cases/%FF", false))
                .unwrap_err()
                .1,
            "invalid_utf8"
        );
        assert!(plain_text("x", "事件-0102".as_bytes()).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64), plus: bool) {
            let out = percent_decode(&bytes, plus);
            proptest::prop_assert!(out.len() <= bytes.len());
        }
    }
}
