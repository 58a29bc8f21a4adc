//! `GET /-/bin/larder`: the running binary, for a RUN step that needs `larder gocache`
//! (`ADD http://HOST:7878/-/bin/larder /usr/local/bin/larder`). Served only when it is
//! statically linked: a binary that loads glibc would fail in an Alpine image, and one built
//! against a newer glibc in an older image. A dynamically linked larder answers 404 saying how
//! to get the helper into the image instead.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The path of the running binary, if it can run in any Linux image.
pub fn static_self() -> Result<PathBuf, String> {
    let exe =
        std::env::current_exe().map_err(|err| format!("cannot find larder's own binary: {err}"))?;
    match is_static_elf(&exe) {
        Ok(true) => Ok(exe),
        Ok(false) => Err(format!(
            "this larder ({}) is dynamically linked, so it would not run in every build image \
             (Alpine has no glibc). Copy it from larder's image instead \
             (COPY --from=larder /usr/local/bin/larder /usr/local/bin/larder), or serve a \
             static build: RUSTFLAGS='-C target-feature=+crt-static' cargo build --release \
             --target x86_64-unknown-linux-gnu\n",
            exe.display()
        )),
        Err(err) => Err(format!(
            "cannot read larder's own binary {}: {err}\n",
            exe.display()
        )),
    }
}

/// Whether an ELF file has no program interpreter (`PT_INTERP`): nothing to load at start.
fn is_static_elf(path: &Path) -> std::io::Result<bool> {
    let mut head = vec![0u8; 64];
    let mut file = std::fs::File::open(path)?;
    file.read_exact(&mut head)?;
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a 64-bit little-endian ELF file",
        )
    };
    if &head[..4] != b"\x7fELF" || head[4] != 2 || head[5] != 1 {
        return Err(bad());
    }
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
    let u64_at = |b: &[u8], at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    let phoff = u64_at(&head, 32);
    let phentsize = u16_at(&head, 54);
    let phnum = u16_at(&head, 56);
    if phentsize < 4 || phnum > 4096 {
        return Err(bad());
    }
    let mut headers = vec![0u8; phentsize * phnum];
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(phoff))?;
    file.read_exact(&mut headers)?;
    const PT_INTERP: u32 = 3;
    Ok(!headers.chunks(phentsize).any(|header| {
        u32::from_le_bytes([header[0], header[1], header[2], header[3]]) == PT_INTERP
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_dynamic_from_static() {
        // The test binary itself is linked against glibc.
        let me = std::env::current_exe().unwrap();
        assert!(!is_static_elf(&me).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("text");
        std::fs::write(&text, [b'x'; 100]).unwrap();
        assert!(is_static_elf(&text).is_err());
        assert!(static_self().unwrap_err().contains("COPY --from="));
    }
}
