//! citygrid: city grid management and incident dispatch on PostGIS.
//!
//! Layout: `domain` (codes, case workflow, routing; no I/O) ← `index` (the in-memory cell-grid index and
//! geocoder) ← `store` (PostgreSQL + PostGIS) ← `import`, `sample_city` ←
//! `http` (one router per resource) ← `main` (the CLI).

/// SQL text with identifiers from our own fixed enums (never user input) spliced
/// in; values always travel as bind parameters.
macro_rules! sql {
    ($($arg:tt)*) => {
        sqlx::AssertSqlSafe(format!($($arg)*))
    };
}

pub mod bench;
pub mod clock;
pub mod domain;
pub mod export;
pub mod http;
pub mod import;
pub mod index;
pub mod sample_city;
pub mod store;
