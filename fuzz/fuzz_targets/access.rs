//! `[access]` against any `Authorization` header: only the configured token passes.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "fuzz-access-token-0123456789";

fuzz_target!(|header: &[u8]| {
    let mut table = toml::Table::new();
    table.insert("tokens".into(), toml::Value::Array(vec![TOKEN.into()]));
    let access = larder::access::Access::from_section(table).expect("a valid [access]");
    if access.check(None, Some(header)).is_ok() {
        // Accepted: the token is in the header, as a word or inside a base64 word (Basic).
        let text = String::from_utf8_lossy(header);
        let carried = text.split_whitespace().any(|word| {
            use base64::Engine as _;
            word.contains(TOKEN)
                || base64::engine::general_purpose::STANDARD
                    .decode(word)
                    .is_ok_and(|decoded| String::from_utf8_lossy(&decoded).contains(TOKEN))
        });
        assert!(carried, "accepted without the token: {text:?}");
    }
});
