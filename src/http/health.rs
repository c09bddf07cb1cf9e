//! `/health` (the process is up) and `/ready` (the database answers).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use crate::store::replica::ReadsFrom;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/api/v1/openapi.json", get(openapi))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    pub version: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, description = "Up", body = Health)))]
pub(crate) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: &'static str,
    /// `ok`.
    pub database: &'static str,
    /// Unit grids, components and public services in the loaded city index.
    pub grids: usize,
    pub components: usize,
    pub services: usize,
    /// Where tiles, evaluation, exports and Open311 GETs are read from now.
    pub stale_reads: ReadsFrom,
}

/// The database answers and the city index is loaded.
#[utoipa::path(get, path = "/ready", tag = "service",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    ))]
pub(crate) async fn ready(State(state): State<AppState>) -> ApiResult<Json<Ready>> {
    let ping = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("SELECT 1").execute(&state.pool),
    )
    .await;
    match ping {
        Ok(Ok(_)) => {
            let index = state.city.get();
            Ok(Json(Ready {
                status: "ready",
                database: "ok",
                grids: index.grids.grids().len(),
                components: index.components.len(),
                services: index.services.len(),
                stale_reads: state.stale_reads.from(),
            }))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(unavailable())
        }
        Err(_) => Err(unavailable()),
    }
}

fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "the database does not answer",
    )
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
pub(crate) async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        super::openapi::document(),
    )
}
