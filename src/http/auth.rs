//! The caller, from `Authorization: Bearer TOKEN`. Missing or unknown → 401.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use super::error::ApiError;
use crate::store::users::{self, User};

/// An authenticated caller.
pub struct Caller(pub User);

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("sign in: send Authorization: Bearer TOKEN"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("the Authorization header must be Bearer TOKEN"))?;
        match users::by_token(&state.pool, token).await? {
            Some(user) => Ok(Caller(user)),
            None => Err(unauthorized("unknown or revoked token")),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(me))
}

/// Who the token belongs to: the web map shows only what this role may see.
async fn me(Caller(user): Caller) -> Json<User> {
    Json(user)
}
