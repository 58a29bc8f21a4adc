//! `Range` headers against the model: the same answer, and never a range past the body.
#![no_main]

use larder::respond::{parse_range, range_model, RangeRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u64, &str)| {
    let (len, header) = input;
    let parsed = parse_range(header, len);
    assert_eq!(parsed, range_model(header, len));
    if let RangeRequest::Bytes(start, end) = parsed {
        assert!(start < end && end <= len);
    }
});
