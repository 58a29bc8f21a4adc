//! Who may write: an office mirror takes writes only with the namespace's token.

use crate::blob_count;
use crate::support::{http_client, Larder};

const OFFICE: &str = "[cache.write_tokens]\nci = \"ci-0123456789abcdef\"\n";

#[test]
fn office_mirror_refuses_writes_without_the_right_token_and_stores_nothing() {
    let larder = Larder::start(OFFICE);
    let client = http_client();
    let entry = larder.at("cache/ns/ci/gradle/0123456789abcdef0123456789abcdef");

    let anonymous = client.put(&entry).body("poison").send().unwrap();
    assert_eq!(anonymous.status(), 403);
    assert!(anonymous.text().unwrap().contains("nothing was stored"));
    let wrong = client
        .put(&entry)
        .bearer_auth("not-the-token-000000")
        .body("poison")
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 403);
    // The right token, but for another namespace.
    let elsewhere = larder.at("cache/gradle/0123456789abcdef0123456789abcdef");
    let other_namespace = client
        .put(&elsewhere)
        .bearer_auth("ci-0123456789abcdef")
        .body("x")
        .send()
        .unwrap();
    assert_eq!(other_namespace.status(), 403);
    assert_eq!(blob_count(&larder.data_dir), 0);
    assert_eq!(client.get(&entry).send().unwrap().status(), 404);
    let delete = client.delete(&entry).send().unwrap();
    assert_eq!(delete.status(), 403);

    // CI's token (as Bearer, or as Basic's password the way Gradle sends it) writes; anyone reads.
    let ci = client
        .put(&entry)
        .bearer_auth("ci-0123456789abcdef")
        .body("built by ci")
        .send()
        .unwrap();
    assert!(ci.status().is_success(), "{}", ci.status());
    assert_eq!(
        client.get(&entry).send().unwrap().text().unwrap(),
        "built by ci"
    );
    let basic = client
        .put(&entry)
        .basic_auth("gradle", Some("ci-0123456789abcdef"))
        .body("again")
        .send()
        .unwrap();
    assert!(basic.status().is_success());
}

#[test]
fn a_write_token_also_passes_access_tokens() {
    let larder = Larder::start(&format!(
        "[access]\ntokens = [\"reader-0123456789\"]\n{OFFICE}"
    ));
    let client = http_client();
    let entry = larder.at("cache/ns/ci/gradle/0123456789abcdef0123456789abcdef");
    assert_eq!(client.get(&entry).send().unwrap().status(), 401);
    assert_eq!(
        client
            .get(&entry)
            .bearer_auth("reader-0123456789")
            .send()
            .unwrap()
            .status(),
        404
    );
    // A reader's token is no write right.
    let reader_put = client
        .put(&entry)
        .bearer_auth("reader-0123456789")
        .body("x")
        .send()
        .unwrap();
    assert_eq!(reader_put.status(), 403);
    let ci_put = client
        .put(&entry)
        .bearer_auth("ci-0123456789abcdef")
        .body("x")
        .send()
        .unwrap();
    assert!(ci_put.status().is_success());
}

#[test]
fn loopback_writes_by_default() {
    let larder = Larder::start("");
    let client = http_client();
    let entry = larder.at("cache/gradle/0123456789abcdef0123456789abcdef");
    assert!(client
        .put(&entry)
        .body("x")
        .send()
        .unwrap()
        .status()
        .is_success());
}
