//! Which department a case goes to by `routing.csv`: the most specific rule
//! wins — the longest class match first (`*` < major class < class), then the
//! longest area prefix (`*` < district < street < community < grid).

use super::codes::ClassKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRule {
    pub kind: ClassKind,
    /// `*`, a 2-digit major class or a 4-digit class.
    pub class: String,
    /// `*` or a prefix of admin/grid codes.
    pub area: String,
    pub department: String,
}

fn specificity(pattern: &str, value: &str) -> Option<usize> {
    if pattern == "*" {
        Some(0)
    } else if value.starts_with(pattern) {
        Some(pattern.len())
    } else {
        None
    }
}

/// The rule for a case of `kind` and `class` in unit grid `grid` (whose code
/// starts with its community, street and district codes).
pub fn route<'a>(
    rules: &'a [RoutingRule],
    kind: ClassKind,
    class: &str,
    grid: &str,
) -> Option<&'a RoutingRule> {
    rules
        .iter()
        .filter(|r| r.kind == kind)
        .filter_map(|r| {
            Some((
                (specificity(&r.class, class)?, specificity(&r.area, grid)?),
                r,
            ))
        })
        .max_by_key(|(rank, _)| *rank)
        .map(|(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: ClassKind, class: &str, area: &str, dept: &str) -> RoutingRule {
        RoutingRule {
            kind,
            class: class.into(),
            area: area.into(),
            department: dept.into(),
        }
    }

    #[test]
    fn most_specific_class_then_area() {
        use ClassKind::*;
        let rules = vec![
            rule(Event, "*", "*", "urban-mgmt"),
            rule(Event, "01", "*", "urban-mgmt"),
            rule(Event, "01", "610302", "sanitation-wb"),
            rule(Event, "0101", "*", "urban-mgmt-city"),
            rule(Event, "01", "610302001", "street-office"),
            rule(Component, "0101", "*", "water-co"),
        ];
        let grid = "610302001001007";
        let dept = |class: &str, grid: &str| {
            route(&rules, Event, class, grid).map(|r| r.department.as_str())
        };
        // Class beats area: a 4-digit class rule wins over a street-level major-class rule.
        assert_eq!(dept("0101", grid), Some("urban-mgmt-city"));
        // Same class length: the longer area wins.
        assert_eq!(dept("0102", grid), Some("street-office"));
        assert_eq!(dept("0102", "610302002001001"), Some("sanitation-wb"));
        assert_eq!(dept("0102", "610303001001001"), Some("urban-mgmt"));
        assert_eq!(dept("0501", grid), Some("urban-mgmt"));
        // The kind is part of a class's identity.
        assert_eq!(
            route(&rules, Component, "0101", grid).map(|r| r.department.as_str()),
            Some("water-co")
        );
        assert_eq!(route(&rules, Component, "0102", grid), None);
    }
}
