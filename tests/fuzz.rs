//! Fuzz targets on stable Rust (proptest-driven, no nightly toolchain): the
//! readers and parsers that take outside input get arbitrary and mutated
//! input and must answer — Ok or an error — without panicking. Each target
//! runs `CITYGRID_FUZZ_CASES` cases (default 2,000), a bounded time; the
//! address matcher, which needs PostGIS, is fuzzed through HTTP in
//! `tests/it/intake.rs`.

use citygrid::domain::codes::{ClassCode, ComponentCode, GridCode};
use citygrid::domain::privacy::mask_personal_data;
use citygrid::import::geojson::{read_features, read_point, read_polygons};
use citygrid::index::wkb::{decode_multipolygon, encode_multipolygon};
use geo::{LineString, MultiPolygon, Polygon};
use proptest::prelude::*;
use serde_json::Value;

fn config() -> ProptestConfig {
    let cases = std::env::var("CITYGRID_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2_000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any JSON value, nested a few levels, with numbers of every kind.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<i64>().prop_map(|i| Value::Number(i.into())),
        prop_oneof![
            Just("Polygon".to_owned()),
            Just("MultiPolygon".to_owned()),
            Just("Point".to_owned()),
            Just("type".to_owned()),
            Just("coordinates".to_owned()),
            "\\PC{0,8}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("type".to_owned()),
                        Just("coordinates".to_owned()),
                        "[a-z]{1,6}"
                    ],
                    inner
                ),
                0..4
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A small valid multipolygon.
fn multipolygon() -> impl Strategy<Value = MultiPolygon<f64>> {
    prop::collection::vec(
        prop::collection::vec((-180.0f64..180.0, -90.0f64..90.0), 3..8),
        1..3,
    )
    .prop_map(|polys| {
        MultiPolygon(
            polys
                .into_iter()
                .map(|pts| Polygon::new(LineString::from(pts), vec![]))
                .collect(),
        )
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn geojson_reader_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_features(&bytes[..], |_| {});
    }

    #[test]
    fn geojson_reader_takes_mangled_collections(
        value in json_value(),
        cut in 0usize..400,
    ) {
        let text = format!(r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","geometry":{value},"properties":{{}}}}]}}"#);
        let mut features = Vec::new();
        let _ = read_features(text.as_bytes(), |f| features.push(f));
        for f in &features {
            let _ = read_polygons(&f.geometry);
            let _ = read_point(&f.geometry);
        }
        // Cut short anywhere: an error, never a panic.
        let cut = cut.min(text.len());
        let _ = read_features(&text.as_bytes()[..cut], |_| {});
    }

    #[test]
    fn geometry_readers_take_any_json(value in json_value()) {
        let _ = read_polygons(&value);
        let _ = read_point(&value);
        let wrapped = serde_json::json!({"type": "Polygon", "coordinates": value.clone()});
        let _ = read_polygons(&wrapped);
        let wrapped = serde_json::json!({"type": "MultiPolygon", "coordinates": [value]});
        let _ = read_polygons(&wrapped);
    }

    #[test]
    fn wkb_reader_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_multipolygon(&bytes);
    }

    #[test]
    fn wkb_reader_takes_mutated_multipolygons(
        mp in multipolygon(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let good = encode_multipolygon(&mp);
        prop_assert_eq!(decode_multipolygon(&good).ok(), Some(mp));
        let mut bad = good.clone();
        for (at, byte) in flips {
            let i = at.index(bad.len());
            bad[i] = byte;
        }
        let _ = decode_multipolygon(&bad);
        let _ = decode_multipolygon(&good[..cut.index(good.len())]);
    }

    #[test]
    fn code_parsers_take_any_text(s in "\\PC{0,24}|[0-9]{10,20}|[0-9 \\-]{0,20}") {
        let _ = GridCode::parse(&s);
        if let Ok(class) = ClassCode::parse(&s) {
            let _ = ComponentCode::parse_for_class(&s, &class);
        }
        let _ = ComponentCode::parse(&s);
        if let Ok(c) = ClassCode::parse("0101") {
            let _ = ComponentCode::parse_for_class(&s, &c);
        }
    }

    #[test]
    fn the_masker_takes_any_text(s in "\\PC{0,64}") {
        prop_assert_eq!(mask_personal_data(&s).chars().count(), s.chars().count());
    }
}
