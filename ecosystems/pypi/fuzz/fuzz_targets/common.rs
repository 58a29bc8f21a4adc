//! The adapter as the fuzz targets see it: configured like PyPI, with the default URLs.

use larder_adapter::{Ecosystem, Section};
use std::time::Duration;

pub fn adapter() -> Box<dyn Ecosystem> {
    let factory = larder_pypi::factory();
    let section = Section {
        upstream: url::Url::parse(factory.default_upstream).expect("default upstream is a URL"),
        metadata_ttl: Duration::from_secs(600),
        negative_ttl: Duration::from_secs(60),
        extra: Default::default(),
    };
    (factory.build)(&section).expect("defaults build")
}
