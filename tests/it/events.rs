//! Live case events over SSE, fed by PostgreSQL LISTEN/NOTIFY: a change made
//! through one `citygrid serve` process reaches subscribers of another.

use serde_json::json;

use crate::support::*;
use crate::workflow::{DEPT, Staff, must};

#[tokio::test]
async fn a_change_made_through_one_server_reaches_subscribers_of_another() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let water = app.user(Role::Department, Some("water-co")).await;
    let mut b = ServerProcess::start(&app.db).await;

    let mut on_a = app.events(&u.dispatcher).await;
    let mut water_on_b = subscribe(&format!("{}/api/v1/events", b.base), &water).await;
    // The web map's way: signed in with a password, the session cookie.
    add_person(
        &app.db.pool,
        "sanitation-desk",
        Role::Department,
        Some(DEPT),
    )
    .await;
    let cookie = session_cookie(&b.base, "sanitation-desk").await;
    let mut dept_on_b = subscribe(&format!("{}/api/v1/events", b.base), &cookie).await;

    // Reported through B: A's subscriber hears it.
    let p = grid_points(&app.db, 2).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/reports", b.base))
        .bearer_auth(&u.inspector)
        .json(&event_report("sse-1", "0102", p[0].1, p[0].2))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: serde_json::Value = resp.json().await.unwrap();
    let (no, v) = case_of(&body);
    let (kind, data) = on_a.next_for(&no).await;
    assert_eq!(kind, "created");
    assert_eq!(data["state"], "reported");
    assert_eq!(
        (data["lon"].as_f64(), data["lat"].as_f64()),
        (Some(p[0].1), Some(p[0].2))
    );

    // Changed through A: B's subscriber for the department hears the dispatch.
    let v = must(&app, &u.operator, &no, "file", v, json!({})).await;
    assert_eq!(on_a.next_for(&no).await.0, "state_changed");
    must(
        &app,
        &u.dispatcher,
        &no,
        "dispatch",
        v,
        json!({"department": DEPT}),
    )
    .await;
    let (kind, data) = dept_on_b.next_for(&no).await;
    assert_eq!(kind, "state_changed");
    assert_eq!(
        (data["from"].as_str(), data["to"].as_str()),
        (Some("filed"), Some("dispatched"))
    );

    // The water company hears nothing of that case: its first event is its own.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/reports", b.base))
        .bearer_auth(&u.inspector)
        .json(&json!({"client_key": "sse-2", "kind": "event", "class": "0402", "lon": p[1].1, "lat": p[1].2, "description": "水管爆裂"}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["case"]["department"], "water-co");
    let (kind, data) = water_on_b.next().await;
    assert_eq!(
        (kind.as_str(), data["case_no"].clone()),
        ("created", body["case"]["case_no"].clone())
    );

    // Kiosks do not follow events; nobody without a token does.
    let kiosk = app.user(Role::Kiosk, None).await;
    let (s, _) = app.get_as("/api/v1/events", &kiosk).await;
    assert_eq!(s, 403);
    let (s, _) = app.get("/api/v1/events").await;
    assert_eq!(s, 401);
    b.child.kill().await.unwrap();
}
