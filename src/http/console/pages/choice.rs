//! The options of a `<select>` or a group of radio buttons, with the one
//! chosen marked.

/// One option.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    /// A one-line explanation, where the page shows one.
    pub explanation: &'static str,
    pub selected: bool,
}

/// The options `(value, label)`, with `chosen` marked.
pub fn choices(options: &[(&'static str, &'static str)], chosen: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|&(value, label)| Choice {
            value,
            label,
            explanation: "",
            selected: value == chosen,
        })
        .collect()
}

/// The options `(value, label, explanation)`, with `chosen` marked.
pub fn explained(
    options: &[(&'static str, &'static str, &'static str)],
    chosen: &str,
) -> Vec<Choice> {
    options
        .iter()
        .map(|&(value, label, explanation)| Choice {
            value,
            label,
            explanation,
            selected: value == chosen,
        })
        .collect()
}
