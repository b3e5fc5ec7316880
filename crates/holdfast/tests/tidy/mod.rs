//! Tidy checks over the workspace's own sources: file headers and the allowed crate edges.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_source_file_says_what_lives_there() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates"), &mut files);
    assert!(files.len() > 20, "found only {files:?}");
    let missing: Vec<_> = files
        .iter()
        .filter(|file| !std::fs::read_to_string(file).unwrap().starts_with("//!"))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! line at the top: {missing:?}"
    );
}

/// The normal (not dev) dependencies named in a crate's manifest.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest =
        std::fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut in_dependencies = false;
    let mut names = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if in_dependencies && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.', ' ']).next().unwrap();
            names.push(name.to_owned());
        }
    }
    names
}

#[test]
fn crates_depend_only_along_the_allowed_edges() {
    let layers: [(&str, &[&str]); 7] = [
        ("holdfast-model", &[]),
        ("holdfast-store", &["holdfast-model"]),
        ("holdfast-dns", &["holdfast-model"]),
        ("holdfast-mail", &["holdfast-model"]),
        (
            "holdfast-service",
            &[
                "holdfast-model",
                "holdfast-store",
                "holdfast-dns",
                "holdfast-mail",
            ],
        ),
        ("holdfast-http", &["holdfast-model", "holdfast-service"]),
        (
            "holdfast",
            &[
                "holdfast-model",
                "holdfast-store",
                "holdfast-service",
                "holdfast-http",
                "holdfast-dns",
                "holdfast-mail",
            ],
        ),
    ];
    for (krate, allowed) in layers {
        let deps = dependencies(krate);
        assert!(!deps.is_empty(), "{krate} has dependencies");
        for dep in deps.iter().filter(|d| d.starts_with("holdfast")) {
            assert!(
                allowed.contains(&dep.as_str()),
                "{krate} must not depend on {dep}"
            );
        }
    }
    let model = dependencies("holdfast-model");
    for io in [
        "tokio",
        "sqlx",
        "axum",
        "hickory-server",
        "hickory-net",
        "ureq",
    ] {
        assert!(
            !model.iter().any(|d| d == io),
            "the model does no I/O, yet depends on {io}"
        );
    }
}
