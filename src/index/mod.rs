//! The in-memory cell-grid index and geocoder: point → unit grid → community →
//! street → district, and the nearest components and public services.
//! Built from the store at start-up and swapped whole after an import.

pub mod grid_index;
pub mod pip;
pub mod points;
pub mod wkb;

use std::collections::HashMap;
use std::sync::Arc;

use grid_index::{GridIndex, IndexedGrid};
use points::PointIndex;

/// A component as the geocoder needs it (compact: a million of them stay small).
#[derive(Debug, Clone)]
pub struct ComponentPoint {
    /// The 16-digit code as a number; `code_str` gives the zero-padded text.
    pub code: u64,
    /// The 4-digit class as a number.
    pub class: u16,
    pub name: Arc<str>,
    pub lon: f64,
    pub lat: f64,
}

impl ComponentPoint {
    pub fn code_str(&self) -> String {
        format!("{:016}", self.code)
    }
    pub fn class_str(&self) -> String {
        format!("{:04}", self.class)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ServicePoint {
    pub id: String,
    pub category: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub hours: String,
    pub lon: f64,
    pub lat: f64,
}

/// An admin area named by code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AreaRef {
    pub code: String,
    pub name: Option<String>,
}

/// Where a point is.
#[derive(Debug, Clone)]
pub struct Place<'a> {
    pub grid: &'a IndexedGrid,
    pub community: AreaRef,
    pub street: AreaRef,
    pub district: AreaRef,
}

/// Radius within which `locate` lists components.
pub const COMPONENT_RADIUS_M: f64 = 50.0;
pub const COMPONENT_LIMIT: usize = 10;

#[derive(Debug, Default)]
pub struct CityIndex {
    pub grids: GridIndex,
    /// District, street and community names by code.
    pub areas: HashMap<String, String>,
    pub components: PointIndex<ComponentPoint>,
    pub services: PointIndex<ServicePoint>,
}

impl CityIndex {
    pub fn build(
        grids: Vec<IndexedGrid>,
        areas: HashMap<String, String>,
        components: Vec<ComponentPoint>,
        services: Vec<ServicePoint>,
    ) -> Self {
        Self {
            grids: GridIndex::build(grids),
            areas,
            components: PointIndex::build(components, |c| (c.lon, c.lat)),
            services: PointIndex::build(services, |s| (s.lon, s.lat)),
        }
    }

    pub fn area(&self, code: &str) -> AreaRef {
        AreaRef {
            code: code.to_owned(),
            name: self.areas.get(code).cloned(),
        }
    }

    /// The unit grid covering the point and the admin areas its code names.
    pub fn place(&self, lon: f64, lat: f64) -> Option<Place<'_>> {
        let grid = self.grids.locate(lon, lat)?;
        let code = grid.code.as_str();
        Some(Place {
            grid,
            community: self.area(&code[..12]),
            street: self.area(&code[..9]),
            district: self.area(&code[..6]),
        })
    }

    /// Components within `radius_m`, nearest first, optionally of one class.
    pub fn components_near(
        &self,
        lon: f64,
        lat: f64,
        class: Option<u16>,
        radius_m: f64,
        limit: usize,
    ) -> Vec<(&ComponentPoint, f64)> {
        self.components
            .nearest(lon, lat, Some(radius_m), limit, |c| {
                class.is_none_or(|k| c.class == k)
            })
    }

    /// Public services nearest first, optionally of one category.
    pub fn services_near(
        &self,
        lon: f64,
        lat: f64,
        category: Option<&str>,
        limit: usize,
    ) -> Vec<(&ServicePoint, f64)> {
        self.services.nearest(lon, lat, None, limit, |s| {
            category.is_none_or(|c| s.category == c)
        })
    }
}

/// The index the server answers from, replaced whole when new city data arrives:
/// readers hold an `Arc` to the version they started with.
#[derive(Debug, Default)]
pub struct SharedIndex {
    current: std::sync::RwLock<Arc<CityIndex>>,
}

impl SharedIndex {
    pub fn new(index: CityIndex) -> Self {
        Self {
            current: std::sync::RwLock::new(Arc::new(index)),
        }
    }

    pub fn get(&self) -> Arc<CityIndex> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, index: CityIndex) {
        let new = Arc::new(index);
        match self.current.write() {
            Ok(mut guard) => *guard = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }
}
