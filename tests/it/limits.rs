//! What a hostile or careless client can do, and the bounded answer it gets:
//! malformed and oversized requests get the documented error shape, anonymous
//! callers and kiosks meet rate limits, slow clients cannot hold the server's
//! connections, and shutdown ends event streams and exits in bounded time.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Sends `head` and `body` on a raw connection while reading the answer (a
/// server may answer, and close, before it has read a body it refuses).
/// Returns the status, the headers and the body text.
async fn raw(addr: std::net::SocketAddr, head: String, body: Vec<u8>) -> (u16, String, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = write.write_all(head.as_bytes()).await;
        let _ = write.write_all(&body).await;
        write
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), read.read_to_end(&mut answer)).await;
    drop(writer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (headers, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = headers
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, headers.to_ascii_lowercase(), body.to_owned())
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n")
}

/// Our shape: `{"error":{"code","message"}}` with `code`.
fn api_error(path: &str, (status, headers, body): (u16, String, String), want: u16, code: &str) {
    assert_eq!(status, want, "{path}: {headers}\n{body}");
    assert!(
        headers.contains("content-type: application/json"),
        "{path}: {headers}"
    );
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"));
    assert_eq!(v["error"]["code"], code, "{path}: {body}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

/// Open311's shape: `[{"code","description"}]`, or `<errors>` for `.xml`.
fn open311_error(path: &str, (status, headers, body): (u16, String, String), want: u16) {
    assert_eq!(status, want, "{path}: {headers}\n{body}");
    if path.contains(".xml") {
        assert!(
            headers.contains("content-type: text/xml"),
            "{path}: {headers}"
        );
        let doc = roxmltree::Document::parse(&body).unwrap();
        assert_eq!(doc.root_element().tag_name().name(), "errors");
    } else {
        assert!(
            headers.contains("content-type: application/json"),
            "{path}: {headers}"
        );
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"));
        assert_eq!(v[0]["code"], want, "{path}: {body}");
        assert!(v[0]["description"].is_string());
    }
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_the_documented_error_shape() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let staff = app.user(Role::Operator, None).await;
    let auth = format!("Authorization: Bearer {staff}\r\n");

    // NUL bytes and invalid UTF-8 never reach SQL: 400 in the path's shape.
    for path in [
        "/open311/v2/requests/%00.json",
        "/open311/v2/requests/%00.xml",
        "/open311/v2/tokens/%00.json",
        "/open311/v2/requests.json?service_request_id=%00",
        "/open311/v2/requests.json?service_code=event-%00",
        "/open311/v2/%FF.json",
        "/open311/v2/services/%FF.xml",
    ] {
        open311_error(path, raw(app.addr, get(path, ""), vec![]).await, 400);
    }
    for (path, code) in [
        ("/api/v1/cases/%FF", "invalid_utf8"),
        ("/api/v1/cases/%00", "invalid_text"),
        ("/api/v1/media/%FF", "invalid_utf8"),
        ("/tiles/%FF/0/0/0.mvt", "invalid_utf8"),
        ("/api/v1/locate?lon=%FF&lat=1", "invalid_utf8"),
        ("/api/v1/cases?state=%00", "invalid_text"),
    ] {
        api_error(
            path,
            raw(app.addr, get(path, &auth), vec![]).await,
            400,
            code,
        );
    }

    // Too many ids: refused with Open311's 400; far too many: the URL is too long.
    let ids: Vec<String> = (1..=60).map(|i| format!("20261125-{i:06}")).collect();
    let path = format!(
        "/open311/v2/requests.json?service_request_id={}",
        ids.join(",")
    );
    open311_error(&path, raw(app.addr, get(&path, ""), vec![]).await, 400);
    let path = format!(
        "/open311/v2/requests.json?service_request_id={}",
        ",".repeat(63_000)
    );
    open311_error(&path, raw(app.addr, get(&path, ""), vec![]).await, 414);
    let path = format!("/api/v1/classes?x={}", "a".repeat(10_000));
    api_error(
        &path,
        raw(app.addr, get(&path, ""), vec![]).await,
        414,
        "uri_too_long",
    );
    let big_header = format!("X-Big: {}\r\n", "b".repeat(40_000));
    api_error(
        "a 40 kB header",
        raw(app.addr, get("/api/v1/classes", &big_header), vec![]).await,
        431,
        "headers_too_large",
    );

    let many_headers: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    api_error(
        "150 header fields",
        raw(app.addr, get("/api/v1/classes", &many_headers), vec![]).await,
        431,
        "headers_too_large",
    );

    // An 11 MB Open311 form and a 2 MB JSON body: 413 in their shapes.
    let form = format!("api_key={staff}&description={}", "x".repeat(11 << 20));
    let head = format!(
        "POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        form.len()
    );
    open311_error(
        "an 11 MB form",
        raw(app.addr, head, form.into_bytes()).await,
        413,
    );
    let json = format!(
        r#"{{"client_key":"k","description":"{}"}}"#,
        "x".repeat(2 << 20)
    );
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        json.len()
    );
    api_error(
        "a 2 MB report",
        raw(app.addr, head, json.into_bytes()).await,
        413,
        "payload_too_large",
    );
    // Wrong methods and unknown paths: the documented shapes too.
    api_error(
        "DELETE /api/v1/classes",
        raw(
            app.addr,
            "DELETE /api/v1/classes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
            vec![],
        )
        .await,
        405,
        "method_not_allowed",
    );
    open311_error(
        "/open311/v2/nothing.json",
        raw(app.addr, get("/open311/v2/nothing.json", ""), vec![]).await,
        404,
    );
}

#[tokio::test]
async fn anonymous_callers_and_kiosks_meet_rate_limits_with_retry_after() {
    let opts = citygrid::http::ServeOptions {
        rate_limits: citygrid::http::rate::RateLimits {
            anonymous: citygrid::http::rate::Rate {
                burst: 5.0,
                per_second: 0.2,
            },
            kiosk: citygrid::http::rate::Rate {
                burst: 3.0,
                per_second: 0.2,
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let app = TestApp::spawn_with_options(
        TestDb::new(Template::SampleCity).await.unwrap(),
        Clock::fixed(test_now()),
        opts,
    )
    .await
    .unwrap();
    let staff = app.user(Role::Dispatcher, None).await;
    let kiosk = app.user(Role::Kiosk, None).await;
    for _ in 0..5 {
        let (s, _) = app.get("/api/v1/classes").await;
        assert_eq!(s, 200);
    }
    let resp = app
        .client
        .get(app.url("/api/v1/classes"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&wait), "Retry-After: {wait}");
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["error"]["code"], "rate_limited");
    // A made-up token, an empty or made-up session cookie is no way around it.
    for (header, value, query) in [
        ("authorization", "Bearer cg_made_up", ""),
        ("cookie", "citygrid_session=", ""),
        ("cookie", "citygrid_session=cgs_made_up", ""),
    ] {
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/classes{query}")))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 429, "{header}: {value} {query}");
    }
    // Open311 answers in its own shape; the web map's files and /health are not limited.
    open311_error(
        "/open311/v2/services.json",
        raw(app.addr, get("/open311/v2/services.json", ""), vec![]).await,
        429,
    );
    assert_eq!(app.get("/health").await.0, 200);
    // Staff are not limited.
    for _ in 0..10 {
        assert_eq!(app.get_as("/api/v1/classes", &staff).await.0, 200);
    }
    // A kiosk has its own allowance.
    for _ in 0..3 {
        assert_eq!(app.get_as("/api/v1/me", &kiosk).await.0, 200);
    }
    let resp = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&kiosk)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_callers_are_told_apart_by_x_forwarded_for() {
    let opts = citygrid::http::ServeOptions {
        rate_limits: citygrid::http::rate::RateLimits {
            anonymous: citygrid::http::rate::Rate {
                burst: 2.0,
                per_second: 0.1,
            },
            ..Default::default()
        },
        trust_forwarded_for: true,
        ..Default::default()
    };
    let app = TestApp::spawn_with_options(
        TestDb::new(Template::SampleCity).await.unwrap(),
        Clock::fixed(test_now()),
        opts,
    )
    .await
    .unwrap();
    let from = |client: &str| {
        app.client
            .get(app.url("/api/v1/classes"))
            // A forged first entry changes nothing: the proxy's own is last.
            .header("X-Forwarded-For", format!("6.6.6.6, {client}"))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(from("10.0.0.1").await.unwrap().status().as_u16(), 200);
    }
    assert_eq!(from("10.0.0.1").await.unwrap().status().as_u16(), 429);
    assert_eq!(from("10.0.0.2").await.unwrap().status().as_u16(), 200);
}

/// Opens `n` connections that send half a request and nothing more.
async fn half_open(addr: std::net::SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    held
}

#[tokio::test]
async fn slow_clients_cannot_hold_the_server() {
    let opts = citygrid::http::ServeOptions {
        connections: citygrid::http::server::ConnectionLimits {
            max_connections: 16,
            header_timeout: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(1),
            // All from one address here: the cap in all is what is tried.
            per_address: 0,
            ..Default::default()
        },
        ..Default::default()
    };
    let app = TestApp::spawn_with_options(
        TestDb::new(Template::SampleCity).await.unwrap(),
        Clock::fixed(test_now()),
        opts,
    )
    .await
    .unwrap();
    // Far more half-open connections than the cap.
    let mut held = half_open(app.addr, 100).await;
    // /health still answers: the slow ones are dropped after the header time.
    let health = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match tokio::time::timeout(
                Duration::from_secs(5),
                reqwest::Client::new().get(app.url("/health")).send(),
            )
            .await
            {
                Ok(Ok(r)) => return r.status().as_u16(),
                _ => continue,
            }
        }
    })
    .await
    .expect("/health answers while slow clients wait");
    assert_eq!(health, 200);
    // Every half-open connection was closed by the server.
    let mut closed = 0;
    for s in &mut held {
        let mut buf = [0u8; 1024];
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(15), s.read(&mut buf)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, held.len());

    // An idle keep-alive connection is closed after the header time too.
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let eof = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("the idle connection is closed");
    assert!(matches!(eof, Ok(0) | Err(_)));
}

#[tokio::test]
async fn shutdown_ends_event_streams_and_exits_in_bounded_time() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    // A long grace: were the stream not ended, the process would wait it out.
    let mut server =
        ServerProcess::start_with(&db, &["--shutdown-grace", "60", "--header-timeout", "90"]).await;
    let token = add_user_to(&db.pool, "console", Role::Dispatcher).await;
    let mut events = subscribe(&format!("{}/api/v1/events", server.base), &token).await;
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let _held = half_open(addr, 3).await;
    // Connections are accepted in turn: once a later one is served, the
    // half-open ones are the server's to close, not the listen queue's.
    let health = reqwest::get(format!("{}/health", server.base))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let pid = server.child.id().expect("running");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The server ends the stream properly (its last chunk, not a reset) …
    assert!(events.ended().await, "the event stream was ended");
    // … and exits by itself long before the grace runs out, though the
    // stream's client and the half-open connections stay.
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("citygrid serve exits after SIGTERM without waiting out the grace")
        .unwrap();
    assert!(status.success(), "{status:?}");
}
