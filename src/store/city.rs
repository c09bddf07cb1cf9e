//! Reading the stored city data into the in-memory index.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::TryStreamExt;
use sqlx::PgPool;

use crate::index::grid_index::IndexedGrid;
use crate::index::wkb;
use crate::index::{CityIndex, ComponentPoint, ServicePoint};

/// Loads everything the index needs and builds it (the build runs on a blocking thread).
/// One read-only snapshot, so an import committing meanwhile is seen whole or
/// not at all; the serving pool's statement and idle limits are for requests,
/// not for reading a city of a million components.
pub async fn load_city_index(pool: &PgPool) -> Result<CityIndex, sqlx::Error> {
    let started = std::time::Instant::now();
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
         SET LOCAL statement_timeout = 0;
         SET LOCAL idle_in_transaction_session_timeout = 0",
    )
    .execute(&mut *tx)
    .await?;
    let rows: Vec<(String, String, Vec<u8>)> =
        sqlx::query_as("SELECT code, name, ST_AsBinary(geom) FROM grids ORDER BY code")
            .fetch_all(&mut *tx)
            .await?;
    let mut grids = Vec::with_capacity(rows.len());
    for (code, name, bytes) in rows {
        match wkb::decode_multipolygon(&bytes) {
            Ok(geom) => grids.push(IndexedGrid::new(code, name, geom)),
            Err(e) => {
                tracing::error!(grid = %code, error = %e, "unreadable grid geometry; left out of the index")
            }
        }
    }

    let mut areas = HashMap::new();
    for table in ["districts", "streets", "communities"] {
        let rows: Vec<(String, String)> = sqlx::query_as(sql!("SELECT code, name FROM {table}"))
            .fetch_all(&mut *tx)
            .await?;
        areas.extend(rows);
    }

    // Component names repeat (most are their class name): share one copy of each.
    let mut names: HashMap<String, Arc<str>> = HashMap::new();
    let mut components = Vec::new();
    let mut stream = sqlx::query_as::<_, (String, String, String, f64, f64)>(
        "SELECT code, class, name, ST_X(geom), ST_Y(geom) FROM components",
    )
    .fetch(&mut *tx);
    while let Some((code, class, name, lon, lat)) = stream.try_next().await? {
        let Ok(code_num) = code.parse::<u64>() else {
            continue;
        };
        let Ok(class_num) = class.parse::<u16>() else {
            continue;
        };
        let name = names
            .entry(name)
            .or_insert_with_key(|k| Arc::from(k.as_str()))
            .clone();
        components.push(ComponentPoint {
            code: code_num,
            class: class_num,
            name,
            lon,
            lat,
        });
    }
    drop(stream);

    let services: Vec<ServicePoint> = sqlx::query_as::<
        _,
        (String, String, String, String, String, String, f64, f64),
    >(
        "SELECT id, category, name, address, phone, hours, ST_X(geom), ST_Y(geom) FROM services",
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(
        |(id, category, name, address, phone, hours, lon, lat)| ServicePoint {
            id,
            category,
            name,
            address,
            phone,
            hours,
            lon,
            lat,
        },
    )
    .collect();
    tx.commit().await?;

    let index =
        tokio::task::spawn_blocking(move || CityIndex::build(grids, areas, components, services))
            .await
            .map_err(|e| sqlx::Error::Protocol(format!("index build failed: {e}")))?;
    let stats = index.grids.stats();
    tracing::info!(
        grids = stats.grids,
        cells = stats.cells,
        direct_cells = stats.direct_cells,
        components = index.components.len(),
        services = index.services.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "city index built"
    );
    Ok(index)
}

/// Rebuilds the shared index whenever an import commits (LISTEN on the import
/// channel). After a lost connection it rebuilds anyway, since a notification
/// may have been missed.
pub async fn watch_city_data(pool: PgPool, shared: Arc<crate::index::SharedIndex>) {
    use sqlx::postgres::PgListener;
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for city data changes; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(crate::import::CITY_DATA_CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            continue;
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => {}
                Ok(None) => tracing::warn!(
                    "lost the listening connection; rebuilding in case an import was missed"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "listening for city data changes failed");
                    break;
                }
            }
            // Several notifications in a burst need one rebuild.
            while listener.next_buffered().is_some() {}
            match load_city_index(&pool).await {
                Ok(index) => shared.replace(index),
                Err(e) => {
                    tracing::error!(error = %e, "rebuilding the city index failed; keeping the previous one")
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// A component as a report needs it: class, competent department and place.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ComponentInfo {
    pub code: String,
    pub class: String,
    pub dept_competent: String,
    pub lon: f64,
    pub lat: f64,
}

pub async fn component(pool: &PgPool, code: &str) -> Result<Option<ComponentInfo>, sqlx::Error> {
    sqlx::query_as(
        "SELECT code, class, dept_competent, ST_X(geom) AS lon, ST_Y(geom) AS lat
         FROM components WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(pool)
    .await
}

/// A point for a place name: a public service by its address or name, else a
/// unit grid, community or street by its name (a point inside it).
pub async fn geocode_address(pool: &PgPool, text: &str) -> Result<Option<(f64, f64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT lon, lat FROM (
             SELECT 1 AS rank, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM services WHERE address = $1 OR name = $1
             UNION ALL SELECT 2, ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids WHERE name = $1) g
             UNION ALL SELECT 3, ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM communities WHERE name = $1) c
             UNION ALL SELECT 4, ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM streets WHERE name = $1) s
         ) places ORDER BY rank LIMIT 1",
    )
    .bind(text.trim())
    .fetch_optional(pool)
    .await
}
