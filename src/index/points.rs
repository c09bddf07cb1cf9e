//! Nearest-point search for components and services.
//!
//! Points are sorted along a Z-order curve and cut into small clusters (at most
//! 16 points, at most ~60 m across); an R*-tree over the clusters' boxes answers
//! "everything within r metres" through a lon/lat box that provably contains the
//! circle, and the clusters' points, contiguous in memory, get their exact
//! great-circle distance and are sorted. (A tree with one leaf per point spent
//! most of its time walking 64-byte nodes: `citygrid bench` measured the
//! clustered tree ~2× faster on a million components.) "The k nearest" (no radius)
//! widens the circle until it holds k matches, so the order is exact on the
//! ground, with no projection and no latitude fudge.

use rstar::{
    AABB, RStarInsertionStrategy, RTree, RTreeParams,
    primitives::{GeomWithData, Rectangle},
};

/// Wider nodes than rstar's default (6): a shallower tree, measured faster on
/// `citygrid bench`'s 50 m searches.
pub struct WideNodes;

impl RTreeParams for WideNodes {
    const MIN_SIZE: usize = 8;
    const MAX_SIZE: usize = 24;
    const REINSERTION_COUNT: usize = 6;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

/// Mean earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A cluster's box; the data is its range `start..end` in the point arrays.
type Entry = GeomWithData<Rectangle<[f64; 2]>, (u32, u32)>;

const CLUSTER_POINTS: usize = 16;
const CLUSTER_SPAN_DEG: f64 = 0.0006;

fn unit_vector(lon: f64, lat: f64) -> [f64; 3] {
    let (lon, lat) = (lon.to_radians(), lat.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// Squared straight-line distance between unit vectors: it grows with the
/// great-circle distance, so it orders points exactly as the ground does.
fn chord_sq(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

fn chord_sq_to_m(c: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * (c.sqrt() / 2.0).min(1.0).asin()
}

fn m_to_chord_sq(m: f64) -> f64 {
    let c = 2.0
        * (m / (2.0 * EARTH_RADIUS_M))
            .min(std::f64::consts::FRAC_PI_2)
            .sin();
    c * c
}

/// Great-circle distance in metres.
pub fn distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    chord_sq_to_m(chord_sq(&unit_vector(lon1, lat1), &unit_vector(lon2, lat2)))
}

/// Z-order key: items stored near each other in memory when near on the ground,
/// so a search touches few cache lines.
fn z_order(lon: f64, lat: f64) -> u64 {
    let q = |v: f64, lo: f64, span: f64| {
        (((v - lo) / span).clamp(0.0, 1.0) * ((1u64 << 31) as f64 - 1.0)) as u64
    };
    let (x, y) = (q(lon, -180.0, 360.0), q(lat, -90.0, 180.0));
    let spread = |mut v: u64| {
        v &= 0x7FFF_FFFF;
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    };
    spread(x) | (spread(y) << 1)
}

/// A lon/lat box holding every point within `radius_m` of (lon, lat).
fn bounding_box(lon: f64, lat: f64, radius_m: f64) -> AABB<[f64; 2]> {
    let angle = radius_m / EARTH_RADIUS_M; // radians of arc
    let dlat = angle.to_degrees() * 1.000_001 + 1e-9;
    let (lat_lo, lat_hi) = (lat - dlat, lat + dlat);
    let full = || AABB::from_corners([-180.0, lat_lo.max(-90.0)], [180.0, lat_hi.min(90.0)]);
    if lat_lo <= -90.0 || lat_hi >= 90.0 {
        return full();
    }
    // On a sphere the widest longitude offset at distance `angle` is
    // asin(sin(angle) / cos(lat)).
    let ratio = angle.sin() / lat.to_radians().cos();
    if ratio >= 1.0 {
        return full();
    }
    let dlon = ratio.asin().to_degrees() * 1.000_001 + 1e-9;
    if lon - dlon < -180.0 || lon + dlon > 180.0 {
        return full();
    }
    AABB::from_corners([lon - dlon, lat_lo], [lon + dlon, lat_hi])
}

/// Items with a position, found nearest first.
#[derive(Debug)]
pub struct PointIndex<T> {
    items: Vec<T>,
    /// Unit vectors of the items, same order.
    units: Vec<[f64; 3]>,
    tree: RTree<Entry, WideNodes>,
}

impl<T> Default for PointIndex<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            units: Vec::new(),
            tree: RTree::new_with_params(),
        }
    }
}

impl<T> PointIndex<T> {
    /// `position` gives each item's (lon, lat).
    pub fn build(items: Vec<T>, position: impl Fn(&T) -> (f64, f64)) -> Self {
        let mut keyed: Vec<(u64, T)> = items
            .into_iter()
            .map(|t| {
                let (lon, lat) = position(&t);
                (z_order(lon, lat), t)
            })
            .collect();
        keyed.sort_by_key(|k| k.0);
        let items: Vec<T> = keyed.into_iter().map(|k| k.1).collect();
        let mut units = Vec::with_capacity(items.len());
        let mut entries: Vec<Entry> = Vec::new();
        let mut start = 0usize;
        let mut bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        let close = |entries: &mut Vec<Entry>, start: usize, end: usize, b: [f64; 4]| {
            if end > start {
                let rect = Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]);
                entries.push(GeomWithData::new(rect, (start as u32, end as u32)));
            }
        };
        for (i, item) in items.iter().enumerate() {
            let (lon, lat) = position(item);
            units.push(unit_vector(lon, lat));
            let grown = [
                bbox[0].min(lon),
                bbox[1].min(lat),
                bbox[2].max(lon),
                bbox[3].max(lat),
            ];
            if i - start == CLUSTER_POINTS
                || (i > start
                    && (grown[2] - grown[0] > CLUSTER_SPAN_DEG
                        || grown[3] - grown[1] > CLUSTER_SPAN_DEG))
            {
                close(&mut entries, start, i, bbox);
                start = i;
                bbox = [lon, lat, lon, lat];
            } else {
                bbox = grown;
            }
        }
        close(&mut entries, start, items.len(), bbox);
        Self {
            items,
            units,
            tree: RTree::bulk_load_with_params(entries),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every item accepted by `filter` within `radius_m`, nearest first (ties by position).
    fn within(
        &self,
        lon: f64,
        lat: f64,
        radius_m: f64,
        filter: &mut impl FnMut(&T) -> bool,
    ) -> Vec<(f64, u32)> {
        let q = unit_vector(lon, lat);
        let max = m_to_chord_sq(radius_m);
        let mut hits: Vec<(f64, u32)> = Vec::new();
        for cluster in self
            .tree
            .locate_in_envelope_intersecting(bounding_box(lon, lat, radius_m))
        {
            let (start, end) = cluster.data;
            for i in start..end {
                let c = chord_sq(&q, &self.units[i as usize]);
                if c <= max && filter(&self.items[i as usize]) {
                    hits.push((c, i));
                }
            }
        }
        hits.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        hits
    }

    /// Up to `limit` items accepted by `filter`, within `radius_m` if given, nearest first.
    pub fn nearest(
        &self,
        lon: f64,
        lat: f64,
        radius_m: Option<f64>,
        limit: usize,
        mut filter: impl FnMut(&T) -> bool,
    ) -> Vec<(&T, f64)> {
        if limit == 0 || self.items.is_empty() {
            return Vec::new();
        }
        let hits = match radius_m {
            Some(r) => self.within(lon, lat, r, &mut filter),
            None => {
                // Widen until the circle holds `limit` matches (or the whole earth).
                let mut r = 500.0;
                loop {
                    let hits = self.within(lon, lat, r, &mut filter);
                    if hits.len() >= limit || r > std::f64::consts::PI * EARTH_RADIUS_M {
                        break hits;
                    }
                    r *= 4.0;
                }
            }
        };
        hits.into_iter()
            .take(limit)
            .map(|(c, i)| (&self.items[i as usize], chord_sq_to_m(c)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_right_on_the_ground() {
        // One degree of latitude is ~111.2 km on the mean sphere.
        let d = distance_m(107.0, 34.0, 107.0, 35.0);
        assert!((d - 111_195.0).abs() < 10.0, "{d}");
    }

    #[test]
    fn nearest_first_within_radius_with_filter() {
        let pts = vec![
            (107.0, 34.0, 'a'),
            (107.0003, 34.0, 'b'),
            (107.0001, 34.0, 'c'),
        ];
        let idx = PointIndex::build(pts, |p| (p.0, p.1));
        let found: Vec<char> = idx
            .nearest(107.0, 34.0, Some(20.0), 10, |_| true)
            .iter()
            .map(|(p, _)| p.2)
            .collect();
        // c is ~9.2 m east, b ~27.7 m east: outside 20 m.
        assert_eq!(found, vec!['a', 'c']);
        let only_b: Vec<char> = idx
            .nearest(107.0, 34.0, None, 10, |p| p.2 == 'b')
            .iter()
            .map(|(p, _)| p.2)
            .collect();
        assert_eq!(only_b, vec!['b']);
    }

    proptest::proptest! {
        #[test]
        fn search_equals_brute_force(
            pts in proptest::collection::vec((107.0f64..107.02, 34.0f64..34.02), 1..400),
            (qx, qy) in (107.0f64..107.02, 34.0f64..34.02),
            radius in 1.0f64..800.0,
            limit in 1usize..30,
        ) {
            let items: Vec<(usize, f64, f64)> = pts.iter().enumerate().map(|(i, p)| (i, p.0, p.1)).collect();
            let idx = PointIndex::build(items.clone(), |p| (p.1, p.2));
            let mut brute: Vec<(f64, usize)> = items
                .iter()
                .map(|p| (distance_m(qx, qy, p.1, p.2), p.0))
                .filter(|(d, _)| *d <= radius)
                .collect();
            brute.sort_by(|a, b| a.0.total_cmp(&b.0));
            let got: Vec<f64> = idx.nearest(qx, qy, Some(radius), limit, |_| true).iter().map(|(_, d)| *d).collect();
            let want: Vec<f64> = brute.iter().take(limit).map(|b| b.0).collect();
            proptest::prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                proptest::prop_assert!((g - w).abs() < 1e-6, "{} vs {}", g, w);
            }
            // Unbounded: the k nearest of all.
            let mut all: Vec<f64> = items.iter().map(|p| distance_m(qx, qy, p.1, p.2)).collect();
            all.sort_by(|a, b| a.total_cmp(b));
            let got: Vec<f64> = idx.nearest(qx, qy, None, limit, |_| true).iter().map(|(_, d)| *d).collect();
            proptest::prop_assert_eq!(got.len(), limit.min(all.len()));
            for (g, w) in got.iter().zip(&all) {
                proptest::prop_assert!((g - w).abs() < 1e-6, "{} vs {}", g, w);
            }
        }
    }
}
