//! The API's routes as the document lists them: which methods a path answers. poem's router
//! answers a method it does not route with a bare 405; RFC 9110 wants the methods it does
//! route in `Allow`, and the idempotency layer must tell an operation from a path the router
//! will refuse before it touches the store.

use std::sync::LazyLock;

use poem::http::Method;

/// One path template of the document, `/api/v1/todos/{todo_id}`, split into segments.
struct Template {
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

pub struct RouteTable {
    templates: Vec<Template>,
}

impl RouteTable {
    /// The routes of `document` (OpenAPI JSON); none when it cannot be read.
    pub fn new(document: &str) -> Self {
        let mut templates = Vec::new();
        if let Ok(serde_json::Value::Object(spec)) = serde_json::from_str(document)
            && let Some(serde_json::Value::Object(paths)) = spec.get("paths")
        {
            for (path, operations) in paths {
                let methods = operations
                    .as_object()
                    .into_iter()
                    .flat_map(|operations| operations.keys())
                    .filter_map(|method| Method::from_bytes(method.to_uppercase().as_bytes()).ok())
                    .collect();
                let segments = split(path)
                    .map(|segment| {
                        let parameter = segment.starts_with('{') && segment.ends_with('}');
                        (!parameter).then(|| segment.to_owned())
                    })
                    .collect();
                templates.push(Template { segments, methods });
            }
        }
        Self { templates }
    }

    /// The methods the router answers at `path`, in the document's (alphabetical) order and
    /// with `HEAD` after `GET` (poem answers `HEAD` wherever it routes `GET`); `None` when no
    /// route matches `path`.
    pub fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        let segments: Vec<&str> = split(path).collect();
        let route = self
            .templates
            .iter()
            .filter(|template| template.matches(&segments))
            .max_by_key(|template| template.specificity())?;
        let mut methods = Vec::with_capacity(route.methods.len() + 1);
        for method in &route.methods {
            methods.push(method.clone());
            if method == Method::GET && !route.methods.contains(&Method::HEAD) {
                methods.push(Method::HEAD);
            }
        }
        Some(methods)
    }

    /// Whether `method` at `path` reaches an operation (rather than a 404 or 405).
    pub fn routes(&self, method: &Method, path: &str) -> bool {
        self.allowed(path)
            .is_some_and(|methods| methods.contains(method))
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

/// The routes of the service's own document.
pub fn table() -> &'static RouteTable {
    static TABLE: LazyLock<RouteTable> =
        LazyLock::new(|| RouteTable::new(&super::service().spec()));
    &TABLE
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = r#"{"paths": {
        "/": {"get": {}},
        "/api/v1/households/mine": {"get": {}},
        "/api/v1/households/{household_id}": {"get": {}, "put": {}, "delete": {}},
        "/api/v1/households/{household_id}/members/{member_id}": {"patch": {}, "delete": {}},
        "/api/v1/sync": {"post": {}}
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
    fn routes_only_listed_methods() {
        let table = RouteTable::new(DOCUMENT);
        assert!(table.routes(&Method::POST, "/api/v1/sync"));
        assert!(table.routes(&Method::HEAD, "/api/v1/households/mine"));
        assert!(!table.routes(&Method::PUT, "/api/v1/sync"));
        assert!(!table.routes(&Method::POST, "/api/v1/unknown"));
    }

    #[test]
    fn the_services_document_routes_its_operations() {
        assert!(table().routes(&Method::POST, "/api/v1/sync"));
        assert!(table().routes(&Method::DELETE, "/api/v1/todos/x"));
        assert!(!table().routes(&Method::POST, "/api/v1/todos/x"));
    }
}
