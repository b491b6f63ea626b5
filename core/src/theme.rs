//! The look a deployment or an embedding page may give the app: a few tokens, each checked before
//! it becomes a CSS custom property, and a brand colour kept readable.

/// Theme tokens the deployer may set; each becomes a CSS custom property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Theme {
    /// `--brand`, a hex colour.
    pub brand: Option<String>,
    /// `--radius`, a CSS length in px or rem.
    pub radius: Option<String>,
    /// `--font`, a font-family list.
    pub font: Option<String>,
}

impl Theme {
    /// `(custom property, value)` pairs to set on the document root. A brand colour too light to
    /// carry white text (or to be read as text) is darkened until it keeps 4.5:1.
    pub fn css_properties(&self) -> Vec<(&'static str, String)> {
        let brand = self.brand.as_deref().and_then(readable_brand);
        [
            ("--brand", brand),
            ("--radius", self.radius.clone()),
            ("--font", self.font.clone()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    /// This theme with the values `over` sets.
    pub fn overlaid(&self, over: &Theme) -> Theme {
        Theme {
            brand: over.brand.clone().or_else(|| self.brand.clone()),
            radius: over.radius.clone().or_else(|| self.radius.clone()),
            font: over.font.clone().or_else(|| self.font.clone()),
        }
    }
}

pub fn is_hex_colour(s: &str) -> bool {
    s.strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A length of at most 48 px or rem, e.g. `12px` or `0.75rem`.
pub fn is_css_length(s: &str) -> bool {
    let Some(num) = s.strip_suffix("px").or_else(|| s.strip_suffix("rem")) else {
        return false;
    };
    let (whole, frac) = num.split_once('.').unwrap_or((num, "0"));
    let digits = |p: &str| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit());
    digits(whole)
        && digits(frac)
        && whole
            .parse::<u32>()
            .is_ok_and(|w| w < 48 || (w == 48 && frac.bytes().all(|b| b == b'0')))
}

pub fn is_font_family(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | ',' | '-' | '"' | '\'' | '_'))
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub fn parse(hex: &str) -> Option<Self> {
        let h = hex.strip_prefix('#')?;
        let byte = |s: &str| u8::from_str_radix(s, 16).ok();
        match h.len() {
            3 => {
                let d: Vec<u8> = h
                    .chars()
                    .map(|c| c.to_digit(16).map(|v| (v * 17) as u8))
                    .collect::<Option<_>>()?;
                Some(Self(d[0], d[1], d[2]))
            }
            6 => Some(Self(byte(&h[0..2])?, byte(&h[2..4])?, byte(&h[4..6])?)),
            _ => None,
        }
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG 2 relative luminance.
    fn luminance(self) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }

    fn darker(self, amount: f64) -> Self {
        let d = |c: u8| (f64::from(c) * (1.0 - amount)).round() as u8;
        Self(d(self.0), d(self.1), d(self.2))
    }
}

/// WCAG 2 contrast ratio of two colours, 1 to 21.
pub fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (x, y) = (a.luminance(), b.luminance());
    let (hi, lo) = if x > y { (x, y) } else { (y, x) };
    (hi + 0.05) / (lo + 0.05)
}

/// The backgrounds the brand colour meets: white text on it (buttons, the top bar) and it as text
/// on the page's light surfaces (links).
const LIGHT_SURFACES: [Rgb; 2] = [Rgb(0xff, 0xff, 0xff), Rgb(0xf3, 0xf6, 0xf5)];

/// The least contrast text must keep (WCAG 1.4.3, AA).
pub const MIN_CONTRAST: f64 = 4.5;

/// A brand colour that keeps 4.5:1 against white and the page's light surfaces: the colour itself
/// when it does, else the same hue darkened just enough.
pub fn readable_brand(hex: &str) -> Option<String> {
    let colour = Rgb::parse(hex)?;
    let ok = |c: Rgb| {
        LIGHT_SURFACES
            .iter()
            .all(|s| contrast(c, *s) >= MIN_CONTRAST)
    };
    (0..=20)
        .map(|step| colour.darker(f64::from(step) * 0.05))
        .find(|c| ok(*c))
        .map(|c| {
            if c == colour {
                hex.to_string()
            } else {
                c.hex()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_lengths() {
        for (len, ok) in [
            ("12px", true),
            ("0.75rem", true),
            ("48px", true),
            ("48.5px", false),
            ("9999px", false),
            ("1e2px", false),
            ("-1px", false),
            ("px", false),
            ("12", false),
        ] {
            assert_eq!(is_css_length(len), ok, "{len}");
        }
    }

    #[test]
    fn themes_keep_text_readable() {
        // The default green passes as it is.
        assert_eq!(readable_brand("#0b6e4f").as_deref(), Some("#0b6e4f"));
        // A pale yellow is darkened until white text on it (and it on white) reads at 4.5:1.
        let fixed = readable_brand("#ffd60a").unwrap();
        let c = Rgb::parse(&fixed).unwrap();
        for s in LIGHT_SURFACES {
            assert!(contrast(c, s) >= MIN_CONTRAST, "{fixed}");
        }
        assert_ne!(fixed, "#ffd60a");
        assert_eq!(readable_brand("#fff").map(|h| h.len()), Some(7));
        assert_eq!(readable_brand("not a colour"), None);
        assert!((contrast(Rgb(0, 0, 0), Rgb(255, 255, 255)) - 21.0).abs() < 1e-9);
    }
}
