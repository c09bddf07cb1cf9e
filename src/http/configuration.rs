//! The city's case configuration on the admin page: each data set read with
//! its version, replaced as a whole (`import::edit`), and two previews that
//! answer with drafts not yet saved — which department a report goes to, and
//! when a stage started at a given time is due.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Datelike, FixedOffset};

use super::AppState;
use super::admin::actor;
use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::json::ApiJson;
use crate::domain::calendar::{CalendarConfig, TimeLimit};
use crate::domain::case_rules::{Stage, time_limit};
use crate::domain::codes::{ClassCode, ClassKind, GridCode};
use crate::domain::routing::route;
use crate::import::edit::{self, Current, Draft, EditError, Edited, Row};
use crate::import::records::Dataset;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/config", get(all))
        .route("/api/v1/admin/config/{dataset}", get(one).put(replace))
        .route("/api/v1/admin/config/preview/route", post(preview_route))
        .route(
            "/api/v1/admin/config/preview/deadline",
            post(preview_deadline),
        )
}

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::Invalid { problems } => {
                let first = problems.first().map(|p| p.to_string()).unwrap_or_default();
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_config",
                    format!(
                        "{} problem(s) in the edited configuration; the first: {first}",
                        problems.len()
                    ),
                );
                err.problems = problems;
                err
            }
            EditError::Changed { .. } => {
                ApiError::new(StatusCode::CONFLICT, "config_changed", e.to_string())
            }
            EditError::Database(e) => e.into(),
            EditError::Export(e) => {
                tracing::error!(error = %e, "reading the configuration back failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

fn dataset(name: &str) -> ApiResult<Dataset> {
    edit::editable(name).ok_or_else(|| {
        ApiError::not_found(
            "unknown_dataset",
            format!("no configuration {name:?}: departments, routing, sla, case_rules or calendar"),
        )
    })
}

/// Every editable data set.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Configuration {
    pub datasets: Vec<Current>,
}

/// The city's case configuration: departments, routing rules, stage time
/// limits, case rules and the working calendar, each with its version.
#[utoipa::path(get, path = "/api/v1/admin/config", tag = "admin",
    responses((status = 200, description = "The configuration", body = Configuration)))]
pub(crate) async fn all(State(state): State<AppState>) -> ApiResult<Json<Configuration>> {
    let mut conn = state.pool.acquire().await?;
    let mut datasets = Vec::new();
    for ds in edit::EDITABLE {
        datasets.push(edit::current(&mut conn, ds).await?);
    }
    Ok(Json(Configuration { datasets }))
}

/// One data set of the configuration.
#[utoipa::path(get, path = "/api/v1/admin/config/{dataset}", tag = "admin",
    params(("dataset" = String, Path, description = "departments, routing, sla, case_rules or calendar")),
    responses(
        (status = 200, description = "The data set", body = Current),
        (status = 404, description = "No such data set", body = ErrorBody),
    ))]
pub(crate) async fn one(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Current>> {
    let ds = dataset(&name)?;
    let mut conn = state.pool.acquire().await?;
    Ok(Json(edit::current(&mut conn, ds).await?))
}

/// A data set's new content: `rows` for a table, `calendar` for the calendar.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    /// The version it was edited from (from the GET): refused with 409 if it
    /// changed since, so that no one's change is overwritten unseen.
    pub version: String,
    #[schema(value_type = Option<Vec<Object>>)]
    pub rows: Option<Vec<Row>>,
    #[schema(value_type = Option<Object>)]
    pub calendar: Option<CalendarConfig>,
}

fn draft(rows: Option<Vec<Row>>, calendar: Option<CalendarConfig>) -> ApiResult<Draft> {
    match (rows, calendar) {
        (Some(rows), None) => Ok(Draft::Rows(rows)),
        (None, Some(calendar)) => Ok(Draft::Calendar(calendar)),
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "send either rows (a table) or calendar",
        )),
    }
}

/// Replaces a data set, validated as the import validates its file, in one
/// transaction with its audit entry; every server uses it for the next case.
#[utoipa::path(put, path = "/api/v1/admin/config/{dataset}", tag = "admin",
    params(("dataset" = String, Path, description = "departments, routing, sla, case_rules or calendar")),
    request_body = Replacement,
    responses(
        (status = 200, description = "Saved (or unchanged)", body = Edited),
        (status = 404, description = "No such data set", body = ErrorBody),
        (status = 409, description = "Changed by someone else since `version`", body = ErrorBody),
        (status = 422, description = "Invalid: `problems` lists each, as the import would", body = ErrorBody),
    ))]
pub(crate) async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Replacement>,
) -> ApiResult<Json<Edited>> {
    let ds = dataset(&name)?;
    let draft = draft(body.rows, body.calendar)?;
    let edited = edit::replace(
        &state.pool,
        &actor(&caller),
        ds,
        draft,
        &body.version,
        state.clock.now(),
    )
    .await?;
    if edited.changed {
        tracing::info!(by = %caller.0.login, file = ds.file(), version = %edited.current.version, "configuration changed");
    }
    Ok(Json(edited))
}

fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

fn kind_of(kind: Option<&str>) -> ApiResult<ClassKind> {
    ClassKind::parse(kind.unwrap_or("event"))
        .ok_or_else(|| invalid("invalid_kind", "kind must be event or component"))
}

fn class_of(class: &str) -> ApiResult<ClassCode> {
    ClassCode::parse(class).map_err(|e| invalid("invalid_class", e.to_string()))
}

/// Which department a report would go to, by the stored rules or a draft.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteQuestion {
    /// `event` (the default) or `component`.
    pub kind: Option<String>,
    /// The 4-digit class, e.g. `0102`.
    pub class: String,
    /// The 15-digit unit grid.
    pub grid: String,
    /// Draft routing rules instead of the stored ones.
    #[schema(value_type = Option<Vec<Object>>)]
    pub routing: Option<Vec<Row>>,
    /// Draft departments instead of the stored ones.
    #[schema(value_type = Option<Vec<Object>>)]
    pub departments: Option<Vec<Row>>,
}

/// The routing rule that matched, as `routing.csv` holds it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MatchedRule {
    pub kind: &'static str,
    pub class: String,
    pub area: String,
    pub department: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RouteAnswer {
    /// The department's code; none when no rule matches (the centre picks one at dispatch).
    pub department: Option<String>,
    pub department_name: Option<String>,
    pub rule: Option<MatchedRule>,
}

/// Previews routing: which department gets a report of this class in this
/// grid. (A report on a component goes to the component's competent
/// department instead; this answers for reports the rules route.)
#[utoipa::path(post, path = "/api/v1/admin/config/preview/route", tag = "admin",
    request_body = RouteQuestion,
    responses(
        (status = 200, description = "The department", body = RouteAnswer),
        (status = 422, description = "Invalid question or draft", body = ErrorBody),
    ))]
pub(crate) async fn preview_route(
    State(state): State<AppState>,
    ApiJson(q): ApiJson<RouteQuestion>,
) -> ApiResult<Json<RouteAnswer>> {
    let kind = kind_of(q.kind.as_deref())?;
    let class = class_of(&q.class)?;
    let grid = GridCode::parse(&q.grid).map_err(|e| invalid("invalid_grid", e.to_string()))?;
    let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM grids WHERE code = $1")
        .bind(grid.as_str())
        .fetch_optional(&state.pool)
        .await?;
    if known.is_none() {
        return Err(invalid(
            "unknown_grid",
            format!("no unit grid {} in this city", grid.as_str()),
        ));
    }
    let mut drafts = Vec::new();
    if let Some(rows) = q.departments {
        drafts.push((Dataset::Departments, Draft::Rows(rows)));
    }
    if let Some(rows) = q.routing {
        drafts.push((Dataset::Routing, Draft::Rows(rows)));
    }
    let (cfg, _rolled_back) = edit::with_drafts(&state.pool, drafts).await?;
    let rule = route(&cfg.routing, kind, class.as_str(), grid.as_str());
    Ok(Json(RouteAnswer {
        department: rule.map(|r| r.department.clone()),
        department_name: rule.and_then(|r| cfg.departments.get(&r.department).cloned()),
        rule: rule.map(|r| MatchedRule {
            kind: r.kind.as_str(),
            class: r.class.clone(),
            area: r.area.clone(),
            department: r.department.clone(),
        }),
    }))
}

/// When a stage would be due: for a case (kind, class, urgency and stage, by
/// the time limits) or for a limit given outright (amount and unit).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadlineQuestion {
    /// When the stage starts (RFC 3339); now if absent.
    pub start: Option<DateTime<FixedOffset>>,
    /// A limit given outright, e.g. 2 `working_days` …
    pub amount: Option<i64>,
    /// … in `minutes`, `working_hours` or `working_days`.
    pub unit: Option<String>,
    /// … or the limit of this stage (`filing`, `dispatch`, `handling`, `verification`) …
    pub stage: Option<String>,
    /// … for a case of this kind (`event` by default), class and urgency.
    pub kind: Option<String>,
    pub class: Option<String>,
    #[serde(default)]
    pub urgent: bool,
    /// Draft time limits instead of the stored ones.
    #[schema(value_type = Option<Vec<Object>>)]
    pub sla: Option<Vec<Row>>,
    /// A draft calendar instead of the stored one.
    #[schema(value_type = Option<Object>)]
    pub calendar: Option<CalendarConfig>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeadlineAnswer {
    pub limit: TimeLimit,
    /// In the calendar's time zone.
    #[schema(value_type = String)]
    pub start: DateTime<FixedOffset>,
    #[schema(value_type = String)]
    pub due: DateTime<FixedOffset>,
}

/// Previews a deadline on the working calendar.
#[utoipa::path(post, path = "/api/v1/admin/config/preview/deadline", tag = "admin",
    request_body = DeadlineQuestion,
    responses(
        (status = 200, description = "The deadline", body = DeadlineAnswer),
        (status = 422, description = "Invalid question or draft, or no time limit for the stage", body = ErrorBody),
    ))]
pub(crate) async fn preview_deadline(
    State(state): State<AppState>,
    ApiJson(q): ApiJson<DeadlineQuestion>,
) -> ApiResult<Json<DeadlineAnswer>> {
    if q.start.is_some_and(|s| !(2000..=2200).contains(&s.year())) {
        return Err(invalid(
            "invalid_start",
            "start must be a time between the years 2000 and 2200",
        ));
    }
    let mut drafts = Vec::new();
    if let Some(rows) = q.sla {
        drafts.push((Dataset::Sla, Draft::Rows(rows)));
    }
    if let Some(calendar) = q.calendar {
        drafts.push((Dataset::Calendar, Draft::Calendar(calendar)));
    }
    let asked = match (q.amount, q.unit.as_deref(), q.stage.as_deref()) {
        (Some(amount), Some(unit), None) => Asked::Limit(
            TimeLimit::parse(amount, unit)
                .filter(|_| amount <= 100_000)
                .ok_or_else(|| {
                    invalid(
                        "invalid_limit",
                        "amount must be a positive whole number up to 100000 and unit minutes, working_hours or working_days",
                    )
                })?,
        ),
        (None, None, Some(stage)) => Asked::Stage {
            stage: Stage::parse(stage).ok_or_else(|| {
                invalid(
                    "invalid_stage",
                    "stage must be filing, dispatch, handling or verification",
                )
            })?,
            kind: kind_of(q.kind.as_deref())?,
            class: class_of(q.class.as_deref().unwrap_or_default())?,
        },
        _ => {
            return Err(invalid(
                "invalid_body",
                "send amount and unit, or stage (with kind, class and urgent)",
            ));
        }
    };
    let (cfg, _rolled_back) = edit::with_drafts(&state.pool, drafts).await?;
    let limit = match asked {
        Asked::Limit(limit) => limit,
        Asked::Stage { stage, kind, class } => {
            time_limit(&cfg.sla, kind, class.as_str(), q.urgent, stage).ok_or_else(|| {
                invalid(
                    "no_time_limit",
                    format!(
                        "no line of sla.csv sets the {} stage of {} {}",
                        stage.as_str(),
                        kind.as_str(),
                        class.as_str()
                    ),
                )
            })?
        }
    };
    let zone = cfg.calendar.zone();
    let start = q
        .start
        .unwrap_or_else(|| state.clock.now().fixed_offset())
        .with_timezone(&zone);
    let due = limit
        .due(&cfg.calendar, start)
        .map_err(|e| invalid("no_working_time", e.to_string()))?;
    Ok(Json(DeadlineAnswer { limit, start, due }))
}

enum Asked {
    Limit(TimeLimit),
    Stage {
        stage: Stage,
        kind: ClassKind,
        class: ClassCode,
    },
}
