//! Vector tiles: each layer decodes as valid MVT with the expected features and
//! attributes; staff-only layers refuse anonymous callers and kiosks;
//! departments see only their cases; empty tiles are 204.

use std::collections::{BTreeMap, HashMap};

use crate::support::*;
use crate::workflow::{Staff, case_in};

/// A decoded MVT value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    S(String),
    F(f64),
    I(i64),
    B(bool),
}

#[derive(Debug)]
pub(crate) struct Feature {
    kind: u64,
    pub(crate) props: BTreeMap<String, V>,
}

/// A minimal protobuf reader, enough for the MVT schema.
struct Pb<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Pb<'a> {
    fn new(b: &'a [u8]) -> Self {
        Self { b, i: 0 }
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
    fn varint(&mut self) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.b[self.i];
            self.i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return v;
            }
        }
        panic!("varint too long");
    }
    fn key(&mut self) -> (u64, u64) {
        let k = self.varint();
        (k >> 3, k & 7)
    }
    fn bytes(&mut self) -> &'a [u8] {
        let n = self.varint() as usize;
        let out = &self.b[self.i..self.i + n];
        self.i += n;
        out
    }
    fn fixed(&mut self, n: usize) -> &'a [u8] {
        let out = &self.b[self.i..self.i + n];
        self.i += n;
        out
    }
    fn skip(&mut self, wire: u64) {
        match wire {
            0 => {
                self.varint();
            }
            1 => {
                self.fixed(8);
            }
            2 => {
                self.bytes();
            }
            5 => {
                self.fixed(4);
            }
            w => panic!("wire type {w}"),
        }
    }
    fn packed(&mut self) -> Vec<u64> {
        let mut inner = Pb::new(self.bytes());
        let mut out = vec![];
        while !inner.done() {
            out.push(inner.varint());
        }
        out
    }
}

fn value(b: &[u8]) -> V {
    let mut p = Pb::new(b);
    let (field, wire) = p.key();
    match (field, wire) {
        (1, 2) => V::S(String::from_utf8(p.bytes().to_vec()).unwrap()),
        (2, 5) => V::F(f32::from_le_bytes(p.fixed(4).try_into().unwrap()).into()),
        (3, 1) => V::F(f64::from_le_bytes(p.fixed(8).try_into().unwrap())),
        (4 | 5, 0) => V::I(p.varint() as i64),
        (6, 0) => {
            let n = p.varint();
            V::I(((n >> 1) as i64) ^ -((n & 1) as i64))
        }
        (7, 0) => V::B(p.varint() != 0),
        other => panic!("bad value {other:?}"),
    }
}

/// Checks a geometry's command stream (MoveTo/LineTo/ClosePath with the right
/// parameter counts) and returns the number of commands.
fn check_geometry(kind: u64, cmds: &[u64]) -> usize {
    let (mut i, mut n, mut closes) = (0, 0, 0);
    while i < cmds.len() {
        let (id, count) = (cmds[i] & 7, cmds[i] >> 3);
        i += 1;
        match id {
            1 | 2 => i += 2 * count as usize,
            7 => {
                assert_eq!(count, 1);
                closes += 1;
            }
            other => panic!("bad command {other}"),
        }
        n += 1;
    }
    assert_eq!(i, cmds.len(), "parameters run past the end");
    if kind == 3 {
        assert!(closes >= 1, "a polygon closes its rings");
    }
    n
}

/// Layer name → features; panics on anything that is not valid MVT.
pub(crate) fn decode(tile: &[u8]) -> HashMap<String, Vec<Feature>> {
    let mut out = HashMap::new();
    let mut p = Pb::new(tile);
    while !p.done() {
        let (field, wire) = p.key();
        if field != 3 {
            p.skip(wire);
            continue;
        }
        let mut l = Pb::new(p.bytes());
        let (mut name, mut keys, mut values, mut raw, mut version) =
            (String::new(), vec![], vec![], vec![], 0);
        while !l.done() {
            match l.key() {
                (1, 2) => name = String::from_utf8(l.bytes().to_vec()).unwrap(),
                (2, 2) => raw.push(l.bytes()),
                (3, 2) => keys.push(String::from_utf8(l.bytes().to_vec()).unwrap()),
                (4, 2) => values.push(value(l.bytes())),
                (15, 0) => version = l.varint(),
                (_, w) => l.skip(w),
            }
        }
        assert_eq!(version, 2, "MVT version 2");
        let mut features = vec![];
        for f in raw {
            let mut fp = Pb::new(f);
            let (mut tags, mut kind, mut geometry) = (vec![], 0, vec![]);
            while !fp.done() {
                match fp.key() {
                    (2, 2) => tags = fp.packed(),
                    (3, 0) => kind = fp.varint(),
                    (4, 2) => geometry = fp.packed(),
                    (_, w) => fp.skip(w),
                }
            }
            assert!(tags.len() % 2 == 0);
            assert!(
                check_geometry(kind, &geometry) > 0,
                "a feature has geometry"
            );
            let props = tags
                .chunks(2)
                .map(|kv| (keys[kv[0] as usize].clone(), values[kv[1] as usize].clone()))
                .collect();
            features.push(Feature { kind, props });
        }
        out.insert(name, features);
    }
    out
}

/// The tile at zoom `z` holding a point.
pub(crate) fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let r = lat.to_radians();
    let y =
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (x, y)
}

pub(crate) async fn fetch(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
) -> (u16, Vec<u8>, String) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let cache = resp
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, resp.bytes().await.unwrap().to_vec(), cache)
}

#[tokio::test]
async fn every_layer_is_valid_mvt_with_its_attributes() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let p = grid_points(&app.db, 1).await;
    let (grid, lon, lat) = p[0].clone();
    let (case_no, _) = case_in(&app, &u, (lon, lat), "t1", "dispatched").await;
    let (services_lon, services_lat): (f64, f64) =
        sqlx::query_as("SELECT ST_X(geom), ST_Y(geom) FROM services ORDER BY id LIMIT 1")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();

    let (landmark_lon, landmark_lat): (f64, f64) =
        sqlx::query_as("SELECT ST_X(geom), ST_Y(geom) FROM landmarks WHERE kind = 'station'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let (river_lon, river_lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM water) w",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let (label_lon, label_lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM communities WHERE code = $1) w",
    )
    .bind(&grid[..12])
    .fetch_one(&app.db.pool)
    .await
    .unwrap();

    let layers: [(&str, u32, (f64, f64), Option<&str>, &[&str], u64); 11] = [
        (
            "roads",
            14,
            (lon, lat),
            None,
            &["name", "name_en", "class"],
            2,
        ),
        (
            "water",
            12,
            (river_lon, river_lat),
            None,
            &["name", "name_en"],
            3,
        ),
        (
            "landmarks",
            15,
            (landmark_lon, landmark_lat),
            None,
            &["name", "name_en", "kind"],
            1,
        ),
        (
            "places",
            14,
            (label_lon, label_lat),
            None,
            &["level", "code", "name"],
            1,
        ),
        ("districts", 10, (lon, lat), None, &["code", "name"], 3),
        ("streets", 12, (lon, lat), None, &["code", "name"], 3),
        ("communities", 14, (lon, lat), None, &["code", "name"], 3),
        (
            "grids",
            16,
            (lon, lat),
            None,
            &["code", "name", "open_cases"],
            3,
        ),
        (
            "components",
            17,
            (lon, lat),
            Some(&u.inspector),
            &["code", "class", "name", "state", "dept_competent"],
            1,
        ),
        (
            "cases",
            16,
            (lon, lat),
            Some(&u.dispatcher),
            &["case_no", "state", "kind", "class", "urgent", "light"],
            1,
        ),
        (
            "services",
            15,
            (services_lon, services_lat),
            None,
            &["id", "category", "name", "address", "phone", "hours"],
            1,
        ),
    ];
    for (layer, z, (x0, y0), token, attrs, kind) in layers {
        let (x, y) = tile_of(x0, y0, z);
        let (status, body, cache) =
            fetch(&app, &format!("/tiles/{layer}/{z}/{x}/{y}.mvt"), token).await;
        assert_eq!(status, 200, "{layer}");
        let tile = decode(&body);
        let features = &tile[layer];
        assert!(!features.is_empty(), "{layer}");
        for f in features {
            assert_eq!(f.kind, kind, "{layer} geometry type");
            for a in attrs {
                assert!(
                    f.props.contains_key(*a),
                    "{layer} feature lacks {a}: {:?}",
                    f.props
                );
            }
        }
        assert!(
            cache.contains(if token.is_some() { "private" } else { "public" }),
            "{layer}: {cache}"
        );
        match layer {
            "roads" => {
                // Secondary roads are left out below zoom 13.
                let (x, y) = tile_of(x0, y0, 11);
                let (_, low, _) = fetch(&app, &format!("/tiles/roads/11/{x}/{y}.mvt"), None).await;
                let low = decode(&low);
                assert!(
                    low["roads"]
                        .iter()
                        .all(|f| f.props["class"] == V::S("primary".into()))
                );
                assert!(
                    features
                        .iter()
                        .any(|f| f.props["class"] == V::S("secondary".into()))
                );
            }
            "water" => assert_eq!(features[0].props["name_en"], V::S("Wei River".into())),
            "landmarks" => assert!(
                features
                    .iter()
                    .any(|f| f.props["name"] == V::S("宝鸡站".into()))
            ),
            "places" => {
                // The community's label is in the tile at its point; at
                // zoom 9 only districts are labelled.
                assert!(
                    features
                        .iter()
                        .any(|f| f.props["code"] == V::S(grid[..12].into())
                            && f.props["level"] == V::S("community".into()))
                );
                let (x, y) = tile_of(x0, y0, 9);
                let (_, low, _) = fetch(&app, &format!("/tiles/places/9/{x}/{y}.mvt"), None).await;
                let low = decode(&low);
                assert!(!low["places"].is_empty());
                assert!(
                    low["places"]
                        .iter()
                        .all(|f| f.props["level"] == V::S("district".into()))
                );
            }
            "grids" => {
                let ours = features
                    .iter()
                    .find(|f| f.props["code"] == V::S(grid.clone()))
                    .expect("our grid");
                assert_eq!(ours.props["open_cases"], V::I(1));
            }
            "cases" => {
                let ours = features
                    .iter()
                    .find(|f| f.props["case_no"] == V::S(case_no.clone()))
                    .expect("our case");
                assert_eq!(ours.props["state"], V::S("dispatched".into()));
                assert_eq!(ours.props["light"], V::S("green".into()));
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn cases_cluster_below_zoom_15_with_counts_and_the_worst_light() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let points = grid_points(&app.db, 3).await;
    let mut numbers = Vec::new();
    for (i, (_, lon, lat)) in points.iter().enumerate() {
        numbers.push(
            case_in(&app, &u, (*lon, *lat), &format!("k{i}"), "dispatched")
                .await
                .0,
        );
    }
    // One of them overdue.
    let which = format!(
        "case_id = (SELECT id FROM cases WHERE case_no = '{}')",
        numbers[1]
    );
    put_past_deadline(&app.db, &which, test_now()).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (lon, lat) = (points[0].1, points[0].2);

    // The whole city at zoom 5: one cluster of three, one of them red.
    let (x, y) = tile_of(lon, lat, 5);
    let (s, body, _) = fetch(
        &app,
        &format!("/tiles/cases/5/{x}/{y}.mvt"),
        Some(&u.dispatcher),
    )
    .await;
    assert_eq!(s, 200);
    let tile = decode(&body);
    assert_eq!(tile["cases"].len(), 1, "{:?}", tile["cases"]);
    let cluster = &tile["cases"][0].props;
    assert_eq!(
        (
            &cluster["point_count"],
            &cluster["red"],
            &cluster["yellow"],
            &cluster["light"]
        ),
        (&V::I(3), &V::I(1), &V::I(0), &V::S("red".into()))
    );
    assert!(!cluster.contains_key("case_no"), "a cluster names no case");

    // The list's filters hold on the map: one class, a state, urgency.
    for (query, count) in [
        ("class=0102", 3),
        ("class=0999", 0),
        ("state=closed", 0),
        ("urgent=true", 0),
    ] {
        let (s, body, _) = fetch(
            &app,
            &format!("/tiles/cases/5/{x}/{y}.mvt?{query}"),
            Some(&u.dispatcher),
        )
        .await;
        let n: i64 = if s == 204 {
            0
        } else {
            decode(&body)["cases"]
                .iter()
                .map(|f| match f.props["point_count"] {
                    V::I(n) => n,
                    _ => 0,
                })
                .sum()
        };
        assert_eq!(n, count, "{query}");
    }
    // Up to zoom 12 the open cases come from the map squares' sums; with a
    // class named, from the cases one by one: the same cluster.
    let (_, body, _) = fetch(
        &app,
        &format!("/tiles/cases/5/{x}/{y}.mvt?class=0102"),
        Some(&u.dispatcher),
    )
    .await;
    let one_by_one = decode(&body);
    let keys = ["point_count", "red", "yellow", "light", "urgent"];
    assert_eq!(
        keys.map(|k| one_by_one["cases"][0].props.get(k).cloned()),
        keys.map(|k| cluster.get(k).cloned())
    );
    // The squares hold each open case once, by state and light.
    sqlx::query("SELECT case_squares_settle()")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let sums = "SELECT state, light, sum(cases)::bigint FROM case_squares
                GROUP BY 1, 2 HAVING sum(cases) <> 0 ORDER BY 1, 2";
    let counts = "SELECT state, light, count(*) FROM cases
                  WHERE state NOT IN ('closed', 'rejected', 'void') GROUP BY 1, 2 ORDER BY 1, 2";
    let mut seen = vec![];
    for sql in [sums, counts] {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as(sql).fetch_all(&app.db.pool).await.unwrap();
        seen.push(rows);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0].iter().map(|r| r.2).sum::<i64>(), 3, "{:?}", seen[0]);
    let (s, body, _) = fetch(
        &app,
        &format!("/tiles/cases/5/{x}/{y}.mvt?state=nonsense"),
        Some(&u.dispatcher),
    )
    .await;
    assert_eq!(s, 400, "{}", String::from_utf8_lossy(&body));

    // From zoom 15 each case is itself, with its own light.
    let (x, y) = tile_of(points[1].1, points[1].2, 18);
    let (_, body, _) = fetch(
        &app,
        &format!("/tiles/cases/18/{x}/{y}.mvt"),
        Some(&u.dispatcher),
    )
    .await;
    let tile = decode(&body);
    let ours = tile["cases"]
        .iter()
        .find(|f| f.props["case_no"] == V::S(numbers[1].clone()))
        .expect("the overdue case at zoom 18");
    assert_eq!(
        (&ours.props["light"], &ours.props["point_count"]),
        (&V::S("red".into()), &V::I(1))
    );
}

#[tokio::test]
async fn staff_layers_need_staff_and_departments_see_their_own() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let kiosk = app.user(Role::Kiosk, None).await;
    let p = grid_points(&app.db, 1).await;
    let (lon, lat) = (p[0].1, p[0].2);
    case_in(&app, &u, (lon, lat), "d1", "dispatched").await;
    let (x, y) = tile_of(lon, lat, 12);
    let path = format!("/tiles/cases/12/{x}/{y}.mvt");
    for layer_path in [path.clone(), {
        let (x, y) = tile_of(lon, lat, 17);
        format!("/tiles/components/17/{x}/{y}.mvt")
    }] {
        let (s, _, _) = fetch(&app, &layer_path, None).await;
        assert_eq!(s, 401, "{layer_path}");
        let (s, _, _) = fetch(&app, &layer_path, Some(&kiosk)).await;
        assert_eq!(s, 403, "{layer_path}");
    }
    // The web map's session cookie serves the map's tile requests.
    add_person(&app.db.pool, "console-op", Role::Operator, None).await;
    let cookie = session_cookie(&format!("http://{}", app.addr), "console-op").await;
    let resp = app
        .client
        .get(app.url(&path))
        .header("Cookie", format!("theme=dark; {cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (s, body, _) = fetch(&app, &path, Some(&u.department)).await;
    assert_eq!(s, 200);
    assert_eq!(decode(&body)["cases"].len(), 1);
    let (s, _, _) = fetch(&app, &path, Some(&u.other_department)).await;
    assert_eq!(s, 204, "another department's cases are not in its tiles");
}

#[tokio::test]
async fn empty_and_bad_tiles() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    // Over the Pacific, and components below their zoom: nothing, 204.
    let (s, body, _) = fetch(&app, "/tiles/grids/14/0/0.mvt", None).await;
    assert_eq!((s, body.len()), (204, 0));
    let (x, y) = tile_of(107.17, 34.36, 8);
    let (s, body, _) = fetch(&app, &format!("/tiles/districts/8/{x}/{y}.mvt"), None).await;
    assert_eq!(s, 200, "the region's tile holds the city");
    assert_eq!(decode(&body)["districts"].len(), 2);
    let (s, _, _) = fetch(&app, &format!("/tiles/components/15/{x}/{y}.mvt"), None).await;
    assert_eq!(s, 401, "staff layers ask for a token before anything else");
    // What the web map starts from.
    let (s, config) = app.get("/api/v1/map-config").await;
    assert_eq!(s, 200);
    let b: Vec<f64> = serde_json::from_value(config["bounds"].clone()).unwrap();
    let c: Vec<f64> = serde_json::from_value(config["center"].clone()).unwrap();
    assert!(
        b[0] < c[0] && c[0] < b[2] && b[1] < c[1] && c[1] < b[3],
        "{config}"
    );
    assert!(config["basemap_style"].is_null());
    let (_, areas) = app.get("/api/v1/areas").await;
    assert_eq!(areas["districts"].as_array().unwrap().len(), 2);
    assert_eq!(areas["streets"].as_array().unwrap().len(), 12);
    for (path, status, code) in [
        ("/tiles/rivers/10/1/1.mvt", 404, "unknown_layer"),
        ("/tiles/grids/10/1/1.png", 400, "invalid_tile"),
        ("/tiles/grids/10/1024/1.mvt", 400, "invalid_tile"),
        ("/tiles/grids/23/1/1.mvt", 400, "invalid_tile"),
        ("/tiles/grids/a/1/1.mvt", 400, "invalid_tile"),
    ] {
        let (s, b) = app.get(path).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}"
        );
    }
}
