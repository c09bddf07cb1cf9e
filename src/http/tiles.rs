//! Mapbox Vector Tiles straight from PostGIS: `GET /tiles/{layer}/{z}/{x}/{y}.mvt`
//! with `ST_AsMVT` over `ST_TileEnvelope`. Admin areas, grids and services are
//! public; components and cases need a staff token (departments see their own
//! cases only). The `cases` layer takes the case list's filters and clusters
//! the cases below zoom 15 (up to zoom 12, open cases are added up from their
//! sums per map square: `store::cases::case_tile`). Empty tiles are 204.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::auth::{MaybeCaller, forbidden};
use super::cases::{CaseQuery, user_filter};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::query::Params;
use crate::domain::workflow::Role;
use crate::store::cases;

pub fn router() -> Router<AppState> {
    Router::new().route("/tiles/{layer}/{z}/{x}/{tile}", get(tile))
}

/// A layer: its SQL (binds $1 z, $2 x, $3 y), the zooms it is drawn at, and
/// whether it is for staff only. The `cases` layer is the case store's own
/// query (`store::cases::case_tile`), filtered as the case list is.
struct Layer {
    name: &'static str,
    min_zoom: u32,
    staff_only: bool,
    sql: &'static str,
}

const CASES: Layer = Layer {
    name: "cases",
    min_zoom: 0,
    staff_only: true,
    sql: "",
};

/// A layer read straight from its table `a`: the given columns, the
/// geometry (lines and polygons simplified to a quarter pixel at the tile's
/// zoom; points as they are), and `$where` to keep small features from low
/// zooms.
macro_rules! table_layer {
    ($name:literal, $min:expr, $columns:literal, simplified, $where:literal) => {
        table_layer!(@ $name, $min, $columns, "ST_Simplify(a.geom, 90.0 / (4096 * 2 ^ $1))", $where)
    };
    ($name:literal, $min:expr, $columns:literal, points, $where:literal) => {
        table_layer!(@ $name, $min, $columns, "a.geom", $where)
    };
    (@ $name:literal, $min:expr, $columns:literal, $geom:literal, $where:literal) => {
        Layer {
            name: $name,
            min_zoom: $min,
            staff_only: false,
            sql: concat!(
                "WITH b AS (SELECT ST_TileEnvelope($1, $2, $3) AS env)
                 SELECT ST_AsMVT(t, '", $name, "', 4096, 'geom') FROM (
                     SELECT ", $columns, ",
                            ST_AsMVTGeom(ST_Transform(", $geom, ", 3857), b.env, 4096, 64, true) AS geom
                     FROM ", $name, " a, b
                     WHERE a.geom && ST_Transform(b.env, 4326) AND (", $where, ")
                 ) t WHERE geom IS NOT NULL"
            ),
        }
    };
}

const LAYERS: &[Layer] = &[
    table_layer!("water", 0, "a.name, a.name_en", simplified, "true"),
    table_layer!("roads", 10, "a.name, a.name_en, a.class", simplified, "$1 >= 13 OR a.class IN ('motorway', 'trunk', 'primary')"),
    Layer {
        // One label point per admin area, inside it, at the zooms its lines are drawn.
        name: "places",
        min_zoom: 0,
        staff_only: false,
        sql: "WITH b AS (SELECT ST_TileEnvelope($1, $2, $3) AS env),
              a AS (SELECT 'district' AS level, code, name, geom FROM districts
                    UNION ALL SELECT 'street', code, name, geom FROM streets WHERE $1 >= 11
                    UNION ALL SELECT 'community', code, name, geom FROM communities WHERE $1 >= 13)
              SELECT ST_AsMVT(t, 'places', 4096, 'geom') FROM (
                  SELECT a.level, a.code, a.name,
                         ST_AsMVTGeom(ST_Transform(ST_PointOnSurface(a.geom), 3857), b.env, 4096, 0, true) AS geom
                  FROM a, b WHERE a.geom && ST_Transform(b.env, 4326)
              ) t WHERE geom IS NOT NULL",
    },
    table_layer!("landmarks", 11, "a.name, a.name_en, a.kind", points, "true"),
    table_layer!("districts", 0, "a.code, a.name", simplified, "true"),
    table_layer!("streets", 9, "a.code, a.name", simplified, "true"),
    table_layer!("communities", 11, "a.code, a.name", simplified, "true"),
    Layer {
        name: "grids",
        min_zoom: 13,
        staff_only: false,
        sql: "WITH b AS (SELECT ST_TileEnvelope($1, $2, $3) AS env),
              g AS (SELECT g.code, g.name, g.geom FROM grids g, b WHERE g.geom && ST_Transform(b.env, 4326))
              SELECT ST_AsMVT(t, 'grids', 4096, 'geom') FROM (
                  SELECT g.code, g.name,
                         (SELECT count(*) FROM cases c WHERE c.grid = g.code
                            AND c.state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended'))::int AS open_cases,
                         ST_AsMVTGeom(ST_Transform(ST_Simplify(g.geom, 90.0 / (4096 * 2 ^ $1)), 3857), b.env, 4096, 64, true) AS geom
                  FROM g, b
              ) t WHERE geom IS NOT NULL",
    },
    Layer {
        name: "components",
        min_zoom: 16,
        staff_only: true,
        sql: "WITH b AS (SELECT ST_TileEnvelope($1, $2, $3) AS env)
              SELECT ST_AsMVT(t, 'components', 4096, 'geom') FROM (
                  SELECT c.code, c.class, c.name, c.state, c.dept_competent,
                         ST_AsMVTGeom(ST_Transform(c.geom, 3857), b.env, 4096, 64, true) AS geom
                  FROM components c, b WHERE c.geom && ST_Transform(b.env, 4326)
              ) t WHERE geom IS NOT NULL",
    },
    Layer {
        name: "services",
        min_zoom: 12,
        staff_only: false,
        sql: "WITH b AS (SELECT ST_TileEnvelope($1, $2, $3) AS env)
              SELECT ST_AsMVT(t, 'services', 4096, 'geom') FROM (
                  SELECT s.id, s.category, s.name, s.address, s.phone, s.hours,
                         ST_AsMVTGeom(ST_Transform(s.geom, 3857), b.env, 4096, 64, true) AS geom
                  FROM services s, b WHERE s.geom && ST_Transform(b.env, 4326)
              ) t WHERE geom IS NOT NULL",
    },
];

const MAX_ZOOM: u32 = 22;

fn bad_tile(message: String) -> ApiError {
    ApiError::bad_request("invalid_tile", message)
}

/// A vector tile of one layer. Empty tiles are 204.
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}.mvt", tag = "map",
    params(
        ("layer" = String, Path, description = "`districts`, `streets`, `communities`, `grids`, `services`, \
            the base map's `roads`, `water`, `landmarks` and the admin areas' label points `places` (public); `components`, `cases` (staff)",
            pattern = "^(districts|streets|communities|grids|services|roads|water|landmarks|places|components|cases)$"),
        ("z" = u32, Path, description = "Zoom 0–22", maximum = 22),
        ("x" = u32, Path),
        ("y" = u32, Path),
        CaseQuery,
    ),
    responses(
        (status = 200, description = "The tile", content_type = "application/vnd.mapbox-vector-tile", body = Vec<u8>),
        (status = 204, description = "Nothing in this tile"),
        (status = 404, description = "No such layer", body = ErrorBody),
    ))]
pub(crate) async fn tile(
    MaybeCaller(caller): MaybeCaller,
    State(state): State<AppState>,
    Path((layer, z, x, tile)): Path<(String, String, String, String)>,
    Params(filter, _): Params<CaseQuery>,
) -> ApiResult<Response> {
    let Some(layer) = LAYERS.iter().chain([&CASES]).find(|l| l.name == layer) else {
        let names: Vec<&str> = LAYERS.iter().chain([&CASES]).map(|l| l.name).collect();
        return Err(ApiError::not_found(
            "unknown_layer",
            format!("no layer {layer:?}: {}", names.join(", ")),
        ));
    };
    let y = tile
        .strip_suffix(".mvt")
        .ok_or_else(|| bad_tile(format!("{tile:?}: tiles are Y.mvt")))?;
    let number = |s: &str| s.parse::<u32>().ok();
    let (Some(z), Some(x), Some(y)) = (number(&z), number(&x), number(y)) else {
        return Err(bad_tile("z, x and y must be whole numbers".into()));
    };
    if z > MAX_ZOOM || x >= 1 << z || y >= 1 << z {
        return Err(bad_tile(format!(
            "no tile {z}/{x}/{y}: zoom 0–{MAX_ZOOM}, x and y below 2^zoom"
        )));
    }
    match (&caller, layer.staff_only) {
        (_, false) => {}
        (None, true) => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!("the {} layer is for staff: sign in", layer.name),
            ));
        }
        (Some(user), true) => {
            if user.role == Role::Kiosk {
                return Err(forbidden(format!("the {} layer is for staff", layer.name)));
            }
        }
    }
    let empty = || StatusCode::NO_CONTENT.into_response();
    if z < layer.min_zoom {
        return Ok(empty());
    }
    let zxy = (z as i32, x as i32, y as i32);
    let bytes = match &caller {
        Some(user) if layer.name == CASES.name => {
            let f = user_filter(user, &filter)?;
            cases::case_tile(state.stale_reads.pool(), &f, zxy, state.clock.now()).await?
        }
        _ => {
            sqlx::query_scalar::<_, Option<Vec<u8>>>(sqlx::AssertSqlSafe(layer.sql))
                .bind(zxy.0)
                .bind(zxy.1)
                .bind(zxy.2)
                .fetch_one(state.stale_reads.pool())
                .await?
        }
    };
    let bytes = bytes.unwrap_or_default();
    if bytes.is_empty() {
        return Ok(empty());
    }
    let cache = if layer.staff_only {
        "private, max-age=5"
    } else {
        "public, max-age=300"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.mapbox-vector-tile"),
            (header::CACHE_CONTROL, cache),
        ],
        Body::from(bytes),
    )
        .into_response())
}
