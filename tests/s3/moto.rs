//! moto's S3 server as a child process, one per test, with one bucket.

use larder::store::bucket::{Bucket, BucketCredentials, BucketSettings};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BUCKET: &str = "larder-replicas";

pub struct Moto {
    pub endpoint: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl Moto {
    pub fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("moto log");
        let mut command = if which("moto_server") {
            Command::new("moto_server")
        } else {
            let mut c = Command::new("python3");
            c.args(["-m", "moto.server"]);
            c
        };
        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("moto_server runs (install it with .ci/install/s3.sh)");
        let mut moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start listening: {}",
                moto.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let created = crate::support::http_client()
            .put(format!("{}/{BUCKET}", moto.endpoint))
            .send()
            .expect("create bucket");
        assert!(created.status().is_success(), "create bucket: {created:?}");
        std::fs::write(
            moto.credentials_file(),
            "[default]\naws_access_key_id = testing\naws_secret_access_key = testing-secret\n",
        )
        .expect("credentials file");
        let _ = &mut moto;
        moto
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    fn credentials_file(&self) -> std::path::PathBuf {
        self.dir.path().join("credentials")
    }

    /// The `[storage]` section for a replica.
    pub fn storage_toml(&self, timeout: &str) -> String {
        format!(
            "[storage]\nbackend = \"s3\"\nbucket = \"{BUCKET}\"\nprefix = \"mirror\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\npath_style = true\ntimeout = \"{timeout}\"\ncredentials_file = \"{}\"\n",
            self.endpoint,
            self.credentials_file().display()
        )
    }

    pub fn settings(&self) -> BucketSettings {
        BucketSettings {
            bucket: BUCKET.into(),
            prefix: "mirror".into(),
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".into(),
            path_style: true,
            timeout: Duration::from_secs(5),
            credentials: Some(BucketCredentials {
                access_key_id: "testing".into(),
                secret_access_key: "testing-secret".into(),
                session_token: None,
            }),
        }
    }

    /// A client of its own (a third party looking at the bucket).
    pub fn bucket(&self) -> Bucket {
        Bucket::connect(&self.settings()).expect("bucket client")
    }

    /// Every object under the mirror's prefix, with its size.
    pub fn objects(&self) -> Vec<(String, u64)> {
        let bucket = self.bucket();
        runtime().block_on(async {
            use futures_util::TryStreamExt;
            let prefix = object_store::path::Path::from("mirror");
            let listed: Vec<_> = bucket
                .object_store()
                .list(Some(&prefix))
                .try_collect()
                .await
                .expect("list the bucket");
            listed
                .into_iter()
                .map(|meta| (meta.location.to_string(), meta.size))
                .collect()
        })
    }

    /// SIGSTOP: the server keeps its sockets but answers nothing (a hung S3 endpoint).
    pub fn pause(&self) {
        signal(self.child.id(), "-STOP");
    }

    pub fn resume(&self) {
        signal(self.child.id(), "-CONT");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        signal(self.child.id(), "-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}
