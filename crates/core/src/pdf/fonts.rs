//! The embedded fonts (Noto Sans, see `assets/fonts/README.md`), loaded once per process.

use std::sync::OnceLock;

use super::PdfError;
use super::text::Metrics;

/// Noto Sans Regular.
pub(crate) const REGULAR: &[u8] = include_bytes!("../../../../assets/fonts/NotoSans-Regular.ttf");
/// Noto Sans Bold.
pub(crate) const BOLD: &[u8] = include_bytes!("../../../../assets/fonts/NotoSans-Bold.ttf");

/// Which of the two faces a piece of text uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

/// One face: krilla's handle for drawing and the metrics for measuring.
pub(crate) struct Face {
    pub(crate) font: krilla::text::Font,
    pub(crate) metrics: Metrics,
}

/// Both faces.
pub(crate) struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    /// The process-wide fonts, read on first use.
    pub(crate) fn get() -> Result<&'static Fonts, PdfError> {
        static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
        FONTS.get_or_init(Fonts::load).as_ref().ok_or(PdfError::Font)
    }

    fn load() -> Option<Fonts> {
        let face = |data: &'static [u8]| {
            Some(Face { font: krilla::text::Font::new(data.into(), 0)?, metrics: Metrics::new(data)? })
        };
        Some(Fonts { regular: face(REGULAR)?, bold: face(BOLD)? })
    }

    /// The face for `weight`.
    pub(crate) fn face(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    /// The metrics for `weight`.
    pub(crate) fn metrics(&self, weight: Weight) -> &Metrics {
        &self.face(weight).metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_faces_cover_russian_kazakh_and_the_tenge_sign() {
        let fonts = Fonts::get().expect("the embedded fonts load");
        let needed = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя\
                      ӘәҒғҚқҢңӨөҰұҮүҺһІі ₸ № «» — – ₽ $ € \u{a0}\u{202f}";
        for weight in [Weight::Regular, Weight::Bold] {
            let missing: String = needed.chars().filter(|&c| !fonts.metrics(weight).covers(c)).collect();
            assert!(missing.is_empty(), "{weight:?} lacks {missing:?}");
        }
    }
}
