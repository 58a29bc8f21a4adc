//! A line from the go command to `larder gocache`: a request, a body line, or an error.
#![no_main]

use larder::gocache::protocol::{decode_body, id_base64, id_hex, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &str| {
    if let Ok(request) = serde_json::from_str::<Request>(line) {
        for field in [request.action_id.as_deref(), request.output_id.as_deref()] {
            if let Ok(hex) = id_hex(field) {
                // A hex ID goes back to the base64 the go command sent.
                assert!(id_base64(&hex).is_some(), "{hex}");
            }
        }
    }
    let _ = decode_body(line);
});
