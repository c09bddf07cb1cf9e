//! The administrative audit log: every change to users, tokens and kiosks (and
//! the city's configuration) — who, when, what, before → after — written in
//! the same transaction as the change. The database refuses to update or
//! delete it (migration 0008).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

use super::users::User;

/// Who made a change.
#[derive(Debug, Clone)]
pub enum Actor {
    /// An administrator on the admin page or API.
    Admin(User),
    /// `citygrid` on the command line, run by this system user.
    CommandLine(String),
}

impl Actor {
    /// The command line, named by the system user running it.
    pub fn command_line() -> Self {
        Self::CommandLine(std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
    }

    fn id(&self) -> Option<i64> {
        match self {
            Self::Admin(u) => Some(u.id),
            Self::CommandLine(_) => None,
        }
    }

    fn name(&self) -> String {
        match self {
            Self::Admin(u) => u.login.clone(),
            Self::CommandLine(who) => format!("command line ({who})"),
        }
    }
}

/// Appends one change.
pub async fn record(
    conn: &mut sqlx::PgConnection,
    actor: &Actor,
    at: DateTime<Utc>,
    action: &str,
    target: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO admin_audit (at, actor_id, actor, action, target, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(at)
    .bind(actor.id())
    .bind(actor.name())
    .bind(action)
    .bind(target)
    .bind(before)
    .bind(after)
    .execute(conn)
    .await?;
    Ok(())
}

/// One change as the log shows it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The administrator's login, or `command line (USER)`.
    pub actor: String,
    /// `user.add`, `user.update`, `user.disable`, `token.add`, `kiosk.revoke`, …
    pub action: String,
    /// The login, token id or kiosk id changed.
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The latest changes first: at most `limit`, older than `before_id` if given.
pub async fn list(
    pool: &PgPool,
    limit: i64,
    before_id: Option<i64>,
) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor, action, target, before, after FROM admin_audit
         WHERE $2::bigint IS NULL OR id < $2 ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .bind(before_id)
    .fetch_all(pool)
    .await
}
