//! Well-known binary, the one exact way geometry moves between us and PostGIS:
//! doubles travel bit for bit, so the in-memory index holds exactly the
//! coordinates PostGIS tests against.

use geo::{Coord, LineString, MultiLineString, MultiPolygon, Point, Polygon};

pub const SRID_WGS84: u32 = 4326;
const EWKB_SRID_FLAG: u32 = 0x2000_0000;

#[derive(Debug, thiserror::Error)]
pub enum WkbError {
    #[error("WKB ends early")]
    Truncated,
    #[error("unsupported WKB geometry type {0}")]
    UnsupportedType(u32),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    little: bool,
}

impl Reader<'_> {
    /// Bytes left: what a count read from the input may reserve room for (a
    /// count is not trusted: 0xFFFFFFFF rings would ask for 100 GB).
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], WkbError> {
        let end = self.pos + N;
        let slice = self.buf.get(self.pos..end).ok_or(WkbError::Truncated)?;
        self.pos = end;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, WkbError> {
        Ok(self.bytes::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, WkbError> {
        let b = self.bytes::<4>()?;
        Ok(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }
    fn f64(&mut self) -> Result<f64, WkbError> {
        let b = self.bytes::<8>()?;
        Ok(if self.little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }
    /// Reads a geometry header; returns the base type (SRID skipped).
    fn header(&mut self) -> Result<u32, WkbError> {
        self.little = self.u8()? == 1;
        let ty = self.u32()?;
        if ty & EWKB_SRID_FLAG != 0 {
            self.u32()?;
        }
        if ty & 0xC000_0000 != 0 {
            // Z or M flags: we only store 2D geometry.
            return Err(WkbError::UnsupportedType(ty));
        }
        Ok(ty & 0x0FFF_FFFF)
    }
    fn ring(&mut self) -> Result<LineString<f64>, WkbError> {
        let n = self.u32()? as usize;
        let mut coords = Vec::with_capacity(n.min(self.remaining() / 16));
        for _ in 0..n {
            let x = self.f64()?;
            let y = self.f64()?;
            coords.push(Coord { x, y });
        }
        Ok(LineString(coords))
    }
    fn polygon_body(&mut self) -> Result<Polygon<f64>, WkbError> {
        let rings = self.u32()? as usize;
        if rings == 0 {
            return Ok(Polygon::new(LineString(vec![]), vec![]));
        }
        let exterior = self.ring()?;
        let mut holes = Vec::with_capacity((rings - 1).min(self.remaining() / 4));
        for _ in 1..rings {
            holes.push(self.ring()?);
        }
        Ok(Polygon::new(exterior, holes))
    }
}

/// Decodes a (Multi)Polygon as a MultiPolygon, keeping ring order and orientation
/// exactly as stored.
pub fn decode_multipolygon(buf: &[u8]) -> Result<MultiPolygon<f64>, WkbError> {
    let mut r = Reader {
        buf,
        pos: 0,
        little: true,
    };
    match r.header()? {
        3 => Ok(MultiPolygon(vec![r.polygon_body()?])),
        6 => {
            let n = r.u32()? as usize;
            let mut polys = Vec::with_capacity(n.min(r.remaining() / 9));
            for _ in 0..n {
                match r.header()? {
                    3 => polys.push(r.polygon_body()?),
                    other => return Err(WkbError::UnsupportedType(other)),
                }
            }
            Ok(MultiPolygon(polys))
        }
        other => Err(WkbError::UnsupportedType(other)),
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_polygon(out: &mut Vec<u8>, p: &Polygon<f64>) {
    out.push(1);
    put_u32(out, 3);
    put_u32(out, 1 + p.interiors().len() as u32);
    for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
        put_u32(out, ring.0.len() as u32);
        for c in &ring.0 {
            put_f64(out, c.x);
            put_f64(out, c.y);
        }
    }
}

/// EWKB (SRID 4326) of a MultiPolygon, as PostGIS reads it in COPY.
pub fn encode_multipolygon(mp: &MultiPolygon<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + mp.0.len() * 200);
    out.push(1);
    put_u32(&mut out, 6 | EWKB_SRID_FLAG);
    put_u32(&mut out, SRID_WGS84);
    put_u32(&mut out, mp.0.len() as u32);
    for p in &mp.0 {
        put_polygon(&mut out, p);
    }
    out
}

/// EWKB (SRID 4326) of a MultiLineString.
pub fn encode_multilinestring(ml: &MultiLineString<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + ml.0.len() * 100);
    out.push(1);
    put_u32(&mut out, 5 | EWKB_SRID_FLAG);
    put_u32(&mut out, SRID_WGS84);
    put_u32(&mut out, ml.0.len() as u32);
    for line in &ml.0 {
        out.push(1);
        put_u32(&mut out, 2);
        put_u32(&mut out, line.0.len() as u32);
        for c in &line.0 {
            put_f64(&mut out, c.x);
            put_f64(&mut out, c.y);
        }
    }
    out
}

/// EWKB (SRID 4326) of a point.
pub fn encode_point(p: Point<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(25);
    out.push(1);
    put_u32(&mut out, 1 | EWKB_SRID_FLAG);
    put_u32(&mut out, SRID_WGS84);
    put_f64(&mut out, p.x());
    put_f64(&mut out, p.y());
    out
}

/// Lower-case hex, the text form of bytea/geometry in COPY.
pub fn hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn multipolygon_round_trips_bit_for_bit() {
        let p = polygon![(x: 107.1, y: 34.3), (x: 107.2000000001, y: 34.3), (x: 107.2, y: 34.4), (x: 107.1, y: 34.3)];
        let mp = MultiPolygon(vec![p]);
        let bytes = encode_multipolygon(&mp);
        assert_eq!(decode_multipolygon(&bytes).unwrap(), mp);
    }

    #[test]
    fn truncated_input_is_an_error() {
        let mp = MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)],
        ]);
        let bytes = encode_multipolygon(&mp);
        assert!(decode_multipolygon(&bytes[..bytes.len() - 3]).is_err());
    }
}
