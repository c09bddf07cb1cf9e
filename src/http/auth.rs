//! The caller, from `Authorization: Bearer TOKEN`. Missing or unknown → 401;
//! a role that may not do something → 403. For what browsers fetch without
//! headers (EventSource, <img>), a GET may carry `?access_token=TOKEN` instead.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::domain::workflow::Role;
use crate::store::users::{self, User, role_name};

/// An authenticated caller.
pub struct Caller(pub User);

impl Caller {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], doing: &str) -> ApiResult<()> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(forbidden(format!(
                "a {} may not {doing}",
                role_name(self.0.role)
            )))
        }
    }
}

pub fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// `access_token` from the query string of a GET.
fn query_token(parts: &Parts) -> Option<String> {
    if parts.method != axum::http::Method::GET {
        return None;
    }
    parts.uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "access_token").then(|| v.to_owned())
    })
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = match parts.headers.get(axum::http::header::AUTHORIZATION) {
            Some(header) => header
                .to_str()
                .ok()
                .and_then(|h| h.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| unauthorized("the Authorization header must be Bearer TOKEN"))?,
            None => query_token(parts)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| unauthorized("sign in: send Authorization: Bearer TOKEN"))?,
        };
        match users::by_token(&state.pool, &token).await? {
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
