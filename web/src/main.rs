//! The `tend` executable: everything lives in the library so tests can drive it.

/// sled copies a tree node on every write; glibc's malloc spent about a third of a create's
/// CPU time allocating and freeing them (profiled under load), mimalloc much less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    web::cli::main()
}
