//! Every scenario file under `scenarios/regressions/` must pass (each says what it guards).

use ubond_lab::script::Script;

#[test]
fn regression_scenarios_pass() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("regressions directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "regression files missing: {files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let s = Script::parse(&text).unwrap_or_else(|e| panic!("{}:{e}", f.display()));
        let r = s.run(s.seed()).expect("runs");
        assert!(r.passed(), "{} failed:\n{}", f.display(), r.render());
    }
}
