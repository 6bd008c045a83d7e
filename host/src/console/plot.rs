//! The overview's plots: a minute-by-minute bar chart as inline SVG, drawn on the server (no
//! script, nothing fetched), with a text summary for screen readers.

use std::fmt::Write;

use crate::jobs::MinuteCounts;

const WIDTH: u64 = 600;
const HEIGHT: u64 = 120;

/// Bars of `value` per minute, scaled to the largest; `label` names the series for screen
/// readers. Only numbers and the fixed `label` go into the markup.
pub fn bars(minutes: &[MinuteCounts], value: fn(&MinuteCounts) -> u64, label: &str) -> String {
    let top = minutes.iter().map(value).max().unwrap_or(0).max(1);
    let total: u64 = minutes.iter().map(value).sum();
    let slot = WIDTH / minutes.len().max(1) as u64;
    let mut svg = format!(
        r#"<svg class="plot" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}: {total} in the last hour, at most {top} a minute"><title>{label}</title>"#,
    );
    for (i, minute) in minutes.iter().enumerate() {
        let v = value(minute);
        if v == 0 {
            continue;
        }
        let h = (v * (HEIGHT - 4) / top).max(1);
        let _ = write!(
            svg,
            r#"<rect x="{}" y="{}" width="{}" height="{h}"><title>{v}</title></rect>"#,
            i as u64 * slot,
            HEIGHT - h,
            slot.saturating_sub(1).max(1)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Errors per hundred runs over `minutes`, to one decimal.
pub fn error_rate(minutes: &[MinuteCounts]) -> String {
    let attempts: u64 = minutes.iter().map(|m| m.attempts).sum();
    let errors: u64 = minutes.iter().map(|m| m.errors).sum();
    if attempts == 0 {
        return "—".into();
    }
    format!("{:.1} %", errors as f64 * 100.0 / attempts as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_minute_and_skip_empty_ones() {
        let minutes: Vec<MinuteCounts> = (0..60)
            .map(|i| MinuteCounts {
                minute: i * 60_000,
                attempts: if i == 59 { 4 } else { 0 },
                published: if i == 59 { 4 } else { u64::from(i == 30) * 2 },
                errors: u64::from(i == 59),
            })
            .collect();
        let svg = bars(&minutes, |m| m.published, "Publishes");
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(
            svg.contains(r#"height="116""#),
            "the busiest minute is full height: {svg}"
        );
        assert!(
            svg.contains(r#"height="58""#),
            "half of it, half as tall: {svg}"
        );
        assert!(svg.contains("6 in the last hour"), "{svg}");
        assert_eq!(error_rate(&minutes), "25.0 %");
        assert_eq!(error_rate(&minutes[..10]), "—");
    }
}
