//! Per-class case rules from the city's configuration: stage time limits
//! (`sla.csv`) and duplicate/auto-filing behaviour (`case_rules.csv`). Patterns
//! are `*`, a 2-digit major class or a 4-digit class; the most specific wins.

use serde::Serialize;

use super::calendar::TimeLimit;
use super::codes::ClassKind;

/// The timed stages of the closed loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// reported → filed (受理立案)
    Filing,
    /// filed → dispatched (派遣)
    Dispatch,
    /// dispatched → handled (处置)
    Handling,
    /// handled → verified (核查)
    Verification,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Filing,
        Stage::Dispatch,
        Stage::Handling,
        Stage::Verification,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Filing => "filing",
            Stage::Dispatch => "dispatch",
            Stage::Handling => "handling",
            Stage::Verification => "verification",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// How specifically a class pattern matches `class`: `None` if it does not.
pub fn class_specificity(pattern: &str, class: &str) -> Option<usize> {
    if pattern == "*" {
        Some(0)
    } else if class.starts_with(pattern) {
        Some(pattern.len())
    } else {
        None
    }
}

/// One line of `sla.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaRule {
    /// `None` = both kinds.
    pub kind: Option<ClassKind>,
    pub class: String,
    /// `None` = urgent or not.
    pub urgent: Option<bool>,
    pub stage: Stage,
    pub limit: TimeLimit,
}

/// The time limit of `stage` for a case: the most specific class pattern
/// first, then a rule naming the kind, then one naming the urgency.
pub fn time_limit(
    rules: &[SlaRule],
    kind: ClassKind,
    class: &str,
    urgent: bool,
    stage: Stage,
) -> Option<TimeLimit> {
    rules
        .iter()
        .filter(|r| r.stage == stage)
        .filter(|r| r.kind.is_none_or(|k| k == kind))
        .filter(|r| r.urgent.is_none_or(|u| u == urgent))
        .filter_map(|r| {
            let rank = (
                class_specificity(&r.class, class)?,
                r.kind.is_some(),
                r.urgent.is_some(),
            );
            Some((rank, r.limit))
        })
        .max_by_key(|(rank, _)| *rank)
        .map(|(_, limit)| limit)
}

/// What a nearby open case of the same class means for a new report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// Attach the report to the open case.
    Attach,
    /// Open a new case and name the candidates.
    Suggest,
}

/// One line of `case_rules.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRule {
    pub kind: Option<ClassKind>,
    pub class: String,
    pub duplicate_radius_m: f64,
    pub duplicates: DuplicatePolicy,
    pub auto_file: bool,
    pub auto_dispatch: bool,
}

impl CaseRule {
    /// When no rule matches: 50 m, attach, people file and dispatch.
    pub fn default_rule() -> Self {
        Self {
            kind: None,
            class: "*".into(),
            duplicate_radius_m: 50.0,
            duplicates: DuplicatePolicy::Attach,
            auto_file: false,
            auto_dispatch: false,
        }
    }
}

pub fn case_rule(rules: &[CaseRule], kind: ClassKind, class: &str) -> CaseRule {
    rules
        .iter()
        .filter(|r| r.kind.is_none_or(|k| k == kind))
        .filter_map(|r| Some(((class_specificity(&r.class, class)?, r.kind.is_some()), r)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, r)| r.clone())
        .unwrap_or_else(CaseRule::default_rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sla(
        kind: Option<ClassKind>,
        class: &str,
        urgent: Option<bool>,
        limit: TimeLimit,
    ) -> SlaRule {
        SlaRule {
            kind,
            class: class.into(),
            urgent,
            stage: Stage::Handling,
            limit,
        }
    }

    #[test]
    fn the_most_specific_time_limit_wins() {
        use ClassKind::*;
        let rules = [
            sla(None, "*", None, TimeLimit::WorkingDays(1)),
            sla(Some(Event), "01", None, TimeLimit::WorkingDays(3)),
            sla(Some(Event), "0102", None, TimeLimit::WorkingHours(4)),
            sla(None, "*", Some(true), TimeLimit::WorkingHours(2)),
        ];
        let h = |kind, class, urgent| time_limit(&rules, kind, class, urgent, Stage::Handling);
        assert_eq!(h(Event, "0102", false), Some(TimeLimit::WorkingHours(4)));
        assert_eq!(h(Event, "0103", false), Some(TimeLimit::WorkingDays(3)));
        // Class beats urgency: an urgent 0102 keeps its class limit.
        assert_eq!(h(Event, "0102", true), Some(TimeLimit::WorkingHours(4)));
        assert_eq!(h(Component, "0102", false), Some(TimeLimit::WorkingDays(1)));
        assert_eq!(h(Component, "0102", true), Some(TimeLimit::WorkingHours(2)));
        assert_eq!(
            time_limit(&rules, Event, "0102", false, Stage::Filing),
            None,
            "no rule for the stage: no deadline"
        );
    }

    #[test]
    fn case_rules_fall_back_to_the_default() {
        let rules = [CaseRule {
            kind: Some(ClassKind::Component),
            class: "04".into(),
            duplicate_radius_m: 20.0,
            duplicates: DuplicatePolicy::Suggest,
            auto_file: true,
            auto_dispatch: true,
        }];
        assert!(case_rule(&rules, ClassKind::Component, "0401").auto_file);
        assert_eq!(
            case_rule(&rules, ClassKind::Event, "0401"),
            CaseRule::default_rule()
        );
    }
}
