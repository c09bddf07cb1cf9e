//! The import format, file by file: reading and validating each data set into
//! typed records. Every problem names its file, feature index or line, and reason.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::Path;

use geo::{MultiLineString, MultiPolygon, Point};
use serde::Serialize;

use super::geojson::{RawFeature, prop_text, read_features, read_lines, read_point, read_polygons};
use crate::domain::calendar::{CalendarConfig, TimeLimit};
use crate::domain::case_rules::Stage;
use crate::domain::codes::{
    AdminLevel, COMPONENT_STATES, ClassCode, ClassKind, ComponentCode, GridCode, is_department_code,
};

/// One data set of the import format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataset {
    Departments,
    Classes,
    Districts,
    Streets,
    Communities,
    Grids,
    Components,
    Services,
    Routing,
    Sla,
    CaseRules,
    Calendar,
    Roads,
    Water,
    Landmarks,
}

impl Dataset {
    pub const ALL: [Dataset; 15] = [
        Dataset::Departments,
        Dataset::Classes,
        Dataset::Districts,
        Dataset::Streets,
        Dataset::Communities,
        Dataset::Grids,
        Dataset::Components,
        Dataset::Services,
        Dataset::Routing,
        Dataset::Sla,
        Dataset::CaseRules,
        Dataset::Calendar,
        Dataset::Roads,
        Dataset::Water,
        Dataset::Landmarks,
    ];

    pub fn file(self) -> &'static str {
        match self {
            Dataset::Departments => "departments.csv",
            Dataset::Classes => "classes.csv",
            Dataset::Districts => "districts.geojson",
            Dataset::Streets => "streets.geojson",
            Dataset::Communities => "communities.geojson",
            Dataset::Grids => "grids.geojson",
            Dataset::Components => "components.geojson",
            Dataset::Services => "services.geojson",
            Dataset::Routing => "routing.csv",
            Dataset::Sla => "sla.csv",
            Dataset::CaseRules => "case_rules.csv",
            Dataset::Calendar => "calendar.toml",
            Dataset::Roads => "roads.geojson",
            Dataset::Water => "water.geojson",
            Dataset::Landmarks => "landmarks.geojson",
        }
    }

    /// The table holding this data set (a fixed name, never user input).
    pub fn table(self) -> &'static str {
        match self {
            Dataset::Departments => "departments",
            Dataset::Classes => "classes",
            Dataset::Districts => "districts",
            Dataset::Streets => "streets",
            Dataset::Communities => "communities",
            Dataset::Grids => "grids",
            Dataset::Components => "components",
            Dataset::Services => "services",
            Dataset::Routing => "routing_rules",
            Dataset::Sla => "sla_rules",
            Dataset::CaseRules => "case_rules",
            Dataset::Calendar => "calendar",
            Dataset::Roads => "roads",
            Dataset::Water => "water",
            Dataset::Landmarks => "landmarks",
        }
    }

    pub fn name(self) -> &'static str {
        self.table()
    }

    /// The base map's layers: drawn under the city's own, read by nothing else.
    pub fn is_base_layer(self) -> bool {
        matches!(self, Dataset::Roads | Dataset::Water | Dataset::Landmarks)
    }

    pub fn admin_level(self) -> Option<AdminLevel> {
        match self {
            Dataset::Districts => Some(AdminLevel::District),
            Dataset::Streets => Some(AdminLevel::Street),
            Dataset::Communities => Some(AdminLevel::Community),
            _ => None,
        }
    }
}

/// An import problem: an error aborts the import, a warning is counted and listed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Problem {
    pub file: String,
    /// "feature 12", "line 7", or "" for the whole file.
    pub at: String,
    /// Machine-readable kind, e.g. `bad_code`, `geometry_repaired`.
    pub kind: &'static str,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.at.is_empty() {
            write!(f, "{}: {}: {}", self.file, self.kind, self.message)
        } else {
            write!(
                f,
                "{} {}: {}: {}",
                self.file, self.at, self.kind, self.message
            )
        }
    }
}

#[derive(Default)]
pub struct Problems {
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl Problems {
    pub fn error(
        &mut self,
        ds: Dataset,
        at: impl Into<String>,
        kind: &'static str,
        message: impl Into<String>,
    ) {
        self.errors.push(Problem {
            file: ds.file().into(),
            at: at.into(),
            kind,
            message: message.into(),
        });
    }
    pub fn warning(
        &mut self,
        ds: Dataset,
        at: impl Into<String>,
        kind: &'static str,
        message: impl Into<String>,
    ) {
        self.warnings.push(Problem {
            file: ds.file().into(),
            at: at.into(),
            kind,
            message: message.into(),
        });
    }
}

pub struct AreaRecord {
    pub index: usize,
    pub code: String,
    pub name: String,
    pub geom: MultiPolygon<f64>,
}

pub struct GridRecord {
    pub index: usize,
    pub code: GridCode,
    pub name: String,
    pub geom: MultiPolygon<f64>,
}

pub struct DepartmentRecord {
    pub code: String,
    pub name: String,
    pub phone: String,
}

pub struct ClassRecord {
    pub kind: ClassKind,
    pub code: ClassCode,
    pub major: String,
    pub major_name: String,
    pub name: String,
    pub name_en: String,
}

pub struct ComponentRecord {
    pub index: usize,
    pub code: ComponentCode,
    pub class: ClassCode,
    pub name: String,
    pub dept_competent: String,
    pub dept_owner: Option<String>,
    pub dept_maintainer: Option<String>,
    pub state: &'static str,
    pub point: Point<f64>,
}

pub struct ServiceRecord {
    pub index: usize,
    pub id: String,
    pub category: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub hours: String,
    pub point: Point<f64>,
}

/// A feature of a base layer: a road (with its class), a river or lake, a
/// landmark (with its kind).
pub struct BaseRecord {
    pub name: String,
    pub name_en: String,
    /// A road's class or a landmark's kind (empty for water).
    pub class: String,
    pub geom: BaseGeometry,
}

pub enum BaseGeometry {
    Lines(MultiLineString<f64>),
    Areas(MultiPolygon<f64>),
    Point(Point<f64>),
}

pub struct RoutingRecord {
    pub kind: ClassKind,
    pub class: String,
    pub area: String,
    pub department: String,
}

pub struct SlaRecord {
    /// `component`, `event` or `*`.
    pub kind: String,
    pub class: String,
    /// `yes`, `no` or `*`.
    pub urgent: String,
    pub stage: Stage,
    pub limit: TimeLimit,
}

pub struct CaseRuleRecord {
    pub kind: String,
    pub class: String,
    pub duplicate_radius_m: f64,
    pub duplicates: String,
    pub auto_file: bool,
    pub auto_dispatch: bool,
}

fn feature_at(f: &RawFeature) -> String {
    format!("feature {}", f.index)
}

/// Opens a file with a progress bar over its bytes (shown on a terminal only).
fn open_with_progress(path: &Path, ds: Dataset) -> std::io::Result<impl std::io::Read> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let bar = indicatif::ProgressBar::new(len).with_message(ds.file());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>20} [{bar:40}] {bytes}/{total_bytes} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    if len < 4 << 20 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    Ok(bar.wrap_read(file))
}

fn read_collection(
    path: &Path,
    ds: Dataset,
    problems: &mut Problems,
    mut each: impl FnMut(RawFeature, &mut Problems),
) {
    let reader = match open_with_progress(path, ds) {
        Ok(r) => r,
        Err(e) => {
            problems.error(ds, "", "unreadable_file", e.to_string());
            return;
        }
    };
    let mut local = Problems::default();
    let result = read_features(reader, |f| each(f, &mut local));
    problems.errors.append(&mut local.errors);
    problems.warnings.append(&mut local.warnings);
    if let Err(e) = result {
        problems.error(ds, "", "malformed_json", e);
    }
}

/// A code property, parsed; a missing or malformed one is a `bad_code` error.
fn code_of<T, E: std::fmt::Display>(
    props: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    parse: impl Fn(&str) -> Result<T, E>,
    ds: Dataset,
    at: &str,
    problems: &mut Problems,
) -> Option<T> {
    match prop_text(props, key).map(|c| parse(&c)) {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            problems.error(ds, at, "bad_code", e.to_string());
            None
        }
        None => {
            problems.error(ds, at, "bad_code", format!("no \"{key}\" property"));
            None
        }
    }
}

/// A feature's Polygon/MultiPolygon; what was mended on reading is a warning.
fn polygons_of(
    f: &RawFeature,
    ds: Dataset,
    at: &str,
    problems: &mut Problems,
) -> Option<MultiPolygon<f64>> {
    match read_polygons(&f.geometry) {
        Ok(g) => {
            if let Some(m) = g.mended {
                problems.warning(ds, at, "geometry_repaired", m);
            }
            Some(g.geom)
        }
        Err(e) => {
            problems.error(ds, at, "bad_geometry", e);
            None
        }
    }
}

fn check_unique(
    seen: &mut HashMap<String, String>,
    code: &str,
    at: &str,
    ds: Dataset,
    problems: &mut Problems,
) -> bool {
    if let Some(first) = seen.get(code) {
        problems.error(
            ds,
            at,
            "duplicate_code",
            format!("code {code} appears again (first at {first})"),
        );
        false
    } else {
        seen.insert(code.to_owned(), at.to_owned());
        true
    }
}

pub fn read_areas(path: &Path, ds: Dataset, problems: &mut Problems) -> Vec<AreaRecord> {
    let level = ds.admin_level().expect("an admin data set");
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    read_collection(path, ds, problems, |f, problems| {
        let at = feature_at(&f);
        let Some(code) = code_of(&f.properties, "code", |c| level.parse(c), ds, &at, problems)
        else {
            return;
        };
        let Some(name) = prop_text(&f.properties, "name") else {
            return problems.error(
                ds,
                at,
                "missing_name",
                format!("{} {code} has no name", level.name()),
            );
        };
        let Some(geom) = polygons_of(&f, ds, &at, problems) else {
            return;
        };
        if check_unique(&mut seen, &code, &at, ds, problems) {
            out.push(AreaRecord {
                index: f.index,
                code,
                name,
                geom,
            });
        }
    });
    out
}

pub fn read_grids(path: &Path, problems: &mut Problems) -> Vec<GridRecord> {
    let ds = Dataset::Grids;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    read_collection(path, ds, problems, |f, problems| {
        let at = feature_at(&f);
        let Some(code) = code_of(&f.properties, "code", GridCode::parse, ds, &at, problems) else {
            return;
        };
        let Some(geom) = polygons_of(&f, ds, &at, problems) else {
            return;
        };
        if check_unique(&mut seen, code.as_str(), &at, ds, problems) {
            out.push(GridRecord {
                index: f.index,
                name: prop_text(&f.properties, "name").unwrap_or_default(),
                code,
                geom,
            });
        }
    });
    out
}

/// What the components and routing files are checked against: the catalogue and
/// departments of this import, or those already stored.
pub struct Catalogue {
    pub component_classes: HashSet<String>,
    pub event_classes: HashSet<String>,
    pub departments: HashSet<String>,
}

pub fn read_components(
    path: &Path,
    cat: &Catalogue,
    problems: &mut Problems,
) -> Vec<ComponentRecord> {
    let ds = Dataset::Components;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    read_collection(path, ds, problems, |f, problems| {
        let at = feature_at(&f);
        let p = &f.properties;
        let Some(class) = code_of(p, "class", ClassCode::parse, ds, &at, problems) else {
            return;
        };
        if !cat.component_classes.contains(class.as_str()) {
            return problems.error(
                ds,
                at,
                "unknown_class",
                format!("component class {class} is not in the class catalogue"),
            );
        }
        let Some(code) = code_of(
            p,
            "code",
            |c| ComponentCode::parse_for_class(c, &class),
            ds,
            &at,
            problems,
        ) else {
            return;
        };
        let mut depts = [None, None, None];
        for (slot, key) in depts
            .iter_mut()
            .zip(["dept_competent", "dept_owner", "dept_maintainer"])
        {
            if let Some(d) = prop_text(p, key) {
                if !is_department_code(&d) || !cat.departments.contains(&d) {
                    return problems.error(
                        ds,
                        at,
                        "unknown_department",
                        format!("{key} {d:?} is not a known department"),
                    );
                }
                *slot = Some(d);
            }
        }
        let [competent, owner, maintainer] = depts;
        let Some(competent) = competent else {
            return problems.error(ds, at, "unknown_department", "no dept_competent");
        };
        let state = match prop_text(p, "state") {
            None => "intact",
            Some(s) => match COMPONENT_STATES.iter().find(|k| **k == s) {
                Some(k) => k,
                None => {
                    return problems.error(
                        ds,
                        at,
                        "bad_state",
                        format!("state {s:?} is not one of {}", COMPONENT_STATES.join(", ")),
                    );
                }
            },
        };
        let point = match read_point(&f.geometry) {
            Ok(p) => p,
            Err(e) => return problems.error(ds, at, "bad_geometry", e),
        };
        if !check_unique(&mut seen, code.as_str(), &at, ds, problems) {
            return;
        }
        out.push(ComponentRecord {
            index: f.index,
            name: prop_text(p, "name").unwrap_or_default(),
            code,
            class,
            dept_competent: competent,
            dept_owner: owner,
            dept_maintainer: maintainer,
            state,
            point,
        });
    });
    out
}

pub fn read_services(path: &Path, problems: &mut Problems) -> Vec<ServiceRecord> {
    let ds = Dataset::Services;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    read_collection(path, ds, problems, |f, problems| {
        let at = feature_at(&f);
        let p = &f.properties;
        let Some(id) = prop_text(p, "id") else {
            return problems.error(ds, at, "bad_code", "no \"id\" property");
        };
        let Some(category) = prop_text(p, "category").filter(|c| is_department_code(c)) else {
            return problems.error(
                ds,
                at,
                "bad_category",
                "no \"category\" (lower-case word such as hospital, toilet, bus_stop)",
            );
        };
        let Some(name) = prop_text(p, "name") else {
            return problems.error(ds, at, "missing_name", format!("service {id} has no name"));
        };
        let point = match read_point(&f.geometry) {
            Ok(p) => p,
            Err(e) => return problems.error(ds, at, "bad_geometry", e),
        };
        if check_unique(&mut seen, &id, &at, ds, problems) {
            out.push(ServiceRecord {
                index: f.index,
                id,
                category,
                name,
                address: prop_text(p, "address").unwrap_or_default(),
                phone: prop_text(p, "phone").unwrap_or_default(),
                hours: prop_text(p, "hours").unwrap_or_default(),
                point,
            });
        }
    });
    out
}

/// Reads a base layer: roads (LineString or MultiLineString, `name`,
/// `name_en`, `class`), water (Polygon or MultiPolygon, `name`, `name_en`) or
/// landmarks (Point, `name`, `name_en`, `kind`). Names are optional but for
/// landmarks; a class or kind is a lower-case word.
pub fn read_base_layer(path: &Path, ds: Dataset, problems: &mut Problems) -> Vec<BaseRecord> {
    let mut out = Vec::new();
    read_collection(path, ds, problems, |f, problems| {
        let at = feature_at(&f);
        let p = &f.properties;
        let name = prop_text(p, "name").unwrap_or_default();
        let (class_key, geom) = match ds {
            Dataset::Roads => ("class", read_lines(&f.geometry).map(BaseGeometry::Lines)),
            Dataset::Water => match polygons_of(&f, ds, &at, problems) {
                Some(g) => ("", Ok(BaseGeometry::Areas(g))),
                None => return,
            },
            _ => ("kind", read_point(&f.geometry).map(BaseGeometry::Point)),
        };
        let geom = match geom {
            Ok(g) => g,
            Err(e) => return problems.error(ds, at, "bad_geometry", e),
        };
        let class = if class_key.is_empty() {
            String::new()
        } else {
            match prop_text(p, class_key) {
                Some(c) if is_department_code(&c) => c,
                _ => {
                    return problems.error(
                        ds,
                        at,
                        "bad_value",
                        format!(
                            "no \"{class_key}\" (a lower-case word such as primary, park, station)"
                        ),
                    );
                }
            }
        };
        if ds == Dataset::Landmarks && name.is_empty() {
            return problems.error(ds, at, "missing_name", "a landmark has no name");
        }
        out.push(BaseRecord {
            name,
            name_en: prop_text(p, "name_en").unwrap_or_default(),
            class,
            geom,
        });
    });
    out
}

/// Where a table's rows come from: a file of the import format, or rows
/// edited on the admin page (each a JSON object of the same columns). Both
/// are validated by the same code and give the same problems; a file's are
/// placed by line, edited rows by row number.
#[derive(Clone, Copy)]
pub enum Rows<'a> {
    File(&'a Path),
    Edited(&'a [serde_json::Map<String, serde_json::Value>]),
}

/// An edited cell as the file would hold it: text, a number's digits, yes/no.
fn cell(v: Option<&serde_json::Value>) -> String {
    use serde_json::Value;
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.to_owned(),
        Some(other) => other.to_string(),
    }
}

/// Reads a table with the given columns; calls `each` with the place (line
/// or row) and a column lookup for every record.
fn read_csv(
    rows: Rows<'_>,
    ds: Dataset,
    columns: &[&str],
    problems: &mut Problems,
    mut each: impl FnMut(String, &dyn Fn(&str) -> String, &mut Problems),
) {
    let path = match rows {
        Rows::File(path) => path,
        Rows::Edited(rows) => {
            for (i, row) in rows.iter().enumerate() {
                if let Some(extra) = row.keys().find(|k| !columns.contains(&k.as_str())) {
                    problems.error(
                        ds,
                        format!("row {}", i + 1),
                        "unknown_column",
                        format!("no column {extra:?} (expected {})", columns.join(",")),
                    );
                    continue;
                }
                each(
                    format!("row {}", i + 1),
                    &|col| cell(row.get(col)),
                    problems,
                );
            }
            return;
        }
    };
    let mut reader = match csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
    {
        Ok(r) => r,
        Err(e) => return problems.error(ds, "", "unreadable_file", e.to_string()),
    };
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return problems.error(ds, "line 1", "malformed_csv", e.to_string()),
    };
    let mut positions = HashMap::new();
    for col in columns {
        match headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == *col)
        {
            Some(i) => {
                positions.insert(*col, i);
            }
            None => problems.error(
                ds,
                "line 1",
                "missing_column",
                format!("no column {col:?} (expected {})", columns.join(",")),
            ),
        }
    }
    if positions.len() != columns.len() {
        return;
    }
    for record in reader.records() {
        match record {
            Ok(r) => {
                let line = format!("line {}", r.position().map(|p| p.line()).unwrap_or(0));
                let get = |col: &str| {
                    positions
                        .get(col)
                        .and_then(|i| r.get(*i))
                        .unwrap_or("")
                        .to_owned()
                };
                each(line, &get, problems);
            }
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| format!("line {}", p.line()))
                    .unwrap_or_default();
                problems.error(ds, line, "malformed_csv", e.to_string());
            }
        }
    }
}

pub fn read_departments(rows: Rows<'_>, problems: &mut Problems) -> Vec<DepartmentRecord> {
    let ds = Dataset::Departments;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    read_csv(
        rows,
        ds,
        &["code", "name", "phone"],
        problems,
        |at, get, problems| {
            let code = get("code");
            if !is_department_code(&code) {
                return problems.error(ds, at, "bad_code", format!("department code {code:?} must be lower-case letters, digits and '-' (e.g. water-co)"));
            }
            let name = get("name");
            if name.is_empty() {
                return problems.error(
                    ds,
                    at,
                    "missing_name",
                    format!("department {code} has no name"),
                );
            }
            if check_unique(&mut seen, &code, &at, ds, problems) {
                out.push(DepartmentRecord {
                    code,
                    name,
                    phone: get("phone"),
                });
            }
        },
    );
    out
}

pub fn read_classes(rows: Rows<'_>, problems: &mut Problems) -> Vec<ClassRecord> {
    let ds = Dataset::Classes;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    read_csv(
        rows,
        ds,
        &["kind", "code", "major", "major_name", "name", "name_en"],
        problems,
        |at, get, problems| {
            let Some(kind) = ClassKind::parse(&get("kind")) else {
                return problems.error(
                    ds,
                    at,
                    "bad_kind",
                    format!("kind {:?} must be component or event", get("kind")),
                );
            };
            let code = match ClassCode::parse(&get("code")) {
                Ok(c) => c,
                Err(e) => return problems.error(ds, at, "bad_code", e.to_string()),
            };
            if get("major") != code.as_str()[..2] {
                return problems.error(
                    ds,
                    at,
                    "bad_code",
                    format!(
                        "major {:?} is not the first two digits of {code}",
                        get("major")
                    ),
                );
            }
            if get("name").is_empty() {
                return problems.error(ds, at, "missing_name", format!("class {code} has no name"));
            }
            let key = format!("{}-{}", kind.as_str(), code);
            if check_unique(&mut seen, &key, &at, ds, problems) {
                out.push(ClassRecord {
                    kind,
                    major: get("major"),
                    major_name: get("major_name"),
                    name: get("name"),
                    name_en: get("name_en"),
                    code,
                });
            }
        },
    );
    out
}

/// A routing pattern: `*`, or a prefix of digits.
fn is_pattern(s: &str, max_digits: usize) -> bool {
    s == "*" || (!s.is_empty() && s.len() <= max_digits && s.bytes().all(|b| b.is_ascii_digit()))
}

pub fn read_routing(
    rows: Rows<'_>,
    cat: &Catalogue,
    problems: &mut Problems,
) -> Vec<RoutingRecord> {
    let ds = Dataset::Routing;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    read_csv(
        rows,
        ds,
        &["kind", "class", "area", "department"],
        problems,
        |at, get, problems| {
            let Some(kind) = ClassKind::parse(&get("kind")) else {
                return problems.error(
                    ds,
                    at,
                    "bad_kind",
                    format!("kind {:?} must be component or event", get("kind")),
                );
            };
            let class = get("class");
            if !is_pattern(&class, 4) || (class.len() != 2 && class.len() != 4 && class != "*") {
                return problems.error(
                    ds,
                    at,
                    "bad_code",
                    format!("class {class:?} must be *, a 2-digit major class or a 4-digit class"),
                );
            }
            let known = match kind {
                ClassKind::Component => &cat.component_classes,
                ClassKind::Event => &cat.event_classes,
            };
            if class != "*" && !known.iter().any(|c| c.starts_with(&class)) {
                return problems.error(
                    ds,
                    at,
                    "unknown_class",
                    format!("no {} class matches {class}", kind.as_str()),
                );
            }
            let area = get("area");
            if !is_pattern(&area, 15) {
                return problems.error(
                    ds,
                    at,
                    "bad_code",
                    format!("area {area:?} must be * or an admin/grid code prefix"),
                );
            }
            let department = get("department");
            if !cat.departments.contains(&department) {
                return problems.error(
                    ds,
                    at,
                    "unknown_department",
                    format!("department {department:?} is not a known department"),
                );
            }
            let key = format!("{}/{class}/{area}", kind.as_str());
            if check_unique(&mut seen, &key, &at, ds, problems) {
                out.push(RoutingRecord {
                    kind,
                    class,
                    area,
                    department,
                });
            }
        },
    );
    out
}

/// `component`, `event` or `*` (both), and a class pattern of that kind.
fn kind_and_class(
    get: &dyn Fn(&str) -> String,
    cat: &Catalogue,
    ds: Dataset,
    at: &str,
    problems: &mut Problems,
) -> Option<(String, String)> {
    let kind = get("kind");
    let kinds: &[ClassKind] = match kind.as_str() {
        "*" => &[ClassKind::Component, ClassKind::Event],
        k => match ClassKind::parse(k) {
            Some(ClassKind::Component) => &[ClassKind::Component],
            Some(ClassKind::Event) => &[ClassKind::Event],
            None => {
                problems.error(
                    ds,
                    at,
                    "bad_kind",
                    format!("kind {kind:?} must be component, event or *"),
                );
                return None;
            }
        },
    };
    let class = get("class");
    if !is_pattern(&class, 4) || (class.len() != 2 && class.len() != 4 && class != "*") {
        problems.error(
            ds,
            at,
            "bad_code",
            format!("class {class:?} must be *, a 2-digit major class or a 4-digit class"),
        );
        return None;
    }
    let known = kinds.iter().any(|k| {
        let classes = match k {
            ClassKind::Component => &cat.component_classes,
            ClassKind::Event => &cat.event_classes,
        };
        class == "*" || classes.iter().any(|c| c.starts_with(&class))
    });
    if !known {
        problems.error(
            ds,
            at,
            "unknown_class",
            format!("no {kind} class matches {class}"),
        );
        return None;
    }
    Some((kind, class))
}

fn yes_no(s: &str) -> Option<bool> {
    match s {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

pub fn read_sla(rows: Rows<'_>, cat: &Catalogue, problems: &mut Problems) -> Vec<SlaRecord> {
    let ds = Dataset::Sla;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    read_csv(
        rows,
        ds,
        &["kind", "class", "urgent", "stage", "amount", "unit"],
        problems,
        |at, get, problems| {
            let Some((kind, class)) = kind_and_class(get, cat, ds, &at, problems) else {
                return;
            };
            let urgent = get("urgent");
            if !matches!(urgent.as_str(), "yes" | "no" | "*") {
                return problems.error(
                    ds,
                    at,
                    "bad_value",
                    format!("urgent {urgent:?} must be yes, no or *"),
                );
            }
            let Some(stage) = Stage::parse(&get("stage")) else {
                return problems.error(
                    ds,
                    at,
                    "bad_value",
                    format!(
                        "stage {:?} must be filing, dispatch, handling or verification",
                        get("stage")
                    ),
                );
            };
            let limit = get("amount")
                .parse::<i64>()
                .ok()
                .filter(|n| *n <= 100_000)
                .and_then(|n| TimeLimit::parse(n, &get("unit")));
            let Some(limit) = limit else {
                return problems.error(
                    ds,
                    at,
                    "bad_value",
                    format!(
                        "time limit {:?} {:?}: amount must be a positive whole number and unit minutes, working_hours or working_days",
                        get("amount"),
                        get("unit")
                    ),
                );
            };
            let key = format!("{kind}/{class}/{urgent}/{}", stage.as_str());
            if check_unique(&mut seen, &key, &at, ds, problems) {
                out.push(SlaRecord {
                    kind,
                    class,
                    urgent,
                    stage,
                    limit,
                });
            }
        },
    );
    out
}

pub fn read_case_rules(
    rows: Rows<'_>,
    cat: &Catalogue,
    problems: &mut Problems,
) -> Vec<CaseRuleRecord> {
    let ds = Dataset::CaseRules;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    read_csv(
        rows,
        ds,
        &[
            "kind",
            "class",
            "duplicate_radius_m",
            "duplicates",
            "auto_file",
            "auto_dispatch",
        ],
        problems,
        |at, get, problems| {
            let Some((kind, class)) = kind_and_class(get, cat, ds, &at, problems) else {
                return;
            };
            let radius = get("duplicate_radius_m");
            let Some(duplicate_radius_m) = radius
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=5_000.0).contains(r))
            else {
                return problems.error(
                    ds,
                    at,
                    "bad_value",
                    format!("duplicate_radius_m {radius:?} must be metres between 0 and 5000"),
                );
            };
            let duplicates = get("duplicates");
            if !matches!(duplicates.as_str(), "attach" | "suggest") {
                return problems.error(
                    ds,
                    at,
                    "bad_value",
                    format!("duplicates {duplicates:?} must be attach or suggest"),
                );
            }
            let (Some(auto_file), Some(auto_dispatch)) =
                (yes_no(&get("auto_file")), yes_no(&get("auto_dispatch")))
            else {
                return problems.error(
                    ds,
                    at,
                    "bad_value",
                    "auto_file and auto_dispatch must be yes or no",
                );
            };
            if auto_dispatch && !auto_file {
                return problems.error(
                    ds,
                    at,
                    "bad_value",
                    "auto_dispatch needs auto_file: a case is filed before it is dispatched",
                );
            }
            let key = format!("{kind}/{class}");
            if check_unique(&mut seen, &key, &at, ds, problems) {
                out.push(CaseRuleRecord {
                    kind,
                    class,
                    duplicate_radius_m,
                    duplicates,
                    auto_file,
                    auto_dispatch,
                });
            }
        },
    );
    out
}

pub fn read_calendar(path: &Path, problems: &mut Problems) -> Option<CalendarConfig> {
    let ds = Dataset::Calendar;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            problems.error(ds, "", "unreadable_file", e.to_string());
            return None;
        }
    };
    let config: CalendarConfig = match toml::from_str(&text) {
        Ok(c) => c,
        Err(e) => {
            let at = e
                .span()
                .map(|s| format!("line {}", text[..s.start].matches('\n').count() + 1))
                .unwrap_or_default();
            problems.error(ds, at, "malformed_toml", e.message().to_owned());
            return None;
        }
    };
    check_calendar(config, problems)
}

/// A calendar that builds: dates, ranges, hours and zone all readable.
pub fn check_calendar(config: CalendarConfig, problems: &mut Problems) -> Option<CalendarConfig> {
    match config.build() {
        Ok(_) => Some(config),
        Err(message) => {
            problems.error(Dataset::Calendar, "", "bad_calendar", message);
            None
        }
    }
}
