//! `[access]`: client tokens and allowed networks.

use crate::replicas::{go_upstream, payload};
use crate::support::{http_client, Larder};

#[test]
fn with_tokens_an_unauthenticated_request_gets_401_and_no_content() {
    let zip = payload(10_000, 9);
    let upstream = go_upstream(&[("/example.com/m/@v/v1.0.0.zip", zip.clone())]);
    let larder = Larder::start(&format!(
        "[go]\nupstream = \"{}/\"\n[access]\ntokens = [\"office-t0ken\"]\n",
        upstream.url
    ));
    let url = larder.at("go/example.com/m/@v/v1.0.0.zip");
    let client = http_client();

    let refused = client.get(&url).send().unwrap();
    assert_eq!(refused.status(), 401);
    let challenges: Vec<_> = refused
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic")),
        "{challenges:?}"
    );
    assert!(refused.bytes().unwrap().is_empty(), "no content");
    let wrong = client.get(&url).bearer_auth("guess").send().unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.bytes().unwrap().is_empty());
    assert!(
        upstream.requests().is_empty(),
        "refused requests never reach upstream"
    );

    let bearer = client.get(&url).bearer_auth("office-t0ken").send().unwrap();
    assert_eq!(bearer.status(), 200);
    assert!(bearer.bytes().unwrap() == zip);
    // What GOPROXY=http://ci:office-t0ken@mirror/go sends.
    let basic = client
        .get(&url)
        .basic_auth("ci", Some("office-t0ken"))
        .send()
        .unwrap();
    assert_eq!(basic.status(), 200);
    // A load balancer's health check needs no token.
    assert_eq!(
        client.get(larder.at("-/health")).send().unwrap().status(),
        200
    );
    let printed = std::process::Command::new(env!("CARGO_BIN_EXE_larder"))
        .args(["config", "--config"])
        .arg(larder.data_dir.with_extension("toml"))
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(
        printed.contains("[access]") && !printed.contains("office-t0ken"),
        "{printed}"
    );
}

#[test]
fn outside_the_allowed_networks_a_request_is_refused() {
    let upstream = go_upstream(&[("/example.com/m/@v/v1.0.0.zip", payload(100, 1))]);
    let outside = Larder::start(&format!(
        "[go]\nupstream = \"{}/\"\n[access]\nallow_networks = [\"10.0.0.0/8\"]\n",
        upstream.url
    ));
    let response = http_client()
        .get(outside.at("go/example.com/m/@v/v1.0.0.zip"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(!response
        .bytes()
        .unwrap()
        .starts_with(&payload(100, 1)[..10]));
    let inside = Larder::start(&format!(
        "[go]\nupstream = \"{}/\"\n[access]\nallow_networks = [\"127.0.0.0/8\", \"::1\"]\n",
        upstream.url
    ));
    let response = http_client()
        .get(inside.at("go/example.com/m/@v/v1.0.0.zip"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
}
