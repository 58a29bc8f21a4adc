//! requirements.txt, uv.lock and choosing a file from a page never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = larder_pypi::lockfile::requirements_txt(bytes);
    let _ = larder_pypi::lockfile::uv_lock(bytes);
    let pin = larder_pypi::lockfile::Pin {
        name: "x".into(),
        version: "1.0".into(),
        hashes: Vec::new(),
    };
    let tags = larder_pypi::lockfile::Tags::for_cpython(3, 12, &["manylinux_2_17_x86_64".into()]);
    let _ = larder_pypi::lockfile::choose(bytes, &pin, &tags);
});
