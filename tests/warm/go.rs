//! Go: `go.sum`.

use crate::go_fixture::{self, APP_OUTPUT};
use crate::gocmd::GoEnv;
use crate::support::{Larder, Mode, Resource, Routes, Upstream};
use crate::warm_ok;
use std::process::Command;

/// The fixture GOPROXY, serving each path as the go command sends it (`%21` for `!`) and as
/// larder forwards it (`!`).
fn start_proxy() -> Upstream {
    let mut routes = Routes::new();
    for (relative, body) in go_fixture::proxy_tree(&go_fixture::graph()) {
        let content_type = match relative.rsplit('.').next() {
            Some("zip") => "application/zip",
            Some("info") => "application/json",
            _ => "text/plain; charset=utf-8",
        };
        let resource = Resource::new(content_type, body);
        routes.insert(
            format!("/{}", relative.replace('!', "%21")),
            vec![resource.clone()],
        );
        routes.insert(format!("/{relative}"), vec![resource]);
    }
    Upstream::start(routes)
}

#[test]
fn warm_from_go_sum_then_download_and_build_with_the_upstream_down() {
    let work = tempfile::tempdir().unwrap();
    let proxy = start_proxy();
    // The lockfile, as a developer's machine makes it: `go mod tidy` straight from the proxy.
    let dev = GoEnv::new(&work.path().join("dev"), &proxy.url, "off");
    let app = work.path().join("dev/app");
    go_fixture::write_app(&app);
    dev.run(&app, &["mod", "tidy"]).assert_ok("go mod tidy");
    let go_sum = app.join("go.sum");
    assert!(go_sum.is_file());

    let larder = Larder::start(&format!("[go]\nupstream = \"{}/\"\n", proxy.url));
    proxy.clear_requests();
    warm_ok(&larder.url, &[&go_sum], &["--jobs", "4"]);
    assert!(
        proxy.requests().iter().any(|r| r.path.ends_with(".zip")),
        "{:#?}",
        proxy.requests()
    );

    proxy.set_mode(Mode::Down);
    let ci = GoEnv::new(
        &work.path().join("ci"),
        &format!("{}/go", larder.url),
        "off",
    );
    let checkout = work.path().join("ci/app");
    std::fs::create_dir_all(&checkout).unwrap();
    for file in ["go.mod", "go.sum", "main.go"] {
        std::fs::copy(app.join(file), checkout.join(file)).unwrap();
    }
    ci.run(&checkout, &["mod", "download"])
        .assert_ok("go mod download after warm, upstream down");
    let binary = work.path().join("app.bin");
    ci.run(&checkout, &["build", "-o", binary.to_str().unwrap(), "."])
        .assert_ok("go build after warm, upstream down");
    let output = Command::new(&binary).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), APP_OUTPUT);
}
