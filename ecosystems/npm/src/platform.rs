//! npm's platform fields (`os`, `cpu`, `libc` in package.json and lockfiles), checked as npm
//! checks them (`npm-install-checks`' `checkPlatform`): a list of allowed values, where `!x`
//! excludes `x` and a list of exclusions alone allows everything else. npm skips an optional
//! dependency whose platform does not match, so `larder warm` skips it too.

use larder_adapter::Platform;

/// The platforms a package is for; empty lists allow any.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Platforms {
    pub os: Vec<String>,
    pub cpu: Vec<String>,
    pub libc: Vec<String>,
}

impl Platforms {
    /// Whether the package states any platform.
    pub fn is_any(&self) -> bool {
        self.os.is_empty() && self.cpu.is_empty() && self.libc.is_empty()
    }

    /// Whether npm would install the package on `target`. `libc` counts only on Linux, and only
    /// when the target's is known.
    pub fn allow(&self, target: &Platform) -> bool {
        let libc_ok = match (&target.libc, target.os.as_str()) {
            (Some(libc), "linux") => allows(&self.libc, libc),
            _ => true,
        };
        allows(&self.os, &target.os) && allows(&self.cpu, &target.cpu) && libc_ok
    }
}

fn allows(list: &[String], value: &str) -> bool {
    let mut excluded = 0;
    let mut listed = false;
    for entry in list {
        match entry.strip_prefix('!') {
            Some(not) if not == value => return false,
            Some(_) => excluded += 1,
            None => listed |= entry == value,
        }
    }
    listed || excluded == list.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(os: &str, cpu: &str, libc: Option<&str>) -> Platform {
        Platform {
            os: os.into(),
            cpu: cpu.into(),
            libc: libc.map(str::to_string),
        }
    }

    fn platforms(os: &[&str], cpu: &[&str], libc: &[&str]) -> Platforms {
        let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Platforms {
            os: own(os),
            cpu: own(cpu),
            libc: own(libc),
        }
    }

    #[test]
    fn lists_allow_negations_exclude_and_libc_counts_on_linux_only() {
        let linux = on("linux", "x64", Some("glibc"));
        assert!(Platforms::default().allow(&linux));
        assert!(platforms(&["linux"], &["x64"], &[]).allow(&linux));
        assert!(!platforms(&["darwin"], &["arm64"], &[]).allow(&linux));
        assert!(!platforms(&["linux"], &["arm64"], &[]).allow(&linux));
        assert!(platforms(&["!win32"], &[], &[]).allow(&linux));
        assert!(!platforms(&["!linux"], &[], &[]).allow(&linux));
        assert!(!platforms(&["linux", "!linux"], &[], &[]).allow(&on("darwin", "x64", None)));
        assert!(!platforms(&["linux"], &["x64"], &["musl"]).allow(&linux));
        assert!(platforms(&["linux"], &["x64"], &["musl"]).allow(&on("linux", "x64", None)));
        assert!(platforms(&[], &[], &["glibc"]).allow(&on("darwin", "arm64", Some("glibc"))));
    }
}
