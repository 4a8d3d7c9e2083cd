//! A hash index over JSON values, so that finding a value among the stored
//! ones costs one lookup instead of a scan: what keeps adding or removing
//! many values of a multi-valued attribute linear (issue 13).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};

use serde_json::Value;

/// Positions in a list of values, by content. Equal values (`==` of
/// `serde_json`, which ignores the order of object members) hash alike;
/// every hit is confirmed with `==` against the list, so a collision costs
/// time, never a wrong answer. The hasher's keys are random, so a client
/// cannot aim at collisions.
pub(super) struct ValueIndex {
    hasher: RandomState,
    slots: HashMap<u64, Vec<usize>>,
}

impl ValueIndex {
    /// An index of `values`, each at its position.
    pub(super) fn of(values: &[Value]) -> Self {
        let mut index = ValueIndex {
            hasher: RandomState::new(),
            slots: HashMap::with_capacity(values.len()),
        };
        for (position, value) in values.iter().enumerate() {
            index.insert(position, value);
        }
        index
    }

    /// Records that `values[position]` (of the list later searched) is `value`.
    pub(super) fn insert(&mut self, position: usize, value: &Value) {
        let key = self.hash(value);
        self.slots.entry(key).or_default().push(position);
    }

    /// The first position of `values` holding a value equal to `value`.
    pub(super) fn position(&self, values: &[Value], value: &Value) -> Option<usize> {
        self.slots
            .get(&self.hash(value))?
            .iter()
            .copied()
            .filter(|&position| values.get(position) == Some(value))
            .min()
    }

    /// Whether `values` holds a value equal to `value`.
    pub(super) fn contains(&self, values: &[Value], value: &Value) -> bool {
        self.position(values, value).is_some()
    }

    fn hash(&self, value: &Value) -> u64 {
        let mut state = self.hasher.build_hasher();
        self.feed(value, &mut state);
        state.finish()
    }

    fn feed(&self, value: &Value, state: &mut impl Hasher) {
        match value {
            Value::Null => 0u8.hash(state),
            Value::Bool(b) => (1u8, b).hash(state),
            Value::Number(n) => {
                // `Number`'s `==` tells integers from floats and takes
                // -0.0 for 0.0: hash so that equal numbers agree.
                if let Some(u) = n.as_u64() {
                    (2u8, u).hash(state);
                } else if let Some(i) = n.as_i64() {
                    (3u8, i).hash(state);
                } else {
                    let f = n.as_f64().unwrap_or_default();
                    let f = if f == 0.0 { 0.0 } else { f };
                    (4u8, f.to_bits()).hash(state);
                }
            }
            Value::String(s) => (5u8, s).hash(state),
            Value::Array(items) => {
                (6u8, items.len()).hash(state);
                for item in items {
                    self.feed(item, state);
                }
            }
            Value::Object(members) => {
                // Members in any order: a sum of their own hashes.
                let mut sum = 0u64;
                for (key, member) in members {
                    let mut inner = self.hasher.build_hasher();
                    key.hash(&mut inner);
                    self.feed(member, &mut inner);
                    sum = sum.wrapping_add(inner.finish());
                }
                (7u8, members.len(), sum).hash(state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_values_are_found_whatever_the_member_order() {
        let stored = [
            json!({"value": "a@x.test", "type": "work"}),
            json!(1),
            json!(-2),
            json!(0.0),
            json!([1, {"b": 2, "a": 1}]),
            json!(null),
            json!("text"),
        ];
        let index = ValueIndex::of(&stored);
        let at = |value: Value| index.position(&stored, &value);
        assert_eq!(at(json!({"type": "work", "value": "a@x.test"})), Some(0));
        assert_eq!(at(json!(1)), Some(1));
        assert_eq!(at(json!(-2)), Some(2));
        assert_eq!(at(json!(-0.0)), Some(3), "-0.0 == 0.0");
        assert_eq!(at(json!([1, {"a": 1, "b": 2}])), Some(4));
        assert_eq!(at(json!(null)), Some(5));
        assert_eq!(at(json!("text")), Some(6));
        assert!(
            !index.contains(&stored, &json!(1.0)),
            "1.0 is not 1 for serde_json"
        );
        assert!(
            !index.contains(&stored, &json!([{"a": 1, "b": 2}, 1])),
            "arrays keep order"
        );
        assert!(!index.contains(&stored, &json!({"value": "a@x.test"})));
    }

    #[test]
    fn the_first_of_equal_values_is_found() {
        let stored = [json!("x"), json!("y"), json!("x")];
        assert_eq!(
            ValueIndex::of(&stored).position(&stored, &json!("x")),
            Some(0)
        );
    }
}
