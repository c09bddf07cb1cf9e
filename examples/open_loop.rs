//! An open-loop load generator for intake (issue 12: "p99 < 50 ms at 1,000
//! reports/s offered open-loop"). Reports go out at a fixed rate whatever the
//! answers take; wrk, by contrast, sends a connection's next request only
//! after the answer, so a slow server is offered less and its queueing never
//! shows. Each report's latency counts from the moment it was due to be sent,
//! so a late send (the generator behind) counts too.
//!
//! Usage (see scripts/bench-intake.sh):
//!   open_loop BASE_URL TOKEN RATE SECONDS POINTS
//! POINTS: a file of `lon lat` lines (places in the city); each report is an
//! event of one of five classes up to ~40 m from a random one of them, with
//! its own client key.

use std::time::Duration;

use tokio::time::Instant;

const CLASSES: [&str; 5] = ["0102", "0103", "0104", "0201", "0501"];
/// An answer later than this counts as failed.
const TIMEOUT: Duration = Duration::from_secs(30);
/// At most this many reports in flight, each on its own connection (the
/// server takes 64 connections from one address): past it, sends wait, and
/// their wait counts in their latency.
const MAX_IN_FLIGHT: usize = 60;

/// xorshift64*: enough to spread reports over the city, no dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// In [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

enum Outcome {
    Answered { status: u16, latency: Duration },
    Failed(String),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, token, rate, seconds, points] = args.as_slice() else {
        anyhow::bail!("usage: open_loop BASE_URL TOKEN RATE SECONDS POINTS");
    };
    let rate: f64 = rate.parse()?;
    let seconds: f64 = seconds.parse()?;
    anyhow::ensure!(
        rate > 0.0 && seconds > 0.0,
        "RATE and SECONDS must be positive"
    );
    let points: Vec<(f64, f64)> = std::fs::read_to_string(points)?
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace().map(str::parse::<f64>);
            Some((it.next()?.ok()?, it.next()?.ok()?))
        })
        .collect();
    anyhow::ensure!(!points.is_empty(), "no `lon lat` lines in the points file");
    let url = format!("{}/api/v1/reports", base.trim_end_matches('/'));
    let auth = format!("Bearer {token}");
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .pool_max_idle_per_host(MAX_IN_FLIGHT)
        .build()?;
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    let mut random = Random(run | 1);

    let total = (rate * seconds).round() as u64;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let start = Instant::now();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        let (lon, lat) = points[(random.next() % points.len() as u64) as usize];
        let body = format!(
            r#"{{"client_key":"open-{run}-{i}","kind":"event","class":"{}","lon":{:.7},"lat":{:.7},"description":"bench"}}"#,
            CLASSES[(random.next() % CLASSES.len() as u64) as usize],
            lon + (random.unit() - 0.5) * 0.0008,
            lat + (random.unit() - 0.5) * 0.0006,
        );
        let request = client
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .body(body);
        let tx = tx.clone();
        let permit = in_flight.clone().acquire_owned().await?;
        tokio::spawn(async move {
            let outcome = match request.send().await {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    // The answer is whole when its body is.
                    match answer.bytes().await {
                        Ok(_) => Outcome::Answered {
                            status,
                            latency: due.elapsed(),
                        },
                        Err(e) => Outcome::Failed(format!("{e:?}")),
                    }
                }
                Err(e) => Outcome::Failed(format!("{e:?}")),
            };
            let _ = tx.send(outcome);
            drop(permit);
        });
    }
    let sent_in = start.elapsed();
    drop(tx);
    let mut latencies = vec![];
    let (mut ok, mut other, mut failed) = (0u64, 0u64, 0u64);
    while let Some(outcome) = rx.recv().await {
        match outcome {
            Outcome::Answered { status, latency } => {
                if (200..300).contains(&status) {
                    ok += 1;
                } else {
                    other += 1;
                }
                latencies.push(latency);
            }
            Outcome::Failed(error) => {
                if failed == 0 {
                    eprintln!("first failure: {error}");
                }
                failed += 1;
            }
        }
    }
    let done_in = start.elapsed();
    latencies.sort();
    let at = |q: f64| -> String {
        latencies
            .get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .map(|d| format!("{:.1}ms", d.as_secs_f64() * 1000.0))
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "offered {rate} /s for {seconds} s (sent in {:.1} s): {total} reports, {ok} 2xx, {other} other, \
         {failed} failed or > {} s; answered at {:.0} /s; latency from the due time p50 {}, p90 {}, p99 {}, max {}",
        sent_in.as_secs_f64(),
        TIMEOUT.as_secs(),
        (ok + other) as f64 / done_in.as_secs_f64(),
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0),
    );
    Ok(())
}
