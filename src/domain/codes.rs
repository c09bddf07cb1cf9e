//! The GB/T 30428 code scheme: admin areas, unit grids, classes and components.
//!
//! Codes are kept as validated strings: leading zeros matter and codes are
//! compared and prefixed as text everywhere (PostgreSQL, CSV, the API).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("{what} code {value:?} must be {digits} digits")]
    Format {
        what: &'static str,
        value: String,
        digits: usize,
    },
    #[error(
        "grid code {0:?} has 14 digits (old CJ/T 213 form); convert it to the 15-digit GB/T 30428 form (12-digit community + 3-digit serial)"
    )]
    LegacyGrid(String),
    #[error("grid code {0:?} has serial 000; serials run 001-999")]
    ZeroSerial(String),
    #[error("component code {code:?} says class {in_code}, but its class is {class}")]
    ClassMismatch {
        code: String,
        in_code: String,
        class: String,
    },
}

fn all_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

macro_rules! digit_code {
    ($(#[$doc:meta])* $name:ident, $what:literal, $digits:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const DIGITS: usize = $digits;

            pub fn parse(s: &str) -> Result<Self, CodeError> {
                let s = s.trim();
                if all_digits(s, $digits) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(CodeError::Format { what: $what, value: s.to_owned(), digits: $digits })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

digit_code!(
    /// GB/T 2260 district (区县) code, 6 digits.
    DistrictCode, "district", 6);
digit_code!(
    /// Street (街道/乡镇) code, 9 digits; its first 6 are the district.
    StreetCode, "street", 9);
digit_code!(
    /// Community (社区/村) code, 12 digits; its first 9 are the street.
    CommunityCode, "community", 12);
digit_code!(
    /// Class code, 4 digits: 2-digit major class + 2-digit minor class.
    ClassCode, "class", 4);

/// The level of an admin area, known from the length of its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminLevel {
    District,
    Street,
    Community,
}

impl AdminLevel {
    pub fn digits(self) -> usize {
        match self {
            AdminLevel::District => 6,
            AdminLevel::Street => 9,
            AdminLevel::Community => 12,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AdminLevel::District => "district",
            AdminLevel::Street => "street",
            AdminLevel::Community => "community",
        }
    }

    /// The level above, whose code is this code's prefix.
    pub fn parent(self) -> Option<AdminLevel> {
        match self {
            AdminLevel::District => None,
            AdminLevel::Street => Some(AdminLevel::District),
            AdminLevel::Community => Some(AdminLevel::Street),
        }
    }

    /// Checks that `code` is a code of this level.
    pub fn parse(self, code: &str) -> Result<String, CodeError> {
        let code = code.trim();
        if all_digits(code, self.digits()) {
            Ok(code.to_owned())
        } else {
            Err(CodeError::Format {
                what: self.name(),
                value: code.to_owned(),
                digits: self.digits(),
            })
        }
    }
}

/// Unit grid (单元网格) code: 15 digits = 12-digit community + 3-digit serial.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GridCode(String);

impl GridCode {
    pub const DIGITS: usize = 15;

    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let s = s.trim();
        if all_digits(s, 14) {
            return Err(CodeError::LegacyGrid(s.to_owned()));
        }
        if !all_digits(s, 15) {
            return Err(CodeError::Format {
                what: "grid",
                value: s.to_owned(),
                digits: 15,
            });
        }
        if &s[12..] == "000" {
            return Err(CodeError::ZeroSerial(s.to_owned()));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn community(&self) -> &str {
        &self.0[..12]
    }
    pub fn street(&self) -> &str {
        &self.0[..9]
    }
    pub fn district(&self) -> &str {
        &self.0[..6]
    }
}

impl fmt::Display for GridCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Component (部件) code: 16 digits = 6-digit district + 4-digit class + 6-digit serial.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComponentCode(String);

impl ComponentCode {
    pub const DIGITS: usize = 16;

    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let s = s.trim();
        if all_digits(s, 16) {
            Ok(Self(s.to_owned()))
        } else {
            Err(CodeError::Format {
                what: "component",
                value: s.to_owned(),
                digits: 16,
            })
        }
    }

    /// Parses the code and checks that its class digits agree with `class`.
    pub fn parse_for_class(s: &str, class: &ClassCode) -> Result<Self, CodeError> {
        let code = Self::parse(s)?;
        if code.class() != class.as_str() {
            return Err(CodeError::ClassMismatch {
                code: code.0.clone(),
                in_code: code.class().to_owned(),
                class: class.as_str().to_owned(),
            });
        }
        Ok(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn district(&self) -> &str {
        &self.0[..6]
    }
    pub fn class(&self) -> &str {
        &self.0[6..10]
    }
}

impl fmt::Display for ComponentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a class is a component (部件) or an event (事件) class; codes overlap
/// between the two, so the kind is part of a class's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassKind {
    Component,
    Event,
}

impl ClassKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "component" => Some(ClassKind::Component),
            "event" => Some(ClassKind::Event),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ClassKind::Component => "component",
            ClassKind::Event => "event",
        }
    }
}

/// Component state: 完好/破损/丢失/占用/废弃.
pub const COMPONENT_STATES: [&str; 5] = ["intact", "damaged", "lost", "encroached", "removed"];

/// A department code: a short identifier such as `water-co`.
pub fn is_department_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grid_code_parts() {
        let g = GridCode::parse("610302001001007").unwrap();
        assert_eq!(g.community(), "610302001001");
        assert_eq!(g.street(), "610302001");
        assert_eq!(g.district(), "610302");
    }

    #[test]
    fn legacy_and_bad_grid_codes_are_refused() {
        assert!(matches!(
            GridCode::parse("61030200100107"),
            Err(CodeError::LegacyGrid(_))
        ));
        assert!(matches!(
            GridCode::parse("610302001001000"),
            Err(CodeError::ZeroSerial(_))
        ));
        assert!(GridCode::parse("61030200100100a").is_err());
        assert!(GridCode::parse("").is_err());
    }

    #[test]
    fn component_code_class_must_agree() {
        let c = ClassCode::parse("0101").unwrap();
        assert!(ComponentCode::parse_for_class("6103020101000001", &c).is_ok());
        let other = ClassCode::parse("0102").unwrap();
        assert!(matches!(
            ComponentCode::parse_for_class("6103020101000001", &other),
            Err(CodeError::ClassMismatch { .. })
        ));
    }

    proptest! {
        #[test]
        fn any_15_digit_code_with_nonzero_serial_parses(community in "[0-9]{12}", serial in 1u32..1000) {
            let s = format!("{community}{serial:03}");
            let g = GridCode::parse(&s).unwrap();
            prop_assert_eq!(g.community(), community.as_str());
            prop_assert_eq!(g.as_str(), s.as_str());
        }

        #[test]
        fn wrong_lengths_never_parse(s in "[0-9]{0,20}") {
            prop_assume!(s.len() != 15);
            prop_assert!(GridCode::parse(&s).is_err());
            prop_assert_eq!(ComponentCode::parse(&s).is_ok(), s.len() == 16);
        }
    }
}
