//! Point in (multi)polygon with exactly PostGIS's arithmetic.
//!
//! `ST_Covers(polygon, point)` in PostGIS 3 does not call GEOS: it short-circuits
//! to liblwgeom's winding-number test (`point_in_ring`), which decides the side
//! of a segment with one plain floating-point cross product and calls a point
//! "on the boundary" only when that product is exactly 0.0. A point a few ULPs
//! from an edge can therefore come out differently from an exact (robust)
//! predicate. The geocoder must agree with PostGIS for every point, so this is
//! the same computation, operation for operation (no fused multiply-add: Rust
//! never contracts `a*b - c*d`).

use geo::{Coord, LineString, MultiPolygon};

/// Where a point lies relative to a ring or polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Outside,
    Boundary,
    Inside,
}

#[inline]
fn determine_side(s1: Coord, s2: Coord, p: Coord) -> f64 {
    (s2.x - s1.x) * (p.y - s1.y) - (p.x - s1.x) * (s2.y - s1.y)
}

#[inline]
fn is_on_segment(s1: Coord, s2: Coord, p: Coord) -> bool {
    let (min_x, max_x) = if s1.x > s2.x {
        (s2.x, s1.x)
    } else {
        (s1.x, s2.x)
    };
    let (min_y, max_y) = if s1.y > s2.y {
        (s2.y, s1.y)
    } else {
        (s1.y, s2.y)
    };
    !(max_x < p.x || min_x > p.x || max_y < p.y || min_y > p.y)
}

/// liblwgeom `point_in_ring`.
pub fn point_in_ring(ring: &LineString<f64>, p: Coord) -> Side {
    let pts = &ring.0;
    if pts.len() < 2 {
        return Side::Outside;
    }
    let mut wn: i32 = 0;
    for w in pts.windows(2) {
        let (s1, s2) = (w[0], w[1]);
        if s1.x == s2.x && s1.y == s2.y {
            continue;
        }
        let side = determine_side(s1, s2, p);
        if side == 0.0 && is_on_segment(s1, s2, p) {
            return Side::Boundary;
        }
        if s1.y <= p.y && p.y < s2.y && side > 0.0 {
            wn += 1;
        } else if s2.y <= p.y && p.y < s1.y && side < 0.0 {
            wn -= 1;
        }
    }
    if wn == 0 { Side::Outside } else { Side::Inside }
}

/// liblwgeom `point_in_multipolygon` (grids are stored as MultiPolygons, so
/// this is the path PostGIS takes for them).
pub fn point_in_multipolygon(mp: &MultiPolygon<f64>, p: Coord) -> Side {
    for poly in &mp.0 {
        if poly.exterior().0.is_empty() {
            continue;
        }
        match point_in_ring(poly.exterior(), p) {
            Side::Outside => continue,
            Side::Boundary => return Side::Boundary,
            Side::Inside => {}
        }
        let mut result = Side::Inside;
        for hole in poly.interiors() {
            match point_in_ring(hole, p) {
                Side::Inside => {
                    result = Side::Outside;
                    break;
                }
                Side::Boundary => return Side::Boundary,
                Side::Outside => {}
            }
        }
        if result != Side::Outside {
            return result;
        }
    }
    Side::Outside
}

/// `ST_Covers(mp, p)`: inside or on the boundary.
pub fn covers(mp: &MultiPolygon<f64>, p: Coord) -> bool {
    point_in_multipolygon(mp, p) != Side::Outside
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square_with_hole() -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 4.0, y: 4.0), (x: 6.0, y: 4.0), (x: 6.0, y: 6.0), (x: 4.0, y: 6.0), (x: 4.0, y: 4.0)]],
        )])
    }

    #[test]
    fn inside_outside_boundary_and_hole() {
        let mp = square_with_hole();
        let cases = [
            ((1.0, 1.0), Side::Inside),
            ((11.0, 1.0), Side::Outside),
            ((10.0, 5.0), Side::Boundary),
            ((0.0, 0.0), Side::Boundary),
            ((5.0, 5.0), Side::Outside),  // in the hole
            ((6.0, 5.0), Side::Boundary), // on the hole's edge
        ];
        for ((x, y), side) in cases {
            assert_eq!(
                point_in_multipolygon(&mp, Coord { x, y }),
                side,
                "({x}, {y})"
            );
        }
        assert!(covers(&mp, Coord { x: 4.0, y: 4.0 }));
    }

    #[test]
    fn orientation_does_not_matter() {
        let cw = MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 0.0, y: 2.0), (x: 2.0, y: 2.0), (x: 2.0, y: 0.0), (x: 0.0, y: 0.0)],
        ]);
        assert!(covers(&cw, Coord { x: 1.0, y: 1.0 }));
        assert!(!covers(&cw, Coord { x: 3.0, y: 1.0 }));
    }
}
