//! Go: `@v/list` loses versions whose `.info` Time is too young, and their zips are refused;
//! the go command prints larder's reason as the server's response.

#[allow(dead_code)]
#[path = "../go/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../go/gocmd.rs"]
mod gocmd;

use crate::support::{self, Larder, Resource, Routes, Upstream};
use crate::{now, rfc3339, DAY};
use fixture::{proxy_tree, ModuleVersion};
use gocmd::GoEnv;

const MODULE: &str = "example.com/cooldown";

fn version(version: &'static str, at: i64) -> ModuleVersion {
    let time: &'static str = Box::leak(rfc3339(at).into_boxed_str());
    ModuleVersion {
        path: MODULE,
        version,
        time,
        files: vec![
            ("go.mod", format!("module {MODULE}\n\ngo 1.19\n")),
            (
                "lib.go",
                format!("// Package cooldown is a larder test fixture.\npackage cooldown\n\nconst Version = {version:?}\n"),
            ),
        ],
    }
}

fn proxy(versions: &[ModuleVersion]) -> Upstream {
    let upstream = Upstream::start(Routes::new());
    for (relative, body) in proxy_tree(versions) {
        let content_type = match relative.rsplit('.').next() {
            Some("zip") => "application/zip",
            Some("info") => "application/json",
            _ if relative.ends_with("@latest") => "application/json",
            _ => "text/plain; charset=utf-8",
        };
        upstream.insert(&format!("/{relative}"), Resource::new(content_type, body));
    }
    upstream
}

#[test]
fn go_gets_the_newest_version_older_than_min_age_and_a_younger_one_is_refused_with_the_reason() {
    let now = now();
    let upstream = proxy(&[
        version("v1.0.0", now - 30 * DAY),
        version("v1.1.0", now - 10 * DAY),
        version("v1.2.0", now - DAY),
    ]);
    let larder = Larder::start(&format!(
        "[go]\nupstream = \"{}/\"\nsumdb_upstream = \"off\"\n\n[policy]\nmin_age = \"7d\"\n",
        upstream.url
    ));
    let list = support::get(&larder.at(&format!("go/{MODULE}/@v/list")))
        .text()
        .unwrap();
    assert_eq!(list, "v1.0.0\nv1.1.0\n");

    let root = tempfile::tempdir().unwrap();
    let go = GoEnv::new(root.path(), &larder.at("go"), "off");
    let app = root.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("go.mod"), "module example.com/app\n\ngo 1.19\n").unwrap();
    go.run(&app, &["get", MODULE]).assert_ok("go get");
    let go_mod = std::fs::read_to_string(app.join("go.mod")).unwrap();
    assert!(go_mod.contains(&format!("{MODULE} v1.1.0")), "{go_mod}");

    let young = go.run(&app, &["mod", "download", &format!("{MODULE}@v1.2.0")]);
    assert!(!young.ok(), "go downloaded a version younger than min_age");
    let said = format!("{}{}", young.stdout(), young.stderr());
    assert!(
        said.contains("403 Forbidden")
            && said.contains(&format!("larder policy refuses go {MODULE} v1.2.0")),
        "{said}"
    );
}
