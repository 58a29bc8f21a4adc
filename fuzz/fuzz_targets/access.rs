//! `[access]` against any `Authorization` header: only the configured token passes.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "fuzz-access-token-0123456789";

fuzz_target!(|header: &[u8]| {
    let mut table = toml::Table::new();
    table.insert("tokens".into(), toml::Value::Array(vec![TOKEN.into()]));
    let access = larder::access::Access::from_section(table).expect("a valid [access]");
    if access.check(None, Some(header)).is_ok() {
        let text = String::from_utf8_lossy(header);
        let decoded = text
            .split_once(' ')
            .and_then(|(_, b)| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        assert!(
            text.contains(TOKEN) || decoded.contains(TOKEN),
            "accepted without the token: {text:?}"
        );
    }
});
