//! The cell-grid index: H3 cells over the unit grids, so that a point finds its
//! grid with one hash lookup, and an exact point-in-polygon test runs only in
//! the cells that a grid boundary crosses.
//!
//! Rule for points covered by more than one grid (a shared edge or vertex, or
//! overlapping dirty data): the grid with the lowest code wins. The PostGIS
//! equivalent is `SELECT code FROM grids WHERE ST_Covers(geom, p) ORDER BY code
//! LIMIT 1`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use geo::{BoundingRect, Coord, Distance, Euclidean, LineString, MultiPolygon, Polygon, Rect};
use h3o::{CellIndex, LatLng, Resolution};

use super::pip;

/// Resolution 12 cells average ~307 m² (about 19 m across): a 10,000 m² unit
/// grid spans some 30 of them, most wholly inside it.
pub const RESOLUTION: Resolution = Resolution::Twelve;

/// A cell counts as wholly inside a grid only if no boundary of the grid comes
/// within this distance (degrees, ~1 cm) of the cell's planar outline. H3 cell
/// edges are gnomonic great-circle arcs that stray from the straight lon/lat
/// outline by micrometres at this resolution; the margin absorbs that.
const MARGIN_DEG: f64 = 1e-7;

const INTERIOR_FLAG: u32 = 1 << 31;

/// One unit grid as the index holds it.
#[derive(Debug, Clone)]
pub struct IndexedGrid {
    pub code: String,
    pub name: String,
    pub geom: MultiPolygon<f64>,
    bbox: Option<Rect<f64>>,
}

impl IndexedGrid {
    pub fn new(code: String, name: String, geom: MultiPolygon<f64>) -> Self {
        let bbox = geom.bounding_rect();
        Self {
            code,
            name,
            geom,
            bbox,
        }
    }

    #[inline]
    pub fn covers(&self, p: Coord) -> bool {
        match self.bbox {
            Some(b) => {
                p.x >= b.min().x
                    && p.x <= b.max().x
                    && p.y >= b.min().y
                    && p.y <= b.max().y
                    && pip::covers(&self.geom, p)
            }
            None => false,
        }
    }
}

/// H3 indexes are already well mixed in their low bits; one multiply spreads them.
#[derive(Default)]
pub struct CellHasher(u64);

impl Hasher for CellHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type CellMap<V> = HashMap<u64, V, BuildHasherDefault<CellHasher>>;

/// What a cell knows: either the one grid that wins everywhere in it, or a
/// slice of candidates to test in code order.
#[derive(Debug, Clone, Copy)]
enum CellEntry {
    Grid(u32),
    Candidates { start: u32, len: u32 },
}

#[derive(Debug, Default)]
pub struct GridIndex {
    grids: Vec<IndexedGrid>,
    cells: CellMap<CellEntry>,
    /// Grid positions, with `INTERIOR_FLAG` set where the grid covers the whole cell.
    candidates: Vec<u32>,
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct GridIndexStats {
    pub grids: usize,
    pub cells: usize,
    pub direct_cells: usize,
    pub candidate_entries: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellClass {
    Outside,
    Boundary,
    Interior,
}

fn cell_outline(cell: CellIndex) -> Polygon<f64> {
    let boundary = cell.boundary();
    let mut coords: Vec<Coord> = boundary
        .iter()
        .map(|ll| Coord {
            x: ll.lng(),
            y: ll.lat(),
        })
        .collect();
    if let Some(first) = coords.first().copied() {
        coords.push(first);
    }
    Polygon::new(LineString(coords), vec![])
}

fn rects_within(a: &Rect<f64>, b: &Rect<f64>, margin: f64) -> bool {
    a.min().x - margin <= b.max().x
        && b.min().x - margin <= a.max().x
        && a.min().y - margin <= b.max().y
        && b.min().y - margin <= a.max().y
}

/// Where a cell lies relative to a grid: decided on the cell's planar outline
/// with a margin, so that every point H3 puts in the cell is classified right.
fn classify(
    cell: CellIndex,
    grid: &MultiPolygon<f64>,
    rings: &[(LineString<f64>, Rect<f64>)],
) -> CellClass {
    let outline = cell_outline(cell);
    let Some(cell_box) = outline.bounding_rect() else {
        return CellClass::Outside;
    };
    for (ring, ring_box) in rings {
        if rects_within(ring_box, &cell_box, MARGIN_DEG)
            && Euclidean.distance(ring, outline.exterior()) <= MARGIN_DEG
        {
            return CellClass::Boundary;
        }
    }
    // No ring comes near the outline: each ring is wholly inside or outside the cell.
    for (ring, ring_box) in rings {
        if rects_within(ring_box, &cell_box, 0.0)
            && pip::point_in_ring(outline.exterior(), ring.0[0]) != pip::Side::Outside
        {
            return CellClass::Boundary;
        }
    }
    // So the cell is wholly inside or wholly outside the grid: one point decides.
    if pip::covers(grid, outline.exterior().0[0]) {
        CellClass::Interior
    } else {
        CellClass::Outside
    }
}

fn to_cell(p: Coord) -> Option<CellIndex> {
    // The one place where (lon, lat) becomes h3o's (lat, lng).
    LatLng::new(p.y, p.x).ok().map(|ll| ll.to_cell(RESOLUTION))
}

/// The cells a grid touches, each with its class (never `Outside`).
fn cells_of(grid: &MultiPolygon<f64>) -> Vec<(u64, bool)> {
    let rings: Vec<(LineString<f64>, Rect<f64>)> = grid
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .filter(|r| r.0.len() >= 2)
        .filter_map(|r| r.bounding_rect().map(|b| (r.clone(), b)))
        .collect();
    let mut seen: HashSet<u64, BuildHasherDefault<CellHasher>> = HashSet::default();
    let mut queue = VecDeque::new();
    for poly in &grid.0 {
        if let Some(c) = poly.exterior().0.first().copied().and_then(to_cell)
            && seen.insert(u64::from(c))
        {
            queue.push_back(c);
        }
    }
    let mut out = Vec::new();
    while let Some(cell) = queue.pop_front() {
        let class = classify(cell, grid, &rings);
        if class == CellClass::Outside {
            continue;
        }
        out.push((u64::from(cell), class == CellClass::Interior));
        for n in cell.grid_disk::<Vec<_>>(1) {
            if seen.insert(u64::from(n)) {
                queue.push_back(n);
            }
        }
    }
    out
}

impl GridIndex {
    /// Builds the index. Grids are sorted by code, which is also the tie-break order.
    pub fn build(mut grids: Vec<IndexedGrid>) -> Self {
        grids.sort_by(|a, b| a.code.cmp(&b.code));
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .max(1);
        let chunk = grids.len().div_ceil(threads).max(1);
        let mut entries: Vec<(u64, u32)> = std::thread::scope(|s| {
            let handles: Vec<_> = grids
                .chunks(chunk)
                .enumerate()
                .map(|(ci, part)| {
                    s.spawn(move || {
                        let mut out = Vec::new();
                        for (i, g) in part.iter().enumerate() {
                            let pos = (ci * chunk + i) as u32;
                            for (cell, interior) in cells_of(&g.geom) {
                                out.push((cell, if interior { pos | INTERIOR_FLAG } else { pos }));
                            }
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        entries.sort_unstable_by_key(|&(cell, g)| (cell, g & !INTERIOR_FLAG));

        let mut cells: CellMap<CellEntry> = CellMap::default();
        cells.reserve(entries.len() / 2);
        let mut candidates = Vec::new();
        for group in entries.chunk_by(|a, b| a.0 == b.0) {
            let cell = group[0].0;
            let first = group[0].1;
            if first & INTERIOR_FLAG != 0 {
                cells.insert(cell, CellEntry::Grid(first & !INTERIOR_FLAG));
                continue;
            }
            let start = candidates.len() as u32;
            for &(_, g) in group {
                candidates.push(g);
                if g & INTERIOR_FLAG != 0 {
                    break; // it wins over everything after it
                }
            }
            let len = candidates.len() as u32 - start;
            cells.insert(cell, CellEntry::Candidates { start, len });
        }
        cells.shrink_to_fit();
        candidates.shrink_to_fit();
        Self {
            grids,
            cells,
            candidates,
        }
    }

    pub fn grids(&self) -> &[IndexedGrid] {
        &self.grids
    }

    pub fn stats(&self) -> GridIndexStats {
        GridIndexStats {
            grids: self.grids.len(),
            cells: self.cells.len(),
            direct_cells: self
                .cells
                .values()
                .filter(|e| matches!(e, CellEntry::Grid(_)))
                .count(),
            candidate_entries: self.candidates.len(),
        }
    }

    /// The grid covering `(lon, lat)`, lowest code first where several do.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<&IndexedGrid> {
        let p = Coord { x: lon, y: lat };
        let cell = to_cell(p)?;
        match self.cells.get(&u64::from(cell))? {
            CellEntry::Grid(g) => Some(&self.grids[*g as usize]),
            CellEntry::Candidates { start, len } => {
                let slice = &self.candidates[*start as usize..(*start + *len) as usize];
                for &g in slice {
                    let grid = &self.grids[(g & !INTERIOR_FLAG) as usize];
                    if g & INTERIOR_FLAG != 0 || grid.covers(p) {
                        return Some(grid);
                    }
                }
                None
            }
        }
    }

    /// The same answer by scanning every grid: the reference the index is tested against.
    pub fn locate_brute_force(&self, lon: f64, lat: f64) -> Option<&IndexedGrid> {
        let p = Coord { x: lon, y: lat };
        if !(lon.is_finite() && lat.is_finite()) {
            return None;
        }
        self.grids.iter().find(|g| g.covers(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(code: &str, x0: f64, y0: f64, size: f64) -> IndexedGrid {
        let p = polygon![(x: x0, y: y0), (x: x0 + size, y: y0), (x: x0 + size, y: y0 + size), (x: x0, y: y0 + size), (x: x0, y: y0)];
        IndexedGrid::new(code.into(), String::new(), MultiPolygon(vec![p]))
    }

    #[test]
    fn shared_edges_go_to_the_lowest_code() {
        let a = square("610302001001002", 107.0, 34.0, 0.001);
        let b = square("610302001001001", 107.001, 34.0, 0.001);
        let idx = GridIndex::build(vec![a, b]);
        assert_eq!(
            idx.locate(107.0005, 34.0005).unwrap().code,
            "610302001001002"
        );
        assert_eq!(
            idx.locate(107.0015, 34.0005).unwrap().code,
            "610302001001001"
        );
        // On the shared edge: both cover it, the lower code wins.
        assert_eq!(
            idx.locate(107.001, 34.0005).unwrap().code,
            "610302001001001"
        );
        assert!(idx.locate(107.003, 34.0005).is_none());
        let stats = idx.stats();
        assert!(stats.direct_cells > 0, "{stats:?}");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A jittered lattice of quadrilateral grids (shared vertices, like real unit
    /// grids), plus a few arbitrary extra polygons that overlap them.
    fn city() -> impl Strategy<Value = (Vec<IndexedGrid>, Vec<(f64, f64)>)> {
        (
            2usize..6,
            2usize..5,
            prop::collection::vec(-0.3f64..0.3, 64),
            prop::collection::vec((0.0f64..1.0, 0.0f64..1.0, 0.1f64..1.5), 0..4),
        )
            .prop_map(|(cols, rows, jitter, extras)| {
                let cell = 0.001; // ~100 m
                let (x0, y0) = (107.1, 34.35);
                let vertex = |c: usize, r: usize| {
                    let j = |k: usize| jitter[k % jitter.len()] * cell;
                    let (jx, jy) = if c == 0 || r == 0 || c == cols || r == rows {
                        (0.0, 0.0)
                    } else {
                        (j(c * 7 + r), j(c * 3 + r * 5 + 1))
                    };
                    Coord {
                        x: x0 + c as f64 * cell + jx,
                        y: y0 + r as f64 * cell + jy,
                    }
                };
                let mut grids = Vec::new();
                let mut probes = Vec::new();
                for r in 0..rows {
                    for c in 0..cols {
                        let ring = vec![
                            vertex(c, r),
                            vertex(c + 1, r),
                            vertex(c + 1, r + 1),
                            vertex(c, r + 1),
                            vertex(c, r),
                        ];
                        for w in ring.windows(2) {
                            probes.push((w[0].x, w[0].y));
                            probes.push(((w[0].x + w[1].x) / 2.0, (w[0].y + w[1].y) / 2.0));
                        }
                        let code = format!("610302001001{:03}", r * cols + c + 1);
                        grids.push(IndexedGrid::new(
                            code,
                            String::new(),
                            MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]),
                        ));
                    }
                }
                for (i, (fx, fy, size)) in extras.into_iter().enumerate() {
                    let (cx, cy) = (x0 + fx * cols as f64 * cell, y0 + fy * rows as f64 * cell);
                    let s = size * cell;
                    let ring = vec![
                        Coord { x: cx, y: cy },
                        Coord {
                            x: cx + s,
                            y: cy + s * 0.3,
                        },
                        Coord {
                            x: cx + s * 0.4,
                            y: cy + s,
                        },
                        Coord { x: cx, y: cy },
                    ];
                    probes.extend(ring.iter().map(|c| (c.x, c.y)));
                    let code = format!("610302001000{:03}", i + 1);
                    grids.push(IndexedGrid::new(
                        code,
                        String::new(),
                        MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]),
                    ));
                }
                (grids, probes)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn index_equals_brute_force((grids, probes) in city(), randoms in prop::collection::vec((-0.2f64..1.2, -0.2f64..1.2), 400)) {
            let index = GridIndex::build(grids);
            let (x0, y0, span) = (107.1, 34.35, 0.006);
            let points = probes.into_iter().chain(randoms.into_iter().map(|(fx, fy)| (x0 + fx * span, y0 + fy * span)));
            for (lon, lat) in points {
                let fast = index.locate(lon, lat).map(|g| g.code.clone());
                let slow = index.locate_brute_force(lon, lat).map(|g| g.code.clone());
                prop_assert_eq!(fast, slow, "at ({}, {})", lon, lat);
            }
        }
    }
}
