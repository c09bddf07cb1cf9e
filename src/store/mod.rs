//! PostgreSQL + PostGIS: the one store. Connection, start-up checks, migrations,
//! and reading the city data the in-memory index is built from.

pub mod audit;
pub mod case_config;
pub mod cases;
pub mod city;
pub mod hotspots;
pub mod kiosks;
pub mod media;
pub mod notices;
pub mod replica;
pub mod sessions;
pub mod tokens;
pub mod users;

use sqlx::PgPool;

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
use sqlx::postgres::PgPoolOptions;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(sqlx::Error),
    #[error(
        "PostGIS is not installed on this PostgreSQL server (install the Debian package postgresql-{0}-postgis-3)"
    )]
    PostgisMissing(String),
    #[error("PostgreSQL {found} is too old: citygrid needs 13 or later")]
    PostgresTooOld { found: String },
    #[error("PostGIS {found} is too old: citygrid needs 3.0 or later")]
    PostgisTooOld { found: String },
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
}

/// Versions found at start-up.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Versions {
    pub postgres: String,
    pub postgis: String,
}

pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, StoreError> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(StoreError::Connect)
}

/// The longest a served request's statement may run: no client holds a
/// database backend for long. Streamed exports set their own, longer limit.
pub const STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The pool a server answers requests from: statements and idle transactions
/// are time-limited on the database side, and a request waits at most two
/// seconds for a connection (then 503) while the database is away.
pub async fn connect_for_serving(url: &str, max_connections: u32) -> Result<PgPool, StoreError> {
    serving_pool(max_connections)
        .connect_with(serving_options(url)?)
        .await
        .map_err(StoreError::Connect)
}

/// A read replica's pool, as `connect_for_serving` but connecting when first
/// used: the replica need not answer when the server starts.
pub fn connect_replica(url: &str, max_connections: u32) -> Result<PgPool, StoreError> {
    Ok(serving_pool(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy_with(serving_options(url)?))
}

fn serving_options(url: &str) -> Result<sqlx::postgres::PgConnectOptions, StoreError> {
    let options: sqlx::postgres::PgConnectOptions = url.parse().map_err(StoreError::Connect)?;
    Ok(options.options([
        (
            "statement_timeout",
            STATEMENT_TIMEOUT.as_millis().to_string(),
        ),
        ("idle_in_transaction_session_timeout", "30000".to_owned()),
        // Compiling a query to machine code pays off over minutes of
        // analytics, not for a service's reads: it cost a case tile 195 ms
        // of its 846 on the ten-million-case history (issue 12).
        ("jit", "off".to_owned()),
    ]))
}

/// A connection back in the pool is pinged before it is reused only when it
/// has lain idle for a second or more: under load every request saved one
/// round trip per statement it sent (sqlx pings every reuse by default; a
/// report took nine), and a connection broken meanwhile is still caught
/// after a quiet spell, as before.
fn serving_pool(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(2))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= std::time::Duration::from_secs(1) {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// Checks the PostgreSQL and PostGIS versions (refusing clearly when PostGIS is
/// missing), then runs the migrations.
pub async fn prepare(pool: &PgPool) -> Result<Versions, StoreError> {
    let server_num: String = sqlx::query_scalar("SHOW server_version_num")
        .fetch_one(pool)
        .await?;
    let postgres: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(pool)
        .await?;
    let major = server_num.parse::<u32>().unwrap_or(0) / 10_000;
    if major < 13 {
        return Err(StoreError::PostgresTooOld { found: postgres });
    }
    let available: Option<String> = sqlx::query_scalar(
        "SELECT coalesce(installed_version, default_version) FROM pg_available_extensions WHERE name = 'postgis'",
    )
    .fetch_optional(pool)
    .await?;
    let Some(postgis) = available else {
        return Err(StoreError::PostgisMissing(major.to_string()));
    };
    if postgis
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0)
        < 3
    {
        return Err(StoreError::PostgisTooOld { found: postgis });
    }
    sqlx::migrate!("./migrations").run(pool).await?;
    let postgis: String = sqlx::query_scalar("SELECT postgis_lib_version()")
        .fetch_one(pool)
        .await?;
    tracing::info!(postgres = %postgres, postgis = %postgis, "database ready");
    Ok(Versions { postgres, postgis })
}
