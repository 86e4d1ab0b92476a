//! `Money`: an amount of money, exact to the cent, stored as `NUMERIC(10,2)` on PostgreSQL
//! and as decimal text on SQLite. SeaORM reads SQLite decimals through `f64`, which loses
//! cents on large amounts; `Money` reads the stored text instead.

use std::{fmt, str::FromStr};

use sea_orm::{
    ColIdx, QueryResult, TryGetError, TryGetable,
    prelude::Decimal,
    sea_query::{ArrayType, ColumnType, Nullable, Value, ValueType, ValueTypeErr},
};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// `value` rounded to the cent (half away from zero).
    pub fn new(value: Decimal) -> Self {
        Self(value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero))
    }

    pub fn from_cents(cents: i64) -> Self {
        Self(Decimal::new(cents, 2))
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// The amount in whole cents.
    pub fn cents(self) -> i64 {
        (self.0 * Decimal::ONE_HUNDRED)
            .trunc()
            .try_into()
            .unwrap_or(i64::MAX)
    }
}

impl fmt::Display for Money {
    /// Always two decimals: `50.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl FromStr for Money {
    type Err = rust_decimal::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::from_str_exact(s.trim()).map(Self::new)
    }
}

impl std::ops::Add for Money {
    type Output = Money;

    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 += other.0;
    }
}

impl std::ops::Sub for Money {
    type Output = Money;

    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl From<Money> for Value {
    fn from(money: Money) -> Value {
        Value::Decimal(Some(money.0))
    }
}

impl Nullable for Money {
    fn null() -> Value {
        Value::Decimal(None)
    }
}

impl ValueType for Money {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::Decimal(Some(d)) => Ok(Money(d)),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "Money".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::Decimal
    }

    fn column_type() -> ColumnType {
        ColumnType::Decimal(Some((10, 2)))
    }
}

impl TryGetable for Money {
    fn try_get_by<I: ColIdx>(res: &QueryResult, index: I) -> Result<Self, TryGetError> {
        // SQLite holds the exact text; PostgreSQL refuses text for NUMERIC and answers
        // a decimal instead.
        match String::try_get_by(res, index) {
            Ok(text) => text.parse().map_err(|err: rust_decimal::Error| {
                TryGetError::DbErr(sea_orm::DbErr::Type(err.to_string()))
            }),
            Err(TryGetError::Null(column)) => Err(TryGetError::Null(column)),
            Err(_) => Decimal::try_get_by(res, index).map(Money),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_with_two_decimals() {
        assert_eq!("50".parse::<Money>().unwrap().to_string(), "50.00");
        assert_eq!("0.1".parse::<Money>().unwrap().to_string(), "0.10");
        assert_eq!(
            "99999999.99".parse::<Money>().unwrap().to_string(),
            "99999999.99"
        );
    }

    #[test]
    fn rounded_to_the_cent() {
        assert_eq!("1.005".parse::<Money>().unwrap().to_string(), "1.01");
        assert_eq!("1.004".parse::<Money>().unwrap().to_string(), "1.00");
    }

    #[test]
    fn cents_round_trip() {
        assert_eq!(Money::from_cents(12345).to_string(), "123.45");
        assert_eq!(Money::from_cents(12345).cents(), 12345);
    }
}
