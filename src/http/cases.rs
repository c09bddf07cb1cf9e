//! Intake and the case workflow over HTTP: `POST /api/v1/reports`,
//! `GET /api/v1/cases`, `GET /api/v1/cases/{case_no}`,
//! `POST /api/v1/cases/{case_no}/actions`.

use std::collections::{BTreeMap, HashMap};

use futures_util::StreamExt;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{Caller, forbidden};
use super::city::check_wgs84;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::json::ApiJson;
use super::public::{PublicCase, public_cases};
use crate::domain::case_rules::Stage;
use crate::domain::codes::{ClassCode, ClassKind, ComponentCode};
use crate::domain::routing::route;
use crate::domain::workflow::{Action, CaseFacts, CaseState, Role, TransitionError, next_state};
use crate::index::{AreaRef, COMPONENT_LIMIT, CityIndex};
use crate::store::case_config::{self, CaseConfig};
use crate::store::cases::{
    self, ActionInput, CaseError, CaseFilter, CaseRecord, Deadline, DuplicateRef, EventRecord,
    Intake, Intaken, Queues, StageRecord,
};
use crate::store::users::User;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports", post(report))
        .route("/api/v1/cases", get(list))
        .route("/api/v1/cases.geojson", get(export_geojson))
        .route("/api/v1/cases.csv", get(export_csv))
        .route("/api/v1/cases/counts", get(counts))
        .route("/api/v1/cases/{case_no}", get(detail))
        .route("/api/v1/track/{case_no}", get(track))
        .route("/api/v1/cases/{case_no}/actions", post(act))
}

/// A component report attaches the nearest component of its class this close.
pub const ATTACH_RADIUS_M: f64 = 30.0;
pub const MAX_DESCRIPTION: usize = 4000;

fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        let message = e.to_string();
        match e {
            CaseError::NotFound => ApiError::not_found("case_not_found", "no such case"),
            CaseError::Forbidden(m) => forbidden(m),
            CaseError::VersionConflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, "version_conflict", message)
            }
            CaseError::Transition(TransitionError::NotVerified) => {
                ApiError::new(StatusCode::CONFLICT, "not_verified", message)
            }
            CaseError::Transition(TransitionError::InvalidTransition { state, action }) => {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "invalid_transition",
                    format!(
                        "{} is not possible while the case is {}",
                        action.as_str(),
                        state.as_str()
                    ),
                )
            }
            CaseError::Invalid { code, message } => unprocessable(code, message),
            CaseError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            CaseError::Calendar(e) => {
                tracing::error!(error = %e, "deadline could not be computed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the working calendar has no working time: check calendar.toml",
                )
            }
            CaseError::Database(e) => e.into(),
        }
    }
}

// ---------------------------------------------------------------- views

/// A case as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub case_no: String,
    #[schema(value_type = CaseState)]
    pub state: String,
    /// `component` or `event`.
    pub kind: String,
    /// The GB/T 30428 class code (4 digits).
    pub class: String,
    pub class_name: Option<String>,
    pub class_name_en: Option<String>,
    pub urgent: bool,
    /// How the report came in: inspector, operator, kiosk, open311.
    pub channel: String,
    pub description: String,
    pub lon: f64,
    pub lat: f64,
    pub address: String,
    /// The unit grid's code (15 digits).
    pub grid: String,
    pub community: AreaRef,
    pub street: AreaRef,
    pub district: AreaRef,
    /// The component's code (16 digits), for a component report.
    pub component: Option<String>,
    pub department: Option<String>,
    pub department_name: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Each stage's deadline, by stage (`filing`, `dispatch`, `handling`, …).
    pub deadlines: BTreeMap<String, Deadline>,
    pub duplicate_of: Option<String>,
    pub rework_count: i32,
    pub verified: bool,
    pub extension_requested_hours: Option<i32>,
    pub suspended_from: Option<String>,
    /// Send it back as `expected_version` with an action.
    pub version: i32,
    /// In full views: the first report's photo ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photos: Option<Vec<String>>,
    /// In full views: the numbers reporters left to be called back on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_phones: Option<Vec<String>>,
    /// In full views: duplicate reports and cases merged into this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<Vec<DuplicateRef>>,
    /// In full views: every event, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<EventRecord>>,
    /// In full views: the actions the caller may take now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<&'static str>>,
}

/// A case as staff see it in lists; `full_case` adds duplicates, photos and
/// the timeline.
fn case_view(
    state: &AppState,
    cfg: &CaseConfig,
    index: &CityIndex,
    c: &CaseRecord,
    stages: &[StageRecord],
) -> CaseView {
    let now = state.clock.now();
    let deadlines = stages
        .iter()
        .filter(|s| s.case_id == c.id)
        .filter_map(|s| {
            let stage = Stage::parse(&s.stage)?;
            Some((stage.as_str().to_owned(), cases::deadline(s, c, cfg, now)?))
        })
        .collect();
    let class = cfg.class(c.kind(), &c.class);
    CaseView {
        case_no: c.case_no.clone(),
        state: c.state.clone(),
        kind: c.kind.clone(),
        class: c.class.clone(),
        class_name: class.map(|k| k.name.clone()),
        class_name_en: class.map(|k| k.name_en.clone()),
        urgent: c.urgent,
        channel: c.channel.clone(),
        description: c.description.clone(),
        lon: c.lon,
        lat: c.lat,
        address: c.address.clone(),
        grid: c.grid.clone(),
        community: index.area(&c.community),
        street: index.area(&c.street),
        district: index.area(&c.district),
        component: c.component.clone(),
        department: c.department.clone(),
        department_name: c
            .department
            .as_ref()
            .and_then(|d| cfg.departments.get(d))
            .cloned(),
        reported_at: c.reported_at,
        updated_at: c.updated_at,
        deadlines,
        duplicate_of: c.duplicate_of_no.clone(),
        rework_count: c.rework_count,
        verified: c.verified,
        extension_requested_hours: c.extension_requested_hours,
        suspended_from: c.suspended_from.clone(),
        version: c.version,
        photos: None,
        callback_phones: None,
        duplicates: None,
        timeline: None,
        actions: None,
    }
}

/// The case in full, with the actions `viewer` may take on it now, read as
/// it is now in one statement; and its row, for the caller's checks.
async fn full_case(
    state: &AppState,
    cfg: &CaseConfig,
    case_no: &str,
    viewer: &User,
) -> ApiResult<(CaseRecord, CaseView)> {
    check_case_no(case_no)?;
    let (c, details) = cases::case_in_full(&state.pool, case_no)
        .await?
        .ok_or_else(|| case_not_found(case_no))?;
    let index = state.city.get();
    let mut v = case_view(state, cfg, &index, &c, &details.stages);
    v.photos = Some(details.photos);
    v.callback_phones = Some(details.callback_phones);
    v.duplicates = Some(details.duplicates);
    v.timeline = Some(details.timeline);
    v.actions = Some(allowed_actions(viewer, &c));
    Ok((c, v))
}

/// What `user` may do to the case as it stands: their role's actions that
/// its state allows (the same checks `cases::act` makes), so that clients
/// need no copy of the workflow.
fn allowed_actions(user: &User, c: &CaseRecord) -> Vec<&'static str> {
    if user.role == Role::Department && c.department != user.department {
        return vec![];
    }
    let facts = CaseFacts {
        suspended_from: c.suspended_from.as_deref().and_then(CaseState::parse),
        verified: c.verified,
    };
    Action::ALL
        .into_iter()
        .filter(|a| a.allowed_for(user.role))
        .filter(|a| next_state(c.state(), facts, *a).is_ok())
        .filter(|a| match a {
            Action::ApproveExtension => c.extension_requested_hours.is_some(),
            // Verified once is enough; a failed check sends it back anyway.
            Action::VerifyPass | Action::VerifyFail => !c.verified,
            _ => true,
        })
        .map(Action::as_str)
        .collect()
}

async fn load_case(state: &AppState, case_no: &str) -> ApiResult<CaseRecord> {
    check_case_no(case_no)?;
    cases::get_case(&state.pool, case_no)
        .await?
        .ok_or_else(|| case_not_found(case_no))
}

/// A case number with a NUL in it names no case (and PostgreSQL refuses it).
fn check_case_no(case_no: &str) -> ApiResult<()> {
    if case_no.contains('\0') {
        return Err(ApiError::not_found("case_not_found", "no such case"));
    }
    Ok(())
}

fn case_not_found(case_no: &str) -> ApiError {
    ApiError::not_found("case_not_found", format!("no case {case_no}"))
}

// ---------------------------------------------------------------- intake

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReportBody {
    /// The client's own id for this report: a retry with the same key returns
    /// the case it made and never makes a second.
    #[schema(min_length = 1, max_length = 128)]
    pub client_key: String,
    /// `component` or `event`.
    #[schema(example = "event")]
    pub kind: String,
    /// The GB/T 30428 class code (4 digits).
    #[schema(example = "0101")]
    pub class: String,
    /// WGS-84 longitude; or give `address`, or `component_code`.
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: Option<f64>,
    /// WGS-84 latitude.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: Option<f64>,
    /// A place the city's address list knows, when there are no coordinates.
    pub address: Option<String>,
    /// The component's code (16 digits): the place is the component's.
    pub component_code: Option<String>,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: String,
    /// Photo ids from `POST /api/v1/media`.
    #[serde(default)]
    pub photos: Vec<String>,
    #[serde(default)]
    pub urgent: bool,
    /// A phone number to call the reporter back on, when they want a call
    /// (digits, spaces, `+`, `-`, brackets; 5–24 characters). Staff see it;
    /// the public view never.
    #[schema(example = "0917-3212345")]
    pub callback_phone: Option<String>,
}

/// A callback number as people write them, or `invalid_phone`.
pub(crate) fn callback_phone(phone: Option<String>) -> ApiResult<Option<String>> {
    let Some(phone) = phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let digits = phone.bytes().filter(u8::is_ascii_digit).count();
    let plain = phone
        .bytes()
        .all(|b| b.is_ascii_digit() || b" +-()".contains(&b));
    if !plain || !(5..=24).contains(&phone.len()) || digits < 5 {
        return Err(unprocessable(
            "invalid_phone",
            "callback_phone is a phone number: digits, spaces, +, - and brackets, 5–24 characters",
        ));
    }
    Ok(Some(phone))
}

fn channel_of(role: Role) -> &'static str {
    match role {
        Role::Inspector => "inspector",
        Role::Kiosk => "kiosk",
        _ => "operator",
    }
}

/// A case as its caller may see it: staff the case, a kiosk its public view.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CaseOrPublic {
    Staff(Box<CaseView>),
    Public(Box<PublicCase>),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportReply {
    pub case: CaseOrPublic,
    /// Open cases nearby that may be the same problem (a new case only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub possible_duplicates: Option<Vec<String>>,
    /// The open case this report joined as a duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

/// Takes a report (inspector, kiosk, operator). Retry with the same
/// `client_key` until a 2xx: a retry never makes a second case.
#[utoipa::path(post, path = "/api/v1/reports", tag = "cases",
    request_body = ReportBody,
    responses(
        (status = 201, description = "A new case, or the report joined an open case nearby", body = ReportReply),
        (status = 200, description = "A retry of a report already taken: its case", body = ReportReply),
        (status = 404, description = "The place lies outside the city's unit grids", body = ErrorBody),
        (status = 422, description = "Invalid class, place, component, photos or text", body = ErrorBody),
    ))]
pub(crate) async fn report(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ReportBody>,
) -> ApiResult<Response> {
    let channel = channel_of(caller.0.role);
    let (outcome, replayed, cfg) = take_report(&state, &caller, body, channel).await?;
    let (case_no, possible_duplicates, duplicate_of) = match outcome {
        Intaken::Created {
            case_no,
            possible_duplicates,
        } => (case_no, Some(possible_duplicates), None),
        Intaken::Attached { case_no } => (case_no.clone(), None, Some(case_no)),
    };
    // A kiosk serves passers-by: it sees the public view, even of a case its
    // report joined.
    let view = if caller.0.role == Role::Kiosk {
        let case = load_case(&state, &case_no).await?;
        let index = state.city.get();
        let mut public =
            public_cases(&state.pool, &cfg, &index, std::slice::from_ref(&case)).await?;
        CaseOrPublic::Public(Box::new(public.remove(0)))
    } else {
        CaseOrPublic::Staff(Box::new(
            full_case(&state, &cfg, &case_no, &caller.0).await?.1,
        ))
    };
    let body = ReportReply {
        case: view,
        possible_duplicates,
        duplicate_of,
    };
    let status = if replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(body)).into_response())
}

/// Validates, places, attaches and routes a report and takes it in on
/// `channel`: the one intake behind `/api/v1/reports` and Open311.
pub async fn take_report(
    state: &AppState,
    caller: &Caller,
    body: ReportBody,
    channel: &'static str,
) -> ApiResult<(Intaken, bool, std::sync::Arc<CaseConfig>)> {
    caller.require(
        &[Role::Inspector, Role::Kiosk, Role::Operator, Role::Admin],
        "report problems",
    )?;
    let user = &caller.0;
    let client_key = body.client_key.trim().to_owned();
    if client_key.is_empty() || client_key.len() > 128 {
        return Err(unprocessable(
            "invalid_client_key",
            "client_key must be 1–128 characters, unique per report on the device",
        ));
    }
    let cfg = case_config::load(&state.pool).await?;
    let Some(kind) = ClassKind::parse(&body.kind) else {
        return Err(unprocessable(
            "invalid_kind",
            format!("kind {:?} must be component or event", body.kind),
        ));
    };
    let class = ClassCode::parse(&body.class)
        .ok()
        .filter(|c| cfg.class(kind, c.as_str()).is_some())
        .ok_or_else(|| {
            unprocessable(
                "unknown_class",
                format!(
                    "{:?} is not a {} class of the catalogue",
                    body.class,
                    kind.as_str()
                ),
            )
        })?;
    let class = class.as_str().to_owned();
    if body.description.chars().count() > MAX_DESCRIPTION {
        return Err(unprocessable(
            "description_too_long",
            format!("description is limited to {MAX_DESCRIPTION} characters"),
        ));
    }

    let callback_phone = callback_phone(body.callback_phone)?;

    // The component, when named: it must exist and be of the class.
    let named = match &body.component_code {
        None => None,
        Some(code) => {
            if kind != ClassKind::Component {
                return Err(unprocessable(
                    "invalid_component_code",
                    "component_code belongs to component reports",
                ));
            }
            ComponentCode::parse(code)
                .map_err(|e| unprocessable("invalid_component_code", e.to_string()))?;
            let found = crate::store::city::component(&state.pool, code)
                .await?
                .ok_or_else(|| {
                    unprocessable("unknown_component", format!("no component {code}"))
                })?;
            if found.class != class {
                return Err(unprocessable(
                    "component_class_mismatch",
                    format!("component {code} is of class {}, not {class}", found.class),
                ));
            }
            Some(found)
        }
    };

    // Where: coordinates, else the named component, else an address, else the kiosk.
    let (lon, lat) = match (body.lon, body.lat) {
        (Some(lon), Some(lat)) => {
            check_wgs84(lon, lat)?;
            (lon, lat)
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_coordinates",
                "send both lon and lat (WGS-84 degrees)",
            ));
        }
        (None, None) => {
            if let Some(c) = &named {
                (c.lon, c.lat)
            } else if let Some(address) = body.address.as_deref().filter(|a| !a.trim().is_empty()) {
                crate::store::city::geocode_address(&state.pool, address)
                    .await?
                    .ok_or_else(|| {
                        unprocessable(
                            "address_not_found",
                            format!("{address:?} is not a known place: send lon and lat"),
                        )
                    })?
            } else if let Some(k) = &user.kiosk {
                (k.lon, k.lat)
            } else {
                return Err(unprocessable(
                    "missing_location",
                    "send lon and lat, a component_code or an address",
                ));
            }
        }
    };
    let index = state.city.get();
    let Some(place) = index.place(lon, lat) else {
        return Err(unprocessable(
            "outside_coverage",
            format!("({lon}, {lat}) is not in any unit grid of the city"),
        ));
    };

    // The component: the named one, or the nearest of the class within 30 m.
    let component = match named {
        Some(c) => Some(c),
        None if kind == ClassKind::Component => {
            let class_num = class.parse::<u16>().ok();
            let nearest = index
                .components_near(lon, lat, class_num, ATTACH_RADIUS_M, COMPONENT_LIMIT)
                .first()
                .map(|(c, _)| c.code_str());
            match nearest {
                Some(code) => crate::store::city::component(&state.pool, &code).await?,
                None => None,
            }
        }
        None => None,
    };
    // Who handles it: the component's competent department, else routing.csv.
    let department = component
        .as_ref()
        .map(|c| c.dept_competent.clone())
        .or_else(|| {
            route(&cfg.routing, kind, &class, &place.grid.code).map(|r| r.department.clone())
        });

    let intake = Intake {
        client_key,
        kind,
        class,
        urgent: body.urgent,
        channel,
        lon,
        lat,
        address: body.address.unwrap_or_default().trim().to_owned(),
        description: body.description.trim().to_owned(),
        photos: body.photos,
        callback_phone,
        grid: place.grid.code.clone(),
        community: place.community.code.clone(),
        street: place.street.code.clone(),
        district: place.district.code.clone(),
        component: component.map(|c| c.code),
        department,
    };
    drop(index);
    let (outcome, replayed) =
        cases::submit_report(&state.pool, user, &intake, &cfg, state.clock.now()).await?;
    Ok((outcome, replayed, cfg))
}

// ---------------------------------------------------------------- queries

/// The filter of case lists and exports. Departments get their own cases only.
#[derive(Debug, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Case states, comma-separated (`filed,dispatched`).
    #[param(example = "dispatched")]
    state: Option<String>,
    /// A department code.
    department: Option<String>,
    /// A unit grid code (15 digits).
    #[param(pattern = "^[0-9]{15}$")]
    grid: Option<String>,
    /// A district code (6 digits).
    #[param(pattern = "^[0-9]{6}$")]
    district: Option<String>,
    /// A street code (9 digits).
    #[param(pattern = "^[0-9]{9}$")]
    street: Option<String>,
    /// A class code (4 digits).
    #[param(pattern = "^[0-9]{4}$")]
    class: Option<String>,
    /// `component` or `event`.
    #[param(pattern = "^(component|event)$")]
    kind: Option<String>,
    /// Only cases with (`true`) or without (`false`) an overdue stage.
    #[param(value_type = Option<bool>)]
    overdue: Option<String>,
    /// Only urgent (`true`) or ordinary (`false`) cases.
    #[param(value_type = Option<bool>)]
    urgent: Option<String>,
    /// Only cases whose verification passed (`true`) or not yet (`false`).
    #[param(value_type = Option<bool>)]
    verified: Option<String>,
    /// `min_lon,min_lat,max_lon,max_lat` (WGS-84).
    #[param(example = "107.1,34.3,107.2,34.4")]
    bbox: Option<String>,
    /// Only cases changed at or after this time (RFC 3339, with a zone).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
    /// 1–1,000,000 (default 1).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1_000_000)]
    page: Option<String>,
    /// 1–500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    page_size: Option<String>,
}

use super::query::Params;

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, message)
}

fn case_filter(p: &HashMap<String, String>) -> ApiResult<CaseFilter> {
    let get = |k: &str| p.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let digits = |k: &'static str, len: usize| -> ApiResult<Option<String>> {
        match get(k) {
            None => Ok(None),
            Some(v) if v.len() == len && v.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Some(v.to_owned()))
            }
            Some(v) => Err(bad(
                "invalid_code",
                format!("{k}={v:?} must be {len} digits"),
            )),
        }
    };
    let mut f = CaseFilter {
        page: 1,
        page_size: 50,
        ..Default::default()
    };
    if let Some(states) = get("state") {
        for s in states.split(',') {
            f.states.push(
                CaseState::parse(s.trim()).ok_or_else(|| {
                    bad("invalid_state", format!("state {s:?} is not a case state"))
                })?,
            );
        }
    }
    f.department = get("department").map(str::to_owned);
    if f.department.as_deref().is_some_and(|d| d.contains('\0')) {
        return Err(bad(
            "invalid_department",
            "department contains a NUL character",
        ));
    }
    f.grid = digits("grid", 15)?;
    f.district = digits("district", 6)?;
    f.street = digits("street", 9)?;
    f.class = digits("class", 4)?;
    if let Some(k) = get("kind") {
        f.kind = Some(
            ClassKind::parse(k)
                .ok_or_else(|| bad("invalid_kind", "kind must be component or event"))?,
        );
    }
    let yes_no = |k: &'static str, code: &'static str| -> ApiResult<Option<bool>> {
        match get(k) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(bad(code, format!("{k} must be true or false"))),
        }
    };
    f.overdue = yes_no("overdue", "invalid_overdue")?;
    f.urgent = yes_no("urgent", "invalid_urgent")?;
    f.verified = yes_no("verified", "invalid_verified")?;
    if let Some(b) = get("bbox") {
        let n: Vec<f64> = b
            .split(',')
            .filter_map(|x| x.trim().parse::<f64>().ok())
            .filter(|x| x.is_finite())
            .collect();
        match n.as_slice() {
            &[x0, y0, x1, y1] if x0 <= x1 && y0 <= y1 => f.bbox = Some([x0, y0, x1, y1]),
            _ => {
                return Err(bad(
                    "invalid_bbox",
                    "bbox must be min_lon,min_lat,max_lon,max_lat",
                ));
            }
        }
    }
    if let Some(s) = get("since") {
        f.since = Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    bad(
                        "invalid_since",
                        "since must be an ISO 8601 time with a zone",
                    )
                })?
                .with_timezone(&Utc),
        );
    }
    let int = |k: &'static str, lo: i64, hi: i64| -> ApiResult<Option<i64>> {
        match get(k) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .map(Some)
                .ok_or_else(|| {
                    bad(
                        "invalid_page",
                        format!("{k} must be a whole number {lo}–{hi}"),
                    )
                }),
        }
    };
    f.page = int("page", 1, 1_000_000)?.unwrap_or(1);
    f.page_size = int("page_size", 1, 500)?.unwrap_or(50);
    Ok(f)
}

/// The caller's filter: staff only, departments held to their own cases.
fn scoped_filter(caller: &Caller, Params(p, _): Params<CaseQuery>) -> ApiResult<CaseFilter> {
    user_filter(&caller.0, &p)
}

/// A user's filter from a case query: departments held to their own cases.
pub(crate) fn user_filter(user: &User, p: &HashMap<String, String>) -> ApiResult<CaseFilter> {
    let mut f = case_filter(p)?;
    if user.role == Role::Department {
        let own = user.department.clone();
        if f.department.is_some() && f.department != own {
            return Err(forbidden("departments see only their own cases"));
        }
        f.department = own;
    }
    Ok(f)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub cases: Vec<CaseView>,
    /// How many cases match the filter, over all pages: exact up to
    /// 10,000, beyond that the database's estimate (`total_is_estimate`).
    pub total: i64,
    pub total_is_estimate: bool,
    pub page: i64,
    pub page_size: i64,
}

/// One page of cases, newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseQuery),
    responses((status = 200, description = "The matching cases", body = CaseList)))]
pub(crate) async fn list(
    caller: Caller,
    State(state): State<AppState>,
    q: Params<CaseQuery>,
) -> ApiResult<Json<CaseList>> {
    let f = scoped_filter(&caller, q)?;
    let now = state.clock.now();
    let found = cases::list_cases(&state.pool, &f, now).await?;
    let count = cases::count_cases(&state.pool, &f, now).await?;
    let cfg = case_config::load(&state.pool).await?;
    let ids: Vec<i64> = found.iter().map(|c| c.id).collect();
    let stages = cases::stages_of(&state.pool, &ids).await?;
    let index = state.city.get();
    let mut items = Vec::with_capacity(found.len());
    for c in &found {
        items.push(case_view(&state, &cfg, &index, c, &stages));
    }
    Ok(Json(CaseList {
        cases: items,
        total: count.total,
        total_is_estimate: count.estimated,
        page: f.page,
        page_size: f.page_size,
    }))
}

/// The open cases waiting at each desk (a department: its own), for the
/// console's tabs.
#[utoipa::path(get, path = "/api/v1/cases/counts", tag = "cases",
    responses((status = 200, description = "The queues", body = Queues)))]
pub(crate) async fn counts(
    caller: Caller,
    State(state): State<AppState>,
) -> ApiResult<Json<Queues>> {
    let department = match caller.0.role {
        Role::Department => caller.0.department.as_deref(),
        _ => None,
    };
    Ok(Json(
        cases::queues(&state.pool, department, state.clock.now()).await?,
    ))
}

/// A case: in full for staff (a department only its own), the public view for a kiosk.
#[utoipa::path(get, path = "/api/v1/cases/{case_no}", tag = "cases",
    params(("case_no" = String, Path, description = "The case number")),
    responses(
        (status = 200, description = "The case", body = CaseOrPublic),
        (status = 404, description = "No such case", body = ErrorBody),
    ))]
pub(crate) async fn detail(
    caller: Caller,
    State(state): State<AppState>,
    Path(case_no): Path<String>,
) -> ApiResult<Json<CaseOrPublic>> {
    let cfg = case_config::load(&state.pool).await?;
    if caller.0.role == Role::Kiosk {
        // A citizen at the kiosk typed the number: the public view.
        let case = load_case(&state, &case_no).await?;
        let index = state.city.get();
        let mut view = public_cases(&state.pool, &cfg, &index, std::slice::from_ref(&case)).await?;
        return Ok(Json(CaseOrPublic::Public(Box::new(view.remove(0)))));
    }
    let (case, view) = full_case(&state, &cfg, &case_no, &caller.0).await?;
    if caller.0.role == Role::Department && case.department != caller.0.department {
        return Err(forbidden("this case is not your department's"));
    }
    Ok(Json(CaseOrPublic::Staff(Box::new(view))))
}

/// A case as a citizen follows it (the page `/track/{case_no}`): the one
/// public view, the same as the kiosk's look-up and Open311 show.
#[utoipa::path(get, path = "/api/v1/track/{case_no}", tag = "cases",
    params(("case_no" = String, Path, description = "The case number on the receipt")),
    responses(
        (status = 200, description = "The public view", body = PublicCase),
        (status = 404, description = "No such case", body = ErrorBody),
    ))]
pub(crate) async fn track(
    State(state): State<AppState>,
    Path(case_no): Path<String>,
) -> ApiResult<Json<PublicCase>> {
    let case = load_case(&state, &case_no).await?;
    let cfg = case_config::load(&state.pool).await?;
    let index = state.city.get();
    let mut view = public_cases(&state.pool, &cfg, &index, std::slice::from_ref(&case)).await?;
    Ok(Json(view.remove(0)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionBody {
    /// `file`, `reject`, `dispatch`, `return`, `handle`, `verify_pass`, … (the
    /// case's `actions` lists those the caller may take now).
    #[schema(example = "file")]
    action: String,
    /// The case's `version` the caller saw: a case changed since is 409.
    expected_version: Option<i32>,
    /// For `dispatch`: the department's code.
    department: Option<String>,
    #[serde(default)]
    note: String,
    /// Photo ids from `POST /api/v1/media` (handling and verification photos;
    /// for `handle`, the place after the work).
    #[serde(default)]
    photos: Vec<String>,
    /// For `handle`: photos of the place before the work. The event lists
    /// them first among its `photos`, and names them in `data.before`.
    #[serde(default)]
    before_photos: Vec<String>,
    /// For `request_extension`: working hours more.
    hours: Option<i64>,
    /// For `merge`: the case number this one duplicates.
    into: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionReply {
    /// The case after the action.
    pub case: CaseView,
}

/// Moves a case along the closed loop. The workflow decides which role may
/// take which action in which state.
#[utoipa::path(post, path = "/api/v1/cases/{case_no}/actions", tag = "cases",
    params(("case_no" = String, Path, description = "The case number")),
    request_body = ActionBody,
    responses(
        (status = 200, description = "The case after the action", body = ActionReply),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 409, description = "Not possible in the case's state, or the case changed since `expected_version`", body = ErrorBody),
        (status = 422, description = "Unknown action, or invalid department, hours, note or photos", body = ErrorBody),
    ))]
pub(crate) async fn act(
    caller: Caller,
    State(state): State<AppState>,
    Path(case_no): Path<String>,
    ApiJson(body): ApiJson<ActionBody>,
) -> ApiResult<Json<ActionReply>> {
    let Some(action) = Action::parse(body.action.trim()) else {
        let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        return Err(unprocessable(
            "unknown_action",
            format!("{:?} is not an action: {}", body.action, names.join(", ")),
        ));
    };
    let input = ActionInput {
        action,
        expected_version: body.expected_version,
        department: body.department,
        note: body.note.trim().to_owned(),
        photos: body.photos,
        before_photos: body.before_photos,
        hours: body.hours,
        into: body.into,
    };
    let cfg = case_config::load(&state.pool).await?;
    let case = cases::act(
        &state.pool,
        &caller.0,
        &case_no,
        &input,
        &cfg,
        state.clock.now(),
    )
    .await?;
    Ok(Json(ActionReply {
        case: full_case(&state, &cfg, &case.case_no, &caller.0).await?.1,
    }))
}

// ---------------------------------------------------------------- exports

/// A streamed body: `head`, each case through `row`, then `tail`.
fn export_body(
    state: &AppState,
    f: CaseFilter,
    head: String,
    tail: &'static str,
    row: fn(&CaseRecord, &CaseConfig, bool) -> Vec<u8>,
    cfg: std::sync::Arc<CaseConfig>,
) -> axum::body::Body {
    let rx = cases::export_cases(state.stale_reads.pool().clone(), f, state.clock.now());
    let rows = futures_util::stream::unfold((Some(rx), true), move |(rx, first)| {
        let cfg = cfg.clone();
        async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(Ok(c)) => Some((
                    Ok::<_, std::io::Error>(row(&c, &cfg, first)),
                    (Some(rx), false),
                )),
                Some(Err(e)) => {
                    tracing::error!(error = %e, "case export failed midway");
                    Some((Err(std::io::Error::other(e)), (None, false)))
                }
                None => None,
            }
        }
    });
    let body = futures_util::stream::once(async move { Ok(head.into_bytes()) })
        .chain(rows)
        .chain(futures_util::stream::once(async move {
            Ok(tail.as_bytes().to_vec())
        }));
    axum::body::Body::from_stream(body)
}

fn export_properties(c: &CaseRecord, cfg: &CaseConfig) -> Value {
    let class = cfg.class(c.kind(), &c.class);
    json!({
        "case_no": c.case_no, "state": c.state, "kind": c.kind, "class": c.class,
        "class_name": class.map(|k| k.name.as_str()), "urgent": c.urgent, "channel": c.channel,
        "grid": c.grid, "community": c.community, "street": c.street, "district": c.district,
        "component": c.component, "department": c.department, "reported_at": c.reported_at,
        "updated_at": c.updated_at, "duplicate_of": c.duplicate_of_no, "rework_count": c.rework_count,
        "description": c.description,
    })
}

/// `GET /api/v1/cases.geojson`: the matching cases as one FeatureCollection.
#[utoipa::path(get, path = "/api/v1/cases.geojson", tag = "cases", params(CaseQuery),
    responses((status = 200, description = "A GeoJSON FeatureCollection of the matching cases, streamed",
        content_type = "application/geo+json", body = Object)))]
pub(crate) async fn export_geojson(
    caller: Caller,
    State(state): State<AppState>,
    q: Params<CaseQuery>,
) -> ApiResult<Response> {
    let f = scoped_filter(&caller, q)?;
    let cfg = case_config::load(&state.pool).await?;
    let body = export_body(
        &state,
        f,
        r#"{"type":"FeatureCollection","features":["#.to_owned(),
        "]}\n",
        |c, cfg, first| {
            let feature = json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
                "properties": export_properties(c, cfg),
            });
            let mut out = if first { Vec::new() } else { b",\n".to_vec() };
            out.extend(serde_json::to_vec(&feature).unwrap_or_default());
            out
        },
        cfg,
    );
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/geo+json")],
        body,
    )
        .into_response())
}

const CSV_COLUMNS: [&str; 20] = [
    "case_no",
    "state",
    "kind",
    "class",
    "class_name",
    "urgent",
    "channel",
    "lon",
    "lat",
    "grid",
    "community",
    "street",
    "district",
    "component",
    "department",
    "reported_at",
    "updated_at",
    "duplicate_of",
    "rework_count",
    "description",
];

/// `GET /api/v1/cases.csv`: the matching cases, one per line (UTF-8).
#[utoipa::path(get, path = "/api/v1/cases.csv", tag = "cases", params(CaseQuery),
    responses((status = 200, description = "The matching cases as CSV (UTF-8), streamed",
        content_type = "text/csv", body = String)))]
pub(crate) async fn export_csv(
    caller: Caller,
    State(state): State<AppState>,
    q: Params<CaseQuery>,
) -> ApiResult<Response> {
    let f = scoped_filter(&caller, q)?;
    let cfg = case_config::load(&state.pool).await?;
    let body = export_body(
        &state,
        f,
        format!("{}\n", CSV_COLUMNS.join(",")),
        "",
        |c, cfg, _| {
            let p = export_properties(c, cfg);
            let text = |k: &str| match &p[k] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                v => v.to_string(),
            };
            let mut w = csv::Writer::from_writer(Vec::new());
            let record: Vec<String> = CSV_COLUMNS
                .iter()
                .map(|k| match *k {
                    "lon" => c.lon.to_string(),
                    "lat" => c.lat.to_string(),
                    k => text(k),
                })
                .collect();
            let _ = w.write_record(&record);
            w.into_inner().unwrap_or_default()
        },
        cfg,
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"cases.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}
