//! Intake and the case workflow over HTTP: `POST /api/v1/reports`,
//! `GET /api/v1/cases`, `GET /api/v1/cases/{case_no}`,
//! `POST /api/v1/cases/{case_no}/actions`.

use std::collections::{BTreeMap, HashMap};

use futures_util::StreamExt;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::{Caller, forbidden};
use super::city::check_wgs84;
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use super::public::public_cases;
use crate::domain::case_rules::Stage;
use crate::domain::codes::{ClassCode, ClassKind, ComponentCode};
use crate::domain::routing::route;
use crate::domain::workflow::{Action, CaseFacts, CaseState, Role, TransitionError, next_state};
use crate::index::{COMPONENT_LIMIT, CityIndex};
use crate::store::case_config::{self, CaseConfig};
use crate::store::cases::{
    self, ActionInput, CaseError, CaseFilter, CaseRecord, Intake, Intaken, StageRecord,
};
use crate::store::users::User;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports", post(report))
        .route("/api/v1/cases", get(list))
        .route("/api/v1/cases.geojson", get(export_geojson))
        .route("/api/v1/cases.csv", get(export_csv))
        .route("/api/v1/cases/{case_no}", get(detail))
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

/// A case as staff see it. `full` adds duplicates, photos and the timeline.
async fn case_view(
    state: &AppState,
    cfg: &CaseConfig,
    index: &CityIndex,
    c: &CaseRecord,
    stages: &[StageRecord],
    full: bool,
) -> ApiResult<Value> {
    let now = state.clock.now();
    let deadlines: BTreeMap<&str, _> = stages
        .iter()
        .filter(|s| s.case_id == c.id)
        .filter_map(|s| {
            let stage = Stage::parse(&s.stage)?;
            Some((stage.as_str(), cases::deadline(s, c, cfg, now)?))
        })
        .collect();
    let class = cfg.class(c.kind(), &c.class);
    let mut v = json!({
        "case_no": c.case_no,
        "state": c.state,
        "kind": c.kind,
        "class": c.class,
        "class_name": class.map(|k| k.name.as_str()),
        "class_name_en": class.map(|k| k.name_en.as_str()),
        "urgent": c.urgent,
        "channel": c.channel,
        "description": c.description,
        "lon": c.lon,
        "lat": c.lat,
        "address": c.address,
        "grid": c.grid,
        "community": index.area(&c.community),
        "street": index.area(&c.street),
        "district": index.area(&c.district),
        "component": c.component,
        "department": c.department,
        "department_name": c.department.as_ref().and_then(|d| cfg.departments.get(d)),
        "reported_at": c.reported_at,
        "updated_at": c.updated_at,
        "deadlines": deadlines,
        "duplicate_of": c.duplicate_of_no,
        "rework_count": c.rework_count,
        "verified": c.verified,
        "extension_requested_hours": c.extension_requested_hours,
        "suspended_from": c.suspended_from,
        "version": c.version,
    });
    if full {
        v["photos"] = json!(cases::report_photos(&state.pool, c.id).await?);
        v["duplicates"] = json!(cases::duplicates(&state.pool, c.id).await?);
        v["timeline"] = json!(cases::timeline(&state.pool, c.id).await?);
    }
    Ok(v)
}

/// The case in full, with the actions `viewer` may take on it now.
async fn full_case(
    state: &AppState,
    cfg: &CaseConfig,
    c: &CaseRecord,
    viewer: &User,
) -> ApiResult<Value> {
    let stages = cases::stages_of(&state.pool, &[c.id]).await?;
    let index = state.city.get();
    let mut v = case_view(state, cfg, &index, c, &stages, true).await?;
    v["actions"] = json!(allowed_actions(viewer, c));
    Ok(v)
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
    if case_no.contains('\0') {
        return Err(ApiError::not_found("case_not_found", "no such case"));
    }
    cases::get_case(&state.pool, case_no)
        .await?
        .ok_or_else(|| ApiError::not_found("case_not_found", format!("no case {case_no}")))
}

// ---------------------------------------------------------------- intake

#[derive(Debug, Default, Deserialize)]
pub struct ReportBody {
    pub client_key: String,
    pub kind: String,
    pub class: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: Option<String>,
    pub component_code: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub photos: Vec<String>,
    #[serde(default)]
    pub urgent: bool,
}

fn channel_of(role: Role) -> &'static str {
    match role {
        Role::Inspector => "inspector",
        Role::Kiosk => "kiosk",
        _ => "operator",
    }
}

async fn report(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ReportBody>,
) -> ApiResult<Response> {
    let channel = channel_of(caller.0.role);
    let (outcome, replayed, cfg) = take_report(&state, &caller, body, channel).await?;
    let (case_no, extra) = match &outcome {
        Intaken::Created {
            case_no,
            possible_duplicates,
        } => (case_no, json!({"possible_duplicates": possible_duplicates})),
        Intaken::Attached { case_no } => (case_no, json!({"duplicate_of": case_no})),
    };
    let case = load_case(&state, case_no).await?;
    // A kiosk serves passers-by: it sees the public view, even of a case its
    // report joined.
    let view = if caller.0.role == Role::Kiosk {
        let index = state.city.get();
        json!(public_cases(&state.pool, &cfg, &index, std::slice::from_ref(&case)).await?[0])
    } else {
        full_case(&state, &cfg, &case, &caller.0).await?
    };
    let mut body = json!({ "case": view });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
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
) -> ApiResult<(Intaken, bool, CaseConfig)> {
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

type Params = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

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
    if let Some(o) = get("overdue") {
        f.overdue = Some(match o {
            "true" => true,
            "false" => false,
            _ => return Err(bad("invalid_overdue", "overdue must be true or false")),
        });
    }
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
fn scoped_filter(caller: &Caller, q: Params) -> ApiResult<CaseFilter> {
    let p = q
        .map(|Query(p)| p)
        .map_err(|e| bad("invalid_query", e.body_text()))?;
    let mut f = case_filter(&p)?;
    if caller.0.role == Role::Department {
        let own = caller.0.department.clone();
        if f.department.is_some() && f.department != own {
            return Err(forbidden("departments see only their own cases"));
        }
        f.department = own;
    }
    Ok(f)
}

async fn list(caller: Caller, State(state): State<AppState>, q: Params) -> ApiResult<Json<Value>> {
    let f = scoped_filter(&caller, q)?;
    let now = state.clock.now();
    let (found, total) = cases::list_cases(&state.pool, &f, now).await?;
    let cfg = case_config::load(&state.pool).await?;
    let ids: Vec<i64> = found.iter().map(|c| c.id).collect();
    let stages = cases::stages_of(&state.pool, &ids).await?;
    let index = state.city.get();
    let mut items = Vec::with_capacity(found.len());
    for c in &found {
        items.push(case_view(&state, &cfg, &index, c, &stages, false).await?);
    }
    Ok(Json(json!({
        "cases": items,
        "total": total,
        "page": f.page,
        "page_size": f.page_size,
    })))
}

async fn detail(
    caller: Caller,
    State(state): State<AppState>,
    Path(case_no): Path<String>,
) -> ApiResult<Json<Value>> {
    let case = load_case(&state, &case_no).await?;
    let cfg = case_config::load(&state.pool).await?;
    match caller.0.role {
        Role::Kiosk => {
            // A citizen at the kiosk typed the number: the public view.
            let index = state.city.get();
            let view = public_cases(&state.pool, &cfg, &index, std::slice::from_ref(&case)).await?;
            Ok(Json(json!(view[0])))
        }
        Role::Department if case.department != caller.0.department => {
            Err(forbidden("this case is not your department's"))
        }
        _ => Ok(Json(full_case(&state, &cfg, &case, &caller.0).await?)),
    }
}

#[derive(Debug, Deserialize)]
struct ActionBody {
    action: String,
    expected_version: Option<i32>,
    department: Option<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    photos: Vec<String>,
    hours: Option<i64>,
    into: Option<String>,
}

async fn act(
    caller: Caller,
    State(state): State<AppState>,
    Path(case_no): Path<String>,
    ApiJson(body): ApiJson<ActionBody>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(
        json!({"case": full_case(&state, &cfg, &case, &caller.0).await?}),
    ))
}

// ---------------------------------------------------------------- exports

/// A streamed body: `head`, each case through `row`, then `tail`.
fn export_body(
    state: &AppState,
    f: CaseFilter,
    head: String,
    tail: &'static str,
    row: fn(&CaseRecord, &CaseConfig, bool) -> Vec<u8>,
    cfg: CaseConfig,
) -> axum::body::Body {
    let rx = cases::export_cases(state.pool.clone(), f, state.clock.now());
    let cfg = std::sync::Arc::new(cfg);
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
async fn export_geojson(
    caller: Caller,
    State(state): State<AppState>,
    q: Params,
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
async fn export_csv(
    caller: Caller,
    State(state): State<AppState>,
    q: Params,
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
