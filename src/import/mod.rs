//! `citygrid import DIR`: the city data, validated and loaded in one transaction.
//!
//! Every present file is read and checked first; any error aborts before the
//! database is touched. Data sets whose file is byte-identical to the one last
//! imported are left as they are, so re-importing the same files changes nothing.
//! The rest are replaced (COPY), geometry is repaired and checked in PostGIS,
//! and on commit the running servers are told to rebuild their index.

pub mod edit;
pub mod geojson;
pub mod load;
pub mod records;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::domain::calendar::CalendarConfig;
use records::{
    AreaRecord, BaseGeometry, BaseRecord, CaseRuleRecord, Catalogue, ClassRecord, ComponentRecord,
    Dataset, DepartmentRecord, GridRecord, Problem, Problems, RoutingRecord, ServiceRecord,
    SlaRecord,
};

/// The channel on which an import announces new city data.
pub const CITY_DATA_CHANNEL: &str = "citygrid_city_data";

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Reload data sets even when their file is unchanged.
    pub force: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatasetOutcome {
    pub dataset: Dataset,
    pub file: &'static str,
    pub rows: usize,
    /// `loaded` or `unchanged`.
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub committed: bool,
    pub datasets: Vec<DatasetOutcome>,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl ImportReport {
    /// Warnings counted by kind, for the summary line.
    pub fn warning_counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts: HashMap<&'static str, usize> = HashMap::new();
        for w in &self.warnings {
            *counts.entry(w.kind).or_default() += 1;
        }
        let mut v: Vec<_> = counts.into_iter().collect();
        v.sort();
        v
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("reading files: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Default)]
struct Parsed {
    departments: Option<Vec<DepartmentRecord>>,
    classes: Option<Vec<ClassRecord>>,
    areas: HashMap<Dataset, Vec<AreaRecord>>,
    grids: Option<Vec<GridRecord>>,
    components: Option<Vec<ComponentRecord>>,
    services: Option<Vec<ServiceRecord>>,
    routing: Option<Vec<RoutingRecord>>,
    sla: Option<Vec<SlaRecord>>,
    case_rules: Option<Vec<CaseRuleRecord>>,
    calendar: Option<CalendarConfig>,
    base: HashMap<Dataset, Vec<BaseRecord>>,
}

impl Parsed {
    fn rows(&self, ds: Dataset) -> usize {
        match ds {
            Dataset::Departments => self.departments.as_ref().map_or(0, Vec::len),
            Dataset::Classes => self.classes.as_ref().map_or(0, Vec::len),
            Dataset::Grids => self.grids.as_ref().map_or(0, Vec::len),
            Dataset::Components => self.components.as_ref().map_or(0, Vec::len),
            Dataset::Services => self.services.as_ref().map_or(0, Vec::len),
            Dataset::Routing => self.routing.as_ref().map_or(0, Vec::len),
            Dataset::Sla => self.sla.as_ref().map_or(0, Vec::len),
            Dataset::CaseRules => self.case_rules.as_ref().map_or(0, Vec::len),
            Dataset::Calendar => usize::from(self.calendar.is_some()),
            Dataset::Roads | Dataset::Water | Dataset::Landmarks => {
                self.base.get(&ds).map_or(0, Vec::len)
            }
            _ => self.areas.get(&ds).map_or(0, Vec::len),
        }
    }

    /// Code (or id) → feature index, for naming features in database findings.
    fn feature_index(&self, ds: Dataset) -> HashMap<String, usize> {
        match ds {
            Dataset::Grids => self
                .grids
                .iter()
                .flatten()
                .map(|g| (g.code.as_str().to_owned(), g.index))
                .collect(),
            Dataset::Components => self
                .components
                .iter()
                .flatten()
                .map(|c| (c.code.as_str().to_owned(), c.index))
                .collect(),
            Dataset::Services => self
                .services
                .iter()
                .flatten()
                .map(|s| (s.id.clone(), s.index))
                .collect(),
            _ => self
                .areas
                .get(&ds)
                .into_iter()
                .flatten()
                .map(|a| (a.code.clone(), a.index))
                .collect(),
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    crate::store::hex(&Sha256::digest(bytes))
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(crate::store::hex(&hasher.finalize()))
}

async fn stored_catalogue(conn: &mut sqlx::PgConnection) -> Result<Catalogue, sqlx::Error> {
    let classes: Vec<(String, String)> = sqlx::query_as("SELECT kind, code FROM classes")
        .fetch_all(&mut *conn)
        .await?;
    let departments: Vec<String> = sqlx::query_scalar("SELECT code FROM departments")
        .fetch_all(&mut *conn)
        .await?;
    let mut cat = Catalogue {
        component_classes: HashSet::new(),
        event_classes: HashSet::new(),
        departments: departments.into_iter().collect(),
    };
    for (kind, code) in classes {
        if kind == "component" {
            cat.component_classes.insert(code);
        } else {
            cat.event_classes.insert(code);
        }
    }
    Ok(cat)
}

/// Reads and validates every present file (CPU work, run off the async threads).
fn parse_files(dir: &Path, present: &HashSet<Dataset>, mut cat: Catalogue) -> (Parsed, Problems) {
    let mut parsed = Parsed::default();
    let mut problems = Problems::default();
    let path = |ds: Dataset| dir.join(ds.file());
    if present.contains(&Dataset::Departments) {
        let d = records::read_departments(
            records::Rows::File(&path(Dataset::Departments)),
            &mut problems,
        );
        cat.departments = d.iter().map(|d| d.code.clone()).collect();
        parsed.departments = Some(d);
    }
    if present.contains(&Dataset::Classes) {
        let c = records::read_classes(records::Rows::File(&path(Dataset::Classes)), &mut problems);
        cat.component_classes.clear();
        cat.event_classes.clear();
        for class in &c {
            let set = match class.kind {
                crate::domain::codes::ClassKind::Component => &mut cat.component_classes,
                crate::domain::codes::ClassKind::Event => &mut cat.event_classes,
            };
            set.insert(class.code.as_str().to_owned());
        }
        parsed.classes = Some(c);
    }
    for ds in [Dataset::Districts, Dataset::Streets, Dataset::Communities] {
        if present.contains(&ds) {
            parsed
                .areas
                .insert(ds, records::read_areas(&path(ds), ds, &mut problems));
        }
    }
    if present.contains(&Dataset::Grids) {
        parsed.grids = Some(records::read_grids(&path(Dataset::Grids), &mut problems));
    }
    if present.contains(&Dataset::Components) {
        parsed.components = Some(records::read_components(
            &path(Dataset::Components),
            &cat,
            &mut problems,
        ));
    }
    if present.contains(&Dataset::Services) {
        parsed.services = Some(records::read_services(
            &path(Dataset::Services),
            &mut problems,
        ));
    }
    if present.contains(&Dataset::Routing) {
        parsed.routing = Some(records::read_routing(
            records::Rows::File(&path(Dataset::Routing)),
            &cat,
            &mut problems,
        ));
    }
    if present.contains(&Dataset::Sla) {
        parsed.sla = Some(records::read_sla(
            records::Rows::File(&path(Dataset::Sla)),
            &cat,
            &mut problems,
        ));
    }
    if present.contains(&Dataset::CaseRules) {
        parsed.case_rules = Some(records::read_case_rules(
            records::Rows::File(&path(Dataset::CaseRules)),
            &cat,
            &mut problems,
        ));
    }
    if present.contains(&Dataset::Calendar) {
        parsed.calendar = records::read_calendar(&path(Dataset::Calendar), &mut problems);
    }
    for ds in [Dataset::Roads, Dataset::Water, Dataset::Landmarks] {
        if present.contains(&ds) {
            let layer = records::read_base_layer(&path(ds), ds, &mut problems);
            parsed.base.insert(ds, layer);
        }
    }
    (parsed, problems)
}

/// Imports the city data in `dir`. Validation failures come back as a report
/// with `committed: false` and the stored data untouched.
pub async fn import_dir(
    pool: &PgPool,
    dir: &Path,
    opts: ImportOptions,
) -> Result<ImportReport, ImportError> {
    if !dir.is_dir() {
        return Err(ImportError::NotADirectory(dir.to_owned()));
    }
    let present: HashSet<Dataset> = Dataset::ALL
        .into_iter()
        .filter(|ds| dir.join(ds.file()).is_file())
        .collect();
    let mut report = ImportReport {
        committed: false,
        datasets: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    if !present.contains(&Dataset::Grids) {
        report.errors.push(Problem {
            file: Dataset::Grids.file().into(),
            at: String::new(),
            kind: "missing_file",
            message: format!(
                "{} is required and missing from {}",
                Dataset::Grids.file(),
                dir.display()
            ),
        });
        return Ok(report);
    }

    let catalogue = stored_catalogue(&mut *pool.acquire().await?).await?;
    let (dir_owned, present_owned) = (dir.to_owned(), present.clone());
    let (parsed, mut problems) =
        tokio::task::spawn_blocking(move || parse_files(&dir_owned, &present_owned, catalogue))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    if !problems.errors.is_empty() {
        report.errors = problems.errors;
        report.warnings = problems.warnings;
        return Ok(report);
    }

    let mut hashes = HashMap::new();
    for ds in &present {
        hashes.insert(*ds, sha256_file(&dir.join(ds.file()))?);
    }

    let mut tx = pool.begin().await?;
    // One import at a time: a second waits for the first to commit.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('citygrid_import'))")
        .execute(&mut *tx)
        .await?;
    let stored: HashMap<String, String> =
        sqlx::query_as::<_, (String, String)>("SELECT name, sha256 FROM datasets")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();

    let mut changed = HashSet::new();
    for ds in Dataset::ALL {
        if !present.contains(&ds) {
            continue;
        }
        let unchanged = !opts.force && stored.get(ds.name()) == hashes.get(&ds);
        report.datasets.push(DatasetOutcome {
            dataset: ds,
            file: ds.file(),
            rows: parsed.rows(ds),
            status: if unchanged { "unchanged" } else { "loaded" },
        });
        if unchanged {
            continue;
        }
        changed.insert(ds);
        tracing::info!(dataset = ds.name(), rows = parsed.rows(ds), "loading");
        load::clear(&mut tx, ds).await?;
        write_dataset(&mut tx, ds, &parsed).await?;
        if matches!(
            ds,
            Dataset::Districts | Dataset::Streets | Dataset::Communities | Dataset::Grids
        ) {
            load::repair_polygons(&mut tx, ds, &parsed.feature_index(ds), &mut problems).await?;
        }
        load::index_and_analyze(&mut tx, ds).await?;
    }

    run_checks(&mut tx, &changed, &parsed, &mut problems).await?;
    report.errors = problems.errors;
    report.warnings = problems.warnings;
    if !report.errors.is_empty() {
        tx.rollback().await?;
        return Ok(report);
    }
    for ds in &changed {
        sqlx::query(
            "INSERT INTO datasets (name, sha256, rows, imported_at) VALUES ($1, $2, $3, now())
             ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, rows = excluded.rows, imported_at = now()",
        )
        .bind(ds.name())
        .bind(&hashes[ds])
        .bind(parsed.rows(*ds) as i64)
        .execute(&mut *tx)
        .await?;
    }
    if !changed.is_empty() {
        // An import is an administrative change too: the files it loaded, by whom.
        let loaded: Vec<serde_json::Value> = report
            .datasets
            .iter()
            .filter(|d| d.status == "loaded")
            .map(|d| serde_json::json!({"file": d.file, "rows": d.rows}))
            .collect();
        crate::store::audit::record(
            &mut tx,
            &crate::store::audit::Actor::command_line(),
            chrono::Utc::now(),
            "import",
            &dir.display().to_string(),
            None,
            Some(serde_json::json!({ "loaded": loaded })),
        )
        .await?;
        sqlx::query("SELECT pg_notify($1, 'import')")
            .bind(CITY_DATA_CHANNEL)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    report.committed = true;
    Ok(report)
}

async fn write_dataset(
    conn: &mut sqlx::PgConnection,
    ds: Dataset,
    parsed: &Parsed,
) -> Result<(), sqlx::Error> {
    let t = ds.table();
    match ds {
        Dataset::Departments => {
            load::copy_in(
                conn,
                t,
                "code, name, phone",
                parsed.departments.as_deref().unwrap_or(&[]),
                |d, row| {
                    row.text(&d.code).text(&d.name).text(&d.phone);
                },
            )
            .await?;
        }
        Dataset::Classes => {
            load::copy_in(
                conn,
                t,
                "kind, code, major, major_name, name, name_en",
                parsed.classes.as_deref().unwrap_or(&[]),
                |c, row| {
                    row.text(c.kind.as_str())
                        .text(c.code.as_str())
                        .text(&c.major)
                        .text(&c.major_name)
                        .text(&c.name)
                        .text(&c.name_en);
                },
            )
            .await?;
        }
        Dataset::Districts | Dataset::Streets | Dataset::Communities => {
            let areas = parsed.areas.get(&ds).map(Vec::as_slice).unwrap_or(&[]);
            load::copy_in(conn, t, "code, name, geom", areas, |a, row| {
                row.text(&a.code).text(&a.name).polygons(&a.geom);
            })
            .await?;
        }
        Dataset::Grids => {
            load::copy_in(
                conn,
                t,
                "code, name, geom",
                parsed.grids.as_deref().unwrap_or(&[]),
                |g, row| {
                    row.text(g.code.as_str()).text(&g.name).polygons(&g.geom);
                },
            )
            .await?;
        }
        Dataset::Components => {
            load::copy_in(
                conn,
                t,
                "code, class, name, dept_competent, dept_owner, dept_maintainer, state, geom",
                parsed.components.as_deref().unwrap_or(&[]),
                |c, row| {
                    row.text(c.code.as_str())
                        .text(c.class.as_str())
                        .text(&c.name)
                        .text(&c.dept_competent)
                        .opt(c.dept_owner.as_deref())
                        .opt(c.dept_maintainer.as_deref())
                        .text(c.state)
                        .point(c.point);
                },
            )
            .await?;
        }
        Dataset::Services => {
            load::copy_in(
                conn,
                t,
                "id, category, name, address, phone, hours, geom",
                parsed.services.as_deref().unwrap_or(&[]),
                |s, row| {
                    row.text(&s.id)
                        .text(&s.category)
                        .text(&s.name)
                        .text(&s.address)
                        .text(&s.phone)
                        .text(&s.hours)
                        .point(s.point);
                },
            )
            .await?;
        }
        Dataset::Routing => {
            load::copy_in(
                conn,
                t,
                "kind, class, area, department",
                parsed.routing.as_deref().unwrap_or(&[]),
                |r, row| {
                    row.text(r.kind.as_str())
                        .text(&r.class)
                        .text(&r.area)
                        .text(&r.department);
                },
            )
            .await?;
        }
        Dataset::Sla => {
            load::copy_in(
                conn,
                t,
                "kind, class, urgent, stage, amount, unit",
                parsed.sla.as_deref().unwrap_or(&[]),
                |r, row| {
                    row.text(&r.kind)
                        .text(&r.class)
                        .text(&r.urgent)
                        .text(r.stage.as_str())
                        .text(&r.limit.amount().to_string())
                        .text(r.limit.unit());
                },
            )
            .await?;
        }
        Dataset::CaseRules => {
            load::copy_in(
                conn,
                t,
                "kind, class, duplicate_radius_m, duplicates, auto_file, auto_dispatch",
                parsed.case_rules.as_deref().unwrap_or(&[]),
                |r, row| {
                    row.text(&r.kind)
                        .text(&r.class)
                        .text(&r.duplicate_radius_m.to_string())
                        .text(&r.duplicates)
                        .text(&r.auto_file.to_string())
                        .text(&r.auto_dispatch.to_string());
                },
            )
            .await?;
        }
        Dataset::Roads | Dataset::Water | Dataset::Landmarks => {
            let features = parsed.base.get(&ds).map(Vec::as_slice).unwrap_or(&[]);
            let class = if ds == Dataset::Water {
                ""
            } else if ds == Dataset::Roads {
                "class, "
            } else {
                "kind, "
            };
            let mut id = 0;
            load::copy_in(
                conn,
                t,
                &format!("id, name, name_en, {class}geom"),
                features,
                |f, row| {
                    id += 1;
                    row.text(&id.to_string()).text(&f.name).text(&f.name_en);
                    if ds != Dataset::Water {
                        row.text(&f.class);
                    }
                    match &f.geom {
                        BaseGeometry::Lines(g) => row.lines(g),
                        BaseGeometry::Areas(g) => row.polygons(g),
                        BaseGeometry::Point(p) => row.point(*p),
                    };
                },
            )
            .await?;
        }
        Dataset::Calendar => {
            if let Some(config) = &parsed.calendar {
                sqlx::query("INSERT INTO calendar (config) VALUES ($1)")
                    .bind(sqlx::types::Json(config))
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// The database-side checks, each run when a data set it reads has changed.
async fn run_checks(
    conn: &mut sqlx::PgConnection,
    changed: &HashSet<Dataset>,
    parsed: &Parsed,
    problems: &mut Problems,
) -> Result<(), sqlx::Error> {
    let any = |sets: &[Dataset]| sets.iter().any(|d| changed.contains(d));
    if any(&[Dataset::Grids]) {
        load::check_overlaps(conn, &parsed.feature_index(Dataset::Grids), problems).await?;
    }
    let prefix_checks = [
        (Dataset::Grids, Dataset::Communities, 12),
        (Dataset::Communities, Dataset::Streets, 9),
        (Dataset::Streets, Dataset::Districts, 6),
        (Dataset::Components, Dataset::Districts, 6),
    ];
    for (child, parent, len) in prefix_checks {
        if any(&[child, parent]) {
            load::check_prefixes(
                conn,
                child,
                parent,
                len,
                &parsed.feature_index(child),
                problems,
            )
            .await?;
        }
    }
    for ds in [Dataset::Components, Dataset::Services] {
        if any(&[ds, Dataset::Grids]) {
            load::check_points_outside_grids(conn, ds, &parsed.feature_index(ds), problems).await?;
        }
    }
    if any(&[
        Dataset::Classes,
        Dataset::Departments,
        Dataset::Components,
        Dataset::Routing,
    ]) {
        load::check_references(conn, changed, problems).await?;
    }
    Ok(())
}
