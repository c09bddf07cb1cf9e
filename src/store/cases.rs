//! Cases in PostgreSQL: intake (idempotent per client key, duplicates attached),
//! workflow actions applied under a row lock with an optimistic version, stage
//! deadlines on the working calendar, the append-only audit trail, queries and
//! the overdue sweep. Every change appends a `case_events` row, whose trigger
//! publishes it on `citygrid_cases` at commit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{FromRow, PgConnection, PgPool, Postgres, QueryBuilder};

use super::case_config::CaseConfig;
use super::users::{User, role_name};
use crate::domain::calendar::{CalendarError, Light, TimeLimit};
use crate::domain::case_rules::{DuplicatePolicy, Stage, case_rule, time_limit};
use crate::domain::codes::ClassKind;
use crate::domain::workflow::{Action, CaseFacts, CaseState, Role, TransitionError, next_state};

/// The channel every case event is published on.
pub const CASES_CHANNEL: &str = "citygrid_cases";

/// How far back an open case can absorb a new report as its duplicate.
pub const DUPLICATE_WINDOW_HOURS: i64 = 72;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("no such case")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("the case changed (now version {current}); reload it and try again")]
    VersionConflict { current: i32 },
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The request cannot be carried out as given (422).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The case's state does not allow it (409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("calendar: {0}")]
    Calendar(#[from] CalendarError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn invalid(code: &'static str, message: impl Into<String>) -> CaseError {
    CaseError::Invalid {
        code,
        message: message.into(),
    }
}

/// Who did something: a user, or the system (auto-filing, the overdue sweep).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<i64>,
    pub name: String,
    pub role: &'static str,
}

impl Actor {
    pub fn user(u: &User) -> Self {
        Self {
            id: Some(u.id),
            name: u.name.clone(),
            role: role_name(u.role),
        }
    }
    pub fn system() -> Self {
        Self {
            id: None,
            name: "citygrid".into(),
            role: "system",
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct CaseRecord {
    pub id: i64,
    pub case_no: String,
    pub state: String,
    pub kind: String,
    pub class: String,
    pub urgent: bool,
    pub channel: String,
    pub description: String,
    pub address: String,
    pub lon: f64,
    pub lat: f64,
    pub grid: String,
    pub community: String,
    pub street: String,
    pub district: String,
    pub component: Option<String>,
    pub department: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub duplicate_of: Option<i64>,
    pub duplicate_of_no: Option<String>,
    pub suspended_from: Option<String>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub verified: bool,
    pub rework_count: i32,
    pub extension_requested_hours: Option<i32>,
    pub version: i32,
}

impl CaseRecord {
    pub fn state(&self) -> CaseState {
        CaseState::parse(&self.state).unwrap_or(CaseState::Reported)
    }
    pub fn kind(&self) -> ClassKind {
        ClassKind::parse(&self.kind).unwrap_or(ClassKind::Event)
    }
}

const SELECT_CASE: &str = "SELECT c.id, c.case_no, c.state, c.kind, c.class, c.urgent, c.channel, \
     c.description, c.address, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, c.grid, c.community, \
     c.street, c.district, c.component, c.department, c.reported_at, c.updated_at, c.duplicate_of, \
     d.case_no AS duplicate_of_no, c.suspended_from, c.suspended_at, c.verified, c.rework_count, \
     c.extension_requested_hours, c.version \
     FROM cases c LEFT JOIN cases d ON d.id = c.duplicate_of";

async fn fetch_case(
    conn: &mut PgConnection,
    case_no: &str,
    for_update: bool,
) -> Result<Option<CaseRecord>, sqlx::Error> {
    let lock = if for_update { " FOR UPDATE OF c" } else { "" };
    sqlx::query_as(sql!("{SELECT_CASE} WHERE c.case_no = $1{lock}"))
        .bind(case_no)
        .fetch_optional(conn)
        .await
}

async fn fetch_case_by_id(conn: &mut PgConnection, id: i64) -> Result<CaseRecord, sqlx::Error> {
    sqlx::query_as(sql!("{SELECT_CASE} WHERE c.id = $1"))
        .bind(id)
        .fetch_one(conn)
        .await
}

pub async fn get_case(pool: &PgPool, case_no: &str) -> Result<Option<CaseRecord>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    fetch_case(&mut conn, case_no, false).await
}

/// The cases with these numbers, in number order; unknown numbers are skipped.
pub async fn get_cases(pool: &PgPool, case_nos: &[String]) -> Result<Vec<CaseRecord>, sqlx::Error> {
    sqlx::query_as(sql!(
        "{SELECT_CASE} WHERE c.case_no = ANY($1) ORDER BY c.case_no"
    ))
    .bind(case_nos)
    .fetch_all(pool)
    .await
}

/// A change of state in a case's trail: what the public sees of its progress.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StateStep {
    pub case_id: i64,
    pub at: DateTime<Utc>,
    pub to_state: String,
}

/// The changes of state of these cases, oldest first.
pub async fn state_steps(pool: &PgPool, case_ids: &[i64]) -> Result<Vec<StateStep>, sqlx::Error> {
    sqlx::query_as(
        "SELECT case_id, at, to_state FROM case_events
         WHERE case_id = ANY($1) AND from_state IS DISTINCT FROM to_state ORDER BY case_id, id",
    )
    .bind(case_ids)
    .fetch_all(pool)
    .await
}

/// Appends to a case's audit trail. Every change to a case appends, and the
/// case's evaluation facts are computed again at commit from its last event
/// (migrations 0016, 0019, 0023): call it only with the case's row locked
/// (`FOR UPDATE` or an `UPDATE cases`), so no other transaction's event on
/// the case can come between.
#[allow(clippy::too_many_arguments)]
async fn append_event(
    conn: &mut PgConnection,
    case_id: i64,
    at: DateTime<Utc>,
    actor: &Actor,
    action: &str,
    from: Option<CaseState>,
    to: CaseState,
    note: &str,
    photos: &[String],
    data: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_events (case_id, at, actor_id, actor_name, role, action, from_state, to_state, note, photos, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(case_id)
    .bind(at)
    .bind(actor.id)
    .bind(&actor.name)
    .bind(actor.role)
    .bind(action)
    .bind(from.map(CaseState::as_str))
    .bind(to.as_str())
    .bind(note)
    .bind(photos)
    .bind(sqlx::types::Json(data))
    .execute(conn)
    .await?;
    Ok(())
}

/// Refuses photo ids the user did not upload: a photo's id is no licence to
/// attach it (and so to see it through a case of one's own).
async fn check_photos(
    conn: &mut PgConnection,
    user: &User,
    photos: &[String],
) -> Result<(), CaseError> {
    if photos.len() > 20 {
        return Err(invalid("too_many_photos", "at most 20 photos"));
    }
    if photos.is_empty() {
        return Ok(());
    }
    let known: Vec<String> = sqlx::query_scalar(
        "SELECT media_id FROM media_uploads WHERE media_id = ANY($1) AND user_id = $2",
    )
    .bind(photos)
    .bind(user.id)
    .fetch_all(conn)
    .await?;
    match photos.iter().find(|p| !known.contains(p)) {
        Some(p) => Err(invalid(
            "unknown_photo",
            format!("photo {p:?} was not uploaded by you: POST it to /api/v1/media first"),
        )),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------- stages

/// A stage's time limit, deadline and yellow light when it starts at
/// `now`; `None` when the stage has no time limit for this kind of case.
fn stage_deadline(
    cfg: &CaseConfig,
    kind: ClassKind,
    class: &str,
    urgent: bool,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<Option<(TimeLimit, Due)>, CalendarError> {
    let Some(limit) = time_limit(&cfg.sla, kind, class, urgent, stage) else {
        return Ok(None);
    };
    let zone = cfg.calendar.zone();
    let due = limit.due(&cfg.calendar, now.with_timezone(&zone))?;
    Ok(Some((
        limit,
        Due::new(cfg, limit, now, due.with_timezone(&Utc))?,
    )))
}

/// A running stage's deadline and the instant its light turns yellow
/// (`case_stages.due_at`, `warn_at`).
#[derive(Debug, Clone, Copy)]
struct Due {
    at: DateTime<Utc>,
    warn_at: DateTime<Utc>,
}

impl Due {
    fn new(
        cfg: &CaseConfig,
        limit: TimeLimit,
        started_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Due, CalendarError> {
        let zone = cfg.calendar.zone();
        let warn_at = limit.warn_at(
            &cfg.calendar,
            started_at.with_timezone(&zone),
            at.with_timezone(&zone),
        )?;
        Ok(Due {
            at,
            warn_at: warn_at.with_timezone(&Utc),
        })
    }
}

async fn start_stage(
    conn: &mut PgConnection,
    case: &CaseRecord,
    stage: Stage,
    cfg: &CaseConfig,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let Some((limit, due)) =
        stage_deadline(cfg, case.kind(), &case.class, case.urgent, stage, now)?
    else {
        drop_stage(conn, case.id, stage).await?;
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO case_stages (case_id, stage, amount, unit, started_at, due_at, warn_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (case_id, stage) DO UPDATE SET amount = excluded.amount, unit = excluded.unit,
             started_at = excluded.started_at, due_at = excluded.due_at, warn_at = excluded.warn_at,
             done_at = NULL, overdue_at = NULL",
    )
    .bind(case.id)
    .bind(stage.as_str())
    .bind(limit.amount() as i32)
    .bind(limit.unit())
    .bind(now)
    .bind(due.at)
    .bind(due.warn_at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn finish_stage(
    conn: &mut PgConnection,
    case_id: i64,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE case_stages SET done_at = $3 WHERE case_id = $1 AND stage = $2 AND done_at IS NULL",
    )
    .bind(case_id)
    .bind(stage.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

async fn drop_stage(
    conn: &mut PgConnection,
    case_id: i64,
    stage: Stage,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM case_stages WHERE case_id = $1 AND stage = $2")
        .bind(case_id)
        .bind(stage.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves the due time of the case's open stages with `f(limit, due)`.
async fn move_open_stages(
    conn: &mut PgConnection,
    case_id: i64,
    only: Option<Stage>,
    cfg: &CaseConfig,
    now: DateTime<Utc>,
    f: impl Fn(TimeLimit, DateTime<Utc>) -> Result<DateTime<Utc>, CalendarError>,
) -> Result<(), CaseError> {
    let open: Vec<StageRecord> = sqlx::query_as(
        "SELECT case_id, stage, amount, unit, started_at, due_at, done_at, overdue_at
         FROM case_stages WHERE case_id = $1 AND done_at IS NULL",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    for s in open {
        if only.is_some_and(|o| o.as_str() != s.stage) {
            continue;
        }
        let Some(limit) = s.limit() else { continue };
        let due = Due::new(cfg, limit, s.started_at, f(limit, s.due_at)?)?;
        sqlx::query(
            "UPDATE case_stages SET due_at = $3, warn_at = $5,
                 overdue_at = CASE WHEN $3 > $4 THEN NULL ELSE overdue_at END
             WHERE case_id = $1 AND stage = $2",
        )
        .bind(case_id)
        .bind(&s.stage)
        .bind(due.at)
        .bind(now)
        .bind(due.warn_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, FromRow, Deserialize)]
pub struct StageRecord {
    pub case_id: i64,
    pub stage: String,
    pub amount: i32,
    pub unit: String,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub overdue_at: Option<DateTime<Utc>>,
}

impl StageRecord {
    pub fn limit(&self) -> Option<TimeLimit> {
        TimeLimit::parse(self.amount.into(), &self.unit)
    }
}

/// A stage's deadline as shown to users.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Deadline {
    pub limit: TimeLimit,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub light: Light,
    pub overdue: bool,
}

/// The light of a stage at `now`; a finished stage keeps the light it finished
/// with, a suspended case's clock stands at its suspension and a case that
/// left the loop (closed, rejected, void) at its last change.
pub fn deadline(
    s: &StageRecord,
    case: &CaseRecord,
    cfg: &CaseConfig,
    now: DateTime<Utc>,
) -> Option<Deadline> {
    let limit = s.limit()?;
    let at = s
        .done_at
        .or(case.suspended_at)
        .or(case.state().is_terminal().then_some(case.updated_at))
        .unwrap_or(now)
        .with_timezone(&cfg.calendar.zone());
    let zone = cfg.calendar.zone();
    let light = limit.light(
        &cfg.calendar,
        s.started_at.with_timezone(&zone),
        s.due_at.with_timezone(&zone),
        at,
    );
    Some(Deadline {
        limit,
        started_at: s.started_at,
        due_at: s.due_at,
        done_at: s.done_at,
        light,
        overdue: light == Light::Red,
    })
}

pub async fn stages_of(pool: &PgPool, case_ids: &[i64]) -> Result<Vec<StageRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT case_id, stage, amount, unit, started_at, due_at, done_at, overdue_at
         FROM case_stages WHERE case_id = ANY($1) ORDER BY case_id, started_at",
    )
    .bind(case_ids)
    .fetch_all(pool)
    .await
}

// ---------------------------------------------------------------- intake

/// A report, validated and placed on the grid.
#[derive(Debug, Clone)]
pub struct Intake {
    pub client_key: String,
    pub kind: ClassKind,
    pub class: String,
    pub urgent: bool,
    pub channel: &'static str,
    pub lon: f64,
    pub lat: f64,
    pub address: String,
    pub description: String,
    pub photos: Vec<String>,
    pub callback_phone: Option<String>,
    pub grid: String,
    pub community: String,
    pub street: String,
    pub district: String,
    pub component: Option<String>,
    pub department: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intaken {
    /// A new case; `possible_duplicates` are open cases nearby when the class
    /// only suggests duplicates.
    Created {
        case_no: String,
        possible_duplicates: Vec<String>,
    },
    /// Attached to an open case nearby as a duplicate report.
    Attached { case_no: String },
}

/// Case numbers are `YYYYMMDD-NNNNNN` (the day in the city's zone), drawn
/// from the day's own sequence, `case_no_YYYYMMDD`: no row every report
/// updates and holds locked until it commits. A number taken by a report
/// that then rolls back is skipped, never reused. Returns the day's digits
/// and its sequence's name.
fn case_number_day(now: DateTime<Utc>, cfg: &CaseConfig) -> (String, String) {
    let ymd = now
        .with_timezone(&cfg.calendar.zone())
        .date_naive()
        .format("%Y%m%d")
        .to_string();
    let sequence = format!("case_no_{ymd}");
    (ymd, sequence)
}

/// Makes the day's sequence for its first report, under a lock that only
/// the reports racing it wait for; a day numbered by the earlier counter
/// (`case_numbers`) goes on after its last number.
async fn make_case_number_sequence(
    conn: &mut PgConnection,
    ymd: &str,
    sequence: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("LOCK TABLE case_numbers IN EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await?;
    // Made meanwhile by a report that held the lock before this one?
    let made: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(sequence)
        .fetch_one(&mut *conn)
        .await?;
    if !made {
        // `sequence` is `case_no_` and eight digits: no outside text.
        sqlx::query(sql!("CREATE SEQUENCE {sequence}"))
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "SELECT setval($1::regclass, last) FROM case_numbers
             WHERE day = to_date($2, 'YYYYMMDD') AND last > 0",
        )
        .bind(sequence)
        .bind(ymd)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The advisory locks a report of its class takes before it looks for
/// duplicates: the H3 cell it lies in and the six around it, at a resolution
/// whose cells are wider than the duplicate radius — two reports within the
/// radius lie in cells at most two apart, whose disks of one share a cell,
/// so they share a lock; reports farther apart mostly do not. A radius wider than
/// 2 km locks the whole class.
fn duplicate_locks(intake: &Intake, radius_m: f64) -> Vec<String> {
    let class = format!("class/{}/{}", intake.kind.as_str(), intake.class);
    // The narrowest hexagons of each resolution are more than this wide.
    let resolution = [
        (100.0, h3o::Resolution::Nine),
        (300.0, h3o::Resolution::Eight),
        (800.0, h3o::Resolution::Seven),
        (2_000.0, h3o::Resolution::Six),
    ]
    .into_iter()
    .find(|(widest, _)| radius_m <= *widest)
    .map(|(_, r)| r);
    match (resolution, h3o::LatLng::new(intake.lat, intake.lon)) {
        (Some(res), Ok(at)) => at
            .to_cell(res)
            .grid_disk::<Vec<_>>(1)
            .into_iter()
            .map(|cell| format!("{class}/{cell}"))
            .collect(),
        _ => vec![class],
    }
}

/// Takes a report: the same caller and client key again returns the first
/// outcome (`true` = replayed); otherwise a new case, or a duplicate report on
/// an open case nearby. Returns once it is committed.
///
/// A new case takes five round trips to the database (issue 12: every
/// statement cost the server and the database more than most of its work):
/// the transaction's start; its locks, with whether the day's case-number
/// sequence exists; the earlier report and the open cases nearby; the case
/// with its number, report, stage and event; and the commit. (The row of a
/// new case's filing stage and first event are written here as `start_stage`
/// and `append_event` write them for every later change.)
pub async fn submit_report(
    pool: &PgPool,
    user: &User,
    intake: &Intake,
    cfg: &CaseConfig,
    now: DateTime<Utc>,
) -> Result<(Intaken, bool), CaseError> {
    let rule = case_rule(&cfg.case_rules, intake.kind, &intake.class);
    let mut tx = pool.begin().await?;
    // Retries of one report wait for each other, then find the first. Reports
    // of one class near each other are taken one at a time, so two reports of
    // the same manhole at once make one case; reports far apart (or of other
    // classes) do not wait for each other. Every lock in one order: no
    // deadlock.
    let mut locks = vec![format!("report/{}/{}", user.id, intake.client_key)];
    if rule.duplicate_radius_m > 0.0 {
        locks.extend(duplicate_locks(intake, rule.duplicate_radius_m));
    }
    // And whether the day's case numbers have their sequence yet.
    let (ymd, sequence) = case_number_day(now, cfg);
    let (_, numbered): (i64, bool) = sqlx::query_as(
        "SELECT count(pg_advisory_xact_lock(k)), to_regclass($2) IS NOT NULL FROM (
             SELECT DISTINCT hashtextextended(x, 0) AS k FROM unnest($1::text[]) x ORDER BY 1
         ) ordered",
    )
    .bind(locks)
    .bind(&sequence)
    .fetch_one(&mut *tx)
    .await?;
    let (earlier, nearby) =
        earlier_and_nearby(&mut tx, user, intake, rule.duplicate_radius_m, now).await?;
    if let Some(earlier) = earlier {
        return Ok((earlier, true));
    }
    check_photos(&mut tx, user, &intake.photos).await?;
    let actor = Actor::user(user);

    if let (DuplicatePolicy::Attach, Some((case_id, case_no))) = (rule.duplicates, nearby.first()) {
        let report_id = insert_report(&mut tx, *case_id, user, intake, now, true).await?;
        let state: String =
            sqlx::query_scalar("UPDATE cases SET updated_at = $2 WHERE id = $1 RETURNING state")
                .bind(case_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
        let state = CaseState::parse(&state).unwrap_or(CaseState::Reported);
        append_event(
            &mut tx,
            *case_id,
            now,
            &actor,
            "duplicate_report",
            Some(state),
            state,
            &intake.description,
            &intake.photos,
            json!({"report": report_id, "channel": intake.channel}),
        )
        .await?;
        tx.commit().await?;
        return Ok((
            Intaken::Attached {
                case_no: case_no.clone(),
            },
            false,
        ));
    }

    if !numbered {
        make_case_number_sequence(&mut tx, &ymd, &sequence).await?;
    }
    // The filing stage starts with the case, its deadline on both.
    let filing = stage_deadline(
        cfg,
        intake.kind,
        &intake.class,
        intake.urgent,
        Stage::Filing,
        now,
    )?;
    let (case_id, case_no) = insert_case(
        &mut tx,
        (&ymd, &sequence),
        user,
        &actor,
        intake,
        filing,
        now,
    )
    .await?;
    if rule.auto_file {
        let system = Actor::system();
        let file = ActionInput::new(
            Action::File,
            "auto-filed: unambiguous class (case_rules.csv)",
        );
        let case = fetch_case_by_id(&mut tx, case_id).await?;
        apply(&mut tx, &case, &system, &file, cfg, now).await?;
        if rule.auto_dispatch && case.department.is_some() {
            let filed = fetch_case_by_id(&mut tx, case_id).await?;
            let dispatch =
                ActionInput::new(Action::Dispatch, "auto-dispatched to the routed department");
            apply(&mut tx, &filed, &system, &dispatch, cfg, now).await?;
        }
    }
    tx.commit().await?;
    let possible_duplicates = nearby.into_iter().map(|(_, no)| no).collect();
    Ok((
        Intaken::Created {
            case_no,
            possible_duplicates,
        },
        false,
    ))
}

/// The case an earlier report of the caller with this client key went to,
/// and the open cases of the report's class within `radius_m` (closest
/// first, at most five; none with a radius of 0), read in one statement
/// after the report's locks are held.
async fn earlier_and_nearby(
    conn: &mut PgConnection,
    user: &User,
    intake: &Intake,
    radius_m: f64,
    now: DateTime<Utc>,
) -> Result<(Option<Intaken>, Vec<(i64, String)>), sqlx::Error> {
    const EARLIER: &str = "SELECT 0 AS rank, 0::float8 AS distance, c.id, c.case_no, r.duplicate
         FROM reports r JOIN cases c ON c.id = r.case_id
         WHERE r.reported_by = $1 AND r.client_key = $2";
    // The geometry test first (the spatial index; by the shorter of a degree
    // of latitude and of longitude), then the exact distance on the sphere.
    const NEARBY: &str =
        "SELECT 1, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint($5, $6), 4326)::geography),
             id, case_no, false
         FROM cases
         WHERE kind = $3 AND class = $4 AND state NOT IN ('closed', 'rejected', 'void')
           AND reported_at >= $7
           AND ST_DWithin(geom, ST_SetSRID(ST_MakePoint($5, $6), 4326), $9)
           AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint($5, $6), 4326)::geography, $8)";
    let query = if radius_m > 0.0 {
        sql!(
            "SELECT * FROM ({EARLIER} UNION ALL ({NEARBY} ORDER BY 2, 3 LIMIT 5)) found ORDER BY 1, 2, 3"
        )
    } else {
        sql!("{EARLIER}")
    };
    let degrees = radius_m / (111_320.0 * intake.lat.to_radians().cos()).clamp(1_000.0, 110_000.0);
    let mut query = sqlx::query_as::<_, (i32, f64, i64, String, bool)>(query)
        .bind(user.id)
        .bind(&intake.client_key);
    if radius_m > 0.0 {
        query = query
            .bind(intake.kind.as_str())
            .bind(&intake.class)
            .bind(intake.lon)
            .bind(intake.lat)
            .bind(now - chrono::Duration::hours(DUPLICATE_WINDOW_HOURS))
            .bind(radius_m)
            .bind(degrees);
    }
    let mut earlier = None;
    let mut nearby = vec![];
    for (rank, _, id, case_no, duplicate) in query.fetch_all(conn).await? {
        match (rank, duplicate) {
            (0, true) => earlier = Some(Intaken::Attached { case_no }),
            (0, false) => {
                earlier = Some(Intaken::Created {
                    case_no,
                    possible_duplicates: vec![],
                })
            }
            _ => nearby.push((id, case_no)),
        }
    }
    Ok((earlier, nearby))
}

/// Writes a new case, numbered from the day's sequence, with its first
/// report, its filing stage (when the stage has a time limit) and the event
/// that opens its trail, in one statement; returns the case's id and number.
#[allow(clippy::too_many_arguments)]
async fn insert_case(
    conn: &mut PgConnection,
    (ymd, sequence): (&str, &str),
    user: &User,
    actor: &Actor,
    intake: &Intake,
    filing: Option<(TimeLimit, Due)>,
    now: DateTime<Utc>,
) -> Result<(i64, String), sqlx::Error> {
    sqlx::query_as(
        "WITH c AS (
             INSERT INTO cases (case_no, state, kind, class, urgent, channel, description, address, geom,
                 grid, community, street, district, component, department, reported_by, reported_at, updated_at,
                 due_at, warn_at, light, cell)
             SELECT $1 || '-' || CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END,
                 'reported', $2, $3, $4, $5, $6, $7, ST_SetSRID(ST_MakePoint($8, $9), 4326),
                 $10, $11, $12, $13, $14, $15, $16, $17, $17, $18, $19, case_light($18, $19, $17), $20
             FROM (SELECT nextval($29::regclass) AS n) number
             RETURNING id, case_no
         ), r AS (
             INSERT INTO reports (case_id, reported_by, client_key, channel, description, photos, geom,
                 reported_at, duplicate, callback_phone)
             SELECT id, $16, $21, $5, $6, $22, ST_SetSRID(ST_MakePoint($8, $9), 4326), $17, false, $23 FROM c
             RETURNING id
         ), s AS (
             INSERT INTO case_stages (case_id, stage, amount, unit, started_at, due_at, warn_at)
             SELECT id, 'filing', $24, $25, $17, $18, $19 FROM c WHERE $24 IS NOT NULL
         ), e AS (
             INSERT INTO case_events (case_id, at, actor_id, actor_name, role, action, from_state, to_state,
                 note, photos, data)
             SELECT c.id, $17, $26, $27, $28, 'report', NULL, 'reported', $6, $22,
                 jsonb_build_object('report', r.id, 'channel', $5::text)
             FROM c, r
         )
         SELECT id, case_no FROM c",
    )
    .bind(ymd)
    .bind(intake.kind.as_str())
    .bind(&intake.class)
    .bind(intake.urgent)
    .bind(intake.channel)
    .bind(&intake.description)
    .bind(&intake.address)
    .bind(intake.lon)
    .bind(intake.lat)
    .bind(&intake.grid)
    .bind(&intake.community)
    .bind(&intake.street)
    .bind(&intake.district)
    .bind(&intake.component)
    .bind(&intake.department)
    .bind(user.id)
    .bind(now)
    .bind(filing.map(|(_, due)| due.at))
    .bind(filing.map(|(_, due)| due.warn_at))
    .bind(cell_of(intake.lon, intake.lat))
    .bind(&intake.client_key)
    .bind(&intake.photos)
    .bind(&intake.callback_phone)
    .bind(filing.map(|(limit, _)| limit.amount() as i32))
    .bind(filing.map(|(limit, _)| limit.unit()))
    .bind(actor.id)
    .bind(&actor.name)
    .bind(actor.role)
    .bind(sequence)
    .fetch_one(conn)
    .await
}

async fn insert_report(
    conn: &mut PgConnection,
    case_id: i64,
    user: &User,
    intake: &Intake,
    now: DateTime<Utc>,
    duplicate: bool,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO reports (case_id, reported_by, client_key, channel, description, photos, geom, reported_at, duplicate, callback_phone)
         VALUES ($1, $2, $3, $4, $5, $6, ST_SetSRID(ST_MakePoint($7, $8), 4326), $9, $10, $11) RETURNING id",
    )
    .bind(case_id)
    .bind(user.id)
    .bind(&intake.client_key)
    .bind(intake.channel)
    .bind(&intake.description)
    .bind(&intake.photos)
    .bind(intake.lon)
    .bind(intake.lat)
    .bind(now)
    .bind(duplicate)
    .bind(&intake.callback_phone)
    .fetch_one(conn)
    .await
}

// ---------------------------------------------------------------- actions

#[derive(Debug, Clone)]
pub struct ActionInput {
    pub action: Action,
    pub expected_version: Option<i32>,
    pub department: Option<String>,
    pub note: String,
    pub photos: Vec<String>,
    /// `handle`: the place before the work (`photos` then shows it after).
    pub before_photos: Vec<String>,
    pub hours: Option<i64>,
    /// `merge`: the case this one is a duplicate of.
    pub into: Option<String>,
}

impl ActionInput {
    pub fn new(action: Action, note: &str) -> Self {
        Self {
            action,
            expected_version: None,
            department: None,
            note: note.into(),
            photos: vec![],
            before_photos: vec![],
            hours: None,
            into: None,
        }
    }
}

/// Longest extension one request may ask for: a month of working hours.
pub const MAX_EXTENSION_HOURS: i64 = 31 * 8;

/// Takes `input.action` on case `case_no` as `user`: role and department
/// checked, the row locked, the version compared, the transition applied and
/// the event appended in one transaction.
pub async fn act(
    pool: &PgPool,
    user: &User,
    case_no: &str,
    input: &ActionInput,
    cfg: &CaseConfig,
    now: DateTime<Utc>,
) -> Result<CaseRecord, CaseError> {
    if !input.action.allowed_for(user.role) {
        return Err(CaseError::Forbidden(format!(
            "a {} may not {}",
            role_name(user.role),
            input.action.as_str()
        )));
    }
    let mut tx = pool.begin().await?;
    let case = fetch_case(&mut tx, case_no, true)
        .await?
        .ok_or(CaseError::NotFound)?;
    if user.role == Role::Department && case.department != user.department {
        return Err(CaseError::Forbidden(
            "this case is not your department's".into(),
        ));
    }
    match input.expected_version {
        None => {
            return Err(invalid(
                "expected_version_required",
                "send expected_version: the case version you acted on",
            ));
        }
        Some(v) if v != case.version => {
            return Err(CaseError::VersionConflict {
                current: case.version,
            });
        }
        Some(_) => {}
    }
    if !input.before_photos.is_empty() && input.action != Action::Handle {
        return Err(invalid(
            "invalid_photos",
            "before_photos go with handle only: the place before the work",
        ));
    }
    check_photos(
        &mut tx,
        user,
        &[&input.before_photos[..], &input.photos[..]].concat(),
    )
    .await?;
    apply(&mut tx, &case, &Actor::user(user), input, cfg, now).await?;
    let updated = fetch_case_by_id(&mut tx, case.id).await?;
    tx.commit().await?;
    Ok(updated)
}

fn valid_hours(hours: Option<i64>) -> Result<i64, CaseError> {
    match hours {
        Some(h) if (1..=MAX_EXTENSION_HOURS).contains(&h) => Ok(h),
        _ => Err(invalid(
            "invalid_hours",
            format!(
                "hours must be a whole number of working hours from 1 to {MAX_EXTENSION_HOURS}"
            ),
        )),
    }
}

/// Applies one action to a locked case.
async fn apply(
    conn: &mut PgConnection,
    case: &CaseRecord,
    actor: &Actor,
    input: &ActionInput,
    cfg: &CaseConfig,
    now: DateTime<Utc>,
) -> Result<CaseState, CaseError> {
    let state = case.state();
    let facts = CaseFacts {
        suspended_from: case.suspended_from.as_deref().and_then(CaseState::parse),
        verified: case.verified,
    };
    let next = next_state(state, facts, input.action)?;
    let action = input.action;
    if matches!(
        action,
        Action::Reject | Action::Return | Action::VerifyFail | Action::Void | Action::Suspend
    ) && input.note.trim().is_empty()
    {
        return Err(invalid(
            "note_required",
            format!("{} needs a reason in note", action.as_str()),
        ));
    }
    if input.note.chars().count() > 4000 {
        return Err(invalid(
            "note_too_long",
            "note is limited to 4,000 characters",
        ));
    }

    let mut department = case.department.clone();
    let mut suspended_from = case.suspended_from.clone();
    let mut suspended_at = case.suspended_at;
    let mut verified = case.verified;
    let mut rework_count = case.rework_count;
    let mut extension = case.extension_requested_hours;
    let mut duplicate_of = case.duplicate_of;
    let mut data = json!({});
    let mut merged_into: Option<CaseRecord> = None;
    let cal = &cfg.calendar;
    let zone = cal.zone();

    match action {
        Action::File => {
            finish_stage(conn, case.id, Stage::Filing, now).await?;
            start_stage(conn, case, Stage::Dispatch, cfg, now).await?;
        }
        Action::Reject => finish_stage(conn, case.id, Stage::Filing, now).await?,
        Action::Dispatch => {
            let to = input
                .department
                .clone()
                .or_else(|| case.department.clone())
                .ok_or_else(|| {
                    invalid(
                        "department_required",
                        "no routing rule names a department for this case: send department",
                    )
                })?;
            if !cfg.departments.contains_key(&to) {
                return Err(invalid(
                    "unknown_department",
                    format!("no department {to:?}"),
                ));
            }
            data = json!({"department": to});
            department = Some(to);
            extension = None;
            finish_stage(conn, case.id, Stage::Dispatch, now).await?;
            start_stage(conn, case, Stage::Handling, cfg, now).await?;
        }
        Action::Return => {
            // Back to the centre: the next dispatch names a department anew.
            data = json!({"department": case.department});
            department = None;
            extension = None;
            drop_stage(conn, case.id, Stage::Handling).await?;
            start_stage(conn, case, Stage::Dispatch, cfg, now).await?;
        }
        Action::RequestExtension => {
            let hours = valid_hours(input.hours)?;
            data = json!({"hours": hours});
            extension = Some(hours as i32);
        }
        Action::ApproveExtension => {
            let Some(requested) = case.extension_requested_hours else {
                return Err(CaseError::Conflict {
                    code: "no_extension_requested",
                    message: "the department has not asked for an extension".into(),
                });
            };
            let hours = valid_hours(input.hours.or(Some(requested.into())))?;
            move_open_stages(
                conn,
                case.id,
                Some(Stage::Handling),
                cfg,
                now,
                |limit, due| {
                    Ok(limit
                        .extend(cal, due.with_timezone(&zone), hours)?
                        .with_timezone(&Utc))
                },
            )
            .await?;
            data = json!({"hours": hours, "requested": requested});
            extension = None;
        }
        Action::Handle => {
            if !input.before_photos.is_empty() {
                data = json!({"before": input.before_photos});
            }
            verified = false;
            finish_stage(conn, case.id, Stage::Handling, now).await?;
            start_stage(conn, case, Stage::Verification, cfg, now).await?;
        }
        Action::VerifyPass => {
            verified = true;
            finish_stage(conn, case.id, Stage::Verification, now).await?;
        }
        Action::VerifyFail => {
            verified = false;
            rework_count += 1;
            data = json!({"rework": rework_count});
            finish_stage(conn, case.id, Stage::Verification, now).await?;
            start_stage(conn, case, Stage::Handling, cfg, now).await?;
        }
        Action::Close | Action::Void | Action::Urge => {}
        Action::Suspend => {
            suspended_from = Some(state.as_str().to_owned());
            suspended_at = Some(now);
        }
        Action::Resume => {
            let paused = case.suspended_at.unwrap_or(now);
            move_open_stages(conn, case.id, None, cfg, now, |limit, due| {
                Ok(limit
                    .resume_due(
                        cal,
                        due.with_timezone(&zone),
                        paused.with_timezone(&zone),
                        now.with_timezone(&zone),
                    )?
                    .with_timezone(&Utc))
            })
            .await?;
            data = json!({"suspended_at": paused});
            suspended_from = None;
            suspended_at = None;
        }
        Action::Merge => {
            let into = input.into.as_deref().ok_or_else(|| {
                invalid(
                    "into_required",
                    "merge needs into: the case number it duplicates",
                )
            })?;
            if into == case.case_no {
                return Err(invalid(
                    "invalid_merge",
                    "a case cannot be merged into itself",
                ));
            }
            let target = fetch_case(conn, into, true)
                .await?
                .ok_or_else(|| invalid("unknown_case", format!("no case {into}")))?;
            if target.state().is_terminal() {
                return Err(invalid(
                    "invalid_merge",
                    format!("case {into} is {}: merge into an open case", target.state),
                ));
            }
            duplicate_of = Some(target.id);
            data = json!({"into": into});
            merged_into = Some(target);
        }
    }

    sqlx::query(
        "UPDATE cases SET state = $2, department = $3, suspended_from = $4, suspended_at = $5,
             verified = $6, rework_count = $7, extension_requested_hours = $8, duplicate_of = $9,
             version = version + 1, updated_at = $10,
             -- the running deadline (migration 0020), from the stages as this
             -- action left them, and the light now (0021)
             (due_at, warn_at, light) = (
                 SELECT s.due_at, s.warn_at,
                        CASE WHEN $2 NOT IN ('closed', 'rejected', 'void')
                             THEN case_light(s.due_at, s.warn_at, $10) END
                 FROM (SELECT) one LEFT JOIN LATERAL (
                     SELECT s.due_at, s.warn_at FROM case_stages s
                     WHERE s.case_id = $1 AND s.done_at IS NULL
                       AND $2 NOT IN ('closed', 'rejected', 'void')
                     ORDER BY s.due_at LIMIT 1) s ON true)
         WHERE id = $1",
    )
    .bind(case.id)
    .bind(next.as_str())
    .bind(&department)
    .bind(&suspended_from)
    .bind(suspended_at)
    .bind(verified)
    .bind(rework_count)
    .bind(extension)
    .bind(duplicate_of)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    append_event(
        conn,
        case.id,
        now,
        actor,
        action.as_str(),
        Some(state),
        next,
        &input.note,
        &[&input.before_photos[..], &input.photos[..]].concat(),
        data,
    )
    .await?;
    if let Some(target) = merged_into {
        sqlx::query("UPDATE cases SET updated_at = $2 WHERE id = $1")
            .bind(target.id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        append_event(
            conn,
            target.id,
            now,
            actor,
            "merged_in",
            Some(target.state()),
            target.state(),
            &input.note,
            &[],
            json!({"case_no": case.case_no}),
        )
        .await?;
    }
    Ok(next)
}

// ---------------------------------------------------------------- overdue

/// Marks every stage that has run past its deadline since the last sweep,
/// appending an `overdue` event for each. Several servers may sweep at once:
/// the row update decides who marks it.
pub async fn sweep_overdue(pool: &PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Cases are locked before their stages, as actions do; a case being acted
    // on right now is skipped and caught by the next sweep.
    let marked: Vec<(i64, String, DateTime<Utc>, String)> = sqlx::query_as(
        "WITH due AS (
             SELECT c.id, c.state FROM cases c
             WHERE c.state IN ('reported', 'filed', 'dispatched', 'handled') AND c.due_at < $1
               AND EXISTS (SELECT 1 FROM case_stages s WHERE s.case_id = c.id
                           AND s.done_at IS NULL AND s.overdue_at IS NULL AND s.due_at < $1)
             FOR UPDATE OF c SKIP LOCKED
         )
         UPDATE case_stages s SET overdue_at = $1
         FROM due
         WHERE s.case_id = due.id AND s.done_at IS NULL AND s.overdue_at IS NULL AND s.due_at < $1
         RETURNING s.case_id, s.stage, s.due_at, due.state",
    )
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let system = Actor::system();
    for (case_id, stage, due_at, state) in &marked {
        let state = CaseState::parse(state).unwrap_or(CaseState::Reported);
        append_event(
            &mut tx,
            *case_id,
            now,
            &system,
            "overdue",
            Some(state),
            state,
            &format!("{stage} was due at {}", due_at.to_rfc3339()),
            &[],
            json!({"stage": stage, "due_at": due_at}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(marked.len())
}

/// Moves on the lights of open cases whose yellow or red time has come
/// since the last sweep (the map's sums below zoom 13 follow: migration
/// 0021), then settles those sums. Several servers may sweep at once: a case
/// being changed right now is skipped and caught by the next sweep.
pub async fn sweep_lights(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE cases c SET light = case_light(c.due_at, c.warn_at, $1)
         FROM (SELECT id FROM cases
               WHERE state IN ('reported', 'filed', 'dispatched', 'handled')
                 AND (light = 'green' AND warn_at <= $1 OR light IN ('green', 'yellow') AND due_at < $1)
               FOR UPDATE SKIP LOCKED) due
         WHERE c.id = due.id",
    )
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected();
    sqlx::query("SELECT case_squares_settle()")
        .execute(pool)
        .await?;
    Ok(moved)
}

/// The resolution of the H3 cell kept with each case (migration 0024): the
/// finest the hotspots show; coarser cells are its parents.
pub const CELL_RESOLUTION: h3o::Resolution = h3o::Resolution::Twelve;

/// The H3 cell of a point at CELL_RESOLUTION. None off the globe.
pub fn finest_cell(lon: f64, lat: f64) -> Option<h3o::CellIndex> {
    Some(h3o::LatLng::new(lat, lon).ok()?.to_cell(CELL_RESOLUTION))
}

/// The H3 cell of a point at CELL_RESOLUTION as kept: the index's 64 bits
/// (the highest is always 0).
pub fn cell_of(lon: f64, lat: f64) -> Option<i64> {
    i64::try_from(u64::from(finest_cell(lon, lat)?)).ok()
}

/// Gives up to `batch` cases without an H3 cell their own (the cases taken
/// before migration 0024), newest first; returns how many (0: every case has
/// its cell). Servers share the work: each takes rows no other holds.
pub async fn fill_cells(pool: &PgPool, batch: i64) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(i64, f64, f64)> = sqlx::query_as(
        "SELECT id, ST_X(geom), ST_Y(geom) FROM cases WHERE cell IS NULL
         ORDER BY reported_at DESC LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    let (ids, cells): (Vec<i64>, Vec<Option<i64>>) = rows
        .iter()
        .map(|&(id, lon, lat)| (id, cell_of(lon, lat)))
        .unzip();
    // A point off the globe (intake takes none) would stay without a cell.
    let filled = sqlx::query(
        "UPDATE cases c SET cell = v.cell FROM unnest($1::bigint[], $2::bigint[]) v (id, cell)
         WHERE c.id = v.id AND v.cell IS NOT NULL",
    )
    .bind(&ids)
    .bind(&cells)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(filled)
}

/// Folds the evaluation changes committed since the last time into the
/// daily sums (migration 0023). Several servers may settle at once: one does.
pub async fn settle_evaluation(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT evaluation_settle()")
        .execute(pool)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- queries

#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub states: Vec<CaseState>,
    pub department: Option<String>,
    pub grid: Option<String>,
    pub district: Option<String>,
    pub street: Option<String>,
    pub kind: Option<ClassKind>,
    pub class: Option<String>,
    pub overdue: Option<bool>,
    pub urgent: Option<bool>,
    /// Handled cases whose verification passed (`true`) or is still to come.
    pub verified: Option<bool>,
    /// min lon, min lat, max lon, max lat
    pub bbox: Option<[f64; 4]>,
    /// Changed at or after.
    pub since: Option<DateTime<Utc>>,
    /// Reported in [from, to].
    pub reported_between: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub page: i64,
    pub page_size: i64,
}

fn push_filters(qb: &mut QueryBuilder<Postgres>, f: &CaseFilter, now: DateTime<Utc>) {
    qb.push(" WHERE true");
    if !f.states.is_empty() {
        // Written out, not bound: the planner then sees that a list of open
        // states may walk the open cases' partial indexes (0017).
        // In one order, once each: one statement text per set of states.
        let states: Vec<String> = CaseState::ALL
            .into_iter()
            .filter(|s| f.states.contains(s))
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        qb.push(" AND c.state IN (")
            .push(states.join(", "))
            .push(")");
    }
    if let Some(d) = &f.department {
        qb.push(" AND c.department = ").push_bind(d);
    }
    if let Some(g) = &f.grid {
        qb.push(" AND c.grid = ").push_bind(g);
    }
    if let Some(d) = &f.district {
        qb.push(" AND c.district = ").push_bind(d);
    }
    if let Some(s) = &f.street {
        qb.push(" AND c.street = ").push_bind(s);
    }
    if let Some(k) = f.kind {
        qb.push(" AND c.kind = ").push_bind(k.as_str());
    }
    if let Some(c) = &f.class {
        qb.push(" AND c.class = ").push_bind(c);
    }
    if let Some(overdue) = f.overdue {
        // Open and not suspended, a deadline passed: a case has a deadline
        // only while open (migration 0022).
        qb.push(if overdue {
            " AND (c.state <> 'suspended' AND c.due_at < "
        } else {
            " AND NOT coalesce(c.state <> 'suspended' AND c.due_at < "
        })
        .push_bind(now)
        .push(if overdue { ")" } else { ", false)" });
    }
    if let Some(urgent) = f.urgent {
        qb.push(" AND c.urgent = ").push_bind(urgent);
    }
    if let Some(verified) = f.verified {
        qb.push(" AND c.verified = ").push_bind(verified);
    }
    if let Some([x0, y0, x1, y1]) = f.bbox {
        qb.push(" AND c.geom && ST_MakeEnvelope(")
            .push_bind(x0)
            .push(", ")
            .push_bind(y0)
            .push(", ")
            .push_bind(x1)
            .push(", ")
            .push_bind(y1)
            .push(", 4326)");
    }
    if let Some(since) = f.since {
        qb.push(" AND c.updated_at >= ").push_bind(since);
    }
    if let Some((from, to)) = f.reported_between {
        qb.push(" AND c.reported_at BETWEEN ")
            .push_bind(from)
            .push(" AND ")
            .push_bind(to);
    }
}

/// Every case matching `f` (paging ignored), oldest first, as a stream fed by
/// a task through a small channel: constant memory however many there are.
pub fn export_cases(
    pool: PgPool,
    f: CaseFilter,
    now: DateTime<Utc>,
) -> tokio::sync::mpsc::Receiver<Result<CaseRecord, sqlx::Error>> {
    let (out, rx) = tokio::sync::mpsc::channel(256);
    tokio::spawn(async move {
        use futures_util::TryStreamExt;
        let mut select = QueryBuilder::new(SELECT_CASE);
        push_filters(&mut select, &f, now);
        select.push(" ORDER BY c.reported_at, c.id");
        // A million cases take a while to stream: a longer statement limit,
        // for this read only.
        let mut tx = match pool.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                let _ = out.send(Err(e)).await;
                return;
            }
        };
        if let Err(e) = sqlx::query("SET LOCAL statement_timeout = '10min'")
            .execute(&mut *tx)
            .await
        {
            let _ = out.send(Err(e)).await;
            return;
        }
        let mut rows = select.build_query_as::<CaseRecord>().fetch(&mut *tx);
        loop {
            let next = rows.try_next().await;
            let stop = !matches!(next, Ok(Some(_)));
            let item = match next {
                Ok(Some(c)) => Ok(c),
                Ok(None) => break,
                Err(e) => Err(e),
            };
            // The client went away: stop reading.
            if out.send(item).await.is_err() || stop {
                break;
            }
        }
    });
    rx
}

/// Matching cases are counted exactly up to this many; beyond it the
/// planner's estimate stands in (counting ten million rows to print "about
/// ten million" under a list would take seconds).
pub const EXACT_COUNT_UP_TO: i64 = 10_000;

/// How many cases match a filter over all pages.
#[derive(Debug, Clone, Copy)]
pub struct CaseCount {
    pub total: i64,
    /// `total` is the planner's estimate: more than [`EXACT_COUNT_UP_TO`] match.
    pub estimated: bool,
}

/// How many cases match `f`: exactly up to [`EXACT_COUNT_UP_TO`], beyond it
/// the planner's estimate.
pub async fn count_cases(
    pool: &PgPool,
    f: &CaseFilter,
    now: DateTime<Utc>,
) -> Result<CaseCount, sqlx::Error> {
    let mut count = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM cases c");
    push_filters(&mut count, f, now);
    count
        .push(" LIMIT ")
        .push_bind(EXACT_COUNT_UP_TO + 1)
        .push(") upto");
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
    if total <= EXACT_COUNT_UP_TO {
        return Ok(CaseCount {
            total,
            estimated: false,
        });
    }
    let mut plan = QueryBuilder::new("EXPLAIN (FORMAT JSON) SELECT 1 FROM cases c");
    push_filters(&mut plan, f, now);
    let plan: sqlx::types::Json<Value> = plan.build_query_scalar().fetch_one(pool).await?;
    let rows = plan.0[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0);
    Ok(CaseCount {
        total: (rows.round() as i64).max(EXACT_COUNT_UP_TO + 1),
        estimated: true,
    })
}

/// One page of the cases matching `f`, newest first.
pub async fn list_cases(
    pool: &PgPool,
    f: &CaseFilter,
    now: DateTime<Utc>,
) -> Result<Vec<CaseRecord>, sqlx::Error> {
    // The page's ids first, from the indexes alone where they cover the
    // filter (a hundredth page steps over 9,900 index entries, not over
    // 9,900 cases read and joined); then those cases.
    let mut page = QueryBuilder::new("SELECT c.id FROM cases c");
    push_filters(&mut page, f, now);
    page.push(" ORDER BY c.reported_at DESC, c.id DESC LIMIT ")
        .push_bind(f.page_size)
        .push(" OFFSET ")
        .push_bind((f.page - 1) * f.page_size);
    let ids: Vec<i64> = page.build_query_scalar().fetch_all(pool).await?;
    let mut cases: Vec<CaseRecord> = sqlx::query_as(sql!("{SELECT_CASE} WHERE c.id = ANY($1)"))
        .bind(&ids)
        .fetch_all(pool)
        .await?;
    cases.sort_by_key(|c| ids.iter().position(|id| *id == c.id));
    Ok(cases)
}

/// Cases are drawn one by one from this tile zoom; below it, as clusters.
pub const CASE_CLUSTER_BELOW_ZOOM: i32 = 15;
/// Up to this tile zoom, clusters of open cases are added up from the map
/// squares (zoom-15 tiles: migration 0021) when the filter asks only for
/// states, a department or urgency.
pub const CASE_SQUARES_UP_TO_ZOOM: i32 = 12;

/// The `cases` vector tile: the cases matching `f` (the open ones when it
/// names no state) in tile (z, x, y). Each case has its light — red overdue,
/// yellow past 80 % of its stage's time (a suspended case's light stands),
/// grey when finished — from the running deadline kept on the case
/// (migration 0020). Below [`CASE_CLUSTER_BELOW_ZOOM`] the cases of each
/// eighth of the tile are one feature at their mean position, with
/// `point_count`, its `red` and `yellow` counts and the worst light inside
/// (a lone case keeps its `case_no` and `state`), so a tile stays small
/// however many cases the city has. Up to [`CASE_SQUARES_UP_TO_ZOOM`] the
/// clusters of open cases come from the map squares' sums, with the lights
/// as of the last sweep and without case numbers.
pub async fn case_tile(
    pool: &PgPool,
    f: &CaseFilter,
    (z, x, y): (i32, i32, i32),
    now: DateTime<Utc>,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let only_open_by_department = f.states.iter().all(|s| s.is_open())
        && f.grid.is_none()
        && f.district.is_none()
        && f.street.is_none()
        && f.kind.is_none()
        && f.class.is_none()
        && f.overdue.is_none()
        && f.verified.is_none()
        && f.bbox.is_none()
        && f.since.is_none()
        && f.reported_between.is_none();
    if z <= CASE_SQUARES_UP_TO_ZOOM && only_open_by_department {
        return square_tile(pool, f, (z, x, y)).await;
    }
    let [lon0, lat0, lon1, lat1] = tile_bounds(z, x, y);
    let mut qb = QueryBuilder::new("WITH c AS (SELECT c.case_no, c.state, c.urgent, c.geom, ");
    if z >= CASE_CLUSTER_BELOW_ZOOM {
        qb.push("c.kind, c.class, c.department, ");
    }
    qb.push("CASE WHEN c.state IN ('closed', 'rejected', 'void') THEN 'grey' ELSE case_light(c.due_at, c.warn_at, coalesce(c.suspended_at, ")
        .push_bind(now)
        .push(")) END AS light FROM cases c");
    push_filters(&mut qb, f, now);
    if f.states.is_empty() {
        qb.push(" AND c.state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended')");
    }
    // The tile's bounds in degrees as numbers, so that the planner can tell
    // how many cases it holds.
    qb.push(" AND c.geom && ST_MakeEnvelope(")
        .push_bind(lon0)
        .push(", ")
        .push_bind(lat0)
        .push(", ")
        .push_bind(lon1)
        .push(", ")
        .push_bind(lat1)
        .push(", 4326))");
    let envelope = format!("ST_TileEnvelope({z}, {x}, {y})");
    if z >= CASE_CLUSTER_BELOW_ZOOM {
        qb.push(format!(
            " SELECT ST_AsMVT(t, 'cases', 4096, 'geom') FROM (
                  SELECT c.case_no, c.state, c.kind, c.class, c.urgent, c.department, c.light,
                         1 AS point_count,
                         ST_AsMVTGeom(ST_Transform(c.geom, 3857), {envelope}, 4096, 64, true) AS geom
                  FROM c
              ) t WHERE geom IS NOT NULL"
        ));
    } else {
        // Eighths of the tile in degrees (a tile is a rectangle in both
        // projections); one point per cluster is projected, not every case.
        qb.push(format!(
            " SELECT ST_AsMVT(t, 'cases', 4096, 'geom') FROM (
                  SELECT count(*)::int AS point_count,
                         (count(*) FILTER (WHERE c.light = 'red'))::int AS red,
                         (count(*) FILTER (WHERE c.light = 'yellow'))::int AS yellow,
                         bool_or(c.urgent) AS urgent,
                         {WORST_LIGHT} AS light,
                         CASE WHEN count(*) = 1 THEN min(c.case_no) END AS case_no,
                         CASE WHEN count(*) = 1 THEN min(c.state) END AS state,
                         ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_MakePoint(avg(c.lon), avg(c.lat)), 4326), 3857),
                                      {envelope}, 4096, 64, true) AS geom
                  FROM (SELECT c.*, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat FROM c) c
                  GROUP BY floor((c.lon - {lon0}) * 8 / {w}), floor((c.lat - {lat0}) * 8 / {h})
              ) t WHERE geom IS NOT NULL",
            w = lon1 - lon0,
            h = lat1 - lat0,
        ));
    }
    // Each tile is its own statement text: not kept prepared, so that the
    // connection's cache of statements keeps the ones asked again.
    qb.build_query_scalar()
        .persistent(false)
        .fetch_one(pool)
        .await
}

/// A cluster's light: the worst of its cases' (`count` of each light).
const WORST_LIGHT: &str = "CASE WHEN count(*) FILTER (WHERE c.light = 'red') > 0 THEN 'red'
                              WHEN count(*) FILTER (WHERE c.light = 'yellow') > 0 THEN 'yellow'
                              WHEN count(*) FILTER (WHERE c.light = 'green') > 0 THEN 'green'
                              ELSE 'grey' END";

/// Tile (z, x, y) in degrees: west, south, east, north.
fn tile_bounds(z: i32, x: i32, y: i32) -> [f64; 4] {
    let n = f64::from(1u32 << z);
    let lon = |x: i32| f64::from(x) / n * 360.0 - 180.0;
    let lat = |y: i32| {
        (std::f64::consts::PI * (1.0 - 2.0 * f64::from(y) / n))
            .sinh()
            .atan()
            .to_degrees()
    };
    [lon(x), lat(y + 1), lon(x + 1), lat(y)]
}

/// The `cases` tile up to [`CASE_SQUARES_UP_TO_ZOOM`] from the map squares
/// (migration 0021): the squares of each eighth of the tile (zoom-15 tiles
/// nest in the eighths of lower zooms' tiles) added up.
async fn square_tile(
    pool: &PgPool,
    f: &CaseFilter,
    (z, x, y): (i32, i32, i32),
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let span = 1i32 << (15 - z);
    let to_eighth = 12 - z;
    let states: Vec<&str> = if f.states.is_empty() {
        CaseState::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .map(|s| s.as_str())
            .collect()
    } else {
        f.states.iter().map(|s| s.as_str()).collect()
    };
    let mut qb = QueryBuilder::new(
        "WITH c AS (
             SELECT x, y, light, urgent, sum(cases) AS cases, sum(lon_sum) AS lon_sum, sum(lat_sum) AS lat_sum
             FROM case_squares WHERE x BETWEEN ",
    );
    qb.push_bind(x * span)
        .push(" AND ")
        .push_bind((x + 1) * span - 1)
        .push(" AND y BETWEEN ")
        .push_bind(y * span)
        .push(" AND ")
        .push_bind((y + 1) * span - 1)
        .push(" AND state = ANY(")
        .push_bind(states)
        .push(")");
    if let Some(d) = &f.department {
        qb.push(" AND department = ").push_bind(d);
    }
    if let Some(u) = f.urgent {
        qb.push(" AND urgent = ").push_bind(u);
    }
    qb.push(format!(
        " GROUP BY x, y, light, urgent HAVING sum(cases) > 0)
          SELECT ST_AsMVT(t, 'cases', 4096, 'geom') FROM (
              SELECT sum(c.cases)::int AS point_count,
                     coalesce(sum(c.cases) FILTER (WHERE c.light = 'red'), 0)::int AS red,
                     coalesce(sum(c.cases) FILTER (WHERE c.light = 'yellow'), 0)::int AS yellow,
                     bool_or(c.urgent) AS urgent,
                     {WORST_LIGHT} AS light,
                     ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_MakePoint(sum(c.lon_sum) / sum(c.cases),
                                                                       sum(c.lat_sum) / sum(c.cases)), 4326), 3857),
                                  ST_TileEnvelope({z}, {x}, {y}), 4096, 64, true) AS geom
              FROM c GROUP BY c.x >> {to_eighth}, c.y >> {to_eighth}
          ) t WHERE geom IS NOT NULL"
    ));
    // Each tile is its own statement text: not kept prepared, so that the
    // connection's cache of statements keeps the ones asked again.
    qb.build_query_scalar()
        .persistent(false)
        .fetch_one(pool)
        .await
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    #[serde(rename = "actor")]
    pub actor_name: String,
    pub role: String,
    pub action: String,
    #[serde(rename = "from")]
    pub from_state: Option<String>,
    #[serde(rename = "to")]
    pub to_state: String,
    pub note: String,
    pub photos: Vec<String>,
    /// What the action carried (department, hours, …).
    #[schema(value_type = Object)]
    pub data: sqlx::types::Json<Value>,
}

/// A report attached to a case as a duplicate, or a case merged into it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DuplicateRef {
    Report {
        report: i64,
        channel: String,
        reported_at: DateTime<Utc>,
        description: String,
        photos: Vec<String>,
    },
    Case {
        case_no: String,
    },
}

/// What a case's full view adds to its row: its stages, the photos of its
/// first report, its reporters' callback numbers (those of cases merged into
/// it too), first first, its duplicates (attached reports, then merged
/// cases) and its timeline.
#[derive(Debug, Clone)]
pub struct CaseDetails {
    pub stages: Vec<StageRecord>,
    pub photos: Vec<String>,
    pub callback_phones: Vec<String>,
    pub duplicates: Vec<DuplicateRef>,
    pub timeline: Vec<EventRecord>,
}

#[derive(FromRow)]
struct CaseInFull {
    #[sqlx(flatten)]
    case: CaseRecord,
    stages: sqlx::types::Json<Vec<StageRecord>>,
    photos: Option<Vec<String>>,
    callback_phones: Vec<String>,
    duplicates: sqlx::types::Json<Vec<DuplicateRef>>,
    timeline: sqlx::types::Json<Vec<EventRecord>>,
}

/// The case with this number and its details, in one statement (issue 12: a
/// case shown in full took seven round trips, a report's answer among them).
pub async fn case_in_full(
    pool: &PgPool,
    case_no: &str,
) -> Result<Option<(CaseRecord, CaseDetails)>, sqlx::Error> {
    let row: Option<CaseInFull> = sqlx::query_as(sql!(
        "SELECT f.*,
             (SELECT coalesce(json_agg(s ORDER BY s.started_at), '[]') FROM (
                 SELECT case_id, stage, amount, unit, started_at, due_at, done_at, overdue_at
                 FROM case_stages WHERE case_id = f.id) s) AS stages,
             (SELECT photos FROM reports WHERE case_id = f.id AND NOT duplicate ORDER BY id LIMIT 1)
                 AS photos,
             ARRAY(SELECT callback_phone FROM (
                 SELECT id, callback_phone FROM reports WHERE case_id = f.id
                 UNION ALL
                 SELECT r.id, r.callback_phone FROM cases m JOIN reports r ON r.case_id = m.id
                 WHERE m.duplicate_of = f.id
             ) r WHERE callback_phone IS NOT NULL ORDER BY id) AS callback_phones,
             (SELECT coalesce(json_agg(x.duplicate ORDER BY x.merged, x.id), '[]') FROM (
                 SELECT false AS merged, id, json_build_object('type', 'report', 'report', id,
                     'channel', channel, 'reported_at', reported_at, 'description', description,
                     'photos', photos) AS duplicate
                 FROM reports WHERE case_id = f.id AND duplicate
                 UNION ALL
                 SELECT true, id, json_build_object('type', 'case', 'case_no', case_no)
                 FROM cases WHERE duplicate_of = f.id) x) AS duplicates,
             (SELECT coalesce(json_agg(json_build_object('id', id, 'at', at, 'actor', actor_name,
                     'role', role, 'action', action, 'from', from_state, 'to', to_state, 'note', note,
                     'photos', photos, 'data', data) ORDER BY id), '[]')
              FROM case_events WHERE case_id = f.id) AS timeline
         FROM ({SELECT_CASE} WHERE c.case_no = $1) f"
    ))
    .bind(case_no)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| {
        (
            r.case,
            CaseDetails {
                stages: r.stages.0,
                photos: r.photos.unwrap_or_default(),
                callback_phones: r.callback_phones,
                duplicates: r.duplicates.0,
                timeline: r.timeline.0,
            },
        )
    }))
}

/// How much open work waits at each desk: the console's tabs.
#[derive(Debug, Clone, Default, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Queues {
    /// Reported, to be filed or rejected.
    pub to_file: i64,
    /// Filed, to be dispatched.
    pub to_dispatch: i64,
    /// Dispatched, with a department.
    pub in_handling: i64,
    /// Handled, waiting for an inspector's verification.
    pub to_verify: i64,
    /// Handled and verified, to be closed.
    pub to_close: i64,
    pub suspended: i64,
    /// Open cases with a stage past its deadline.
    pub overdue: i64,
    /// Open urgent cases.
    pub urgent: i64,
}

/// The open cases by queue, of one department or all.
pub async fn queues(
    pool: &PgPool,
    department: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Queues, sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE c.state = 'reported') AS to_file,
                count(*) FILTER (WHERE c.state = 'filed') AS to_dispatch,
                count(*) FILTER (WHERE c.state = 'dispatched') AS in_handling,
                count(*) FILTER (WHERE c.state = 'handled' AND NOT c.verified) AS to_verify,
                count(*) FILTER (WHERE c.state = 'handled' AND c.verified) AS to_close,
                count(*) FILTER (WHERE c.state = 'suspended') AS suspended,
                count(*) FILTER (WHERE c.state <> 'suspended' AND c.due_at < $2) AS overdue,
                count(*) FILTER (WHERE c.urgent) AS urgent
         FROM cases c
         WHERE c.state NOT IN ('closed', 'rejected', 'void')
           AND ($1::text IS NULL OR c.department = $1)",
    )
    .bind(department)
    .bind(now)
    .fetch_one(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intake_at(lon: f64, lat: f64) -> Intake {
        Intake {
            client_key: String::new(),
            kind: ClassKind::Event,
            class: "0102".into(),
            urgent: false,
            channel: "inspector",
            lon,
            lat,
            address: String::new(),
            description: String::new(),
            photos: vec![],
            callback_phone: None,
            grid: String::new(),
            community: String::new(),
            street: String::new(),
            district: String::new(),
            component: None,
            department: None,
        }
    }

    #[test]
    fn reports_within_the_duplicate_radius_always_share_a_lock() {
        // Pairs of points just inside each radius, in every direction, all
        // over a few kilometres of the city: each pair shares a lock.
        let m_per_deg_lat = 110_574.0;
        for radius in [30.0, 50.0, 100.0, 200.0, 300.0, 800.0] {
            let mut apart = 0;
            for i in 0..400 {
                let lon = 107.13 + (i % 20) as f64 * 0.0031;
                let lat = 34.34 + (i / 20) as f64 * 0.0023;
                let a = duplicate_locks(&intake_at(lon, lat), radius);
                for k in 0..16 {
                    let angle = k as f64 * std::f64::consts::TAU / 16.0;
                    let d = radius * 0.99;
                    let dlat = d * angle.sin() / m_per_deg_lat;
                    let dlon = d * angle.cos() / (111_320.0 * lat.to_radians().cos());
                    let b = duplicate_locks(&intake_at(lon + dlon, lat + dlat), radius);
                    assert!(
                        a.iter().any(|x| b.contains(x)),
                        "{radius} m at {lon},{lat} angle {k}"
                    );
                    if a != b {
                        apart += 1;
                    }
                }
            }
            // Not one lock for all: points in other cells lock other keys.
            assert!(apart > 0, "{radius} m");
        }
        let far = duplicate_locks(&intake_at(107.13, 34.34), 50.0);
        let other = duplicate_locks(&intake_at(107.16, 34.36), 50.0);
        assert!(
            far.iter().all(|x| !other.contains(x)),
            "3 km apart: no lock shared"
        );
        assert_eq!(
            duplicate_locks(&intake_at(107.13, 34.34), 5_000.0),
            ["class/event/0102"]
        );
    }
}
