//! Users and bearer tokens. A token is 32 random bytes shown once; only its
//! SHA-256 is stored, so a leaked table gives no usable token.

use std::io::Read;

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::domain::workflow::Role;

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub department: Option<String>,
    pub kiosk: Option<Kiosk>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Kiosk {
    pub id: String,
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub department: Option<String>,
    pub kiosk: Option<Kiosk>,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error(
        "a department user needs --department (a known department code), and only they have one"
    )]
    Department,
    #[error("department {0:?} is not in the imported departments")]
    UnknownDepartment(String),
    #[error("a kiosk user needs --kiosk ID --lon X --lat Y (WGS-84), and only kiosks have them")]
    Kiosk,
    #[error("a name is required")]
    Name,
    #[error("cannot read random bytes for the token: {0}")]
    Random(#[from] std::io::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
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

fn new_token() -> Result<String, std::io::Error> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(format!(
        "cg_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Creates a user; returns it with its token (the only time the token exists in clear).
pub async fn add_user(pool: &PgPool, new: NewUser) -> Result<(User, String), UserError> {
    if new.name.trim().is_empty() {
        return Err(UserError::Name);
    }
    if (new.role == Role::Department) != new.department.is_some() {
        return Err(UserError::Department);
    }
    if let Some(d) = &new.department {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1)")
                .bind(d)
                .fetch_one(pool)
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
    let token = new_token()?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (name, role, department, kiosk_id, kiosk_lon, kiosk_lat, token_sha256)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.name.trim())
    .bind(role_name(new.role))
    .bind(&new.department)
    .bind(new.kiosk.as_ref().map(|k| k.id.clone()))
    .bind(new.kiosk.as_ref().map(|k| k.lon))
    .bind(new.kiosk.as_ref().map(|k| k.lat))
    .bind(token_hash(&token))
    .fetch_one(pool)
    .await?;
    let user = User {
        id,
        name: new.name.trim().to_owned(),
        role: new.role,
        department: new.department,
        kiosk: new.kiosk,
    };
    Ok((user, token))
}

type UserRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<f64>,
    Option<f64>,
);

/// The user a bearer token belongs to.
pub async fn by_token(pool: &PgPool, token: &str) -> Result<Option<User>, sqlx::Error> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, name, role, department, kiosk_id, kiosk_lon, kiosk_lat FROM users WHERE token_sha256 = $1",
    )
    .bind(token_hash(token))
    .fetch_optional(pool)
    .await?;
    Ok(
        row.and_then(|(id, name, role, department, kiosk_id, lon, lat)| {
            Some(User {
                id,
                name,
                role: parse_role(&role)?,
                department,
                kiosk: match (kiosk_id, lon, lat) {
                    (Some(id), Some(lon), Some(lat)) => Some(Kiosk { id, lon, lat }),
                    _ => None,
                },
            })
        }),
    )
}
