//! `POST /api/v1/media` (a JPEG, PNG or WebP body, ≤ 10 MB → `{"id"}`) and
//! `GET /api/v1/media/{id}` (staff only: photos show people and places;
//! departments only their own cases' photos).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::{Caller, forbidden};
use super::error::{ApiError, ApiResult, ErrorBody};
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

#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    /// Name it in a report's or an action's `photos`.
    pub id: String,
    pub content_type: &'static str,
    pub bytes: usize,
}

/// Stores a photo: a JPEG, PNG or WebP body of at most 10 MB, decoded whole.
#[utoipa::path(post, path = "/api/v1/media", tag = "media",
    request_body(content(
        (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"))),
    responses(
        (status = 201, description = "Stored", body = Uploaded),
        (status = 413, description = "Larger than 10 MB", body = ErrorBody),
        (status = 415, description = "Not a JPEG, PNG or WebP picture", body = ErrorBody),
    ))]
pub(crate) async fn upload(
    caller: Caller,
    State(state): State<AppState>,
    req: Request,
) -> ApiResult<Response> {
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
    let kind = check_picture(bytes.clone()).await?;
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
        Json(Uploaded {
            id,
            content_type: kind,
            bytes: size,
        }),
    )
        .into_response())
}

/// Decodes the upload whole, two at a time at most (the machine's cores stay
/// free for the rest): its type, or 415 with why it is not a picture.
async fn check_picture(bytes: axum::body::Bytes) -> ApiResult<&'static str> {
    static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let _turn = DECODING.acquire().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is stopping",
        )
    })?;
    let checked = tokio::task::spawn_blocking(move || media::check_picture(&bytes))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "decoding a picture failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        })?;
    match checked {
        Ok((kind, _, _)) => Ok(kind),
        Err(e) => Err(unsupported(e.to_string())),
    }
}

/// A photo: staff only; a department only photos of its own cases.
#[utoipa::path(get, path = "/api/v1/media/{id}", tag = "media",
    params(("id" = String, Path, description = "The photo's id")),
    responses(
        (status = 200, description = "The photo", content(
            (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"))),
        (status = 404, description = "No such photo", body = ErrorBody),
    ))]
pub(crate) async fn download(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let not_found = || ApiError::not_found("media_not_found", format!("no photo {id}"));
    if !media::is_media_id(&id) {
        return Err(not_found());
    }
    // A photo shows what its case shows: departments see their own cases' photos.
    let content_type = match (&caller.0.role, &caller.0.department) {
        (Role::Department, Some(department)) => {
            match media::content_type_for_department(&state.pool, &id, caller.0.id, department)
                .await?
            {
                None => return Err(not_found()),
                Some((_, false)) => {
                    return Err(forbidden("this photo is not of your department's cases"));
                }
                Some((t, true)) => t,
            }
        }
        (Role::Department, None) => return Err(forbidden("a department user needs a department")),
        _ => media::content_type(&state.pool, &id)
            .await?
            .ok_or_else(not_found)?,
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
