//! Reads that may be slightly stale (tiles, evaluation, hotspots, exports,
//! Open311 GETs) go to a PostgreSQL streaming replica when one is given
//! (`--read-database-url`), and to the primary while the replica does not
//! answer: the service carries on when the replica goes away and uses it
//! again when it is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;

/// How often the replica is asked whether it answers.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The pool stale-tolerant reads come from.
#[derive(Clone)]
pub struct StaleReads {
    primary: PgPool,
    replica: Option<Replica>,
}

#[derive(Clone)]
struct Replica {
    pool: PgPool,
    answers: Arc<AtomicBool>,
}

/// Where a stale-tolerant read is served from just now (`/ready`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadsFrom {
    /// No replica is configured.
    Primary,
    Replica,
    /// A replica is configured but does not answer: the primary serves.
    PrimaryReplicaDown,
}

impl StaleReads {
    /// Every read from the primary.
    pub fn primary_only(primary: PgPool) -> Self {
        Self {
            primary,
            replica: None,
        }
    }

    /// Reads from `replica` while it answers; watches it for as long as the
    /// pool is open. The replica need not answer yet.
    pub fn with_replica(primary: PgPool, replica: PgPool) -> Self {
        let answers = Arc::new(AtomicBool::new(false));
        tokio::spawn(watch(replica.clone(), answers.clone()));
        Self {
            primary,
            replica: Some(Replica {
                pool: replica,
                answers,
            }),
        }
    }

    /// The pool for a read that may lag the primary by a moment.
    pub fn pool(&self) -> &PgPool {
        match &self.replica {
            Some(r) if r.answers.load(Ordering::Relaxed) => &r.pool,
            _ => &self.primary,
        }
    }

    pub fn from(&self) -> ReadsFrom {
        match &self.replica {
            None => ReadsFrom::Primary,
            Some(r) if r.answers.load(Ordering::Relaxed) => ReadsFrom::Replica,
            Some(_) => ReadsFrom::PrimaryReplicaDown,
        }
    }
}

/// How far behind its primary a replica may fall (WAL received but not
/// replayed for this long) and still serve.
const MAX_LAG_SECONDS: f64 = 30.0;

/// Checks the replica every second: it serves while it answers, is still a
/// standby (not promoted, not some other primary), streams from its primary
/// (a WAL receiver runs: one cut off from its primary would otherwise look
/// caught up) and replays what it receives within [`MAX_LAG_SECONDS`]. Two missed checks in a row (or one
/// clear "no") take the reads back to the primary.
async fn watch(replica: PgPool, answers: Arc<AtomicBool>) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut missed = 0;
    loop {
        tick.tick().await;
        if replica.is_closed() {
            return;
        }
        let check = tokio::time::timeout(
            CHECK_EVERY,
            sqlx::query_scalar::<_, bool>(
                "SELECT pg_is_in_recovery()
                     AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver)
                     AND (pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
                          OR coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) < $1)",
            )
            .bind(MAX_LAG_SECONDS)
            .fetch_one(&replica),
        )
        .await;
        let serves = match check {
            Ok(Ok(serves)) => {
                missed = 0;
                serves
            }
            _ => {
                missed += 1;
                missed < 2 && answers.load(Ordering::Relaxed)
            }
        };
        let before = answers.swap(serves, Ordering::Relaxed);
        if before != serves {
            if serves {
                tracing::info!("the read replica serves: stale-tolerant reads go to it");
            } else {
                tracing::warn!(
                    "the read replica does not answer, is no standby or lags: reads go to the primary"
                );
            }
        }
    }
}
