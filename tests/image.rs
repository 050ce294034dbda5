//! The OCI image `scripts/image.sh` builds, checked without a container
//! runtime (none runs on these machines): the archive is unpacked as the
//! OCI image layout it is, its config read (user, entrypoint, labels), its
//! layers applied to a rootfs, and the binary in it run. Built with
//! `--features image-test`, which `scripts/test.sh` turns on after building
//! the image when buildah is installed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn archive() -> PathBuf {
    std::env::var_os("TERWAY_GUARD_IMAGE").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/image")
                .join(format!("terway-guard-{VERSION}.oci.tar"))
        },
        PathBuf::from,
    )
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    let (algo, hex) = digest.split_once(':').expect("algo:hex digest");
    layout.join("blobs").join(algo).join(hex)
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Whether an ELF file asks for a dynamic loader (has a PT_INTERP header).
fn has_interpreter(elf: &[u8]) -> bool {
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(elf[4], 2, "64-bit");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let p = phoff + i * phentsize;
        u32::from_le_bytes(elf[p..p + 4].try_into().unwrap()) == 3
    })
}

#[test]
fn the_image_is_static_non_root_labelled_and_runs() {
    let archive = archive();
    assert!(
        archive.exists(),
        "{} is missing: run bash scripts/image.sh first",
        archive.display()
    );
    let size = std::fs::metadata(&archive).unwrap().len();
    let dir = common::temp_dir("image");
    let layout = dir.join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&layout)
        .status()
        .unwrap();
    assert!(st.success());

    // OCI image layout: oci-layout, index.json → manifest → config + layers,
    // each blob named by its digest.
    assert_eq!(
        json(&layout.join("oci-layout"))["imageLayoutVersion"],
        "1.0.0"
    );
    let index = json(&layout.join("index.json"));
    let m = &index["manifests"][0];
    assert_eq!(
        m["annotations"]["org.opencontainers.image.ref.name"],
        format!("terway-guard:{VERSION}")
    );
    let manifest_path = blob(&layout, m["digest"].as_str().unwrap());
    assert_eq!(
        format!("sha256:{}", sha256(&manifest_path)),
        m["digest"].as_str().unwrap()
    );
    let manifest = json(&manifest_path);
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let config = json(&blob(
        &layout,
        manifest["config"]["digest"].as_str().unwrap(),
    ));
    assert_eq!(
        (config["os"].as_str(), config["architecture"].as_str()),
        (Some("linux"), Some("amd64"))
    );
    let c = &config["config"];
    assert_eq!(c["User"], "65532:65532", "non-root");
    assert_eq!(
        c["Entrypoint"],
        serde_json::json!(["/usr/local/bin/terway-guard"])
    );
    let labels = &c["Labels"];
    for (k, want) in [
        ("org.opencontainers.image.version", Some(VERSION)),
        ("org.opencontainers.image.licenses", Some("Apache-2.0")),
        ("org.opencontainers.image.source", None),
        ("org.opencontainers.image.revision", None),
    ] {
        let got = labels[k]
            .as_str()
            .unwrap_or_else(|| panic!("label {k}: {labels}"));
        assert!(!got.is_empty(), "{k}");
        if let Some(want) = want {
            assert_eq!(got, want, "{k}");
        }
    }

    // From scratch: one layer, holding the binary and nothing else.
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{manifest}");
    let rootfs = dir.join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    let layer = blob(&layout, layers[0]["digest"].as_str().unwrap());
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(&layer)
        .output()
        .unwrap();
    let files: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|l| !l.ends_with('/'))
        .map(str::to_string)
        .collect();
    assert_eq!(files, ["usr/local/bin/terway-guard"]);
    let st = Command::new("tar")
        .arg("-xzf")
        .arg(&layer)
        .arg("-C")
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(st.success());
    let bin = rootfs.join("usr/local/bin/terway-guard");
    let elf = std::fs::read(&bin).unwrap();
    assert!(!has_interpreter(&elf), "the binary must be static");

    let out = Command::new(&bin).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(VERSION),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The verdict engine works from the image: a wrong-zone edit is denied.
    let out = Command::new(&bin)
        .args([
            "check",
            &common::example("edit-wrong-zone.yaml"),
            "--old",
            &common::example("eni-config.yaml"),
            "--inventory",
            &common::example("inventory.yaml"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("[vswitch-zone]"));

    // Small: what a node pulls, and what it unpacks.
    let unpacked = elf.len() as u64;
    eprintln!(
        "image: {:.1} MiB archive, {:.1} MiB unpacked",
        size as f64 / 1048576.0,
        unpacked as f64 / 1048576.0
    );
    assert!(size < 20_000_000, "{size} bytes");
    assert!(unpacked < 20_000_000, "{unpacked} bytes");
}
