//! Request paths: classification never panics, and whatever it accepts is a valid name whose
//! rendered forms contain no traversal.
#![no_main]

use larder_npm::path::{classify, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|path: &str| {
    if let Ok(target) = classify(path) {
        let name = match &target {
            Target::Packument(name) | Target::DistTags(name) => Some(name),
            Target::Manifest { name, .. } | Target::Tarball { name, .. } => Some(name),
            _ => None,
        };
        if let Some(name) = name {
            // Dots inside a segment are a name ("P..A"); a whole segment of them would climb.
            let shown = name.to_string();
            assert!(!shown
                .split('/')
                .any(|segment| segment == ".." || segment == "."));
            let encoded = name.url_encoded();
            assert!(
                !encoded.contains('/') && encoded != ".." && encoded != ".",
                "{encoded}"
            );
        }
    }
});
