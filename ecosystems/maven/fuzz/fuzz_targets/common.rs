//! The adapter the targets drive: `central` and a second remote with a base path.

use larder_adapter::{ClientRequest, Ecosystem, Route, Section};
use std::time::Duration;

pub fn adapter() -> Box<dyn Ecosystem> {
    let mut extra = serde_json::Map::new();
    extra.insert(
        "remotes".into(),
        serde_json::json!({"google": "https://maven.example.com/base/"}),
    );
    let section = Section {
        upstream: url::Url::parse("https://repo.example.org/maven2/").unwrap(),
        metadata_ttl: Duration::from_secs(300),
        negative_ttl: Duration::from_secs(60),
        extra,
    };
    (larder_maven::factory().build)(&section).unwrap()
}

pub fn route(adapter: &dyn Ecosystem, path: &str) -> Route {
    let headers = http::HeaderMap::new();
    adapter.route(&ClientRequest {
        method: &http::Method::GET,
        proxy_host: None,
        path,
        query: None,
        headers: &headers,
    })
}
