//! `citygrid export DIR`: the stored city data written back in the import
//! format, so that importing the export changes nothing. Coordinates are
//! written from the stored doubles with the shortest text that reads back to
//! the same double; large tables are streamed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use futures_util::TryStreamExt;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::domain::calendar::CalendarConfig;
use crate::import::records::Dataset;
use crate::index::wkb;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Data(String),
}

/// What was written: (file, rows).
pub type ExportReport = Vec<(&'static str, usize)>;

/// A FeatureCollection written feature by feature.
struct Collection {
    out: BufWriter<File>,
    n: usize,
}

impl Collection {
    fn create(path: &Path) -> std::io::Result<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(br#"{"type":"FeatureCollection","features":["#)?;
        Ok(Self { out, n: 0 })
    }
    fn feature(&mut self, geometry: Value, properties: Value) -> std::io::Result<()> {
        if self.n > 0 {
            self.out.write_all(b",\n")?;
        }
        let f = json!({"type": "Feature", "geometry": geometry, "properties": properties});
        serde_json::to_writer(&mut self.out, &f)?;
        self.n += 1;
        Ok(())
    }
    fn finish(mut self) -> std::io::Result<usize> {
        self.out.write_all(b"]}\n")?;
        self.out.flush()?;
        Ok(self.n)
    }
}

fn multipolygon(bytes: &[u8]) -> Result<Value, ExportError> {
    let mp = wkb::decode_multipolygon(bytes).map_err(|e| ExportError::Data(e.to_string()))?;
    let polys: Vec<Value> =
        mp.0.iter()
            .map(|p| {
                let ring = |r: &geo::LineString<f64>| -> Value {
                    r.0.iter().map(|c| json!([c.x, c.y])).collect()
                };
                let mut rings = vec![ring(p.exterior())];
                rings.extend(p.interiors().iter().map(ring));
                Value::Array(rings)
            })
            .collect();
    Ok(json!({"type": "MultiPolygon", "coordinates": polys}))
}

/// The columns and query of each data set held as a CSV table.
fn csv_table(ds: Dataset) -> Option<(&'static [&'static str], &'static str)> {
    Some(match ds {
        Dataset::Departments => (
            &["code", "name", "phone"],
            "SELECT code, name, phone FROM departments ORDER BY code",
        ),
        Dataset::Classes => (
            &["kind", "code", "major", "major_name", "name", "name_en"],
            "SELECT kind, code, major, major_name, name, name_en FROM classes ORDER BY kind DESC, code",
        ),
        Dataset::Routing => (
            &["kind", "class", "area", "department"],
            "SELECT kind, class, area, department FROM routing_rules ORDER BY kind DESC, class, area",
        ),
        Dataset::Sla => (
            &["kind", "class", "urgent", "stage", "amount", "unit"],
            "SELECT kind, class, urgent, stage, amount::text, unit FROM sla_rules ORDER BY kind, class, urgent, stage",
        ),
        Dataset::CaseRules => (
            &["kind", "class", "duplicate_radius_m", "duplicates", "auto_file", "auto_dispatch"],
            "SELECT kind, class, duplicate_radius_m::text, duplicates,
                    CASE WHEN auto_file THEN 'yes' ELSE 'no' END, CASE WHEN auto_dispatch THEN 'yes' ELSE 'no' END
             FROM case_rules ORDER BY kind, class",
        ),
        _ => return None,
    })
}

/// The columns of a CSV data set, in file order.
pub fn columns(ds: Dataset) -> &'static [&'static str] {
    csv_table(ds).map_or(&[], |(columns, _)| columns)
}

/// A configuration data set (the CSV tables and the calendar) as its file
/// holds it, or `None` when nothing is stored. The admin page's edits are
/// versioned by this text, so an exported file imports as unchanged.
pub async fn config_text(
    conn: &mut sqlx::PgConnection,
    ds: Dataset,
) -> Result<Option<Vec<u8>>, ExportError> {
    if ds == Dataset::Calendar {
        let calendar: Option<sqlx::types::Json<CalendarConfig>> =
            sqlx::query_scalar("SELECT config FROM calendar LIMIT 1")
                .fetch_optional(conn)
                .await?;
        return calendar
            .map(|cal| toml::to_string(&cal.0).map(String::into_bytes))
            .transpose()
            .map_err(|e| ExportError::Data(e.to_string()));
    }
    let Some((header, sql)) = csv_table(ds) else {
        return Err(ExportError::Data(format!("{} is not a table", ds.file())));
    };
    let rows = text_rows(conn, sql).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let data = |e: csv::Error| ExportError::Data(e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(data)?;
    for r in &rows {
        w.write_record(r).map_err(data)?;
    }
    w.into_inner()
        .map(Some)
        .map_err(|e| ExportError::Data(e.to_string()))
}

async fn text_rows(
    conn: &mut sqlx::PgConnection,
    sql: &'static str,
) -> Result<Vec<Vec<String>>, sqlx::Error> {
    use sqlx::Row;
    let rows = sqlx::query(sql).fetch_all(conn).await?;
    Ok(rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.get::<Option<String>, _>(i).unwrap_or_default())
                .collect()
        })
        .collect())
}

/// Writes every data set that holds rows into `dir`.
pub async fn export_dir(pool: &PgPool, dir: &Path) -> Result<ExportReport, ExportError> {
    std::fs::create_dir_all(dir)?;
    let mut report = Vec::new();

    let mut conn = pool.acquire().await?;
    for ds in [
        Dataset::Departments,
        Dataset::Classes,
        Dataset::Routing,
        Dataset::Sla,
        Dataset::CaseRules,
        Dataset::Calendar,
    ] {
        if let Some(text) = config_text(&mut conn, ds).await? {
            std::fs::write(dir.join(ds.file()), &text)?;
            let rows = if ds == Dataset::Calendar {
                1
            } else {
                csv::Reader::from_reader(text.as_slice()).records().count()
            };
            report.push((ds.file(), rows));
        }
    }
    drop(conn);

    for (file, table) in [
        ("districts.geojson", "districts"),
        ("streets.geojson", "streets"),
        ("communities.geojson", "communities"),
        ("grids.geojson", "grids"),
    ] {
        let mut c = Collection::create(&dir.join(file))?;
        let mut rows = sqlx::query_as::<_, (String, String, Vec<u8>)>(sql!(
            "SELECT code, name, ST_AsBinary(geom) FROM {table} ORDER BY code"
        ))
        .fetch(pool);
        while let Some((code, name, geom)) = rows.try_next().await? {
            c.feature(multipolygon(&geom)?, json!({"code": code, "name": name}))?;
        }
        let n = c.finish()?;
        if n == 0 {
            std::fs::remove_file(dir.join(file))?;
        } else {
            report.push((file, n));
        }
    }

    let mut c = Collection::create(&dir.join("components.geojson"))?;
    let mut rows = sqlx::query_as::<_, (String, String, String, String, Option<String>, Option<String>, String, f64, f64)>(
        "SELECT code, class, name, dept_competent, dept_owner, dept_maintainer, state, ST_X(geom), ST_Y(geom)
         FROM components ORDER BY code",
    )
    .fetch(pool);
    while let Some((code, class, name, competent, owner, maintainer, state, x, y)) =
        rows.try_next().await?
    {
        c.feature(
            json!({"type": "Point", "coordinates": [x, y]}),
            json!({"code": code, "class": class, "name": name, "dept_competent": competent,
                   "dept_owner": owner.unwrap_or_default(), "dept_maintainer": maintainer.unwrap_or_default(), "state": state}),
        )?;
    }
    report.push(("components.geojson", c.finish()?));

    let mut c = Collection::create(&dir.join("services.geojson"))?;
    let mut rows = sqlx::query_as::<_, (String, String, String, String, String, String, f64, f64)>(
        "SELECT id, category, name, address, phone, hours, ST_X(geom), ST_Y(geom) FROM services ORDER BY id",
    )
    .fetch(pool);
    while let Some((id, category, name, address, phone, hours, x, y)) = rows.try_next().await? {
        c.feature(
            json!({"type": "Point", "coordinates": [x, y]}),
            json!({"id": id, "category": category, "name": name, "address": address, "phone": phone, "hours": hours}),
        )?;
    }
    report.push(("services.geojson", c.finish()?));

    // The base map, in the file's order; a layer the city has not is not written.
    for (ds, class) in [
        (Dataset::Roads, "class"),
        (Dataset::Water, ""),
        (Dataset::Landmarks, "kind"),
    ] {
        let (file, table) = (ds.file(), ds.table());
        let class_column = if class.is_empty() { "''" } else { class };
        let mut c = Collection::create(&dir.join(file))?;
        let mut rows = sqlx::query_as::<_, (String, String, String, sqlx::types::Json<Value>)>(
            sql!("SELECT name, name_en, {class_column}, ST_AsGeoJSON(geom, 15)::json FROM {table} ORDER BY id"),
        )
        .fetch(pool);
        while let Some((name, name_en, value, geom)) = rows.try_next().await? {
            let mut props = serde_json::Map::new();
            props.insert("name".into(), name.into());
            if !name_en.is_empty() {
                props.insert("name_en".into(), name_en.into());
            }
            if !class.is_empty() {
                props.insert(class.into(), value.into());
            }
            c.feature(geom.0, Value::Object(props))?;
        }
        let n = c.finish()?;
        if n == 0 {
            std::fs::remove_file(dir.join(file))?;
        } else {
            report.push((file, n));
        }
    }

    Ok(report)
}
