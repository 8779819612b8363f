//! Embeds the shipped study items (`data/study/*.md`, listed for `shipped::STUDY_FILES`, so
//! adding an item is adding a file) and the quiz bank (`data/quiz.toml`).

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/study");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "md")).collect())
        .unwrap_or_default();
    files.sort();
    let mut code = String::from("/// (file name, content) of each shipped study item, in file-name order.\npub const STUDY_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        code.push_str(&format!("    ({name:?}, include_str!({:?})),\n", path.display().to_string()));
    }
    code.push_str("];\n");
    let quiz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/quiz.toml");
    println!("cargo:rerun-if-changed={}", quiz.display());
    if quiz.exists() {
        code.push_str(&format!("/// The shipped quiz bank.\npub const QUIZ_TOML: &str = include_str!({:?});\n", quiz.display().to_string()));
    } else {
        code.push_str("/// The shipped quiz bank (none in this checkout).\npub const QUIZ_TOML: &str = \"\";\n");
    }
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("study_files.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}
