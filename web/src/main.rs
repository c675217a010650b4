//! The `tend` executable: everything lives in the library so tests can drive it.

fn main() -> std::process::ExitCode {
    web::cli::main()
}
