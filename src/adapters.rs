//! The ecosystems this binary serves. Adding one is a crate under `ecosystems/` and a line here;
//! the engine does not change.

use larder_adapter::AdapterFactory;
use std::sync::LazyLock;

static FACTORIES: LazyLock<Vec<AdapterFactory>> = LazyLock::new(|| {
    vec![
        larder_npm::factory(),
        larder_pypi::factory(),
        larder_go::factory(),
        larder_apt::factory(),
        larder_cargo::factory(),
        larder_maven::factory(),
    ]
});

pub fn all() -> &'static [AdapterFactory] {
    &FACTORIES
}
