//! The city's case configuration edited online (the admin page): one data set
//! at a time — departments, routing rules, stage time limits, case rules, the
//! working calendar — validated by the import's own readers, written and
//! checked as an import of that one file would be, and audited, in one
//! transaction. Every server reads the configuration from the database for
//! each case, so a committed edit applies to the next report on all of them.
//!
//! A data set's version is the SHA-256 of its file as `citygrid export`
//! writes it: an edit made against an older version is refused rather than
//! overwriting a colleague's, and the exported file re-imports as unchanged.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::PgPool;

use super::records::{self, Dataset, Problem, Problems, Rows};
use super::{Parsed, run_checks, sha256, stored_catalogue, write_dataset};
use crate::domain::calendar::CalendarConfig;
use crate::export::{self, ExportError};
use crate::store::audit::{self, Actor};
use crate::store::case_config::{self, CaseConfig};

/// The data sets the admin page edits, by the stem of their file name.
pub const EDITABLE: [Dataset; 5] = [
    Dataset::Departments,
    Dataset::Routing,
    Dataset::Sla,
    Dataset::CaseRules,
    Dataset::Calendar,
];

/// At most this many rows in one edited table.
pub const MAX_ROWS: usize = 5_000;

/// `routing` for `routing.csv`.
pub fn slug(ds: Dataset) -> &'static str {
    ds.file().split('.').next().unwrap_or_default()
}

pub fn editable(name: &str) -> Option<Dataset> {
    EDITABLE.into_iter().find(|ds| slug(*ds) == name)
}

/// One row of a table: its columns by name, as the file's header names them.
pub type Row = Map<String, Value>;

/// A new content for one data set.
#[derive(Debug, Clone)]
pub enum Draft {
    Rows(Vec<Row>),
    Calendar(CalendarConfig),
}

/// A data set as stored, with its version.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Current {
    /// `departments`, `routing`, `sla`, `case_rules` or `calendar`.
    pub dataset: &'static str,
    /// The file of the import format it is written to.
    pub file: &'static str,
    /// SHA-256 of that file; send it back with an edit.
    pub version: String,
    /// The table's columns (empty for the calendar).
    pub columns: Vec<&'static str>,
    /// The rows, each cell as the file holds it (tables only).
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Row>,
    /// The working calendar (`calendar` only).
    #[schema(value_type = Option<Object>)]
    pub calendar: Option<CalendarConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{} problem(s) in the edited configuration", .problems.len())]
    Invalid { problems: Vec<Problem> },
    #[error(
        "{file} was changed by someone else since it was loaded (now version {current}); reload it and make the change again"
    )]
    Changed { file: &'static str, current: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Export(#[from] ExportError),
}

/// The data set as stored.
pub async fn current(conn: &mut sqlx::PgConnection, ds: Dataset) -> Result<Current, EditError> {
    let text = export::config_text(conn, ds).await?.unwrap_or_default();
    let mut current = Current {
        dataset: slug(ds),
        file: ds.file(),
        version: sha256(&text),
        columns: export::columns(ds).to_vec(),
        rows: Vec::new(),
        calendar: None,
    };
    if ds == Dataset::Calendar {
        current.calendar = Some(if text.is_empty() {
            CalendarConfig::default()
        } else {
            toml::from_str(&String::from_utf8_lossy(&text))
                .map_err(|e| ExportError::Data(e.to_string()))?
        });
    } else if !text.is_empty() {
        let mut reader = csv::Reader::from_reader(text.as_slice());
        let header = reader.headers().map_err(csv_error)?.clone();
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            current.rows.push(
                header
                    .iter()
                    .zip(record.iter())
                    .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
                    .collect(),
            );
        }
    }
    Ok(current)
}

fn csv_error(e: csv::Error) -> ExportError {
    ExportError::Data(e.to_string())
}

/// At most this many holidays and make-up days in a calendar.
const MAX_DATES: usize = 1_000;

/// Validates the drafts as the import validates their files (a departments
/// draft is the catalogue the others are checked against), writes them within
/// `conn`'s transaction and runs the import's database checks once. Problems
/// leave the transaction to be rolled back.
async fn apply(
    conn: &mut sqlx::PgConnection,
    mut drafts: Vec<(Dataset, Draft)>,
) -> Result<Result<(), Vec<Problem>>, sqlx::Error> {
    let mut problems = Problems::default();
    let mut parsed = Parsed::default();
    let mut cat = stored_catalogue(&mut *conn).await?;
    let mut changed = std::collections::HashSet::new();
    // Departments first: the other tables name them.
    drafts.sort_by_key(|(ds, _)| *ds != Dataset::Departments);
    for (ds, draft) in drafts {
        changed.insert(ds);
        match (ds, draft) {
            (Dataset::Calendar, Draft::Calendar(config)) => {
                if config.holidays.len() + config.workdays.len() > MAX_DATES {
                    problems.error(
                        ds,
                        "",
                        "too_many_rows",
                        format!("at most {MAX_DATES} holidays and make-up days"),
                    );
                    continue;
                }
                parsed.calendar = records::check_calendar(config, &mut problems);
            }
            (ds, Draft::Rows(rows)) if ds != Dataset::Calendar => {
                if rows.len() > MAX_ROWS {
                    problems.error(
                        ds,
                        "",
                        "too_many_rows",
                        format!("at most {MAX_ROWS} rows, not {}", rows.len()),
                    );
                    continue;
                }
                let rows = Rows::Edited(&rows);
                match ds {
                    Dataset::Departments => {
                        let d = records::read_departments(rows, &mut problems);
                        cat.departments = d.iter().map(|d| d.code.clone()).collect();
                        parsed.departments = Some(d);
                    }
                    Dataset::Routing => {
                        parsed.routing = Some(records::read_routing(rows, &cat, &mut problems))
                    }
                    Dataset::Sla => parsed.sla = Some(records::read_sla(rows, &cat, &mut problems)),
                    _ => {
                        parsed.case_rules =
                            Some(records::read_case_rules(rows, &cat, &mut problems))
                    }
                }
            }
            (ds, _) => problems.error(
                ds,
                "",
                "wrong_shape",
                if ds == Dataset::Calendar {
                    "the calendar is edited as a calendar, not as rows"
                } else {
                    "a table is edited as rows"
                },
            ),
        }
    }
    if !problems.errors.is_empty() {
        return Ok(Err(problems.errors));
    }
    for ds in &changed {
        // Deleted, not truncated: servers reading the configuration meanwhile
        // see the old rows until the commit instead of waiting for it.
        let table = ds.table();
        sqlx::query(sql!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await?;
        write_dataset(&mut *conn, *ds, &parsed).await?;
    }
    run_checks(&mut *conn, &changed, &parsed, &mut problems).await?;
    Ok(if problems.errors.is_empty() {
        Ok(())
    } else {
        Err(problems.errors)
    })
}

/// One change to the city data at a time, imports included.
async fn lock(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('citygrid_import'))")
        .execute(conn)
        .await?;
    Ok(())
}

/// What an edit did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Edited {
    /// False when the draft equals what was stored (nothing written or logged).
    pub changed: bool,
    #[serde(flatten)]
    pub current: Current,
}

/// Replaces data set `ds` with `draft`, if `base` is still its version;
/// audited as `config.<dataset>` with the rows before and after.
pub async fn replace(
    pool: &PgPool,
    actor: &Actor,
    ds: Dataset,
    draft: Draft,
    base: &str,
    now: DateTime<Utc>,
) -> Result<Edited, EditError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let before = current(&mut tx, ds).await?;
    if base != before.version {
        return Err(EditError::Changed {
            file: ds.file(),
            current: before.version,
        });
    }
    if let Err(problems) = apply(&mut tx, vec![(ds, draft)]).await? {
        return Err(EditError::Invalid { problems });
    }
    let after = current(&mut tx, ds).await?;
    if after.version == before.version {
        return Ok(Edited {
            changed: false,
            current: after,
        });
    }
    let rows = if ds == Dataset::Calendar {
        1
    } else {
        after.rows.len() as i64
    };
    sqlx::query(
        "INSERT INTO datasets (name, sha256, rows, imported_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, rows = excluded.rows, imported_at = excluded.imported_at",
    )
    .bind(ds.name())
    .bind(&after.version)
    .bind(rows)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let content = |c: &Current| match &c.calendar {
        Some(cal) => serde_json::to_value(cal).unwrap_or_default(),
        None => Value::Array(c.rows.iter().cloned().map(Value::Object).collect()),
    };
    audit::record(
        &mut tx,
        actor,
        now,
        &format!("config.{}", slug(ds)),
        ds.file(),
        Some(content(&before)),
        Some(content(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(Edited {
        changed: true,
        current: after,
    })
}

/// The configuration as it would be with `drafts` applied, for previews:
/// written and read back in a transaction that is then rolled back, so a
/// preview is computed by the same code as the real thing.
pub async fn with_drafts(
    pool: &PgPool,
    drafts: Vec<(Dataset, Draft)>,
) -> Result<(CaseConfig, sqlx::Transaction<'static, sqlx::Postgres>), EditError> {
    let mut tx = pool.begin().await?;
    if !drafts.is_empty() {
        lock(&mut tx).await?;
        if let Err(problems) = apply(&mut tx, drafts).await? {
            return Err(EditError::Invalid { problems });
        }
    }
    let cfg = case_config::read(&mut tx).await?;
    Ok((cfg, tx))
}
