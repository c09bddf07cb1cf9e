//! The OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! attributes and the request and response types: a route, a parameter or a
//! field cannot change without the document changing. Who may call each
//! operation, and the errors every route can answer (401, 403, 429, 503 …),
//! come from [`super::access::ACCESS`], the table the server enforces.

use std::sync::OnceLock;

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, Header, Ref, RefOr, Response, ResponseBuilder, Schema};

use super::access::{self, Access};
use super::{
    admin, auth, cases, city, configuration, events, health, media, open311, stats, tiles,
};
use crate::domain::workflow::Role;
use crate::store::users::role_name;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "citygrid",
        description = "City grid management and incident dispatch (数字化城市管理). \
            Coordinates are WGS-84 (lon, lat). Errors are `{\"error\":{\"code\",\"message\"}}` \
            (Open311's own `[{\"code\",\"description\"}]` under `/open311/`). People sign in \
            with `POST /api/v1/session` (a session cookie); machines send \
            `Authorization: Bearer TOKEN`; each operation says which roles may call it. \
            Retry a report with the same `client_key` until a 2xx: it is never taken twice. \
            Open311 answers XML too: ask for `.xml` instead of `.json`.",
    ),
    paths(
        health::health,
        health::ready,
        health::openapi,
        auth::me,
        auth::sign_in,
        auth::sign_out,
        auth::enrol,
        admin::list_users,
        admin::add_user,
        admin::update_user,
        admin::set_password,
        admin::disable_user,
        admin::enable_user,
        admin::list_tokens,
        admin::add_token,
        admin::revoke_token,
        admin::list_kiosks,
        admin::add_kiosk,
        admin::update_kiosk,
        admin::enrol_kiosk,
        admin::revoke_kiosk,
        admin::audit_log,
        admin::audit_csv,
        configuration::all,
        configuration::one,
        configuration::replace,
        configuration::preview_route,
        configuration::preview_deadline,
        city::locate,
        city::services_nearby,
        city::classes,
        city::departments,
        city::areas,
        city::map_config,
        cases::report,
        cases::list,
        cases::export_geojson,
        cases::export_csv,
        cases::counts,
        cases::detail,
        cases::track,
        cases::act,
        events::events,
        media::upload,
        media::download,
        stats::evaluation,
        stats::hotspots,
        tiles::tile,
        open311::discovery,
        open311::services,
        open311::service_definition,
        open311::requests_get,
        open311::requests_post,
        open311::request_one,
        open311::token_one,
    ),
    components(schemas(super::error::ErrorBody, open311::Open311ErrorItem)),
    modifiers(&AccessRules),
    tags(
        (name = "service", description = "Health, readiness, this document"),
        (name = "accounts", description = "Signing in and out, the caller"),
        (name = "admin", description = "Administration: users, tokens, kiosks, the audit log"),
        (name = "city", description = "The city: geocoding, classes, departments, areas"),
        (name = "cases", description = "Intake and the closed loop"),
        (name = "media", description = "Photos"),
        (name = "stats", description = "Evaluation and hot spots"),
        (name = "map", description = "Vector tiles"),
        (name = "open311", description = "Open311 GeoReport v2"),
    ),
)]
pub struct ApiDoc;

/// The document as served, built once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

/// Applies the access table to every operation: its security, the roles in
/// its description, and the errors the edge and the table can answer.
struct AccessRules;

impl Modify for AccessRules {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let open311 = path.starts_with("/open311/");
            for (method, op) in [
                ("GET", &mut item.get),
                ("POST", &mut item.post),
                ("DELETE", &mut item.delete),
                ("PATCH", &mut item.patch),
                ("PUT", &mut item.put),
            ] {
                let Some(op) = op else { continue };
                let access = access::rule_for_document(method, path).map(|(_, a)| a);
                apply(op, access, open311, method != "GET");
            }
        }
    }
}

fn error_response(description: &str, open311: bool, retry_after: bool) -> RefOr<Response> {
    let schema: RefOr<Schema> = if open311 {
        ArrayBuilder::new()
            .items(Ref::from_schema_name("Open311ErrorItem"))
            .into()
    } else {
        Ref::from_schema_name("ErrorBody").into()
    };
    let mut r = ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(schema)));
    if retry_after {
        r = r.header(
            "Retry-After",
            Header::new(ObjectBuilder::new().schema_type(Type::Integer)),
        );
    }
    r.build().into()
}

fn apply(op: &mut Operation, access: Option<Access>, open311: bool, write: bool) {
    let responses = &mut op.responses.responses;
    let mut add = |status: &str, description: &str, retry_after: bool| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description, open311, retry_after));
    };
    add(
        "400",
        "Invalid parameters, or text that is not UTF-8 or holds control characters",
        false,
    );
    add("503", "The database is away or busy; retry after", true);
    add("default", "Any other error, in the same shape", false);
    let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
    let session = SecurityRequirement::new("session", Vec::<String>::new());
    if write {
        add(
            "403",
            "Made with the sign-in cookie from another site's page",
            false,
        );
    }
    match access {
        Some(Access::Anyone) => {
            add(
                "401",
                "A token was sent but is unknown, expired or revoked",
                false,
            );
            add(
                "429",
                "Too many requests from this address; retry after",
                true,
            );
            op.security = Some(vec![SecurityRequirement::default(), bearer, session]);
            append(op, "Anyone may call this.");
        }
        Some(Access::Roles(roles)) => {
            add(
                "401",
                "Not signed in, or an unknown, expired or revoked token",
                false,
            );
            add("403", "The caller's role may not do this", false);
            if roles.contains(&Role::Kiosk) {
                add(
                    "429",
                    "Too many requests from this kiosk; retry after",
                    true,
                );
            }
            op.security = Some(vec![bearer, session]);
            let names: Vec<&str> = roles.iter().map(|r| role_name(*r)).collect();
            append(op, &format!("Roles: {}.", names.join(", ")));
        }
        None => {}
    }
}

fn append(op: &mut Operation, text: &str) {
    op.description = Some(match op.description.take() {
        Some(d) if !d.is_empty() => format!("{d}\n\n{text}"),
        _ => text.to_owned(),
    });
}
