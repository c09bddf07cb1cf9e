//! The one public view of a case, shown by every surface that needs no staff
//! account (Open311, the kiosk's look-up, and the citizen's tracking page):
//! the service, the state in public words, times, the expected completion, the
//! agency, the unit grid, street and place. The reporter's own words only when
//! they came in through a public channel and an operator has filed the case,
//! with personal data masked; never staff notes, names or photos.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::privacy::mask_personal_data;
use crate::domain::workflow::CaseState;
use crate::index::{AreaRef, CityIndex};
use crate::store::case_config::CaseConfig;
use crate::store::cases::{self, CaseRecord, StageRecord, StateStep};

/// Channels where the reporter is the public, writing for the public.
const PUBLIC_CHANNELS: &[&str] = &["open311", "kiosk"];

/// A case's state as a citizen reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublicState {
    Received,
    Accepted,
    InProgress,
    BeingChecked,
    OnHold,
    Completed,
    NotAccepted,
    Merged,
    Withdrawn,
}

impl PublicState {
    pub fn of(state: CaseState, merged: bool) -> Self {
        match state {
            CaseState::Reported => Self::Received,
            CaseState::Filed => Self::Accepted,
            CaseState::Dispatched => Self::InProgress,
            CaseState::Handled => Self::BeingChecked,
            CaseState::Suspended => Self::OnHold,
            CaseState::Closed => Self::Completed,
            CaseState::Rejected => Self::NotAccepted,
            CaseState::Void if merged => Self::Merged,
            CaseState::Void => Self::Withdrawn,
        }
    }

    /// (Chinese, English).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Received => ("已接收", "Received"),
            Self::Accepted => ("已立案", "Accepted"),
            Self::InProgress => ("处理中", "Being handled"),
            Self::BeingChecked => ("待核查", "Being checked"),
            Self::OnHold => ("暂缓处理", "On hold"),
            Self::Completed => ("已办结", "Completed"),
            Self::NotAccepted => ("不予受理", "Not accepted"),
            Self::Merged => ("已合并", "Merged with an earlier report"),
            Self::Withdrawn => ("已撤销", "Withdrawn"),
        }
    }

    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Received | Self::Accepted | Self::InProgress | Self::BeingChecked | Self::OnHold
        )
    }
}

/// One step of a case's progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicStep {
    pub at: DateTime<Utc>,
    pub state: PublicState,
    pub state_name: &'static str,
    pub state_name_en: &'static str,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicCase {
    pub case_no: String,
    pub kind: String,
    pub class: String,
    pub class_name: Option<String>,
    pub class_name_en: Option<String>,
    pub state: PublicState,
    pub state_name: &'static str,
    pub state_name_en: &'static str,
    pub open: bool,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When handling is due, once the case has been dispatched.
    pub expected_at: Option<DateTime<Utc>>,
    /// The department handling it, once dispatched.
    pub agency: Option<String>,
    pub grid: String,
    pub street: AreaRef,
    pub district: AreaRef,
    pub lon: f64,
    pub lat: f64,
    pub address: String,
    /// The public reporter's words (masked), once filed; otherwise none.
    pub description: Option<String>,
    /// The earlier case this report was merged into.
    pub merged_into: Option<String>,
    pub steps: Vec<PublicStep>,
}

/// Whether the operator has filed the case (it went past the filing desk and
/// was not turned away).
fn filed(state: CaseState) -> bool {
    matches!(
        state,
        CaseState::Filed
            | CaseState::Dispatched
            | CaseState::Handled
            | CaseState::Suspended
            | CaseState::Closed
    )
}

/// The public view of `c`, given its stages and its state changes.
pub fn public_case(
    c: &CaseRecord,
    cfg: &CaseConfig,
    index: &CityIndex,
    stages: &[StageRecord],
    steps: &[StateStep],
) -> PublicCase {
    let merged = c.duplicate_of_no.is_some();
    let state = PublicState::of(c.state(), merged);
    let (state_name, state_name_en) = state.names();
    let class = cfg.class(c.kind(), &c.class);
    let handling = stages
        .iter()
        .find(|s| s.case_id == c.id && s.stage == "handling");
    let dispatched = handling.is_some() && state != PublicState::NotAccepted;
    // The reporter's own words — the description and the address they typed —
    // only from a public channel, once filed.
    let public_words = PUBLIC_CHANNELS.contains(&c.channel.as_str()) && filed(c.state());
    let description = public_words.then(|| mask_personal_data(&c.description));
    let mut public_steps: Vec<PublicStep> = Vec::new();
    for s in steps.iter().filter(|s| s.case_id == c.id) {
        let Some(to) = CaseState::parse(&s.to_state) else {
            continue;
        };
        let state = PublicState::of(to, merged);
        if public_steps.last().is_some_and(|l| l.state == state) {
            continue;
        }
        let (state_name, state_name_en) = state.names();
        public_steps.push(PublicStep {
            at: s.at,
            state,
            state_name,
            state_name_en,
        });
    }
    PublicCase {
        case_no: c.case_no.clone(),
        kind: c.kind.clone(),
        class: c.class.clone(),
        class_name: class.map(|k| k.name.clone()),
        class_name_en: class.map(|k| k.name_en.clone()),
        state,
        state_name,
        state_name_en,
        open: state.is_open(),
        reported_at: c.reported_at,
        updated_at: c.updated_at,
        expected_at: handling
            .filter(|_| dispatched && state.is_open())
            .map(|s| s.due_at),
        agency: c
            .department
            .as_ref()
            .filter(|_| dispatched)
            .and_then(|d| cfg.departments.get(d))
            .cloned(),
        grid: c.grid.clone(),
        street: index.area(&c.street),
        district: index.area(&c.district),
        lon: c.lon,
        lat: c.lat,
        address: if public_words {
            mask_personal_data(&c.address)
        } else {
            String::new()
        },
        description,
        merged_into: c.duplicate_of_no.clone(),
        steps: public_steps,
    }
}

/// The public views of `found`, loading their stages and steps in two queries.
pub async fn public_cases(
    pool: &sqlx::PgPool,
    cfg: &CaseConfig,
    index: &CityIndex,
    found: &[CaseRecord],
) -> Result<Vec<PublicCase>, sqlx::Error> {
    let ids: Vec<i64> = found.iter().map(|c| c.id).collect();
    let stages = cases::stages_of(pool, &ids).await?;
    let steps = cases::state_steps(pool, &ids).await?;
    Ok(found
        .iter()
        .map(|c| public_case(c, cfg, index, &stages, &steps))
        .collect())
}
