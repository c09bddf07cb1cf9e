//! Who may call what: one table, every route in it, enforced before any
//! handler runs. A route missing from the table is refused (and the
//! authorisation test fails). Finer rules stay with the data: departments see
//! their own cases, the kiosk a case's public view, tiles' staff layers staff.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::optional_caller;
use super::edge;
use super::error::ApiError;
use crate::domain::workflow::Role;
use crate::store::users::role_name;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Access {
    /// Anyone, signed in or not (a wrong token is still 401).
    Anyone,
    /// Callers signed in with one of these roles.
    Roles(&'static [Role]),
}

use Access::{Anyone, Roles};
use Role::{Admin, Department, Dispatcher, Inspector, Kiosk, Operator};

const EVERY_ROLE: &[Role] = &[Inspector, Operator, Dispatcher, Department, Kiosk, Admin];
/// The city's staff: every role but the kiosk.
pub const STAFF: &[Role] = &[Inspector, Operator, Dispatcher, Department, Admin];

/// Every route: method, path as routed, who may call it.
pub const ACCESS: &[(&str, &str, Access)] = &[
    ("GET", "/health", Anyone),
    ("GET", "/ready", Anyone),
    ("GET", "/api/v1/openapi.json", Anyone),
    ("GET", "/api/v1/me", Roles(EVERY_ROLE)),
    // Signing in and out: with a password, or nothing to lose.
    ("POST", "/api/v1/session", Anyone),
    ("DELETE", "/api/v1/session", Anyone),
    // A kiosk's browser, with the administrator's one-time code.
    ("POST", "/api/v1/device/enrol", Anyone),
    // Administration: users, machine tokens, kiosks, the audit log.
    ("GET", "/api/v1/admin/users", Roles(&[Admin])),
    ("POST", "/api/v1/admin/users", Roles(&[Admin])),
    ("PATCH", "/api/v1/admin/users/{login}", Roles(&[Admin])),
    (
        "POST",
        "/api/v1/admin/users/{login}/password",
        Roles(&[Admin]),
    ),
    (
        "POST",
        "/api/v1/admin/users/{login}/disable",
        Roles(&[Admin]),
    ),
    (
        "POST",
        "/api/v1/admin/users/{login}/enable",
        Roles(&[Admin]),
    ),
    ("GET", "/api/v1/admin/tokens", Roles(&[Admin])),
    ("POST", "/api/v1/admin/tokens", Roles(&[Admin])),
    ("DELETE", "/api/v1/admin/tokens/{id}", Roles(&[Admin])),
    ("GET", "/api/v1/admin/kiosks", Roles(&[Admin])),
    ("POST", "/api/v1/admin/kiosks", Roles(&[Admin])),
    ("PATCH", "/api/v1/admin/kiosks/{id}", Roles(&[Admin])),
    ("DELETE", "/api/v1/admin/kiosks/{id}", Roles(&[Admin])),
    (
        "POST",
        "/api/v1/admin/kiosks/{id}/enrolment",
        Roles(&[Admin]),
    ),
    ("GET", "/api/v1/admin/audit", Roles(&[Admin])),
    ("GET", "/api/v1/admin/audit.csv", Roles(&[Admin])),
    // The city's case configuration, and previews of drafts of it.
    ("GET", "/api/v1/admin/config", Roles(&[Admin])),
    ("GET", "/api/v1/admin/config/{dataset}", Roles(&[Admin])),
    ("PUT", "/api/v1/admin/config/{dataset}", Roles(&[Admin])),
    (
        "POST",
        "/api/v1/admin/config/preview/route",
        Roles(&[Admin]),
    ),
    (
        "POST",
        "/api/v1/admin/config/preview/deadline",
        Roles(&[Admin]),
    ),
    // The city: public facts.
    ("GET", "/api/v1/locate", Anyone),
    ("GET", "/api/v1/services/nearby", Anyone),
    ("GET", "/api/v1/classes", Anyone),
    ("GET", "/api/v1/departments", Anyone),
    ("GET", "/api/v1/areas", Anyone),
    ("GET", "/api/v1/map-config", Anyone),
    // Cases.
    (
        "POST",
        "/api/v1/reports",
        Roles(&[Inspector, Kiosk, Operator, Admin]),
    ),
    ("GET", "/api/v1/cases", Roles(STAFF)),
    ("GET", "/api/v1/cases/counts", Roles(STAFF)),
    ("GET", "/api/v1/cases.geojson", Roles(STAFF)),
    ("GET", "/api/v1/cases.csv", Roles(STAFF)),
    // A kiosk gets the public view; a department only its own cases.
    ("GET", "/api/v1/cases/{case_no}", Roles(EVERY_ROLE)),
    // A citizen following their case: its public view, and the page.
    ("GET", "/api/v1/track/{case_no}", Anyone),
    ("GET", "/track/{case_no}", Anyone),
    ("GET", "/track/{case_no}/qr.svg", Anyone),
    // Which action by which role: the workflow decides.
    ("POST", "/api/v1/cases/{case_no}/actions", Roles(STAFF)),
    ("GET", "/api/v1/events", Roles(STAFF)),
    (
        "POST",
        "/api/v1/media",
        Roles(&[Inspector, Operator, Department, Kiosk, Admin]),
    ),
    // Departments: only photos of their own cases.
    ("GET", "/api/v1/media/{id}", Roles(STAFF)),
    (
        "GET",
        "/api/v1/stats/evaluation",
        Roles(&[Operator, Dispatcher, Department, Admin]),
    ),
    (
        "GET",
        "/api/v1/stats/hotspots",
        Roles(&[Operator, Dispatcher, Inspector, Department, Admin]),
    ),
    // Public layers for anyone; `components` and `cases` for staff.
    ("GET", "/tiles/{layer}/{z}/{x}/{tile}", Anyone),
    // Open311: public views; a POST carries its api_key in the form.
    ("GET", "/open311/v2/{file}", Anyone),
    ("GET", "/open311/v2/requests.json", Anyone),
    ("POST", "/open311/v2/requests.json", Anyone),
    ("GET", "/open311/v2/requests.xml", Anyone),
    ("POST", "/open311/v2/requests.xml", Anyone),
    ("GET", "/open311/v2/services/{file}", Anyone),
    ("GET", "/open311/v2/requests/{file}", Anyone),
    ("GET", "/open311/v2/tokens/{file}", Anyone),
    // The web map's pages sign in in the browser.
    ("GET", "/", Anyone),
    ("GET", "/inspector", Anyone),
    ("GET", "/kiosk", Anyone),
    ("GET", "/stats", Anyone),
    ("GET", "/admin", Anyone),
    ("GET", "/assets/{*path}", Anyone),
];

/// The rule for a routed request; HEAD follows GET.
pub fn rule(method: &str, path: &str) -> Option<Access> {
    let method = if method == "HEAD" { "GET" } else { method };
    ACCESS
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, a)| *a)
}

/// The route and rule for a path as the OpenAPI document writes it: a
/// routed segment `{name}` stands for any one segment (`requests/{id}.json`),
/// `{*rest}` for the rest. As in routing, the most literal route wins.
pub fn rule_for_document(method: &str, path: &str) -> Option<(&'static str, Access)> {
    let wanted: Vec<&str> = path.split('/').collect();
    let literal = |route: &str| route.split('/').filter(|s| !s.starts_with('{')).count();
    ACCESS
        .iter()
        .filter(|(m, _, _)| *m == method)
        .filter(|(_, route, _)| {
            let routed: Vec<&str> = route.split('/').collect();
            let rest = routed.last().is_some_and(|s| s.starts_with("{*"));
            let fixed = if rest { routed.len() - 1 } else { routed.len() };
            (wanted.len() == routed.len() || rest && wanted.len() > fixed)
                && routed[..fixed]
                    .iter()
                    .zip(&wanted)
                    .all(|(r, w)| r.starts_with('{') || r == w)
        })
        .max_by_key(|(_, route, _)| literal(route))
        .map(|(_, route, a)| (*route, *a))
}

/// Applies [`ACCESS`]; the caller it finds is handed to the handler.
pub async fn enforce(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(req).await;
    };
    let Some(access) = rule(req.method().as_str(), &path) else {
        tracing::error!(method = %req.method(), path = %path, "route without an access rule");
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no_access_rule",
            "this route has no access rule",
        )
        .into_response();
    };
    let (mut parts, body) = req.into_parts();
    let caller = optional_caller(&parts, &state).await;
    // Callers without an account, and wrong tokens, share their address's
    // allowance (a made-up token is no way around it).
    let anonymous = match &caller {
        Ok(None) => true,
        Ok(Some(_)) => false,
        Err(e) => e.status == StatusCode::UNAUTHORIZED,
    };
    if anonymous && edge::rate_limited_path(parts.uri.path()) {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let key = edge::client_address(&parts.headers, peer, state.trust_forwarded_for);
        if let Err(wait) = state.rates.anonymous.check(&key, Instant::now()) {
            return edge::too_many(parts.uri.path(), wait);
        }
    }
    let caller = match caller {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Roles(roles) = access {
        match &caller {
            None => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "sign in, or send Authorization: Bearer TOKEN",
                )
                .into_response();
            }
            Some(user) if !roles.contains(&user.role) => {
                return super::auth::forbidden(format!(
                    "a {} may not {} {path}",
                    role_name(user.role),
                    parts.method
                ))
                .into_response();
            }
            Some(_) => {}
        }
    }
    if let Some(user) = caller {
        parts.extensions.insert(user);
    }
    req = Request::from_parts(parts, body);
    next.run(req).await
}
