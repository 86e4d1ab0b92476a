//! Shopping lists, items and categories: every route's success and error cases, money
//! exact to the cent, and items that can only be reached through their own household.

use poem::http::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{Flat, flat};

impl Flat {
    async fn new_list(&self, name: &str) -> String {
        let (status, list) = self
            .app
            .post(
                "/api/v1/shopping-lists",
                &self.owner,
                json!({"household_id": self.household, "name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{list}");
        list["id"].as_str().expect("id").to_owned()
    }

    async fn new_item(&self, list: &str, body: Value) -> Value {
        let (status, item) = self
            .app
            .post(
                &format!("/api/v1/shopping-lists/{list}/items"),
                &self.member,
                body,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{item}");
        item
    }
}

fn id(value: &Value) -> &str {
    value["id"].as_str().expect("id")
}

#[tokio::test]
async fn create_list_and_read_it_back_with_items_and_names() {
    let f = flat().await;
    let (status, list) = f
        .app
        .post(
            "/api/v1/shopping-lists/",
            &f.owner,
            json!({"household_id": f.household, "name": "Weekly", "description": "Lidl"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(list["status"], "active");
    assert_eq!(list["description"], "Lidl");
    let list_id = id(&list).to_owned();
    f.new_item(&list_id, json!({"name": "Milk", "quantity": 2, "unit": "l", "price": "1.10", "assigned_to_id": f.owner.id})).await;
    let (status, detail) = f
        .app
        .get(&format!("/api/v1/shopping-lists/{list_id}"), &f.member)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["created_by_name"], "Olive");
    assert_eq!(detail["created_by_email"], f.owner.email.as_str());
    let item = &detail["items"][0];
    assert_eq!(item["name"], "Milk");
    assert_eq!(item["quantity"], 2.0);
    assert_eq!(item["price"], "1.10");
    assert_eq!(item["created_by_name"], "Max");
    assert_eq!(item["assigned_to_name"], "Olive");
    assert_eq!(item["checked_off_by_name"], Value::Null);
}

#[tokio::test]
async fn lists_are_newest_first_and_archived_only_on_request() {
    let f = flat().await;
    let old = f.new_list("Old").await;
    f.new_list("New").await;
    let (status, _) = f
        .app
        .put(
            &format!("/api/v1/shopping-lists/{old}"),
            &f.owner,
            json!({"status": "ARCHIVED"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let names = |body: Value| -> Vec<String> {
        body.as_array()
            .expect("array")
            .iter()
            .map(|l| l["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let base = format!("/api/v1/shopping-lists?household_id={}", f.household);
    assert_eq!(names(f.app.get(&base, &f.member).await.1), ["New"]);
    assert_eq!(
        names(
            f.app
                .get(&format!("{base}&include_archived=true"), &f.member)
                .await
                .1
        ),
        ["New", "Old"]
    );
    assert_eq!(
        names(
            f.app
                .get(&format!("{base}&status=archived"), &f.member)
                .await
                .1
        ),
        ["Old"]
    );
    let (status, _) = f.app.get(&format!("{base}&status=gone"), &f.member).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn update_and_delete_a_list_with_its_items() {
    let f = flat().await;
    let list = f.new_list("Weekly").await;
    f.new_item(&list, json!({"name": "Milk"})).await;
    let path = format!("/api/v1/shopping-lists/{list}");
    let (status, body) = f
        .app
        .put(
            &path,
            &f.member,
            json!({"name": "Weekend", "description": "market"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["name"].as_str(), body["description"].as_str()),
        (Some("Weekend"), Some("market"))
    );
    let (status, _) = f.app.put(&path, &f.member, json!({"name": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        f.app.delete(&path, &f.member).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM shopping_lists")
            .await,
        0
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM shopping_list_items")
            .await,
        0
    );
    assert_eq!(f.app.get(&path, &f.member).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn listing_items_tells_an_empty_list_from_a_missing_one_and_keeps_prices_exact() {
    let f = flat().await;
    let list = f.new_list("Weekly").await;
    let items = format!("/api/v1/shopping-lists/{list}/items");
    assert_eq!(
        f.app.get(&items, &f.member).await,
        (StatusCode::OK, json!([]))
    );
    f.new_item(
        &list,
        json!({"name": "Cheese", "price": "99999999.99", "quantity": 0.25}),
    )
    .await;
    f.new_item(&list, json!({"name": "Salt", "price": 0.1}))
        .await;
    let (status, listed) = f.app.get(&items, &f.member).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let prices: Vec<&Value> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|item| &item["price"])
        .collect();
    assert_eq!(prices, [&json!("99999999.99"), &json!("0.10")]);
    assert_eq!(listed[0]["quantity"], json!(0.25));
    // A filter that keeps nothing is an empty list, not a refusal.
    assert_eq!(
        f.app
            .get(&format!("{items}?is_purchased=true"), &f.member)
            .await,
        (StatusCode::OK, json!([]))
    );
    let missing = format!("/api/v1/shopping-lists/{}/items", uuid::Uuid::new_v4());
    let (status, body) = f.app.get(&missing, &f.member).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["detail"], "Shopping list not found");
}

#[tokio::test]
async fn items_are_unpurchased_first_then_by_position_and_filterable() {
    let f = flat().await;
    let list = f.new_list("Weekly").await;
    let bread = f
        .new_item(
            &list,
            json!({"name": "Bread", "position": 2, "category": "bakery"}),
        )
        .await;
    f.new_item(&list, json!({"name": "Eggs", "position": 1}))
        .await;
    f.new_item(
        &list,
        json!({"name": "Apples", "position": 3, "category": "fruit"}),
    )
    .await;
    let path = format!(
        "/api/v1/shopping-lists/{list}/items/{}/purchase",
        id(&bread)
    );
    let (status, purchased) = f
        .app
        .patch(&path, &f.owner, json!({"is_purchased": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(purchased["checked_off_by"], f.owner.id.to_string());
    assert!(
        purchased["checked_off_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let names = |body: Value| -> Vec<String> {
        body.as_array()
            .expect("array")
            .iter()
            .map(|i| i["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let items = format!("/api/v1/shopping-lists/{list}/items");
    assert_eq!(
        names(f.app.get(&items, &f.member).await.1),
        ["Eggs", "Apples", "Bread"]
    );
    assert_eq!(
        names(
            f.app
                .get(&format!("{items}?is_purchased=true"), &f.member)
                .await
                .1
        ),
        ["Bread"]
    );
    assert_eq!(
        names(
            f.app
                .get(&format!("{items}?category=fruit"), &f.member)
                .await
                .1
        ),
        ["Apples"]
    );
    let (_, detail) = f
        .app
        .get(
            &format!("/api/v1/shopping-lists/{list}?is_purchased=false"),
            &f.member,
        )
        .await;
    assert_eq!(names(detail["items"].clone()), ["Eggs", "Apples"]);
    let (_, unchecked) = f
        .app
        .patch(&path, &f.owner, json!({"is_purchased": false}))
        .await;
    assert_eq!(unchecked["checked_off_by"], Value::Null);
    assert_eq!(unchecked["checked_off_at"], Value::Null);
}

#[tokio::test]
async fn item_bounds_are_422() {
    let f = flat().await;
    let list = f.new_list("Weekly").await;
    let path = format!("/api/v1/shopping-lists/{list}/items");
    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(201)}),
        json!({"name": "Milk", "quantity": 0}),
        json!({"name": "Milk", "quantity": -1.5}),
        json!({"name": "Milk", "price": -0.01}),
        json!({"name": "Milk", "price": "-5"}),
        json!({"name": "Milk", "price": "abc"}),
        json!({"name": "Milk", "price": "100000000.00"}),
        json!({"name": "Milk", "unit": "x".repeat(51)}),
        json!({"name": "Milk", "notes": "x".repeat(501)}),
        json!({"name": "Milk", "position": -1}),
    ] {
        let (status, body) = f.app.post(&path, &f.member, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(body["error"], "validation_error");
    }
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM shopping_list_items")
            .await,
        0
    );
}

#[tokio::test]
async fn item_for_a_non_member_assignee_is_400() {
    let f = flat().await;
    let list = f.new_list("Weekly").await;
    let stranger = f.app.user("Sam").await;
    let (status, body) = f
        .app
        .post(
            &format!("/api/v1/shopping-lists/{list}/items"),
            &f.member,
            json!({"name": "Milk", "assigned_to_id": stranger.id}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Assigned user is not a member of this household"
    );
}

#[tokio::test]
async fn prices_add_up_exactly_to_the_cent() {
    let f = flat().await;
    let list = f.new_list("Big").await;
    for price in [json!("0.10"), json!(0.2), json!("99999999.99"), json!(12)] {
        f.new_item(&list, json!({"name": "thing", "price": price}))
            .await;
    }
    f.new_item(&list, json!({"name": "free", "category": ""}))
        .await;
    let (status, stats) = f
        .app
        .get(&format!("/api/v1/shopping-lists/{list}/stats"), &f.member)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["total_price"], "100000012.29");
    assert_eq!(stats["total_items"], 5);
    assert_eq!(stats["pending_items"], 5);
    assert_eq!(stats["categories"], json!({"Uncategorized": 5}));
    let (_, items) = f
        .app
        .get(&format!("/api/v1/shopping-lists/{list}/items"), &f.member)
        .await;
    let mut prices: Vec<&str> = items
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["price"].as_str())
        .collect();
    prices.sort();
    assert_eq!(prices, ["0.10", "0.20", "12.00", "99999999.99"]);
}

#[tokio::test]
async fn stats_of_an_empty_list_have_no_total_price() {
    let f = flat().await;
    let list = f.new_list("Empty").await;
    let (_, stats) = f
        .app
        .get(&format!("/api/v1/shopping-lists/{list}/stats"), &f.member)
        .await;
    assert_eq!(
        stats,
        json!({"total_items": 0, "purchased_items": 0, "pending_items": 0, "total_price": null, "categories": {}})
    );
}

#[tokio::test]
async fn update_item_sets_clears_and_checks_off() {
    let f = flat().await;
    let list = f.new_list("Weekly").await;
    let item = f
        .new_item(
            &list,
            json!({"name": "Milk", "price": "1.00", "notes": "oat"}),
        )
        .await;
    let path = format!("/api/v1/shopping-lists/{list}/items/{}", id(&item));
    let (status, body) = f
        .app
        .put(&path, &f.owner, json!({"name": "Oat milk", "price": 1.5, "notes": null, "is_purchased": true, "quantity": 3}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Oat milk");
    assert_eq!(body["price"], "1.50");
    assert_eq!(body["notes"], Value::Null);
    assert_eq!(body["quantity"], 3.0);
    assert_eq!(body["checked_off_by"], f.owner.id.to_string());
    let (status, _) = f.app.put(&path, &f.owner, json!({"quantity": 0})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = f
        .app
        .put(
            &format!(
                "/api/v1/shopping-lists/{list}/items/{}",
                uuid::Uuid::new_v4()
            ),
            &f.owner,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (StatusCode::NOT_FOUND, Some("Item not found"))
    );
}

#[tokio::test]
async fn item_routes_by_item_id_update_and_delete() {
    let f = flat().await;
    let list = f.new_list("Weekly").await;
    let item = f.new_item(&list, json!({"name": "Milk"})).await;
    let path = format!("/api/v1/shopping-items/{}", id(&item));
    let (status, body) = f.app.put(&path, &f.owner, json!({"name": "Butter"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "Butter");
    assert_eq!(
        f.app.delete(&path, &f.owner).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(f.app.delete(&path, &f.owner).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_item_of_a_list() {
    let f = flat().await;
    let list = f.new_list("Weekly").await;
    let item = f.new_item(&list, json!({"name": "Milk"})).await;
    let path = format!("/api/v1/shopping-lists/{list}/items/{}", id(&item));
    assert_eq!(
        f.app.delete(&path, &f.member).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM shopping_list_items")
            .await,
        0
    );
}

fn category_names(body: Value) -> Vec<String> {
    body.as_array()
        .expect("array")
        .iter()
        .map(|c| c["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn categories_route_is_reached_and_holds_the_households_and_the_callers_own() {
    let f = flat().await;
    let (status, own) = f
        .app
        .post(
            "/api/v1/shopping-lists/categories",
            &f.owner,
            json!({"name": "Dairy", "icon": "🥛"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(own["household_id"], Value::Null);
    let (status, _) = f
        .app
        .post(
            "/api/v1/shopping-lists/categories",
            &f.owner,
            json!({"name": "Pets", "color": "#aa0000", "household_id": f.household}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = f
        .app
        .post(
            "/api/v1/shopping-lists/categories",
            &f.member,
            json!({"name": "Pets", "household_id": f.household}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Category with this name already exists");
    // Olive's "Dairy" is hers; her own second one is refused, Max may make his own.
    let (status, body) = f
        .app
        .post(
            "/api/v1/shopping-lists/categories",
            &f.owner,
            json!({"name": "Dairy"}),
        )
        .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("Category with this name already exists")
        )
    );
    let (status, _) = f
        .app
        .post(
            "/api/v1/shopping-lists/categories",
            &f.member,
            json!({"name": "Dairy, Max's"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let household_list = format!(
        "/api/v1/shopping-lists/categories?household_id={}",
        f.household
    );
    let (status, all) = f.app.get(&household_list, &f.member).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(category_names(all), ["Dairy, Max's", "Pets"]);
    assert_eq!(
        category_names(f.app.get(&household_list, &f.owner).await.1),
        ["Dairy", "Pets"]
    );
    assert_eq!(
        category_names(
            f.app
                .get("/api/v1/shopping-lists/categories", &f.member)
                .await
                .1
        ),
        ["Dairy, Max's"]
    );
    let (status, _) = f
        .app
        .post(
            "/api/v1/shopping-lists/categories",
            &f.owner,
            json!({"name": "x", "icon": "x".repeat(11)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Anyone may make a category without a household (the old backend's suite expects 201),
/// but it is theirs: a stranger's never reaches a household's picker. The shared ones
/// (made by the old backend, with no owner on record) reach every household's.
#[tokio::test]
async fn a_strangers_category_without_a_household_is_never_in_a_households_list() {
    let f = flat().await;
    let stranger = f.app.user("Olga").await;
    let (status, made) = f
        .app
        .post(
            "/api/v1/shopping-lists/categories",
            &stranger,
            json!({"name": "Olga was here, buy crypto"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    // As the old backend's migrations seeded its defaults: no household, no owner.
    entities::item_category::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set("Produce".into()),
        icon: Set(None),
        color: Set(None),
        household_id: Set(None),
        created_at: Set(chrono::Utc::now().naive_utc()),
    }
    .insert(f.app.state.db.connection())
    .await
    .expect("a shared category");

    let household_list = format!(
        "/api/v1/shopping-lists/categories?household_id={}",
        f.household
    );
    for user in [&f.owner, &f.member] {
        let (status, body) = f.app.get(&household_list, user).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(category_names(body), ["Produce"]);
    }
    assert_eq!(
        category_names(
            f.app
                .get("/api/v1/shopping-lists/categories", &stranger)
                .await
                .1
        ),
        ["Olga was here, buy crypto", "Produce"]
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM category_owners")
            .await,
        1
    );
}

#[tokio::test]
async fn another_households_user_gets_403_or_404_and_never_data() {
    let f = flat().await;
    let list = f.new_list("Secret list").await;
    let item = f.new_item(&list, json!({"name": "Secret item"})).await;
    let item = id(&item).to_owned();
    let intruder = f.app.user("Ivan").await;
    let theirs = f.app.household(&intruder, "Flat 2").await;
    let (_, own_list) = f
        .app
        .post(
            "/api/v1/shopping-lists",
            &intruder,
            json!({"household_id": theirs, "name": "Own"}),
        )
        .await;
    let own_list = id(&own_list).to_owned();
    let loner = f.app.user("Lou").await;
    let l = format!("/api/v1/shopping-lists/{list}");
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/v1/shopping-lists".into(),
            Some(json!({"household_id": f.household, "name": "x"})),
        ),
        (
            Method::GET,
            format!("/api/v1/shopping-lists?household_id={}", f.household),
            None,
        ),
        (
            Method::GET,
            format!(
                "/api/v1/shopping-lists/categories?household_id={}",
                f.household
            ),
            None,
        ),
        (
            Method::POST,
            "/api/v1/shopping-lists/categories".into(),
            Some(json!({"name": "x", "household_id": f.household})),
        ),
        (Method::GET, l.clone(), None),
        (Method::PUT, l.clone(), Some(json!({"name": "x"}))),
        (Method::DELETE, l.clone(), None),
        (Method::GET, format!("{l}/stats"), None),
        (
            Method::POST,
            format!("{l}/items"),
            Some(json!({"name": "x"})),
        ),
        (Method::GET, format!("{l}/items"), None),
        (
            Method::PUT,
            format!("{l}/items/{item}"),
            Some(json!({"name": "x"})),
        ),
        (
            Method::PATCH,
            format!("{l}/items/{item}/purchase"),
            Some(json!({"is_purchased": true})),
        ),
        (Method::DELETE, format!("{l}/items/{item}"), None),
        (
            Method::PUT,
            format!("/api/v1/shopping-items/{item}"),
            Some(json!({"name": "x"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/shopping-items/{item}"),
            None,
        ),
    ];
    for outsider in [&intruder, &loner] {
        for (method, path, body) in &routes {
            let (status, answer) = f
                .app
                .call(method.clone(), path, Some(outsider), body.clone())
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
            assert!(
                !answer.to_string().contains("Secret"),
                "{method} {path} leaked {answer}"
            );
        }
    }
    // Their own list id does not open our item either.
    for (method, path) in [
        (
            Method::PUT,
            format!("/api/v1/shopping-lists/{own_list}/items/{item}"),
        ),
        (
            Method::PATCH,
            format!("/api/v1/shopping-lists/{own_list}/items/{item}/purchase"),
        ),
        (
            Method::DELETE,
            format!("/api/v1/shopping-lists/{own_list}/items/{item}"),
        ),
    ] {
        let body = Some(json!({"name": "x", "is_purchased": true}));
        let (status, _) = f
            .app
            .call(method.clone(), &path, Some(&intruder), body)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    assert_eq!(
        f.app
            .db
            .strings("SELECT name FROM shopping_list_items")
            .await,
        ["Secret item"]
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM shopping_lists")
            .await,
        2
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM item_categories")
            .await,
        0
    );
}
