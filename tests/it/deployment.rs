//! More than one machine on PostgreSQL: several `citygrid serve` processes on
//! one database behind any load balancer, and stale-tolerant reads from a real
//! streaming replica.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;
use crate::workflow::DEPT;

/// POST `body` to `base` + `path` as `token`: the status and the JSON answer.
async fn post_to(base: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// GET `base` + `path`, as `token` (none when empty).
async fn get_from(base: &str, path: &str, token: &str) -> (u16, String) {
    let mut req = reqwest::Client::new().get(format!("{base}{path}"));
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Every event on `stream` until `n` events (of any case) have come.
async fn collect(stream: &mut EventStream, n: usize) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    while seen.len() < n {
        seen.push(stream.next().await);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_servers_on_one_database_lose_nothing_and_double_nothing() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let inspector = add_user_to(&db.pool, "inspector", Role::Inspector).await;
    let operator = add_user_to(&db.pool, "operator", Role::Operator).await;
    let dispatcher = add_user_to(&db.pool, "dispatcher", Role::Dispatcher).await;
    // Every server sweeps for overdue stages every second.
    let servers = [
        ServerProcess::start_with(&db, &["--sweep-seconds", "1"]).await,
        ServerProcess::start_with(&db, &["--sweep-seconds", "1"]).await,
        ServerProcess::start_with(&db, &["--sweep-seconds", "1"]).await,
    ];
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let url = |i: usize| format!("{}/api/v1/events", bases[i % 3]);
    let mut streams = Vec::new();
    for i in 0..3 {
        streams.push(subscribe(&url(i), &dispatcher).await);
    }

    // 30 problems, each reported through every server at once with one
    // client key (a client retrying through the load balancer).
    const N: usize = 30;
    let points = grid_points(&db, N as i64).await;
    let mut sends = Vec::new();
    for (i, (_, lon, lat)) in points.iter().enumerate() {
        for base in &bases {
            let (base, token) = (base.clone(), inspector.clone());
            let body = event_report(&format!("three-{i}"), "0102", *lon, *lat);
            sends.push(tokio::spawn(async move {
                (i, post_to(&base, "/api/v1/reports", &token, &body).await)
            }));
        }
    }
    let mut case_of_report: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for s in sends {
        let (i, (status, body)) = s.await.unwrap();
        assert!(status == 200 || status == 201, "{status}: {body}");
        case_of_report
            .entry(i)
            .or_default()
            .insert(case_of(&body).0);
    }
    // One case per problem, whichever server answered.
    assert!(case_of_report.values().all(|c| c.len() == 1));
    let cases: BTreeSet<String> = case_of_report
        .into_values()
        .flat_map(|c| c.into_iter())
        .collect();
    assert_eq!(cases.len(), N);
    assert_eq!(db.count("reports").await, N as i64);
    assert_eq!(db.count("cases").await, N as i64);

    // Each case filed, then dispatched through all three servers at once with
    // the same expected version: exactly one dispatch wins.
    let mut versions = BTreeMap::new();
    for (k, no) in cases.iter().enumerate() {
        let (s, b) = post_to(
            &bases[k % 3],
            &format!("/api/v1/cases/{no}/actions"),
            &operator,
            &json!({"action": "file", "expected_version": 1}),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        versions.insert(no.clone(), b["case"]["version"].as_i64().unwrap());
    }
    let mut dispatches = Vec::new();
    for (no, v) in &versions {
        for base in &bases {
            let (base, token, no) = (base.clone(), dispatcher.clone(), no.clone());
            let body = json!({"action": "dispatch", "expected_version": v, "department": DEPT});
            dispatches.push(tokio::spawn(async move {
                let path = format!("/api/v1/cases/{no}/actions");
                (no, post_to(&base, &path, &token, &body).await.0)
            }));
        }
    }
    let mut won: BTreeMap<String, usize> = BTreeMap::new();
    for d in dispatches {
        let (no, status) = d.await.unwrap();
        assert!(status == 200 || status == 409, "dispatch of {no}: {status}");
        *won.entry(no).or_default() += usize::from(status == 200);
    }
    assert!(won.values().all(|n| *n == 1), "{won:?}");
    let dispatched: i64 =
        sqlx::query_scalar("SELECT count(*) FROM case_events WHERE action = 'dispatch'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(dispatched, N as i64);

    // Every stage still open is put past its deadline: each is marked overdue
    // once, though three servers sweep.
    let due = put_past_deadline(&db, "true", test_now()).await;
    assert_eq!(due, N as i64);

    // Every subscriber, on every server, sees every change exactly once:
    // N created, N filed, N dispatched, N overdue.
    for stream in &mut streams {
        let seen = collect(stream, 4 * N).await;
        let mut by_kind: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for (kind, data) in &seen {
            let label = match (kind.as_str(), data["to"].as_str()) {
                ("state_changed", Some(to)) => format!("to {to}"),
                _ => kind.clone(),
            };
            let no = data["case_no"].as_str().unwrap_or_default().to_owned();
            *by_kind.entry(label).or_default().entry(no).or_default() += 1;
        }
        for label in ["created", "to filed", "to dispatched", "overdue"] {
            let per_case = by_kind.get(label).cloned().unwrap_or_default();
            assert_eq!(
                per_case.keys().cloned().collect::<BTreeSet<_>>(),
                cases,
                "{label}: {by_kind:?}"
            );
            assert!(per_case.values().all(|n| *n == 1), "{label}: {per_case:?}");
        }
    }
    let overdue: i64 =
        sqlx::query_scalar("SELECT count(*) FROM case_events WHERE action = 'overdue'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(overdue, N as i64);
    drop(servers);
    db.drop_db().await.unwrap();
}

/// The answer of `/ready` at `base`: where stale-tolerant reads go now.
async fn reads_from(base: &str) -> (String, String) {
    let body = reqwest::get(format!("{base}/ready"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    (
        v["stale_reads"].as_str().unwrap_or_default().to_owned(),
        body,
    )
}

async fn wait_until_reads_from(base: &str, wanted: &str) {
    let mut last = String::new();
    for _ in 0..200 {
        let (from, body) = reads_from(base).await;
        if from == wanted {
            return;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("stale reads never went to {wanted}: /ready says {last}");
}

/// The case numbers in Open311's `requests.json` (public, stale-tolerant).
async fn open311_requests(base: &str) -> BTreeSet<String> {
    let (s, body) = get_from(base, "/open311/v2/requests.json", "").await;
    assert_eq!(s, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Cases counted by the evaluation (by department; the period holds the
/// fixed clock's moment).
async fn evaluated_reports(base: &str, token: &str) -> i64 {
    let period = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
    let path = format!("/api/v1/stats/evaluation?by=department&{period}");
    let (s, body) = get_from(base, &path, token).await;
    assert_eq!(s, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cases"].as_i64().unwrap_or(0))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_reads_come_from_a_streaming_replica_and_carry_on_without_it() {
    let primary = OwnCluster::create();
    let pool = primary.mini_city_database().await;
    let inspector = add_user_to(&pool, "inspector", Role::Inspector).await;
    let dispatcher = add_user_to(&pool, "dispatcher", Role::Dispatcher).await;

    let replica = OwnCluster::replica_of(&primary);
    let standby = citygrid::store::connect(&replica.url("citygrid"), 1)
        .await
        .unwrap();
    let server = ServerProcess::launch(
        &primary.url("citygrid"),
        free_port(),
        &["--read-database-url", &replica.url("citygrid")],
    )
    .await;
    let base = server.base.clone();
    wait_until_reads_from(&base, "replica").await;

    let points = [(107.0004, 34.0002), (107.0015, 34.0005), (107.003, 34.0005)];
    let report = |key: &str, (lon, lat): (f64, f64)| {
        let (base, token, body) = (
            base.clone(),
            inspector.clone(),
            event_report(key, "0102", lon, lat),
        );
        async move {
            let (s, b) = post_to(&base, "/api/v1/reports", &token, &body).await;
            assert_eq!(s, 201, "{b}");
            case_of(&b).0
        }
    };
    let first = report("replica-1", points[0]).await;
    // The replica replays it.
    for _ in 0..100 {
        if open311_requests(&base).await.contains(&first) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        open311_requests(&base).await,
        BTreeSet::from([first.clone()])
    );

    // Replay paused: what is written now is on the primary only. Writes and
    // the case itself answer from the primary; stale-tolerant reads do not
    // see it yet — they are served by the replica.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&standby)
        .await
        .unwrap();
    for _ in 0..100 {
        let paused: String = sqlx::query_scalar("SELECT pg_get_wal_replay_pause_state()")
            .fetch_one(&standby)
            .await
            .unwrap();
        if paused == "paused" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = report("replica-2", points[1]).await;
    let (s, _) = get_from(&base, &format!("/api/v1/cases/{second}"), &dispatcher).await;
    assert_eq!(s, 200);
    assert_eq!(
        open311_requests(&base).await,
        BTreeSet::from([first.clone()])
    );
    assert_eq!(evaluated_reports(&base, &dispatcher).await, 1);
    let (s, csv) = get_from(&base, "/api/v1/cases.csv", &dispatcher).await;
    assert_eq!(s, 200);
    assert!(csv.contains(&first) && !csv.contains(&second), "{csv}");
    // A client reading back the request it posted finds it all the same.
    let (s, _) = get_from(&base, &format!("/open311/v2/requests/{second}.json"), "").await;
    assert_eq!(s, 200);

    // Replay resumed: the replica catches up.
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&standby)
        .await
        .unwrap();
    for _ in 0..100 {
        if open311_requests(&base).await.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        open311_requests(&base).await,
        BTreeSet::from([first.clone(), second.clone()])
    );
    assert_eq!(evaluated_reports(&base, &dispatcher).await, 2);
    standby.close().await;

    // The replica goes away: the service carries on, reading from the primary.
    replica.stop();
    wait_until_reads_from(&base, "primary_replica_down").await;
    let third = report("replica-3", points[2]).await;
    assert_eq!(
        open311_requests(&base).await,
        BTreeSet::from([first.clone(), second.clone(), third.clone()])
    );
    assert_eq!(evaluated_reports(&base, &dispatcher).await, 3);
    let (s, csv) = get_from(&base, "/api/v1/cases.csv", &dispatcher).await;
    assert_eq!(s, 200);
    assert!(csv.contains(&third));
    let (z, x, y) = {
        let (x, y) = tile_of(15, points[2].0, points[2].1);
        (15, x, y)
    };
    let (s, _) = get_from(&base, &format!("/tiles/cases/{z}/{x}/{y}.mvt"), &dispatcher).await;
    assert_eq!(s, 200);

    // And goes back to it when it is back.
    replica.start();
    wait_until_reads_from(&base, "replica").await;
    for _ in 0..100 {
        if open311_requests(&base).await.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(open311_requests(&base).await.len(), 3);
    pool.close().await;
    drop(server);
}
