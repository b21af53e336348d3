//! Which stores a selection picks, as AWS Backup decides: ARN wildcards and exact tags.

use std::collections::BTreeMap;

use super::model::Selection;

/// Whether a selection picks a store, as AWS Backup decides: the ARN matches one of the
/// resource patterns ('*' matches any run of characters, ':' and '/' included) and the store
/// carries every condition's tag with exactly that value (keys and values case-sensitive).
pub fn selection_matches(
    selection: &Selection,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> bool {
    selection
        .resources
        .iter()
        .any(|pattern| wildcard_match(pattern, arn))
        && selection
            .conditions
            .iter()
            .all(|c| tags.get(&c.key) == Some(&c.value))
}

pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // The last '*' seen and where in the text it started matching: on a mismatch it takes
    // one more character.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if p.get(pi) == Some(&b'*') {
            star = Some((pi, ti));
            pi += 1;
        } else if p.get(pi) == Some(&t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((star_pi, star_ti)) = star {
            pi = star_pi + 1;
            ti = star_ti + 1;
            star = Some((star_pi, star_ti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}
