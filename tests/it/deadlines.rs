//! Stage deadlines on the working calendar of `gis-data/calendar.toml`
//! (Mon–Fri 08:30–12:00, 14:00–17:30, the 2026 holidays): weekends, holidays,
//! make-up days, extensions, suspension, and the overdue sweep. The server runs
//! on a clock the test moves.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde_json::{Value, json};

use crate::support::*;
use crate::tiles::{V, decode, fetch, tile_of};
use crate::workflow::{DEPT, Staff, must};

/// Beijing time.
fn bj(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn due(case: &Value, stage: &str) -> DateTime<Utc> {
    case["deadlines"][stage]["due_at"]
        .as_str()
        .unwrap_or_else(|| panic!("no {stage} deadline in {case}"))
        .parse()
        .unwrap()
}

async fn app_at(t: DateTime<Utc>) -> (TestApp, Staff, Vec<(f64, f64)>) {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let app = TestApp::spawn_with(db, Clock::fixed(t)).await.unwrap();
    let staff = Staff::new(&app).await;
    let points = grid_points(&app.db, 10)
        .await
        .into_iter()
        .map(|(_, x, y)| (x, y))
        .collect();
    (app, staff, points)
}

/// Reports exposed garbage (event 0102: handling 4 working hours) and files and
/// dispatches it at the clock's time; the dispatched case.
async fn dispatched_case(app: &TestApp, u: &Staff, at: (f64, f64), key: &str) -> Value {
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &u.inspector,
            &event_report(key, "0102", at.0, at.1),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (no, v) = case_of(&b);
    let v = must(app, &u.operator, &no, "file", v, json!({})).await;
    let (_, b) = app
        .act(
            &u.dispatcher,
            &no,
            "dispatch",
            v,
            json!({"department": DEPT}),
        )
        .await;
    b["case"].clone()
}

async fn get_case(app: &TestApp, u: &Staff, no: &str) -> Value {
    let (s, b) = app
        .get_as(&format!("/api/v1/cases/{no}"), &u.operator)
        .await;
    assert_eq!(s, 200);
    b
}

#[tokio::test]
async fn handling_deadlines_skip_weekends_and_holidays_and_move_with_extensions() {
    // Friday 2026-11-20 16:30: 1 h on Friday, 3 h on Monday → Monday 11:30.
    let (app, u, p) = app_at(bj(2026, 11, 20, 16, 0)).await;
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &u.inspector,
            &event_report("w", "0102", p[0].0, p[0].1),
        )
        .await;
    assert_eq!(s, 201);
    let case = &b["case"];
    assert!(case["case_no"].as_str().unwrap().starts_with("20261120-"));
    assert_eq!(
        due(case, "filing"),
        bj(2026, 11, 20, 16, 30),
        "30 wall-clock minutes"
    );
    app.clock.set(bj(2026, 11, 20, 16, 10));
    let (no, v) = case_of(&b);
    let v = must(&app, &u.operator, &no, "file", v, json!({})).await;
    app.clock.set(bj(2026, 11, 20, 16, 30));
    let (_, b) = app
        .act(
            &u.dispatcher,
            &no,
            "dispatch",
            v,
            json!({"department": DEPT}),
        )
        .await;
    let case = &b["case"];
    assert_eq!(
        case["deadlines"]["filing"]["done_at"],
        bj(2026, 11, 20, 16, 10).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    assert_eq!(due(case, "dispatch"), bj(2026, 11, 20, 16, 40));
    assert_eq!(
        case["deadlines"]["dispatch"]["light"], "green",
        "done after 20 of 30 minutes"
    );
    let handling = due(case, "handling");
    assert_eq!(handling, bj(2026, 11, 23, 11, 30));
    assert_eq!(case["deadlines"]["handling"]["light"], "green");

    // Monday 11:00: 3.5 of 4 working hours used → yellow.
    app.clock.set(bj(2026, 11, 23, 11, 0));
    assert_eq!(
        get_case(&app, &u, &no).await["deadlines"]["handling"]["light"],
        "yellow"
    );
    // Two more working hours approved: 11:30 → 12:00, 14:00 → 15:30.
    let v = case["version"].as_i64().unwrap();
    let v = must(
        &app,
        &u.department,
        &no,
        "request_extension",
        v,
        json!({"hours": 2, "note": "需要吊车"}),
    )
    .await;
    let (s, b) = app
        .act(&u.dispatcher, &no, "approve_extension", v, json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(due(&b["case"], "handling"), bj(2026, 11, 23, 15, 30));
    assert_eq!(
        b["case"]["deadlines"]["handling"]["light"], "green",
        "3.5 of 6 h"
    );
    assert_eq!(b["case"]["extension_requested_hours"], Value::Null);

    // The National Day holiday: Wednesday 2026-09-30 16:30 → Thursday 2026-10-08 11:30.
    app.clock.set(bj(2026, 9, 30, 16, 30));
    let case = dispatched_case(&app, &u, p[1], "h").await;
    assert_eq!(due(&case, "handling"), bj(2026, 10, 8, 11, 30));
    // Friday 2026-10-09 16:30: Saturday 10-10 is a make-up working day → Saturday 11:30.
    app.clock.set(bj(2026, 10, 9, 16, 30));
    let case = dispatched_case(&app, &u, p[2], "m").await;
    assert_eq!(due(&case, "handling"), bj(2026, 10, 10, 11, 30));
    // Urgent: 4 working hours whatever the class default.
    app.clock.set(bj(2026, 11, 24, 9, 0));
    let mut body = event_report("u", "0103", p[3].0, p[3].1);
    body["urgent"] = json!(true);
    let (_, b) = app.post("/api/v1/reports", &u.inspector, &body).await;
    assert_eq!(
        due(&b["case"], "filing"),
        bj(2026, 11, 24, 9, 10),
        "urgent filing: 10 minutes"
    );
}

#[tokio::test]
async fn suspension_stops_the_clock_and_the_sweep_marks_overdue_once() {
    let (app, u, p) = app_at(bj(2026, 11, 20, 16, 30)).await;
    let case = dispatched_case(&app, &u, p[0], "s").await;
    let no = case["case_no"].as_str().unwrap().to_owned();
    assert_eq!(due(&case, "handling"), bj(2026, 11, 23, 11, 30));
    // Suspended Friday 17:00 with 3.5 working hours left.
    app.clock.set(bj(2026, 11, 20, 17, 0));
    let v = case["version"].as_i64().unwrap();
    let v = must(
        &app,
        &u.dispatcher,
        &no,
        "suspend",
        v,
        json!({"note": "等待管线迁改"}),
    )
    .await;
    // Monday 13:00, past the old deadline: still green, never marked overdue.
    app.clock.set(bj(2026, 11, 23, 13, 0));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let suspended = get_case(&app, &u, &no).await;
    assert_eq!(suspended["state"], "suspended");
    assert_eq!(suspended["deadlines"]["handling"]["light"], "green");
    let (_, listed) = app.get_as("/api/v1/cases?overdue=true", &u.operator).await;
    assert_eq!(listed["total"], 0);
    // Resumed Tuesday 09:00: the 3.5 h left run 09:00–12:00 and 14:00–14:30.
    app.clock.set(bj(2026, 11, 24, 9, 0));
    let (s, b) = app.act(&u.dispatcher, &no, "resume", v, json!({})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["case"]["state"], "dispatched");
    assert_eq!(due(&b["case"], "handling"), bj(2026, 11, 24, 14, 30));

    // Past it: the background sweep appends one `overdue` event.
    let mut events = app.events(&u.dispatcher).await;
    app.clock.set(bj(2026, 11, 24, 14, 31));
    let (mut kind, mut data) = events.next_for(&no).await;
    // The resume's own notice may reach the new subscriber after it opened.
    if kind == "state_changed" && data["action"] == "resume" {
        (kind, data) = events.next_for(&no).await;
    }
    assert_eq!(kind, "overdue");
    assert_eq!(data["action"], "overdue");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let case = get_case(&app, &u, &no).await;
    let overdue: Vec<&Value> = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "overdue")
        .collect();
    assert_eq!(overdue.len(), 1, "marked once, however many sweeps");
    assert_eq!(overdue[0]["data"]["stage"], "handling");
    assert_eq!(overdue[0]["role"], "system");
    assert_eq!(case["deadlines"]["handling"]["light"], "red");
    let (_, listed) = app.get_as("/api/v1/cases?overdue=true", &u.operator).await;
    assert_eq!(listed["total"], 1);
    // Handled late: the stage keeps its red light; verification starts.
    let v = case["version"].as_i64().unwrap();
    let (_, b) = app
        .act(&u.department, &no, "handle", v, json!({"note": "done"}))
        .await;
    assert_eq!(b["case"]["deadlines"]["handling"]["light"], "red");
    assert_eq!(due(&b["case"], "verification"), bj(2026, 11, 24, 15, 31));
}

/// A case's light four ways: on the case, alone on the map at zoom 18, as
/// the map's cluster of the cases in `state` at zoom 10 (from the map
/// squares' sums), and whether the overdue list holds it.
async fn lights(app: &TestApp, u: &Staff, no: &str, stage: &str, at: (f64, f64)) -> [String; 4] {
    let light = |v: &V| match v {
        V::S(s) => s.clone(),
        other => panic!("light {other:?}"),
    };
    let case = get_case(app, u, no).await;
    let state = case["state"].as_str().unwrap().to_owned();
    let (x, y) = tile_of(at.0, at.1, 18);
    let (s, body, _) = fetch(
        app,
        &format!("/tiles/cases/18/{x}/{y}.mvt"),
        Some(&u.dispatcher),
    )
    .await;
    assert_eq!(s, 200);
    let tile = decode(&body);
    let alone = tile["cases"]
        .iter()
        .find(|f| f.props["case_no"] == V::S(no.to_owned()))
        .unwrap_or_else(|| panic!("{no} at zoom 18"));
    let (x, y) = tile_of(at.0, at.1, 10);
    let path = format!("/tiles/cases/10/{x}/{y}.mvt?state={state}");
    let (s, body, _) = fetch(app, &path, Some(&u.dispatcher)).await;
    assert_eq!(s, 200);
    let tile = decode(&body);
    assert_eq!(tile["cases"].len(), 1, "the one {state} case at zoom 10");
    let cluster = &tile["cases"][0].props;
    assert_eq!(cluster["point_count"], V::I(1));
    let (_, listed) = app
        .get_as(
            &format!("/api/v1/cases?overdue=true&state={state}"),
            &u.operator,
        )
        .await;
    let overdue = listed["cases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["case_no"] == no);
    [
        case["deadlines"][stage]["light"]
            .as_str()
            .unwrap()
            .to_owned(),
        light(&alone.props["light"]),
        light(&cluster["light"]),
        if overdue { "overdue" } else { "-" }.to_owned(),
    ]
}

/// [`lights`] with the clock at `t`, once the light sweep (every 50 ms here)
/// has moved the map's sums on.
async fn lights_at(
    app: &TestApp,
    u: &Staff,
    no: &str,
    stage: &str,
    at: (f64, f64),
    t: DateTime<Utc>,
) -> [String; 4] {
    app.clock.set(t);
    tokio::time::sleep(Duration::from_millis(300)).await;
    lights(app, u, no, stage, at).await
}

/// The map tells each case's light as the case does, from the deadline kept
/// with the case: a report's filing stage on the wall clock; handling on
/// working time (yellow after 80 % of its working hours, not of the hours
/// on the clock); a suspension stops the light; resumed past the deadline,
/// red, and in the overdue list.
#[tokio::test]
async fn the_map_shows_each_case_light_as_the_case_does() {
    // Tuesday 09:00. Handling exposed garbage: 4 working hours, 09:00–12:00
    // and 14:00–15:00; yellow from 14:12 (on the clock, 80 % is 13:48).
    let (app, u, p) = app_at(bj(2026, 11, 24, 9, 0)).await;
    let case = dispatched_case(&app, &u, p[0], "map").await;
    let no = case["case_no"].as_str().unwrap().to_owned();
    assert_eq!(due(&case, "handling"), bj(2026, 11, 24, 15, 0));
    let handling = |t| lights_at(&app, &u, &no, "handling", p[0], t);
    let all = |light: &str, overdue: &str| [light, light, light, overdue].map(str::to_owned);
    assert_eq!(handling(bj(2026, 11, 24, 11, 0)).await, all("green", "-"));
    assert_eq!(handling(bj(2026, 11, 24, 14, 0)).await, all("green", "-"));
    assert_eq!(handling(bj(2026, 11, 24, 14, 12)).await, all("yellow", "-"));

    // Suspended at 14:20: the light stands, past the deadline too.
    app.clock.set(bj(2026, 11, 24, 14, 20));
    let v = get_case(&app, &u, &no).await["version"].as_i64().unwrap();
    let v = must(
        &app,
        &u.dispatcher,
        &no,
        "suspend",
        v,
        json!({"note": "等待管线迁改"}),
    )
    .await;
    assert_eq!(handling(bj(2026, 11, 24, 16, 0)).await, all("yellow", "-"));
    // Resumed Wednesday 09:00 with its 40 minutes left: due 09:40.
    app.clock.set(bj(2026, 11, 25, 9, 0));
    let (s, b) = app.act(&u.dispatcher, &no, "resume", v, json!({})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(due(&b["case"], "handling"), bj(2026, 11, 25, 9, 40));
    assert_eq!(handling(bj(2026, 11, 25, 9, 0)).await, all("yellow", "-"));
    assert_eq!(
        handling(bj(2026, 11, 25, 9, 41)).await,
        all("red", "overdue")
    );

    // Reported at 09:41: filing exposed garbage takes 30 minutes on the
    // clock, yellow from 10:05.
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &u.inspector,
            &event_report("map2", "0102", p[1].0, p[1].1),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let reported = b["case"]["case_no"].as_str().unwrap().to_owned();
    let filing = |t| lights_at(&app, &u, &reported, "filing", p[1], t);
    assert_eq!(filing(bj(2026, 11, 25, 10, 4)).await, all("green", "-"));
    assert_eq!(filing(bj(2026, 11, 25, 10, 5)).await, all("yellow", "-"));
    assert_eq!(
        filing(bj(2026, 11, 25, 10, 12)).await,
        all("red", "overdue")
    );
}
