//! HTTP: one router per resource, merged here, over one shared state.

pub mod access;
pub mod admin;
pub mod auth;
pub mod cases;
pub mod city;
pub mod configuration;
pub mod edge;
pub mod error;
pub mod events;
pub mod health;
pub mod json;
pub mod media;
pub mod open311;
pub mod openapi;
pub mod public;
pub mod query;
pub mod rate;
pub mod server;
pub mod stats;
pub mod tiles;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::index::SharedIndex;
use crate::store::notices::Notices;
use crate::store::replica::StaleReads;
use error::ApiError;

/// How the server runs, beyond its database.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where uploaded photos are kept.
    pub media_dir: PathBuf,
    pub clock: Clock,
    /// How often overdue stages are looked for.
    pub sweep_every: Duration,
    /// The built web map (`web-map/dist`).
    pub web_dir: PathBuf,
    /// A base map style URL for deployments with internet; none: the city's
    /// own layers are the map.
    pub basemap_style: Option<String>,
    pub connections: server::ConnectionLimits,
    pub rate_limits: rate::RateLimits,
    /// Behind a reverse proxy: rate-limit by the address it puts last in
    /// `X-Forwarded-For` rather than by the proxy's own.
    pub trust_forwarded_for: bool,
    pub sessions: auth::SessionPolicy,
    /// A streaming replica's pool for reads that may be a moment stale.
    pub replica: Option<PgPool>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            media_dir: PathBuf::from("media"),
            clock: Clock::system(),
            sweep_every: Duration::from_secs(30),
            web_dir: PathBuf::from("web-map/dist"),
            basemap_style: None,
            connections: Default::default(),
            rate_limits: Default::default(),
            trust_forwarded_for: false,
            sessions: Default::default(),
            replica: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    /// The primary: every write, and reads that must see them.
    pub pool: PgPool,
    /// Tiles, evaluation, hotspots, exports and Open311 GETs: the replica
    /// while it answers.
    pub stale_reads: StaleReads,
    /// The hotspots' sums of the pairs of bounds last asked for.
    pub hotspot_sums: Arc<crate::store::hotspots::SumsCache>,
    pub city: Arc<SharedIndex>,
    pub clock: Clock,
    pub media_dir: Arc<PathBuf>,
    pub web_dir: Arc<PathBuf>,
    pub basemap_style: Option<Arc<str>>,
    /// Committed case events, from every server on the database.
    pub notices: Notices,
    pub rates: Arc<Rates>,
    pub trust_forwarded_for: bool,
    pub connections: server::ConnectionLimits,
    pub sessions: auth::SessionPolicy,
    /// Turns true when the server begins to shut down: event streams end.
    pub stopping: watch::Receiver<bool>,
    stop: Arc<watch::Sender<bool>>,
}

/// The rate limiters of callers without a staff account.
#[derive(Debug)]
pub struct Rates {
    pub anonymous: rate::RateLimiter,
    pub kiosk: rate::RateLimiter,
    pub sign_in_per_login: rate::RateLimiter,
    pub sign_in_per_address: rate::RateLimiter,
}

impl AppState {
    /// Loads the city index from the store and keeps it current with imports;
    /// listens for case events; starts the overdue sweep and gives the cases
    /// taken before migration 0024 their H3 cells.
    pub async fn load(pool: PgPool, opts: ServeOptions) -> Result<Self, sqlx::Error> {
        let index = crate::store::city::load_city_index(&pool).await?;
        let city = Arc::new(SharedIndex::new(index));
        tokio::spawn(crate::store::city::watch_city_data(
            pool.clone(),
            city.clone(),
        ));
        let notices = crate::store::notices::listen(&pool).await?;
        tokio::spawn(fill_cells(pool.clone()));
        tokio::spawn(sweep_overdue(
            pool.clone(),
            opts.clock.clone(),
            opts.sweep_every,
        ));
        let (stop, stopping) = watch::channel(false);
        let stale_reads = match opts.replica {
            Some(replica) => StaleReads::with_replica(pool.clone(), replica),
            None => StaleReads::primary_only(pool.clone()),
        };
        Ok(Self {
            pool,
            stale_reads,
            hotspot_sums: Default::default(),
            city,
            clock: opts.clock,
            media_dir: Arc::new(opts.media_dir),
            web_dir: Arc::new(opts.web_dir),
            basemap_style: opts.basemap_style.map(Arc::from),
            notices,
            rates: Arc::new(Rates {
                anonymous: rate::RateLimiter::new(opts.rate_limits.anonymous),
                kiosk: rate::RateLimiter::new(opts.rate_limits.kiosk),
                sign_in_per_login: rate::RateLimiter::new(opts.rate_limits.sign_in_per_login),
                sign_in_per_address: rate::RateLimiter::new(opts.rate_limits.sign_in_per_address),
            }),
            sessions: opts.sessions,
            trust_forwarded_for: opts.trust_forwarded_for,
            connections: opts.connections,
            stopping,
            stop: Arc::new(stop),
        })
    }
}

/// Gives the cases taken before migration 0024 their H3 cells, a batch at a
/// time with a pause between (the server's own requests come first), until
/// every case has its cell; after a failure, again a minute later.
async fn fill_cells(pool: PgPool) {
    let mut filled = 0;
    while !pool.is_closed() {
        match crate::store::cases::fill_cells(&pool, 5_000).await {
            Ok(0) => {
                if filled > 0 {
                    tracing::info!(cases = filled, "every case has its H3 cell");
                }
                return;
            }
            Ok(n) => {
                filled += n;
                if filled % 100_000 < n {
                    tracing::info!(cases = filled, "H3 cells given to cases taken before them");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "giving cases their H3 cells failed; again in a minute");
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        }
    }
}

/// Marks overdue stages, moves the map's lights on and settles the
/// evaluation and hotspot sums every `every`, for as long as the server runs.
async fn sweep_overdue(pool: PgPool, clock: Clock, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        let now = clock.now();
        match crate::store::cases::sweep_overdue(&pool, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(stages = n, "marked overdue"),
            Err(e) => tracing::warn!(error = %e, "overdue sweep failed; retrying next tick"),
        }
        if let Err(e) = crate::store::cases::sweep_lights(&pool, now).await {
            tracing::warn!(error = %e, "light sweep failed; retrying next tick");
        }
        if let Err(e) = crate::store::cases::settle_evaluation(&pool).await {
            tracing::warn!(error = %e, "evaluation settling failed; retrying next tick");
        }
        let settled = match pool.acquire().await {
            Ok(mut conn) => {
                crate::store::hotspots::settle(&mut conn, now, Duration::from_secs(2)).await
            }
            Err(e) => Err(e),
        };
        match settled {
            Ok(0) => {}
            Ok(n) => tracing::info!(bounds = n, "hotspot sums settled"),
            Err(e) => tracing::warn!(error = %e, "hotspot settling failed; retrying next tick"),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(city::router())
        .merge(auth::router())
        .merge(admin::router())
        .merge(configuration::router())
        .merge(cases::router())
        .merge(media::router())
        .merge(events::router())
        .merge(tiles::router())
        .merge(open311::router())
        .merge(stats::router())
        .merge(web::router())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            access::enforce,
        ))
        .fallback(|| async { ApiError::not_found("not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed here",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(edge::shape_errors))
        .layer(middleware::from_fn(edge::guard))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// The largest JSON or form body (photos have their own limit).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    tracing::info!(
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Serves until SIGTERM or Ctrl-C, then drains in-flight requests.
pub async fn serve(state: AppState, bind: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tracing::info!(addr = %listener.local_addr()?, "serving");
    serve_on(listener, state, shutdown_signal()).await
}

/// Serves on `listener` until `shutdown` resolves, within the state's
/// connection limits; event streams end when it does.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = state.connections.clone();
    let stop = state.stop.clone();
    server::serve_on(listener, router(state), limits, stop, shutdown).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
