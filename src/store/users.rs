//! Users: a login, an Argon2id password for people, a role. Users are never
//! deleted (the audit trail names them): they are disabled, which ends their
//! sessions and revokes their tokens at once. Secrets — tokens, session
//! cookies — are 32 random bytes shown once; only their SHA-256 is stored, so
//! a leaked table gives no usable credential.

use std::io::Read;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::audit::{self, Actor};
use crate::domain::workflow::Role;

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub department: Option<String>,
    pub kiosk: Option<Kiosk>,
    /// An inspector's patrol: district, street, community or grid codes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patrol: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Kiosk {
    pub id: String,
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    /// Unique, case-insensitively; none: `user-ID`.
    pub login: Option<String>,
    pub name: String,
    pub role: Role,
    pub department: Option<String>,
    pub kiosk: Option<Kiosk>,
    /// An inspector's patrol areas (codes), empty for everyone else.
    pub patrol: Vec<String>,
    /// None: the user gets a bearer token instead, shown once.
    pub password: Option<String>,
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error(
        "a department user needs --department (a known department code), and only they have one"
    )]
    Department,
    #[error("department {0:?} is not in the imported departments")]
    UnknownDepartment(String),
    #[error(
        "a kiosk needs an id (1 to 40 letters, digits, '.', '_', '-') and a place (WGS-84 --lon X --lat Y); only kiosks have them"
    )]
    Kiosk,
    #[error("a name is required")]
    Name,
    #[error("a login is 1 to 64 letters, digits, '.', '_' or '-'")]
    Login,
    #[error("the login {0:?} is taken")]
    LoginTaken(String),
    #[error("no user has the login {0:?}")]
    UnknownLogin(String),
    #[error("a password has at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("a token's name is required")]
    TokenName,
    #[error("the city needs an enabled administrator: this change would leave none")]
    LastAdmin,
    #[error("the user is disabled")]
    Disabled,
    #[error("{0:?} is a kiosk: change it as a kiosk")]
    IsAKiosk(String),
    #[error(
        "a patrol is an inspector's: at most 200 district, street, community or grid codes (6, 9, 12 or 15 digits)"
    )]
    Patrol,
    #[error("cannot read random bytes: {0}")]
    Random(#[from] std::io::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl UserError {
    /// A machine-readable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Department | Self::UnknownDepartment(_) => "invalid_department",
            Self::Kiosk => "invalid_kiosk",
            Self::Name => "invalid_name",
            Self::Login => "invalid_login",
            Self::LoginTaken(_) => "login_taken",
            Self::UnknownLogin(_) => "unknown_login",
            Self::PasswordTooShort => "password_too_short",
            Self::TokenName => "invalid_token_name",
            Self::LastAdmin => "last_admin",
            Self::Disabled => "disabled",
            Self::IsAKiosk(_) => "is_a_kiosk",
            Self::Patrol => "invalid_patrol",
            Self::Random(_) | Self::Database(_) => "internal",
        }
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Inspector => "inspector",
        Role::Operator => "operator",
        Role::Dispatcher => "dispatcher",
        Role::Department => "department",
        Role::Kiosk => "kiosk",
        Role::Admin => "admin",
    }
}

pub fn parse_role(s: &str) -> Option<Role> {
    [
        Role::Inspector,
        Role::Operator,
        Role::Dispatcher,
        Role::Department,
        Role::Kiosk,
        Role::Admin,
    ]
    .into_iter()
    .find(|r| role_name(*r) == s)
}

pub fn token_hash(token: &str) -> String {
    super::hex(&Sha256::digest(token.as_bytes()))
}

/// A new secret: `prefix` and 32 random bytes in hex.
pub(crate) fn new_secret(prefix: &str) -> Result<String, std::io::Error> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(format!("{prefix}{}", super::hex(&bytes)))
}

pub fn valid_login(login: &str) -> bool {
    (1..=64).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The Argon2id hash (the crate's recommended parameters) of a new password.
pub async fn hash_password(password: &str) -> Result<String, UserError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError::PasswordTooShort);
    }
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h: PasswordHash| h.to_string())
            .map_err(|e| UserError::Random(std::io::Error::other(e.to_string())))
    })
    .await
    .map_err(|e| UserError::Random(std::io::Error::other(e.to_string())))?
}

/// Whether `password` matches `hash`; with no hash (an unknown login) a
/// stand-in is checked, so that the answer takes as long either way.
pub async fn verify_password(password: &str, hash: Option<String>) -> bool {
    static STAND_IN: OnceLock<String> = OnceLock::new();
    let known = hash.is_some();
    let password = password.to_owned();
    let matched = tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| {
            STAND_IN
                .get_or_init(|| {
                    Argon2::default()
                        .hash_password(b"no such user: a stand-in")
                        .map(|h: PasswordHash| h.to_string())
                        .unwrap_or_default()
                })
                .clone()
        });
        PasswordHash::new(&hash).ok().is_some_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false);
    known && matched
}

/// Creates a user. Without a password it gets a bearer token, returned here:
/// the only time it exists in clear.
pub async fn add_user(
    pool: &PgPool,
    actor: &Actor,
    new: NewUser,
    now: DateTime<Utc>,
) -> Result<(User, Option<String>), UserError> {
    let with_token = new.password.is_none();
    let mut tx = pool.begin().await?;
    let user = insert_user(&mut tx, new).await?;
    let after = snapshot(&mut tx, user.id).await?;
    audit::record(&mut tx, actor, now, "user.add", &user.login, None, after).await?;
    let token = if with_token {
        let token = new_secret("cg_")?;
        sqlx::query(
            "INSERT INTO tokens (user_id, name, token_sha256, created_at)
             VALUES ($1, 'created with the user', $2, $3)",
        )
        .bind(user.id)
        .bind(token_hash(&token))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        Some(token)
    } else {
        None
    };
    tx.commit().await?;
    Ok((user, token))
}

/// Checks and stores a new user, with no credential but its password.
pub(crate) async fn insert_user(
    tx: &mut sqlx::PgConnection,
    new: NewUser,
) -> Result<User, UserError> {
    if new.name.trim().is_empty() {
        return Err(UserError::Name);
    }
    if let Some(login) = &new.login
        && !valid_login(login)
    {
        return Err(UserError::Login);
    }
    if (new.role == Role::Department) != new.department.is_some() {
        return Err(UserError::Department);
    }
    if let Some(d) = &new.department {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1)")
                .bind(d)
                .fetch_one(&mut *tx)
                .await?;
        if !known {
            return Err(UserError::UnknownDepartment(d.clone()));
        }
    }
    let kiosk_ok = match &new.kiosk {
        Some(k) => {
            new.role == Role::Kiosk
                && !k.id.trim().is_empty()
                && (-180.0..=180.0).contains(&k.lon)
                && (-90.0..=90.0).contains(&k.lat)
        }
        None => new.role != Role::Kiosk,
    };
    if !kiosk_ok {
        return Err(UserError::Kiosk);
    }
    if !valid_patrol(new.role, &new.patrol) {
        return Err(UserError::Patrol);
    }
    let password_hash = match &new.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let inserted: Result<(i64, String), sqlx::Error> = sqlx::query_as(
        "WITH next AS (SELECT nextval(pg_get_serial_sequence('users', 'id')) AS id)
         INSERT INTO users (id, login, name, role, department, kiosk_id, kiosk_lon, kiosk_lat, password_hash, patrol)
         SELECT id, coalesce($1, 'user-' || id), $2, $3, $4, $5, $6, $7, $8, $9 FROM next
         RETURNING id, login",
    )
    .bind(&new.login)
    .bind(new.name.trim())
    .bind(role_name(new.role))
    .bind(&new.department)
    .bind(new.kiosk.as_ref().map(|k| k.id.clone()))
    .bind(new.kiosk.as_ref().map(|k| k.lon))
    .bind(new.kiosk.as_ref().map(|k| k.lat))
    .bind(&password_hash)
    .bind(&new.patrol)
    .fetch_one(&mut *tx)
    .await;
    let (id, login) = match inserted {
        Ok(row) => row,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(UserError::LoginTaken(new.login.unwrap_or_default()));
        }
        Err(e) => return Err(e.into()),
    };
    let user = User {
        id,
        login,
        name: new.name.trim().to_owned(),
        role: new.role,
        department: new.department,
        kiosk: new.kiosk,
        patrol: new.patrol,
    };
    Ok(user)
}

/// A patrol: an inspector's, of at most 200 area codes (district, street,
/// community or grid); anyone else's is empty.
fn valid_patrol(role: Role, patrol: &[String]) -> bool {
    let code =
        |c: &String| matches!(c.len(), 6 | 9 | 12 | 15) && c.bytes().all(|b| b.is_ascii_digit());
    patrol.is_empty() || (role == Role::Inspector && patrol.len() <= 200 && patrol.iter().all(code))
}

/// The columns [`UserRow`] reads, of `users u`.
pub(crate) const USER_COLUMNS: &str =
    "u.id, u.login, u.name, u.role, u.department, u.kiosk_id, u.kiosk_lon, u.kiosk_lat, u.patrol";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    login: String,
    name: String,
    role: String,
    department: Option<String>,
    kiosk_id: Option<String>,
    kiosk_lon: Option<f64>,
    kiosk_lat: Option<f64>,
    patrol: Vec<String>,
}

impl UserRow {
    pub(crate) fn user(self) -> Option<User> {
        Some(User {
            id: self.id,
            login: self.login,
            name: self.name,
            role: parse_role(&self.role)?,
            department: self.department,
            kiosk: match (self.kiosk_id, self.kiosk_lon, self.kiosk_lat) {
                (Some(id), Some(lon), Some(lat)) => Some(Kiosk { id, lon, lat }),
                _ => None,
            },
            patrol: self.patrol,
        })
    }
}

/// The enabled user a bearer token belongs to, if the token is neither
/// revoked nor expired at `now`.
pub async fn by_token(
    pool: &PgPool,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<User>, sqlx::Error> {
    let row: Option<UserRow> = sqlx::query_as(sql!(
        "SELECT {USER_COLUMNS} FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL
           AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.disabled_at IS NULL"
    ))
    .bind(token_hash(token))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(UserRow::user))
}

#[derive(sqlx::FromRow)]
struct WithPassword {
    password_hash: Option<String>,
    #[sqlx(flatten)]
    user: UserRow,
}

/// The enabled user with `login` and this password; `None` for a wrong
/// password, an unknown login and a disabled user alike, after the same work.
pub async fn by_password(
    pool: &PgPool,
    login: &str,
    password: &str,
) -> Result<Option<User>, sqlx::Error> {
    let row: Option<WithPassword> = sqlx::query_as(sql!(
        "SELECT u.password_hash, {USER_COLUMNS} FROM users u
         WHERE lower(u.login) = lower($1) AND u.disabled_at IS NULL"
    ))
    .bind(login)
    .fetch_optional(pool)
    .await?;
    let (hash, user) = match row {
        Some(r) => (r.password_hash, r.user.user()),
        None => (None, None),
    };
    let matched = verify_password(password, hash).await;
    Ok(user.filter(|_| matched))
}

/// A user as the administrator lists them, disabled ones too.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Listed {
    #[serde(flatten)]
    pub user: User,
    pub has_password: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct ListedRow {
    has_password: bool,
    disabled_at: Option<DateTime<Utc>>,
    last_sign_in_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    user: UserRow,
}

const LISTED: &str = "SELECT u.password_hash IS NOT NULL AS has_password, u.disabled_at,
        u.last_sign_in_at, u.id, u.login, u.name, u.role, u.department, u.kiosk_id,
        u.kiosk_lon, u.kiosk_lat, u.patrol
     FROM users u";

impl ListedRow {
    fn listed(self) -> Option<Listed> {
        Some(Listed {
            user: self.user.user()?,
            has_password: self.has_password,
            disabled_at: self.disabled_at,
            last_sign_in_at: self.last_sign_in_at,
        })
    }
}

/// Every user, disabled ones too, in the order they were added.
pub async fn list(pool: &PgPool) -> Result<Vec<Listed>, sqlx::Error> {
    let rows: Vec<ListedRow> = sqlx::query_as(sql!("{LISTED} ORDER BY u.id"))
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().filter_map(ListedRow::listed).collect())
}

/// One user as listed.
pub async fn listed(conn: &mut sqlx::PgConnection, id: i64) -> Result<Option<Listed>, sqlx::Error> {
    let row: Option<ListedRow> = sqlx::query_as(sql!("{LISTED} WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.and_then(ListedRow::listed))
}

/// A user as the audit log keeps them: what an administrator changes.
pub(crate) async fn snapshot(
    conn: &mut sqlx::PgConnection,
    id: i64,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    Ok(listed(conn, id).await?.map(|l| {
        serde_json::json!({
            "login": l.user.login, "name": l.user.name, "role": role_name(l.user.role),
            "department": l.user.department, "kiosk": l.user.kiosk, "patrol": l.user.patrol,
            "has_password": l.has_password, "disabled": l.disabled_at.is_some(),
        })
    }))
}

/// The id of the user with `login`.
pub async fn id_of(pool: &PgPool, login: &str) -> Result<i64, UserError> {
    sqlx::query_scalar("SELECT id FROM users WHERE lower(login) = lower($1)")
        .bind(login)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| UserError::UnknownLogin(login.to_owned()))
}

/// Runs `change` on the user with `login` in one transaction with its audit
/// entry (`action`, the user before and after).
async fn audited<F>(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    login: &str,
    action: &str,
    change: F,
) -> Result<(), UserError>
where
    F: for<'c> FnOnce(
        &'c mut sqlx::PgConnection,
        i64,
    ) -> futures_util::future::BoxFuture<'c, Result<(), UserError>>,
{
    let id = id_of(pool, login).await?;
    audited_id(pool, actor, now, id, action, change).await
}

/// [`audited`], for the user with this id.
pub(crate) async fn audited_id<F>(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    id: i64,
    action: &str,
    change: F,
) -> Result<(), UserError>
where
    F: for<'c> FnOnce(
        &'c mut sqlx::PgConnection,
        i64,
    ) -> futures_util::future::BoxFuture<'c, Result<(), UserError>>,
{
    let mut tx = pool.begin().await?;
    // Locked: a sign-in starting a session waits for this change (and sees it).
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let before = snapshot(&mut tx, id).await?;
    change(&mut tx, id).await?;
    let after = snapshot(&mut tx, id).await?;
    let target = after
        .as_ref()
        .and_then(|a| a["login"].as_str())
        .unwrap_or_default()
        .to_owned();
    audit::record(&mut tx, actor, now, action, &target, before, after).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every open session of a user (the change's transaction).
pub(crate) async fn end_sessions(
    conn: &mut sqlx::PgConnection,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Refuses a change that leaves the city without an enabled administrator.
async fn keep_an_admin(conn: &mut sqlx::PgConnection) -> Result<(), UserError> {
    let admins: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL",
    )
    .fetch_one(conn)
    .await?;
    if admins == 0 {
        return Err(UserError::LastAdmin);
    }
    Ok(())
}

pub async fn set_password(
    pool: &PgPool,
    actor: &Actor,
    login: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<(), UserError> {
    let hash = hash_password(password).await?;
    // A reset follows a lost or stolen password: whoever held it is signed out.
    audited(pool, actor, now, login, "user.set_password", |tx, id| {
        Box::pin(async move {
            sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                .bind(id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
            end_sessions(tx, id, now).await?;
            Ok(())
        })
    })
    .await
}

/// What an administrator may change of a user (none: unchanged).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// The department of a department user (required when the role becomes
    /// `department`; cleared for any other role).
    pub department: Option<String>,
    /// An inspector's patrol areas: district, street, community or grid codes
    /// (cleared when the role is no longer inspector).
    pub patrol: Option<Vec<String>>,
}

/// Changes a user's name, role or department, with the same checks as adding
/// one. A kiosk's role is its own: kiosks are changed as kiosks.
pub async fn update(
    pool: &PgPool,
    actor: &Actor,
    login: &str,
    change: UserChange,
    now: DateTime<Utc>,
) -> Result<(), UserError> {
    audited(pool, actor, now, login, "user.update", |tx, id| {
        Box::pin(async move {
            let (name, role, department, patrol): (String, String, Option<String>, Vec<String>) =
                sqlx::query_as(
                    "SELECT name, role, department, patrol FROM users WHERE id = $1 FOR UPDATE",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let old_role = parse_role(&role).ok_or(UserError::Kiosk)?;
            let role = change.role.unwrap_or(old_role);
            if (old_role == Role::Kiosk) != (role == Role::Kiosk) {
                return Err(UserError::Kiosk);
            }
            let name = change.name.unwrap_or(name);
            if name.trim().is_empty() {
                return Err(UserError::Name);
            }
            let department = if role == Role::Department {
                change.department.or(department)
            } else if change.department.is_some() {
                return Err(UserError::Department);
            } else {
                None
            };
            if role == Role::Department {
                let Some(d) = &department else {
                    return Err(UserError::Department);
                };
                let known: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1)")
                        .bind(d)
                        .fetch_one(&mut *tx)
                        .await?;
                if !known {
                    return Err(UserError::UnknownDepartment(d.clone()));
                }
            }
            let patrol = match change.patrol {
                Some(p) => p,
                None if role == Role::Inspector => patrol,
                None => Vec::new(),
            };
            if !valid_patrol(role, &patrol) {
                return Err(UserError::Patrol);
            }
            sqlx::query(
                "UPDATE users SET name = $2, role = $3, department = $4, patrol = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(name.trim())
            .bind(role_name(role))
            .bind(department)
            .bind(&patrol)
            .execute(&mut *tx)
            .await?;
            if old_role == Role::Admin && role != Role::Admin {
                keep_an_admin(tx).await?;
            }
            // A new role has its own idle time: sign in again with it.
            if old_role != role {
                end_sessions(tx, id, now).await?;
            }
            Ok(())
        })
    })
    .await
}

/// Disables a user: every session ends and every token is revoked in the
/// same transaction, so the next request on any server is 401. Enabling
/// brings back neither; the user signs in again or is given a new token.
pub async fn set_disabled(
    pool: &PgPool,
    actor: &Actor,
    login: &str,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<(), UserError> {
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    set_disabled_as(pool, actor, login, disabled, action, now).await
}

/// [`set_disabled`], written to the audit log as `action`.
pub(crate) async fn set_disabled_as(
    pool: &PgPool,
    actor: &Actor,
    login: &str,
    disabled: bool,
    action: &str,
    now: DateTime<Utc>,
) -> Result<(), UserError> {
    let id = id_of(pool, login).await?;
    set_disabled_id(pool, actor, id, disabled, action, now).await
}

/// [`set_disabled_as`], for the user with this id.
pub(crate) async fn set_disabled_id(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
    disabled: bool,
    action: &str,
    now: DateTime<Utc>,
) -> Result<(), UserError> {
    audited_id(pool, actor, now, id, action, |tx, id| {
        Box::pin(async move {
            if disabled {
                sqlx::query(
                    "UPDATE users SET disabled_at = coalesce(disabled_at, $2) WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                end_sessions(&mut *tx, id, now).await?;
                sqlx::query(
                    "UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                // Enrolment codes not yet used go too: no way back in but a new one.
                sqlx::query(
                    "UPDATE enrolments SET expires_at = $2
                     WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let role: String = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                if role == "admin" {
                    keep_an_admin(tx).await?;
                }
            } else {
                sqlx::query("UPDATE users SET disabled_at = NULL WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(())
        })
    })
    .await
}
