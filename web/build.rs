//! Rebuilds the binary when a pack under `examples/` changes: the packs are built in with
//! `include_dir!`, which Cargo can't see into on its own.

fn main() {
    println!("cargo:rerun-if-changed=../examples");
}
