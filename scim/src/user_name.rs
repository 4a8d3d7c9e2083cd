//! The key that decides when two `userName`s are the same user
//! (DESIGN §8): uniqueness, `eq` and every other comparison of userNames
//! use it, while the userName itself is stored and returned as sent.
//!
//! The key is Unicode's NFKC_Casefold (UAX #44, `DerivedNormalizationProps`)
//! of the value, trimmed of white space: compatibility forms are unified
//! (`ﬁ` is `fi`, full-width `Ｊ` is `J`), case is folded fully (`STRASSE` is
//! `straße`, final `ς` is `σ`), default-ignorable code points (zero-width
//! spaces and joiners, soft hyphens, variation selectors) are dropped, and
//! canonically equivalent spellings (`é` precomposed or as `e` + U+0301)
//! are one. Folding is the default, not the Turkish one: `İ` folds to
//! `i̇` (i + U+0307), not to `i`, and `ı` stays itself.

use std::borrow::Cow;

use icu_casemap::CaseMapper;
use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::CodePointSetData;
use icu_properties::props::DefaultIgnorableCodePoint;

/// Passes of NFKC, folding and removal after which the key is stable.
/// UAX #44 defines NFKC_Casefold as these steps repeated until nothing
/// changes; real text is stable after one pass, and no code point needs
/// more than two.
const MAX_PASSES: usize = 4;

/// The comparison key of a userName: NFKC_Casefold of `user_name`, with
/// white space trimmed at both ends. An empty key (a name of only spaces
/// or zero-width characters) names nobody.
pub fn key(user_name: &str) -> String {
    let mut current: Cow<'_, str> = Cow::Borrowed(user_name);
    for _ in 0..MAX_PASSES {
        let next = pass(&current);
        if next == current {
            break;
        }
        current = Cow::Owned(next);
    }
    // After folding, so that a zero-width character beside the spaces
    // does not keep them, and so that NFKC's spaces (U+00A0, U+3000 …
    // become U+0020) are trimmed too.
    current.trim().to_owned()
}

/// One pass of NFKC_Casefold over a whole string: drop default-ignorable
/// code points, NFKC, fold case, NFKC again (which also composes, as the
/// definition's final NFC does).
fn pass(text: &str) -> String {
    const IGNORABLE: icu_properties::CodePointSetDataBorrowed<'static> =
        CodePointSetData::new::<DefaultIgnorableCodePoint>();
    const NFKC: ComposingNormalizerBorrowed<'static> = ComposingNormalizerBorrowed::new_nfkc();
    let visible: String = text.chars().filter(|c| !IGNORABLE.contains(*c)).collect();
    let normalized = NFKC.normalize(&visible);
    let folded = CaseMapper::new().fold_string(&normalized);
    let folded: String = folded.chars().filter(|c| !IGNORABLE.contains(*c)).collect();
    NFKC.normalize(&folded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs that must be one userName, each named by what it proves.
    #[test]
    fn equivalent_spellings_share_a_key() {
        let cases = [
            ("case", "BJensen@Example.com", "bjensen@example.com"),
            ("NFC and NFD", "jos\u{e9}", "jose\u{301}"),
            ("trailing spaces", "jose ", "jose"),
            ("leading and trailing tabs", "\tjose\t", "jose"),
            ("a zero-width space inside", "jo\u{200b}se", "jose"),
            ("a zero-width space at the end", "jose\u{200b}", "jose"),
            ("a space behind a zero-width space", "jose \u{200b}", "jose"),
            ("a zero-width joiner", "jo\u{200d}se", "jose"),
            ("a soft hyphen", "jo\u{ad}se", "jose"),
            ("a no-break space at the end", "jose\u{a0}", "jose"),
            ("final sigma", "ΟΔΥΣΣΕΥΣ", "οδυσσευς"),
            ("final and medial sigma", "οδυσσευς", "οδυσσευσ"),
            ("sharp s", "STRASSE", "stra\u{df}e"),
            ("capital sharp s", "STRA\u{1e9e}E", "strasse"),
            ("the fi ligature", "\u{fb01}nance", "finance"),
            ("the ffi ligature", "o\u{fb03}ce", "OFFICE"),
            (
                "full-width letters",
                "\u{ff2a}\u{ff4f}\u{ff53}\u{ff45}",
                "jose",
            ),
            ("full-width at sign", "a\u{ff20}b.com", "a@b.com"),
            ("the kelvin sign", "\u{212a}im", "kim"),
            ("the angstrom sign", "\u{212b}sa", "\u{e5}sa"),
            (
                "dotted capital I and its decomposition",
                "\u{130}",
                "i\u{307}",
            ),
            ("dotted capital I decomposed", "I\u{307}", "\u{130}"),
        ];
        for (why, a, b) in cases {
            assert_eq!(key(a), key(b), "{why}: {a:?} and {b:?}");
        }
    }

    /// Pairs that stay two userNames.
    #[test]
    fn different_names_keep_different_keys() {
        let cases = [
            (
                "Turkish dotted I is not plain i",
                "\u{130}stanbul",
                "istanbul",
            ),
            ("Turkish dotless i is not plain i", "\u{131}zmir", "izmir"),
            ("an accent is not its absence", "jos\u{e9}", "jose"),
            ("inner spaces count", "john doe", "johndoe"),
            ("a doubled inner space counts", "john  doe", "john doe"),
        ];
        for (why, a, b) in cases {
            assert_ne!(key(a), key(b), "{why}: {a:?} and {b:?}");
        }
    }

    #[test]
    fn keys_are_the_folded_forms() {
        assert_eq!(key("  Stra\u{df}e\t"), "strasse");
        assert_eq!(key("\u{fb01}"), "fi");
        assert_eq!(key("\u{ff21}"), "a");
        assert_eq!(key("\u{130}"), "i\u{307}");
        assert_eq!(key("\u{131}"), "\u{131}");
        assert_eq!(key("jose\u{301}"), "jos\u{e9}");
    }

    #[test]
    fn names_of_only_spaces_or_invisible_characters_have_an_empty_key() {
        for name in [
            "",
            " ",
            "\t \n",
            "\u{200b}",
            "\u{200b} \u{200b}",
            "\u{feff}",
            "\u{a0}\u{3000}",
        ] {
            assert_eq!(key(name), "", "{name:?}");
        }
    }

    #[test]
    fn a_key_is_its_own_key() {
        for name in [
            "BJensen@Example.com",
            "ΟΔΥΣΣΕΥΣ",
            "\u{fb03}",
            "\u{130}I\u{307}",
            "\u{1e9e}\u{345}\u{3a3}",
            "\u{fdfa}",
            "\u{2126}hm",
        ] {
            let once = key(name);
            assert_eq!(key(&once), once, "{name:?}");
        }
    }
}
