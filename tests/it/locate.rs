//! The geocoder over HTTP against PostGIS on the sample city.

use futures_util::StreamExt;
use serde_json::Value;

use crate::support::*;

/// Points that make the differential test bite: grid vertices (shared by up to
/// four grids), edge midpoints (on or a rounding error off the edge), points a
/// hair off vertices, plus uniform random points over (and past) the city.
async fn probe_points(db: &TestDb, random: usize) -> Vec<(f64, f64)> {
    let vertices: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT ST_X(p.geom), ST_Y(p.geom) FROM (SELECT geom FROM grids ORDER BY md5(code) LIMIT 400) g,
                LATERAL ST_DumpPoints(g.geom) p",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut pts = Vec::new();
    for w in vertices.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        pts.push((x0, y0));
        pts.push(((x0 + x1) / 2.0, (y0 + y1) / 2.0));
        pts.push((x0 + (x1 - x0) / 3.0, y0 + (y1 - y0) / 3.0));
        pts.push((x0 + 1e-12, y0 - 1e-12));
    }
    let (xmin, ymin, xmax, ymax): (f64, f64, f64, f64) = sqlx::query_as(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom)::geometry e FROM grids) x",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let (dx, dy) = ((xmax - xmin) * 0.05, (ymax - ymin) * 0.05);
    let mut state = 0x5eed_u64;
    let mut rnd = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..random {
        pts.push((
            xmin - dx + rnd() * (xmax - xmin + 2.0 * dx),
            ymin - dy + rnd() * (ymax - ymin + 2.0 * dy),
        ));
    }
    pts
}

/// The rule in SQL: the lowest code among the grids covering the point.
async fn postgis_grids(db: &TestDb, pts: &[(f64, f64)]) -> Vec<Option<String>> {
    let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT t.i, (SELECT g.code FROM grids g WHERE ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(t.x, t.y), 4326))
                       ORDER BY g.code LIMIT 1)
           FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(x, y, i) ORDER BY t.i",
    )
    .bind(&xs)
    .bind(&ys)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.into_iter().map(|r| r.1).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locate_agrees_with_postgis_st_covers_everywhere() {
    let app = TestApp::spawn_unlimited(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let pts = probe_points(&app.db, 10_000).await;
    assert!(pts.len() >= 10_000 + 4_000);
    let expected = postgis_grids(&app.db, &pts).await;

    let app_ref = &app;
    let answers: Vec<(usize, Option<String>)> = futures_util::stream::iter(pts.iter().enumerate())
        .map(|(i, &(lon, lat))| async move {
            // {:?} prints the shortest string that parses back to the same f64.
            let (status, body) = app_ref
                .get(&format!("/api/v1/locate?lon={lon:?}&lat={lat:?}"))
                .await;
            let code = match status {
                200 => Some(body["grid"]["code"].as_str().expect("grid code").to_owned()),
                404 => {
                    assert_eq!(body["error"]["code"], "outside_coverage");
                    None
                }
                other => panic!("locate ({lon}, {lat}) gave {other}: {body}"),
            };
            (i, code)
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut mismatches = Vec::new();
    for (i, code) in answers {
        if code != expected[i] {
            mismatches.push((pts[i], code, expected[i].clone()));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} points disagree, e.g. {:?}",
        mismatches.len(),
        pts.len(),
        &mismatches[..mismatches.len().min(5)]
    );

    // The test covers all three situations: inside one grid, outside all, and
    // on boundaries shared by several grids (where the lowest code must win).
    let inside = expected.iter().filter(|c| c.is_some()).count();
    assert!(
        inside > 9_000 && inside < pts.len(),
        "{inside} inside of {}",
        pts.len()
    );
    let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let shared: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unnest($1::float8[], $2::float8[]) AS t(x, y)
          WHERE (SELECT count(*) FROM grids g WHERE ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(t.x, t.y), 4326))) >= 2",
    )
    .bind(&xs)
    .bind(&ys)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert!(shared > 500, "only {shared} points on shared boundaries");
    app.db.drop_db().await.unwrap();
}

#[tokio::test]
async fn locate_names_the_admin_areas_and_the_nearest_components() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    // A street light's position: components are near it.
    let (lon, lat): (f64, f64) = sqlx::query_as("SELECT ST_X(geom) + 0.00003, ST_Y(geom) FROM components WHERE class = '0118' ORDER BY code LIMIT 1")
        .fetch_one(&app.db.pool).await.unwrap();
    let (status, body) = app
        .get(&format!("/api/v1/locate?lon={lon:?}&lat={lat:?}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let grid = body["grid"]["code"].as_str().unwrap().to_owned();
    assert_eq!(body["community"]["code"], grid[..12]);
    assert_eq!(body["street"]["code"], grid[..9]);
    assert_eq!(body["district"]["code"], grid[..6]);
    for level in ["community", "street", "district"] {
        assert!(
            body[level]["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{level} has no name: {body}"
        );
    }
    let comps = body["components"].as_array().unwrap();
    assert!(!comps.is_empty() && comps.len() <= 10);
    let dists: Vec<f64> = comps
        .iter()
        .map(|c| c["distance_m"].as_f64().unwrap())
        .collect();
    assert!(dists.windows(2).all(|w| w[0] <= w[1]), "{dists:?}");
    assert!(dists.iter().all(|d| *d <= 50.0));

    // The same components as PostGIS finds within 50 m (spheroid vs sphere: a
    // band of ±0.5 m at the edge is left out of the comparison).
    let pg: Vec<(String, f64)> = sqlx::query_as(
        "SELECT code, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) d FROM components
          WHERE ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, 50.5) ORDER BY d",
    ).bind(lon).bind(lat).fetch_all(&app.db.pool).await.unwrap();
    let ours: Vec<&str> = comps.iter().map(|c| c["code"].as_str().unwrap()).collect();
    for (code, d) in pg.iter().take(10) {
        if *d < 49.5 && ours.len() < 10 {
            assert!(
                ours.contains(&code.as_str()),
                "{code} at {d} m missing from {ours:?}"
            );
        }
    }
    for code in &ours {
        assert!(
            pg.iter().any(|(c, _)| c == code),
            "{code} is not within 50 m in PostGIS"
        );
    }

    // The class filter.
    let (status, body) = app
        .get(&format!(
            "/api/v1/locate?lon={lon:?}&lat={lat:?}&class=0118"
        ))
        .await;
    assert_eq!(status, 200);
    let comps = body["components"].as_array().unwrap();
    assert!(!comps.is_empty());
    assert!(comps.iter().all(|c| c["class"] == "0118"), "{body}");
    app.db.drop_db().await.unwrap();
}

#[tokio::test]
async fn services_nearby_are_nearest_first_and_filtered() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let (lon, lat) = (107.17, 34.362);
    let (status, body) = app
        .get(&format!("/api/v1/services/nearby?lon={lon}&lat={lat}"))
        .await;
    assert_eq!(status, 200);
    let list = body["services"].as_array().unwrap();
    assert_eq!(list.len(), 10);
    let d: Vec<f64> = list
        .iter()
        .map(|s| s["distance_m"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    for key in [
        "id", "category", "name", "address", "phone", "hours", "lon", "lat",
    ] {
        assert!(!list[0][key].is_null(), "{key} missing");
    }
    // Same order as PostGIS.
    let pg: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM services ORDER BY geom::geography <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography LIMIT 3",
    ).bind(lon).bind(lat).fetch_all(&app.db.pool).await.unwrap();
    let ours: Vec<&str> = list
        .iter()
        .take(3)
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ours, pg);

    let (_, body) = app
        .get(&format!(
            "/api/v1/services/nearby?lon={lon}&lat={lat}&category=pharmacy&limit=100"
        ))
        .await;
    let list = body["services"].as_array().unwrap();
    let pharmacies: i64 =
        sqlx::query_scalar("SELECT count(*) FROM services WHERE category = 'pharmacy'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(list.len() as i64, pharmacies.min(100));
    assert!(list.iter().all(|s| s["category"] == "pharmacy"));
    app.db.drop_db().await.unwrap();
}

#[tokio::test]
async fn bad_requests_get_a_clear_error() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let cases: &[(&str, u16, &str)] = &[
        ("/api/v1/locate", 400, "invalid_coordinates"),
        ("/api/v1/locate?lon=107.17", 400, "invalid_coordinates"),
        (
            "/api/v1/locate?lon=abc&lat=34.36",
            400,
            "invalid_coordinates",
        ),
        (
            "/api/v1/locate?lon=NaN&lat=34.36",
            400,
            "invalid_coordinates",
        ),
        (
            "/api/v1/locate?lon=inf&lat=34.36",
            400,
            "invalid_coordinates",
        ),
        (
            "/api/v1/locate?lon=200&lat=34.36",
            400,
            "invalid_coordinates",
        ),
        (
            "/api/v1/locate?lon=107.17&lat=-91",
            400,
            "invalid_coordinates",
        ),
        (
            "/api/v1/locate?lon=107.17&lat=34.362&class=water",
            400,
            "invalid_class",
        ),
        (
            "/api/v1/locate?lon=116.39&lat=39.9",
            404,
            "outside_coverage",
        ),
        ("/api/v1/locate?lon=%ZZ&lat=1", 400, "invalid_coordinates"),
        (
            "/api/v1/services/nearby?lat=34.36",
            400,
            "invalid_coordinates",
        ),
        (
            "/api/v1/services/nearby?lon=107.17&lat=34.36&limit=0",
            400,
            "invalid_limit",
        ),
        (
            "/api/v1/services/nearby?lon=107.17&lat=34.36&limit=101",
            400,
            "invalid_limit",
        ),
        (
            "/api/v1/services/nearby?lon=107.17&lat=34.36&limit=ten",
            400,
            "invalid_limit",
        ),
        (
            "/api/v1/services/nearby?lon=107.17&lat=34.36&category=DROP%20TABLE",
            400,
            "invalid_category",
        ),
        ("/api/v1/nothing-here", 404, "not_found"),
    ];
    for (path, status, code) in cases {
        let (got, body) = app.get(path).await;
        assert_eq!(got, *status, "{path}: {body}");
        assert_eq!(body["error"]["code"], *code, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{path}: {body}"
        );
    }
    let resp = app
        .client
        .post(app.url("/api/v1/locate"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");

    let (status, body) = app.get("/health").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = app.get("/ready").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["grids"].as_u64().unwrap() >= 2_000);
    let (status, body) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(body["paths"]["/api/v1/locate"].is_object());
    app.db.drop_db().await.unwrap();
}
