//! Accounts: signing in with a password, sessions that end (idle, absolute,
//! sign-out, disabling — on every server), cross-site writes refused, failed
//! sign-ins slowed, and machine tokens that expire and are revoked.

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::*;
use citygrid::domain::workflow::Role;

/// `citygrid ARGS…` against `db`, with `stdin`; its standard output.
fn cli(db: &TestDb, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_citygrid"))
        .args(args)
        .env("DATABASE_URL", url_for(&db.name))
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "citygrid {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `GET /api/v1/me` at `base` with a cookie or a bearer token: status and body.
async fn me(base: &str, credential: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(format!("{base}/api/v1/me"));
    req = if credential.contains("citygrid_session=") {
        req.header("Cookie", credential)
    } else {
        req.bearer_auth(credential)
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_person_signs_in_with_a_password_and_out_again() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);
    // Added on the command line, the password from standard input.
    let out = cli(
        &app.db,
        &[
            "user",
            "add",
            "--login",
            "wang.fang",
            "--name",
            "王芳",
            "--role",
            "operator",
            "--password-stdin",
        ],
        "a long enough secret\n",
    );
    assert!(out.contains("wang.fang"), "{out}");
    assert!(
        !out.contains("cg_"),
        "no token is printed for a person: {out}"
    );

    let resp = sign_in(&base, "Wang.Fang", "a long enough secret").await;
    assert_eq!(resp.status().as_u16(), 200);
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    assert!(!set.contains("Secure"), "no TLS here: {set}");
    let user: Value = resp.json().await.unwrap();
    assert_eq!(user["login"], "wang.fang");
    assert_eq!(user["role"], "operator");
    let cookie = set.split(';').next().unwrap().to_owned();
    let (status, body) = me(&base, &cookie).await;
    assert_eq!((status, body["name"].as_str()), (200, Some("王芳")));
    // Only a hash of the cookie is stored.
    let secret = cookie.trim_start_matches("citygrid_session=");
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions WHERE secret_sha256 LIKE '%' || $1 || '%'",
    )
    .bind(secret)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(stored, 0);
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE login = 'wang.fang'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    // Signing out needs the page's origin too; then the cookie is worth nothing.
    let out = app
        .client
        .delete(app.url("/api/v1/session"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 403, "a cross-site sign-out");
    let out = app
        .client
        .delete(app.url("/api/v1/session"))
        .header("Cookie", &cookie)
        .header("Origin", &base)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(me(&base, &cookie).await.0, 401);
    // A stale cookie is no caller: public routes still answer.
    let classes = app
        .client
        .get(app.url("/api/v1/classes"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(classes.status().as_u16(), 200);
    app.db.drop_db().await.unwrap();
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_login_get_the_same_answer_then_429() {
    // The address's allowance does not refill while the test runs, however slow.
    let defaults = citygrid::http::rate::RateLimits::default();
    let opts = citygrid::http::ServeOptions {
        rate_limits: citygrid::http::rate::RateLimits {
            sign_in_per_address: citygrid::http::rate::Rate {
                per_second: 1e-4,
                ..defaults.sign_in_per_address
            },
            ..defaults
        },
        ..Default::default()
    };
    let app = TestApp::spawn_with_options(
        TestDb::new(Template::SampleCity).await.unwrap(),
        citygrid::clock::Clock::fixed(test_now()),
        opts,
    )
    .await
    .unwrap();
    let base = format!("http://{}", app.addr);
    add_person(&app.db.pool, "li.si", Role::Dispatcher, None).await;
    add_person(&app.db.pool, "zhao.liu", Role::Dispatcher, None).await;

    let answer = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        let retry = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
        (status, retry, resp.json::<Value>().await.unwrap())
    };
    let wrong = answer(sign_in(&base, "li.si", "not the password").await).await;
    let unknown = answer(sign_in(&base, "nobody", "not the password").await).await;
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong.2["error"]["code"], "invalid_credentials");
    assert_eq!(wrong, unknown, "the same answer for an unknown login");

    // Five failures for a login, then 429 — the right password too.
    for _ in 0..4 {
        assert_eq!(
            sign_in(&base, "li.si", "guess").await.status().as_u16(),
            401
        );
    }
    let (status, retry, body) = answer(sign_in(&base, "li.si", PASSWORD).await).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "too_many_sign_in_attempts");
    assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "{retry:?}");
    // Another login from the same address still signs in.
    assert_eq!(
        sign_in(&base, "zhao.liu", PASSWORD).await.status().as_u16(),
        200
    );
    // One address trying many logins meets its own limit (20 failures).
    let mut statuses = Vec::new();
    for i in 0..20 {
        statuses.push(
            sign_in(&base, &format!("guess-{i}"), "x")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        6,
        "{statuses:?}"
    );
    let resp = sign_in(&base, "zhao.liu", PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 429);

    // Not a login and password: 422; malformed JSON: 400; a long login: 422.
    for (body, status) in [("{\"login\":\"li.si\"}", 422), ("{\"login\":", 400)] {
        let resp = app
            .client
            .post(app.url("/api/v1/session"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{body}");
    }
    app.db.drop_db().await.unwrap();
}

#[tokio::test]
async fn guesses_sent_all_at_once_meet_the_same_limit() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);
    // Twelve at once for one login: five are checked, the rest refused.
    add_person(&app.db.pool, "wu.qi", Role::Dispatcher, None).await;
    let burst = futures_util::future::join_all(
        (0..12).map(|_| sign_in(&base, "wu.qi", "a guess in parallel")),
    )
    .await;
    let statuses: Vec<u16> = burst.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        7,
        "{statuses:?}"
    );

    // The right password, once the burst is over, is refused too: the login waits.
    assert_eq!(
        sign_in(&base, "wu.qi", PASSWORD).await.status().as_u16(),
        429
    );
    app.db.drop_db().await.unwrap();
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_their_lifetime_on_the_fixed_clock() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);
    add_person(&app.db.pool, "console", Role::Dispatcher, None).await;
    add_person(&app.db.pool, "phone", Role::Inspector, None).await;
    let console = session_cookie(&base, "console").await;
    let phone = session_cookie(&base, "phone").await;

    // Used every 25 minutes, the console stays signed in.
    for _ in 0..3 {
        app.clock.advance(Duration::minutes(25));
        assert_eq!(me(&base, &console).await.0, 200);
    }
    // 31 minutes idle: the console session is over; the phone's is not.
    app.clock.advance(Duration::minutes(31));
    assert_eq!(me(&base, &console).await.0, 401);
    assert_eq!(me(&base, &phone).await.0, 200);
    // The phone, used every few hours, ends at the shift's 12 hours.
    app.clock.advance(Duration::hours(5));
    assert_eq!(me(&base, &phone).await.0, 200);
    app.clock.advance(Duration::hours(5));
    assert_eq!(me(&base, &phone).await.0, 200);
    app.clock.advance(Duration::minutes(30));
    assert_eq!(me(&base, &phone).await.0, 401, "past the absolute lifetime");
    app.db.drop_db().await.unwrap();
}

#[tokio::test]
async fn writes_with_the_cookie_must_come_from_our_own_pages() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);
    add_person(&app.db.pool, "patrol", Role::Inspector, None).await;
    let cookie = session_cookie(&base, "patrol").await;
    let p = grid_points(&app.db, 3).await;
    let report = |key: &str, i: usize| event_report(key, "0102", p[i].1, p[i].2);
    for (origin, key) in [(None, "csrf-1"), (Some("http://evil.example"), "csrf-2")] {
        let mut req = app
            .client
            .post(app.url("/api/v1/reports"))
            .header("Cookie", &cookie)
            .json(&report(key, 0));
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 403, "{origin:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "cross_site_request");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM cases")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing was taken");
    let resp = app
        .client
        .post(app.url("/api/v1/reports"))
        .header("Cookie", &cookie)
        .header("Origin", &base)
        .json(&report("csrf-3", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    // Another site's page cannot sign a browser in either.
    let resp = app
        .client
        .post(app.url("/api/v1/session"))
        .header("Origin", "http://evil.example")
        .json(&json!({"login": "patrol", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    app.db.drop_db().await.unwrap();
}

#[tokio::test]
async fn disabling_a_user_ends_sessions_and_tokens_on_every_server() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let a = ServerProcess::start(&db).await;
    let b = ServerProcess::start(&db).await;
    add_person(&db.pool, "leaver", Role::Inspector, None).await;
    let cookie = session_cookie(&a.base, "leaver").await;
    let token = cli(
        &db,
        &["token", "add", "--user", "leaver", "--name", "phone script"],
        "",
    )
    .trim()
    .to_owned();
    assert!(token.starts_with("cg_"), "{token}");
    assert_eq!(
        me(&b.base, &cookie).await.0,
        200,
        "a session works on every server"
    );
    assert_eq!(me(&b.base, &token).await.0, 200);

    cli(&db, &["user", "disable", "leaver"], "");
    for base in [&a.base, &b.base] {
        assert_eq!(me(base, &cookie).await.0, 401);
        assert_eq!(me(base, &token).await.0, 401);
        assert_eq!(
            sign_in(base, "leaver", PASSWORD).await.status().as_u16(),
            401
        );
    }
    let listed = cli(&db, &["user", "list"], "");
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("leaver") && l.contains("disabled")),
        "{listed}"
    );
    // Enabled again, they sign in anew; the old token stays revoked.
    cli(&db, &["user", "enable", "leaver"], "");
    assert_eq!(
        sign_in(&b.base, "leaver", PASSWORD).await.status().as_u16(),
        200
    );
    assert_eq!(me(&a.base, &token).await.0, 401);
    // A new password replaces the old.
    cli(
        &db,
        &["user", "set-password", "leaver", "--password-stdin"],
        "another long one\n",
    );
    assert_eq!(
        sign_in(&a.base, "leaver", PASSWORD).await.status().as_u16(),
        401
    );
    assert_eq!(
        sign_in(&a.base, "leaver", "another long one")
            .await
            .status()
            .as_u16(),
        200
    );
    drop((a, b));
    db.drop_db().await.unwrap();
}

#[tokio::test]
async fn machine_tokens_expire_and_are_revoked_on_every_server() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);
    let other = ServerProcess::start(&app.db).await;
    add_person(&app.db.pool, "hotline", Role::Operator, None).await;
    let pool = &app.db.pool;
    let now = test_now();
    let (_, expiring) = citygrid::store::tokens::add(
        pool,
        &citygrid::store::audit::Actor::command_line(),
        "hotline",
        "12345 bridge",
        Some(now + Duration::days(90)),
        now,
    )
    .await
    .unwrap();
    let (id, kept) = citygrid::store::tokens::add(
        pool,
        &citygrid::store::audit::Actor::command_line(),
        "hotline",
        "Open311 app",
        None,
        now,
    )
    .await
    .unwrap();
    for t in [&expiring, &kept] {
        assert_eq!(me(&base, t).await.0, 200);
        assert_eq!(me(&other.base, t).await.0, 200);
    }
    // 90 days on, the expiring one is refused; the other still works.
    app.clock.advance(Duration::days(90));
    let (status, body) = me(&base, &expiring).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    assert_eq!(me(&base, &kept).await.0, 200);
    // Revoked on the command line: refused by both servers at once.
    let listed = cli(&app.db, &["token", "list"], "");
    assert!(
        listed.contains("Open311 app") && !listed.contains(&kept),
        "{listed}"
    );
    cli(&app.db, &["token", "revoke", &id.to_string()], "");
    assert_eq!(me(&base, &kept).await.0, 401);
    assert_eq!(me(&other.base, &kept).await.0, 401);
    // Open311 refuses the revoked key too.
    let resp = reqwest::Client::new()
        .post(format!("{}/open311/v2/requests.json", other.base))
        .form(&[
            ("api_key", kept.as_str()),
            ("service_code", "event-0102"),
            ("lat", "34.36"),
            ("long", "107.17"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    drop(other);
    app.db.drop_db().await.unwrap();
}

#[tokio::test]
async fn accounts_refuse_bad_logins_short_passwords_and_taken_logins() {
    use citygrid::store::users::{NewUser, UserError};
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let person = |login: &str, password: &str| NewUser {
        patrol: Vec::new(),
        login: Some(login.into()),
        password: Some(password.into()),
        name: "张三".into(),
        role: Role::Inspector,
        department: None,
        kiosk: None,
    };
    let short = add_user(&db.pool, person("zhang.san", "short")).await;
    assert!(
        matches!(short, Err(UserError::PasswordTooShort)),
        "{short:?}"
    );
    let bad = add_user(&db.pool, person("zhang san", PASSWORD)).await;
    assert!(matches!(bad, Err(UserError::Login)), "{bad:?}");
    add_user(&db.pool, person("zhang.san", PASSWORD))
        .await
        .unwrap();
    let taken = add_user(&db.pool, person("ZHANG.SAN", PASSWORD)).await;
    assert!(matches!(taken, Err(UserError::LoginTaken(_))), "{taken:?}");
    db.drop_db().await.unwrap();
}

#[tokio::test]
async fn a_kiosk_is_enrolled_once_with_its_code_and_revoked_on_every_server() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let a = ServerProcess::start(&db).await;
    let b = ServerProcess::start(&db).await;
    let code = cli(
        &db,
        &[
            "kiosk",
            "add",
            "--id",
            "k-07",
            "--name",
            "金台区便民亭",
            "--lon",
            "107.15",
            "--lat",
            "34.37",
        ],
        "",
    )
    .trim()
    .to_owned();
    assert_eq!(code.len(), 16, "{code}");
    let enrol = |base: String, code: String| async move {
        reqwest::Client::new()
            .post(format!("{base}/api/v1/device/enrol"))
            .json(&json!({ "code": code }))
            .send()
            .await
            .unwrap()
    };
    // A wrong code: 422 in words, and no cookie.
    let wrong = enrol(a.base.clone(), "ABCDEFGHJKMNPQRS".into()).await;
    assert_eq!(wrong.status().as_u16(), 422);
    assert!(wrong.headers().get("set-cookie").is_none());
    // The right one (typed in lower case): a device cookie for a year.
    let resp = enrol(a.base.clone(), code.to_lowercase()).await;
    assert_eq!(resp.status().as_u16(), 200);
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("Max-Age=31536000"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let (status, kiosk) = me(&b.base, &cookie).await;
    assert_eq!(status, 200);
    assert_eq!(kiosk["role"], "kiosk");
    assert_eq!(kiosk["kiosk"]["id"], "k-07");
    // Once only.
    assert_eq!(
        enrol(b.base.clone(), code.clone()).await.status().as_u16(),
        422
    );

    cli(&db, &["kiosk", "revoke", "k-07"], "");
    for base in [&a.base, &b.base] {
        assert_eq!(me(base, &cookie).await.0, 401);
    }
    // A new code re-enables it: a replaced device enrols again.
    let again = cli(&db, &["kiosk", "enrol", "k-07"], "").trim().to_owned();
    let resp = enrol(b.base.clone(), again).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        me(&a.base, &cookie).await.0,
        401,
        "the revoked device stays out"
    );
    drop((a, b));
    db.drop_db().await.unwrap();
}

#[tokio::test]
async fn behind_tls_the_cookie_is_secure_and_host_only() {
    let opts = citygrid::http::ServeOptions {
        sessions: citygrid::http::auth::SessionPolicy {
            secure_cookie: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let app = TestApp::spawn_with_options(
        TestDb::new(Template::SampleCity).await.unwrap(),
        citygrid::clock::Clock::fixed(test_now()),
        opts,
    )
    .await
    .unwrap();
    let base = format!("http://{}", app.addr);
    add_person(&app.db.pool, "tls.user", Role::Operator, None).await;
    let resp = sign_in(&base, "tls.user", PASSWORD).await;
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.starts_with("__Host-citygrid_session=") && set.contains("; Secure"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let (status, _) = me(&base, &cookie).await;
    assert_eq!(status, 200);
    // The plain name (what a sibling subdomain could set) is not read.
    let plain = cookie.trim_start_matches("__Host-").to_owned();
    let resp = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Cookie", &plain)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    app.db.drop_db().await.unwrap();
}
