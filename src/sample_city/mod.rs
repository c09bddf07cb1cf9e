//! `citygrid sample-city`: a deterministic city in the import format, laid over
//! the urban streets (街道) of Baoji's 金台区 (north of the Wei) and 渭滨区
//! (south), with their real street and community codes.
//!
//! The city is a lattice of generated roads; each lattice block (~85–120 m a
//! side, ~10,000 m²) is one unit grid, drawn to the road centre lines so that
//! grids tile the city with no gaps. Communities, streets and districts are
//! rectangles of blocks (a guillotine partition), so every boundary runs along
//! grid edges. Lattice vertices are jittered a few metres: no edge is straight
//! in lon/lat, as in real survey data. Components stand along the roads, at
//! intersections and inside blocks at per-class densities; public services are
//! scattered over blocks. The same seed and scale always give the same bytes.

mod catalogue;
mod rng;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use catalogue::{COMPONENT_RATES, DEPARTMENTS, Placement, ROAD_NAMES, SERVICE_CATEGORIES};
use rng::Rng;

const ADMIN_DIVISIONS: &str = include_str!("baoji_admin_divisions.csv");
/// The class catalogue (GB/T 30428.2 style), shipped as `gis-data/classes.csv`.
pub const CLASSES_CSV: &str = include_str!("../../gis-data/classes.csv");
/// Stage time limits, case rules and the working calendar are configuration,
/// not generated: the sample city ships the ones in `gis-data/`.
pub const SLA_CSV: &str = include_str!("../../gis-data/sla.csv");
pub const CASE_RULES_CSV: &str = include_str!("../../gis-data/case_rules.csv");
pub const CALENDAR_TOML: &str = include_str!("../../gis-data/calendar.toml");

/// Grids per community at scale 1.
const GRIDS_PER_COMMUNITY: f64 = 20.0;
/// City centre (Baoji, by the Wei river between the two districts).
const CENTRE_LON: f64 = 107.17;
const CENTRE_LAT: f64 = 34.362;
const M_PER_DEG_LAT: f64 = 110_574.0;

#[derive(Debug, Clone, Copy)]
pub struct SampleOptions {
    pub scale: u32,
    pub seed: u64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        Self {
            scale: 1,
            seed: 2004,
        }
    }
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct SampleSummary {
    pub districts: usize,
    pub streets: usize,
    pub communities: usize,
    pub grids: usize,
    pub components: usize,
    pub services: usize,
    pub departments: usize,
    pub routing_rules: usize,
    pub roads: usize,
    pub water: usize,
    pub landmarks: usize,
}

struct Area {
    code: String,
    name: String,
}

struct Street {
    area: Area,
    communities: Vec<Area>,
}

struct District {
    area: Area,
    streets: Vec<Street>,
}

/// The urban streets of the two districts and their communities.
fn admin_divisions() -> Vec<District> {
    let mut districts: Vec<District> = Vec::new();
    for line in ADMIN_DIVISIONS.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 3 {
            continue;
        }
        let area = Area {
            code: f[1].to_owned(),
            name: f[2].to_owned(),
        };
        match f[0] {
            "district" => districts.push(District {
                area,
                streets: Vec::new(),
            }),
            // 街道 have serials 001–099; towns (镇, 100+) are rural.
            "street" if area.code[6..7] == *"0" => {
                if let Some(d) = districts
                    .iter_mut()
                    .find(|d| area.code.starts_with(&d.area.code))
                {
                    d.streets.push(Street {
                        area,
                        communities: Vec::new(),
                    });
                }
            }
            "community" => {
                for d in &mut districts {
                    if let Some(s) = d
                        .streets
                        .iter_mut()
                        .find(|s| area.code.starts_with(&s.area.code))
                    {
                        s.communities.push(area);
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    // 金台区 lies north of the river: put it first (top rows).
    districts.sort_by(|a, b| b.area.code.cmp(&a.area.code));
    districts
}

/// Short name of a community: without the committee suffix.
fn short_name(name: &str) -> &str {
    for suffix in ["居民委员会", "居委会", "民委员会", "委会"] {
        if let Some(s) = name.strip_suffix(suffix) {
            return s;
        }
    }
    name
}

/// A rectangle of lattice blocks: columns [c0, c1), rows [r0, r1) (row 0 is north).
#[derive(Debug, Clone, Copy)]
struct Rect {
    c0: usize,
    r0: usize,
    c1: usize,
    r1: usize,
}

impl Rect {
    fn width(&self) -> usize {
        self.c1 - self.c0
    }
    fn height(&self) -> usize {
        self.r1 - self.r0
    }
}

/// Splits `rect` among items with the given weights: cut across the longer side,
/// in proportion to the weights of the two halves, each part keeping at least
/// one block per item.
fn partition(rect: Rect, weights: &[f64], out: &mut Vec<Rect>) {
    if weights.len() == 1 {
        out.push(rect);
        return;
    }
    let n1 = weights.len() / 2;
    let (w1, w): (f64, f64) = (weights[..n1].iter().sum(), weights.iter().sum());
    let vertical = rect.width() >= rect.height();
    let (len, other) = if vertical {
        (rect.width(), rect.height())
    } else {
        (rect.height(), rect.width())
    };
    let min1 = n1.div_ceil(other).max(1);
    let min2 = (weights.len() - n1).div_ceil(other).max(1);
    let cut =
        ((len as f64 * w1 / w).round() as usize).clamp(min1, len.saturating_sub(min2).max(min1));
    let (a, b) = if vertical {
        (
            Rect {
                c1: rect.c0 + cut,
                ..rect
            },
            Rect {
                c0: rect.c0 + cut,
                ..rect
            },
        )
    } else {
        (
            Rect {
                r1: rect.r0 + cut,
                ..rect
            },
            Rect {
                r0: rect.r0 + cut,
                ..rect
            },
        )
    };
    partition(a, &weights[..n1], out);
    partition(b, &weights[n1..], out);
}

/// The road lattice: vertex positions in metres (x east, y north) and lon/lat.
struct Lattice {
    cols: usize,
    rows: usize,
    /// (cols+1) * (rows+1) vertices, row-major from the north-west corner.
    metres: Vec<(f64, f64)>,
    lonlat: Vec<(f64, f64)>,
    m_per_deg_lon: f64,
    origin: (f64, f64),
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

impl Lattice {
    fn new(cols: usize, rows: usize, rng: &mut Rng) -> Self {
        let mut xs = vec![0.0];
        for _ in 0..cols {
            let last = *xs.last().unwrap_or(&0.0);
            xs.push(last + rng.range(85.0, 120.0));
        }
        let mut ys = vec![0.0];
        for _ in 0..rows {
            let last = *ys.last().unwrap_or(&0.0);
            ys.push(last - rng.range(85.0, 120.0));
        }
        let m_per_deg_lon = 111_320.0 * CENTRE_LAT.to_radians().cos();
        let (w, h) = (xs[cols], -ys[rows]);
        let origin = (
            CENTRE_LON - w / 2.0 / m_per_deg_lon,
            CENTRE_LAT + h / 2.0 / M_PER_DEG_LAT,
        );
        let mut metres = Vec::with_capacity((cols + 1) * (rows + 1));
        for y in &ys {
            for x in &xs {
                metres.push((x + rng.range(-7.0, 7.0), y + rng.range(-7.0, 7.0)));
            }
        }
        let mut lattice = Self {
            cols,
            rows,
            metres,
            lonlat: Vec::new(),
            m_per_deg_lon,
            origin,
        };
        lattice.lonlat = lattice
            .metres
            .iter()
            .map(|&(x, y)| lattice.to_lonlat(x, y))
            .collect();
        lattice
    }

    fn to_lonlat(&self, x: f64, y: f64) -> (f64, f64) {
        (
            round7(self.origin.0 + x / self.m_per_deg_lon),
            round7(self.origin.1 + y / M_PER_DEG_LAT),
        )
    }

    fn v(&self, col: usize, row: usize) -> usize {
        row * (self.cols + 1) + col
    }

    /// The outline of a rectangle of blocks through every lattice vertex on it,
    /// counter-clockwise from its south-west corner.
    fn outline(&self, r: Rect) -> Vec<(f64, f64)> {
        let mut ring = Vec::new();
        for c in r.c0..r.c1 {
            ring.push(self.lonlat[self.v(c, r.r1)]);
        }
        for row in (r.r0 + 1..=r.r1).rev() {
            ring.push(self.lonlat[self.v(r.c1, row)]);
        }
        for c in (r.c0 + 1..=r.c1).rev() {
            ring.push(self.lonlat[self.v(c, r.r0)]);
        }
        for row in r.r0..r.r1 {
            ring.push(self.lonlat[self.v(r.c0, row)]);
        }
        ring.push(ring[0]);
        ring
    }

    /// Centre of a block in metres.
    fn block_centre(&self, col: usize, row: usize) -> (f64, f64) {
        let corners = [
            self.v(col, row),
            self.v(col + 1, row),
            self.v(col, row + 1),
            self.v(col + 1, row + 1),
        ];
        let (sx, sy) = corners.iter().fold((0.0, 0.0), |(sx, sy), &i| {
            (sx + self.metres[i].0, sy + self.metres[i].1)
        });
        (sx / 4.0, sy / 4.0)
    }
}

fn ring_json(ring: &[(f64, f64)]) -> String {
    let mut s = String::with_capacity(ring.len() * 26);
    s.push('[');
    for (i, (x, y)) in ring.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("[{x},{y}]"));
    }
    s.push(']');
    s
}

struct FeatureWriter {
    out: BufWriter<File>,
    count: usize,
}

impl FeatureWriter {
    fn create(path: &Path) -> io::Result<Self> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
        Ok(Self { out, count: 0 })
    }

    /// Writes one feature; `properties` is a JSON object text.
    fn feature(&mut self, geometry: &str, properties: &str) -> io::Result<()> {
        if self.count > 0 {
            self.out.write_all(b",\n")?;
        }
        self.count += 1;
        write!(
            self.out,
            "{{\"type\":\"Feature\",\"geometry\":{geometry},\"properties\":{properties}}}"
        )
    }

    fn polygon(&mut self, ring: &[(f64, f64)], properties: &str) -> io::Result<()> {
        self.feature(
            &format!(
                "{{\"type\":\"Polygon\",\"coordinates\":[{}]}}",
                ring_json(ring)
            ),
            properties,
        )
    }

    fn point(&mut self, (x, y): (f64, f64), properties: &str) -> io::Result<()> {
        self.feature(
            &format!("{{\"type\":\"Point\",\"coordinates\":[{x},{y}]}}"),
            properties,
        )
    }

    fn finish(mut self) -> io::Result<usize> {
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok(self.count)
    }
}

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn area_props(a: &Area) -> String {
    format!("{{\"code\":{},\"name\":{}}}", js(&a.code), js(&a.name))
}

/// Writes the sample city into `out` (created if missing).
pub fn write_sample_city(out: &Path, opts: SampleOptions) -> io::Result<SampleSummary> {
    std::fs::create_dir_all(out)?;
    let scale = opts.scale.max(1) as f64;
    let mut rng = Rng::new(opts.seed);
    let districts = admin_divisions();
    let n_comm: usize = districts
        .iter()
        .flat_map(|d| &d.streets)
        .map(|s| s.communities.len())
        .sum();
    let blocks = (GRIDS_PER_COMMUNITY * scale * n_comm as f64).round();
    let rows = (blocks / 1.6).sqrt().round().max(2.0) as usize;
    let cols = (blocks / rows as f64).ceil() as usize;
    let lattice = Lattice::new(cols, rows, &mut rng);
    let mut summary = SampleSummary::default();

    // Districts as bands of rows (north first), streets and communities inside.
    let mut district_rects = Vec::new();
    let mut row = 0;
    for (i, d) in districts.iter().enumerate() {
        let n: usize = d.streets.iter().map(|s| s.communities.len()).sum();
        let r1 = if i + 1 == districts.len() {
            rows
        } else {
            row + (rows as f64 * n as f64 / n_comm as f64).round() as usize
        };
        district_rects.push(Rect {
            c0: 0,
            r0: row,
            c1: cols,
            r1,
        });
        row = r1;
    }

    // Block → (district index, community code); communities' rects for naming.
    let mut block_district = vec![0usize; cols * rows];
    let mut block_community: Vec<usize> = vec![0; cols * rows];
    let mut communities: Vec<(&Area, &Area, usize, Rect)> = Vec::new(); // (community, street, district, rect)
    let mut street_rects: Vec<(&Area, Rect)> = Vec::new();
    for (di, (d, drect)) in districts.iter().zip(&district_rects).enumerate() {
        let weights: Vec<f64> = d
            .streets
            .iter()
            .map(|s| s.communities.len() as f64)
            .collect();
        let mut srects = Vec::new();
        partition(*drect, &weights, &mut srects);
        for (s, srect) in d.streets.iter().zip(srects) {
            street_rects.push((&s.area, srect));
            let weights: Vec<f64> = s.communities.iter().map(|_| rng.range(0.6, 1.4)).collect();
            let mut crects = Vec::new();
            partition(srect, &weights, &mut crects);
            for (c, crect) in s.communities.iter().zip(crects) {
                let ci = communities.len();
                communities.push((c, &s.area, di, crect));
                for r in crect.r0..crect.r1 {
                    for col in crect.c0..crect.c1 {
                        block_district[r * cols + col] = di;
                        block_community[r * cols + col] = ci;
                    }
                }
            }
        }
    }

    let mut w = FeatureWriter::create(&out.join("districts.geojson"))?;
    for (d, r) in districts.iter().zip(&district_rects) {
        w.polygon(&lattice.outline(*r), &area_props(&d.area))?;
    }
    summary.districts = w.finish()?;

    let mut w = FeatureWriter::create(&out.join("streets.geojson"))?;
    for (s, r) in &street_rects {
        w.polygon(&lattice.outline(*r), &area_props(s))?;
    }
    summary.streets = w.finish()?;

    let mut w = FeatureWriter::create(&out.join("communities.geojson"))?;
    for (c, _, _, r) in &communities {
        w.polygon(&lattice.outline(*r), &area_props(c))?;
    }
    summary.communities = w.finish()?;

    // Unit grids: serials west→east, north→south inside each community.
    let mut block_grid = vec![String::new(); cols * rows];
    let mut w = FeatureWriter::create(&out.join("grids.geojson"))?;
    for (c, _, _, r) in &communities {
        let mut serial = 0;
        for row in r.r0..r.r1 {
            for col in r.c0..r.c1 {
                serial += 1;
                let code = format!("{}{serial:03}", c.code);
                let props = format!(
                    "{{\"code\":\"{code}\",\"name\":{}}}",
                    js(&format!("{}{serial:03}网格", short_name(&c.name)))
                );
                w.polygon(
                    &lattice.outline(Rect {
                        c0: col,
                        r0: row,
                        c1: col + 1,
                        r1: row + 1,
                    }),
                    &props,
                )?;
                block_grid[row * cols + col] = code;
            }
        }
    }
    summary.grids = w.finish()?;

    let district_codes: Vec<&str> = districts.iter().map(|d| d.area.code.as_str()).collect();
    let mut components = Components::new(&out.join("components.geojson"), &district_codes)?;
    place_components(
        &lattice,
        &block_district,
        &district_codes,
        &mut rng,
        &mut components,
    )?;
    summary.components = components.writer.finish()?;

    summary.services = write_services(
        &out.join("services.geojson"),
        &lattice,
        &block_district,
        &block_community,
        &districts,
        &communities,
        &mut rng,
    )?;

    let district_areas: Vec<(&Area, Rect)> = districts
        .iter()
        .map(|d| &d.area)
        .zip(district_rects.iter().copied())
        .collect();
    write_base_map(
        out,
        &lattice,
        district_rects[0].r1,
        &district_areas,
        &mut summary,
    )?;

    let mut f = BufWriter::new(File::create(out.join("departments.csv"))?);
    writeln!(f, "code,name,phone")?;
    for (code, name, phone) in DEPARTMENTS {
        writeln!(f, "{code},{name},{phone}")?;
    }
    f.flush()?;
    summary.departments = DEPARTMENTS.len();

    std::fs::write(out.join("classes.csv"), CLASSES_CSV)?;
    std::fs::write(out.join("sla.csv"), SLA_CSV)?;
    std::fs::write(out.join("case_rules.csv"), CASE_RULES_CSV)?;
    std::fs::write(out.join("calendar.toml"), CALENDAR_TOML)?;
    summary.routing_rules = write_routing(&out.join("routing.csv"), &district_codes)?;
    Ok(summary)
}

/// The component writer: numbers each (district, class) serially.
struct Components<'a> {
    writer: FeatureWriter,
    serials: HashMap<(usize, &'static str), u32>,
    districts: &'a [&'a str],
}

impl<'a> Components<'a> {
    fn new(path: &Path, districts: &'a [&'a str]) -> io::Result<Self> {
        Ok(Self {
            writer: FeatureWriter::create(path)?,
            serials: HashMap::new(),
            districts,
        })
    }

    fn add(
        &mut self,
        rng: &mut Rng,
        district: usize,
        class: &'static str,
        at: (f64, f64),
    ) -> io::Result<()> {
        let serial = self.serials.entry((district, class)).or_insert(0);
        *serial += 1;
        let dcode = self.districts[district];
        let code = format!("{dcode}{class}{serial:06}");
        let info = catalogue::component_info(class);
        let owner = catalogue::owner(class, dcode);
        // Real registers are incomplete: some owner/maintainer fields are empty.
        let (owner, maintainer) = if rng.chance(0.08) {
            (String::new(), String::new())
        } else {
            (owner.clone(), owner)
        };
        let state = match rng.f64() {
            x if x < 0.92 => "intact",
            x if x < 0.97 => "damaged",
            x if x < 0.985 => "lost",
            x if x < 0.995 => "encroached",
            _ => "removed",
        };
        let props = format!(
            "{{\"code\":\"{code}\",\"class\":\"{class}\",\"name\":{},\"dept_competent\":\"{}\",\"dept_owner\":\"{owner}\",\"dept_maintainer\":\"{maintainer}\",\"state\":\"{state}\"}}",
            js(info.name),
            info.competent
        );
        self.writer.point(at, &props)
    }
}

fn place_components(
    lattice: &Lattice,
    block_district: &[usize],
    _district_codes: &[&str],
    rng: &mut Rng,
    out: &mut Components,
) -> io::Result<()> {
    let (cols, rows) = (lattice.cols, lattice.rows);
    let block = |col: usize, row: usize| block_district[row * cols + col];
    let main_road = |line: usize| line.is_multiple_of(5);

    // Along every road segment (lattice edge), on the side of an adjacent block.
    let mut edges: Vec<(
        usize,
        usize,
        Option<(usize, usize)>,
        Option<(usize, usize)>,
        bool,
    )> = Vec::new();
    for row in 0..=rows {
        for col in 0..cols {
            let left = (row > 0).then(|| (col, row - 1)); // north of an east-going edge
            let right = (row < rows).then_some((col, row));
            edges.push((
                lattice.v(col, row),
                lattice.v(col + 1, row),
                left,
                right,
                main_road(row),
            ));
        }
    }
    for col in 0..=cols {
        for row in 0..rows {
            // Going south: left is east, right is west.
            let left = (col < cols).then_some((col, row));
            let right = (col > 0).then(|| (col - 1, row));
            edges.push((
                lattice.v(col, row),
                lattice.v(col, row + 1),
                left,
                right,
                main_road(col),
            ));
        }
    }
    for (a, b, left, right, main) in edges {
        let (ax, ay) = lattice.metres[a];
        let (bx, by) = lattice.metres[b];
        let (dx, dy) = (bx - ax, by - ay);
        let len = (dx * dx + dy * dy).sqrt();
        let (nx, ny) = (-dy / len, dx / len); // unit normal to the left
        for rate in COMPONENT_RATES
            .iter()
            .filter(|r| matches!(r.placement, Placement::Road | Placement::MainRoad))
        {
            if rate.placement == Placement::MainRoad && !main {
                continue;
            }
            let expected = rate.per_100m * len / 100.0;
            let n = expected.floor() as usize + usize::from(rng.chance(expected.fract()));
            for _ in 0..n {
                let t = rng.range(0.12, 0.88);
                let side_left = match (left, right) {
                    (Some(_), Some(_)) => rng.chance(0.5),
                    (Some(_), None) => true,
                    _ => false,
                };
                let Some((bc, br)) = (if side_left { left } else { right }) else {
                    continue;
                };
                let off = rng.range(2.0, 6.0) * if side_left { 1.0 } else { -1.0 };
                let (x, y) = (ax + t * dx + off * nx, ay + t * dy + off * ny);
                out.add(rng, block(bc, br), rate.class, lattice.to_lonlat(x, y))?;
            }
        }
    }

    // At intersections, into one of the adjacent blocks' corners.
    for row in 0..=rows {
        for col in 0..=cols {
            let (vx, vy) = lattice.metres[lattice.v(col, row)];
            let quadrants: Vec<(usize, usize, f64, f64)> = [
                (col.checked_sub(1), row.checked_sub(1), -1.0, 1.0),
                ((col < cols).then_some(col), row.checked_sub(1), 1.0, 1.0),
                (col.checked_sub(1), (row < rows).then_some(row), -1.0, -1.0),
                (
                    (col < cols).then_some(col),
                    (row < rows).then_some(row),
                    1.0,
                    -1.0,
                ),
            ]
            .into_iter()
            .filter_map(|(c, r, sx, sy)| Some((c?, r?, sx, sy)))
            .collect();
            if quadrants.is_empty() {
                continue;
            }
            let both_main = main_road(row) && main_road(col);
            for rate in COMPONENT_RATES
                .iter()
                .filter(|r| r.placement == Placement::Intersection)
            {
                let p = if rate.class == "0210" && both_main {
                    1.0
                } else {
                    rate.per_100m
                };
                if !rng.chance(p) {
                    continue;
                }
                let (c, r, sx, sy) = quadrants[rng.below(quadrants.len() as u64) as usize];
                let d = rng.range(3.0, 6.0);
                out.add(
                    rng,
                    block(c, r),
                    rate.class,
                    lattice.to_lonlat(vx + sx * d, vy + sy * d),
                )?;
            }
        }
    }

    // Inside blocks.
    for row in 0..rows {
        for col in 0..cols {
            let (cx, cy) = lattice.block_centre(col, row);
            for rate in COMPONENT_RATES
                .iter()
                .filter(|r| r.placement == Placement::Block)
            {
                if rng.chance(rate.per_100m) {
                    let at = (cx + rng.range(-25.0, 25.0), cy + rng.range(-25.0, 25.0));
                    out.add(
                        rng,
                        block(col, row),
                        rate.class,
                        lattice.to_lonlat(at.0, at.1),
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// The name of a lattice line's road, in Chinese and English.
fn road_names(line: usize, vertical: bool) -> (String, String) {
    let i = if vertical { line * 2 } else { line * 2 + 1 };
    let (zh, en) = ROAD_NAMES[i % ROAD_NAMES.len()];
    match i / ROAD_NAMES.len() {
        0 => (zh.to_owned(), en.to_owned()),
        k => (format!("{zh}{k}支路"), format!("{en} Branch {k}")),
    }
}

fn road_name(line: usize, vertical: bool) -> String {
    road_names(line, vertical).0
}

/// The base map: a road along every lattice line (every fourth a primary
/// road), the Wei River along the row line between the two districts in
/// place of a road, and the city's landmarks on blocks.
fn write_base_map(
    out: &Path,
    lattice: &Lattice,
    river_row: usize,
    districts: &[(&Area, Rect)],
    summary: &mut SampleSummary,
) -> io::Result<()> {
    let line_json = |points: &[(f64, f64)]| {
        format!(
            "{{\"type\":\"LineString\",\"coordinates\":{}}}",
            ring_json(points)
        )
    };
    let road_props = |line: usize, vertical: bool| {
        let (zh, en) = road_names(line, vertical);
        let class = if line % 4 == 0 {
            "primary"
        } else {
            "secondary"
        };
        format!(
            "{{\"name\":{},\"name_en\":{},\"class\":\"{class}\"}}",
            js(&zh),
            js(&en)
        )
    };
    let mut w = FeatureWriter::create(&out.join("roads.geojson"))?;
    for col in 0..=lattice.cols {
        let points: Vec<_> = (0..=lattice.rows)
            .map(|row| lattice.lonlat[lattice.v(col, row)])
            .collect();
        w.feature(&line_json(&points), &road_props(col, true))?;
    }
    for row in (0..=lattice.rows).filter(|&r| r != river_row) {
        let points: Vec<_> = (0..=lattice.cols)
            .map(|col| lattice.lonlat[lattice.v(col, row)])
            .collect();
        w.feature(&line_json(&points), &road_props(row, false))?;
    }
    summary.roads = w.finish()?;

    // The river: 200 m wide along the line, running on 400 m past the city.
    let bank = |dy: f64| -> Vec<(f64, f64)> {
        let line: Vec<(f64, f64)> = (0..=lattice.cols)
            .map(|col| lattice.metres[lattice.v(col, river_row)])
            .collect();
        let (first, last) = (line[0], line[line.len() - 1]);
        std::iter::once((first.0 - 400.0, first.1))
            .chain(line)
            .chain(std::iter::once((last.0 + 400.0, last.1)))
            .map(|(x, y)| lattice.to_lonlat(x, y + dy))
            .collect()
    };
    let mut ring = bank(100.0);
    ring.extend(bank(-100.0).into_iter().rev());
    ring.push(ring[0]);
    let mut w = FeatureWriter::create(&out.join("water.geojson"))?;
    w.polygon(&ring, r#"{"name":"渭河","name_en":"Wei River"}"#)?;
    summary.water = w.finish()?;

    let mut w = FeatureWriter::create(&out.join("landmarks.geojson"))?;
    let mut landmark = |col: usize, row: usize, name: &str, name_en: &str, kind: &str| {
        let (col, row) = (col.min(lattice.cols - 1), row.min(lattice.rows - 1));
        let (x, y) = lattice.block_centre(col, row);
        w.point(
            lattice.to_lonlat(x, y),
            &format!(
                "{{\"name\":{},\"name_en\":{},\"kind\":\"{kind}\"}}",
                js(name),
                js(name_en)
            ),
        )
    };
    for (area, r) in districts {
        let en = match area.name.as_str() {
            "金台区" => "Jintai District Government",
            "渭滨区" => "Weibin District Government",
            _ => "District Government",
        };
        let name = format!("{}人民政府", area.name);
        landmark(
            (r.c0 + r.c1) / 2,
            (r.r0 + r.r1) / 2,
            &name,
            en,
            "government",
        )?;
    }
    let (cols, rows) = (lattice.cols, lattice.rows);
    let at = |f: f64, n: usize| ((f * n as f64) as usize).min(n - 1);
    landmark(
        at(0.5, cols),
        river_row.saturating_sub(2),
        "宝鸡站",
        "Baoji Railway Station",
        "station",
    )?;
    landmark(at(0.62, cols), river_row, "渭河公园", "Weihe Park", "park")?;
    landmark(
        at(0.3, cols),
        at(0.25, rows),
        "人民公园",
        "People's Park",
        "park",
    )?;
    landmark(
        at(0.18, cols),
        at(0.1, rows),
        "中华石鼓园",
        "Chinese Stone Drum Garden",
        "park",
    )?;
    landmark(
        at(0.25, cols),
        at(0.16, rows),
        "宝鸡青铜器博物院",
        "Baoji Bronze Ware Museum",
        "museum",
    )?;
    landmark(
        at(0.55, cols),
        at(0.08, rows),
        "金台观",
        "Jintai Temple",
        "temple",
    )?;
    landmark(
        at(0.7, cols),
        at(0.82, rows),
        "炎帝广场",
        "Yandi Square",
        "square",
    )?;
    landmark(
        at(0.45, cols),
        at(0.66, rows),
        "宝鸡市中心医院",
        "Baoji Central Hospital",
        "hospital",
    )?;
    landmark(
        at(0.82, cols),
        at(0.72, rows),
        "宝鸡文理学院",
        "Baoji University of Arts and Sciences",
        "school",
    )?;
    summary.landmarks = w.finish()?;
    Ok(())
}

fn write_services(
    path: &Path,
    lattice: &Lattice,
    block_district: &[usize],
    block_community: &[usize],
    districts: &[District],
    communities: &[(&Area, &Area, usize, Rect)],
    rng: &mut Rng,
) -> io::Result<usize> {
    let mut w = FeatureWriter::create(path)?;
    let total_weight: f64 = SERVICE_CATEGORIES.iter().map(|c| c.weight).sum();
    let mut id = 0;
    for row in 0..lattice.rows {
        for col in 0..lattice.cols {
            if !rng.chance(0.13) {
                continue;
            }
            let mut pick = rng.f64() * total_weight;
            let cat = SERVICE_CATEGORIES
                .iter()
                .find(|c| {
                    pick -= c.weight;
                    pick <= 0.0
                })
                .unwrap_or(&SERVICE_CATEGORIES[0]);
            id += 1;
            let district = &districts[block_district[row * lattice.cols + col]].area;
            let (community, street, _, _) = communities[block_community[row * lattice.cols + col]];
            let road = road_name(col, true);
            let number = 1 + rng.below(300);
            let name = catalogue::service_name(
                cat.category,
                &road,
                short_name(&community.name),
                &street.name,
                id,
            );
            let (cx, cy) = lattice.block_centre(col, row);
            // Services face the street: near the block's western road.
            let at = lattice.to_lonlat(cx - rng.range(25.0, 35.0), cy + rng.range(-30.0, 30.0));
            let props = format!(
                "{{\"id\":\"svc-{id:06}\",\"category\":\"{}\",\"name\":{},\"address\":{},\"phone\":\"0917-{:07}\",\"hours\":\"{}\"}}",
                cat.category,
                js(&name),
                js(&format!("宝鸡市{}{}{}号", district.name, road, number)),
                3_000_000 + rng.below(6_999_999),
                cat.hours
            );
            w.point(at, &props)?;
        }
    }
    w.finish()
}

fn write_routing(path: &Path, district_codes: &[&str]) -> io::Result<usize> {
    let mut f = BufWriter::new(File::create(path)?);
    writeln!(f, "kind,class,area,department")?;
    let mut n = 0;
    for (kind, class, area, dept) in catalogue::ROUTING {
        if *area == "district" {
            for d in district_codes {
                writeln!(
                    f,
                    "{kind},{class},{d},{}",
                    catalogue::district_department(dept, d)
                )?;
                n += 1;
            }
        } else {
            writeln!(f, "{kind},{class},{area},{dept}")?;
            n += 1;
        }
    }
    // Component reports with no component attached go to the class's competent department.
    for rate in COMPONENT_RATES {
        writeln!(
            f,
            "component,{},*,{}",
            rate.class,
            catalogue::component_info(rate.class).competent
        )?;
        n += 1;
    }
    f.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_keeps_every_item_and_tiles_the_rectangle() {
        let rect = Rect {
            c0: 0,
            r0: 0,
            c1: 17,
            r1: 9,
        };
        let weights = [1.0, 2.0, 0.5, 1.5, 1.0, 1.0, 3.0];
        let mut out = Vec::new();
        partition(rect, &weights, &mut out);
        assert_eq!(out.len(), weights.len());
        let area: usize = out.iter().map(|r| r.width() * r.height()).sum();
        assert_eq!(area, 17 * 9);
        assert!(out.iter().all(|r| r.width() >= 1 && r.height() >= 1));
    }

    #[test]
    fn urban_streets_only() {
        let d = admin_divisions();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].area.code, "610303"); // 金台区, north
        let communities: usize = d
            .iter()
            .flat_map(|d| &d.streets)
            .map(|s| s.communities.len())
            .sum();
        assert_eq!(communities, 110);
        assert!(
            d.iter()
                .flat_map(|d| &d.streets)
                .all(|s| &s.area.code[6..7] == "0")
        );
    }

    #[test]
    fn short_names_drop_the_committee() {
        assert_eq!(short_name("新建路东段社区居委会"), "新建路东段社区");
        assert_eq!(short_name("罗家堎村委会"), "罗家堎村");
    }
}
