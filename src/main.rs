use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use citygrid::clock::Clock;
use citygrid::import::{ImportOptions, import_dir};
use citygrid::sample_city::{SampleOptions, write_sample_city};
use citygrid::store::audit::Actor;

#[derive(Parser)]
#[command(
    name = "citygrid",
    version,
    about = "City grid management and incident dispatch"
)]
struct Cli {
    /// PostgreSQL connection URL (PostGIS required).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "CITYGRID_LOG_JSON", global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (migrates the database and builds the index first).
    Serve {
        #[arg(long, env = "CITYGRID_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Where uploaded photos are stored (content-addressed).
        #[arg(long, env = "CITYGRID_MEDIA_DIR", default_value = "media")]
        media_dir: PathBuf,
        /// The built web map.
        #[arg(long, env = "CITYGRID_WEB_DIR", default_value = "web-map/dist")]
        web_dir: PathBuf,
        /// A base map style URL (MapLibre style JSON) for deployments with internet.
        #[arg(long, env = "CITYGRID_BASEMAP_STYLE")]
        basemap_style: Option<String>,
        /// Seconds between sweeps: overdue stages, the map's lights, the
        /// evaluation's sums. Short, so that each sweep's work is small: with
        /// 30 s, folding half a minute of reports at once held intake's p99
        /// at 160 ms–1.3 s (250 reports/s offered), with 5 s at 15–29 ms.
        #[arg(long, env = "CITYGRID_SWEEP_SECONDS", default_value_t = 5)]
        sweep_seconds: u64,
        /// Open connections at most (more wait in the listen queue).
        #[arg(long, env = "CITYGRID_MAX_CONNECTIONS", default_value_t = 512)]
        max_connections: usize,
        /// Seconds a client has to send a request's headers; idle keep-alive
        /// connections close after as long.
        #[arg(long, env = "CITYGRID_HEADER_TIMEOUT", default_value_t = 10)]
        header_timeout: u64,
        /// Seconds in-flight requests get to finish on SIGTERM.
        #[arg(long, env = "CITYGRID_SHUTDOWN_GRACE", default_value_t = 10)]
        shutdown_grace: u64,
        /// Open connections from one client address at most (not applied with
        /// --trust-forwarded-for: behind a proxy every connection is the proxy's).
        #[arg(
            long,
            env = "CITYGRID_MAX_CONNECTIONS_PER_ADDRESS",
            default_value_t = 64
        )]
        max_connections_per_address: usize,
        /// Seconds a client may read nothing of an answer before it is dropped.
        #[arg(long, env = "CITYGRID_WRITE_TIMEOUT", default_value_t = 30)]
        write_timeout: u64,
        /// Behind a reverse proxy: rate-limit anonymous callers by the address
        /// the proxy appends to X-Forwarded-For.
        #[arg(long, env = "CITYGRID_TRUST_FORWARDED_FOR")]
        trust_forwarded_for: bool,
        /// Minutes without a request before a console session ends.
        #[arg(long, env = "CITYGRID_SESSION_IDLE_MINUTES", default_value_t = 30)]
        session_idle_minutes: i64,
        /// Hours without a request before an inspector's phone session ends.
        #[arg(
            long,
            env = "CITYGRID_INSPECTOR_SESSION_IDLE_HOURS",
            default_value_t = 12
        )]
        inspector_session_idle_hours: i64,
        /// Hours after sign-in when every session ends.
        #[arg(long, env = "CITYGRID_SESSION_LIFETIME_HOURS", default_value_t = 12)]
        session_lifetime_hours: i64,
        /// Mark the session cookie Secure (served over TLS, e.g. behind a proxy).
        #[arg(long, env = "CITYGRID_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Run on a clock that stands still at this instant (RFC 3339): for
        /// tests and demonstrations that need a given working day and hour.
        #[arg(long, env = "CITYGRID_FIXED_CLOCK", hide = true)]
        fixed_clock: Option<chrono::DateTime<chrono::Utc>>,
        /// A PostgreSQL streaming replica of the database: tiles, evaluation,
        /// hotspots, exports and Open311 GETs are read from it while it
        /// answers (from the primary while it does not).
        #[arg(long, env = "CITYGRID_READ_DATABASE_URL", hide_env_values = true)]
        read_database_url: Option<String>,
    },
    /// Import city data from a directory in the import format.
    Import {
        dir: PathBuf,
        /// Reload every data set even when its file is unchanged.
        #[arg(long)]
        force: bool,
        /// Write the full report (every error and warning) as JSON to this file.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Import only into a database that holds no city yet (the first run),
        /// so that what was edited on the admin page since is kept.
        #[arg(long)]
        if_empty: bool,
    },
    /// Write the stored city data back in the import format (import → export →
    /// import changes nothing).
    Export { dir: PathBuf },
    /// Write the deterministic sample city in the import format.
    SampleCity {
        #[arg(long)]
        out: PathBuf,
        /// Multiply the city's size (20 gives ≥ 40,000 grids and ≥ 1M components).
        #[arg(long, default_value_t = 1)]
        scale: u32,
        #[arg(long, default_value_t = 2004)]
        seed: u64,
    },
    /// Manage users: people sign in with a password.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Manage street kiosks: add, enrol, revoke.
    Kiosk {
        #[command(subcommand)]
        action: KioskCommand,
    },
    /// Manage bearer tokens for machines (Open311 apps, bridges, scripts).
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Measure the index against PostGIS on the imported city.
    Bench {
        /// Random points for the index.
        #[arg(long, default_value_t = 1_000_000)]
        points: usize,
        /// Random points for PostGIS (slower; fewer are enough).
        #[arg(long, default_value_t = 5_000)]
        pg_points: usize,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user. With --password (asked for) or --password-stdin they sign
    /// in on the pages; without, a bearer token is printed (shown once; only
    /// a hash is stored).
    Add {
        /// The sign-in name (letters, digits, '.', '_', '-'); default user-ID.
        #[arg(long)]
        login: Option<String>,
        #[arg(long)]
        name: String,
        /// inspector, operator, dispatcher, department, kiosk or admin.
        #[arg(long)]
        role: String,
        /// The department a department user acts for.
        #[arg(long)]
        department: Option<String>,
        /// The areas an inspector patrols: district, street, community or grid
        /// codes, comma-separated (their cases to verify come first).
        #[arg(long, value_delimiter = ',')]
        patrol: Vec<String>,
        /// A kiosk's id, with its --lon and --lat.
        #[arg(long)]
        kiosk: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        lon: Option<f64>,
        #[arg(long, allow_hyphen_values = true)]
        lat: Option<f64>,
        #[command(flatten)]
        password: PasswordFrom,
    },
    /// Every user, disabled ones too.
    List,
    /// Disable a user: their sessions end and tokens are revoked at once.
    Disable { login: String },
    /// Let a disabled user sign in again.
    Enable { login: String },
    /// Set a user's password (asked for, or --password-stdin).
    SetPassword {
        login: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(clap::Args)]
struct PasswordFrom {
    /// Ask for a password.
    #[arg(long, conflicts_with = "password_stdin")]
    password: bool,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Add a token for a user and print it (shown once; only a hash is stored).
    Add {
        /// The owner's login.
        #[arg(long)]
        user: String,
        /// What it is for: "12345 hotline".
        #[arg(long)]
        name: String,
        /// Expires after this long: 90d, 12h.
        #[arg(long, value_parser = parse_lifetime)]
        expires: Option<chrono::Duration>,
    },
    /// Every token (never the token itself).
    List,
    /// Revoke a token at once, on every server.
    Revoke { id: i64 },
}

#[derive(Subcommand)]
enum KioskCommand {
    /// Add a kiosk and print its one-time enrolment code (24 h): open
    /// /kiosk#enrol=CODE on the kiosk's browser.
    Add {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
    },
    /// A new enrolment code (a replaced device); re-enables a revoked kiosk.
    Enrol { id: String },
    /// Revoke a kiosk: it shows "out of service" at once.
    Revoke { id: String },
}

fn parse_lifetime(s: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("{s:?}: a number of days or hours, like 90d or 12h");
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    match unit {
        "d" if (1..=3650).contains(&n) => Ok(chrono::Duration::days(n)),
        "h" if (1..=87600).contains(&n) => Ok(chrono::Duration::hours(n)),
        _ => Err(bad()),
    }
}

/// A password from the terminal (not echoed) or standard input.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("password: ")?;
        let again = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        first
    };
    Ok(password)
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn pool(url: Option<String>) -> anyhow::Result<sqlx::PgPool> {
    let url = url.context("DATABASE_URL is not set (or pass --database-url)")?;
    let pool = citygrid::store::connect(&url, 16).await?;
    citygrid::store::prepare(&pool).await?;
    Ok(pool)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    match cli.command {
        Command::Serve {
            bind,
            media_dir,
            web_dir,
            basemap_style,
            sweep_seconds,
            fixed_clock,
            max_connections,
            header_timeout,
            shutdown_grace,
            max_connections_per_address,
            write_timeout,
            trust_forwarded_for,
            session_idle_minutes,
            inspector_session_idle_hours,
            session_lifetime_hours,
            secure_cookies,
            read_database_url,
        } => {
            // Migrations run without the serving time limits; requests with them.
            let url = cli
                .database_url
                .context("DATABASE_URL is not set (or pass --database-url)")?;
            pool(Some(url.clone())).await?.close().await;
            let pool = citygrid::store::connect_for_serving(&url, 16).await?;
            let replica = read_database_url
                .map(|url| citygrid::store::connect_replica(&url, 16))
                .transpose()?;
            let opts = citygrid::http::ServeOptions {
                media_dir,
                web_dir,
                basemap_style,
                sweep_every: std::time::Duration::from_secs(sweep_seconds.max(1)),
                clock: fixed_clock.map_or_else(Clock::system, Clock::fixed),
                trust_forwarded_for,
                connections: citygrid::http::server::ConnectionLimits {
                    max_connections,
                    header_timeout: std::time::Duration::from_secs(header_timeout.max(1)),
                    shutdown_grace: std::time::Duration::from_secs(shutdown_grace),
                    per_address: if trust_forwarded_for {
                        0
                    } else {
                        max_connections_per_address
                    },
                    write_timeout: std::time::Duration::from_secs(write_timeout.max(1)),
                },
                sessions: citygrid::http::auth::SessionPolicy {
                    console_idle: chrono::Duration::minutes(session_idle_minutes.max(1)),
                    inspector_idle: chrono::Duration::hours(inspector_session_idle_hours.max(1)),
                    lifetime: chrono::Duration::hours(session_lifetime_hours.max(1)),
                    secure_cookie: secure_cookies,
                },
                replica,
                ..Default::default()
            };
            let state = citygrid::http::AppState::load(pool, opts).await?;
            citygrid::http::serve(state, bind).await?;
        }
        Command::Export { dir } => {
            let pool = pool(cli.database_url).await?;
            for (file, rows) in citygrid::export::export_dir(&pool, &dir).await? {
                println!("{file:>22}  {rows:>9} rows");
            }
        }
        Command::Import {
            dir,
            force,
            report,
            if_empty,
        } => {
            let pool = pool(cli.database_url).await?;
            if if_empty {
                let grids: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM grids)")
                    .fetch_one(&pool)
                    .await?;
                if grids {
                    println!(
                        "the database holds a city already: nothing imported (without --if-empty, {} would replace it)",
                        dir.display()
                    );
                    return Ok(());
                }
            }
            let started = std::time::Instant::now();
            let result = import_dir(&pool, &dir, ImportOptions { force }).await?;
            if let Some(path) = report {
                std::fs::write(&path, serde_json::to_vec_pretty(&result)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            print_import_report(&result, started.elapsed());
            if !result.committed {
                std::process::exit(1);
            }
        }
        Command::SampleCity { out, scale, seed } => {
            let summary = write_sample_city(&out, SampleOptions { scale, seed })?;
            println!(
                "sample city in {}: {} districts, {} streets, {} communities, {} grids, {} components, {} services, {} departments, {} routing rules; base map: {} roads, {} water, {} landmarks",
                out.display(),
                summary.districts,
                summary.streets,
                summary.communities,
                summary.grids,
                summary.components,
                summary.services,
                summary.departments,
                summary.routing_rules,
                summary.roads,
                summary.water,
                summary.landmarks
            );
        }
        Command::User { action } => {
            let pool = pool(cli.database_url).await?;
            user_command(&pool, action).await?;
        }
        Command::Kiosk { action } => {
            use citygrid::store::kiosks;
            let pool = pool(cli.database_url).await?;
            let now = Clock::system().now();
            let actor = Actor::command_line();
            let print_code = |id: &str, code: &str| {
                eprintln!("enrol kiosk {id} within 24 h: on its browser open /kiosk#enrol={code}");
                println!("{code}");
            };
            match action {
                KioskCommand::Add { id, name, lon, lat } => {
                    let (_, code) = kiosks::add(&pool, &actor, &id, &name, lon, lat, now).await?;
                    print_code(&id, &code);
                }
                KioskCommand::Enrol { id } => {
                    let code = kiosks::new_enrolment(&pool, &actor, &id, now).await?;
                    print_code(&id, &code);
                }
                KioskCommand::Revoke { id } => {
                    kiosks::revoke(&pool, &actor, &id, now).await?;
                    println!("kiosk {id} is revoked: it shows \"out of service\"");
                }
            }
        }
        Command::Token { action } => {
            let pool = pool(cli.database_url).await?;
            token_command(&pool, action).await?;
        }
        Command::Bench { points, pg_points } => {
            let pool = pool(cli.database_url).await?;
            let report = citygrid::bench::run(&pool, points, pg_points).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    }
    Ok(())
}

async fn user_command(pool: &sqlx::PgPool, action: UserCommand) -> anyhow::Result<()> {
    use citygrid::store::users::{self, Kiosk, NewUser, parse_role, role_name};
    let now = Clock::system().now();
    let actor = Actor::command_line();
    match action {
        UserCommand::Add {
            login,
            name,
            role,
            department,
            patrol,
            kiosk,
            lon,
            lat,
            password,
        } => {
            let role = parse_role(&role).with_context(|| {
                format!("unknown role {role:?}: inspector, operator, dispatcher, department, kiosk or admin")
            })?;
            let kiosk = match (kiosk, lon, lat) {
                (None, None, None) => None,
                (Some(id), Some(lon), Some(lat)) => Some(Kiosk { id, lon, lat }),
                _ => anyhow::bail!("a kiosk needs all of --kiosk ID --lon X --lat Y"),
            };
            let password = if password.password || password.password_stdin {
                Some(read_password(password.password_stdin)?)
            } else {
                None
            };
            let (user, token) = users::add_user(
                pool,
                &actor,
                NewUser {
                    login,
                    name,
                    role,
                    department,
                    kiosk,
                    patrol: patrol.iter().map(|c| c.trim().to_owned()).collect(),
                    password,
                },
                now,
            )
            .await?;
            match token {
                Some(token) => {
                    eprintln!(
                        "added user {} ({}, login {}); the token is shown once:",
                        user.name,
                        role_name(user.role),
                        user.login
                    );
                    println!("{token}");
                }
                None => println!(
                    "added user {} ({}); they sign in as {}",
                    user.name,
                    role_name(user.role),
                    user.login
                ),
            }
        }
        UserCommand::List => {
            println!(
                "{:<20} {:<11} {:<14} {:<9} {:<9} {:<20} name",
                "login", "role", "department", "state", "password", "last sign-in"
            );
            for u in users::list(pool).await? {
                println!(
                    "{:<20} {:<11} {:<14} {:<9} {:<9} {:<20} {}",
                    u.user.login,
                    role_name(u.user.role),
                    u.user.department.as_deref().unwrap_or("-"),
                    if u.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "enabled"
                    },
                    if u.has_password { "yes" } else { "no" },
                    u.last_sign_in_at
                        .map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                    u.user.name
                );
            }
        }
        UserCommand::Disable { login } => {
            users::set_disabled(pool, &actor, &login, true, now).await?;
            println!("{login} is disabled: their sessions ended and tokens are revoked");
        }
        UserCommand::Enable { login } => {
            users::set_disabled(pool, &actor, &login, false, now).await?;
            println!("{login} may sign in again");
        }
        UserCommand::SetPassword {
            login,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            users::set_password(pool, &actor, &login, &password, now).await?;
            println!("the password of {login} is set");
        }
    }
    Ok(())
}

async fn token_command(pool: &sqlx::PgPool, action: TokenCommand) -> anyhow::Result<()> {
    use citygrid::store::tokens;
    let now = Clock::system().now();
    let actor = Actor::command_line();
    match action {
        TokenCommand::Add {
            user,
            name,
            expires,
        } => {
            let (id, token) =
                tokens::add(pool, &actor, &user, &name, expires.map(|d| now + d), now).await?;
            eprintln!("added token {id} ({name}) for {user}; it is shown once:");
            println!("{token}");
        }
        TokenCommand::List => {
            println!(
                "{:>5} {:<20} {:<25} {:<20} name",
                "id", "user", "expires", "revoked"
            );
            let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            };
            for t in tokens::list(pool).await? {
                println!(
                    "{:>5} {:<20} {:<25} {:<20} {}",
                    t.id,
                    t.login,
                    at(t.expires_at),
                    at(t.revoked_at),
                    t.name
                );
            }
        }
        TokenCommand::Revoke { id } => {
            anyhow::ensure!(
                tokens::revoke(pool, &actor, id, now).await?,
                "no token has id {id}"
            );
            println!("token {id} is revoked");
        }
    }
    Ok(())
}

/// At most this many problems of each kind are printed; `--report` has them all.
const SHOWN_PER_KIND: usize = 20;

fn print_import_report(r: &citygrid::import::ImportReport, elapsed: std::time::Duration) {
    for d in &r.datasets {
        println!("{:>22}  {:>9} rows  {}", d.file, d.rows, d.status);
    }
    let print = |label: &str, problems: &[citygrid::import::records::Problem]| {
        let mut shown: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for p in problems {
            let n = shown.entry(p.kind).or_default();
            *n += 1;
            if *n <= SHOWN_PER_KIND {
                println!("{label}: {p}");
            }
        }
        for (kind, n) in shown {
            if n > SHOWN_PER_KIND {
                println!("{label}: … and {} more {kind}", n - SHOWN_PER_KIND);
            }
        }
    };
    print("error", &r.errors);
    print("warning", &r.warnings);
    let counts: Vec<String> = r
        .warning_counts()
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect();
    if r.committed {
        println!(
            "imported in {:.1} s; {} warnings{}",
            elapsed.as_secs_f64(),
            r.warnings.len(),
            if counts.is_empty() {
                String::new()
            } else {
                format!(" ({})", counts.join(", "))
            }
        );
    } else {
        println!(
            "import refused: {} errors; the stored data is unchanged",
            r.errors.len()
        );
    }
}
