//! Each tool's protocol, as its client sends it, with a plain HTTP client.

use crate::support::{http_client, metric, Larder};
use crate::{blob_count, sha256_hex};
use reqwest::Method;

#[test]
fn bazel_action_and_cas_entries_round_trip_and_cas_is_verified() {
    let larder = Larder::start("");
    let client = http_client();
    let output = b"compiled object bytes".to_vec();
    let cas = larder.at(&format!("cache/bazel/cas/{}", sha256_hex(&output)));
    let action_key = sha256_hex(b"an action's inputs");
    let ac = larder.at(&format!("cache/bazel/ac/{action_key}"));

    assert_eq!(client.get(&cas).send().unwrap().status(), 404);
    assert_eq!(client.head(&ac).send().unwrap().status(), 404);
    assert!(client
        .put(&cas)
        .body(output.clone())
        .send()
        .unwrap()
        .status()
        .is_success());
    let action_result = b"an ActionResult naming the cas blob".to_vec();
    assert!(client
        .put(&ac)
        .body(action_result.clone())
        .send()
        .unwrap()
        .status()
        .is_success());

    let head = client.head(&cas).send().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        output.len().to_string().as_str()
    );
    assert_eq!(client.get(&cas).send().unwrap().bytes().unwrap(), output);
    assert_eq!(
        client.get(&ac).send().unwrap().bytes().unwrap(),
        action_result
    );

    // A CAS write whose bytes are not what the key says: refused, nothing stored.
    let blobs_before = blob_count(&larder.data_dir);
    let liar = larder.at(&format!(
        "cache/bazel/cas/{}",
        sha256_hex(b"the real bytes")
    ));
    let refused = client.put(&liar).body("other bytes").send().unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().unwrap().contains("nothing was stored"));
    assert_eq!(client.get(&liar).send().unwrap().status(), 404);
    assert_eq!(blob_count(&larder.data_dir), blobs_before);

    let metrics = client
        .get(larder.at("-/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(
        metric(&metrics, "larder_buildcache_hits_total{tool=\"bazel\"}"),
        Some(3.0)
    );
    assert_eq!(
        metric(&metrics, "larder_buildcache_misses_total{tool=\"bazel\"}"),
        Some(3.0)
    );
    assert_eq!(
        metric(&metrics, "larder_buildcache_puts_total{tool=\"bazel\"}"),
        Some(2.0)
    );
    assert_eq!(
        metric(&metrics, "larder_buildcache_refused_total{tool=\"bazel\"}"),
        Some(1.0)
    );
}

#[test]
fn gradle_entries_and_the_size_limit() {
    let larder = Larder::start("[cache]\nmax_entry_size = \"1KiB\"\n");
    let client = http_client();
    let entry = larder.at("cache/gradle/7f1c8a6d3c2b4e5f9a0b1c2d3e4f5a6b");
    assert_eq!(client.get(&entry).send().unwrap().status(), 404);
    let put = client
        .put(&entry)
        .header(
            "content-type",
            "application/vnd.gradle.build-cache-artifact.v2",
        )
        .body(vec![7u8; 1000])
        .send()
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    assert_eq!(
        client.get(&entry).send().unwrap().bytes().unwrap(),
        vec![7u8; 1000]
    );

    let blobs_before = blob_count(&larder.data_dir);
    let big = larder.at("cache/gradle/00112233445566778899aabbccddeeff");
    let too_large = client.put(&big).body(vec![1u8; 1025]).send().unwrap();
    assert_eq!(too_large.status(), 413);
    assert_eq!(client.get(&big).send().unwrap().status(), 404);
    assert_eq!(blob_count(&larder.data_dir), blobs_before);
}

#[test]
fn ccache_subdirs_layout_put_get_delete() {
    let larder = Larder::start("");
    let client = http_client();
    // ccache's default `subdirs` layout: the key's first two characters, then the rest.
    let entry = larder.at("cache/ccache/c5/9pfnsbbd1r8mgq74r1nrvbbmrc8asmfba");
    assert_eq!(client.get(&entry).send().unwrap().status(), 404);
    assert!(client
        .put(&entry)
        .body("result")
        .send()
        .unwrap()
        .status()
        .is_success());
    assert_eq!(client.head(&entry).send().unwrap().status(), 200);
    assert_eq!(client.get(&entry).send().unwrap().text().unwrap(), "result");
    assert!(client.delete(&entry).send().unwrap().status().is_success());
    assert_eq!(client.get(&entry).send().unwrap().status(), 404);
    // Written again after a delete: there again.
    assert!(client
        .put(&entry)
        .body("again")
        .send()
        .unwrap()
        .status()
        .is_success());
    assert_eq!(client.get(&entry).send().unwrap().text().unwrap(), "again");
}

#[test]
fn sccache_webdav_collections_and_files() {
    let larder = Larder::start("");
    let client = http_client();
    let propfind = Method::from_bytes(b"PROPFIND").unwrap();
    let mkcol = Method::from_bytes(b"MKCOL").unwrap();

    let dir = client
        .request(propfind.clone(), larder.at("cache/sccache/prefix/a/b/"))
        .header("depth", "0")
        .send()
        .unwrap();
    assert_eq!(dir.status(), 207);
    assert!(dir.text().unwrap().contains("<D:collection/>"));
    let made = client
        .request(mkcol, larder.at("cache/sccache/prefix/a/b/"))
        .send()
        .unwrap();
    assert_eq!(made.status(), 201);

    let file = larder.at("cache/sccache/prefix/a/b/ab0123456789");
    let missing = client
        .request(propfind.clone(), &file)
        .header("depth", "0")
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(client
        .put(&file)
        .body("rlib bytes")
        .send()
        .unwrap()
        .status()
        .is_success());
    let found = client
        .request(propfind, &file)
        .header("depth", "0")
        .send()
        .unwrap();
    assert_eq!(found.status(), 207);
    assert!(found
        .text()
        .unwrap()
        .contains("<D:getcontentlength>10</D:getcontentlength>"));
    assert_eq!(
        client.get(&file).send().unwrap().text().unwrap(),
        "rlib bytes"
    );
}

#[test]
fn namespaces_keep_entries_apart() {
    let larder = Larder::start("");
    let client = http_client();
    let key = "0123456789abcdef0123456789abcdef";
    let ci = larder.at(&format!("cache/ns/ci/gradle/{key}"));
    assert!(client
        .put(&ci)
        .body("from ci")
        .send()
        .unwrap()
        .status()
        .is_success());
    assert_eq!(client.get(&ci).send().unwrap().text().unwrap(), "from ci");
    let default = larder.at(&format!("cache/gradle/{key}"));
    assert_eq!(client.get(&default).send().unwrap().status(), 404);
    let unknown = client.get(larder.at("cache/maven/x")).send().unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().unwrap().contains("/cache/gradle/"));
}

#[test]
fn a_dynamically_linked_larder_does_not_serve_itself_and_says_what_to_do() {
    // The test build links glibc: it would not run in an Alpine image, so it is not offered.
    let larder = Larder::start("");
    let answer = http_client().get(larder.at("-/bin/larder")).send().unwrap();
    assert_eq!(answer.status(), 404);
    let text = answer.text().unwrap();
    assert!(text.contains("dynamically linked"), "{text}");
    assert!(text.contains("COPY --from="), "{text}");
}

#[test]
fn the_status_page_shows_the_build_cache_and_how_to_use_it() {
    let larder = Larder::start("");
    let client = http_client();
    let entry = larder.at("cache/ccache/ab/cdef");
    assert!(client
        .put(&entry)
        .body("x")
        .send()
        .unwrap()
        .status()
        .is_success());
    assert_eq!(client.get(&entry).send().unwrap().status(), 200);
    let page = client.get(larder.at("")).send().unwrap().text().unwrap();
    assert!(
        page.contains("<tr data-tool=\"ccache\"><td class=\"eco\">/cache/ccache/</td><td>1</td><td>0</td><td>1</td>"),
        "{page}"
    );
    assert!(page.contains(&format!(
        "export CCACHE_REMOTE_STORAGE={}/cache/ccache",
        larder.url
    )));
    assert!(page.contains(&format!(
        "export SCCACHE_WEBDAV_ENDPOINT={}/cache/sccache",
        larder.url
    )));
}
