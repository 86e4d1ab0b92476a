//! How an expense is shared among flatmates.

use entities::money::Money;

/// `amount` in `parties` shares, to the cent, that always sum to `amount` exactly and differ
/// by at most one cent: the cents left over by rounding go to the first shares (the old
/// backend dropped them, so shares could sum to less than the expense).
pub fn equal_shares(amount: Money, parties: usize) -> Vec<Money> {
    if parties == 0 {
        return Vec::new();
    }
    let cents = amount.cents();
    let parties_i64 = parties as i64;
    let (base, leftover) = (cents / parties_i64, cents % parties_i64);
    (0..parties_i64)
        .map(|i| Money::from_cents(base + i64::from(i < leftover)))
        .collect()
}

/// Custom shares may differ from the amount by rounding, at most a cent.
pub fn sums_to(shares: &[Money], amount: Money) -> bool {
    let total: Money = shares.iter().copied().sum();
    (total.cents() - amount.cents()).abs() <= 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money(text: &str) -> Money {
        text.parse().expect("an amount")
    }

    #[test]
    fn leftover_cents_go_to_the_first_shares() {
        assert_eq!(
            equal_shares(money("100.00"), 3),
            [money("33.34"), money("33.33"), money("33.33")]
        );
        assert_eq!(
            equal_shares(money("0.01"), 2),
            [money("0.01"), money("0.00")]
        );
        assert_eq!(equal_shares(money("10"), 1), [money("10")]);
        assert!(equal_shares(money("10"), 0).is_empty());
    }

    #[test]
    fn custom_shares_are_checked_to_the_cent() {
        assert!(sums_to(&[money("50"), money("50")], money("100")));
        assert!(sums_to(
            &[money("33.33"), money("33.33"), money("33.33")],
            money("100")
        ));
        assert!(!sums_to(&[money("50"), money("49.98")], money("100")));
    }

    proptest! {
        #[test]
        fn equal_shares_sum_exactly_and_differ_by_at_most_a_cent(
            cents in 1i64..=9_999_999_999,
            parties in 1usize..=20,
        ) {
            let amount = Money::from_cents(cents);
            let shares = equal_shares(amount, parties);
            prop_assert_eq!(shares.len(), parties);
            prop_assert_eq!(shares.iter().copied().sum::<Money>(), amount);
            let (min, max) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
            prop_assert!((max.cents() - min.cents()) <= 1);
        }
    }
}
