//! Streaming GeoJSON FeatureCollection reading with per-feature errors.
//!
//! A million-feature file is read feature by feature (constant memory for the
//! JSON tree), and each feature's geometry is checked here so that an error can
//! name the file, the feature index and the reason.

use std::fmt;
use std::io::Read;

use geo::{Coord, LineString, MultiLineString, MultiPolygon, Point, Polygon};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// One feature as read: its index in the collection, geometry and properties.
pub struct RawFeature {
    pub index: usize,
    pub geometry: Value,
    pub properties: Map<String, Value>,
}

/// Reads a FeatureCollection, calling `each` for every feature in order.
/// Errors: malformed JSON (with line and column) or a top level that is not a
/// FeatureCollection.
pub fn read_features<R: Read>(reader: R, each: impl FnMut(RawFeature)) -> Result<usize, String> {
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, reader));
    let count = CollectionSeed { each }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(count)
}

struct CollectionSeed<F> {
    each: F,
}

impl<'de, F: FnMut(RawFeature)> DeserializeSeed<'de> for CollectionSeed<F> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(RawFeature)> Visitor<'de> for CollectionSeed<F> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<usize, A::Error> {
        let mut count = None;
        let mut kind: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => kind = Some(map.next_value()?),
                "features" => {
                    count = Some(map.next_value_seed(FeaturesSeed {
                        each: &mut self.each,
                    })?)
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(k) = kind
            && k != "FeatureCollection"
        {
            return Err(serde::de::Error::custom(format!(
                "top-level type is {k:?}, expected \"FeatureCollection\""
            )));
        }
        count.ok_or_else(|| serde::de::Error::custom("no \"features\" array"))
    }
}

struct FeaturesSeed<'a, F> {
    each: &'a mut F,
}

impl<'de, F: FnMut(RawFeature)> DeserializeSeed<'de> for FeaturesSeed<'_, F> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(RawFeature)> Visitor<'de> for FeaturesSeed<'_, F> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut index = 0;
        while let Some(feature) = seq.next_element::<Value>()? {
            let (geometry, properties) = match feature {
                Value::Object(mut obj) => {
                    let geometry = obj.remove("geometry").unwrap_or(Value::Null);
                    let properties = match obj.remove("properties") {
                        Some(Value::Object(p)) => p,
                        _ => Map::new(),
                    };
                    (geometry, properties)
                }
                _ => (Value::Null, Map::new()),
            };
            (self.each)(RawFeature {
                index,
                geometry,
                properties,
            });
            index += 1;
        }
        Ok(index)
    }
}

/// A polygon geometry as read, with what had to be mended on the way.
pub struct ReadPolygons {
    pub geom: MultiPolygon<f64>,
    pub mended: Option<String>,
}

fn position(v: &Value) -> Result<Coord, String> {
    let arr = v.as_array().ok_or("a position is not an array")?;
    if arr.len() < 2 {
        return Err("a position has fewer than 2 numbers".into());
    }
    let x = arr[0].as_f64().ok_or("a coordinate is not a number")?;
    let y = arr[1].as_f64().ok_or("a coordinate is not a number")?;
    check_lon_lat(x, y)?;
    Ok(Coord { x, y })
}

/// WGS-84 longitude and latitude ranges.
pub fn check_lon_lat(lon: f64, lat: f64) -> Result<(), String> {
    if !(lon.is_finite() && lat.is_finite()) {
        return Err("coordinates must be finite numbers".into());
    }
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(format!(
            "({lon}, {lat}) is not a WGS-84 longitude/latitude (projected coordinates?)"
        ));
    }
    Ok(())
}

fn ring(v: &Value, mended: &mut Vec<String>) -> Result<LineString<f64>, String> {
    let arr = v.as_array().ok_or("a ring is not an array of positions")?;
    let mut coords = arr.iter().map(position).collect::<Result<Vec<_>, _>>()?;
    if coords.first() != coords.last() {
        coords.push(coords[0]);
        mended.push("ring was not closed: closed it".into());
    }
    let mut distinct = coords.clone();
    distinct.dedup();
    if distinct.len() < 4 {
        return Err("a ring has fewer than 3 distinct positions".into());
    }
    Ok(LineString(coords))
}

fn polygon(v: &Value, mended: &mut Vec<String>) -> Result<Polygon<f64>, String> {
    let rings = v
        .as_array()
        .ok_or("polygon coordinates are not an array of rings")?;
    let mut rings = rings.iter().map(|r| ring(r, mended));
    let exterior = rings.next().ok_or("polygon has no rings")??;
    let holes = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, holes))
}

fn geometry_type(v: &Value) -> Result<(&str, &Value), String> {
    match v {
        Value::Null => Err("geometry is empty (null)".into()),
        Value::Object(o) => {
            let ty = o
                .get("type")
                .and_then(Value::as_str)
                .ok_or("geometry has no \"type\"")?;
            let coords = o
                .get("coordinates")
                .ok_or_else(|| format!("{ty} geometry has no coordinates"))?;
            Ok((ty, coords))
        }
        _ => Err("geometry is not an object".into()),
    }
}

/// Reads a Polygon or MultiPolygon.
pub fn read_polygons(v: &Value) -> Result<ReadPolygons, String> {
    let (ty, coords) = geometry_type(v)?;
    let mut mended = Vec::new();
    let polys = match ty {
        "Polygon" => vec![polygon(coords, &mut mended)?],
        "MultiPolygon" => coords
            .as_array()
            .ok_or("MultiPolygon coordinates are not an array")?
            .iter()
            .map(|p| polygon(p, &mut mended))
            .collect::<Result<Vec<_>, _>>()?,
        other => {
            return Err(format!(
                "geometry is a {other}, expected Polygon or MultiPolygon"
            ));
        }
    };
    if polys.is_empty() {
        return Err("MultiPolygon is empty".into());
    }
    Ok(ReadPolygons {
        geom: MultiPolygon(polys),
        mended: (!mended.is_empty()).then(|| mended.join("; ")),
    })
}

/// Reads a LineString or MultiLineString (each line of two positions or more).
pub fn read_lines(v: &Value) -> Result<MultiLineString<f64>, String> {
    let (ty, coords) = geometry_type(v)?;
    let line = |v: &Value| -> Result<LineString<f64>, String> {
        let arr = v.as_array().ok_or("a line is not an array of positions")?;
        let coords = arr.iter().map(position).collect::<Result<Vec<_>, _>>()?;
        if coords.len() < 2 {
            return Err("a line has fewer than 2 positions".into());
        }
        Ok(LineString(coords))
    };
    let lines = match ty {
        "LineString" => vec![line(coords)?],
        "MultiLineString" => coords
            .as_array()
            .ok_or("MultiLineString coordinates are not an array")?
            .iter()
            .map(line)
            .collect::<Result<Vec<_>, _>>()?,
        other => {
            return Err(format!(
                "geometry is a {other}, expected LineString or MultiLineString"
            ));
        }
    };
    if lines.is_empty() {
        return Err("MultiLineString is empty".into());
    }
    Ok(MultiLineString(lines))
}

/// Reads a Point.
pub fn read_point(v: &Value) -> Result<Point<f64>, String> {
    let (ty, coords) = geometry_type(v)?;
    if ty != "Point" {
        return Err(format!("geometry is a {ty}, expected Point"));
    }
    Ok(Point(position(coords)?))
}

/// A property as text: strings as they are, integers and other numbers written out
/// (dirty data carries codes as JSON numbers), null/absent as None.
pub fn prop_text(props: &Map<String, Value>, key: &str) -> Option<String> {
    match props.get(key)? {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_features_and_reports_bad_json() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Point","coordinates":[107.1,34.3]},"properties":{"code":6103020101000001}},
            {"type":"Feature","geometry":null,"properties":{}}]}"#;
        let mut got = Vec::new();
        let n = read_features(text.as_bytes(), |f| got.push(f)).unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            prop_text(&got[0].properties, "code").unwrap(),
            "6103020101000001"
        );
        assert!(read_point(&got[0].geometry).is_ok());
        assert!(read_point(&got[1].geometry).unwrap_err().contains("empty"));
        let err = read_features(
            r#"{"type":"FeatureCollection","features":[{]}"#.as_bytes(),
            |_| {},
        )
        .unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn unclosed_rings_are_mended_and_degenerate_ones_refused() {
        let open: Value =
            serde_json::json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]});
        let r = read_polygons(&open).unwrap();
        assert!(r.mended.is_some());
        let flat: Value = serde_json::json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]});
        assert!(read_polygons(&flat).is_err());
        let projected: Value =
            serde_json::json!({"type":"Point","coordinates":[500000.0, 3800000.0]});
        assert!(read_point(&projected).unwrap_err().contains("WGS-84"));
    }
}
