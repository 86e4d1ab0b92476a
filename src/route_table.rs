//! The API's routes as the document lists them, read once from the document `build_app`
//! serves: which methods a path answers, and each operation's path template. poem's router
//! answers a method it does not route with a bare 405; RFC 9110 wants the methods it does
//! route in `Allow`; the idempotency layer must tell an operation from a path the router
//! will refuse before it touches the store; the metrics label a request by its template.

use std::collections::HashMap;

use poem::http::Method;

/// One path template of the document, `/api/v1/todos/{todo_id}`, split into segments.
struct Template {
    /// As the document writes it.
    path: String,
    /// `None` for a `{parameter}` segment, which matches any one segment.
    segments: Vec<Option<String>>,
    methods: Vec<Method>,
}

impl Template {
    fn matches(&self, segments: &[&str]) -> bool {
        self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(template, segment)| match template {
                    Some(fixed) => fixed == segment,
                    None => !segment.is_empty(),
                })
    }

    /// poem's router prefers a fixed segment to a parameter, segment by segment from the
    /// left: `/households/mine` is its own route, not `/households/{household_id}`.
    fn specificity(&self) -> Vec<bool> {
        self.segments.iter().map(Option::is_some).collect()
    }
}

#[derive(Default)]
pub struct RouteTable {
    templates: Vec<Template>,
    /// Operation id to the path template it is served at.
    operations: HashMap<String, String>,
}

impl RouteTable {
    /// The routes of `document` (OpenAPI JSON); none when it cannot be read.
    pub fn new(document: &str) -> Self {
        let mut table = Self::default();
        if let Ok(serde_json::Value::Object(spec)) = serde_json::from_str(document)
            && let Some(serde_json::Value::Object(paths)) = spec.get("paths")
        {
            for (path, operations) in paths {
                let operations = operations.as_object().into_iter().flatten();
                let mut methods = Vec::new();
                for (method, operation) in operations {
                    if let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) {
                        methods.push(method);
                    }
                    if let Some(id) = operation.get("operationId").and_then(|id| id.as_str()) {
                        table.operations.insert(id.to_owned(), path.clone());
                    }
                }
                let segments = split(path)
                    .map(|segment| {
                        let parameter = segment.starts_with('{') && segment.ends_with('}');
                        (!parameter).then(|| segment.to_owned())
                    })
                    .collect();
                table.templates.push(Template {
                    path: path.clone(),
                    segments,
                    methods,
                });
            }
        }
        table
    }

    /// The path template of operation `operation_id`.
    pub fn template(&self, operation_id: &str) -> Option<&str> {
        self.operations.get(operation_id).map(String::as_str)
    }

    /// The template the router serves `path` from: the most specific one that matches.
    fn route(&self, path: &str) -> Option<&Template> {
        let segments: Vec<&str> = split(path).collect();
        self.templates
            .iter()
            .filter(|template| template.matches(&segments))
            .max_by_key(|template| template.specificity())
    }

    /// The methods the router answers at `path`, in the document's (alphabetical) order and
    /// with `HEAD` after `GET` (poem answers `HEAD` wherever it routes `GET`); `None` when no
    /// route matches `path`.
    pub fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        let route = self.route(path)?;
        let mut methods = Vec::with_capacity(route.methods.len() + 1);
        for method in &route.methods {
            methods.push(method.clone());
            if method == Method::GET && !route.methods.contains(&Method::HEAD) {
                methods.push(Method::HEAD);
            }
        }
        Some(methods)
    }

    /// The path template of the operation `method` at `path` reaches; `None` when the
    /// router answers it with a 404 or 405.
    pub fn operation_at(&self, method: &Method, path: &str) -> Option<&str> {
        let route = self.route(path)?;
        let routed = route.methods.contains(method)
            || (method == Method::HEAD && route.methods.contains(&Method::GET));
        routed.then_some(route.path.as_str())
    }

    /// The value of an `Allow` header for `path`.
    pub fn allow_header(&self, path: &str) -> Option<String> {
        let methods = self.allowed(path)?;
        Some(
            methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

/// A path's segments; a trailing slash is ignored, as the router ignores it.
fn split(path: &str) -> impl Iterator<Item = &str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = r#"{"paths": {
        "/": {"get": {}},
        "/api/v1/households/mine": {"get": {}},
        "/api/v1/households/{household_id}": {"get": {}, "put": {}, "delete": {}},
        "/api/v1/households/{household_id}/members/{member_id}": {"patch": {}, "delete": {}},
        "/api/v1/sync": {"post": {"operationId": "sync_data"}}
    }}"#;

    fn allow(path: &str) -> Option<String> {
        RouteTable::new(DOCUMENT).allow_header(path)
    }

    #[test]
    fn lists_a_routes_methods_with_head_after_get() {
        assert_eq!(
            allow("/api/v1/households/2f1b1bde").as_deref(),
            Some("DELETE, GET, HEAD, PUT")
        );
        assert_eq!(allow("/api/v1/sync").as_deref(), Some("POST"));
        assert_eq!(
            allow("/api/v1/households/a/members/b").as_deref(),
            Some("DELETE, PATCH")
        );
        assert_eq!(allow("/").as_deref(), Some("GET, HEAD"));
    }

    #[test]
    fn a_fixed_segment_wins_over_a_parameter() {
        assert_eq!(
            allow("/api/v1/households/mine").as_deref(),
            Some("GET, HEAD")
        );
    }

    #[test]
    fn a_trailing_slash_is_ignored() {
        assert_eq!(allow("/api/v1/sync/").as_deref(), Some("POST"));
    }

    #[test]
    fn unknown_paths_have_no_methods() {
        assert_eq!(allow("/api/v1/nothing"), None);
        assert_eq!(allow("/api/v1/households"), None);
        assert_eq!(allow("/api/v1/households//members/b"), None);
        assert_eq!(allow("/api/v1/households/a/members/b/c"), None);
    }

    #[test]
    fn routes_only_listed_methods_to_their_template() {
        let table = RouteTable::new(DOCUMENT);
        assert_eq!(
            table.operation_at(&Method::POST, "/api/v1/sync"),
            Some("/api/v1/sync")
        );
        assert_eq!(
            table.operation_at(&Method::HEAD, "/api/v1/households/mine"),
            Some("/api/v1/households/mine")
        );
        assert_eq!(table.operation_at(&Method::PUT, "/api/v1/sync"), None);
        assert_eq!(table.operation_at(&Method::POST, "/api/v1/unknown"), None);
    }

    #[test]
    fn an_operation_is_labelled_by_its_template() {
        let table = RouteTable::new(DOCUMENT);
        assert_eq!(table.template("sync_data"), Some("/api/v1/sync"));
        assert_eq!(table.template("no_such_operation"), None);
    }

    #[test]
    fn the_services_document_routes_its_operations() {
        let table = RouteTable::new(&crate::api::service().spec());
        assert!(table.operation_at(&Method::POST, "/api/v1/sync").is_some());
        assert_eq!(
            table.operation_at(&Method::DELETE, "/api/v1/todos/x"),
            Some("/api/v1/todos/{todo_id}")
        );
        assert_eq!(table.operation_at(&Method::POST, "/api/v1/todos/x"), None);
        assert_eq!(table.template("get_todo"), Some("/api/v1/todos/{todo_id}"));
    }
}
