//! How fast pasted names become `DomainName`s: a report may list 1,000,000 of them.
//! Run with `cargo bench -p holdfast-model --bench names`.

use std::hint::black_box;
use std::time::Instant;

use holdfast_model::DomainName;

const COUNT: usize = 1_000_000;

/// A deterministic list of `COUNT` names in the given style.
fn names(style: fn(usize) -> String) -> Vec<String> {
    (0..COUNT).map(style).collect()
}

fn measure(label: &str, inputs: &[String]) {
    let start = Instant::now();
    let mut accepted = 0usize;
    for input in inputs {
        if black_box(DomainName::parse(black_box(input))).is_ok() {
            accepted += 1;
        }
    }
    let elapsed = start.elapsed();
    println!(
        "{label:<28} {COUNT} names in {:>7.1} ms = {:>5.0} ns/name ({accepted} accepted)",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_nanos() as f64 / COUNT as f64,
    );
}

fn main() {
    measure(
        "lowercase ASCII",
        &names(|i| format!("dga{i:07x}qz.example")),
    );
    measure(
        "mixed case, trailing dot",
        &names(|i| format!("Shop-{i}.Example.")),
    );
    let a_labels: Vec<String> = names(|i| format!("bücher{i}.example"))
        .iter()
        .filter_map(|name| DomainName::parse(name).ok())
        .map(|name| name.as_str().to_owned())
        .collect();
    measure("A-labels", &a_labels);
    measure("U-labels", &names(|i| format!("bücher{i}.例え")));
    measure(
        "invalid (hyphen 3-4)",
        &names(|i| format!("ab--{i}.example")),
    );
}
