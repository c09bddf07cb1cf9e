//! Writing data sets into PostGIS (COPY, inside the import's one transaction)
//! and the checks that only the database can make: geometry validity and
//! repair, overlaps, code prefixes against the areas features lie in, points
//! outside every grid, and references to classes and departments.

use std::collections::{HashMap, HashSet};

use geo::{MultiLineString, MultiPolygon, Point};
use sqlx::PgConnection;

use super::records::{Dataset, Problems};
use crate::index::wkb;

/// Rows in PostgreSQL COPY text format, sent in chunks.
pub struct CopyRows {
    buf: String,
    first_field: bool,
}

impl Default for CopyRows {
    fn default() -> Self {
        Self::new()
    }
}

impl CopyRows {
    pub fn new() -> Self {
        Self {
            buf: String::with_capacity(1 << 20),
            first_field: true,
        }
    }

    fn sep(&mut self) {
        if !self.first_field {
            self.buf.push('\t');
        }
        self.first_field = false;
    }

    pub fn text(&mut self, s: &str) -> &mut Self {
        self.sep();
        for ch in s.chars() {
            match ch {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
        self
    }

    pub fn opt(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => {
                self.sep();
                self.buf.push_str("\\N");
                self
            }
        }
    }

    pub fn polygons(&mut self, g: &MultiPolygon<f64>) -> &mut Self {
        self.sep();
        wkb::hex(&wkb::encode_multipolygon(g), &mut self.buf);
        self
    }

    pub fn lines(&mut self, g: &MultiLineString<f64>) -> &mut Self {
        self.sep();
        wkb::hex(&wkb::encode_multilinestring(g), &mut self.buf);
        self
    }

    pub fn point(&mut self, p: Point<f64>) -> &mut Self {
        self.sep();
        wkb::hex(&wkb::encode_point(p), &mut self.buf);
        self
    }

    pub fn end_row(&mut self) {
        self.buf.push('\n');
        self.first_field = true;
    }

    fn is_full(&self) -> bool {
        self.buf.len() >= 1 << 20
    }
}

/// Streams rows into `COPY table (columns)`; `fill` writes one record's row.
pub async fn copy_in<T>(
    conn: &mut PgConnection,
    table: &str,
    columns: &str,
    records: &[T],
    mut fill: impl FnMut(&T, &mut CopyRows),
) -> Result<u64, sqlx::Error> {
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN"))
        .await?;
    let mut rows = CopyRows::new();
    for r in records {
        fill(r, &mut rows);
        rows.end_row();
        if rows.is_full() {
            copy.send(std::mem::take(&mut rows.buf).into_bytes())
                .await?;
            rows.buf.reserve(1 << 20);
        }
    }
    if !rows.buf.is_empty() {
        copy.send(rows.buf.into_bytes()).await?;
    }
    copy.finish().await
}

/// Empties a data set's table before it is loaded again; drops its spatial index
/// so that the load is a bulk COPY followed by one index build.
pub async fn clear(conn: &mut PgConnection, ds: Dataset) -> Result<(), sqlx::Error> {
    let t = ds.table();
    sqlx::query(sql!("TRUNCATE {t}"))
        .execute(&mut *conn)
        .await?;
    if has_geometry(ds) {
        sqlx::query(sql!("DROP INDEX IF EXISTS {t}_geom_idx"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub fn has_geometry(ds: Dataset) -> bool {
    !matches!(
        ds,
        Dataset::Departments
            | Dataset::Classes
            | Dataset::Routing
            | Dataset::Sla
            | Dataset::CaseRules
            | Dataset::Calendar
    )
}

pub async fn index_and_analyze(conn: &mut PgConnection, ds: Dataset) -> Result<(), sqlx::Error> {
    let t = ds.table();
    if has_geometry(ds) {
        sqlx::query(sql!(
            "CREATE INDEX IF NOT EXISTS {t}_geom_idx ON {t} USING gist (geom)"
        ))
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(sql!("ANALYZE {t}")).execute(&mut *conn).await?;
    Ok(())
}

/// Lists invalid polygons, repairs them with ST_MakeValid, and reports those
/// that nothing polygonal is left of as errors.
pub async fn repair_polygons(
    conn: &mut PgConnection,
    ds: Dataset,
    feature_of: &HashMap<String, usize>,
    problems: &mut Problems,
) -> Result<(), sqlx::Error> {
    let t = ds.table();
    let invalid: Vec<(String, String)> = sqlx::query_as(sql!(
        "SELECT code, ST_IsValidReason(geom) FROM {t} WHERE ST_IsValidReason(geom) <> 'Valid Geometry' ORDER BY code"
    ))
    .fetch_all(&mut *conn)
    .await?;
    if invalid.is_empty() {
        return Ok(());
    }
    let codes: Vec<String> = invalid.iter().map(|(c, _)| c.clone()).collect();
    sqlx::query(sql!(
        "UPDATE {t} SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3)) WHERE code = ANY($1)"
    ))
    .bind(&codes)
    .execute(&mut *conn)
    .await?;
    let empty: HashSet<String> = sqlx::query_scalar(sql!(
        "SELECT code FROM {t} WHERE code = ANY($1) AND (ST_IsEmpty(geom) OR ST_Area(geom) = 0)"
    ))
    .bind(&codes)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    for (code, reason) in invalid {
        let at = at_feature(feature_of, &code);
        if empty.contains(&code) {
            problems.error(
                ds,
                at,
                "unrepairable_geometry",
                format!("{code}: {reason}; nothing polygonal is left after ST_MakeValid"),
            );
        } else {
            problems.warning(
                ds,
                at,
                "geometry_repaired",
                format!("{code}: {reason}; repaired with ST_MakeValid"),
            );
        }
    }
    Ok(())
}

fn at_feature(feature_of: &HashMap<String, usize>, code: &str) -> String {
    feature_of
        .get(code)
        .map(|i| format!("feature {i}"))
        .unwrap_or_default()
}

/// Unit grids whose interiors overlap by more than 1 m².
pub async fn check_overlaps(
    conn: &mut PgConnection,
    feature_of: &HashMap<String, usize>,
    problems: &mut Problems,
) -> Result<(), sqlx::Error> {
    let rows: Vec<(String, String, f64)> = sqlx::query_as(
        "SELECT a.code, b.code, ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS m2
           FROM grids a JOIN grids b ON a.code < b.code AND a.geom && b.geom
          WHERE ST_Relate(a.geom, b.geom, '2********')
          ORDER BY a.code, b.code",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (a, b, m2) in rows.into_iter().filter(|r| r.2 > 1.0) {
        problems.warning(
            Dataset::Grids,
            at_feature(feature_of, &a),
            "grids_overlap",
            format!("grid {a} overlaps grid {b} by {m2:.1} m²"),
        );
    }
    Ok(())
}

/// A feature whose code prefix names a different area than the one it lies in.
/// `child` rows are tested at a point on their surface against `parent` polygons.
pub async fn check_prefixes(
    conn: &mut PgConnection,
    child: Dataset,
    parent: Dataset,
    prefix_len: usize,
    feature_of: &HashMap<String, usize>,
    problems: &mut Problems,
) -> Result<(), sqlx::Error> {
    let parent_rows: i64 = sqlx::query_scalar(sql!("SELECT count(*) FROM {}", parent.table()))
        .fetch_one(&mut *conn)
        .await?;
    if parent_rows == 0 {
        return Ok(());
    }
    let c = child.table();
    let p = parent.table();
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(sql!(
        "SELECT x.code, found.code
           FROM {c} x
           LEFT JOIN LATERAL (
                SELECT p.code FROM {p} p
                 WHERE ST_Covers(p.geom, ST_PointOnSurface(x.geom))
                 ORDER BY p.code LIMIT 1) found ON true
          WHERE found.code IS DISTINCT FROM left(x.code, $1)
          ORDER BY x.code"
    ))
    .bind(prefix_len as i32)
    .fetch_all(&mut *conn)
    .await?;
    let level = parent.admin_level().map(|l| l.name()).unwrap_or("area");
    for (code, found) in rows {
        let says = &code[..prefix_len.min(code.len())];
        let message = match found {
            Some(f) => format!("{code} lies in {level} {f}, but its code says {level} {says}"),
            None => format!("{code} lies in no {level}; its code says {level} {says}"),
        };
        problems.warning(
            child,
            at_feature(feature_of, &code),
            "code_prefix_mismatch",
            message,
        );
    }
    Ok(())
}

/// Points (components, services) that no unit grid covers.
pub async fn check_points_outside_grids(
    conn: &mut PgConnection,
    ds: Dataset,
    feature_of: &HashMap<String, usize>,
    problems: &mut Problems,
) -> Result<(), sqlx::Error> {
    let (t, key) = match ds {
        Dataset::Components => ("components", "code"),
        Dataset::Services => ("services", "id"),
        _ => return Ok(()),
    };
    let rows: Vec<(String, f64, f64)> = sqlx::query_as(sql!(
        "SELECT x.{key}, ST_X(x.geom), ST_Y(x.geom) FROM {t} x
          WHERE NOT EXISTS (SELECT 1 FROM grids g WHERE ST_Covers(g.geom, x.geom))
          ORDER BY x.{key}"
    ))
    .fetch_all(&mut *conn)
    .await?;
    for (code, x, y) in rows {
        problems.warning(
            ds,
            at_feature(feature_of, &code),
            "outside_grids",
            format!("{code} at ({x}, {y}) lies outside every unit grid"),
        );
    }
    Ok(())
}

/// Stored rows that refer to classes or departments no longer in the catalogue
/// (possible when classes.csv or departments.csv is imported on its own).
pub async fn check_references(
    conn: &mut PgConnection,
    changed: &std::collections::HashSet<Dataset>,
    problems: &mut Problems,
) -> Result<(), sqlx::Error> {
    use Dataset::{Classes, Components, Departments, Routing};
    // Each check, run when a data set it reads has changed.
    let checks: [(&[Dataset], Dataset, &str, &str); 7] = [
        (
            &[Departments],
            Dataset::Departments,
            "department_in_use",
            "SELECT 'user ' || u.login || ': department ' || u.department FROM users u
              WHERE u.department IS NOT NULL AND u.disabled_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM departments p WHERE p.code = u.department) LIMIT 20",
        ),
        (
            &[Departments],
            Dataset::Departments,
            "department_in_use",
            "SELECT 'open case ' || c.case_no || ': department ' || c.department FROM cases c
              WHERE c.department IS NOT NULL AND c.state NOT IN ('closed', 'rejected', 'void')
                AND NOT EXISTS (SELECT 1 FROM departments p WHERE p.code = c.department) LIMIT 20",
        ),
        (
            &[Components, Classes],
            Dataset::Components,
            "unknown_class",
            "SELECT x.code || ': class ' || x.class FROM components x
              WHERE NOT EXISTS (SELECT 1 FROM classes c WHERE c.kind = 'component' AND c.code = x.class) LIMIT 20",
        ),
        (
            &[Components, Departments],
            Dataset::Components,
            "unknown_department",
            "SELECT x.code || ': department ' || d.dept FROM components x
              CROSS JOIN LATERAL (VALUES (x.dept_competent), (x.dept_owner), (x.dept_maintainer)) d(dept)
              WHERE d.dept IS NOT NULL AND NOT EXISTS (SELECT 1 FROM departments p WHERE p.code = d.dept) LIMIT 20",
        ),
        (
            &[Routing, Departments],
            Dataset::Routing,
            "unknown_department",
            "SELECT r.kind || ',' || r.class || ',' || r.area || ': department ' || r.department FROM routing_rules r
              WHERE NOT EXISTS (SELECT 1 FROM departments p WHERE p.code = r.department) LIMIT 20",
        ),
        (
            &[Routing, Classes],
            Dataset::Routing,
            "unknown_class",
            "SELECT r.kind || ',' || r.class || ',' || r.area FROM routing_rules r
              WHERE r.class <> '*' AND NOT EXISTS
                (SELECT 1 FROM classes c WHERE c.kind = r.kind AND c.code LIKE r.class || '%') LIMIT 20",
        ),
        (
            &[Classes, Components],
            Dataset::Classes,
            "unknown_class",
            "SELECT 'no classes' WHERE NOT EXISTS (SELECT 1 FROM classes) AND EXISTS (SELECT 1 FROM components) LIMIT 1",
        ),
    ];
    for (when, ds, kind, sql) in checks {
        if !when.iter().any(|d| changed.contains(d)) {
            continue;
        }
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut *conn).await?;
        for r in rows {
            problems.error(
                ds,
                "",
                kind,
                format!("stored data refers to what this import removes: {r}"),
            );
        }
    }
    Ok(())
}
