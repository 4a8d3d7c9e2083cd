//! Hostile and faulty clients (issue 13, DESIGN.md §8): no single client,
//! authenticated or not, makes another tenant wait seconds, makes the
//! server answer 500, or grows its memory without bound.

mod budgets;
mod connections;
mod fairness;
