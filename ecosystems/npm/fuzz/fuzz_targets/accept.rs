//! `Accept` negotiation never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|accept: &str| {
    let _ = larder_npm::accept::Variant::negotiate(Some(accept));
});
