//! The ecosystems this binary serves. Adding one is a crate under `ecosystems/` and a line here;
//! the engine does not change.

use larder_adapter::AdapterFactory;
use std::sync::LazyLock;

pub static FACTORIES: LazyLock<Vec<AdapterFactory>> = LazyLock::new(Vec::new);

pub fn all() -> &'static [AdapterFactory] {
    &FACTORIES
}
