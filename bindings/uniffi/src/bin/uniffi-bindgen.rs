//! Generates Kotlin and Swift from the built library:
//! `uniffi-bindgen generate --library <lib> --language kotlin --out-dir <dir>`.
fn main() {
    uniffi::uniffi_bindgen_main()
}
