//! Hotspots over months (migration 0027): the answers counted from the sums
//! before each settled bound are the cases' own counts — before any bound is
//! settled and after, after a case before settled bounds becomes void, and
//! after a case is reported with a time before settled bounds.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde_json::{Value, json};

use crate::support::*;
use crate::workflow::Staff;

fn bj(m: u32, d: u32) -> DateTime<Utc> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, m, d, 10, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

type Counts = (BTreeMap<String, i64>, BTreeMap<String, i64>);

/// The cells (at `resolution`) and grids of the cases reported in
/// [from, to), not void, counted here from the cases themselves.
async fn counted_here(db: &TestDb, from: &str, to: &str, resolution: u8) -> Counts {
    let rows: Vec<(Option<i64>, Option<String>, i64)> = sqlx::query_as(
        "SELECT h3_parent(cell, $3), grid, count(*) FROM cases
         WHERE reported_at >= $1::timestamptz AND reported_at < $2::timestamptz AND state <> 'void'
         GROUP BY GROUPING SETS (h3_parent(cell, $3), grid)",
    )
    .bind(from)
    .bind(to)
    .bind(i32::from(resolution))
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut counts = Counts::default();
    for (cell, grid, n) in rows {
        match (cell, grid) {
            (Some(cell), _) => {
                let cell = h3o::CellIndex::try_from(cell as u64).unwrap();
                counts.0.insert(cell.to_string(), n);
            }
            (None, Some(grid)) => {
                counts.1.insert(grid, n);
            }
            (None, None) => {}
        }
    }
    counts
}

async fn answered(app: &TestApp, token: &str, from: &str, to: &str, resolution: u8) -> Counts {
    let q = |t: &str| t.replace('+', "%2B");
    let (s, hot) = app
        .get_as(
            &format!(
                "/api/v1/stats/hotspots?from={}&to={}&resolution={resolution}",
                q(from),
                q(to)
            ),
            token,
        )
        .await;
    assert_eq!(s, 200, "{hot}");
    let pairs = |v: &Value, key: &str| -> Vec<(String, i64)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| {
                let x = if key == "cell" { &x["properties"] } else { x };
                (
                    x[key].as_str().unwrap().to_owned(),
                    x["count"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let cells = pairs(&hot["features"], "cell");
    let grids = pairs(&hot["grids"], "grid");
    let counts: Counts = (
        cells.iter().cloned().collect(),
        grids.iter().cloned().collect(),
    );
    // One entry per place, most first.
    assert_eq!((counts.0.len(), counts.1.len()), (cells.len(), grids.len()));
    assert!(grids.windows(2).all(|w| w[0].1 >= w[1].1), "{grids:?}");
    counts
}

/// Periods of whole months, of ends inside months, of a few days, and one
/// that starts before the first case.
const PERIODS: [(&str, &str); 5] = [
    ("2026-09-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00"),
    ("2026-08-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00"),
    ("2026-09-15T00:00:00+08:00", "2026-11-20T00:00:00+08:00"),
    ("2026-10-03T00:00:00+08:00", "2026-10-06T00:00:00+08:00"),
    ("2025-01-01T00:00:00+08:00", "2026-10-28T00:00:00+08:00"),
];

async fn every_period_as_counted(app: &TestApp, token: &str, when: &str) {
    for (from, to) in PERIODS {
        for resolution in [9, 7] {
            let want = counted_here(&app.db, from, to, resolution).await;
            // Asked twice: the second from the sums the server kept.
            for ask in ["first", "again"] {
                let got = answered(app, token, from, to, resolution).await;
                assert_eq!(
                    got, want,
                    "{when}, asked {ask}: {from} – {to} at resolution {resolution}"
                );
            }
        }
    }
}

#[tokio::test]
async fn hotspots_over_months_are_the_cases_counted() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let app = TestApp::spawn_with(db, Clock::fixed(bj(8, 12)))
        .await
        .unwrap();
    // Nothing is settled until the answers have been checked without sums.
    let mut no_settling = app.db.pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(hashtextextended('hotspot_settle', 0))")
        .execute(&mut *no_settling)
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let p = grid_points(&app.db, 5).await;
    // Months apart, so none is a duplicate of another: point 0 reported
    // four times, point 1 twice, points 2 and 3 once (point 4 later).
    let mut reported = vec![];
    for (i, (m, d, at)) in [
        (8, 12, 0),
        (9, 3, 1),
        (9, 20, 0),
        (10, 4, 2),
        (10, 25, 1),
        (11, 5, 0),
        (11, 24, 0),
        (11, 24, 3),
    ]
    .into_iter()
    .enumerate()
    {
        app.clock.set(bj(m, d));
        let (s, body) = app
            .post(
                "/api/v1/reports",
                &u.inspector,
                &event_report(&format!("hot-{i}"), "0102", p[at].1, p[at].2),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        reported.push(case_of(&body));
    }
    app.clock.set(bj(11, 25));
    every_period_as_counted(&app, &u.operator, "nothing settled").await;

    // Settled on the connection holding the lock (advisory locks are
    // reentrant), so the server's sweep takes no turn in between.
    let settled = citygrid::store::hotspots::settle(
        &mut no_settling,
        bj(11, 25),
        std::time::Duration::from_secs(30),
    )
    .await
    .unwrap();
    sqlx::query("SELECT pg_advisory_unlock(hashtextextended('hotspot_settle', 0))")
        .execute(&mut *no_settling)
        .await
        .unwrap();
    drop(no_settling);
    let bounds: Vec<DateTime<Utc>> =
        sqlx::query_scalar("SELECT at FROM hotspot_bounds ORDER BY at")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    // Months' starts, then every day's for the last 62 days (from 24
    // September 02:00 UTC), up to an hour before the clock.
    let day = |m, d| Utc.with_ymd_and_hms(2026, m, d, 0, 0, 0).unwrap();
    let mut want = vec![day(8, 1), day(9, 1)];
    want.extend((25..=30).map(|d| day(9, d)));
    want.extend((1..=31).map(|d| day(10, d)));
    want.extend((1..=25).map(|d| day(11, d)));
    assert_eq!(bounds, want, "settled {settled} here");
    // The sums before November: the five cases reported before it.
    let before_november: i64 = sqlx::query_scalar(
        "SELECT sum(cases)::int8 FROM hotspot_grids WHERE at = '2026-11-01T00:00:00Z'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(before_november, 5);
    every_period_as_counted(&app, &u.operator, "settled").await;

    // The answers do come from the sums: one more before November in a grid
    // shows in a period that ends with October, and goes again.
    let grid = &p[0].0;
    // (A change of sums gives their bound a new version, or the servers
    // answer from the sums they read before.)
    let pool = &app.db.pool;
    let nudge = |by: i64| async move {
        sqlx::query(
            "WITH g AS (UPDATE hotspot_grids SET cases = cases + $1
                 WHERE at = '2026-11-01T00:00:00Z' AND grid = $2)
             UPDATE hotspot_bounds SET version = nextval('hotspot_versions')
             WHERE at = '2026-11-01T00:00:00Z'",
        )
        .bind(by)
        .bind(grid)
        .execute(pool)
        .await
    };
    let (from, to) = PERIODS[0];
    nudge(1).await.unwrap();
    let (_, grids) = answered(&app, &u.operator, from, to, 9).await;
    let (_, want) = counted_here(&app.db, from, to, 9).await;
    assert_eq!(grids[grid], want[grid] + 1);
    nudge(-1).await.unwrap();

    // The first period's sums, kept by the server: after each change below,
    // it is asked first, and the sums' new version must show.
    let ask_first = |when: &'static str| {
        let (from, to) = PERIODS[0];
        let (app, token) = (&app, &u.operator);
        async move {
            let got = answered(app, token, from, to, 9).await;
            assert_eq!(got, counted_here(&app.db, from, to, 9).await, "{when}");
        }
    };
    ask_first("before the void").await;
    // A September case made void leaves the sums of October and November.
    let (september, version) = &reported[2];
    let (s, body) = app
        .act(
            &u.operator,
            september,
            "void",
            *version,
            json!({"note": "test report"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    every_period_as_counted(&app, &u.operator, "a settled case void").await;

    ask_first("before the late report").await;
    // A case reported at a time before settled bounds (a server's clock
    // behind) joins the sums after it.
    app.clock.set(bj(9, 10));
    let (s, body) = app
        .post(
            "/api/v1/reports",
            &u.inspector,
            &event_report("hot-late", "0102", p[4].1, p[4].2),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    app.clock.set(bj(11, 25));
    every_period_as_counted(&app, &u.operator, "a case reported before settled bounds").await;

    // The grids with most cases, as many as asked for, of all there are.
    let (from, to) = PERIODS[1];
    let (_, every) = counted_here(&app.db, from, to, 9).await;
    let period = format!(
        "from={}&to={}",
        from.replace('+', "%2B"),
        to.replace('+', "%2B")
    );
    let (s, hot) = app
        .get_as(
            &format!("/api/v1/stats/hotspots?{period}&grids_limit=2"),
            &u.operator,
        )
        .await;
    assert_eq!(s, 200, "{hot}");
    let mut most: Vec<(i64, &String)> = every.iter().map(|(g, n)| (-n, g)).collect();
    most.sort();
    let top: Vec<Value> = most[..2]
        .iter()
        .map(|(n, g)| json!({"grid": g, "count": -n}))
        .collect();
    assert_eq!(hot["grids"], json!(top));
    assert_eq!(hot["grids_total"], every.len());
    assert!(every.len() > 2, "more grids than listed: {every:?}");
    for bad in ["-1", "100001", "x"] {
        let (s, body) = app
            .get_as(
                &format!("/api/v1/stats/hotspots?{period}&grids_limit={bad}"),
                &u.operator,
            )
            .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (400, Some("invalid_grids_limit")),
            "{body}"
        );
    }

    // A department's answer and a class filter are counted from the cases.
    let (s, hot) = app
        .get_as(
            "/api/v1/stats/hotspots?from=2026-08-01T00:00:00Z&to=2026-12-01T00:00:00Z&class=0102&kind=event",
            &u.operator,
        )
        .await;
    assert_eq!(s, 200, "{hot}");
    let total: i64 = hot["grids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 8, "nine reported, one void: {hot}");
}
