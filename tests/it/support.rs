//! Test harness: fresh databases from templates, the real app on port 0, and
//! small city directories written on the fly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection, PgPool};

pub use citygrid::clock::Clock;
pub use citygrid::domain::workflow::Role;
use citygrid::store::users::{Kiosk, NewUser, User, UserError};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn database_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL must point at a PostgreSQL server with PostGIS (scripts/test.sh sets it)",
    )
}

/// The same server URL with another database name.
pub fn url_for(db: &str) -> String {
    let url = database_url();
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b.to_owned(), format!("?{q}")),
        None => (url.clone(), String::new()),
    };
    let (server, _) = base
        .rsplit_once('/')
        .expect("DATABASE_URL has a database name");
    format!("{server}/{db}{query}")
}

/// What a template is built from: the migrations and this build of the tests
/// (whose import builds the sample city).
fn template_key() -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir("migrations")
        .expect("migrations/")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(std::fs::read(f).expect("migration file"));
    }
    // The sample city's template is built by this build's import: a new build
    // (of the import, say) gets a new template.
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .expect("the test binary");
    h.update(format!("{:?} {}", exe.modified().ok(), exe.len()));
    h.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
pub enum Template {
    /// Migrated, no data.
    Empty,
    /// Migrated, with `gis-data/` imported.
    SampleCity,
}

async fn admin() -> Result<PgConnection> {
    PgConnection::connect(&url_for("postgres"))
        .await
        .context("connecting as admin")
}

/// Creates the template once per build; concurrent tests wait on an advisory lock.
async fn template(kind: Template) -> Result<String> {
    let name = match kind {
        Template::Empty => format!("citygrid_tpl_{}_empty", template_key()),
        Template::SampleCity => format!("citygrid_tpl_{}_city", template_key()),
    };
    let mut conn = admin().await?;
    sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
        .bind(&name)
        .execute(&mut conn)
        .await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        // Templates of earlier builds, unless a test of theirs still runs.
        let stale: Vec<String> = sqlx::query_scalar(
            "SELECT datname FROM pg_database WHERE datname LIKE 'citygrid\\_tpl\\_%' AND datname NOT LIKE $1",
        )
        .bind(format!("citygrid_tpl_{}%", template_key()))
        .fetch_all(&mut conn)
        .await?;
        for db in stale {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
                .execute(&mut conn)
                .await;
        }
        let building = format!("{name}_build");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await?;
        let source = match kind {
            Template::Empty => "template1".to_owned(),
            Template::SampleCity => Box::pin(template(Template::Empty)).await?,
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {building} TEMPLATE {source}"
        )))
        .execute(&mut conn)
        .await?;
        let pool = citygrid::store::connect(&url_for(&building), 4).await?;
        citygrid::store::prepare(&pool).await?;
        if kind == Template::SampleCity {
            let report =
                citygrid::import::import_dir(&pool, Path::new("gis-data"), Default::default())
                    .await?;
            anyhow::ensure!(
                report.committed,
                "sample city import failed: {:?}",
                report.errors
            );
        }
        pool.close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {building} RENAME TO {name}"
        )))
        .execute(&mut conn)
        .await?;
    }
    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind(&name)
        .execute(&mut conn)
        .await?;
    Ok(name)
}

/// A fresh database of its own for one test.
pub struct TestDb {
    pub pool: PgPool,
    pub name: String,
}

impl TestDb {
    pub async fn new(kind: Template) -> Result<Self> {
        let tpl = template(kind).await?;
        let name = format!(
            "citygrid_t_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut conn = admin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {tpl}"
        )))
        .execute(&mut conn)
        .await?;
        let pool = citygrid::store::connect(&url_for(&name), 8).await?;
        citygrid::store::prepare(&pool).await?;
        Ok(Self { pool, name })
    }

    pub async fn drop_db(self) -> Result<()> {
        self.pool.close().await;
        let mut conn = admin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await?;
        Ok(())
    }

    /// A content fingerprint of a table (every row, in order).
    pub async fn fingerprint(&self, table: &str) -> String {
        sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(format!(
            "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"
        )))
        .fetch_one(&self.pool)
        .await
        .expect("fingerprint")
        .unwrap_or_default()
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }
}

/// The real app, served over HTTP on a free port.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub clock: Clock,
    pub media: CityDir,
}

/// The instant every test starts at: `CITYGRID_TEST_NOW` (RFC 3339), else
/// Wednesday 2026-11-25 10:00 China Standard Time, inside working hours.
/// scripts/test.sh runs the time-sensitive tests again at 22:00 and on a Sunday,
/// so that the suite's answer never depends on when CI runs it.
pub fn test_now() -> chrono::DateTime<chrono::Utc> {
    let at = std::env::var("CITYGRID_TEST_NOW")
        .unwrap_or_else(|_| "2026-11-25T10:00:00+08:00".to_owned());
    chrono::DateTime::parse_from_rfc3339(&at)
        .unwrap_or_else(|e| panic!("CITYGRID_TEST_NOW={at}: {e}"))
        .with_timezone(&chrono::Utc)
}

impl TestApp {
    /// On a fixed clock at [`test_now`].
    pub async fn spawn(db: TestDb) -> Result<Self> {
        Self::spawn_with(db, Clock::fixed(test_now())).await
    }

    /// On a clock the test moves; overdue stages are swept every 50 ms.
    pub async fn spawn_with(db: TestDb, clock: Clock) -> Result<Self> {
        Self::spawn_with_options(db, clock, Default::default()).await
    }

    /// Without rate limits: for tests that send thousands of anonymous
    /// requests to check answers, not limits.
    pub async fn spawn_unlimited(db: TestDb) -> Result<Self> {
        let unlimited = citygrid::http::rate::Rate {
            burst: f64::MAX,
            per_second: f64::MAX,
        };
        let opts = citygrid::http::ServeOptions {
            rate_limits: citygrid::http::rate::RateLimits {
                anonymous: unlimited,
                kiosk: unlimited,
                sign_in_per_login: unlimited,
                sign_in_per_address: unlimited,
            },
            ..Default::default()
        };
        Self::spawn_with_options(db, Clock::fixed(test_now()), opts).await
    }

    /// With other options (limits) than the defaults.
    pub async fn spawn_with_options(
        db: TestDb,
        clock: Clock,
        opts: citygrid::http::ServeOptions,
    ) -> Result<Self> {
        let media = CityDir::new();
        let opts = citygrid::http::ServeOptions {
            media_dir: media.path().to_owned(),
            clock: clock.clone(),
            sweep_every: std::time::Duration::from_millis(50),
            ..opts
        };
        // The pool a server answers from, with its time limits.
        let pool = citygrid::store::connect_for_serving(&url_for(&db.name), 8).await?;
        let state = citygrid::http::AppState::load(pool, opts).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = citygrid::http::serve_on(listener, state, std::future::pending()).await;
        });
        Ok(Self {
            addr,
            client: reqwest::Client::new(),
            db,
            clock,
            media,
        })
    }

    /// A new user of `role` (bound to `department` for departments); their token.
    pub async fn user(&self, role: Role, department: Option<&str>) -> String {
        let kiosk = (role == Role::Kiosk).then(|| Kiosk {
            id: "kiosk-1".into(),
            lon: 107.0,
            lat: 34.0,
        });
        self.user_with(role, department, kiosk).await
    }

    pub async fn user_with(
        &self,
        role: Role,
        department: Option<&str>,
        kiosk: Option<Kiosk>,
    ) -> String {
        let (_, token) = add_user(
            &self.db.pool,
            NewUser {
                patrol: Vec::new(),
                login: None,
                password: None,
                name: format!("{role:?}"),
                role,
                department: department.map(str::to_owned),
                kiosk,
            },
        )
        .await
        .expect("add user");
        token.expect("a user without a password has a token")
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    }

    pub async fn get_as(&self, path: &str, token: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    }

    /// Takes `action` on a case at `version`, with extra body fields.
    pub async fn act(
        &self,
        token: &str,
        case_no: &str,
        action: &str,
        version: i64,
        extra: Value,
    ) -> (u16, Value) {
        let mut body = serde_json::json!({"action": action, "expected_version": version});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        self.post(&format!("/api/v1/cases/{case_no}/actions"), token, &body)
            .await
    }

    /// Uploads a tiny PNG with `seed` in it (distinct seeds → distinct photos).
    pub async fn photo(&self, token: &str, seed: u8) -> String {
        let png = png_picture(4, 4, seed);
        let resp = self
            .client
            .post(self.url("/api/v1/media"))
            .bearer_auth(token)
            .header("Content-Type", "image/png")
            .body(png)
            .send()
            .await
            .expect("upload");
        assert_eq!(resp.status().as_u16(), 201);
        let v: Value = resp.json().await.unwrap();
        v["id"].as_str().unwrap().to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }
}

/// A port nobody listens on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// The slippy-map tile `(x, y)` holding a point at zoom `z`.
pub fn tile_of(z: u32, lon: f64, lat: f64) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor()
        as u32;
    (x, y)
}

/// A new user of `role` straight in the store (for tests without a TestApp); the token.
pub async fn add_user_to(pool: &PgPool, name: &str, role: Role) -> String {
    add_user(
        pool,
        NewUser {
            patrol: Vec::new(),
            login: None,
            password: None,
            name: name.into(),
            role,
            department: None,
            kiosk: None,
        },
    )
    .await
    .expect("add user")
    .1
    .expect("a user without a password has a token")
}

/// Adds a user as the command line does, at the test's instant.
pub async fn add_user(pool: &PgPool, new: NewUser) -> Result<(User, Option<String>), UserError> {
    citygrid::store::users::add_user(
        pool,
        &citygrid::store::audit::Actor::command_line(),
        new,
        test_now(),
    )
    .await
}

/// The password of every person [`add_person`] makes.
pub const PASSWORD: &str = "correct horse battery";

/// A person who signs in as `login` with [`PASSWORD`].
pub async fn add_person(pool: &PgPool, login: &str, role: Role, department: Option<&str>) {
    add_user(
        pool,
        NewUser {
            patrol: Vec::new(),
            login: Some(login.into()),
            password: Some(PASSWORD.into()),
            name: format!("{login} ({role:?})"),
            role,
            department: department.map(str::to_owned),
            kiosk: None,
        },
    )
    .await
    .expect("add person");
}

/// `POST /api/v1/session` at `base` with a login and password.
pub async fn sign_in(base: &str, login: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({ "login": login, "password": password }))
        .send()
        .await
        .expect("sign in")
}

/// Signs `login` in with [`PASSWORD`]: the `citygrid_session=…` cookie.
pub async fn session_cookie(base: &str, login: &str) -> String {
    let resp = sign_in(base, login, PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 200, "sign in as {login}");
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

/// A real `w`×`h` grey PNG.
pub fn png_picture(w: u32, h: u32, grey: u8) -> Vec<u8> {
    png_padded(w, h, grey, 0)
}

/// A real PNG of exactly `bytes` bytes (a text chunk fills it up).
pub fn png_of_size(bytes: usize) -> Vec<u8> {
    let base = png_padded(8, 8, 1, 0).len();
    let png = png_padded(8, 8, 1, bytes - base);
    assert_eq!(png.len(), bytes);
    png
}

fn png_padded(w: u32, h: u32, grey: u8, pad: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Grayscale);
    if pad > 0 {
        // A tEXt chunk: 12 bytes of framing, "pad", a NUL, then the text.
        encoder
            .add_text_chunk("pad".into(), "x".repeat(pad - 12 - 4))
            .expect("text chunk");
    }
    let mut writer = encoder.write_header().expect("png header");
    writer
        .write_image_data(&vec![grey; (w * h) as usize])
        .expect("png data");
    writer.finish().expect("png end");
    out
}

/// A scratch directory for city files.
pub struct CityDir(pub PathBuf);

impl CityDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "citygrid-it-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    pub fn write(&self, file: &str, text: &str) -> &Self {
        std::fs::write(self.0.join(file), text).expect("write city file");
        self
    }

    pub fn remove(&self, file: &str) -> &Self {
        let _ = std::fs::remove_file(self.0.join(file));
        self
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for CityDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// GeoJSON text for a FeatureCollection of (geometry, properties) pairs.
pub fn collection(features: &[(Value, Value)]) -> String {
    let features: Vec<Value> = features
        .iter()
        .map(|(g, p)| serde_json::json!({"type": "Feature", "geometry": g, "properties": p}))
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features}).to_string()
}

/// A closed axis-aligned rectangle polygon.
pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    serde_json::json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

pub fn point(x: f64, y: f64) -> Value {
    serde_json::json!({"type": "Point", "coordinates": [x, y]})
}

/// A small valid city: two communities, three grids, one component.
/// C1 610302001001 = [107.000, 107.002] × [34.000, 34.001] holds grids 001 and 002;
/// C2 610302001002 = [107.002, 107.004] × [34.000, 34.001] holds grid 001.
pub fn mini_city() -> CityDir {
    let dir = CityDir::new();
    dir.write(
        "departments.csv",
        "code,name,phone\nwater-co,自来水公司,0917-1\nurban-mgmt,城管局,0917-2\n",
    );
    dir.write(
        "classes.csv",
        &std::fs::read_to_string("gis-data/classes.csv").expect("classes.csv"),
    );
    dir.write(
        "communities.geojson",
        &collection(&[
            (
                rect(107.0, 34.0, 107.002, 34.001),
                serde_json::json!({"code": "610302001001", "name": "一社区"}),
            ),
            (
                rect(107.002, 34.0, 107.004, 34.001),
                serde_json::json!({"code": "610302001002", "name": "二社区"}),
            ),
        ]),
    );
    dir.write("grids.geojson", &mini_grids(&[]));
    dir.write(
        "components.geojson",
        &collection(&[(
            point(107.0005, 34.0005),
            component("6103020101000001", "0101", "water-co"),
        )]),
    );
    dir.write(
        "routing.csv",
        "kind,class,area,department\nevent,*,*,urban-mgmt\ncomponent,01,610302,water-co\n",
    );
    for file in ["sla.csv", "case_rules.csv", "calendar.toml"] {
        dir.write(
            file,
            &std::fs::read_to_string(format!("gis-data/{file}")).expect("gis-data"),
        );
    }
    dir
}

/// The mini city's three grids, with `extra` features appended.
pub fn mini_grids(extra: &[(Value, Value)]) -> String {
    let mut features = vec![
        (
            rect(107.0, 34.0, 107.001, 34.001),
            serde_json::json!({"code": "610302001001001", "name": "G1"}),
        ),
        (
            rect(107.001, 34.0, 107.002, 34.001),
            serde_json::json!({"code": "610302001001002", "name": "G2"}),
        ),
        (
            rect(107.002, 34.0, 107.004, 34.001),
            serde_json::json!({"code": "610302001002001", "name": "G3"}),
        ),
    ];
    features.extend_from_slice(extra);
    collection(&features)
}

pub fn component(code: &str, class: &str, dept: &str) -> Value {
    serde_json::json!({"code": code, "class": class, "name": "井盖", "dept_competent": dept, "dept_owner": dept, "dept_maintainer": "", "state": "intact"})
}

/// Points inside `n` unit grids of the city, ≥ 10 grids apart in code order
/// (so reports at two of them are never duplicates of each other).
pub async fn grid_points(db: &TestDb, n: i64) -> Vec<(String, f64, f64)> {
    sqlx::query_as(
        "SELECT code, ST_X(p), ST_Y(p) FROM (
             SELECT code, ST_PointOnSurface(geom) AS p, row_number() OVER (ORDER BY code) AS i FROM grids
         ) g WHERE i % 10 = 1 ORDER BY code LIMIT $1",
    )
    .bind(n)
    .fetch_all(&db.pool)
    .await
    .expect("grid points")
}

/// Puts the running stages of the cases `which` picks (SQL over `case_id`)
/// an hour past their deadline at `now`, on the stages and on the cases'
/// copy of it (migration 0020), as if they had been that late; how many.
/// The next light sweep (every 50 ms in tests) turns them red on the map.
pub async fn put_past_deadline(
    db: &TestDb,
    which: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> i64 {
    let sql = format!(
        "WITH s AS (UPDATE case_stages SET due_at = $1 - interval '1 hour'
                    WHERE done_at IS NULL AND ({which}) RETURNING case_id, due_at),
              c AS (UPDATE cases c SET due_at = s.due_at FROM s WHERE c.id = s.case_id RETURNING 1)
         SELECT count(*) FROM s"
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .fetch_one(&db.pool)
        .await
        .expect("past the deadline")
}

/// `n` components of `class`: code, competent department, lon, lat.
pub async fn components_of(db: &TestDb, class: &str, n: i64) -> Vec<(String, String, f64, f64)> {
    sqlx::query_as(
        "SELECT code, dept_competent, ST_X(geom), ST_Y(geom) FROM components
         WHERE class = $1 ORDER BY code LIMIT $2",
    )
    .bind(class)
    .bind(n)
    .fetch_all(&db.pool)
    .await
    .expect("components")
}

/// An event report body at a point.
pub fn event_report(key: &str, class: &str, lon: f64, lat: f64) -> Value {
    serde_json::json!({"client_key": key, "kind": "event", "class": class, "lon": lon, "lat": lat, "description": "暴露垃圾 exposed garbage"})
}

/// The case number and version of a report/action response.
pub fn case_of(body: &Value) -> (String, i64) {
    (
        body["case"]["case_no"]
            .as_str()
            .unwrap_or_else(|| panic!("no case in {body}"))
            .to_owned(),
        body["case"]["version"].as_i64().unwrap(),
    )
}

/// A Server-Sent Events subscription to `/api/v1/events`.
pub struct EventStream {
    resp: reqwest::Response,
    buf: String,
}

impl TestApp {
    /// Subscribes and waits for the `ready` event (from then on nothing is missed).
    pub async fn events(&self, token: &str) -> EventStream {
        subscribe(&self.url("/api/v1/events"), token).await
    }
}

/// Subscribes with a bearer token, or none when `token` is empty.
/// `credential`: a bearer token, or a session cookie (`citygrid_session=…`).
pub async fn subscribe(url: &str, credential: &str) -> EventStream {
    let mut req = reqwest::Client::new().get(url);
    if credential.starts_with("citygrid_session=") {
        req = req.header("Cookie", credential);
    } else if !credential.is_empty() {
        req = req.bearer_auth(credential);
    }
    let resp = req.send().await.expect("subscribe");
    assert_eq!(resp.status().as_u16(), 200);
    let mut s = EventStream {
        resp,
        buf: String::new(),
    };
    let (kind, _) = s.next().await;
    assert_eq!(kind, "ready");
    s
}

impl EventStream {
    /// The next event: its name and JSON data (10 s at most).
    pub async fn next(&mut self) -> (String, Value) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                return (name, serde_json::from_str(&data).unwrap_or(Value::Null));
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .expect("no event within 10 s")
                .expect("event stream")
                .expect("event stream ended");
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Whether the server ends the stream properly (the last chunk, not a
    /// broken connection) within 10 s; events before the end are skipped.
    pub async fn ended(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Err(_) | Ok(Err(_)) => return false,
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) => return true,
            }
        }
    }

    /// The next event about case `case_no`, skipping others.
    pub async fn next_for(&mut self, case_no: &str) -> (String, Value) {
        loop {
            let (name, data) = self.next().await;
            if data["case_no"] == case_no {
                return (name, data);
            }
        }
    }
}

/// A second server: the real binary, on the same database.
pub struct ServerProcess {
    pub child: tokio::process::Child,
    pub base: String,
    _media: CityDir,
}

impl ServerProcess {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(db, &[]).await
    }

    /// With extra `citygrid serve` arguments.
    pub async fn start_with(db: &TestDb, args: &[&str]) -> Self {
        Self::launch(&url_for(&db.name), free_port(), args).await
    }

    /// `citygrid serve` on database `url` and `port`, once it is ready.
    pub async fn launch(url: &str, port: u16, args: &[&str]) -> Self {
        let media = CityDir::new();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_citygrid"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .arg("--media-dir")
            .arg(media.path())
            .args(args)
            .env("DATABASE_URL", url)
            .env("CITYGRID_FIXED_CLOCK", test_now().to_rfc3339())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start citygrid serve");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = client.get(format!("{base}/ready")).send().await
                && r.status().is_success()
            {
                return Self {
                    child,
                    base,
                    _media: media,
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the second server did not become ready within a minute");
    }
}

/// A PostgreSQL cluster of the test's own, to stop and start.
pub struct OwnCluster {
    dir: std::path::PathBuf,
    port: u16,
}

impl OwnCluster {
    fn bin(tool: &str) -> std::path::PathBuf {
        // scripts/test.sh says where the server binaries are.
        let dir = std::env::var("CITYGRID_PG_BIN")
            .unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
        std::path::Path::new(&dir).join(tool)
    }

    /// A server tool, run as the postgres user when we are root.
    fn command(tool: &str) -> std::process::Command {
        if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(Self::bin(tool));
            c
        } else {
            std::process::Command::new(Self::bin(tool))
        }
    }

    fn run(tool: &str, args: &[&str]) {
        let out = Self::command(tool)
            .args(args)
            .output()
            .expect("PostgreSQL server tools");
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A directory of its own, owned by the server's user.
    fn new_dir() -> std::path::PathBuf {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("citygrid-own-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            let ok = std::process::Command::new("chown")
                .args(["postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(ok.success());
        }
        dir
    }

    /// A `citygrid` database on this cluster with the mini city imported:
    /// its pool (migrated).
    pub async fn mini_city_database(&self) -> PgPool {
        let admin = citygrid::store::connect(&self.url("postgres"), 1)
            .await
            .unwrap();
        sqlx::query("CREATE DATABASE citygrid")
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let pool = citygrid::store::connect(&self.url("citygrid"), 4)
            .await
            .unwrap();
        citygrid::store::prepare(&pool).await.unwrap();
        let city = mini_city();
        let report = citygrid::import::import_dir(&pool, city.path(), Default::default())
            .await
            .unwrap();
        assert!(report.committed, "{:?}", report.errors);
        pool
    }

    /// A new cluster, started.
    pub fn create() -> Self {
        let dir = Self::new_dir();
        let port = free_port();
        let data = dir.join("data");
        Self::run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ],
        );
        let c = Self { dir, port };
        c.start();
        c
    }

    /// A streaming replica of `primary` (`pg_basebackup -R`), started: a hot
    /// standby that replays what the primary commits.
    pub fn replica_of(primary: &OwnCluster) -> Self {
        let dir = Self::new_dir();
        let data = dir.join("data");
        Self::run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-D",
                data.to_str().unwrap(),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
        );
        let c = Self {
            dir,
            port: free_port(),
        };
        c.start();
        c
    }

    pub fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let data = self.dir.join("data");
        let log = self.dir.join("log");
        Self::run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &opts,
                "-w",
                "start",
            ],
        );
    }

    pub fn stop(&self) {
        let data = self.dir.join("data");
        Self::run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = Self::command("pg_ctl")
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// An administrator's session at `base`: requests with the cookie and the page's origin.
pub struct AdminSession {
    pub base: String,
    pub cookie: String,
    http: reqwest::Client,
}

impl AdminSession {
    pub async fn signed_in(base: &str, pool: &sqlx::PgPool) -> Self {
        add_person(pool, "root", Role::Admin, None).await;
        Self {
            base: base.to_owned(),
            cookie: session_cookie(base, "root").await,
            http: reqwest::Client::new(),
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .header("Origin", &self.base);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}
