//! Rate limits for callers without a staff account: anonymous requests by
//! address, kiosks by kiosk. A token bucket per caller: `burst` requests at
//! once, refilled at `per_second`. Sized so that a real kiosk or Open311 app
//! never meets them (a map view loads a few dozen tiles at once; a kiosk
//! serves one person at a time) while a script hammering the service does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub burst: f64,
    pub per_second: f64,
}

/// The limits a server applies.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub anonymous: Rate,
    pub kiosk: Rate,
    /// Failed sign-ins per login: a guesser is slowed to a crawl.
    pub sign_in_per_login: Rate,
    /// Failed sign-ins per address: one guesser trying many logins.
    pub sign_in_per_address: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            anonymous: Rate {
                burst: 600.0,
                per_second: 20.0,
            },
            // A kiosk's map loads tiles with its token: as much room as anyone.
            kiosk: Rate {
                burst: 600.0,
                per_second: 20.0,
            },
            // Five wrong passwords, then one more a minute.
            sign_in_per_login: Rate {
                burst: 5.0,
                per_second: 1.0 / 60.0,
            },
            // A shared office address mistypes too: twenty, then one in 10 s.
            sign_in_per_address: Rate {
                burst: 20.0,
                per_second: 0.1,
            },
        }
    }
}

/// Buckets beyond this many are pruned of the full ones.
const PRUNE_AT: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn wait_for(&self, available: f64) -> Duration {
        let wait = (1.0 - available) / self.rate.per_second.max(f64::MIN_POSITIVE);
        Duration::from_secs_f64(wait.min(3600.0))
    }

    /// Gives back one request taken from `key`'s bucket (it turned out fine).
    pub fn refund(&self, key: &str) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((tokens, _)) = buckets.get_mut(key) {
            *tokens = (*tokens + 1.0).min(self.rate.burst);
        }
    }

    /// Takes one request from `key`'s bucket: `Err(wait)` when it is empty.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= PRUNE_AT {
            let rate = self.rate;
            buckets.retain(|_, (tokens, at)| refill(rate, *tokens, *at, now) < rate.burst);
        }
        let (tokens, at) = buckets
            .entry(key.to_owned())
            .or_insert((self.rate.burst, now));
        let available = refill(self.rate, *tokens, *at, now);
        *at = now;
        if available >= 1.0 {
            *tokens = available - 1.0;
            Ok(())
        } else {
            *tokens = available;
            Err(self.wait_for(available))
        }
    }
}

fn refill(rate: Rate, tokens: f64, at: Instant, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(at).as_secs_f64();
    (tokens + elapsed * rate.per_second).min(rate.burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_refill_rate() {
        let limiter = RateLimiter::new(Rate {
            burst: 3.0,
            per_second: 2.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check("a", t0).is_ok());
        }
        let wait = limiter.check("a", t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        // Another caller has its own bucket.
        assert!(limiter.check("b", t0).is_ok());
        // Half a second later one more request fits, and then none.
        let t1 = t0 + Duration::from_millis(500);
        assert!(limiter.check("a", t1).is_ok());
        assert!(limiter.check("a", t1).is_err());
        // One given back (it went well) can be taken again, once.
        limiter.refund("a");
        assert!(limiter.check("a", t1).is_ok());
        assert!(limiter.check("a", t1).is_err());
    }
}
