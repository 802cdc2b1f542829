// swift-tools-version:5.9
// The Swift package of Tessera's binding. The Swift sources, C header and
// module map are generated from the Rust library (`make swift-bindings`);
// see bindings/README.md.
//
// The native library comes from one of two places:
// - `tesseraFFI.xcframework` beside this file (iOS and macOS apps; built from
//   the staticlib, see the README), when it exists;
// - otherwise the host's build of the cdylib in ../../target/release, for
//   running `swift run TesseraCheck` on a development machine.

import Foundation
import PackageDescription

let packageDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
let xcframework = "tesseraFFI.xcframework"
let hasXcframework = FileManager.default.fileExists(atPath: "\(packageDir)/\(xcframework)")

let ffiTarget: Target = hasXcframework
    ? .binaryTarget(name: "tesseraFFI", path: xcframework)
    : .systemLibrary(name: "tesseraFFI", path: "Sources/tesseraFFI")

let linkNative: [LinkerSetting] = hasXcframework
    // ring draws randomness from the Security framework on Apple platforms.
    ? [.linkedFramework("Security", .when(platforms: [.iOS, .macOS]))]
    : [
        .linkedLibrary("tessera_uniffi"),
        .unsafeFlags(["-L", "\(packageDir)/../../target/release"]),
    ]

let package = Package(
    name: "Tessera",
    platforms: [.iOS(.v13), .macOS(.v11)],
    products: [
        .library(name: "Tessera", targets: ["Tessera"]),
    ],
    targets: [
        ffiTarget,
        .target(
            name: "Tessera",
            dependencies: ["tesseraFFI"],
            path: "Sources/Tessera",
            linkerSettings: linkNative
        ),
        // Mirrors the Kotlin test program; `swift run TesseraCheck`.
        .executableTarget(
            name: "TesseraCheck",
            dependencies: ["Tessera"],
            path: "Tests/TesseraCheck"
        ),
    ]
)
