//! A point passed from JavaScript as `{ x, y }`.

/// Plain data: converting it copies the numbers out of the JavaScript object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}
