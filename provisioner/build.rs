//! Declares the `eda_e2e` cfg, which turns on the real-cluster test (see docs/provisioner.md).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(eda_e2e)");
}
