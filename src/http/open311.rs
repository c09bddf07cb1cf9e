//! Open311 GeoReport v2 at `/open311/v2/`: discovery, services (one per
//! component and event class: `event-0102`, `component-0101`), service
//! definitions, requests (POST form-encoded with an `api_key` that is a
//! citygrid token; GET with the spec's filters), request look-up and tokens.
//! JSON or XML by the `.json` / `.xml` suffix; errors are
//! `[{"code","description"}]` (XML `<errors>`). Public answers carry no
//! personal data and no staff notes.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::cases::{ReportBody, take_report};
use super::error::ApiError;
use super::public::{PublicCase, public_cases};
use super::query::Params;
use crate::domain::codes::ClassKind;
use crate::store::case_config::{self, CaseConfig};
use crate::store::cases::{self, CaseFilter, CaseRecord, Intaken};
use crate::store::replica::ReadsFrom;
use crate::store::users;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/open311/v2/requests.json",
            get(|s, q| requests_get(s, Format::Json, q))
                .post(|s, f| requests_post(s, Format::Json, f)),
        )
        .route(
            "/open311/v2/requests.xml",
            get(|s, q| requests_get(s, Format::Xml, q))
                .post(|s, f| requests_post(s, Format::Xml, f)),
        )
        .route("/open311/v2/{file}", get(root_get))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(request_one))
        .route("/open311/v2/tokens/{file}", get(token_one))
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Xml,
}

/// An Open311 error: status and description.
struct Open311Error(StatusCode, String, Format);

impl Open311Error {
    fn new(status: StatusCode, description: impl Into<String>, fmt: Format) -> Self {
        Self(status, description.into(), fmt)
    }
    fn from_api(e: ApiError, fmt: Format) -> Self {
        // Open311 knows 400, 403 and 404; others keep their status.
        let status = match e.status {
            StatusCode::UNAUTHORIZED => StatusCode::FORBIDDEN,
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            s => s,
        };
        Self(status, format!("{}: {}", e.code, e.message), fmt)
    }
}

/// Open311's error: a list of these.
#[derive(Debug, Serialize, ToSchema)]
pub struct Open311ErrorItem {
    /// The HTTP status.
    pub code: u16,
    pub description: String,
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let Open311Error(status, description, fmt) = self;
        let body = [Open311ErrorItem {
            code: status.as_u16(),
            description,
        }];
        (status, render(&body, fmt, "errors", "error")).into_response()
    }
}

/// An error in Open311's shape for a request to `path` (XML when it asks for
/// `.xml`): for the errors the edge answers before any handler runs.
pub(super) fn error_for_path(path: &str, status: StatusCode, description: String) -> Response {
    let fmt = if path.ends_with(".xml") {
        Format::Xml
    } else {
        Format::Json
    };
    Open311Error::new(status, description, fmt).into_response()
}

type Result<T> = std::result::Result<T, Open311Error>;

/// How many ids one `requests.json?service_request_id=` may name: the spec's
/// clients ask for a handful; more is a scan, not a look-up.
const MAX_REQUEST_IDS: usize = 50;

/// A database failure in Open311's error shape.
fn db(fmt: Format) -> impl Fn(sqlx::Error) -> Open311Error {
    move |e| Open311Error::from_api(e.into(), fmt)
}

/// `name.json` / `name.xml` → (name, format).
fn split(file: &str) -> std::result::Result<(&str, Format), Open311Error> {
    if let Some(n) = file.strip_suffix(".json") {
        Ok((n, Format::Json))
    } else if let Some(n) = file.strip_suffix(".xml") {
        Ok((n, Format::Xml))
    } else {
        Err(Open311Error::new(
            StatusCode::NOT_FOUND,
            format!("{file}: ask for .json or .xml"),
            Format::Json,
        ))
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Open311's XML: a root holding one element per item; arrays inside items
/// hold their own singular elements (`keywords` is a comma list).
fn xml_value(name: &str, v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::Object(m) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in m {
                xml_value(k, v, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            let singular = match name {
                "attributes" => "attribute",
                "values" => "value",
                "endpoints" => "endpoint",
                "formats" => "format",
                _ => "item",
            };
            for i in items {
                xml_value(singular, i, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

fn render<T: Serialize + ?Sized>(v: &T, fmt: Format, root: &str, item: &str) -> Response {
    let v = serde_json::to_value(v).unwrap_or(Value::Null);
    match fmt {
        Format::Json => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_vec(&v).unwrap_or_default(),
        )
            .into_response(),
        Format::Xml => {
            let mut out = String::from(r#"<?xml version="1.0" encoding="utf-8"?>"#);
            match &v {
                Value::Array(items) => {
                    out.push_str(&format!("<{root}>"));
                    for i in items {
                        xml_value(item, i, &mut out);
                    }
                    out.push_str(&format!("</{root}>"));
                }
                other => xml_value(root, other, &mut out),
            }
            ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], out).into_response()
        }
    }
}

fn service_code(kind: ClassKind, class: &str) -> String {
    format!("{}-{class}", kind.as_str())
}

fn parse_service_code(code: &str) -> Option<(ClassKind, &str)> {
    let (kind, class) = code.split_once('-')?;
    Some((ClassKind::parse(kind)?, class))
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `discovery` and `services`, as `.json` or `.xml`.
async fn root_get(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response> {
    let (name, fmt) = split(&file)?;
    match name {
        "discovery" => Ok(discovery(fmt)),
        "services" => services(&state, fmt).await,
        _ => Err(Open311Error::new(
            StatusCode::NOT_FOUND,
            format!("no resource {name}"),
            fmt,
        )),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Discovery {
    pub changeset: &'static str,
    pub contact: &'static str,
    pub key_service: &'static str,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Endpoint {
    pub specification: &'static str,
    pub url: &'static str,
    pub changeset: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub formats: Vec<&'static str>,
}

/// Where the endpoints are and what they speak (also `.xml`).
#[utoipa::path(get, path = "/open311/v2/discovery.json", tag = "open311",
    responses((status = 200, description = "Discovery", body = Discovery)))]
fn discovery(fmt: Format) -> Response {
    let d = Discovery {
        changeset: "2026-11-23T00:00:00Z",
        contact: "the city's digital urban management centre",
        key_service: "ask the centre for an api_key (a citygrid token)",
        endpoints: vec![Endpoint {
            specification: "http://wiki.open311.org/GeoReport_v2",
            url: "/open311/v2",
            changeset: "2026-11-23T00:00:00Z",
            kind: "production",
            formats: vec!["application/json", "text/xml"],
        }],
    };
    render(&d, fmt, "discovery", "")
}

/// A service: one per component or event class.
#[derive(Debug, Serialize, ToSchema)]
pub struct Service {
    /// `event-0102`, `component-0101`.
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// Always true: every service has a definition (the `urgent` attribute).
    pub metadata: bool,
    /// `realtime`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub keywords: String,
    pub group: String,
}

/// Every service (also `.xml`).
#[utoipa::path(get, path = "/open311/v2/services.json", tag = "open311",
    responses((status = 200, description = "The services", body = [Service])))]
async fn services(state: &AppState, fmt: Format) -> Result<Response> {
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT kind, code, major_name, name, name_en FROM classes ORDER BY kind DESC, code",
    )
    .fetch_all(state.stale_reads.pool())
    .await
    .map_err(db(fmt))?;
    let list: Vec<Service> = rows
        .into_iter()
        .filter_map(|(kind, code, major, name, name_en)| {
            let k = ClassKind::parse(&kind)?;
            Some(Service {
                service_code: service_code(k, &code),
                description: format!("{name} ({name_en}) — {kind} class {code}"),
                service_name: name,
                metadata: true,
                kind: "realtime",
                keywords: format!("{kind}, {code}, {name_en}"),
                group: major,
            })
        })
        .collect();
    Ok(render(&list, fmt, "services", "service"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDefinition {
    pub service_code: String,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Attribute {
    pub variable: bool,
    pub code: &'static str,
    pub datatype: &'static str,
    pub required: bool,
    pub datatype_description: &'static str,
    pub order: u32,
    pub description: &'static str,
    pub values: Vec<AttributeValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeValue {
    pub key: &'static str,
    pub name: &'static str,
}

/// A service's attributes (also `.xml`).
#[utoipa::path(get, path = "/open311/v2/services/{service_code}.json", tag = "open311",
    params(("service_code" = String, Path, description = "`event-0102`, `component-0101`")),
    responses(
        (status = 200, description = "The definition", body = ServiceDefinition),
        (status = 404, description = "No such service", body = [Open311ErrorItem]),
    ))]
async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response> {
    let (code, fmt) = split(&file)?;
    let cfg = case_config::load(&state.pool).await.map_err(db(fmt))?;
    let known = parse_service_code(code).is_some_and(|(k, c)| cfg.class(k, c).is_some());
    if !known {
        return Err(Open311Error::new(
            StatusCode::NOT_FOUND,
            format!("no service {code}"),
            fmt,
        ));
    }
    let def = ServiceDefinition {
        service_code: code.to_owned(),
        attributes: vec![Attribute {
            variable: true,
            code: "urgent",
            datatype: "singlevaluelist",
            required: false,
            datatype_description: "urgent cases have shorter time limits",
            order: 1,
            description: "Is it dangerous or urgent? 是否紧急",
            values: vec![
                AttributeValue {
                    key: "false",
                    name: "normal 一般",
                },
                AttributeValue {
                    key: "true",
                    name: "urgent 紧急",
                },
            ],
        }],
    };
    Ok(render(&def, fmt, "service_definition", ""))
}

/// A service request: a case's public view.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceRequest {
    /// The case number.
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    /// The state in public words, English and Chinese.
    pub status_notes: String,
    pub service_name: Option<String>,
    pub service_code: String,
    /// The public reporter's words (masked) once filed; otherwise empty.
    pub description: String,
    /// The department handling it, once dispatched.
    pub agency_responsible: Option<String>,
    pub service_notice: &'static str,
    pub requested_datetime: String,
    pub updated_datetime: String,
    /// When handling is due, once dispatched.
    pub expected_datetime: Option<String>,
    pub address: String,
    /// The unit grid's code.
    pub address_id: String,
    pub zipcode: Option<String>,
    pub lat: f64,
    pub long: f64,
    pub media_url: &'static str,
}

fn request_view(c: &PublicCase) -> ServiceRequest {
    let kind = ClassKind::parse(&c.kind).unwrap_or(ClassKind::Event);
    ServiceRequest {
        service_request_id: c.case_no.clone(),
        status: if c.open { "open" } else { "closed" },
        status_notes: format!("{} {}", c.state_name_en, c.state_name),
        service_name: c.class_name.clone(),
        service_code: service_code(kind, &c.class),
        description: c.description.clone().unwrap_or_default(),
        agency_responsible: c.agency.clone(),
        service_notice: "",
        requested_datetime: iso(c.reported_at),
        updated_datetime: iso(c.updated_at),
        expected_datetime: c.expected_at.map(iso),
        address: c.address.clone(),
        address_id: c.grid.clone(),
        zipcode: None,
        lat: c.lat,
        long: c.lon,
        media_url: "",
    }
}

/// Cases as a `service_requests` answer: their public views.
async fn requests_reply(
    state: &AppState,
    pool: &PgPool,
    cfg: &CaseConfig,
    found: &[CaseRecord],
    fmt: Format,
) -> Result<Response> {
    let index = state.city.get();
    let list: Vec<ServiceRequest> = public_cases(pool, cfg, &index, found)
        .await
        .map_err(db(fmt))?
        .iter()
        .map(request_view)
        .collect();
    Ok(render(&list, fmt, "service_requests", "request"))
}

fn date(s: &str, what: &str, fmt: Format) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            Open311Error::new(
                StatusCode::BAD_REQUEST,
                format!("{what} must be ISO 8601 with a zone"),
                fmt,
            )
        })
}

#[derive(Debug, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// Up to 50 case numbers, comma-separated; the other filters are then ignored.
    service_request_id: Option<String>,
    /// `event-0102`, `component-0101`.
    service_code: Option<String>,
    /// Reported at or after (RFC 3339); default 90 days before `end_date`.
    #[param(value_type = Option<String>, format = DateTime)]
    start_date: Option<String>,
    /// Reported before (RFC 3339); default now. At most 90 days after `start_date`.
    #[param(value_type = Option<String>, format = DateTime)]
    end_date: Option<String>,
    /// `open`, `closed` or `open,closed`.
    #[param(pattern = "^(open|closed)(,(open|closed))?$")]
    status: Option<String>,
    /// 1–100000.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100_000)]
    page: Option<String>,
    /// 1–1000 (default 1000).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    page_size: Option<String>,
}

/// Service requests, newest first: their public views (also `.xml`).
#[utoipa::path(get, path = "/open311/v2/requests.json", tag = "open311", params(RequestsQuery),
    responses(
        (status = 200, description = "The requests", body = [ServiceRequest]),
        (status = 400, description = "An invalid filter, or more than 50 ids", body = [Open311ErrorItem]),
    ))]
async fn requests_get(
    State(state): State<AppState>,
    fmt: Format,
    Params(q, _): Params<RequestsQuery>,
) -> Result<Response> {
    let get = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let bad = |m: String| Open311Error::new(StatusCode::BAD_REQUEST, m, fmt);
    let cfg = case_config::load(&state.pool).await.map_err(db(fmt))?;
    let now = state.clock.now();
    let found = if let Some(ids) = get("service_request_id") {
        let ids: Vec<String> = ids
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect();
        if ids.len() > MAX_REQUEST_IDS {
            return Err(bad(format!(
                "at most {MAX_REQUEST_IDS} service_request_id values at once"
            )));
        }
        cases::get_cases(state.stale_reads.pool(), &ids)
            .await
            .map_err(db(fmt))?
    } else {
        let end = get("end_date")
            .map(|s| date(s, "end_date", fmt))
            .transpose()?
            .unwrap_or(now);
        let start = get("start_date")
            .map(|s| date(s, "start_date", fmt))
            .transpose()?
            .unwrap_or(end - Duration::days(90));
        if end < start || end - start > Duration::days(90) {
            return Err(bad("start_date to end_date must be at most 90 days".into()));
        }
        let mut f = CaseFilter {
            page: 1,
            page_size: 1000,
            ..Default::default()
        };
        if let Some(code) = get("service_code") {
            let (kind, class) =
                parse_service_code(code).ok_or_else(|| bad(format!("no service {code}")))?;
            f.kind = Some(kind);
            f.class = Some(class.to_owned());
        }
        if let Some(p) = get("page") {
            f.page = p
                .parse()
                .ok()
                .filter(|p| (1..=100_000).contains(p))
                .ok_or_else(|| bad("page must be 1–100000".into()))?;
        }
        if let Some(p) = get("page_size") {
            f.page_size = p
                .parse()
                .ok()
                .filter(|p| (1..=1000).contains(p))
                .ok_or_else(|| bad("page_size must be 1–1000".into()))?;
        }
        let statuses: Vec<&str> = get("status")
            .map(|s| s.split(',').map(str::trim).collect())
            .unwrap_or_default();
        if statuses.iter().any(|s| *s != "open" && *s != "closed") {
            return Err(bad("status must be open, closed or both".into()));
        }
        use crate::domain::workflow::CaseState;
        f.states = CaseState::ALL
            .into_iter()
            .filter(|s| {
                statuses.is_empty()
                    || statuses.contains(&if s.is_terminal() { "closed" } else { "open" })
            })
            .collect();
        f.reported_between = Some((start, end));
        cases::list_cases(state.stale_reads.pool(), &f, now)
            .await
            .map_err(db(fmt))?
    };
    requests_reply(&state, state.stale_reads.pool(), &cfg, &found, fmt).await
}

/// One service request: its public view (also `.xml`).
#[utoipa::path(get, path = "/open311/v2/requests/{service_request_id}.json", tag = "open311",
    params(("service_request_id" = String, Path, description = "The case number")),
    responses(
        (status = 200, description = "The request, alone in a list", body = [ServiceRequest]),
        (status = 404, description = "No such request", body = [Open311ErrorItem]),
    ))]
async fn request_one(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response> {
    let (id, fmt) = split(&file)?;
    let cfg = case_config::load(&state.pool).await.map_err(db(fmt))?;
    let Some((c, pool)) = case_by_number(&state, id).await.map_err(db(fmt))? else {
        return Err(Open311Error::new(
            StatusCode::NOT_FOUND,
            format!("no service request {id}"),
            fmt,
        ));
    };
    requests_reply(&state, pool, &cfg, &[c], fmt).await
}

/// A case by its number from the replica, or from the primary when the
/// replica has not caught up with it yet (a client reads what it just posted).
/// Its details are read from the same database.
async fn case_by_number<'a>(
    state: &'a AppState,
    no: &str,
) -> sqlx::Result<Option<(CaseRecord, &'a PgPool)>> {
    let stale = state.stale_reads.pool();
    match cases::get_case(stale, no).await? {
        Some(c) => Ok(Some((c, stale))),
        None if state.stale_reads.from() == ReadsFrom::Replica => {
            Ok(cases::get_case(&state.pool, no)
                .await?
                .map(|c| (c, &state.pool)))
        }
        None => Ok(None),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenReply {
    pub service_request_id: String,
    pub token: String,
}

/// The request a token stands for. Requests are taken synchronously: a token
/// is its request's id (also `.xml`).
#[utoipa::path(get, path = "/open311/v2/tokens/{token}.json", tag = "open311",
    params(("token" = String, Path, description = "The token a POST answered")),
    responses(
        (status = 200, description = "The request", body = [TokenReply]),
        (status = 404, description = "No such token", body = [Open311ErrorItem]),
    ))]
async fn token_one(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response> {
    let (token, fmt) = split(&file)?;
    let found = case_by_number(&state, token)
        .await
        .map_err(db(fmt))?
        .map(|(c, _)| c);
    match found {
        Some(c) => Ok(render(
            &[TokenReply {
                service_request_id: c.case_no,
                token: token.to_owned(),
            }],
            fmt,
            "service_requests",
            "request",
        )),
        None => Err(Open311Error::new(
            StatusCode::NOT_FOUND,
            format!("no token {token}"),
            fmt,
        )),
    }
}

/// A new service request (form-encoded).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewServiceRequest {
    /// A citygrid token issued for this client.
    pub api_key: Option<String>,
    /// `event-0102`, `component-0101`.
    pub service_code: Option<String>,
    /// WGS-84 latitude; or `address_string`.
    #[schema(value_type = Option<f64>, minimum = -90.0, maximum = 90.0)]
    pub lat: Option<String>,
    /// WGS-84 longitude.
    #[schema(value_type = Option<f64>, minimum = -180.0, maximum = 180.0)]
    pub long: Option<String>,
    /// A place the city's address list knows.
    pub address_string: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// A number to call the requester back on (staff see it; the public
    /// view never).
    pub phone: Option<String>,
    /// `true` for a dangerous or urgent problem.
    #[serde(rename = "attribute[urgent]")]
    #[schema(pattern = "^(true|false)$")]
    pub urgent: Option<String>,
    /// The client's own id for the request: a retry with the same one never
    /// makes a second case.
    #[serde(rename = "attribute[client_key]")]
    pub client_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostedRequest {
    pub service_request_id: String,
    pub token: String,
    pub service_notice: String,
    pub account_id: Option<String>,
}

/// Takes a service request; the reply names its case (also `.xml`).
#[utoipa::path(post, path = "/open311/v2/requests.json", tag = "open311",
    request_body(content = NewServiceRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "Taken", body = [PostedRequest]),
        (status = 400, description = "A missing or invalid field", body = [Open311ErrorItem]),
        (status = 403, description = "No api_key, or an unknown one", body = [Open311ErrorItem]),
        (status = 413, description = "A form over 1 MB", body = [Open311ErrorItem]),
    ))]
async fn requests_post(
    State(state): State<AppState>,
    fmt: Format,
    form: std::result::Result<Form<NewServiceRequest>, axum::extract::rejection::FormRejection>,
) -> Result<Response> {
    let Form(form) = form.map_err(|e| {
        // 413 for a body over the limit; 400 for one that is not a form.
        let status = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        Open311Error::new(status, e.body_text(), fmt)
    })?;
    let fields = super::query::as_text(&form);
    if fields.values().any(|v| v.contains('\0')) {
        return Err(Open311Error::new(
            StatusCode::BAD_REQUEST,
            "invalid_text: a field holds a NUL character",
            fmt,
        ));
    }
    let get = |k: &str| {
        fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let bad = |m: &str| Open311Error::new(StatusCode::BAD_REQUEST, m.to_owned(), fmt);
    let key = get("api_key")
        .ok_or_else(|| Open311Error::new(StatusCode::FORBIDDEN, "api_key is required", fmt))?;
    let user = users::by_token(&state.pool, &key, state.clock.now())
        .await
        .map_err(db(fmt))?
        .ok_or_else(|| Open311Error::new(StatusCode::FORBIDDEN, "unknown api_key", fmt))?;
    let code = get("service_code").ok_or_else(|| bad("service_code is required"))?;
    let (kind, class) =
        parse_service_code(&code).ok_or_else(|| bad("service_code is like event-0102"))?;
    let number = |k: &str| -> Result<Option<f64>> {
        get(k)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| bad(&format!("{k} must be a number")))
            })
            .transpose()
    };
    let (lat, lon) = (number("lat")?, number("long")?);
    let address = get("address_string");
    if (lat.is_none() || lon.is_none()) && address.is_none() {
        return Err(bad("send lat and long, or address_string"));
    }
    let urgent = get("attribute[urgent]").is_some_and(|v| v == "true");
    let body = ReportBody {
        client_key: get("attribute[client_key]").unwrap_or_else(|| {
            format!(
                "open311-{}-{}",
                Utc::now().timestamp_micros(),
                std::process::id()
            )
        }),
        kind: kind.as_str().to_owned(),
        class: class.to_owned(),
        lon,
        lat,
        address,
        component_code: None,
        description: [
            get("description"),
            get("media_url").map(|m| format!("media: {m}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n"),
        photos: vec![],
        urgent,
        // An Open311 client's phone in a form we cannot keep is left out;
        // the request itself is still taken.
        callback_phone: super::cases::callback_phone(get("phone")).ok().flatten(),
    };
    let (outcome, _, _) = take_report(&state, &Caller(user), body, "open311")
        .await
        .map_err(|e| Open311Error::from_api(e, fmt))?;
    let (case_no, notice) = match outcome {
        Intaken::Created { case_no, .. } => (case_no, "received 已受理".to_owned()),
        Intaken::Attached { case_no } => {
            let n = format!("already reported: joined {case_no} 已有相同问题");
            (case_no, n)
        }
    };
    let body = [PostedRequest {
        service_request_id: case_no.clone(),
        token: case_no,
        service_notice: notice,
        account_id: None,
    }];
    Ok((
        StatusCode::CREATED,
        render(&body, fmt, "service_requests", "request"),
    )
        .into_response())
}
