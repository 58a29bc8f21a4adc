//! The config file: any text is either refused with an error or becomes a config whose
//! `larder config` output is TOML again (it is meant to be pasted back into a file).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(table) = text.parse::<toml::Table>() else {
        return;
    };
    if let Ok(config) = larder::config::Config::from_table(table, larder::adapters::all()) {
        let printed = config.to_toml();
        if let Err(err) = printed.parse::<toml::Table>() {
            panic!("larder config printed what is not TOML ({err}):\n{printed}");
        }
    }
});
