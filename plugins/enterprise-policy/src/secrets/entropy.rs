//! Shannon entropy as gitleaks computes it.

use std::collections::HashMap;

/// gitleaks' `shannonEntropy`: frequencies of characters (runes) over the length in *bytes*,
/// so that non-ASCII text scores as gitleaks scores it.
pub fn shannon_entropy(data: &str) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts: HashMap<char, usize> = HashMap::new();
    for c in data.chars() {
        *counts.entry(c).or_insert(0) += 1;
    }
    let inv = 1.0 / data.len() as f64;
    counts
        .values()
        .map(|&n| {
            let freq = n as f64 * inv;
            -freq * freq.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("ab") - 1.0).abs() < 1e-12);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-12);
        assert!((shannon_entropy("0123456789abcdef") - 4.0).abs() < 1e-12);
    }
}
