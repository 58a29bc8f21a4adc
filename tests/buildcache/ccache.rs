//! Debian's ccache (4.7) with its HTTP remote storage pointed at larder.

use crate::support::Larder;
use std::path::Path;
use std::process::Command;

fn ccache(args: &[&str], ccache_dir: &Path, remote: &str, cwd: &Path) -> String {
    let out = Command::new("ccache")
        .args(args)
        .current_dir(cwd)
        .env("CCACHE_DIR", ccache_dir)
        .env("CCACHE_REMOTE_STORAGE", remote)
        .env_remove("CCACHE_CONFIGPATH")
        .output()
        .expect("ccache runs: install it with .ci/install/buildcache.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "ccache {args:?} failed:\n{text}");
    text
}

/// A counter of `ccache --print-stats` (tab-separated `name value` lines).
fn stat(stats: &str, name: &str) -> u64 {
    stats
        .lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix('\t')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {name} in:\n{stats}"))
}

#[test]
fn a_second_compile_with_an_empty_local_cache_is_a_remote_hit_with_identical_output() {
    let larder = Larder::start("");
    let temp = tempfile::tempdir().unwrap();
    let src = temp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello from ccache\"); return 0; }\n",
    )
    .unwrap();
    let remote = larder.at("cache/ccache");
    let mut objects = Vec::new();
    for round in ["first", "second"] {
        let local = temp.path().join(format!("ccache-{round}"));
        ccache(
            &["gcc", "-O2", "-c", "hello.c", "-o", "hello.o"],
            &local,
            &remote,
            &src,
        );
        objects.push(std::fs::read(src.join("hello.o")).unwrap());
        std::fs::remove_file(src.join("hello.o")).unwrap();
        let stats = ccache(&["--print-stats"], &local, &remote, &src);
        if round == "first" {
            assert_eq!(stat(&stats, "remote_storage_miss"), 1, "{stats}");
            assert!(stat(&stats, "remote_storage_write") >= 1, "{stats}");
        } else {
            assert_eq!(stat(&stats, "remote_storage_hit"), 1, "{stats}");
            assert_eq!(stat(&stats, "cache_miss"), 0, "{stats}");
        }
    }
    assert_eq!(objects[0], objects[1]);
}
