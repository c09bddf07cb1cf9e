//! The imported configuration a case is handled by: classes, departments,
//! routing rules, stage time limits, case rules and the working calendar.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::PgPool;

use crate::domain::calendar::{CalendarConfig, TimeLimit, WorkCalendar};
use crate::domain::case_rules::{CaseRule, DuplicatePolicy, SlaRule, Stage};
use crate::domain::codes::ClassKind;
use crate::domain::routing::RoutingRule;

#[derive(Debug, Clone)]
pub struct ClassInfo {
    pub name: String,
    pub name_en: String,
}

#[derive(Debug, Clone)]
pub struct CaseConfig {
    pub classes: HashMap<(ClassKind, String), ClassInfo>,
    /// Department code → name.
    pub departments: HashMap<String, String>,
    pub routing: Vec<RoutingRule>,
    pub sla: Vec<SlaRule>,
    pub case_rules: Vec<CaseRule>,
    pub calendar: WorkCalendar,
}

impl CaseConfig {
    pub fn class(&self, kind: ClassKind, class: &str) -> Option<&ClassInfo> {
        self.classes.get(&(kind, class.to_owned()))
    }
}

fn kind_of(s: &str) -> Option<ClassKind> {
    ClassKind::parse(s)
}

/// The configuration each database's servers hold, with its version.
static CACHED: Mutex<Vec<(String, i64, Arc<CaseConfig>)>> = Mutex::new(Vec::new());

/// The configuration as stored: read again only when its version (moved on by
/// the database with every change, see `config_version`) is not the one held,
/// so a report costs one small query for it, and a change made anywhere
/// reaches the next report on every server.
pub async fn load(pool: &PgPool) -> Result<Arc<CaseConfig>, sqlx::Error> {
    let options = pool.connect_options();
    let database = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    );
    let mut conn = pool.acquire().await?;
    let version: i64 = sqlx::query_scalar("SELECT version FROM config_version")
        .fetch_one(&mut *conn)
        .await?;
    let held = |cache: &Vec<(String, i64, Arc<CaseConfig>)>| {
        cache
            .iter()
            .find(|(db, v, _)| *db == database && *v == version)
            .map(|(_, _, c)| c.clone())
    };
    if let Some(config) = held(&CACHED.lock().unwrap_or_else(|e| e.into_inner())) {
        return Ok(config);
    }
    // The tables are read one by one: a change committed meanwhile moves the
    // version, and they are read again.
    let mut version = version;
    loop {
        let config = Arc::new(read(&mut conn).await?);
        let after: i64 = sqlx::query_scalar("SELECT version FROM config_version")
            .fetch_one(&mut *conn)
            .await?;
        if after != version {
            version = after;
            continue;
        }
        let mut cache = CACHED.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(db, _, _)| *db != database);
        cache.push((database, version, config.clone()));
        return Ok(config);
    }
}

/// The configuration as `conn` sees it (in a transaction: with its changes).
pub async fn read(conn: &mut sqlx::PgConnection) -> Result<CaseConfig, sqlx::Error> {
    let mut classes = HashMap::new();
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT kind, code, name, name_en FROM classes")
            .fetch_all(&mut *conn)
            .await?;
    for (kind, code, name, name_en) in rows {
        if let Some(kind) = kind_of(&kind) {
            classes.insert((kind, code), ClassInfo { name, name_en });
        }
    }
    let departments: HashMap<String, String> = sqlx::query_as("SELECT code, name FROM departments")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    let routing = sqlx::query_as::<_, (String, String, String, String)>(
        "SELECT kind, class, area, department FROM routing_rules",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .filter_map(|(kind, class, area, department)| {
        Some(RoutingRule {
            kind: kind_of(&kind)?,
            class,
            area,
            department,
        })
    })
    .collect();
    let sla = sqlx::query_as::<_, (String, String, String, String, i32, String)>(
        "SELECT kind, class, urgent, stage, amount, unit FROM sla_rules",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .filter_map(|(kind, class, urgent, stage, amount, unit)| {
        Some(SlaRule {
            kind: kind_of(&kind),
            class,
            urgent: match urgent.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            stage: Stage::parse(&stage)?,
            limit: TimeLimit::parse(amount.into(), &unit)?,
        })
    })
    .collect();
    let case_rules = sqlx::query_as::<_, (String, String, f64, String, bool, bool)>(
        "SELECT kind, class, duplicate_radius_m, duplicates, auto_file, auto_dispatch FROM case_rules",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(
        |(kind, class, duplicate_radius_m, duplicates, auto_file, auto_dispatch)| CaseRule {
            kind: kind_of(&kind),
            class,
            duplicate_radius_m,
            duplicates: if duplicates == "suggest" {
                DuplicatePolicy::Suggest
            } else {
                DuplicatePolicy::Attach
            },
            auto_file,
            auto_dispatch,
        },
    )
    .collect();
    let stored: Option<sqlx::types::Json<CalendarConfig>> =
        sqlx::query_scalar("SELECT config FROM calendar LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let calendar = stored
        .and_then(|c| match c.0.build() {
            Ok(cal) => Some(cal),
            Err(e) => {
                tracing::error!(error = %e, "stored calendar is invalid; using the default");
                None
            }
        })
        .unwrap_or_else(|| {
            CalendarConfig::default()
                .build()
                .expect("the default calendar is valid")
        });
    Ok(CaseConfig {
        classes,
        departments,
        routing,
        sla,
        case_rules,
        calendar,
    })
}
