//! Administration (应用维护), for the admin role: users, machine tokens and
//! kiosks (the city's case configuration is `configuration`). Every change is written to the audit log in its own transaction
//! (`store::audit`); the log is read here and exported as CSV.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::json::ApiJson;
use super::query::Params;
use crate::domain::workflow::Role;
use crate::store::audit::{self, Actor, Entry};
use crate::store::kiosks;
use crate::store::tokens::{self, TokenListing};
use crate::store::users::{self, Listed, NewUser, UserChange, UserError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/users", get(list_users).post(add_user))
        .route(
            "/api/v1/admin/users/{login}",
            axum::routing::patch(update_user),
        )
        .route("/api/v1/admin/users/{login}/password", post(set_password))
        .route("/api/v1/admin/users/{login}/disable", post(disable_user))
        .route("/api/v1/admin/users/{login}/enable", post(enable_user))
        .route("/api/v1/admin/tokens", get(list_tokens).post(add_token))
        .route(
            "/api/v1/admin/tokens/{id}",
            axum::routing::delete(revoke_token),
        )
        .route("/api/v1/admin/kiosks", get(list_kiosks).post(add_kiosk))
        .route(
            "/api/v1/admin/kiosks/{id}",
            axum::routing::patch(update_kiosk).delete(revoke_kiosk),
        )
        .route("/api/v1/admin/kiosks/{id}/enrolment", post(enrol_kiosk))
        .route("/api/v1/admin/audit", get(audit_log))
        .route("/api/v1/admin/audit.csv", get(audit_csv))
}

pub(super) fn actor(caller: &Caller) -> Actor {
    Actor::Admin(caller.0.clone())
}

/// Users as listed, and one of them.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Users {
    pub users: Vec<Listed>,
}

async fn listed(state: &AppState, login: &str) -> ApiResult<Listed> {
    let id = users::id_of(&state.pool, login).await?;
    let mut conn = state.pool.acquire().await?;
    users::listed(&mut conn, id).await?.ok_or_else(|| {
        ApiError::not_found("unknown_login", format!("no user has the login {login:?}"))
    })
}

/// The person with `login`: kiosks are changed as kiosks, not as users.
async fn person(state: &AppState, login: &str) -> ApiResult<Listed> {
    let listed = listed(state, login).await?;
    if listed.user.role == Role::Kiosk {
        return Err(UserError::IsAKiosk(login.to_owned()).into());
    }
    Ok(listed)
}

/// Every user but kiosks, disabled ones too, with their last sign-in.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin",
    responses((status = 200, description = "The users", body = Users)))]
pub(crate) async fn list_users(State(state): State<AppState>) -> ApiResult<Json<Users>> {
    let users = users::list(&state.pool).await?;
    Ok(Json(Users {
        users: users
            .into_iter()
            .filter(|u| u.user.role != Role::Kiosk)
            .collect(),
    }))
}

/// A new person.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]+$")]
    pub login: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub role: Role,
    /// A department user's department code.
    pub department: Option<String>,
    /// An inspector's patrol areas: district, street, community or grid codes.
    #[serde(default)]
    pub patrol: Vec<String>,
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
}

/// Adds a person who signs in with a password (kiosks are added as kiosks).
#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", request_body = NewPerson,
    responses(
        (status = 201, description = "Added", body = Listed),
        (status = 409, description = "The login is taken", body = ErrorBody),
        (status = 422, description = "Invalid: login, name, role, department or password", body = ErrorBody),
    ))]
pub(crate) async fn add_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(p): ApiJson<NewPerson>,
) -> ApiResult<Response> {
    if p.role == Role::Kiosk {
        return Err(UserError::Kiosk.into());
    }
    if p.name.len() > 200 || p.password.len() > 1024 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "a name has at most 200 characters, a password at most 1,024",
        ));
    }
    let (user, _) = users::add_user(
        &state.pool,
        &actor(&caller),
        NewUser {
            login: Some(p.login),
            name: p.name,
            role: p.role,
            department: p.department,
            kiosk: None,
            patrol: p.patrol,
            password: Some(p.password),
        },
        state.clock.now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(listed(&state, &user.login).await?),
    )
        .into_response())
}

/// Changes a user's name, role or department.
#[utoipa::path(patch, path = "/api/v1/admin/users/{login}", tag = "admin",
    params(("login" = String, Path, description = "The user's login")),
    request_body = UserChange,
    responses(
        (status = 200, description = "Changed", body = Listed),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Invalid change", body = ErrorBody),
    ))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
    ApiJson(change): ApiJson<UserChange>,
) -> ApiResult<Json<Listed>> {
    if change.name.as_ref().is_some_and(|n| n.len() > 200) {
        return Err(UserError::Name.into());
    }
    person(&state, &login).await?;
    users::update(
        &state.pool,
        &actor(&caller),
        &login,
        change,
        state.clock.now(),
    )
    .await?;
    Ok(Json(listed(&state, &login).await?))
}

/// A new password.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
}

/// Resets a user's password.
#[utoipa::path(post, path = "/api/v1/admin/users/{login}/password", tag = "admin",
    params(("login" = String, Path, description = "The user's login")),
    request_body = NewPassword,
    responses(
        (status = 204, description = "Set"),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Too short", body = ErrorBody),
    ))]
pub(crate) async fn set_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
    ApiJson(p): ApiJson<NewPassword>,
) -> ApiResult<StatusCode> {
    if p.password.len() > 1024 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "a password has at most 1,024 characters",
        ));
    }
    person(&state, &login).await?;
    users::set_password(
        &state.pool,
        &actor(&caller),
        &login,
        &p.password,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disables a user: their sessions end and tokens are revoked at once.
#[utoipa::path(post, path = "/api/v1/admin/users/{login}/disable", tag = "admin",
    params(("login" = String, Path, description = "The user's login")),
    responses(
        (status = 200, description = "Disabled", body = Listed),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "One's own account", body = ErrorBody),
    ))]
pub(crate) async fn disable_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
) -> ApiResult<Json<Listed>> {
    if caller.0.login.eq_ignore_ascii_case(&login) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot_disable_self",
            "an administrator cannot disable their own account",
        ));
    }
    person(&state, &login).await?;
    users::set_disabled(
        &state.pool,
        &actor(&caller),
        &login,
        true,
        state.clock.now(),
    )
    .await?;
    Ok(Json(listed(&state, &login).await?))
}

/// Lets a disabled user sign in again.
#[utoipa::path(post, path = "/api/v1/admin/users/{login}/enable", tag = "admin",
    params(("login" = String, Path, description = "The user's login")),
    responses(
        (status = 200, description = "Enabled", body = Listed),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub(crate) async fn enable_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
) -> ApiResult<Json<Listed>> {
    person(&state, &login).await?;
    users::set_disabled(
        &state.pool,
        &actor(&caller),
        &login,
        false,
        state.clock.now(),
    )
    .await?;
    Ok(Json(listed(&state, &login).await?))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Tokens {
    pub tokens: Vec<TokenListing>,
}

/// Every machine token (never the token itself).
#[utoipa::path(get, path = "/api/v1/admin/tokens", tag = "admin",
    responses((status = 200, description = "The tokens", body = Tokens)))]
pub(crate) async fn list_tokens(State(state): State<AppState>) -> ApiResult<Json<Tokens>> {
    Ok(Json(Tokens {
        tokens: tokens::list(&state.pool).await?,
    }))
}

/// A new machine token.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The owner's login.
    #[schema(min_length = 1, max_length = 64)]
    pub login: String,
    /// What it is for: "12345 hotline".
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Expires after this many days (none: never).
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_days: Option<i64>,
}

/// The token, shown this once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AddedToken {
    pub id: i64,
    pub token: String,
}

/// Adds a machine token for a user; the answer holds the token, once.
#[utoipa::path(post, path = "/api/v1/admin/tokens", tag = "admin", request_body = NewToken,
    responses(
        (status = 201, description = "Added", body = AddedToken),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Invalid name or expiry", body = ErrorBody),
    ))]
pub(crate) async fn add_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(t): ApiJson<NewToken>,
) -> ApiResult<Response> {
    if t.expires_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_expiry",
            "a token expires after 1 to 3,650 days, or never",
        ));
    }
    person(&state, &t.login).await?;
    let now = state.clock.now();
    let expires = t.expires_days.map(|d| now + chrono::Duration::days(d));
    let (id, token) = tokens::add(
        &state.pool,
        &actor(&caller),
        &t.login,
        &t.name,
        expires,
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(AddedToken { id, token })).into_response())
}

/// Revokes a machine token, at once on every server.
#[utoipa::path(delete, path = "/api/v1/admin/tokens/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such token", body = ErrorBody),
    ))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    if tokens::revoke(&state.pool, &actor(&caller), id, state.clock.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "unknown_token",
            format!("no token has id {id}"),
        ))
    }
}

/// Kiosks, revoked ones too.
#[utoipa::path(get, path = "/api/v1/admin/kiosks", tag = "admin",
    responses((status = 200, description = "The kiosks", body = Users)))]
pub(crate) async fn list_kiosks(State(state): State<AppState>) -> ApiResult<Json<Users>> {
    let users = users::list(&state.pool).await?;
    Ok(Json(Users {
        users: users
            .into_iter()
            .filter(|u| u.user.role == Role::Kiosk)
            .collect(),
    }))
}

/// A new kiosk.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKiosk {
    #[schema(min_length = 1, max_length = 40, pattern = "^[A-Za-z0-9._-]+$")]
    pub id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
}

/// A kiosk's one-time enrolment code: open `/kiosk#enrol=CODE` on it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct KioskEnrolment {
    pub kiosk: String,
    pub code: String,
    pub expires_at: DateTime<Utc>,
    /// The path to open on the kiosk's browser.
    pub enrol_path: String,
    /// The whole address, when the request came from a page (its `Origin`).
    pub enrol_url: Option<String>,
    /// That address as a QR code (SVG), for the kiosk's camera or a phone.
    pub qr_svg: Option<String>,
}

/// The page's origin (`https://host[:port]`), when the request names one.
fn page_origin(headers: &HeaderMap) -> Option<&str> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))?;
    super::web::is_authority(host).then_some(origin)
}

fn enrolment(
    kiosk: &str,
    code: String,
    now: DateTime<Utc>,
    origin: Option<&str>,
) -> KioskEnrolment {
    let enrol_path = format!("/kiosk#enrol={code}");
    let enrol_url = origin.map(|o| format!("{o}{enrol_path}"));
    let qr_svg = enrol_url.as_deref().and_then(super::web::qr_svg);
    KioskEnrolment {
        kiosk: kiosk.to_owned(),
        enrol_path,
        enrol_url,
        qr_svg,
        code,
        expires_at: now + kiosks::CODE_LIFETIME,
    }
}

/// Adds a kiosk; the answer holds its one-time enrolment code.
#[utoipa::path(post, path = "/api/v1/admin/kiosks", tag = "admin", request_body = NewKiosk,
    responses(
        (status = 201, description = "Added", body = KioskEnrolment),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "Invalid id, name or place", body = ErrorBody),
    ))]
pub(crate) async fn add_kiosk(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(k): ApiJson<NewKiosk>,
) -> ApiResult<Response> {
    if k.name.len() > 200 {
        return Err(UserError::Name.into());
    }
    let now = state.clock.now();
    let (_, code) = kiosks::add(
        &state.pool,
        &actor(&caller),
        &k.id,
        &k.name,
        k.lon,
        k.lat,
        now,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(enrolment(&k.id, code, now, page_origin(&headers))),
    )
        .into_response())
}

/// A kiosk's new name or place.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskChange {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: Option<f64>,
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: Option<f64>,
}

/// Renames or moves a kiosk (lon and lat together).
#[utoipa::path(patch, path = "/api/v1/admin/kiosks/{id}", tag = "admin",
    params(("id" = String, Path, description = "The kiosk's id")),
    request_body = KioskChange,
    responses(
        (status = 200, description = "Changed", body = Listed),
        (status = 404, description = "No such kiosk", body = ErrorBody),
        (status = 422, description = "Invalid name or place", body = ErrorBody),
    ))]
pub(crate) async fn update_kiosk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(k): ApiJson<KioskChange>,
) -> ApiResult<Json<Listed>> {
    let place = match (k.lon, k.lat) {
        (Some(lon), Some(lat)) => Some((lon, lat)),
        (None, None) => None,
        _ => return Err(UserError::Kiosk.into()),
    };
    if k.name.as_ref().is_some_and(|n| n.len() > 200) {
        return Err(UserError::Name.into());
    }
    let user = kiosks::update(
        &state.pool,
        &actor(&caller),
        &id,
        k.name.as_deref(),
        place,
        state.clock.now(),
    )
    .await?;
    let mut conn = state.pool.acquire().await?;
    let listed = users::listed(&mut conn, user).await?;
    listed
        .map(Json)
        .ok_or_else(|| ApiError::not_found("unknown_kiosk", format!("no kiosk has id {id:?}")))
}

/// A new enrolment code for a kiosk (re-enables a revoked one).
#[utoipa::path(post, path = "/api/v1/admin/kiosks/{id}/enrolment", tag = "admin",
    params(("id" = String, Path, description = "The kiosk's id")),
    responses(
        (status = 200, description = "A new code", body = KioskEnrolment),
        (status = 404, description = "No such kiosk", body = ErrorBody),
    ))]
pub(crate) async fn enrol_kiosk(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<KioskEnrolment>> {
    let now = state.clock.now();
    let code = kiosks::new_enrolment(&state.pool, &actor(&caller), &id, now).await?;
    Ok(Json(enrolment(&id, code, now, page_origin(&headers))))
}

/// Revokes a kiosk: it shows "out of service" at once.
#[utoipa::path(delete, path = "/api/v1/admin/kiosks/{id}", tag = "admin",
    params(("id" = String, Path, description = "The kiosk's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such kiosk", body = ErrorBody),
    ))]
pub(crate) async fn revoke_kiosk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    kiosks::revoke(&state.pool, &actor(&caller), &id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of the audit log.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditLog {
    pub entries: Vec<Entry>,
}

/// Which page of the audit log.
#[derive(Debug, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditPage {
    /// Entries older than this id (the last one of the page before).
    #[param(value_type = Option<i64>)]
    pub before: Option<String>,
    /// At most this many (default 100, at most 1,000).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

fn audit_page(params: &std::collections::HashMap<String, String>) -> ApiResult<(i64, Option<i64>)> {
    let number = |k: &str| -> ApiResult<Option<i64>> {
        params
            .get(k)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::bad_request("invalid_parameter", format!("{k} is a whole number"))
                })
            })
            .transpose()
    };
    let limit = number("limit")?.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "limit is 1 to 1,000",
        ));
    }
    Ok((limit, number("before")?))
}

/// The administrative audit log, latest first: who, when, what, before → after.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(AuditPage),
    responses((status = 200, description = "The entries", body = AuditLog)))]
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    Params(params, _): Params<AuditPage>,
) -> ApiResult<Json<AuditLog>> {
    let (limit, before) = audit_page(&params)?;
    Ok(Json(AuditLog {
        entries: audit::list(&state.pool, limit, before).await?,
    }))
}

/// The whole audit log as CSV (UTF-8 with BOM, for spreadsheets).
#[utoipa::path(get, path = "/api/v1/admin/audit.csv", tag = "admin",
    responses((status = 200, description = "The audit log", content_type = "text/csv", body = String)))]
pub(crate) async fn audit_csv(State(state): State<AppState>) -> ApiResult<Response> {
    let entries = audit::list(&state.pool, i64::MAX, None).await?;
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let text = |v: &Option<serde_json::Value>| v.as_ref().map_or(String::new(), |v| v.to_string());
    let written: Result<(), csv::Error> = (|| {
        out.write_record(["id", "at", "actor", "action", "target", "before", "after"])?;
        for e in &entries {
            out.write_record([
                e.id.to_string(),
                e.at.to_rfc3339(),
                e.actor.clone(),
                e.action.clone(),
                e.target.clone(),
                text(&e.before),
                text(&e.after),
            ])?;
        }
        Ok(())
    })();
    let body = written
        .ok()
        .and_then(|()| out.into_inner().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"admin-audit.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}
