//! Where problems recur: the cases of a period counted per H3 cell and per
//! unit grid, from the sums of every case before each settled bound (a UTC
//! month's start, and for the last 62 days a UTC day's; migration 0027): a
//! grid's count is its sum before the period's end less its sum before the
//! start, two rows a grid however long the period; the hours between a
//! period's ends and the nearest bounds are counted from the cases themselves.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::cases::finest_cell;
use crate::domain::codes::ClassKind;

/// The finest resolution the sums keep (their cells are the cases'
/// cells' parents at it); finer cells are counted from the cases.
pub const SUMS_RESOLUTION: h3o::Resolution = h3o::Resolution::Nine;

/// What to count: the period [from, to) and the filters.
#[derive(Debug, Clone)]
pub struct HotspotQuery<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub resolution: h3o::Resolution,
    pub class: Option<&'a str>,
    pub kind: Option<ClassKind>,
    pub department: Option<&'a str>,
}

/// The counts per cell at the query's resolution and per grid (a case
/// outside every grid counts in its cell only).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Hotspots {
    pub cells: HashMap<h3o::CellIndex, i64>,
    pub grids: HashMap<String, i64>,
}

/// Cases reported in [from, to), counted `sign` times (−1: taken off).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    sign: i64,
}

impl Span {
    /// From `a` to `b`: counted when `a` is before `b`, taken off when after.
    fn between(a: DateTime<Utc>, b: DateTime<Utc>) -> Self {
        if a <= b {
            Span {
                from: a,
                to: b,
                sign: 1,
            }
        } else {
            Span {
                from: b,
                to: a,
                sign: -1,
            }
        }
    }
}

/// How to count [from, to): the settled bounds whose sums to subtract and
/// add, and the two spans of cases between them and the period's ends —
/// the bounds nearest each end when that reads fewer days of cases than the
/// period has; otherwise the period's own cases (and an empty second span).
fn plan(
    bounds: &[DateTime<Utc>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (Option<(DateTime<Utc>, DateTime<Utc>)>, [Span; 2]) {
    let nearest = |t: DateTime<Utc>| bounds.iter().copied().min_by_key(|m| (*m - t).abs());
    if let (Some(start), Some(end)) = (nearest(from), nearest(to)) {
        let read = (from - start).abs() + (to - end).abs();
        if start < end && read < to - from {
            return (
                Some((start, end)),
                [Span::between(from, start), Span::between(end, to)],
            );
        }
    }
    let none = Span {
        from: to,
        to,
        sign: 0,
    };
    (None, [Span::between(from, to), none])
}

/// The cases of a span, with the filters: `$1`–`$3` for the first span,
/// `$4`–`$6` for the second, filters `$7`–`$9`.
fn span_cases(columns: &str, first: bool, more: &str) -> String {
    let (from, to, sign) = if first { (1, 2, 3) } else { (4, 5, 6) };
    format!(
        "SELECT {columns}, ${sign}::int8 AS n FROM cases
         WHERE reported_at >= ${from} AND reported_at < ${to} AND state <> 'void' {more}
           AND ($7::text IS NULL OR class = $7) AND ($8::text IS NULL OR kind = $8)
           AND ($9::text IS NULL OR department = $9)"
    )
}

/// The sums of a pair of settled bounds, end less start, per cell at one
/// resolution and per grid, as read: kept by the servers for as long as
/// both bounds keep their versions (migration 0027 gives a bound a new
/// version whenever its sums change), the last few pairs asked for.
#[derive(Debug, Default)]
pub struct SumsCache {
    kept: Mutex<VecDeque<(SumsKey, Arc<Hotspots>)>>,
}

/// Start and end bound, each with its version, and the resolution.
type SumsKey = ((DateTime<Utc>, i64), (DateTime<Utc>, i64), u8);

/// How many pairs of bounds a server keeps (each about 3 MB for the 44,000
/// grids of the scale-20 city).
const SUMS_KEPT: usize = 8;

impl SumsCache {
    fn get(&self, key: &SumsKey) -> Option<Arc<Hotspots>> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let i = kept.iter().position(|(k, _)| k == key)?;
        let hit = kept.remove(i)?;
        let sums = hit.1.clone();
        kept.push_front(hit);
        Some(sums)
    }

    fn put(&self, key: SumsKey, sums: Arc<Hotspots>) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|(k, _)| *k != key);
        kept.push_front((key, sums));
        kept.truncate(SUMS_KEPT);
    }
}

/// Counts a period's cases per cell and per grid, in one snapshot (one
/// moment): the sums when the query has no filter and a resolution
/// the sums keep, the cases of the spans between; the cases without their
/// H3 cell yet (migration 0024) put in cells here.
pub async fn count(
    pool: &PgPool,
    cache: &SumsCache,
    q: &HotspotQuery<'_>,
) -> Result<Hotspots, sqlx::Error> {
    let unfiltered = q.class.is_none() && q.kind.is_none() && q.department.is_none();
    // The bounds and the sums at them from one snapshot: a day's bound that
    // ages out meanwhile is still there for the count.
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let versions: Vec<(DateTime<Utc>, i64)> = if unfiltered && q.resolution <= SUMS_RESOLUTION {
        sqlx::query_as("SELECT at, version FROM hotspot_bounds ORDER BY at")
            .fetch_all(&mut *tx)
            .await?
    } else {
        vec![]
    };
    let bounds: Vec<DateTime<Utc>> = versions.iter().map(|(at, _)| *at).collect();
    let (sums, [a, b]) = plan(&bounds, q.from, q.to);
    let with_cell = |first| span_cases("cell, grid", first, "AND cell IS NOT NULL");
    let without_cell = |first| span_cases("grid, geom", first, "AND cell IS NULL");
    // The spans' SQL is ours: no outside text.
    let sql = sql!(
        "SELECT h3_parent(cell, $10), grid, sum(n)::int8, NULL::float8, NULL::float8
         FROM ({} UNION ALL {}) spans
         GROUP BY GROUPING SETS (h3_parent(cell, $10), grid)
         UNION ALL
         SELECT NULL, grid, n, ST_X(geom), ST_Y(geom) FROM ({} UNION ALL {}) spans",
        with_cell(true),
        with_cell(false),
        without_cell(true),
        without_cell(false),
    );
    let rows: Vec<(
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<f64>,
        Option<f64>,
    )> = sqlx::query_as(sql)
        .bind(a.from)
        .bind(a.to)
        .bind(a.sign)
        .bind(b.from)
        .bind(b.to)
        .bind(b.sign)
        .bind(q.class)
        .bind(q.kind.map(|k| k.as_str()))
        .bind(q.department)
        .bind(i32::from(u8::from(q.resolution)))
        .persistent(false)
        .fetch_all(&mut *tx)
        .await?;
    let version = |at: DateTime<Utc>| versions.iter().find(|(b, _)| *b == at).map(|(_, v)| *v);
    let sums = match sums {
        None => None,
        Some((start, end)) => {
            let key = (
                (start, version(start).unwrap_or_default()),
                (end, version(end).unwrap_or_default()),
                u8::from(q.resolution),
            );
            match cache.get(&key) {
                Some(kept) => Some(kept),
                None => {
                    let read = Arc::new(read_sums(&mut tx, start, end, q.resolution).await?);
                    cache.put(key, read.clone());
                    Some(read)
                }
            }
        }
    };
    tx.commit().await?;
    let mut counted = match sums {
        Some(sums) => Hotspots::clone(&sums),
        None => Hotspots::default(),
    };
    for (cell, grid, n, lon, lat) in rows {
        let n = n.unwrap_or(0);
        match (cell, grid, lon.zip(lat)) {
            (Some(cell), _, _) => {
                if let Some(cell) = cell_index(cell) {
                    *counted.cells.entry(cell).or_default() += n;
                }
            }
            (None, Some(grid), Some((lon, lat))) => {
                // The parent of its finest cell, as the kept cells give.
                if let Some(cell) = finest_cell(lon, lat).and_then(|c| c.parent(q.resolution)) {
                    *counted.cells.entry(cell).or_default() += n;
                }
                *counted.grids.entry(grid).or_default() += n;
            }
            (None, Some(grid), None) => *counted.grids.entry(grid).or_default() += n,
            (None, None, _) => {}
        }
    }
    // Sums less sums leave places whose cases were all before the period.
    counted.cells.retain(|_, n| *n != 0);
    counted.grids.retain(|_, n| *n != 0);
    Ok(counted)
}

/// An H3 cell as the database keeps it (int8).
fn cell_index(cell: i64) -> Option<h3o::CellIndex> {
    u64::try_from(cell)
        .ok()
        .and_then(|c| h3o::CellIndex::try_from(c).ok())
}

/// The sums at `end` less those at `start`, per cell (the kept cells'
/// parents at `resolution`) and per grid.
async fn read_sums(
    tx: &mut PgConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    resolution: h3o::Resolution,
) -> Result<Hotspots, sqlx::Error> {
    let rows: Vec<(Option<i64>, Option<String>, i64)> = sqlx::query_as(
        "SELECT h3_parent(cell, $3), NULL, sum(CASE WHEN at = $2 THEN cases ELSE -cases END)::int8
         FROM hotspot_cells WHERE at IN ($1, $2) GROUP BY 1
         UNION ALL
         SELECT NULL, coalesce(e.grid, s.grid), (coalesce(e.cases, 0) - coalesce(s.cases, 0))::int8
         FROM (SELECT grid, cases FROM hotspot_grids WHERE at = $2) e
         FULL JOIN (SELECT grid, cases FROM hotspot_grids WHERE at = $1) s ON s.grid = e.grid",
    )
    .bind(start)
    .bind(end)
    .bind(i32::from(u8::from(resolution)))
    .fetch_all(&mut *tx)
    .await?;
    let mut sums = Hotspots::default();
    for (cell, grid, n) in rows {
        match (cell, grid) {
            (Some(cell), _) => {
                if let Some(cell) = cell_index(cell) {
                    sums.cells.insert(cell, n);
                }
            }
            (None, Some(grid)) => {
                sums.grids.insert(grid, n);
            }
            (None, None) => {}
        }
    }
    Ok(sums)
}

/// Settles the bounds that are due (migration 0027), for at most `budget`
/// (a long history's first settling takes a bound at a time over several
/// sweeps); returns how many. Several servers may settle at once: one does,
/// and the others (or any connection but the one holding the settling lock)
/// return 0.
pub async fn settle(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    budget: Duration,
) -> Result<u32, sqlx::Error> {
    let started = Instant::now();
    let mut settled = 0;
    while started.elapsed() < budget {
        let more: bool = sqlx::query_scalar("SELECT hotspot_settle($1)")
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
        if !more {
            break;
        }
        settled += 1;
    }
    Ok(settled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn whole_months_read_only_the_sums() {
        let months: Vec<_> = (1..=12).map(|m| utc(2026, m, 1, 0)).collect();
        let (sums, spans) = plan(&months, utc(2026, 2, 1, 0), utc(2026, 11, 1, 0));
        assert_eq!(sums, Some((utc(2026, 2, 1, 0), utc(2026, 11, 1, 0))));
        assert!(spans.iter().all(|s| s.from == s.to));
    }

    #[test]
    fn ends_inside_months_count_from_the_nearest() {
        let months: Vec<_> = (1..=12).map(|m| utc(2026, m, 1, 0)).collect();
        // China's midnight: eight hours before the UTC month.
        let (sums, [a, b]) = plan(&months, utc(2026, 1, 31, 16), utc(2026, 10, 20, 0));
        assert_eq!(sums, Some((utc(2026, 2, 1, 0), utc(2026, 11, 1, 0))));
        assert_eq!(
            a,
            Span {
                from: utc(2026, 1, 31, 16),
                to: utc(2026, 2, 1, 0),
                sign: 1
            }
        );
        assert_eq!(
            b,
            Span {
                from: utc(2026, 10, 20, 0),
                to: utc(2026, 11, 1, 0),
                sign: -1
            }
        );
    }

    #[test]
    fn short_periods_and_no_sums_count_the_cases() {
        let months: Vec<_> = (1..=12).map(|m| utc(2026, m, 1, 0)).collect();
        for (from, to) in [
            (utc(2026, 3, 10, 0), utc(2026, 3, 20, 0)),
            (utc(2026, 3, 20, 0), utc(2026, 4, 10, 0)),
        ] {
            let (sums, [a, b]) = plan(&months, from, to);
            assert_eq!(sums, None);
            assert_eq!(a, Span { from, to, sign: 1 });
            assert_eq!(b.sign, 0);
        }
        let (sums, _) = plan(&[], utc(2025, 1, 1, 0), utc(2026, 1, 1, 0));
        assert_eq!(sums, None);
    }
}
