//! InRelease/Release and Packages parsing: any body, any looked-up path, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first line is the path to look up, the rest the Release body.
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let path = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 1..).unwrap_or_default();
    let _ = larder_apt::release::lookup(body, &path);
    let _ = larder_apt::packages::lookup(body, &path);
    if let Some(date) = larder_apt::release::valid_until(body) {
        let _ = larder_apt::release::parse_release_date(&date);
    }
    let _ = larder_apt::release::parse_release_date(&path);
});
