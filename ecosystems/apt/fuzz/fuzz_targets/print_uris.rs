//! Reading `apt-get --print-uris` output never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = larder_apt::print_uris::print_uris(bytes);
});
