//! apt: the output of `apt-get install --print-uris`, fetched through larder as a proxy.

use crate::apt_client::{Apt, Via};
use crate::fixture::Repo;
use crate::support::{Larder, Mode, Upstream};
use crate::warm_ok;

#[test]
fn warm_from_print_uris_then_apt_installs_with_the_upstream_down() {
    let repo = Repo::new();
    repo.add_package("fixture-hello", "1.0", "hello, first build");
    repo.add_package("fixture-world", "2.0", "world");
    repo.publish();
    let upstream = Upstream::start_dir(repo.served());
    let larder = Larder::start(&format!(
        "[apt]\nmetadata_ttl = \"5m\"\n\n[apt.remotes]\n\"{}\" = \"{}/\"\n",
        upstream.addr, upstream.url
    ));
    let via = Via::Proxy {
        larder: larder.url.clone(),
    };
    let apt = Apt::new(&repo, &upstream.url, &via);
    apt.update().assert_ok("apt-get update through larder");
    let uris = apt.download(&["--print-uris", "fixture-hello", "fixture-world"]);
    uris.assert_ok("apt-get install --print-uris");
    assert!(
        upstream
            .requests()
            .iter()
            .all(|r| !r.path.ends_with(".deb")),
        "--print-uris downloads nothing"
    );
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("apt-uris");
    std::fs::write(&list, &uris.output).unwrap();

    warm_ok(&larder.url, &[&list], &[]);
    let pool: Vec<_> = upstream
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(".deb"))
        .collect();
    assert_eq!(pool.len(), 2, "both .debs fetched once: {pool:#?}");

    upstream.set_mode(Mode::Down);
    let fresh = Apt::new(&repo, &upstream.url, &via);
    fresh.update().assert_ok("apt-get update, upstream down");
    fresh
        .download(&["fixture-hello", "fixture-world"])
        .assert_ok("apt-get install after warm, upstream down");
    assert_eq!(
        fresh.downloaded("fixture-hello", "1.0"),
        repo.read(&Repo::pool_path("fixture-hello", "1.0"))
    );
}
