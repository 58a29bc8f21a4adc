#![no_main]

#[path = "common.rs"]
mod common;

use http::{HeaderMap, Method};
use larder_adapter::{ClientRequest, Route, Verify};
use libfuzzer_sys::fuzz_target;

// First line: the file name asked for; the rest: the index body.
fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let Ok(name) = std::str::from_utf8(&data[..split]) else { return };
    let body = data.get(split + 1..).unwrap_or_default();
    let adapter = common::adapter();
    let path = format!("/files/demo/packages/{name}");
    let headers = HeaderMap::new();
    let request =
        ClientRequest { method: &Method::GET, proxy_host: None, path: &path, query: None, headers: &headers };
    if let Route::Fetch(file) = adapter.route(&request) {
        if let Verify::Listed(index) = &file.verify {
            let _ = adapter.find_digest(index, body, &file);
        }
    }
});
