//! Paging a list: `skip` rows, then at most `limit`. Lists the contract answers whole keep
//! doing so when no `limit` is sent; the bounds, declared on each operation, are
//! `/expenses`'s.

/// Which rows of a list to answer.
#[derive(Clone, Copy, Debug, Default)]
pub struct Page {
    pub skip: u64,
    /// All of them when `None`.
    pub limit: Option<u64>,
}

impl Page {
    /// `rows` from position `skip`, at most `limit` of them.
    pub fn of<T>(self, rows: Vec<T>) -> Vec<T> {
        let skip = usize::try_from(self.skip).unwrap_or(usize::MAX);
        let limit = self
            .limit
            .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        rows.into_iter().skip(skip).take(limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_then_takes_at_most_the_limit() {
        let rows: Vec<u32> = (0..10).collect();
        let page = |skip, limit| Page { skip, limit };
        assert_eq!(page(0, None).of(rows.clone()), rows);
        assert_eq!(page(3, Some(2)).of(rows.clone()), vec![3, 4]);
        assert_eq!(page(8, Some(5)).of(rows.clone()), vec![8, 9]);
        assert!(page(2_147_483_647, None).of(rows).is_empty());
    }
}
