//! Bearer tokens for machines — Open311 apps, the 12345 hotline bridge,
//! scripts: named, owned by a user, optionally expiring, shown once, stored
//! as a SHA-256, revocable at once on every server (each request reads the
//! store).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::audit::{self, Actor};
use super::users::{UserError, id_of, new_secret, token_hash};

/// A token as listed: never the token itself.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TokenListing {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new token for the user with `login`; the token is returned once.
pub async fn add(
    pool: &PgPool,
    actor: &Actor,
    login: &str,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(i64, String), UserError> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(UserError::TokenName);
    }
    let user = id_of(pool, login).await?;
    let token = new_secret("cg_")?;
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tokens (user_id, name, token_sha256, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user)
    .bind(name.trim())
    .bind(token_hash(&token))
    .bind(now)
    .bind(expires_at)
    .fetch_one(&mut *tx)
    .await?;
    let after = listing(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        now,
        "token.add",
        &id.to_string(),
        None,
        after,
    )
    .await?;
    tx.commit().await?;
    Ok((id, token))
}

const LISTING: &str = "SELECT t.id, u.login, t.name, t.created_at, t.expires_at, t.revoked_at
     FROM tokens t JOIN users u ON u.id = t.user_id";

async fn listing(
    conn: &mut sqlx::PgConnection,
    id: i64,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    let t: Option<TokenListing> = sqlx::query_as(sql!("{LISTING} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(t.and_then(|t| serde_json::to_value(t).ok()))
}

pub async fn list(pool: &PgPool) -> Result<Vec<TokenListing>, sqlx::Error> {
    sqlx::query_as(sql!("{LISTING} ORDER BY t.id"))
        .fetch_all(pool)
        .await
}

/// Revokes a token; false when there is no such token.
pub async fn revoke(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let before = listing(&mut tx, id).await?;
    if before.is_none() {
        return Ok(false);
    }
    sqlx::query("UPDATE tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let after = listing(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        now,
        "token.revoke",
        &id.to_string(),
        before,
        after,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
