//! What a citizen's own words may show in public: phone numbers, ID-card
//! numbers and e-mail addresses are masked before any public surface sees them.

/// Digits in a row (ASCII or full-width; groups of two or more joined by one
/// space, hyphen or dot) from this many on are a phone or ID-card number:
/// mobile numbers have 11, landlines 7–8 after the area code, ID cards 18 (the
/// last may be X). A date (`2026-11-25`, `2026.11.25`) is not.
const MASK_FROM_DIGITS: usize = 7;

/// From this many digits on the first 3 stay visible (`139******00`); shorter
/// numbers show only their last 2.
const KEEP_PREFIX_FROM: usize = 11;

fn separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '\u{3000}' | '－' | '．')
}

fn digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

fn email_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '%')
}

/// `text` with every long run of digits masked but its last 2 digits (and
/// its first 3 from 11 digits on: `139******00`) and every e-mail address's
/// local part masked (`***@example.com`).
pub fn mask_personal_data(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut masked = chars.clone();
    mask_numbers(&chars, &mut masked);
    mask_emails(&chars, &mut masked);
    masked.into_iter().collect()
}

/// Where dates are (`2026-11-25`, `2026.11.25`, not inside a longer
/// number): they are not phone numbers, and they end a run of digits.
fn dates(chars: &[char]) -> Vec<bool> {
    let mut in_date = vec![false; chars.len()];
    let d = |k: usize| chars.get(k).is_some_and(|c| digit(*c));
    for at in 0..chars.len() {
        let shape = (0..4).all(|k| d(at + k))
            && chars
                .get(at + 4)
                .is_some_and(|c| matches!(c, '-' | '.' | '－' | '．'))
            && d(at + 5)
            && d(at + 6)
            && chars.get(at + 7) == chars.get(at + 4)
            && d(at + 8)
            && d(at + 9);
        if !shape {
            continue;
        }
        let number = |from: usize, len: usize| -> u32 {
            chars[from..from + len]
                .iter()
                .filter_map(|c| c.to_digit(10).or_else(|| Some(*c as u32 - '０' as u32)))
                .fold(0, |n, v| n * 10 + v)
        };
        let plausible = (1900..=2099).contains(&number(at, 4))
            && (1..=12).contains(&number(at + 5, 2))
            && (1..=31).contains(&number(at + 8, 2));
        // Not part of a longer number grouped the same way (1300-00-00-000).
        let sep = chars[at + 4];
        let before = at > 0 && (d(at - 1) || at > 1 && chars[at - 1] == sep && d(at - 2));
        let after = d(at + 10) || chars.get(at + 10) == Some(&sep) && d(at + 11);
        if plausible && !before && !after {
            in_date[at..at + 10].fill(true);
        }
    }
    in_date
}

fn mask_numbers(chars: &[char], out: &mut [char]) {
    let in_date = dates(chars);
    let is_digit = |k: usize| k < chars.len() && digit(chars[k]) && !in_date[k];
    let group_len = |at: usize| (at..chars.len()).take_while(|&k| is_digit(k)).count();
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(i) {
            i += 1;
            continue;
        }
        // A run: groups of digits, one separator between groups of two or
        // more (139 0013 9000, 139 00 139 000, 0917-3212345), and a final X.
        let mut digits: Vec<usize> = vec![];
        let mut j = i;
        loop {
            let len = group_len(j);
            digits.extend(j..j + len);
            j += len;
            if j < chars.len() && separator(chars[j]) && group_len(j + 1) >= 2 {
                j += 1;
            } else {
                break;
            }
        }
        if j < chars.len() && matches!(chars[j], 'X' | 'x') && digits.len() == 17 {
            digits.push(j);
            j += 1;
        }
        if digits.len() >= MASK_FROM_DIGITS {
            let keep = if digits.len() >= KEEP_PREFIX_FROM {
                3
            } else {
                0
            };
            for &k in &digits[keep..digits.len() - 2] {
                out[k] = '*';
            }
        }
        i = j;
    }
}

fn mask_emails(chars: &[char], out: &mut [char]) {
    for (at, &c) in chars.iter().enumerate() {
        if c != '@' {
            continue;
        }
        let domain_ok = chars.get(at + 1).is_some_and(|c| c.is_ascii_alphanumeric());
        let mut start = at;
        while start > 0 && email_char(chars[start - 1]) {
            start -= 1;
        }
        if domain_ok && start < at {
            for k in start..at {
                out[k] = '*';
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_phones_ids_and_emails() {
        assert_eq!(
            mask_personal_data("sewer blocked, resident Li Si 13900139000"),
            "sewer blocked, resident Li Si 139******00"
        );
        assert_eq!(
            mask_personal_data("身份证610302199001011234，电话 0917-3212345"),
            "身份证610*************34，电话 091*-*****45"
        );
        assert_eq!(
            mask_personal_data("ID 61030219900101123X"),
            "ID 610*************3X"
        );
        assert_eq!(
            mask_personal_data("mail li.si+x@example.com please"),
            "mail *******@example.com please"
        );
        assert_eq!(
            mask_personal_data("１３９００１３９０００"),
            "１３９******００"
        );
        assert_eq!(mask_personal_data("139 0013 9000"), "139 **** **00");
        // However the digits are grouped.
        assert_eq!(mask_personal_data("139 00 139 000"), "139 ** *** *00");
        assert_eq!(mask_personal_data("139.0013.9000"), "139.****.**00");
        // A bare landline shows only its last two digits.
        assert_eq!(mask_personal_data("tel 3212345"), "tel *****45");
        // Short numbers (house numbers, counts, dates, times) stay.
        assert_eq!(
            mask_personal_data("经二路12号 3个井盖 2026-11-25 10:30 2026.11.25"),
            "经二路12号 3个井盖 2026-11-25 10:30 2026.11.25"
        );
        // A date does not hide a number after it.
        assert_eq!(
            mask_personal_data("2026-11-25 13900139000"),
            "2026-11-25 139******00"
        );
    }

    proptest! {
        /// Any text: no panic, the same number of characters, and no run of
        /// seven digits survives.
        #[test]
        fn never_panics_and_leaves_no_long_number(s in "\\PC{0,80}") {
            let m = mask_personal_data(&s);
            prop_assert_eq!(m.chars().count(), s.chars().count());
            let mut run = 0;
            for c in m.chars() {
                run = if digit(c) { run + 1 } else { 0 };
                prop_assert!(run < MASK_FROM_DIGITS, "{} → {}", s, m);
            }
        }

        /// However a mobile number is grouped, at most its first 3 and last 2
        /// digits show.
        #[test]
        fn a_grouped_mobile_number_shows_five_digits_at_most(
            n in 13_000_000_000u64..19_999_999_999,
            cuts in proptest::collection::vec(2usize..5, 0..4),
            sep in "[ .-]",
        ) {
            let digits = n.to_string();
            let mut text = String::new();
            let mut at = 0;
            for cut in cuts {
                if at + cut + 2 > digits.len() {
                    break;
                }
                text.push_str(&digits[at..at + cut]);
                text.push_str(&sep);
                at += cut;
            }
            text.push_str(&digits[at..]);
            let m = mask_personal_data(&format!("call {text} now"));
            prop_assert!(m.chars().filter(char::is_ascii_digit).count() <= 5, "{} → {}", text, m);
        }

        #[test]
        fn every_mobile_number_is_masked(prefix in "[a-z ]{0,5}", n in 13_000_000_000u64..19_999_999_999) {
            let m = mask_personal_data(&format!("{prefix}{n}"));
            prop_assert!(!m.contains(&n.to_string()));
        }
    }
}
