//! The caller and signing in. People sign in with a login and password
//! (`POST /api/v1/session`) and carry an HttpOnly session cookie; machines
//! send `Authorization: Bearer TOKEN`. A wrong, revoked or expired token is
//! 401; a stale cookie is no caller at all (public routes still answer); a
//! role that may not do something is 403. A write made with the cookie must
//! come from a page of this origin (`Origin`), besides `SameSite=Strict`.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Duration;

use super::AppState;
use super::edge;
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use crate::domain::workflow::Role;
use crate::store::kiosks;
use crate::store::sessions::{self, Lifetime};
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

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// The cookie a signed-in browser carries.
pub const SESSION_COOKIE: &str = "citygrid_session";
/// Its name when served over TLS: the `__Host-` prefix makes browsers refuse
/// one set by a sibling subdomain or for a narrower path.
pub const SECURE_SESSION_COOKIE: &str = "__Host-citygrid_session";

/// How long sessions last and how their cookie is sent.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Idle time of a console session (operators, dispatchers, departments, admins).
    pub console_idle: Duration,
    /// Idle time of an inspector's phone: one working shift.
    pub inspector_idle: Duration,
    /// Every session ends this long after sign-in.
    pub lifetime: Duration,
    /// Mark the cookie `Secure` (served over TLS, e.g. behind a proxy).
    pub secure_cookie: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            console_idle: Duration::minutes(30),
            inspector_idle: Duration::hours(12),
            lifetime: Duration::hours(12),
            secure_cookie: false,
        }
    }
}

impl SessionPolicy {
    fn lifetime_of(&self, role: Role) -> Lifetime {
        let idle = if role == Role::Inspector {
            self.inspector_idle
        } else {
            self.console_idle
        };
        Lifetime {
            idle: idle.min(self.lifetime),
            absolute: self.lifetime,
        }
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookie {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    fn cookie(&self, value: &str, max_age: i64) -> HeaderValue {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        let name = self.cookie_name();
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ))
        .expect("a cookie of hex digits")
    }
}

/// What the request carries to say who it is.
enum Credential {
    Bearer(String),
    Session(String),
}

fn credential_of(parts: &Parts, cookie: &str) -> Result<Option<Credential>, ApiError> {
    if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
        return h
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Some(Credential::Bearer(t.to_owned())))
            .ok_or_else(|| unauthorized("the Authorization header must be Bearer TOKEN"));
    }
    Ok(session_cookie(&parts.headers, cookie).map(Credential::Session))
}

fn session_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)
                .and_then(|c| c.strip_prefix('='))
        })
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Whether the request's `Origin` is this server as the browser reached it.
fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

/// Refuses a credential-making request (sign-in, enrolment) from another
/// site's page: it would sign the browser in as someone else. Clients that
/// send no `Origin` (scripts) are not pages.
fn from_our_pages(headers: &HeaderMap, message: &'static str) -> ApiResult<()> {
    if headers.contains_key(header::ORIGIN) && !same_origin(headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            message,
        ));
    }
    Ok(())
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The caller, if the request names one: a wrong bearer token is 401, a
/// stale session cookie no caller.
pub async fn optional_caller(parts: &Parts, state: &AppState) -> Result<Option<User>, ApiError> {
    let now = state.clock.now();
    let user = match credential_of(parts, state.sessions.cookie_name())? {
        None => return Ok(None),
        Some(Credential::Bearer(token)) => match users::by_token(&state.pool, &token, now).await? {
            Some(user) => user,
            None => return Err(unauthorized("unknown, expired or revoked token")),
        },
        Some(Credential::Session(secret)) => {
            let Some(user) = sessions::user(&state.pool, &secret, now).await? else {
                return Ok(None);
            };
            if is_write(&parts.method) && !same_origin(&parts.headers) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "cross_site_request",
                    "a change made with the sign-in cookie must come from citygrid's own pages",
                ));
            }
            user
        }
    };
    // A kiosk is public: it serves passers-by at a bounded rate.
    if user.role == Role::Kiosk {
        let key = user.id.to_string();
        if let Err(wait) = state.rates.kiosk.check(&key, Instant::now()) {
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

/// The caller the access check found (`access::enforce`), else from the request.
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
            None => Err(unauthorized("sign in, or send Authorization: Bearer TOKEN")),
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
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/session", post(sign_in).delete(sign_out))
        .route("/api/v1/device/enrol", post(enrol))
}

/// Who the caller is: the pages show only what this role may do.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, description = "The caller", body = User)))]
pub(crate) async fn me(Caller(user): Caller) -> Json<User> {
    Json(user)
}

/// A login and password.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    #[schema(min_length = 1, max_length = 64)]
    pub login: String,
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

fn too_many_attempts(wait: std::time::Duration) -> ApiError {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_sign_in_attempts",
        format!("too many failed attempts; try again in {seconds} s"),
    )
    .retry_after(seconds)
}

/// Signs in: the user, and a session cookie. A wrong password, an unknown
/// login and a disabled user get the same 401 after the same work; repeated
/// failures, per login and per address, 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/session", tag = "accounts", request_body = SignIn,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = User,
            headers(("Set-Cookie" = String, description = "citygrid_session, HttpOnly, SameSite=Strict"))),
        (status = 401, description = "Wrong login or password", body = super::error::ErrorBody),
        (status = 403, description = "From another site's page", body = super::error::ErrorBody),
        (status = 422, description = "Not a login and password", body = super::error::ErrorBody),
    ))]
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    ApiJson(body): ApiJson<SignIn>,
) -> ApiResult<Response> {
    from_our_pages(&headers, "sign in on citygrid's own pages")?;
    if body.login.len() > 64 || body.password.len() > 1024 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "a login has at most 64 characters and a password at most 1,024",
        ));
    }
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let address = edge::client_address(&headers, peer, state.trust_forwarded_for);
    let login_key = body.login.to_lowercase();
    let now = Instant::now();
    let rates = &state.rates;
    // Each attempt is counted before the password is checked (so that
    // parallel guesses meet the limit too) and given back when it succeeds.
    let for_login = rates.sign_in_per_login.check(&login_key, now);
    let for_address = rates.sign_in_per_address.check(&address, now);
    if for_login.is_err() || for_address.is_err() {
        if for_login.is_ok() {
            rates.sign_in_per_login.refund(&login_key);
        }
        if for_address.is_ok() {
            rates.sign_in_per_address.refund(&address);
        }
        let wait = for_login.err().max(for_address.err()).unwrap_or_default();
        return Err(too_many_attempts(wait));
    }
    let refused = || {
        // The login as typed only when it could be one (not a password typed
        // into the wrong field, nor a forged log line).
        let login = if users::valid_login(&body.login) {
            body.login.as_str()
        } else {
            "(not a login)"
        };
        tracing::info!(login = %login, address = %address, "sign-in refused");
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong login or password",
        )
    };
    let Some(user) = users::by_password(&state.pool, &body.login, &body.password).await? else {
        return Err(refused());
    };
    let lifetime = state.sessions.lifetime_of(user.role);
    let secret = match sessions::start(&state.pool, user.id, lifetime, state.clock.now()).await {
        Ok(secret) => secret,
        // Disabled while signing in.
        Err(users::UserError::Disabled) => return Err(refused()),
        Err(e) => return Err(e.into()),
    };
    rates.sign_in_per_login.refund(&login_key);
    rates.sign_in_per_address.refund(&address);
    tracing::info!(login = %user.login, role = role_name(user.role), "signed in");
    let cookie = state
        .sessions
        .cookie(&secret, lifetime.absolute.num_seconds());
    Ok(([(header::SET_COOKIE, cookie)], Json(user)).into_response())
}

/// Signs out: the session ends on every server, and the cookie is cleared.
#[utoipa::path(delete, path = "/api/v1/session", tag = "accounts",
    responses((status = 204, description = "Signed out; the cookie is cleared")))]
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(secret) = session_cookie(&headers, state.sessions.cookie_name()) {
        sessions::end(&state.pool, &secret, state.clock.now()).await?;
    }
    let cookie = state.sessions.cookie("", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// A kiosk's one-time enrolment code.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    #[schema(min_length = 1, max_length = 64)]
    pub code: String,
}

/// Enrols the browser of a kiosk: the administrator's one-time code, for a
/// long-lived device session (cookie). An unknown, used or expired code, or a
/// revoked kiosk, gets 422; repeated failures from an address 429.
#[utoipa::path(post, path = "/api/v1/device/enrol", tag = "accounts", request_body = Enrolment,
    responses(
        (status = 200, description = "Enrolled; the device cookie is set", body = User,
            headers(("Set-Cookie" = String, description = "citygrid_session, HttpOnly, SameSite=Strict"))),
        (status = 422, description = "Not a valid enrolment code", body = super::error::ErrorBody),
    ))]
pub(crate) async fn enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    ApiJson(body): ApiJson<Enrolment>,
) -> ApiResult<Response> {
    from_our_pages(&headers, "enrol on citygrid's own kiosk page")?;
    if body.code.len() > 64 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "an enrolment code has at most 64 characters",
        ));
    }
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let address = edge::client_address(&headers, peer, state.trust_forwarded_for);
    let now = Instant::now();
    if let Err(wait) = state.rates.sign_in_per_address.check(&address, now) {
        return Err(too_many_attempts(wait));
    }
    let enrolled = kiosks::enrol(&state.pool, &body.code, state.clock.now()).await?;
    let Some((user, secret)) = enrolled else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_enrolment_code",
            "this enrolment code is unknown, used or expired, or the kiosk is revoked",
        ));
    };
    state.rates.sign_in_per_address.refund(&address);
    tracing::info!(kiosk = %user.login, "kiosk enrolled");
    let cookie = state
        .sessions
        .cookie(&secret, kiosks::DEVICE.absolute.num_seconds());
    Ok(([(header::SET_COOKIE, cookie)], Json(user)).into_response())
}
