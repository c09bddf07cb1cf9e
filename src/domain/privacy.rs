//! What a citizen's own words may show in public: phone numbers, ID-card
//! numbers and e-mail addresses are masked before any public surface sees them.

/// Digits in a row (ASCII or full-width, with single spaces or hyphens before
/// groups of three or more) from this many on are a phone or ID-card number: mobile numbers
/// have 11, landlines 7–8 after the area code, ID cards 18 (the last may be X).
const MASK_FROM_DIGITS: usize = 7;

fn digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

fn email_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '%')
}

/// `text` with every long run of digits masked but its first 3 and last 2
/// digits (`139******00`) and every e-mail address's local part masked
/// (`***@example.com`).
pub fn mask_personal_data(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut masked = chars.clone();
    mask_numbers(&chars, &mut masked);
    mask_emails(&chars, &mut masked);
    masked.into_iter().collect()
}

/// How many digits follow from `at` in a row.
fn group_len(chars: &[char], at: usize) -> usize {
    chars[at.min(chars.len())..]
        .iter()
        .take_while(|c| digit(**c))
        .count()
}

fn mask_numbers(chars: &[char], out: &mut [char]) {
    let mut i = 0;
    while i < chars.len() {
        if !digit(chars[i]) {
            i += 1;
            continue;
        }
        // A run: digits, allowing one separator between digits, and a final X.
        let mut digits = vec![i];
        let mut j = i + 1;
        while j < chars.len() {
            if digit(chars[j]) {
                digits.push(j);
                j += 1;
            } else if matches!(chars[j], ' ' | '-') && group_len(chars, j + 1) >= 3 {
                // 139 0013 9000, 0917-3212345; not a date's 2026-11-25.
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
            for &k in &digits[3..digits.len() - 2] {
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
        // Short numbers (house numbers, counts, dates) stay.
        assert_eq!(
            mask_personal_data("经二路12号 3个井盖 2026-11-25"),
            "经二路12号 3个井盖 2026-11-25"
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

        #[test]
        fn every_mobile_number_is_masked(prefix in "[a-z ]{0,5}", n in 13_000_000_000u64..19_999_999_999) {
            let m = mask_personal_data(&format!("{prefix}{n}"));
            prop_assert!(!m.contains(&n.to_string()));
        }
    }
}
