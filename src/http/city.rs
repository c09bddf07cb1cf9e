//! Geocoding: `/api/v1/locate` and `/api/v1/services/nearby`.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::query::Params;
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

#[derive(Debug, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocateQuery {
    /// WGS-84 longitude.
    #[param(required = true, value_type = f64, minimum = -180.0, maximum = 180.0)]
    lon: Option<String>,
    /// WGS-84 latitude.
    #[param(required = true, value_type = f64, minimum = -90.0, maximum = 90.0)]
    lat: Option<String>,
    /// Only components of this class (4 digits).
    #[param(pattern = "^[0-9]{4}$")]
    class: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearbyQuery {
    /// WGS-84 longitude.
    #[param(required = true, value_type = f64, minimum = -180.0, maximum = 180.0)]
    lon: Option<String>,
    /// WGS-84 latitude.
    #[param(required = true, value_type = f64, minimum = -90.0, maximum = 90.0)]
    lat: Option<String>,
    /// A category such as `hospital`, `toilet` or `bus_stop`.
    #[param(pattern = "^[a-z][a-z0-9_]{0,31}$")]
    category: Option<String>,
    /// 1–100 (default 10).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
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

#[derive(Serialize, ToSchema)]
pub struct GridRef {
    code: String,
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct NearComponent {
    code: String,
    class: String,
    name: String,
    distance_m: f64,
}

#[derive(Serialize, ToSchema)]
pub struct Located {
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

/// Where a point is: its unit grid, community, street and district, and the
/// components nearby (nearest first).
#[utoipa::path(get, path = "/api/v1/locate", tag = "city", params(LocateQuery),
    responses(
        (status = 200, description = "The place", body = Located),
        (status = 404, description = "The point lies outside every unit grid", body = ErrorBody),
    ))]
pub(crate) async fn locate(
    State(state): State<AppState>,
    Params(p, _): Params<LocateQuery>,
) -> ApiResult<Json<Located>> {
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

#[derive(Serialize, ToSchema)]
pub struct NearService {
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

#[derive(Serialize, ToSchema)]
pub struct NearbyServices {
    services: Vec<NearService>,
}

pub const SERVICES_DEFAULT_LIMIT: usize = 10;
pub const SERVICES_MAX_LIMIT: usize = 100;

/// Public services near a point (hospitals, toilets, bus stops …), nearest first.
#[utoipa::path(get, path = "/api/v1/services/nearby", tag = "city", params(NearbyQuery),
    responses((status = 200, description = "The services", body = NearbyServices)))]
pub(crate) async fn services_nearby(
    State(state): State<AppState>,
    Params(p, _): Params<NearbyQuery>,
) -> ApiResult<Json<NearbyServices>> {
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

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Class {
    /// `component` or `event`.
    pub kind: String,
    /// 4 digits.
    pub code: String,
    pub major: String,
    pub major_name: String,
    pub name: String,
    pub name_en: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Classes {
    pub classes: Vec<Class>,
}

/// The class catalogue (GB/T 30428), for pickers.
#[utoipa::path(get, path = "/api/v1/classes", tag = "city",
    responses((status = 200, description = "Every class", body = Classes)))]
pub(crate) async fn classes(State(state): State<AppState>) -> ApiResult<Json<Classes>> {
    let classes = sqlx::query_as(
        "SELECT kind, code, major, major_name, name, name_en FROM classes ORDER BY kind, code",
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(Classes { classes }))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Departments {
    pub departments: Vec<Department>,
}

/// The departments cases go to.
#[utoipa::path(get, path = "/api/v1/departments", tag = "city",
    responses((status = 200, description = "Every department", body = Departments)))]
pub(crate) async fn departments(State(state): State<AppState>) -> ApiResult<Json<Departments>> {
    let departments = sqlx::query_as("SELECT code, name, phone FROM departments ORDER BY code")
        .fetch_all(&state.pool)
        .await?;
    Ok(Json(Departments { departments }))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct NamedArea {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Areas {
    pub districts: Vec<NamedArea>,
    pub streets: Vec<NamedArea>,
}

/// Districts and streets with names, for filters.
#[utoipa::path(get, path = "/api/v1/areas", tag = "city",
    responses((status = 200, description = "Districts and streets", body = Areas)))]
pub(crate) async fn areas(State(state): State<AppState>) -> ApiResult<Json<Areas>> {
    let districts = sqlx::query_as("SELECT code, name FROM districts ORDER BY code")
        .fetch_all(&state.pool)
        .await?;
    let streets = sqlx::query_as("SELECT code, name FROM streets ORDER BY code")
        .fetch_all(&state.pool)
        .await?;
    Ok(Json(Areas { districts, streets }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MapConfig {
    /// `[min_lon, min_lat, max_lon, max_lat]` of the unit grids; none before an import.
    pub bounds: Option<[f64; 4]>,
    /// `[lon, lat]`.
    pub center: Option<[f64; 2]>,
    /// A base map style URL, when one is configured (`CITYGRID_BASEMAP_STYLE`).
    pub basemap_style: Option<String>,
}

/// What the web map starts from: the city's extent and centre, and the base
/// map style when one is configured.
#[utoipa::path(get, path = "/api/v1/map-config", tag = "city",
    responses((status = 200, description = "The map's start", body = MapConfig)))]
pub(crate) async fn map_config(State(state): State<AppState>) -> ApiResult<Json<MapConfig>> {
    let extent: Option<(f64, f64, f64, f64)> = sqlx::query_as(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM grids) x WHERE e IS NOT NULL",
    )
    .fetch_optional(&state.pool)
    .await?;
    Ok(Json(MapConfig {
        bounds: extent.map(|(x0, y0, x1, y1)| [x0, y0, x1, y1]),
        center: extent.map(|(x0, y0, x1, y1)| [(x0 + x1) / 2.0, (y0 + y1) / 2.0]),
        basemap_style: state.basemap_style.as_deref().map(str::to_owned),
    }))
}
