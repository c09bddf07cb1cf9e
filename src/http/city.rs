//! Geocoding: `/api/v1/locate` and `/api/v1/services/nearby`.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::index::{AreaRef, COMPONENT_LIMIT, COMPONENT_RADIUS_M};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/locate", get(locate))
        .route("/api/v1/services/nearby", get(services_nearby))
        .route("/api/v1/classes", get(classes))
        .route("/api/v1/departments", get(departments))
        .route("/api/v1/areas", get(areas))
        .route("/api/v1/map-config", get(map_config))
}

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn params(q: Params) -> ApiResult<HashMap<String, String>> {
    q.map(|Query(p)| p)
        .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
}

/// Reads `lon` and `lat` as WGS-84 degrees.
pub fn coordinates(p: &HashMap<String, String>) -> ApiResult<(f64, f64)> {
    let read = |key: &str| -> ApiResult<f64> {
        let raw = p.get(key).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_coordinates",
                format!("{key} is required (WGS-84 degrees)"),
            )
        })?;
        raw.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_coordinates",
                    format!("{key}={raw:?} is not a number"),
                )
            })
    };
    let (lon, lat) = (read("lon")?, read("lat")?);
    check_wgs84(lon, lat)?;
    Ok((lon, lat))
}

/// Refuses anything but finite WGS-84 longitude/latitude degrees.
pub fn check_wgs84(lon: f64, lat: f64) -> ApiResult<()> {
    if !lon.is_finite()
        || !lat.is_finite()
        || !(-180.0..=180.0).contains(&lon)
        || !(-90.0..=90.0).contains(&lat)
    {
        return Err(ApiError::bad_request(
            "invalid_coordinates",
            format!("({lon}, {lat}) is outside WGS-84 longitude [-180, 180] / latitude [-90, 90]"),
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct GridRef {
    code: String,
    name: String,
}

#[derive(Serialize)]
struct NearComponent {
    code: String,
    class: String,
    name: String,
    distance_m: f64,
}

#[derive(Serialize)]
struct Located {
    lon: f64,
    lat: f64,
    grid: GridRef,
    community: AreaRef,
    street: AreaRef,
    district: AreaRef,
    components: Vec<NearComponent>,
}

fn round_dm(m: f64) -> f64 {
    (m * 10.0).round() / 10.0
}

async fn locate(State(state): State<AppState>, q: Params) -> ApiResult<Json<Located>> {
    let p = params(q)?;
    let (lon, lat) = coordinates(&p)?;
    let class = match p.get("class").map(|c| c.trim()).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) if c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit()) => c.parse::<u16>().ok(),
        Some(c) => {
            return Err(ApiError::bad_request(
                "invalid_class",
                format!("class {c:?} must be a 4-digit component class code"),
            ));
        }
    };
    let index = state.city.get();
    let place = index.place(lon, lat).ok_or_else(|| {
        ApiError::not_found(
            "outside_coverage",
            format!("({lon}, {lat}) lies outside every unit grid of the city"),
        )
    })?;
    let components = index
        .components_near(lon, lat, class, COMPONENT_RADIUS_M, COMPONENT_LIMIT)
        .into_iter()
        .map(|(c, d)| NearComponent {
            code: c.code_str(),
            class: c.class_str(),
            name: c.name.to_string(),
            distance_m: round_dm(d),
        })
        .collect();
    Ok(Json(Located {
        lon,
        lat,
        grid: GridRef {
            code: place.grid.code.clone(),
            name: place.grid.name.clone(),
        },
        community: place.community,
        street: place.street,
        district: place.district,
        components,
    }))
}

#[derive(Serialize)]
struct NearService {
    id: String,
    category: String,
    name: String,
    address: String,
    phone: String,
    hours: String,
    lon: f64,
    lat: f64,
    distance_m: f64,
}

#[derive(Serialize)]
struct NearbyServices {
    services: Vec<NearService>,
}

pub const SERVICES_DEFAULT_LIMIT: usize = 10;
pub const SERVICES_MAX_LIMIT: usize = 100;

async fn services_nearby(
    State(state): State<AppState>,
    q: Params,
) -> ApiResult<Json<NearbyServices>> {
    let p = params(q)?;
    let (lon, lat) = coordinates(&p)?;
    let limit = match p.get("limit").map(|l| l.trim()).filter(|l| !l.is_empty()) {
        None => SERVICES_DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=SERVICES_MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_limit",
                    format!("limit {l:?} must be a whole number from 1 to {SERVICES_MAX_LIMIT}"),
                )
            })?,
    };
    let category = p
        .get("category")
        .map(|c| c.trim())
        .filter(|c| !c.is_empty());
    if let Some(c) = category
        && !crate::domain::codes::is_department_code(c)
    {
        return Err(ApiError::bad_request(
            "invalid_category",
            format!(
                "category {c:?} must be a lower-case word such as hospital, toilet or bus_stop"
            ),
        ));
    }
    let index = state.city.get();
    let services = index
        .services_near(lon, lat, category, limit)
        .into_iter()
        .map(|(s, d)| NearService {
            id: s.id.clone(),
            category: s.category.clone(),
            name: s.name.clone(),
            address: s.address.clone(),
            phone: s.phone.clone(),
            hours: s.hours.clone(),
            lon: s.lon,
            lat: s.lat,
            distance_m: round_dm(d),
        })
        .collect();
    Ok(Json(NearbyServices { services }))
}

/// The class catalogue, for pickers: `{"classes":[{"kind","code","major","major_name","name","name_en"}]}`.
async fn classes(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT kind, code, major, major_name, name, name_en FROM classes ORDER BY kind, code",
    )
    .fetch_all(&state.pool)
    .await?;
    let classes: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(kind, code, major, major_name, name, name_en)| {
            serde_json::json!({"kind": kind, "code": code, "major": major, "major_name": major_name, "name": name, "name_en": name_en})
        })
        .collect();
    Ok(Json(serde_json::json!({"classes": classes})))
}

/// The departments cases go to: `{"departments":[{"code","name","phone"}]}`.
async fn departments(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT code, name, phone FROM departments ORDER BY code")
            .fetch_all(&state.pool)
            .await?;
    let departments: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(code, name, phone)| serde_json::json!({"code": code, "name": name, "phone": phone}))
        .collect();
    Ok(Json(serde_json::json!({"departments": departments})))
}

/// Districts and streets with names, for filters: `{"districts":[{"code","name"}],"streets":[…]}`.
async fn areas(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let mut out = serde_json::Map::new();
    for table in ["districts", "streets"] {
        let rows: Vec<(String, String)> =
            sqlx::query_as(sql!("SELECT code, name FROM {table} ORDER BY code"))
                .fetch_all(&state.pool)
                .await?;
        let list: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|(code, name)| serde_json::json!({"code": code, "name": name}))
            .collect();
        out.insert(table.to_owned(), list.into());
    }
    Ok(Json(out.into()))
}

/// What the web map starts from: the city's extent and centre, and the base
/// map style when one is configured (`CITYGRID_BASEMAP_STYLE`).
async fn map_config(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let extent: Option<(f64, f64, f64, f64)> = sqlx::query_as(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM grids) x WHERE e IS NOT NULL",
    )
    .fetch_optional(&state.pool)
    .await?;
    let (bounds, center) = match extent {
        Some((x0, y0, x1, y1)) => (
            serde_json::json!([x0, y0, x1, y1]),
            serde_json::json!([(x0 + x1) / 2.0, (y0 + y1) / 2.0]),
        ),
        None => (serde_json::Value::Null, serde_json::Value::Null),
    };
    Ok(Json(serde_json::json!({
        "bounds": bounds,
        "center": center,
        "basemap_style": state.basemap_style.as_deref(),
    })))
}
