//! The caller, from `Authorization: Bearer TOKEN`. Missing or unknown → 401;
//! a role that may not do something → 403. For what browsers fetch without
//! headers (EventSource, <img>, map tiles), a GET may carry `?access_token=TOKEN`
//! or the web map's `citygrid_token` cookie instead.

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

pub use super::access::STAFF;

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
    parts.uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "access_token").then(|| v.to_owned())
    })
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// The token the request carries: `Authorization: Bearer`, else (GET only, so
/// that no other site can make a browser change anything) `?access_token=`
/// or the `citygrid_token` cookie the web map sets.
fn token_of(parts: &Parts) -> Result<Option<String>, ApiError> {
    if let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        return header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Some(t.to_owned()))
            .ok_or_else(|| unauthorized("the Authorization header must be Bearer TOKEN"));
    }
    if parts.method != axum::http::Method::GET {
        return Ok(None);
    }
    if let Some(t) = query_token(parts).filter(|t| !t.is_empty()) {
        return Ok(Some(t));
    }
    let cookie = parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(TOKEN_COOKIE)
                .and_then(|c| c.strip_prefix('='))
        })
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Ok(cookie)
}

/// The cookie the web map keeps the signed-in token in.
pub const TOKEN_COOKIE: &str = "citygrid_token";

/// The caller, if the request names one (a wrong token is still 401).
pub async fn optional_caller(parts: &Parts, state: &AppState) -> Result<Option<User>, ApiError> {
    let Some(token) = token_of(parts)? else {
        return Ok(None);
    };
    match users::by_token(&state.pool, &token).await? {
        Some(user) => {
            // A kiosk is public: it serves passers-by at a bounded rate.
            if user.role == Role::Kiosk {
                let key = user.id.to_string();
                if let Err(wait) = state.rates.kiosk.check(&key, std::time::Instant::now()) {
                    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
                    return Err(ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        format!("too many requests from this kiosk; try again in {seconds} s"),
                    )
                    .retry_after(seconds));
                }
            }
            Ok(Some(user))
        }
        None => Err(unauthorized("unknown or revoked token")),
    }
}

/// The caller the access check found (`access::enforce`), else from the token.
async fn known_caller(parts: &Parts, state: &AppState) -> Result<Option<User>, ApiError> {
    match parts.extensions.get::<User>() {
        Some(user) => Ok(Some(user.clone())),
        None => optional_caller(parts, state).await,
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match known_caller(parts, state).await? {
            Some(user) => Ok(Caller(user)),
            None => Err(unauthorized("sign in: send Authorization: Bearer TOKEN")),
        }
    }
}

/// An optional caller: anonymous requests get `None`, wrong tokens 401.
pub struct MaybeCaller(pub Option<User>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeCaller(known_caller(parts, state).await?))
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(me))
}

/// Who the token belongs to: the web map shows only what this role may see.
/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "service",
    responses((status = 200, description = "The caller", body = User)))]
pub(crate) async fn me(Caller(user): Caller) -> Json<User> {
    Json(user)
}
