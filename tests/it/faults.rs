//! Faults under load, with clients that do what the README asks of them
//! (retry with the same `client_key` until a 2xx): `kill -9` of the server,
//! and PostgreSQL stopped and started under it. Every acknowledged report is
//! stored exactly once; while the database is away the answers are quick 503s
//! that say when to retry, and the service recovers by itself.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

/// What the clients saw.
#[derive(Default)]
struct Seen {
    acknowledged: Vec<String>,
    unavailable: usize,
    unavailable_without_retry_after: usize,
    /// The longest a 503 took to come back.
    slowest_503: Duration,
    /// Requests that got no answer within the client's time, which is longer
    /// than the server's own 30 s limit: a server that hangs, not a slow one.
    timed_out: usize,
    other_errors: Vec<String>,
}

/// `clients` concurrent clients send `per_client` reports each, each retried
/// with its client key until a 2xx (giving up after `patience`).
async fn load(
    base: String,
    token: String,
    points: Vec<(f64, f64)>,
    clients: usize,
    per_client: usize,
    patience: Duration,
    seen: Arc<Mutex<Seen>>,
) {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (base, token, points, seen) =
            (base.clone(), token.clone(), points.clone(), seen.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(35))
                .build()
                .unwrap();
            for i in 0..per_client {
                let key = format!("load-{c}-{i}");
                let (lon, lat) = points[(c * per_client + i) % points.len()];
                let body = json!({"client_key": key, "kind": "event", "class": "0102",
                                  "lon": lon, "lat": lat, "description": "负载 load"});
                let started = Instant::now();
                loop {
                    assert!(started.elapsed() < patience, "{key} never acknowledged");
                    let sent = Instant::now();
                    let resp = http
                        .post(format!("{base}/api/v1/reports"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await;
                    match resp {
                        Ok(r) if r.status().is_success() => {
                            seen.lock().unwrap().acknowledged.push(key.clone());
                            break;
                        }
                        Ok(r) if r.status().as_u16() == 503 => {
                            let mut s = seen.lock().unwrap();
                            s.unavailable += 1;
                            s.slowest_503 = s.slowest_503.max(sent.elapsed());
                            if !r.headers().contains_key("retry-after") {
                                s.unavailable_without_retry_after += 1;
                            }
                        }
                        Ok(r) => {
                            let status = r.status();
                            let text = r.text().await.unwrap_or_default();
                            seen.lock()
                                .unwrap()
                                .other_errors
                                .push(format!("{key}: {status} {text}"));
                            break;
                        }
                        Err(e) if e.is_timeout() => seen.lock().unwrap().timed_out += 1,
                        // The server is gone (killed, restarting): retry.
                        Err(_) => {}
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Waits until `n` reports are acknowledged; fails after a minute, or when
/// the clients gave up first.
async fn wait_for_acknowledged(
    seen: &Mutex<Seen>,
    n: usize,
    clients: &tokio::task::JoinHandle<()>,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = seen.lock().unwrap();
        if s.acknowledged.len() >= n {
            return;
        }
        assert!(
            !clients.is_finished() && Instant::now() < deadline,
            "{} of {n} reports acknowledged; errors: {:?}",
            s.acknowledged.len(),
            s.other_errors
        );
        drop(s);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Each acknowledged key is stored as exactly one report; nothing else is.
async fn assert_stored_exactly_once(pool: &sqlx::PgPool, seen: &Seen) {
    assert!(seen.other_errors.is_empty(), "{:?}", seen.other_errors);
    let stored: Vec<(String, i64)> = sqlx::query_as(
        "SELECT client_key, count(*) FROM reports WHERE client_key LIKE 'load-%' GROUP BY client_key",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut acknowledged = seen.acknowledged.clone();
    acknowledged.sort();
    acknowledged.dedup();
    assert_eq!(
        acknowledged.len(),
        seen.acknowledged.len(),
        "a key acknowledged twice"
    );
    for (key, n) in &stored {
        assert_eq!(*n, 1, "{key} stored {n} times");
    }
    let mut stored: Vec<String> = stored.into_iter().map(|(k, _)| k).collect();
    stored.sort();
    assert_eq!(
        stored, acknowledged,
        "stored and acknowledged reports differ"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_report() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let token = add_user_to(&db.pool, "inspector", Role::Inspector).await;
    let points: Vec<(f64, f64)> = grid_points(&db, 40)
        .await
        .into_iter()
        .map(|(_, x, y)| (x, y))
        .collect();
    let port = free_port();
    let url = url_for(&db.name);
    let mut server = ServerProcess::launch(&url, port, &[]).await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let clients = tokio::spawn(load(
        server.base.clone(),
        token,
        points,
        8,
        40,
        Duration::from_secs(90),
        seen.clone(),
    ));
    // Twice, once some reports are in: kill -9, and start again.
    for round in 1..=2 {
        wait_for_acknowledged(&seen, round * 80, &clients).await;
        server.child.start_kill().unwrap();
        server.child.wait().await.unwrap();
        server = ServerProcess::launch(&url, port, &[]).await;
    }
    clients.await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.timed_out, 0, "requests the server never answered");
    assert_eq!(seen.acknowledged.len(), 320);
    assert_stored_exactly_once(&db.pool, &seen).await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_stopped_and_started_under_load() {
    let cluster = OwnCluster::create();
    let pool = cluster.mini_city_database().await;
    let token = add_user_to(&pool, "inspector", Role::Inspector).await;
    pool.close().await;

    let port = free_port();
    let server = ServerProcess::launch(&cluster.url("citygrid"), port, &[]).await;
    // Points in the mini city's three grids.
    let points = vec![(107.0004, 34.0002), (107.0015, 34.0005), (107.003, 34.0005)];
    let seen = Arc::new(Mutex::new(Seen::default()));
    let clients = tokio::spawn(load(
        server.base.clone(),
        token,
        points,
        4,
        50,
        Duration::from_secs(90),
        seen.clone(),
    ));
    wait_for_acknowledged(&seen, 40, &clients).await;
    cluster.stop();
    // While it is down: /ready says so, quickly, with Retry-After.
    let http = reqwest::Client::new();
    let asked = Instant::now();
    let ready = http
        .get(format!("{}/ready", server.base))
        .send()
        .await
        .unwrap();
    let ready_took = asked.elapsed();
    assert_eq!(ready.status().as_u16(), 503);
    assert!(ready.headers().contains_key("retry-after"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let unavailable_while_down = seen.lock().unwrap().unavailable;
    cluster.start();
    clients.await.unwrap();
    // Recovered without a restart.
    let ready = http
        .get(format!("{}/ready", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    let seen = seen.lock().unwrap();
    println!(
        "database down ~3 s: {} answers 503 (slowest {:?}), /ready answered in {:?}; {} acknowledged",
        seen.unavailable,
        seen.slowest_503,
        ready_took,
        seen.acknowledged.len()
    );
    assert!(
        unavailable_while_down > 0,
        "no 503 while the database was down"
    );
    assert_eq!(seen.unavailable_without_retry_after, 0);
    assert_eq!(seen.timed_out, 0, "requests the server never answered");
    // Bounded waits: no 503 (nor /ready) waited the old 10 s pool timeout.
    assert!(
        seen.slowest_503 < Duration::from_secs(6),
        "{:?}",
        seen.slowest_503
    );
    assert!(ready_took < Duration::from_secs(6), "{ready_took:?}");
    assert_eq!(seen.acknowledged.len(), 200);
    let pool = citygrid::store::connect(&cluster.url("citygrid"), 2)
        .await
        .unwrap();
    assert_stored_exactly_once(&pool, &seen).await;
    pool.close().await;
    drop(server);
}
