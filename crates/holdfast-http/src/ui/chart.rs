//! Bar charts as inline SVG, written here (no plotting library, no script): one horizontal bar
//! per label, scaled to the largest value, with a `<title>` naming every bar and its value for
//! screen readers. Every text is escaped; colours are presentation attributes (the pages' CSP
//! allows no inline style). Each chart is shown beside a table of the same numbers.

use std::fmt::Write;

use crate::public_form::escape;

/// One bar: its label, its value (the length) and the value as shown.
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub shown: String,
}

const LABEL_WIDTH: i64 = 170;
const BAR_AREA: i64 = 380;
const ROW: i64 = 26;
const BAR_HEIGHT: i64 = 18;
const WIDTH: i64 = LABEL_WIDTH + BAR_AREA + 110;

/// The SVG of a horizontal bar chart titled `title`; `id` makes its title's id unique on the
/// page.
pub fn bar_chart(id: &str, title: &str, bars: &[Bar]) -> String {
    let height = ROW * i64::try_from(bars.len()).unwrap_or(0) + 8;
    let largest = bars.iter().map(|bar| bar.value).max().unwrap_or(0).max(1);
    let spoken: Vec<String> = bars
        .iter()
        .map(|bar| format!("{} {}", bar.label, bar.shown))
        .collect();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\" role=\"img\" \
         aria-labelledby=\"{id}-title\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" \
         height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\
         <title id=\"{id}-title\">{}</title>",
        escape(&format!("{title}: {}", spoken.join("; "))),
        id = escape(id),
    );
    for (bar, index) in bars.iter().zip(0_i64..) {
        let top = 4 + index * ROW;
        let length = if bar.value > 0 {
            (bar.value.saturating_mul(BAR_AREA) / largest).max(2)
        } else {
            0
        };
        let baseline = top + BAR_HEIGHT - 4;
        let _ = write!(
            svg,
            "<g class=\"bar\" data-label=\"{label}\" data-value=\"{value}\">\
             <text x=\"{tx}\" y=\"{baseline}\" text-anchor=\"end\" fill=\"#1a202c\">{label}</text>\
             <rect x=\"{LABEL_WIDTH}\" y=\"{top}\" width=\"{length}\" height=\"{BAR_HEIGHT}\" \
             fill=\"#2b6cb0\"><title>{label}: {shown}</title></rect>\
             <text x=\"{vx}\" y=\"{baseline}\" fill=\"#1a202c\">{shown}</text></g>",
            label = escape(&bar.label),
            value = bar.value,
            shown = escape(&bar.shown),
            tx = LABEL_WIDTH - 8,
            vx = LABEL_WIDTH + length + 6,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_text_is_escaped() {
        let bars = [
            Bar {
                label: "<b>phishing</b>".into(),
                value: 4,
                shown: "4".into(),
            },
            Bar {
                label: "malware".into(),
                value: 1,
                shown: "1".into(),
            },
        ];
        let svg = bar_chart("c1", "Reports & more", &bars);
        assert!(svg.contains("width=\"380\""), "{svg}");
        assert!(svg.contains("width=\"95\""), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;b&gt;phishing&lt;/b&gt;"), "{svg}");
        assert!(svg.contains("Reports &amp; more: &lt;b&gt;phishing&lt;/b&gt; 4; malware 1"));
    }
}
