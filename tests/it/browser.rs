//! The web map in real headless Chromium (`web-map/tests/browser.mjs`, driven
//! by playwright-core) against a running `citygrid serve` on the sample city.
//! Needs Debian's chromium and `npm ci` + `npm run build` in web-map/
//! (scripts/test.sh does both).

use crate::support::*;
use crate::workflow::{Staff, case_in};

#[tokio::test]
async fn the_web_map_in_a_real_browser() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let points = grid_points(&app.db, 3).await;
    // More open cases than the old 500 on a map: the map's tiles and the
    // list's pages must show every one. One class no page reports, one grid
    // each, away from the grids the pages report in; made before the cases
    // the steps follow, so that those lead the list.
    let bulk: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
         FROM grids ORDER BY code DESC OFFSET 5 LIMIT 520",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    for chunk in bulk.chunks(16) {
        let sent = chunk.iter().enumerate().map(|(i, (lon, lat))| {
            let key = format!("bulk-{lon}-{lat}-{i}");
            let body = event_report(&key, "0108", *lon, *lat);
            let (app, token) = (&app, &u.inspector);
            async move { app.post("/api/v1/reports", token, &body).await }
        });
        for (s, b) in futures_util::future::join_all(sent).await {
            assert_eq!(s, 201, "{b}");
        }
    }
    // The first of them overdue: its cluster turns red at city zoom.
    put_past_deadline(&app.db, "case_id = (SELECT min(id) FROM cases)", test_now()).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (filed, _) = case_in(&app, &u, (points[0].1, points[0].2), "b1", "filed").await;
    let (handled, _) = case_in(&app, &u, (points[1].1, points[1].2), "b2", "handled").await;
    let more = grid_points(&app.db, 6).await;
    let (dispatched, _) = case_in(&app, &u, (more[5].1, more[5].2), "b3", "dispatched").await;
    let component = components_of(&app.db, "0101", 1).await.remove(0);
    let (kiosk_lon, kiosk_lat): (f64, f64) =
        sqlx::query_as("SELECT ST_X(geom) + 0.0003, ST_Y(geom) FROM services ORDER BY id LIMIT 1")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    // People sign in on the pages' forms; the kiosk is enrolled with its code.
    let people = serde_json::json!({
        "dispatcher": "console.desk", "inspector": "patrol.1", "operator": "supervisor",
        "admin": "city.admin", "department": "dept.worker",
    });
    for (role, login) in [
        (Role::Dispatcher, "console.desk"),
        (Role::Inspector, "patrol.1"),
        (Role::Operator, "supervisor"),
        (Role::Admin, "city.admin"),
    ] {
        add_person(&app.db.pool, login, role, None).await;
    }
    add_person(
        &app.db.pool,
        "dept.worker",
        Role::Department,
        Some(crate::workflow::DEPT),
    )
    .await;
    // The inspector patrols the community of the case the department handles
    // in the browser: that case comes first among those to verify.
    sqlx::query("UPDATE users SET patrol = ARRAY[left($1, 12)] WHERE login = 'patrol.1'")
        .bind(&more[5].0)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let (_, kiosk_code) = citygrid::store::kiosks::add(
        &app.db.pool,
        &citygrid::store::audit::Actor::command_line(),
        "kiosk-test",
        "渭滨区便民服务亭 1",
        kiosk_lon,
        kiosk_lat,
        test_now(),
    )
    .await
    .unwrap();
    // Where the admin page's new routing rule applies: a grid of 渭滨区, far
    // in code order from the other reports.
    let (route_grid, route_lon, route_lat): (String, f64, f64) = sqlx::query_as(
        "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
         FROM grids WHERE code LIKE '610302%' ORDER BY code DESC LIMIT 1",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let server = ServerProcess::start(&app.db).await;
    let tokens = serde_json::json!({
        "dispatcher": u.dispatcher, "operator": u.operator, "inspector": u.inspector,
    });
    let artifacts = std::path::Path::new("test-artifacts/web-map");
    let out = tokio::process::Command::new("node")
        .arg("web-map/tests/browser.mjs")
        .env("BASE_URL", &server.base)
        .env("TOKENS", tokens.to_string())
        .env("PEOPLE", people.to_string())
        .env("PASSWORD", PASSWORD)
        .env("KIOSK_CODE", &kiosk_code)
        .env("KIOSK_ID", "kiosk-test")
        .env("KIOSK_LON", kiosk_lon.to_string())
        .env("KIOSK_LAT", kiosk_lat.to_string())
        .env("CITYGRID_BIN", env!("CARGO_BIN_EXE_citygrid"))
        .env("DATABASE_URL", url_for(&app.db.name))
        .env("FILED_CASE", &filed)
        .env("HANDLED_CASE", &handled)
        .env("DISPATCHED_CASE", &dispatched)
        .env("FILED_LON", points[0].1.to_string())
        .env("FILED_LAT", points[0].2.to_string())
        .env("COMPONENT_LON", component.2.to_string())
        .env("COMPONENT_LAT", component.3.to_string())
        .env("REPORT_LON", points[2].1.to_string())
        .env("REPORT_LAT", points[2].2.to_string())
        .env("ROUTE_GRID", &route_grid)
        .env("ROUTE_LON", route_lon.to_string())
        .env("ROUTE_LAT", route_lat.to_string())
        .env("ARTIFACTS", artifacts)
        .output()
        .await
        .expect("run node web-map/tests/browser.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("all browser tests passed"));
    for shot in [
        "console.png",
        "console-detail.png",
        "inspector.png",
        "kiosk.png",
        "kiosk-lookup.png",
    ] {
        assert!(artifacts.join(shot).exists(), "{shot}");
    }
}
