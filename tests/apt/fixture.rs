//! A real, signed apt repository built with Debian's own tools, as an archive would be.
//!
//! `dpkg-deb --build` makes tiny `Architecture: all` packages, `apt-ftparchive` writes
//! `Packages` and a `Release` with `Acquire-By-Hash: yes`, every index is also copied under
//! `by-hash/SHA256/<hex>`, and a throw-away ed25519 key clearsigns `InRelease` and signs
//! `Release.gpg`. Like Debian's archive (and unlike apt-ftparchive's default) the Release lists
//! MD5Sum, SHA1 and SHA256 but no SHA512, so apt fetches indexes by their SHA256.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const SUITE: &str = "fixture";
/// The archive root inside the served directory, as `/debian` is on deb.debian.org.
pub const ROOT: &str = "debian";

pub struct Repo {
    temp: tempfile::TempDir,
}

fn run(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("{command:?}: {err} (run .ci/install/apt.sh)"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

impl Repo {
    /// An empty repository with a fresh signing key.
    pub fn new() -> Repo {
        let temp = tempfile::tempdir().expect("temp dir");
        let repo = Repo { temp };
        std::fs::create_dir_all(repo.gnupg()).expect("gnupg home");
        std::fs::create_dir_all(repo.served().join(ROOT).join("pool/main")).expect("pool dir");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(repo.gnupg(), std::fs::Permissions::from_mode(0o700))
                .expect("chmod gnupg home");
        }
        repo.gpg(&[
            "--quick-gen-key",
            "larder fixture <fixture@larder.invalid>",
            "ed25519",
            "sign",
            "never",
        ]);
        let key = repo.gpg(&["--export"]);
        std::fs::write(repo.keyring(), key).expect("write keyring");
        repo
    }

    /// The directory to serve (`Upstream::start_dir`).
    pub fn served(&self) -> PathBuf {
        self.temp.path().join("served")
    }

    /// The binary keyring apt is given as `signed-by`.
    pub fn keyring(&self) -> PathBuf {
        self.temp.path().join("fixture.gpg")
    }

    fn gnupg(&self) -> PathBuf {
        self.temp.path().join("gnupg")
    }

    fn gpg(&self, args: &[&str]) -> Vec<u8> {
        run(Command::new("gpg")
            .env("GNUPGHOME", self.gnupg())
            .args([
                "--batch",
                "--quiet",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args))
    }

    fn archive(&self) -> PathBuf {
        self.served().join(ROOT)
    }

    /// The pool path of a package, relative to the archive root.
    pub fn pool_path(name: &str, version: &str) -> String {
        format!("pool/main/{}/{name}/{name}_{version}_all.deb", &name[..1])
    }

    /// Builds `name_version_all.deb` carrying `payload`, replacing any file of that name (a
    /// third-party repository rebuilding a package without a version bump). Returns its bytes.
    pub fn add_package(&self, name: &str, version: &str, payload: impl AsRef<[u8]>) -> Vec<u8> {
        let build = self
            .temp
            .path()
            .join("build")
            .join(format!("{name}-{version}"));
        let _ = std::fs::remove_dir_all(&build);
        std::fs::create_dir_all(build.join("DEBIAN")).expect("build dir");
        std::fs::create_dir_all(build.join("usr/share").join(name)).expect("build dir");
        std::fs::write(
            build.join("DEBIAN/control"),
            format!(
                "Package: {name}\nVersion: {version}\nArchitecture: all\n\
                 Maintainer: larder tests <tests@larder.invalid>\nDescription: larder fixture {name}\n"
            ),
        )
        .expect("control file");
        std::fs::write(
            build.join("usr/share").join(name).join("payload"),
            payload.as_ref(),
        )
        .expect("payload");
        let deb = self.archive().join(Repo::pool_path(name, version));
        std::fs::create_dir_all(deb.parent().expect("pool path has a parent")).expect("pool dir");
        let staged = deb.with_extension("deb.new");
        run(Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zgzip", "--build"])
            .arg(&build)
            .arg(&staged));
        std::fs::rename(&staged, &deb).expect("publish deb");
        std::fs::read(&deb).expect("read deb")
    }

    /// Regenerates the indexes and the signed Release set, in the order an archive publishes:
    /// by-hash files first, then by-name indexes, then Release, Release.gpg, InRelease. Old
    /// by-hash files are kept, so a client holding the previous InRelease can still finish.
    pub fn publish(&self) {
        let archive = self.archive();
        let suite = archive.join("dists").join(SUITE);
        let binary = suite.join("main/binary-amd64");
        let by_hash = binary.join("by-hash/SHA256");
        std::fs::create_dir_all(&by_hash).expect("by-hash dir");
        let ftparchive = |args: &[&str]| {
            run(Command::new("apt-ftparchive")
                .current_dir(&archive)
                .args(["-o", "APT::FTPArchive::SHA512=false"])
                .args(args))
        };
        let packages = ftparchive(&["packages", "pool/main"]);
        let packages_gz = gzip(&packages);
        for index in [&packages, &packages_gz] {
            write_atomically(&by_hash.join(sha256_hex(index)), index);
        }
        write_atomically(&binary.join("Packages"), &packages);
        write_atomically(&binary.join("Packages.gz"), &packages_gz);

        let release = ftparchive(&[
            "-o",
            "APT::FTPArchive::Release::Origin=larder-fixture",
            "-o",
            "APT::FTPArchive::Release::Label=larder-fixture",
            "-o",
            &format!("APT::FTPArchive::Release::Suite={SUITE}"),
            "-o",
            &format!("APT::FTPArchive::Release::Codename={SUITE}"),
            "-o",
            "APT::FTPArchive::Release::Architectures=amd64",
            "-o",
            "APT::FTPArchive::Release::Components=main",
            "-o",
            "APT::FTPArchive::Release::Acquire-By-Hash=yes",
            "release",
            &format!("dists/{SUITE}"),
        ]);
        let release = without_own_release_files(&release);
        let staged = self.temp.path().join("Release");
        std::fs::write(&staged, &release).expect("stage Release");
        let signed = self.temp.path().join("InRelease");
        let detached = self.temp.path().join("Release.gpg");
        self.gpg(&[
            "--clearsign",
            "--output",
            path_str(&signed),
            path_str(&staged),
        ]);
        self.gpg(&[
            "--armor",
            "--detach-sign",
            "--output",
            path_str(&detached),
            path_str(&staged),
        ]);
        write_atomically(&suite.join("Release"), &release);
        write_atomically(
            &suite.join("Release.gpg"),
            &std::fs::read(&detached).expect("Release.gpg"),
        );
        write_atomically(
            &suite.join("InRelease"),
            &std::fs::read(&signed).expect("InRelease"),
        );
    }

    /// Bytes of a served file, by path relative to the archive root.
    pub fn read(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.archive().join(path)).unwrap_or_else(|err| panic!("{path}: {err}"))
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        // gpg started an agent for this throw-away home; stop it rather than leak it.
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.gnupg())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

/// apt-ftparchive lists the suite's previous `Release` among the files it checksums; an archive's
/// Release never lists itself.
fn without_own_release_files(release: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(release);
    let mut out = String::new();
    for line in text.lines() {
        let name = line.split_whitespace().last().unwrap_or("");
        let own = line.starts_with(' ') && matches!(name, "Release" | "InRelease" | "Release.gpg");
        if !own {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.into_bytes()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

fn write_atomically(path: &Path, bytes: &[u8]) {
    let staged = path.with_extension("larder-staged");
    std::fs::write(&staged, bytes).unwrap_or_else(|err| panic!("{}: {err}", staged.display()));
    std::fs::rename(&staged, path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .args(["-9n", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = child.stdin.take().expect("gzip stdin");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("gzip output");
    writer.join().expect("gzip writer").expect("write to gzip");
    assert!(output.status.success());
    output.stdout
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
