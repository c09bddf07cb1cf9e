//! Sign-in sessions: a secret in an HttpOnly cookie, stored as a SHA-256. A
//! session ends on sign-out, after its idle time, at its absolute lifetime,
//! or when its user is disabled — on every server at once, since each request
//! reads the store.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::users::{USER_COLUMNS, User, UserRow, new_secret, token_hash};

/// A session's last-seen time is written at most this often.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// How long a session lasts.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    /// Ends after this long without a request.
    pub idle: Duration,
    /// Ends this long after sign-in, however busy.
    pub absolute: Duration,
}

/// Starts a session for `user`; returns its secret (for the cookie).
pub async fn start(
    pool: &PgPool,
    user: i64,
    lifetime: Lifetime,
    now: DateTime<Utc>,
) -> Result<String, super::users::UserError> {
    let secret = new_secret("cgs_")?;
    let mut tx = pool.begin().await?;
    // Ordered with disabling (which locks the row too): a user disabled
    // while signing in gets no session.
    let enabled: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1 AND disabled_at IS NULL FOR SHARE")
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?;
    if enabled.is_none() {
        return Err(super::users::UserError::Disabled);
    }
    sqlx::query(
        "INSERT INTO sessions (user_id, secret_sha256, created_at, last_seen_at, idle_seconds, expires_at)
         VALUES ($1, $2, $3, $3, $4, $5)",
    )
    .bind(user)
    .bind(token_hash(&secret))
    .bind(now)
    .bind(lifetime.idle.num_seconds().clamp(1, i64::from(i32::MAX)) as i32)
    .bind(now + lifetime.absolute)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE users SET last_sign_in_at = $2 WHERE id = $1")
        .bind(user)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(secret)
}

#[derive(sqlx::FromRow)]
struct Live {
    session: i64,
    last_seen_at: DateTime<Utc>,
    #[sqlx(flatten)]
    user: UserRow,
}

/// The enabled user of a live session at `now`, which counts as activity.
pub async fn user(
    pool: &PgPool,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<User>, sqlx::Error> {
    let live: Option<Live> = sqlx::query_as(sql!(
        "SELECT s.id AS session, s.last_seen_at, {USER_COLUMNS}
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.secret_sha256 = $1 AND s.ended_at IS NULL AND u.disabled_at IS NULL
           AND s.expires_at > $2
           AND s.last_seen_at + make_interval(secs => s.idle_seconds) > $2"
    ))
    .bind(token_hash(secret))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    let Some(live) = live else { return Ok(None) };
    if now - live.last_seen_at >= TOUCH_EVERY {
        sqlx::query("UPDATE sessions SET last_seen_at = greatest(last_seen_at, $2) WHERE id = $1")
            .bind(live.session)
            .bind(now)
            .execute(pool)
            .await?;
    }
    Ok(live.user.user())
}

/// Ends the session with this secret (signing out); unknown secrets are fine.
pub async fn end(pool: &PgPool, secret: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET ended_at = $2 WHERE secret_sha256 = $1 AND ended_at IS NULL")
        .bind(token_hash(secret))
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}
