//! `citygrid bench`: the index against the equivalent indexed PostGIS query, in
//! one run on the imported city, as rates and their ratio; and the memory the
//! loaded index takes (process RSS before and after loading it).

use std::time::Instant;

use serde::Serialize;
use sqlx::PgPool;

use crate::index::{COMPONENT_LIMIT, COMPONENT_RADIUS_M};

#[derive(Debug, Serialize)]
pub struct Rates {
    pub index_per_s: f64,
    pub postgis_per_s: f64,
    /// index ÷ PostGIS.
    pub ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub grids: usize,
    pub components: usize,
    pub services: usize,
    pub index_cells: usize,
    pub index_build_s: f64,
    pub rss_before_index_mib: f64,
    pub rss_with_index_mib: f64,
    pub peak_rss_mib: f64,
    pub index_points: usize,
    pub postgis_points: usize,
    /// Point → H3 cell alone: the floor under every lookup.
    pub h3_cells_per_s: f64,
    /// Components within 50 m alone (index only).
    pub components_per_s: f64,
    /// Point → unit grid only.
    pub grid_lookup: Rates,
    /// The whole `locate`: grid, admin areas, components within 50 m.
    pub locate: Rates,
    /// Points where the index and PostGIS named different grids (must be 0).
    pub grid_disagreements: usize,
}

fn status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
}

fn mib(kib: f64) -> f64 {
    (kib / 1024.0 * 10.0).round() / 10.0
}

/// Same points every run: SplitMix64 over the city's bounding box.
fn points(n: usize, bbox: (f64, f64, f64, f64), seed: u64) -> Vec<(f64, f64)> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            (
                bbox.0 + (bbox.2 - bbox.0) * next(),
                bbox.1 + (bbox.3 - bbox.1) * next(),
            )
        })
        .collect()
}

pub async fn run(pool: &PgPool, n_index: usize, n_pg: usize) -> anyhow::Result<BenchReport> {
    let rss_before = status_kib("VmRSS:");
    let started = Instant::now();
    let index = crate::store::city::load_city_index(pool).await?;
    let build_s = started.elapsed().as_secs_f64();
    let rss_with = status_kib("VmRSS:");
    let peak = status_kib("VmHWM:");

    let bbox: (f64, f64, f64, f64) = sqlx::query_as(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom)::geometry AS e FROM grids) x",
    )
    .fetch_one(pool)
    .await?;
    let idx_points = points(n_index, bbox, 1);
    let pg_points = points(n_pg, bbox, 2);

    // The index, on this one thread.
    let t = Instant::now();
    let mut cells = 0u64;
    for &(lon, lat) in &idx_points {
        if let Ok(ll) = h3o::LatLng::new(lat, lon) {
            cells ^= u64::from(ll.to_cell(crate::index::grid_index::RESOLUTION));
        }
    }
    let h3_rate = n_index as f64 / t.elapsed().as_secs_f64();
    std::hint::black_box(cells);
    let t = Instant::now();
    let mut found = 0usize;
    for &(lon, lat) in &idx_points {
        found += usize::from(index.grids.locate(lon, lat).is_some());
    }
    let grid_rate = n_index as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut near = 0usize;
    for &(lon, lat) in &idx_points {
        near += index
            .components_near(lon, lat, None, COMPONENT_RADIUS_M, COMPONENT_LIMIT)
            .len();
    }
    let components_rate = n_index as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for &(lon, lat) in &idx_points {
        if let Some(place) = index.place(lon, lat) {
            near += index
                .components_near(lon, lat, None, COMPONENT_RADIUS_M, COMPONENT_LIMIT)
                .len();
            std::hint::black_box(place);
        }
    }
    let locate_rate = n_index as f64 / t.elapsed().as_secs_f64();
    std::hint::black_box((found, near));

    // PostGIS over one connection, the equivalent indexed queries.
    let mut conn = pool.acquire().await?;
    let grid_sql = "SELECT code FROM grids WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) ORDER BY code LIMIT 1";
    let t = Instant::now();
    let mut disagreements = 0;
    for &(lon, lat) in &pg_points {
        let pg: Option<String> = sqlx::query_scalar(grid_sql)
            .bind(lon)
            .bind(lat)
            .fetch_optional(&mut *conn)
            .await?;
        let ours = index.grids.locate(lon, lat).map(|g| g.code.as_str());
        if pg.as_deref() != ours {
            disagreements += 1;
        }
    }
    let pg_grid_rate = n_pg as f64 / t.elapsed().as_secs_f64();
    let locate_sql = "
        SELECT g.code, c.name, s.name, d.name,
               ARRAY(SELECT x.code FROM components x
                      WHERE x.geom && ST_Expand(q.p, 0.0008)
                        AND ST_DWithin(x.geom::geography, q.p::geography, 50)
                      ORDER BY x.geom::geography <-> q.p::geography LIMIT 10)
          FROM (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS p) q
          LEFT JOIN LATERAL (SELECT code FROM grids WHERE ST_Covers(geom, q.p) ORDER BY code LIMIT 1) g ON true
          LEFT JOIN communities c ON c.code = left(g.code, 12)
          LEFT JOIN streets s ON s.code = left(g.code, 9)
          LEFT JOIN districts d ON d.code = left(g.code, 6)";
    let t = Instant::now();
    for &(lon, lat) in &pg_points {
        let row: (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Vec<String>,
        ) = sqlx::query_as(locate_sql)
            .bind(lon)
            .bind(lat)
            .fetch_one(&mut *conn)
            .await?;
        std::hint::black_box(row);
    }
    let pg_locate_rate = n_pg as f64 / t.elapsed().as_secs_f64();

    let stats = index.grids.stats();
    Ok(BenchReport {
        grids: stats.grids,
        components: index.components.len(),
        services: index.services.len(),
        index_cells: stats.cells,
        index_build_s: (build_s * 100.0).round() / 100.0,
        rss_before_index_mib: mib(rss_before),
        rss_with_index_mib: mib(rss_with),
        peak_rss_mib: mib(peak),
        index_points: n_index,
        postgis_points: n_pg,
        h3_cells_per_s: h3_rate.round(),
        components_per_s: components_rate.round(),
        grid_lookup: Rates {
            index_per_s: grid_rate.round(),
            postgis_per_s: pg_grid_rate.round(),
            ratio: (grid_rate / pg_grid_rate).round(),
        },
        locate: Rates {
            index_per_s: locate_rate.round(),
            postgis_per_s: pg_locate_rate.round(),
            ratio: (locate_rate / pg_locate_rate).round(),
        },
        grid_disagreements: disagreements,
    })
}
