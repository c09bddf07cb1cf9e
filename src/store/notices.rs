//! Case events as they are committed, from PostgreSQL `LISTEN citygrid_cases`:
//! every server on the database hears every change, whichever server made it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use super::cases::CASES_CHANNEL;

/// One published case event (see `case_events_publish` in the migrations).
#[derive(Debug, Clone)]
pub struct CaseNotice {
    /// `created`, `state_changed`, `updated` or `overdue`.
    pub event: String,
    pub department: Option<String>,
    /// The payload as published: a JSON object.
    pub json: String,
}

impl CaseNotice {
    pub fn parse(payload: &str) -> Option<Self> {
        let v: Value = serde_json::from_str(payload).ok()?;
        Some(Self {
            event: v.get("type")?.as_str()?.to_owned(),
            department: v
                .get("department")
                .and_then(Value::as_str)
                .map(str::to_owned),
            json: payload.to_owned(),
        })
    }
}

pub type Notices = broadcast::Sender<Arc<CaseNotice>>;

/// Starts listening (returns once `LISTEN` is in place) and relays every
/// notice to the returned channel's subscribers.
pub async fn listen(pool: &PgPool) -> Result<Notices, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CASES_CHANNEL).await?;
    let (tx, _) = broadcast::channel(4096);
    let sender = tx.clone();
    tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(n) => match CaseNotice::parse(n.payload()) {
                    Some(notice) => {
                        let _ = sender.send(Arc::new(notice));
                    }
                    None => tracing::warn!(payload = n.payload(), "unreadable case notice"),
                },
                // Shutting down: let the connection go back to the closing pool.
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    // PgListener reconnects and re-listens on the next recv.
                    tracing::warn!(error = %e, "case notices interrupted; reconnecting");
                    // Whatever was published meanwhile is lost: clients reload.
                    let _ = sender.send(Arc::new(CaseNotice {
                        event: "resync".into(),
                        department: None,
                        json: r#"{"type":"resync"}"#.into(),
                    }));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(tx)
}
