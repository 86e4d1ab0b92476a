//! Paging a list answer: `skip` rows, then at most `limit`. Lists the contract answers whole
//! keep doing so when no `limit` is sent; the bounds, declared on each operation, are
//! `/expenses`'s.

/// `rows` from position `skip`, at most `limit` of them (all when `None`).
pub fn page<T>(rows: Vec<T>, skip: u64, limit: Option<u64>) -> Vec<T> {
    let skip = usize::try_from(skip).unwrap_or(usize::MAX);
    let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    rows.into_iter().skip(skip).take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_then_takes_at_most_the_limit() {
        let rows: Vec<u32> = (0..10).collect();
        assert_eq!(page(rows.clone(), 0, None), rows);
        assert_eq!(page(rows.clone(), 3, Some(2)), vec![3, 4]);
        assert_eq!(page(rows.clone(), 8, Some(5)), vec![8, 9]);
        assert!(page(rows, 2_147_483_647, None).is_empty());
    }
}
