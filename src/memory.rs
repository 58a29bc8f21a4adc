//! Returning freed heap to the operating system.
//!
//! Reading a large index (Debian's main Packages decompresses to about 45 MB) frees all it
//! allocated once its declarations are learnt, but glibc's allocator keeps the freed pages in
//! the process: without this, larder would hold its peak after every `apt-get update`.

/// Gives the allocator's free pages back to the system, where the allocator can (glibc).
pub fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free; it touches no live
    // allocation and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
