//! `POST /api/v1/media` (a JPEG, PNG or WebP body, ≤ 10 MB → `{"id"}`) and
//! `GET /api/v1/media/{id}` (staff only: photos show people and places).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use super::auth::{Caller, STAFF};
use super::error::{ApiError, ApiResult};
use crate::domain::workflow::Role;
use crate::store::media::{self, MAX_BYTES};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/media", post(upload))
        .route("/api/v1/media/{id}", get(download))
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("a photo may be at most {} MB", MAX_BYTES / (1024 * 1024)),
    )
}

fn unsupported(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        message,
    )
}

async fn upload(
    caller: Caller,
    State(state): State<AppState>,
    req: Request,
) -> ApiResult<Response> {
    caller.require(
        &[
            Role::Inspector,
            Role::Operator,
            Role::Department,
            Role::Kiosk,
            Role::Admin,
        ],
        "upload photos",
    )?;
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if let Some(d) = &declared
        && !matches!(d.as_str(), "image/jpeg" | "image/png" | "image/webp")
    {
        return Err(unsupported(format!(
            "{d} is not accepted: send image/jpeg, image/png or image/webp"
        )));
    }
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > MAX_BYTES) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BYTES)
        .await
        .map_err(|_| too_large())?;
    let Some(kind) = media::sniff(&bytes) else {
        return Err(unsupported("the body is not a JPEG, PNG or WebP image"));
    };
    if declared.as_deref().is_some_and(|d| d != kind) {
        return Err(unsupported(format!(
            "the body is {kind} but was declared {}",
            declared.unwrap_or_default()
        )));
    }
    let size = bytes.len();
    let id = media::save(
        &state.pool,
        &state.media_dir,
        bytes.to_vec(),
        kind,
        caller.0.id,
        state.clock.now(),
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "storing a photo failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the photo could not be stored",
        )
    })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "content_type": kind, "bytes": size})),
    )
        .into_response())
}

async fn download(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require(STAFF, "see photos")?;
    let not_found = || ApiError::not_found("media_not_found", format!("no photo {id}"));
    if !media::is_media_id(&id) {
        return Err(not_found());
    }
    let Some(content_type) = media::content_type(&state.pool, &id).await? else {
        return Err(not_found());
    };
    let bytes = tokio::fs::read(media::path_of(&state.media_dir, &id))
        .await
        .map_err(|e| {
            tracing::error!(media = %id, error = %e, "photo registered but unreadable");
            not_found()
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}
