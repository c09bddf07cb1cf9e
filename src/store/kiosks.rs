//! Street kiosks as devices. An administrator adds a kiosk (a user of role
//! kiosk, login `kiosk-ID`) and gets a one-time enrolment code; the kiosk's
//! browser exchanges it for a long-lived device session. Revoking the kiosk
//! disables its user: the device session ends on every server, and the page
//! shows "out of service".

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::audit::{self, Actor};
use super::sessions::{self, Lifetime};
use super::users::{self, Kiosk, NewUser, USER_COLUMNS, User, UserError, UserRow, token_hash};
use crate::domain::workflow::Role;

/// How long an enrolment code may wait to be used.
pub const CODE_LIFETIME: Duration = Duration::hours(24);

/// A kiosk's device session: it checks in every minute, so the idle time
/// only ends a kiosk that was switched off for a month.
pub const DEVICE: Lifetime = Lifetime {
    idle: Duration::days(30),
    absolute: Duration::days(365),
};

/// The login of the kiosk with `id`.
pub fn login_of(id: &str) -> String {
    format!("kiosk-{id}")
}

/// A one-time code: 16 characters of a 31-letter alphabet without look-alikes
/// (about 79 bits), easy to read off a screen or to type.
fn new_code() -> Result<String, std::io::Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let secret = users::new_secret("")?;
    Ok(secret
        .as_bytes()
        .chunks(4)
        .take(16)
        .map(|hex| {
            let n = u16::from_str_radix(std::str::from_utf8(hex).unwrap_or("0"), 16).unwrap_or(0);
            ALPHABET[usize::from(n) % ALPHABET.len()] as char
        })
        .collect())
}

async fn issue_code(
    tx: &mut sqlx::PgConnection,
    user: i64,
    now: DateTime<Utc>,
) -> Result<String, UserError> {
    let code = new_code()?;
    sqlx::query(
        "INSERT INTO enrolments (code_sha256, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash(&code))
    .bind(user)
    .bind(now)
    .bind(now + CODE_LIFETIME)
    .execute(&mut *tx)
    .await?;
    Ok(code)
}

/// Adds a kiosk; its enrolment code.
pub async fn add(
    pool: &PgPool,
    actor: &Actor,
    id: &str,
    name: &str,
    lon: f64,
    lat: f64,
    now: DateTime<Utc>,
) -> Result<(User, String), UserError> {
    // The id becomes part of its login: the same characters, shorter.
    let valid_id = (1..=40).contains(&id.len()) && users::valid_login(id);
    if !valid_id {
        return Err(UserError::Kiosk);
    }
    if kiosk_user(pool, id).await.is_ok() {
        return Err(UserError::LoginTaken(login_of(id)));
    }
    let mut tx = pool.begin().await?;
    let user = users::insert_user(
        &mut tx,
        NewUser {
            login: Some(login_of(id)),
            name: name.to_owned(),
            role: Role::Kiosk,
            department: None,
            patrol: Vec::new(),
            kiosk: Some(Kiosk {
                id: id.to_owned(),
                lon,
                lat,
            }),
            password: None,
        },
    )
    .await?;
    let code = issue_code(&mut tx, user.id, now).await?;
    let after = users::snapshot(&mut tx, user.id).await?;
    audit::record(&mut tx, actor, now, "kiosk.add", id, None, after).await?;
    tx.commit().await?;
    Ok((user, code))
}

/// A new enrolment code for a kiosk (a replaced device, a lost code); codes
/// not yet used are withdrawn. Re-enables a revoked kiosk.
pub async fn new_enrolment(
    pool: &PgPool,
    actor: &Actor,
    id: &str,
    now: DateTime<Utc>,
) -> Result<String, UserError> {
    let user = kiosk_user(pool, id).await?;
    let mut tx = pool.begin().await?;
    let before = users::snapshot(&mut tx, user).await?;
    sqlx::query(
        "UPDATE enrolments SET expires_at = $2 WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(user)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE users SET disabled_at = NULL WHERE id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    // The device it replaces (lost, stolen) is out.
    users::end_sessions(&mut tx, user, now).await?;
    let code = issue_code(&mut tx, user, now).await?;
    let after = users::snapshot(&mut tx, user).await?;
    audit::record(&mut tx, actor, now, "kiosk.enrol", id, before, after).await?;
    tx.commit().await?;
    Ok(code)
}

/// The user id of the kiosk `id` (the newest, were an id given twice before
/// kiosks were added as kiosks).
pub async fn kiosk_user(pool: &PgPool, id: &str) -> Result<i64, UserError> {
    sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'kiosk' AND kiosk_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| UserError::UnknownLogin(login_of(id)))
}

/// Renames or moves a kiosk.
pub async fn update(
    pool: &PgPool,
    actor: &Actor,
    id: &str,
    name: Option<&str>,
    place: Option<(f64, f64)>,
    now: DateTime<Utc>,
) -> Result<i64, UserError> {
    if name.is_some_and(|n| n.trim().is_empty()) {
        return Err(UserError::Name);
    }
    if place.is_some_and(|(lon, lat)| {
        !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat)
    }) {
        return Err(UserError::Kiosk);
    }
    let user = kiosk_user(pool, id).await?;
    let mut tx = pool.begin().await?;
    let before = users::snapshot(&mut tx, user).await?;
    sqlx::query(
        "UPDATE users SET name = coalesce($2, name), kiosk_lon = coalesce($3, kiosk_lon),
                kiosk_lat = coalesce($4, kiosk_lat) WHERE id = $1",
    )
    .bind(user)
    .bind(name.map(str::trim))
    .bind(place.map(|p| p.0))
    .bind(place.map(|p| p.1))
    .execute(&mut *tx)
    .await?;
    let after = users::snapshot(&mut tx, user).await?;
    audit::record(&mut tx, actor, now, "kiosk.update", id, before, after).await?;
    tx.commit().await?;
    Ok(user)
}

/// Revokes a kiosk: its device session ends at once on every server.
pub async fn revoke(
    pool: &PgPool,
    actor: &Actor,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), UserError> {
    let user = kiosk_user(pool, id).await?;
    users::set_disabled_id(pool, actor, user, true, "kiosk.revoke", now).await
}

/// Exchanges an unused, unexpired code of an enabled kiosk for a device
/// session: the kiosk and the session's secret. `None` for any other code.
pub async fn enrol(
    pool: &PgPool,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<(User, String)>, UserError> {
    let code = code.trim().to_ascii_uppercase();
    let row: Option<UserRow> = sqlx::query_as(sql!(
        "UPDATE enrolments e SET used_at = $2
         FROM users u
         WHERE e.code_sha256 = $1 AND u.id = e.user_id AND e.used_at IS NULL
           AND e.expires_at > $2 AND u.disabled_at IS NULL AND u.role = 'kiosk'
         RETURNING {USER_COLUMNS}"
    ))
    .bind(token_hash(&code))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    let Some(user) = row.and_then(UserRow::user) else {
        return Ok(None);
    };
    match sessions::start(pool, user.id, DEVICE, now).await {
        Ok(secret) => Ok(Some((user, secret))),
        // Revoked while enrolling.
        Err(UserError::Disabled) => Ok(None),
        Err(e) => Err(e),
    }
}
