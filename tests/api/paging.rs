//! `skip` and `limit` on the lists that answer everything by default (todos, shopping lists,
//! a list's items): a page is a slice of the whole answer in its order, and every row is on
//! exactly one page.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Flat, flat};

fn ids(body: &Value) -> Vec<String> {
    body.as_array()
        .expect("a list")
        .iter()
        .map(|row| row["id"].as_str().expect("id").to_owned())
        .collect()
}

/// `path` answered whole, then in pages of 2: the pages put together are the whole answer,
/// and the bounds are refused as `/expenses` refuses them.
async fn pages_cover_the_whole_answer(f: &Flat, path: &str, rows: usize) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, whole) = f.app.get(path, &f.owner).await;
    assert_eq!(status, StatusCode::OK, "{whole}");
    let whole = ids(&whole);
    assert_eq!(whole.len(), rows, "no limit answers every row");
    let mut paged = Vec::new();
    for skip in (0..rows + 2).step_by(2) {
        let (status, page) = f
            .app
            .get(&format!("{path}{sep}skip={skip}&limit=2"), &f.owner)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page = ids(&page);
        assert!(page.len() <= 2);
        paged.extend(page);
    }
    assert_eq!(paged, whole);
    for bad in ["limit=0", "limit=1001", "skip=-1", "skip=2147483648"] {
        let (status, body) = f.app.get(&format!("{path}{sep}{bad}"), &f.owner).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["details"][0]["loc"][0], "query", "{bad}: {body}");
    }
}

#[tokio::test]
async fn todos_page_in_the_lists_order() {
    let f = flat().await;
    for (title, priority) in [
        ("a", "low"),
        ("b", "high"),
        ("c", "medium"),
        ("d", "high"),
        ("e", "low"),
    ] {
        let (status, body) = f
            .app
            .post(
                "/api/v1/todos",
                &f.owner,
                json!({"household_id": f.household, "title": title, "priority": priority}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    pages_cover_the_whole_answer(
        &f,
        &format!("/api/v1/todos?household_id={}", f.household),
        5,
    )
    .await;
}

#[tokio::test]
async fn shopping_lists_and_their_items_page() {
    let f = flat().await;
    let mut list = String::new();
    for name in ["Weekly", "Party", "DIY"] {
        let (status, body) = f
            .app
            .post(
                "/api/v1/shopping-lists",
                &f.owner,
                json!({"household_id": f.household, "name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        list = body["id"].as_str().expect("id").to_owned();
    }
    for name in ["Milk", "Eggs", "Bread", "Tea", "Rice"] {
        let (status, body) = f
            .app
            .post(
                &format!("/api/v1/shopping-lists/{list}/items"),
                &f.owner,
                json!({"name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    pages_cover_the_whole_answer(
        &f,
        &format!("/api/v1/shopping-lists?household_id={}", f.household),
        3,
    )
    .await;
    pages_cover_the_whole_answer(&f, &format!("/api/v1/shopping-lists/{list}/items"), 5).await;
}
