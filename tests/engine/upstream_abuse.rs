//! A hostile upstream: bodies without end, redirect loops, redirects to hosts nobody
//! configured. Each is bounded, answered 502 with a body that says why, logged and counted,
//! and no connection ever reaches a host that was not configured.

use crate::harness::TestLarder;
use crate::support::{http_client, metric, scrape};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A small metadata bound, so "endless" is reached in a moment.
const LIMITS: &str = "[limits]\nmax_metadata_size = \"1MiB\"\nmax_redirects = 3\nretries = 0\nconnect_timeout = \"2s\"\nfirst_byte_timeout = \"5s\"\n";

/// A listener that counts the connections it gets and answers none of them.
struct Bystander {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Bystander {
    fn start() -> Bystander {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Bystander { port, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// An upstream whose answers misbehave, by path. Returns its base URL.
fn hostile_upstream(bystander_port: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream, bystander_port));
        }
    });
    base
}

fn answer(mut stream: TcpStream, bystander_port: u16) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
    let redirect = |to: &str| {
        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
    };
    let chunk = vec![b'x'; 64 * 1024];
    match path.as_str() {
        // 10 GB announced, sent for as long as anyone reads.
        "/meta/huge" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n";
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            while stream.write_all(&chunk).is_ok() {}
        }
        // Chunked, without a last chunk.
        "/meta/endless" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            let framed = [
                format!("{:x}\r\n", chunk.len()).into_bytes(),
                chunk.clone(),
                b"\r\n".to_vec(),
            ]
            .concat();
            while stream.write_all(&framed).is_ok() {}
        }
        "/meta/loop" => {
            let _ = stream.write_all(&redirect("/meta/loop"));
        }
        "/meta/elsewhere" => {
            let _ = stream.write_all(&redirect(&format!(
                "http://127.0.0.1:{bystander_port}/stolen"
            )));
        }
        "/meta/cloud" => {
            let _ = stream.write_all(&redirect(
                "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            ));
        }
        // An artifact larger than the metadata bound: artifacts are not bounded by it.
        "/blob/large" => {
            let body = vec![b'a'; 3 << 20];
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        _ => {
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    }
    let _ = stream.flush();
}

/// Status and body text, the body read to its end or its break.
fn fetch(url: &str) -> (u16, String) {
    let response = http_client().get(url).send().expect("larder answers");
    let status = response.status().as_u16();
    (status, response.text().unwrap_or_default())
}

fn upstream_errors(larder: &TestLarder, kind: &str) -> f64 {
    let text = scrape(larder.url.trim_end_matches("/t"));
    metric(
        &text,
        &format!("larder_upstream_errors_total{{ecosystem=\"t\",kind=\"{kind}\"}}"),
    )
    .unwrap_or_else(|| panic!("no {kind} series in:\n{text}"))
}

#[test]
fn a_metadata_body_past_max_metadata_size_is_refused_and_nothing_is_stored() {
    let bystander = Bystander::start();
    let larder = TestLarder::start(&hostile_upstream(bystander.port), LIMITS);
    // Announced too large: refused before a byte is read.
    let (status, body) = fetch(&larder.at("meta/huge"));
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("max_metadata_size (1MiB)"), "{body}");
    // Chunked without end: the client already has the head (metadata streams as it arrives),
    // so its body is cut off rather than completed; the fill stops at the bound.
    let started = Instant::now();
    let response = http_client()
        .get(larder.at("meta/endless"))
        .send()
        .expect("larder answers");
    let cut = response.bytes();
    assert!(cut.is_err(), "an endless body must not end as if complete");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded: took {:?}",
        started.elapsed()
    );
    assert_eq!(upstream_errors(&larder, "too_large"), 2.0);
    assert_eq!(larder.blob_count(), 0, "nothing refused was published");
    assert_eq!(larder.temp_count(), 0, "the partial download was removed");
    let (status, body) = fetch(&larder.at("blob/large"));
    assert_eq!(
        status, 200,
        "an artifact is not bounded by the metadata limit"
    );
    assert_eq!(body.len(), 3 << 20);
}

#[test]
fn redirect_loops_and_redirects_to_unconfigured_hosts_are_refused_without_a_connection() {
    let bystander = Bystander::start();
    let larder = TestLarder::start(&hostile_upstream(bystander.port), LIMITS);

    let (status, body) = fetch(&larder.at("meta/loop"));
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("more than 3 redirects"), "{body}");

    let (status, body) = fetch(&larder.at("meta/elsewhere"));
    assert_eq!(status, 502, "{body}");
    assert!(
        body.contains(&format!("127.0.0.1:{}", bystander.port))
            && body.contains("not a configured upstream"),
        "{body}"
    );

    let started = Instant::now();
    let (status, body) = fetch(&larder.at("meta/cloud"));
    assert_eq!(status, 502, "{body}");
    assert!(
        body.contains("169.254.169.254:80") && body.contains("not a configured upstream"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused before connecting (connect_timeout is 2s): took {:?}",
        started.elapsed()
    );

    assert_eq!(upstream_errors(&larder, "redirect"), 3.0);
    // Any connection attempt would have been accepted by now.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        bystander.connections(),
        0,
        "larder connected to a host nobody configured"
    );
}
