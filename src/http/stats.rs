//! Evaluation (GB/T 30428.4 style): `GET /api/v1/stats/evaluation?from=&to=&by=`.
//!
//! The cases reported in [from, to) are grouped by department, district,
//! street, community, grid or inspector (the first inspector who reported the
//! case; cases reported only by kiosks, Open311 or staff belong to none), and each
//! group gets the standard indicators:
//! - `cases`, `reports` (every report, duplicates included), `filed` (= valid
//!   reports: cases that were filed), `dispatched`, `handled`,
//!   `handled_on_time` (the last handling finished by its deadline), `overdue`
//!   (a stage ran past its deadline at some point: an `overdue` event or a
//!   stage finished late), `closed`, `suspended`;
//! - `due` = filed cases, not suspended, that are closed or whose deadline has
//!   come (a stage ran late, or handling was due by now): a case still within
//!   its time does not count against a department;
//!   `closure_rate` = closed ÷ due; `on_time_closure_rate` = closed with
//!   handling on time ÷ due; `rework` (sum of reworks), `rework_rate` = cases
//!   reworked ÷ handled; `avg_hours` per stage (finished stages, wall clock);
//! - `score` = 100 × (w_closure × closure_rate + w_on_time ×
//!   on_time_closure_rate + w_rework × (1 − rework_rate)), weights 0.4, 0.4,
//!   0.2 unless `weights=closure:…,on_time:…,rework:…` says otherwise (they
//!   must add up to 1); `grade` A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, else E.
//! Rates over an empty denominator are null.
//!
//! The groups come in pages of `page_size` (default 1,000) in key order:
//! `next_after` is the `after` of the next page.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::query::Params;
use crate::domain::codes::ClassKind;
use crate::domain::workflow::Role;
use crate::store::hotspots::{self, HotspotQuery, Hotspots};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/stats/evaluation", get(evaluation))
        .route("/api/v1/stats/hotspots", get(hotspots))
}

/// Composite weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    pub closure: f64,
    pub on_time: f64,
    pub rework: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            closure: 0.4,
            on_time: 0.4,
            rework: 0.2,
        }
    }
}

pub fn grade(score: f64) -> &'static str {
    match score {
        s if s >= 90.0 => "A",
        s if s >= 75.0 => "B",
        s if s >= 60.0 => "C",
        s if s >= 40.0 => "D",
        _ => "E",
    }
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, message)
}

fn parse_weights(s: &str) -> ApiResult<Weights> {
    let mut w = Weights::default();
    for part in s.split(',') {
        let (k, v) = part.split_once(':').ok_or_else(|| {
            bad(
                "invalid_weights",
                "weights=closure:0.4,on_time:0.4,rework:0.2",
            )
        })?;
        let v: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| (0.0..=1.0).contains(v))
            .ok_or_else(|| bad("invalid_weights", format!("weight {k} must be 0–1")))?;
        match k.trim() {
            "closure" => w.closure = v,
            "on_time" => w.on_time = v,
            "rework" => w.rework = v,
            other => return Err(bad("invalid_weights", format!("no weight {other}"))),
        }
    }
    if ((w.closure + w.on_time + w.rework) - 1.0).abs() > 1e-9 {
        return Err(bad("invalid_weights", "the weights must add up to 1"));
    }
    Ok(w)
}

/// The indicators of the cases of the period's partial first and last UTC
/// day, from each case's facts (migration 0016: kept by the audit trail in
/// the same transaction as the change): [$1, $4) and [$5, $2), $4 and $5
/// being the first and last UTC midnight inside the period. `{key}` is the
/// grouping column.
const EVALUATION_FACTS_SQL: &str = "
SELECT {key} AS key,
    count(*) AS cases,
    sum(reports)::bigint AS reports,
    count(*) FILTER (WHERE was_filed) AS filed,
    count(*) FILTER (WHERE was_dispatched) AS dispatched,
    count(*) FILTER (WHERE was_handled) AS handled,
    count(*) FILTER (WHERE handled_on_time) AS handled_on_time,
    count(*) FILTER (WHERE was_overdue) AS overdue,
    count(*) FILTER (WHERE state = 'closed') AS closed,
    count(*) FILTER (WHERE state = 'closed' AND handled_on_time) AS closed_on_time,
    count(*) FILTER (WHERE state = 'suspended') AS suspended,
    count(*) FILTER (WHERE was_filed AND state <> 'suspended'
                     AND (state = 'closed' OR was_overdue OR handling_due_at <= $3)) AS due,
    sum(rework_count)::bigint AS rework,
    count(*) FILTER (WHERE rework_count > 0) AS reworked,
    coalesce(sum(filing_h), 0)::float8 AS filing_h, count(filing_h) AS filing_n,
    coalesce(sum(dispatch_h), 0)::float8 AS dispatch_h, count(dispatch_h) AS dispatch_n,
    coalesce(sum(handling_h), 0)::float8 AS handling_h, count(handling_h) AS handling_n,
    coalesce(sum(verification_h), 0)::float8 AS verification_h, count(verification_h) AS verification_n
FROM (
    SELECT * FROM case_facts WHERE reported_at >= $1 AND reported_at < $4
    UNION ALL
    SELECT * FROM case_facts WHERE reported_at >= $5 AND reported_at < $2
) f
WHERE ($9::text IS NULL OR coalesce({key}, '') > $9) AND ($10::text IS NULL OR coalesce({key}, '') <= $10)
GROUP BY 1";

/// The cases of the period's whole UTC days [$7, $8) (and [$4, $5)), from
/// their daily sums (migrations 0019, 0023): the settled sums, the changes
/// not yet settled (`{change_key}`: the grouping column), and, taken off the
/// cases due once their handling deadline passes, those whose deadline is
/// still ahead of the clock ($3; `{key}`: the facts' grouping column).
/// The same columns as the facts give; both parts hold the groups of the
/// page only, whose keys are after $9 and up to $10 — of the daily sums,
/// where the period has many rows, the keys $11 (`{day_keys}`: read from
/// evaluation_days_key_sums_idx alone, sums and all). Asked in one
/// statement with the facts (`UNION ALL`), so every part sees the same
/// moment: a case changing or being settled meanwhile is counted once.
const EVALUATION_DAYS_SQL: &str = "
SELECT nullif(key, '') AS key,
    sum(cases)::bigint AS cases,
    sum(reports)::bigint AS reports,
    sum(filed)::bigint AS filed,
    sum(dispatched)::bigint AS dispatched,
    sum(handled)::bigint AS handled,
    sum(handled_on_time)::bigint AS handled_on_time,
    sum(overdue)::bigint AS overdue,
    sum(closed)::bigint AS closed,
    sum(closed_on_time)::bigint AS closed_on_time,
    sum(suspended)::bigint AS suspended,
    sum(due)::bigint AS due,
    sum(rework)::bigint AS rework,
    sum(reworked)::bigint AS reworked,
    sum(filing_h)::float8 AS filing_h, sum(filing_n)::bigint AS filing_n,
    sum(dispatch_h)::float8 AS dispatch_h, sum(dispatch_n)::bigint AS dispatch_n,
    sum(handling_h)::float8 AS handling_h, sum(handling_n)::bigint AS handling_n,
    sum(verification_h)::float8 AS verification_h, sum(verification_n)::bigint AS verification_n
FROM (
    SELECT key, {sums} FROM evaluation_days
    WHERE grouping = $6 AND {day_keys} AND day >= $7 AND day < $8
    UNION ALL
    SELECT {change_key}, {sums} FROM evaluation_changes WHERE day >= $7 AND day < $8
    UNION ALL
    SELECT coalesce({key}, ''), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1
    FROM case_facts
    WHERE was_filed AND state NOT IN ('suspended', 'closed') AND NOT was_overdue
      AND handling_due_at > $3 AND reported_at >= $4 AND reported_at < $5
) s
WHERE ($9::text IS NULL OR key > $9) AND ($10::text IS NULL OR key <= $10)
GROUP BY 1";

/// The summed columns of evaluation_days and evaluation_changes, in the
/// order of the days part's union; `due` counting the pending ones.
const EVALUATION_SUMS: &str = "cases, reports, filed, dispatched, handled, handled_on_time, overdue, \
    closed, closed_on_time, suspended, rework, reworked, filing_h, filing_n, dispatch_h, dispatch_n, \
    handling_h, handling_n, verification_h, verification_n, due + due_pending AS due";

/// One group's counts, added up from both sources.
#[derive(Default)]
struct Sums {
    counts: HashMap<&'static str, i64>,
    /// Each stage's hours: their sum and how many.
    hours: [(f64, i64); 4],
}

const COUNTS: [&str; 13] = [
    "cases",
    "reports",
    "filed",
    "dispatched",
    "handled",
    "handled_on_time",
    "overdue",
    "closed",
    "closed_on_time",
    "suspended",
    "due",
    "rework",
    "reworked",
];
const STAGES: [&str; 4] = ["filing", "dispatch", "handling", "verification"];

impl Sums {
    fn add(&mut self, r: &sqlx::postgres::PgRow) {
        for c in COUNTS {
            *self.counts.entry(c).or_default() += r.get::<i64, _>(c);
        }
        for (i, stage) in STAGES.into_iter().enumerate() {
            self.hours[i].0 += r.get::<f64, _>(format!("{stage}_h").as_str());
            self.hours[i].1 += r.get::<i64, _>(format!("{stage}_n").as_str());
        }
    }

    fn n(&self, c: &str) -> i64 {
        self.counts.get(c).copied().unwrap_or(0)
    }

    fn avg_hours(&self, stage: usize) -> Option<f64> {
        let (sum, n) = self.hours[stage];
        (n > 0).then(|| sum / n as f64)
    }
}

/// The first and the last UTC midnight in [from, to]; both `from` when the
/// period holds no whole day.
fn whole_days(from: DateTime<Utc>, to: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let midnight = |t: DateTime<Utc>| t.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    let first = if midnight(from) == from {
        from
    } else {
        midnight(from) + chrono::Duration::days(1)
    };
    let last = midnight(to);
    if first < last {
        (first, last)
    } else {
        (from, from)
    }
}

/// The keys of the daily sums of `grouping` with a row in the whole days
/// [first, last), after `after` in key order: `page_size` + 1 at most; and
/// whether the period holds many rows. Where it does (a year by grid: a
/// million), the keys are walked one by one on evaluation_days_key_sums_idx, each
/// looked up in the period; where it holds few (a month of a young history,
/// in which most grids have no case), those rows are read.
async fn page_keys(
    conn: &mut sqlx::PgConnection,
    grouping: &str,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    after: Option<&str>,
    page_size: i64,
) -> ApiResult<(Vec<String>, bool)> {
    const MANY_ROWS: i64 = 50_000;
    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT FROM evaluation_days
                               WHERE grouping = $1 AND day >= $2 AND day < $3 LIMIT $4) r",
    )
    .bind(grouping)
    .bind(first.date_naive())
    .bind(last.date_naive())
    .bind(MANY_ROWS)
    .fetch_one(&mut *conn)
    .await?;
    let many = rows >= MANY_ROWS;
    // With `after` or without: two statements, so that neither plan has to
    // serve both (a plan made for any `after` would walk from the first key).
    let from_key = if after.is_some() {
        "key > $4"
    } else {
        "$4::text IS NULL"
    };
    let sql = if !many {
        format!(
            "SELECT key FROM evaluation_days
             WHERE grouping = $1 AND day >= $2 AND day < $3 AND {from_key}
             GROUP BY key ORDER BY key LIMIT $5"
        )
    } else {
        format!(
            "WITH RECURSIVE k AS (
                 (SELECT key FROM evaluation_days
                  WHERE grouping = $1 AND {from_key} ORDER BY key LIMIT 1)
                 UNION ALL
                 SELECT (SELECT e.key FROM evaluation_days e
                         WHERE e.grouping = $1 AND e.key > k.key ORDER BY e.key LIMIT 1)
                 FROM k WHERE k.key IS NOT NULL
             )
             SELECT key FROM k
             WHERE key IS NOT NULL AND EXISTS (
                 SELECT 1 FROM evaluation_days e
                 WHERE e.grouping = $1 AND e.key = k.key AND e.day >= $2 AND e.day < $3)
             LIMIT $5"
        )
    };
    let keys = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(grouping)
        .bind(first.date_naive())
        .bind(last.date_naive())
        .bind(after)
        .bind(page_size + 1)
        .fetch_all(&mut *conn)
        .await?;
    Ok((keys, many))
}

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

#[derive(Debug, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvaluationQuery {
    /// The period's start (RFC 3339); default 30 days before `to`.
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<String>,
    /// The period's end (RFC 3339); default now.
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<String>,
    /// `department` (default), `district`, `street`, `community`, `grid` or `inspector`.
    #[param(pattern = "^(department|district|street|community|grid|inspector)$")]
    by: Option<String>,
    /// `closure:0.4,on_time:0.4,rework:0.2` (adding up to 1).
    weights: Option<String>,
    /// The groups after this key (the last answer's `next_after`), in key order.
    after: Option<String>,
    /// 1–5,000 groups (default 1,000).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 5000)]
    page_size: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WeightsView {
    pub closure: f64,
    pub on_time: f64,
    pub rework: f64,
}

/// Average hours of each finished stage, wall clock.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageHours {
    pub filing: Option<f64>,
    pub dispatch: Option<f64>,
    pub handling: Option<f64>,
    pub verification: Option<f64>,
}

/// One group's indicators.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationRow {
    /// The group's code (department, area, grid) or user id; none: not dispatched.
    pub key: Option<String>,
    pub name: Option<String>,
    pub cases: i64,
    pub reports: i64,
    pub valid_reports: i64,
    pub filed: i64,
    pub dispatched: i64,
    pub handled: i64,
    pub handled_on_time: i64,
    pub overdue: i64,
    pub closed: i64,
    pub suspended: i64,
    pub due: i64,
    pub closure_rate: Option<f64>,
    pub on_time_closure_rate: Option<f64>,
    pub rework: i64,
    pub rework_rate: Option<f64>,
    pub avg_hours: StageHours,
    pub score: Option<f64>,
    /// A–E.
    pub grade: Option<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Evaluation {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub by: String,
    pub weights: WeightsView,
    /// The groups of this page, those after `after` in key order (the group
    /// of none last): about `page_size` of them — fewer when a group's cases
    /// all moved to another, a few more when cases changed in the last half
    /// minute add groups.
    pub rows: Vec<EvaluationRow>,
    /// More groups follow: ask again with `after` set to this.
    pub next_after: Option<String>,
}

/// The standard indicators per department, area, grid or inspector over a period.
#[utoipa::path(get, path = "/api/v1/stats/evaluation", tag = "stats", params(EvaluationQuery),
    responses((status = 200, description = "One row per group", body = Evaluation)))]
pub(crate) async fn evaluation(
    caller: Caller,
    State(state): State<AppState>,
    Params(q, _): Params<EvaluationQuery>,
) -> ApiResult<Json<Evaluation>> {
    let (from, to) = period(&state, &q)?;
    let by = q.get("by").map(String::as_str).unwrap_or("department");
    let key = match by {
        "department" | "district" | "street" | "community" | "grid" | "inspector" => by,
        other => {
            return Err(bad(
                "invalid_group",
                format!("by={other:?}: department, district, street, community, grid or inspector"),
            ));
        }
    };
    if caller.0.role == Role::Department && key != "department" {
        return Err(super::auth::forbidden(
            "departments see their own department's row",
        ));
    }
    let weights = q
        .get("weights")
        .map(|w| parse_weights(w))
        .transpose()?
        .unwrap_or_default();
    let column = if key == "inspector" {
        "inspector::text"
    } else {
        key
    };
    let page_size = match q.get("page_size") {
        None => 1_000,
        Some(n) => n
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=5_000).contains(n))
            .ok_or_else(|| bad("invalid_page_size", "page_size must be 1–5000"))?,
    };
    let after = match caller.0.role {
        Role::Department => None,
        _ => q.get("after").cloned(),
    };
    let (first_day, last_day) = whole_days(from, to);
    // The page: the first page_size groups of the daily sums after `after`
    // (one more says more follow), and what the other parts hold up to the
    // last of them — or, on the last page, every group after `after`. A
    // department's answer is its own row: one page.
    // The page's keys and its sums from one snapshot: a key whose first row
    // of the period is settled meanwhile is in both or in neither.
    let mut tx = state.stale_reads.pool().begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let (keys, many, page_end) = match caller.0.role {
        Role::Department => (caller.0.department.iter().cloned().collect(), true, None),
        _ => {
            let (mut keys, many) = page_keys(
                &mut tx,
                key,
                first_day,
                last_day,
                after.as_deref(),
                page_size,
            )
            .await?;
            let more = keys.len() > page_size as usize;
            keys.truncate(page_size as usize);
            let end = more.then(|| keys.last().cloned()).flatten();
            (keys, many, end)
        }
    };
    let both = format!(
        "{} UNION ALL {}",
        EVALUATION_FACTS_SQL.replace("{key}", column),
        EVALUATION_DAYS_SQL
            .replace("{sums}", EVALUATION_SUMS)
            .replace(
                "{day_keys}",
                if many {
                    "key = ANY($11)"
                } else {
                    // (the keys' range is enough; $11 still has a type)
                    "cardinality($11::text[]) >= 0"
                }
            )
            .replace("{change_key}", key)
            .replace("{key}", column)
    );
    let parts = sqlx::query(sqlx::AssertSqlSafe(both))
        .bind(from)
        .bind(to)
        .bind(state.clock.now())
        .bind(first_day)
        .bind(last_day)
        .bind(key)
        .bind(first_day.date_naive())
        .bind(last_day.date_naive())
        .bind(&after)
        .bind(&page_end)
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut groups: HashMap<Option<String>, Sums> = HashMap::new();
    for r in &parts {
        groups.entry(r.get("key")).or_default().add(r);
    }
    let mut rows: Vec<(Option<String>, Sums)> = groups.into_iter().collect();
    // By key; the group of no department (or no inspector) last.
    rows.sort_by(|a, b| (a.0.is_none(), &a.0).cmp(&(b.0.is_none(), &b.0)));
    let names: HashMap<String, String> = match key {
        "department" => sqlx::query_as("SELECT code, name FROM departments")
            .fetch_all(state.stale_reads.pool())
            .await?
            .into_iter()
            .collect(),
        "inspector" => sqlx::query_as("SELECT id::text, name FROM users")
            .fetch_all(state.stale_reads.pool())
            .await?
            .into_iter()
            .collect(),
        "district" | "street" | "community" => {
            let index = state.city.get();
            index
                .areas
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }
        _ => HashMap::new(),
    };
    let mut out = Vec::new();
    for (key, sums) in rows {
        // A group whose cases all moved to another (a department changed).
        if sums.n("cases") == 0 {
            continue;
        }
        if caller.0.role == Role::Department && key != caller.0.department {
            continue;
        }
        // By inspector: the cases an inspector reported first; the rest
        // (kiosks, Open311, operators) are no inspector's.
        if by == "inspector" && key.is_none() {
            continue;
        }
        let n = |c: &str| sums.n(c);
        let closure = ratio(n("closed"), n("due"));
        let on_time = ratio(n("closed_on_time"), n("due"));
        let rework_rate = ratio(n("reworked"), n("handled"));
        let score = match (closure, on_time) {
            (Some(c), Some(o)) => Some(
                100.0
                    * (weights.closure * c
                        + weights.on_time * o
                        + weights.rework * (1.0 - rework_rate.unwrap_or(0.0))),
            ),
            _ => None,
        };
        out.push(EvaluationRow {
            name: key.as_ref().and_then(|k| names.get(k)).cloned(),
            key,
            cases: n("cases"),
            reports: n("reports"),
            valid_reports: n("filed"),
            filed: n("filed"),
            dispatched: n("dispatched"),
            handled: n("handled"),
            handled_on_time: n("handled_on_time"),
            overdue: n("overdue"),
            closed: n("closed"),
            suspended: n("suspended"),
            due: n("due"),
            closure_rate: closure,
            on_time_closure_rate: on_time,
            rework: n("rework"),
            rework_rate,
            avg_hours: StageHours {
                filing: sums.avg_hours(0),
                dispatch: sums.avg_hours(1),
                handling: sums.avg_hours(2),
                verification: sums.avg_hours(3),
            },
            grade: score.map(grade),
            score,
        });
    }
    Ok(Json(Evaluation {
        from,
        to,
        by: by.to_owned(),
        weights: WeightsView {
            closure: weights.closure,
            on_time: weights.on_time,
            rework: weights.rework,
        },
        rows: out,
        next_after: page_end,
    }))
}

/// The reporting period of a stats query: `from`/`to` (ISO 8601), the last
/// 30 days by default.
fn period(
    state: &AppState,
    q: &HashMap<String, String>,
) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
    let time = |k: &str| -> ApiResult<Option<DateTime<Utc>>> {
        q.get(k)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|_| {
                        bad(
                            "invalid_period",
                            format!("{k} must be ISO 8601 with a zone"),
                        )
                    })
            })
            .transpose()
    };
    let to = time("to")?.unwrap_or_else(|| state.clock.now());
    let from = time("from")?.unwrap_or(to - chrono::Duration::days(30));
    if from >= to {
        return Err(bad("invalid_period", "from must be before to"));
    }
    Ok((from, to))
}

/// `GET /api/v1/stats/hotspots?from=&to=&kind=&class=&resolution=&grids_limit=`:
/// where problems recur. A GeoJSON FeatureCollection of H3 cells (resolution
/// 5–12, default 9, ~0.1 km²: the parents of the cases' cells at resolution
/// 12) with `count`, most first, and `grids`: the `grids_limit` unit grids
/// with most cases (default 100), most first, of `grids_total`. A department
/// counts its own cases only.
#[derive(Debug, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HotspotsQuery {
    /// The period's start (RFC 3339); default 30 days before `to`.
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<String>,
    /// The period's end (RFC 3339); default now.
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<String>,
    /// `component` or `event`.
    #[param(pattern = "^(component|event)$")]
    kind: Option<String>,
    /// A class code (4 digits).
    #[param(pattern = "^[0-9]{4}$")]
    class: Option<String>,
    /// H3 resolution 5–12 (default 9, ~0.1 km²).
    #[param(value_type = Option<u8>, minimum = 5, maximum = 12)]
    resolution: Option<String>,
    /// How many unit grids to list, most cases first: 0–100,000 (default 100).
    #[param(value_type = Option<u32>, minimum = 0, maximum = 100000)]
    grids_limit: Option<String>,
}

/// The grids a hotspot answer lists by default, and at most.
const GRIDS_LISTED: usize = 100;
const GRIDS_LISTED_MAX: usize = 100_000;

/// The answer: a GeoJSON FeatureCollection of cells, and the grids.
#[derive(Serialize)]
pub(crate) struct HotspotsAnswer {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<CellFeature>,
    grids: Vec<GridCount>,
    grids_total: usize,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    resolution: u8,
}

#[derive(Serialize)]
pub(crate) struct CellFeature {
    #[serde(rename = "type")]
    kind: &'static str,
    geometry: CellPolygon,
    properties: CellCount,
}

#[derive(Serialize)]
pub(crate) struct CellPolygon {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [Vec<[f64; 2]>; 1],
}

#[derive(Serialize)]
pub(crate) struct CellCount {
    cell: String,
    count: i64,
}

#[derive(Serialize)]
pub(crate) struct GridCount {
    grid: String,
    count: i64,
}

/// A cell's outline, closed, to six decimals (about 0.1 m; RFC 7946 § 11.2).
fn cell_polygon(cell: h3o::CellIndex) -> CellPolygon {
    let six = |v: f64| (v * 1e6).round() / 1e6;
    let mut ring: Vec<[f64; 2]> = cell
        .boundary()
        .iter()
        .map(|ll| [six(ll.lng()), six(ll.lat())])
        .collect();
    if let Some(&first) = ring.first() {
        ring.push(first);
    }
    CellPolygon {
        kind: "Polygon",
        coordinates: [ring],
    }
}

#[utoipa::path(get, path = "/api/v1/stats/hotspots", tag = "stats", params(HotspotsQuery),
    responses((status = 200, description = "A GeoJSON FeatureCollection of H3 cells with `count`, most first; \
        `grids`: the `grids_limit` unit grids with most cases, most first, of `grids_total`", body = Object)))]
pub(crate) async fn hotspots(
    caller: Caller,
    State(state): State<AppState>,
    Params(q, _): Params<HotspotsQuery>,
) -> ApiResult<Json<HotspotsAnswer>> {
    // A department sees where its own cases are.
    let department = match caller.0.role {
        Role::Department => caller.0.department.clone(),
        _ => None,
    };
    let (from, to) = period(&state, &q)?;
    let resolution = match q.get("resolution") {
        None => h3o::Resolution::Nine,
        Some(r) => r
            .parse::<u8>()
            .ok()
            .filter(|r| (5..=12).contains(r))
            .and_then(|r| h3o::Resolution::try_from(r).ok())
            .ok_or_else(|| bad("invalid_resolution", "resolution must be 5–12"))?,
    };
    let class = q.get("class").filter(|c| !c.is_empty());
    if class.is_some_and(|c| c.len() != 4 || !c.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad("invalid_class", "class must be 4 digits"));
    }
    let kind = match q.get("kind").filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(
            ClassKind::parse(k)
                .ok_or_else(|| bad("invalid_kind", "kind must be component or event"))?,
        ),
    };
    let grids_limit = match q.get("grids_limit") {
        None => GRIDS_LISTED,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= GRIDS_LISTED_MAX)
            .ok_or_else(|| bad("invalid_grids_limit", "grids_limit must be 0–100000"))?,
    };
    let query = HotspotQuery {
        from,
        to,
        resolution,
        class: class.map(String::as_str),
        kind,
        department: department.as_deref(),
    };
    let Hotspots { cells, grids } =
        hotspots::count(state.stale_reads.pool(), &state.hotspot_sums, &query).await?;
    let mut cells: Vec<_> = cells.into_iter().collect();
    cells.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let features = cells
        .into_iter()
        .map(|(cell, count)| CellFeature {
            kind: "Feature",
            geometry: cell_polygon(cell),
            properties: CellCount {
                cell: cell.to_string(),
                count,
            },
        })
        .collect();
    let grids_total = grids.len();
    let mut grids: Vec<_> = grids.into_iter().collect();
    let most_first = |a: &(String, i64), b: &(String, i64)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
    if grids_limit < grids.len() {
        grids.select_nth_unstable_by(grids_limit, most_first);
        grids.truncate(grids_limit);
    }
    grids.sort_by(most_first);
    Ok(Json(HotspotsAnswer {
        kind: "FeatureCollection",
        features,
        grids: grids
            .into_iter()
            .map(|(grid, count)| GridCount { grid, count })
            .collect(),
        grids_total,
        from,
        to,
        resolution: u8::from(resolution),
    }))
}
