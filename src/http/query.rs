//! Query parameters: read by the names a documented type declares
//! (`utoipa::IntoParams`, so the OpenAPI document lists them), then handed to
//! the handler as text, which it parses with its own error codes.

use std::collections::HashMap;
use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The query parameters `T` declares, as text; others are ignored.
pub struct Params<T>(pub HashMap<String, String>, pub PhantomData<T>);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: DeserializeOwned + Serialize,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(declared) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
        Ok(Params(as_text(&declared), PhantomData))
    }
}

/// A type's text fields by their names as sent (a form's or a query's).
pub fn as_text<T: Serialize>(declared: &T) -> HashMap<String, String> {
    match serde_json::to_value(declared) {
        Ok(serde_json::Value::Object(m)) => m
            .into_iter()
            .filter_map(|(k, v)| match v {
                serde_json::Value::String(s) => Some((k, s)),
                _ => None,
            })
            .collect(),
        _ => HashMap::new(),
    }
}
