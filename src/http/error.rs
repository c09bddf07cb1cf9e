//! The one error type at the HTTP edge: `{"error":{"code","message"}}`.
//! 4xx carry a machine-readable code and a human message; 5xx log the cause and
//! say nothing of it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::import::records::Problem;
use crate::store::users::UserError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait before retrying (429, 503).
    pub retry_after: Option<u64>,
    /// Each problem found in an edited data set (422 `invalid_config`).
    pub problems: Vec<Problem>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            problems: Vec::new(),
        }
    }
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
}

/// Every error's body.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `invalid_coordinates`, `case_not_found`, `rate_limited`, …
    pub code: String,
    /// For people.
    pub message: String,
    /// Where and why an edited data set is invalid, as the import reports it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                problems: self.problems,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        response
            .extensions_mut()
            .insert(super::edge::ApiErrorMarker);
        if let Some(s) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(s),
            );
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && matches!(db.code().as_deref(), Some("40P01" | "40001"))
        {
            tracing::warn!(error = %e, "concurrent update");
            return Self::new(
                StatusCode::CONFLICT,
                "concurrent_update",
                "another change to the same case got in the way; reload and try again",
            );
        }
        if let sqlx::Error::Database(db) = &e
            && db.code().as_deref() == Some("57014")
        {
            // statement_timeout: the database is overloaded, or the query too big.
            tracing::warn!(error = %e, "statement timed out");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_busy",
                "the database took too long to answer; try again shortly",
            );
        }
        // Connection failures (08), the server shutting down or starting up
        // (57P), out of connections or memory (53): the database is away.
        let away = matches!(&e, sqlx::Error::Database(db)
            if db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c.starts_with("53")));
        if away {
            tracing::error!(error = %e, "database unavailable");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database cannot be reached; try again shortly",
            );
        }
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => {
                tracing::error!(error = %e, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the database cannot be reached; try again shortly",
                )
            }
            e => {
                tracing::error!(error = %e, "database error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        let status = match &e {
            UserError::Database(_) | UserError::Random(_) => {
                return match e {
                    UserError::Database(e) => e.into(),
                    e => {
                        tracing::error!(error = %e, "no random bytes");
                        ApiError::new(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "internal",
                            "internal error",
                        )
                    }
                };
            }
            UserError::UnknownLogin(_) => StatusCode::NOT_FOUND,
            UserError::LoginTaken(_) => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
