//! Evaluation indicators from a known history (times chosen on a fixed clock,
//! a rework, an overdue stage, a suspension, a rejection, a duplicate report):
//! every indicator checked against the value worked out by hand.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde_json::{Value, json};

use crate::support::*;
use crate::workflow::{DEPT, Staff, must};

fn bj(d: u32, h: u32, min: u32) -> DateTime<Utc> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn close_to(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    assert!((got - want).abs() < 1e-9, "{got} ≠ {want}");
}

/// Each page's rows of an evaluation, following `next_after` until the pages
/// end (at most 20 pages).
async fn every_page(app: &TestApp, token: &str, query: &str) -> Vec<Vec<Value>> {
    let mut pages = vec![];
    let mut after: Option<String> = None;
    loop {
        let q = match &after {
            Some(a) => format!("{query}&after={a}"),
            None => query.to_owned(),
        };
        let (s, body) = app.get_as(&q, token).await;
        assert_eq!(s, 200, "{body}");
        pages.push(body["rows"].as_array().unwrap().clone());
        after = body["next_after"].as_str().map(str::to_owned);
        if after.is_none() {
            return pages;
        }
        assert!(pages.len() < 20, "the pages end: {pages:?}");
    }
}

/// The same JSON, numbers that are not whole to within 1e-9 (sums of hours
/// added in another order).
fn same_answer(a: &Value, b: &Value) {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{a} against {b}");
            x.iter().zip(y).for_each(|(x, y)| same_answer(x, y));
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
            x.iter().for_each(|(k, v)| same_answer(v, &y[k]));
        }
        (Value::Number(x), Value::Number(_)) if x.is_f64() => close_to(b, x.as_f64().unwrap()),
        _ => assert_eq!(a, b),
    }
}

#[tokio::test]
async fn indicators_of_a_known_history() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let app = TestApp::spawn_with(db, Clock::fixed(bj(23, 9, 0)))
        .await
        .unwrap();
    // The servers' sweep settles no evaluation change until the answers below
    // have been checked with them unsettled.
    let mut no_settling = app.db.pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(hashtextextended('evaluation_settle', 0))")
        .execute(&mut *no_settling)
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let second = app.user(Role::Inspector, None).await;
    let p = grid_points(&app.db, 4).await;
    let report = |key: &str, class: &str, i: usize| event_report(key, class, p[i].1, p[i].2);
    let at = |d, h, m| app.clock.set(bj(d, h, m));

    // Monday 09:00: four reports (A, B, C exposed garbage; D a water main).
    let mut cases = vec![];
    for (key, class, i) in [
        ("a", "0102", 0),
        ("b", "0102", 1),
        ("c", "0102", 2),
        ("d", "0402", 3),
    ] {
        let (s, b) = app
            .post("/api/v1/reports", &u.inspector, &report(key, class, i))
            .await;
        assert_eq!(s, 201, "{b}");
        cases.push(case_of(&b));
    }
    let [(a, va), (b, vb), (c, vc), (d, vd)] = <[_; 4]>::try_from(cases).unwrap();
    // A duplicate of A from another inspector.
    let (s, dup) = app
        .post("/api/v1/reports", &second, &report("a2", "0102", 0))
        .await;
    assert_eq!((s, dup["duplicate_of"].as_str()), (201, Some(a.as_str())));

    // In time order. C: filed 09:05, dispatched 11:05 (its dispatch stage was
    // due 09:35: overdue), suspended 11:10. A: filed 09:10, dispatched 09:20,
    // handled 10:20, verified 10:50, closed 11:00. D: rejected 09:20. B: filed
    // 09:30, dispatched 09:40 (handling due Monday 15:40), handled late on
    // Tuesday 15:00, sent back 15:10, handled again 16:10 (due Wednesday
    // 10:10), verified 16:20, closed 16:30.
    at(23, 9, 5);
    let vc = must(&app, &u.operator, &c, "file", vc, json!({})).await;
    at(23, 9, 10);
    let va = must(&app, &u.operator, &a, "file", va, json!({})).await;
    at(23, 9, 20);
    let va = must(
        &app,
        &u.dispatcher,
        &a,
        "dispatch",
        va,
        json!({"department": DEPT}),
    )
    .await;
    must(
        &app,
        &u.operator,
        &d,
        "reject",
        vd,
        json!({"note": "不属实"}),
    )
    .await;
    at(23, 9, 30);
    let vb = must(&app, &u.operator, &b, "file", vb, json!({})).await;
    at(23, 9, 40);
    let vb = must(
        &app,
        &u.dispatcher,
        &b,
        "dispatch",
        vb,
        json!({"department": DEPT}),
    )
    .await;
    at(23, 10, 20);
    let va = must(&app, &u.department, &a, "handle", va, json!({})).await;
    at(23, 10, 50);
    let va = must(&app, &u.inspector, &a, "verify_pass", va, json!({})).await;
    at(23, 11, 0);
    must(&app, &u.operator, &a, "close", va, json!({})).await;
    at(23, 11, 5);
    let vc = must(
        &app,
        &u.dispatcher,
        &c,
        "dispatch",
        vc,
        json!({"department": DEPT}),
    )
    .await;
    at(23, 11, 10);
    must(
        &app,
        &u.dispatcher,
        &c,
        "suspend",
        vc,
        json!({"note": "等待施工"}),
    )
    .await;
    at(24, 15, 0);
    // The sweep marks B's handling overdue.
    let mut marked = false;
    for _ in 0..100 {
        let (_, case) = app.get_as(&format!("/api/v1/cases/{b}"), &u.operator).await;
        if case["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "overdue")
        {
            marked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(marked, "the sweep marked B overdue");
    let vb = must(&app, &u.department, &b, "handle", vb, json!({})).await;
    at(24, 15, 10);
    let vb = must(
        &app,
        &u.inspector,
        &b,
        "verify_fail",
        vb,
        json!({"note": "仍有垃圾"}),
    )
    .await;
    at(24, 16, 10);
    let vb = must(&app, &u.department, &b, "handle", vb, json!({})).await;
    at(24, 16, 20);
    let vb = must(&app, &u.inspector, &b, "verify_pass", vb, json!({})).await;
    at(24, 16, 30);
    must(&app, &u.operator, &b, "close", vb, json!({})).await;

    let period = format!(
        "from={}&to={}",
        bj(23, 0, 0).to_rfc3339(),
        bj(25, 0, 0).to_rfc3339()
    )
    .replace('+', "%2B");
    let (s, body) = app
        .get_as(
            &format!("/api/v1/stats/evaluation?{period}&by=department"),
            &u.operator,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let rows = body["rows"].as_array().unwrap();
    let row = |k: &str| {
        rows.iter()
            .find(|r| r["key"] == k)
            .unwrap_or_else(|| panic!("no row {k}: {body}"))
    };

    let dept = row(DEPT);
    for (field, want) in [
        ("cases", 3),
        ("reports", 4),
        ("valid_reports", 3),
        ("filed", 3),
        ("dispatched", 3),
        ("handled", 2),
        ("handled_on_time", 2),
        ("overdue", 2),
        ("closed", 2),
        ("suspended", 1),
        ("due", 2),
        ("rework", 1),
    ] {
        assert_eq!(dept[field], want, "{field}: {dept}");
    }
    close_to(&dept["closure_rate"], 1.0);
    close_to(&dept["on_time_closure_rate"], 1.0);
    close_to(&dept["rework_rate"], 0.5);
    // The closed cases of the period's whole UTC day (the 23rd) came from
    // the daily sums (migration 0019); a period holding the same cases but
    // no whole UTC day sums every case's facts: the same indicators.
    let no_whole_day = format!(
        "from={}&to={}",
        bj(23, 8, 0).to_rfc3339(),
        bj(24, 7, 0).to_rfc3339()
    )
    .replace('+', "%2B");
    let (s, facts_only) = app
        .get_as(
            &format!("/api/v1/stats/evaluation?{no_whole_day}&by=department"),
            &u.operator,
        )
        .await;
    assert_eq!(s, 200, "{facts_only}");
    let alone = facts_only["rows"].as_array().unwrap();
    assert_eq!(alone.len(), rows.len(), "{facts_only}");
    for (a, b) in alone.iter().zip(rows) {
        for (field, value) in a.as_object().unwrap() {
            match field.as_str() {
                "avg_hours" => {
                    for stage in ["filing", "dispatch", "handling", "verification"] {
                        match b[field][stage].as_f64() {
                            Some(want) => close_to(&value[stage], want),
                            None => assert!(value[stage].is_null(), "{field}.{stage}: {a}"),
                        }
                    }
                }
                "score" | "closure_rate" | "on_time_closure_rate" | "rework_rate" => {
                    match b[field].as_f64() {
                        Some(want) => close_to(value, want),
                        None => assert!(value.is_null(), "{field}: {a}"),
                    }
                }
                _ => assert_eq!(value, &b[field], "{field}: {a} against {b}"),
            }
        }
    }
    // Filing: A 10 min, B 30 min, C 5 min. Dispatch: A 10, B 10, C 120 min.
    close_to(&dept["avg_hours"]["filing"], 15.0 / 60.0);
    close_to(&dept["avg_hours"]["dispatch"], 140.0 / 3.0 / 60.0);
    // Handling (the last of each): A 60 min, B 60 min (16:10 after the rework at 15:10).
    close_to(&dept["avg_hours"]["handling"], 1.0);
    // Verification: A 30 min, B 10 min (the last one).
    close_to(&dept["avg_hours"]["verification"], 20.0 / 60.0);
    // 100 × (0.4 × 1 + 0.4 × 1 + 0.2 × (1 − 0.5)) = 90: A.
    close_to(&dept["score"], 90.0);
    assert_eq!(dept["grade"], "A");
    assert!(dept["name"].as_str().is_some_and(|n| !n.is_empty()));

    let water = row("water-co");
    assert_eq!(
        (
            water["cases"].as_i64(),
            water["filed"].as_i64(),
            water["due"].as_i64()
        ),
        (Some(1), Some(0), Some(0))
    );
    assert!(
        water["closure_rate"].is_null() && water["score"].is_null(),
        "nothing was due: no rate"
    );

    // Other weights: 100 × (0.5 × 1 + 0.2 × 1 + 0.3 × 0.5) = 85: B.
    let (_, body) = app
        .get_as(&format!("/api/v1/stats/evaluation?{period}&by=department&weights=closure:0.5,on_time:0.2,rework:0.3"), &u.operator)
        .await;
    let dept = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == DEPT)
        .unwrap()
        .clone();
    close_to(&dept["score"], 85.0);
    assert_eq!(dept["grade"], "B");

    // By inspector: the first reporter of each case.
    let (_, body) = app
        .get_as(
            &format!("/api/v1/stats/evaluation?{period}&by=inspector"),
            &u.operator,
        )
        .await;
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(
        (rows[0]["cases"].as_i64(), rows[0]["valid_reports"].as_i64()),
        (Some(4), Some(3))
    );
    assert_eq!(rows[0]["name"], "Inspector");
    // By grid: one row per grid, each case in its own.
    let (_, body) = app
        .get_as(
            &format!("/api/v1/stats/evaluation?{period}&by=grid"),
            &u.operator,
        )
        .await;
    assert_eq!(body["rows"].as_array().unwrap().len(), 4);
    // A period before the history: nothing.
    let (_, body) = app
        .get_as(
            "/api/v1/stats/evaluation?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
            &u.operator,
        )
        .await;
    assert_eq!(body["rows"], json!([]));

    // Hotspots: one H3 cell per case point (they are grids apart), counted.
    let (s, hot) = app
        .get_as(
            &format!("/api/v1/stats/hotspots?{period}&resolution=12"),
            &u.operator,
        )
        .await;
    assert_eq!(s, 200, "{hot}");
    assert_eq!(hot["type"], "FeatureCollection");
    let features = hot["features"].as_array().unwrap();
    assert_eq!(features.len(), 4);
    let want = h3o::LatLng::new(p[0].2, p[0].1)
        .unwrap()
        .to_cell(h3o::Resolution::Twelve)
        .to_string();
    let cell_a = features
        .iter()
        .find(|f| f["properties"]["cell"] == want.as_str())
        .expect("A's cell");
    assert_eq!(cell_a["properties"]["count"], 1);
    let ring = cell_a["geometry"]["coordinates"][0].as_array().unwrap();
    assert_eq!(ring.len(), 7, "a closed hexagon");
    assert_eq!(ring[0], ring[6]);
    assert_eq!(hot["grids"].as_array().unwrap().len(), 4);
    // A department sees where its own cases are, no others.
    for token in [&u.department, &u.other_department] {
        let (_, me) = app.get_as("/api/v1/me", token).await;
        let own: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM cases WHERE department = $1 AND state <> 'void'",
        )
        .bind(me["department"].as_str().unwrap())
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let (s, hot) = app
            .get_as(
                &format!("/api/v1/stats/hotspots?{period}&resolution=12"),
                token,
            )
            .await;
        assert_eq!(s, 200, "{hot}");
        let counted: i64 = hot["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["count"].as_i64().unwrap())
            .sum();
        assert_eq!(counted, own, "{me}");
        assert!(counted < 4, "not every department's cases: {hot}");
    }
    // Each case keeps its cell at resolution 12 (migration 0024); a coarser
    // cell is its parent, taken in SQL as h3o takes it.
    let cell_of_a = h3o::LatLng::new(p[0].2, p[0].1)
        .unwrap()
        .to_cell(h3o::Resolution::Twelve);
    let kept: Option<i64> = sqlx::query_scalar("SELECT cell FROM cases WHERE case_no = $1")
        .bind(&a)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(kept, Some(u64::from(cell_of_a) as i64));
    for r in 0..=12u8 {
        let res = h3o::Resolution::try_from(r).unwrap();
        let parent: i64 = sqlx::query_scalar("SELECT h3_parent($1, $2)")
            .bind(u64::from(cell_of_a) as i64)
            .bind(i32::from(r))
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(
            parent as u64,
            u64::from(cell_of_a.parent(res).unwrap()),
            "resolution {r}"
        );
    }
    // Cases taken before their cells were kept are put in cells as they are
    // read, until the servers give them theirs: the same hotspots throughout.
    let hotspots_at = |r: u8| {
        let app = &app;
        let token = u.operator.clone();
        let period = period.clone();
        async move {
            let (s, hot) = app
                .get_as(
                    &format!("/api/v1/stats/hotspots?{period}&resolution={r}"),
                    &token,
                )
                .await;
            assert_eq!(s, 200, "{hot}");
            hot
        }
    };
    let with_cells = (hotspots_at(12).await, hotspots_at(9).await);
    sqlx::query("UPDATE cases SET cell = NULL WHERE case_no IN ($1, $2)")
        .bind(&a)
        .bind(&b)
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!((hotspots_at(12).await, hotspots_at(9).await), with_cells);
    let filled = citygrid::store::cases::fill_cells(&app.db.pool, 100)
        .await
        .unwrap();
    assert_eq!(filled, 2);
    assert_eq!((hotspots_at(12).await, hotspots_at(9).await), with_cells);
    let kept: Option<i64> = sqlx::query_scalar("SELECT cell FROM cases WHERE case_no = $1")
        .bind(&a)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(kept, Some(u64::from(cell_of_a) as i64));

    // At resolution 5 the four cases share one cell; the class filter keeps
    // the three of exposed garbage.
    let (_, hot) = app
        .get_as(
            &format!("/api/v1/stats/hotspots?{period}&resolution=5&class=0102"),
            &u.operator,
        )
        .await;
    let features = hot["features"].as_array().unwrap();
    assert_eq!(features.len(), 1, "{hot}");
    assert_eq!(features[0]["properties"]["count"], 3);
    let (s, b) = app
        .get_as("/api/v1/stats/hotspots?resolution=4", &u.operator)
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_resolution"))
    );

    // Departments see their own row only; kiosks and inspectors nothing.
    let (s, body) = app
        .get_as(&format!("/api/v1/stats/evaluation?{period}"), &u.department)
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["rows"].as_array().unwrap().len(), 1);
    assert_eq!(body["rows"][0]["key"], DEPT);
    let (s, _) = app
        .get_as(
            &format!("/api/v1/stats/evaluation?{period}&by=grid"),
            &u.department,
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app.get_as("/api/v1/stats/evaluation", &u.inspector).await;
    assert_eq!(s, 403);
    for (q, code) in [
        ("by=planet", "invalid_group"),
        ("from=yesterday", "invalid_period"),
        (
            "weights=closure:0.5,on_time:0.5,rework:0.5",
            "invalid_weights",
        ),
    ] {
        let (s, b) = app
            .get_as(&format!("/api/v1/stats/evaluation?{q}"), &u.operator)
            .await;
        assert_eq!((s, b["error"]["code"].as_str()), (400, Some(code)), "{q}");
    }

    // What the triggers kept through every action above is what the cases
    // say now: each case's facts, and the daily sums made again from them.
    let stale: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM case_facts f FULL JOIN case_facts_now n USING (case_id)
         WHERE f IS DISTINCT FROM ROW(n.*)::case_facts",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(stale, 0, "case_facts differ from case_facts_now");
    // The changes not yet settled count as the settled sums do: the same
    // answer before the sweep folds them in, after, and from sums made again.
    let unsettled: i64 = sqlx::query_scalar("SELECT count(*) FROM evaluation_changes")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert!(unsettled > 0, "the actions above left changes to settle");
    let every_grouping = || async {
        let mut all = vec![];
        for by in [
            "department",
            "district",
            "street",
            "community",
            "grid",
            "inspector",
        ] {
            let (s, body) = app
                .get_as(
                    &format!("/api/v1/stats/evaluation?{period}&by={by}"),
                    &u.operator,
                )
                .await;
            assert_eq!(s, 200, "{body}");
            all.push(body["rows"].clone());
        }
        all
    };
    let before = every_grouping().await;
    sqlx::query("SELECT pg_advisory_unlock(hashtextextended('evaluation_settle', 0))")
        .execute(&mut *no_settling)
        .await
        .unwrap();
    // Settled here or by the servers' sweep, whichever holds the lock.
    let mut left: i64 = -1;
    for _ in 0..100 {
        sqlx::query("SELECT evaluation_settle()")
            .execute(&app.db.pool)
            .await
            .unwrap();
        left = sqlx::query_scalar("SELECT count(*) FROM evaluation_changes")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(left, 0, "settled");
    same_answer(&json!(every_grouping().await), &json!(before));
    // Every sum of every group and day (hours to a microhour: added in
    // another order, doubles may differ in their last bit).
    let sums = "SELECT concat_ws(' ', grouping, day, key, cases, reports, filed, dispatched, handled,
                    handled_on_time, overdue, rework, reworked, round(filing_h::numeric, 6), filing_n,
                    round(dispatch_h::numeric, 6), dispatch_n, round(handling_h::numeric, 6), handling_n,
                    round(verification_h::numeric, 6), verification_n, closed, closed_on_time,
                    suspended, due, due_pending)
                FROM evaluation_days WHERE cases <> 0 ORDER BY grouping, day, key";
    let kept: Vec<String> = sqlx::query_scalar(sums)
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    sqlx::query("SELECT evaluation_days_rebuild()")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let rebuilt: Vec<String> = sqlx::query_scalar(sums)
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(kept, rebuilt);
    same_answer(&json!(every_grouping().await), &json!(before));
    let cases_by_department: i64 = sqlx::query_scalar(
        "SELECT sum(cases)::bigint FROM evaluation_days WHERE grouping = 'department'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        cases_by_department, 4,
        "every case, in one department's sums or none's"
    );

    // A page of groups at a time, in key order: the pages hold every group once.
    let pages = every_page(
        &app,
        &u.operator,
        &format!("/api/v1/stats/evaluation?{period}&by=grid&page_size=1"),
    )
    .await;
    assert!(pages.iter().all(|rows| rows.len() <= 1), "{pages:?}");
    let paged: Vec<String> = pages
        .iter()
        .flatten()
        .map(|r| r["key"].as_str().unwrap().to_owned())
        .collect();
    let mut whole: Vec<String> = before[4]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_owned())
        .collect();
    whole.sort();
    assert_eq!(paged, whole);
    let (s, b) = app
        .get_as("/api/v1/stats/evaluation?page_size=0", &u.operator)
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_page_size"))
    );
}

#[tokio::test]
async fn a_case_within_its_time_is_not_held_against_its_department_and_only_inspectors_are_ranked()
{
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    // Monday 23 November 2026, 09:00 China time.
    let app = TestApp::spawn_with(db, Clock::fixed(bj(23, 9, 0)))
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let p = grid_points(&app.db, 2).await;
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &u.inspector,
            &event_report("in-time", "0102", p[0].1, p[0].2),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (no, v) = case_of(&b);
    let v = must(&app, &u.operator, &no, "file", v, json!({})).await;
    must(
        &app,
        &u.dispatcher,
        &no,
        "dispatch",
        v,
        json!({"department": DEPT}),
    )
    .await;
    // A report by an operator (the hotline, say): no inspector's.
    let (s, _) = app
        .post(
            "/api/v1/reports",
            &u.operator,
            &event_report("hotline", "0102", p[1].1, p[1].2),
        )
        .await;
    assert_eq!(s, 201);
    let period = format!(
        "from={}&to={}",
        bj(23, 0, 0).to_rfc3339(),
        bj(28, 0, 0).to_rfc3339()
    )
    .replace('+', "%2B");
    let dept_row = |body: &Value| {
        body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == DEPT)
            .cloned()
            .unwrap_or_else(|| panic!("no row: {body}"))
    };
    // Handling (4 working hours from 09:00) is due at 15:00 on Monday: at 10:00 the
    // case is within its time, nothing is due and there is no rate yet.
    app.clock.set(bj(23, 10, 0));
    let (_, body) = app
        .get_as(
            &format!("/api/v1/stats/evaluation?{period}&by=department"),
            &u.operator,
        )
        .await;
    let row = dept_row(&body);
    assert_eq!(
        (row["dispatched"].as_i64(), row["due"].as_i64()),
        (Some(1), Some(0)),
        "{row}"
    );
    assert!(row["closure_rate"].is_null(), "{row}");
    // On Tuesday its time has run out: it is due, and not closed.
    app.clock.set(bj(24, 10, 0));
    let (_, body) = app
        .get_as(
            &format!("/api/v1/stats/evaluation?{period}&by=department"),
            &u.operator,
        )
        .await;
    let row = dept_row(&body);
    assert_eq!(row["due"], 1, "{row}");
    close_to(&row["closure_rate"], 0.0);

    // By inspector: the inspector's case only; the operator's report is no one's.
    let (_, body) = app
        .get_as(
            &format!("/api/v1/stats/evaluation?{period}&by=inspector"),
            &u.operator,
        )
        .await;
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0]["cases"], 1);
}

#[tokio::test]
async fn a_long_period_pages_its_groups_walking_the_keys() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let app = TestApp::spawn_with(db, Clock::fixed(bj(23, 9, 0)))
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    // Daily sums of 2,000 grids over 25 days of 2020 (50,000 rows: a period
    // that many is paged by walking the keys), and of 10 more only in 2019.
    sqlx::query(
        "INSERT INTO evaluation_days (grouping, day, key, cases, reports, filed, dispatched, handled,
             handled_on_time, overdue, rework, reworked, filing_h, filing_n, dispatch_h, dispatch_n,
             handling_h, handling_n, verification_h, verification_n)
         SELECT 'grid', d, k, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
         FROM generate_series(date '2020-01-01', date '2020-01-25', interval '1 day') d,
              (SELECT format('g%s', lpad(n::text, 4, '0')) FROM generate_series(0, 1999) n) g (k)
         UNION ALL
         SELECT 'grid', date '2019-06-01', format('h%s', n), 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
         FROM generate_series(0, 9) n",
    )
    .execute(&app.db.pool)
    .await
    .unwrap();
    let period = "from=2020-01-01T00:00:00Z&to=2020-01-26T00:00:00Z";
    let pages = every_page(
        &app,
        &u.operator,
        &format!("/api/v1/stats/evaluation?{period}&by=grid&page_size=700"),
    )
    .await;
    let rows: Vec<&Value> = pages.iter().flatten().collect();
    for r in &rows {
        assert_eq!(r["cases"], 25, "{r}");
    }
    let keys: Vec<String> = rows
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_owned())
        .collect();
    let cases: i64 = rows.iter().map(|r| r["cases"].as_i64().unwrap()).sum();
    let want: Vec<String> = (0..2000).map(|n| format!("g{n:04}")).collect();
    assert_eq!((pages.len(), keys, cases), (3, want, 50_000));
}
