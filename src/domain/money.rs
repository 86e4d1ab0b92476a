//! What an amount of money may be: what `NUMERIC(10,2)` holds, and the exact spellings a
//! request may use. The wire types in `api::amount` read and write these; sync's rows are
//! rounded by the same rule.

use entities::money::Money;

/// The largest amount, in cents, that `NUMERIC(10,2)` holds.
const MAX_CENTS: i64 = 9_999_999_999;

/// `text` as a storable amount, rounded to the cent: any decimal spelling `Money` reads
/// (a sign, surrounding spaces, more decimals) within what the column holds.
pub fn storable(text: &str) -> Option<Money> {
    text.parse::<Money>()
        .ok()
        .filter(|money| money.cents().abs() <= MAX_CENTS)
}

/// `text` as an amount a request may send: no sign, no leading zeros, at most eight digits
/// before the point and two after, nothing rounded (`"+5"`, `" 5"`, `"5.001"` are refused);
/// `positive` refuses 0 too.
pub fn requested(text: &str, positive: bool) -> Option<Money> {
    if !well_formed(text) {
        return None;
    }
    text.parse::<Money>()
        .ok()
        .filter(|money| !positive || *money > Money::ZERO)
}

fn well_formed(text: &str) -> bool {
    let (whole, cents) = match text.split_once('.') {
        Some((whole, cents)) => (whole, Some(cents)),
        None => (text, None),
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let whole_ok = whole == "0"
        || (digits(whole) && (1..=8).contains(&whole.len()) && !whole.starts_with('0'));
    let cents_ok = cents.is_none_or(|cents| digits(cents) && (1..=2).contains(&cents.len()));
    whole_ok && cents_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(money: Option<Money>) -> Option<String> {
        money.map(|money| money.to_string())
    }

    #[test]
    fn storable_amounts_are_rounded_to_the_cent_within_the_column() {
        assert_eq!(shown(storable("12.5")), Some("12.50".into()));
        assert_eq!(shown(storable("-3.005")), Some("-3.01".into()));
        assert_eq!(shown(storable("99999999.99")), Some("99999999.99".into()));
        assert_eq!(storable("100000000.00"), None);
        assert_eq!(storable("12,50"), None);
        assert_eq!(storable(""), None);
    }

    #[test]
    fn requested_amounts_take_only_the_plain_spelling() {
        assert_eq!(shown(requested("0.5", true)), Some("0.50".into()));
        assert_eq!(shown(requested("0", false)), Some("0.00".into()));
        assert_eq!(requested("0", true), None);
        assert_eq!(requested("0.00", true), None);
        for refused in ["-1", "+1", "01", " 1", "1.005", "100000000", "1.", ".5", ""] {
            assert_eq!(requested(refused, false), None, "{refused:?}");
        }
    }
}
