//! Which version strings name one fixed set of bytes.
//!
//! A GOPROXY answers `.info` for any version query (`master`, `v1`, a commit prefix), and those
//! answers move. Only a canonical semantic version (`vMAJOR.MINOR.PATCH[-PRERELEASE]`,
//! optionally `+incompatible`, the go command's `module.CanonicalVersion(v) == v`) names a
//! module version whose `.info`, `.mod` and `.zip` never change. Pseudo-versions
//! (`v0.0.0-20191109021931-daa7c04131f5`) are canonical versions with a pre-release part.

/// True if `version` (decoded, upper-case letters restored) is canonical.
pub fn is_canonical(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let (rest, build) = match rest.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (rest, None),
    };
    // Canonical form drops build metadata, except the go command's own `+incompatible`.
    if build.is_some_and(|build| build != "incompatible") {
        return false;
    }
    let (core, prerelease) = match rest.split_once('-') {
        Some((core, prerelease)) => (core, Some(prerelease)),
        None => (rest, None),
    };
    let mut numbers = core.split('.');
    let three = (0..3).all(|_| numbers.next().is_some_and(is_number));
    if !three || numbers.next().is_some() {
        return false;
    }
    match prerelease {
        Some(prerelease) => prerelease.split('.').all(is_prerelease_identifier),
        None => true,
    }
}

/// A numeric identifier: digits, without a leading zero unless it is `0`.
fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

fn is_prerelease_identifier(s: &str) -> bool {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return false;
    }
    // All-digit identifiers are numbers and must not have leading zeros.
    !s.bytes().all(|b| b.is_ascii_digit()) || is_number(s)
}

#[cfg(test)]
mod tests {
    use super::is_canonical;

    #[test]
    fn canonical_versions_are_recognised() {
        for v in [
            "v0.0.0",
            "v1.2.3",
            "v10.20.30",
            "v1.0.0-rc.1",
            "v1.0.0-RC1",
            "v1.0.0-0.3.7",
            "v1.0.0-x-y-z.--",
            "v0.0.0-20191109021931-daa7c04131f5",
            "v1.2.4-0.20191109021931-daa7c04131f5",
            "v2.0.0+incompatible",
            "v2.0.1-0.20191109021931-daa7c04131f5+incompatible",
        ] {
            assert!(is_canonical(v), "{v} should be canonical");
        }
    }

    #[test]
    fn queries_and_non_canonical_spellings_are_not() {
        for v in [
            "",
            "v",
            "v1",
            "v1.2",
            "1.2.3",
            "V1.2.3",
            "v1.2.3.4",
            "v01.2.3",
            "v1.02.3",
            "v1.2.03",
            "v1.2.3-",
            "v1.2.3-01",
            "v1.2.3-a..b",
            "v1.2.3-a_b",
            "v1.2.3+meta",
            "v1.2.3+incompatible+x",
            "v1.2.3+",
            "master",
            "latest",
            "daa7c04131f5",
            "v1.2.x",
        ] {
            assert!(!is_canonical(v), "{v:?} should not be canonical");
        }
    }
}
