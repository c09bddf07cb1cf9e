//! Nearest-point search for components and services.
//!
//! Points are stored as unit vectors on the sphere: straight-line (chord)
//! distance between unit vectors grows monotonically with great-circle distance,
//! so an R*-tree's Euclidean nearest-neighbour order is exactly the order by
//! distance on the ground, with no projection and no latitude fudge.

use rstar::{RTree, primitives::GeomWithData};

/// Mean earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

type Entry = GeomWithData<[f64; 3], u32>;

fn unit_vector(lon: f64, lat: f64) -> [f64; 3] {
    let (lon, lat) = (lon.to_radians(), lat.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

fn chord_to_m(chord_sq: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * (chord_sq.sqrt() / 2.0).min(1.0).asin()
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
    let a = unit_vector(lon1, lat1);
    let b = unit_vector(lon2, lat2);
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    chord_to_m(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
}

/// Items with a position, found nearest first.
#[derive(Debug)]
pub struct PointIndex<T> {
    items: Vec<T>,
    tree: RTree<Entry>,
}

impl<T> Default for PointIndex<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            tree: RTree::new(),
        }
    }
}

impl<T> PointIndex<T> {
    /// `position` gives each item's (lon, lat).
    pub fn build(items: Vec<T>, position: impl Fn(&T) -> (f64, f64)) -> Self {
        let entries: Vec<Entry> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let (lon, lat) = position(item);
                GeomWithData::new(unit_vector(lon, lat), i as u32)
            })
            .collect();
        Self {
            items,
            tree: RTree::bulk_load(entries),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Up to `limit` items accepted by `filter`, within `radius_m` (if given), nearest first.
    pub fn nearest(
        &self,
        lon: f64,
        lat: f64,
        radius_m: Option<f64>,
        limit: usize,
        mut filter: impl FnMut(&T) -> bool,
    ) -> Vec<(&T, f64)> {
        let q = unit_vector(lon, lat);
        let mut out = Vec::with_capacity(limit.min(64));
        if limit == 0 {
            return out;
        }
        if let Some(radius) = radius_m {
            // A bounded search: collect the few points in range and sort them,
            // cheaper than the nearest-neighbour iterator's priority queue.
            let max_sq = m_to_chord_sq(radius);
            let mut hits: Vec<(f64, u32)> = self
                .tree
                .locate_within_distance(q, max_sq)
                .map(|e| {
                    let p = e.geom();
                    let d = [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
                    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2], e.data)
                })
                .collect();
            hits.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (d_sq, i) in hits {
                let item = &self.items[i as usize];
                if filter(item) {
                    out.push((item, chord_to_m(d_sq)));
                    if out.len() == limit {
                        break;
                    }
                }
            }
            return out;
        }
        for (entry, d_sq) in self.tree.nearest_neighbor_iter_with_distance_2(q) {
            let item = &self.items[entry.data as usize];
            if filter(item) {
                out.push((item, chord_to_m(d_sq)));
                if out.len() == limit {
                    break;
                }
            }
        }
        out
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
}
