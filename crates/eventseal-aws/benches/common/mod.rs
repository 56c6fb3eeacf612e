//! What the AWS package's benchmarks share: the median, and merging ratios into
//! `target/eventseal-compare.json` next to the core library's.

use std::collections::BTreeMap;

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Prints the ratios and merges them (rounded to 3 decimals) into the workspace's
/// `target/eventseal-compare.json`.
pub fn merge_ratios(json: BTreeMap<String, f64>) {
    for (k, v) in &json {
        println!("{k:<58} {v:>10.3}");
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/eventseal-compare.json");
    let mut out: serde_json::Map<String, serde_json::Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    for (k, v) in json {
        out.insert(k, serde_json::json!((v * 1000.0).round() / 1000.0));
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap() + "\n").unwrap();
    println!("\nmerged into {}", path.display());
}
