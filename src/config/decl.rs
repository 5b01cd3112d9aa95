//! The machinery of the declarations: a typed key ([`Key<T>`]), the rule its value
//! must follow ([`Rule`], made through typed constructors such as [`int`] and
//! [`dur`] so a key's rule fits its type), the checked values of one table
//! ([`Fields`], read only through keys), and the macros [`table!`] and [`keys!`]
//! that turn one declaration per key into the struct, its defaults, its builder and
//! the checker's table. The declarations themselves are in `keys.rs`.
//!
//! Code names a key only through the constant its declaration made
//! (`keys::session::action_timeout`): a misspelt key name does not compile, and a
//! key read as the wrong type does not either.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use crate::actions::Part;
use crate::camera::jpeg::FormatPreference;
use crate::camera::{LeftIs, Performer};
use crate::display::ssd1306::PanelSize;
use crate::gpio::line::{Bcm, Edge, LineSpec, Pull};
use crate::rotation::Rotation;

/// A byte range in the configuration text.
pub(super) type Span = Range<usize>;

/// What a key's value must be.
#[derive(Clone, Copy, Debug)]
pub(super) enum Rule {
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// A number (a fraction such as `0.15`, or a whole one) in `min..=max`.
    Fraction { min: f64, max: f64 },
    /// A duration written as text (`"10s"`), in `min..=max`.
    Dur { min: Duration, max: Duration },
    /// `true` or `false`.
    Bool,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// An `http://` or `https://` address.
    Url,
    /// A file or folder path; `absolute` when it must start with `/`.
    Path { absolute: bool },
    /// A list of distinct action names from [`crate::actions::ALL`].
    Actions,
    /// A whole number from a short list; `hex` when messages show it in hexadecimal.
    Ints { values: &'static [i64], hex: bool },
    /// A BCM GPIO number, 0..=27.
    Pin,
    /// A GPIO chip line: an offset 0..=511 or a line name in quotes.
    Line,
    /// A video device: an absolute path under `/dev/`.
    Device,
    /// Unix permission bits for the control socket: 0o600..=0o660, none for others.
    Mode,
    /// A Unix group name.
    Group,
    /// A file for node_exporter's textfile collector: an absolute path ending in `.prom`.
    PromFile,
    /// A card number: `NUMBER` or `FACILITY:NUMBER`, in quotes (its fit to the
    /// format is a rule between keys).
    Card,
}

/// One key of a table as the checker sees it: its name and rule.
#[derive(Clone, Copy, Debug)]
pub(super) struct Spec {
    pub(super) name: &'static str,
    pub(super) rule: Rule,
}

/// A rule for values of type `T` (`T` itself or `Option<T>` for a key that may be
/// unset): what keeps a declaration's rule and type in step.
pub(super) struct R<T> {
    rule: Rule,
    _type: PhantomData<fn() -> T>,
}

const fn r<T>(rule: Rule) -> R<T> {
    R {
        rule,
        _type: PhantomData,
    }
}

/// `T` is `X`, or `Option<X>` (a key that may be left unset).
pub(super) trait Of<X> {}
impl<X> Of<X> for X {}
impl<X> Of<X> for Option<X> {}

/// A whole-number type a key can hold.
pub(super) trait Whole {}
impl Whole for u8 {}
impl Whole for u32 {}
impl Whole for i64 {}

/// A choice written as a word (the words of its owner's `words!`).
pub(super) trait Choice: Sized {
    const WORDS: &'static [&'static str];
    fn parse(word: &str) -> Option<Self>;
}

macro_rules! choice_of_words {
    ($($t:ty),+) => {$(
        impl Choice for $t {
            const WORDS: &'static [&'static str] = <$t>::WORDS;
            fn parse(word: &str) -> Option<Self> {
                <$t>::parse(word)
            }
        }
    )+};
}
choice_of_words!(Pull, Edge, LeftIs, Performer, PanelSize, FormatPreference);

/// The body parts of `api.part`.
pub(super) const PARTS: &[&str] = &["face", "hand"];

impl Choice for Part {
    const WORDS: &'static [&'static str] = PARTS;
    fn parse(word: &str) -> Option<Self> {
        [Part::Face, Part::Hand]
            .into_iter()
            .find(|p| p.as_str() == word)
    }
}

impl<T: Choice> Choice for Option<T> {
    const WORDS: &'static [&'static str] = T::WORDS;
    fn parse(word: &str) -> Option<Self> {
        T::parse(word).map(Some)
    }
}

pub(super) const SEC: u64 = 1000;
pub(super) const MINUTE: u64 = 60 * SEC;
pub(super) const HOUR: u64 = 60 * MINUTE;

/// The rules a declaration picks from, each typed: `rule::int(1, 10)` fits a
/// whole-number key, `rule::dur(…)` a duration (or an optional one), and so on.
pub(super) mod rule {
    use super::*;

    /// A whole number from `min` to `max`.
    pub(in crate::config) const fn int<T: Whole>(min: i64, max: i64) -> R<T> {
        r(Rule::Int { min, max })
    }

    /// A number from `min` to `max` (a fraction: `0.15`).
    pub(in crate::config) const fn fraction(min: f64, max: f64) -> R<f32> {
        r(Rule::Fraction { min, max })
    }

    /// A duration from `min` to `max` microseconds.
    pub(in crate::config) const fn dur_us<T: Of<Duration>>(min: u64, max: u64) -> R<T> {
        r(Rule::Dur {
            min: Duration::from_micros(min),
            max: Duration::from_micros(max),
        })
    }

    /// A card number, `"NUMBER"` or `"FACILITY:NUMBER"`.
    pub(in crate::config) const fn card<T: Of<String>>() -> R<T> {
        r(Rule::Card)
    }

    /// A duration from `min` to `max` milliseconds.
    pub(in crate::config) const fn dur<T: Of<Duration>>(min: u64, max: u64) -> R<T> {
        r(Rule::Dur {
            min: Duration::from_millis(min),
            max: Duration::from_millis(max),
        })
    }

    /// `true` or `false`.
    pub(in crate::config) const fn boolean() -> R<bool> {
        r(Rule::Bool)
    }

    /// One of the words of the choice `T`.
    pub(in crate::config) const fn choice<T: Choice>() -> R<T> {
        r(Rule::Choice(T::WORDS))
    }

    /// One of `words`, kept as the word.
    pub(in crate::config) const fn word<T: Of<String>>(words: &'static [&'static str]) -> R<T> {
        r(Rule::Choice(words))
    }

    /// A path; `absolute` when it must start with `/`.
    pub(in crate::config) const fn path<T: Of<PathBuf>>(absolute: bool) -> R<T> {
        r(Rule::Path { absolute })
    }

    /// An `http(s)://` address.
    pub(in crate::config) const fn url() -> R<String> {
        r(Rule::Url)
    }

    /// Distinct action names.
    pub(in crate::config) const fn actions() -> R<Vec<String>> {
        r(Rule::Actions)
    }

    /// A whole number from `values` (shown in hexadecimal when `hex`).
    pub(in crate::config) const fn ints<T: Whole>(values: &'static [i64], hex: bool) -> R<T> {
        r(Rule::Ints { values, hex })
    }

    /// A rotation: 0, 90, 180 or 270.
    pub(in crate::config) const fn rotation() -> R<Rotation> {
        r(Rule::Ints {
            values: &[0, 90, 180, 270],
            hex: false,
        })
    }

    /// A BCM GPIO number.
    pub(in crate::config) const fn pin<T: Of<Bcm>>() -> R<T> {
        r(Rule::Pin)
    }

    /// A GPIO chip line: an offset or a name.
    pub(in crate::config) const fn line<T: Of<LineSpec>>() -> R<T> {
        r(Rule::Line)
    }

    /// A video device under `/dev/`.
    pub(in crate::config) const fn device() -> R<PathBuf> {
        r(Rule::Device)
    }

    /// The control socket's permission bits.
    pub(in crate::config) const fn mode() -> R<u32> {
        r(Rule::Mode)
    }

    /// A Unix group name.
    pub(in crate::config) const fn group() -> R<String> {
        r(Rule::Group)
    }

    /// A node_exporter textfile.
    pub(in crate::config) const fn prom_file<T: Of<PathBuf>>() -> R<T> {
        r(Rule::PromFile)
    }
}

/// A key of type `T`: its name, rule and default, from its one declaration.
pub(super) struct Key<T> {
    name: &'static str,
    rule: Rule,
    default: fn() -> T,
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Key<T> {}

impl<T> Key<T> {
    /// Only the declarations (`table!`, `keys!` in `keys.rs`) make keys.
    pub(super) const fn declare(name: &'static str, rule: R<T>, default: fn() -> T) -> Self {
        Key {
            name,
            rule: rule.rule,
            default,
        }
    }

    /// The key's name in the file.
    pub(super) const fn name(self) -> &'static str {
        self.name
    }

    /// The checker's view of the key.
    pub(super) const fn spec(self) -> Spec {
        Spec {
            name: self.name,
            rule: self.rule,
        }
    }

    /// The value when the file does not set the key.
    pub(super) fn default(self) -> T {
        (self.default)()
    }
}

/// A value that passed its rule.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Val {
    Int(i64),
    Num(f64),
    Dur(Duration),
    Bool(bool),
    /// Text, a path, or the canonical spelling of a choice.
    Text(String),
    /// Canonical action names with the position of each.
    List(Vec<(String, Span)>),
}

/// A type a checked value turns into.
pub(super) trait FromVal: Sized {
    fn from_val(v: &Val) -> Option<Self>;
}

macro_rules! whole_from_val {
    ($($t:ty),+) => {$(
        impl FromVal for $t {
            fn from_val(v: &Val) -> Option<Self> {
                match v {
                    Val::Int(i) => <$t>::try_from(*i).ok(),
                    _ => None,
                }
            }
        }
    )+};
}
whole_from_val!(u8, u32, i64);

impl FromVal for f32 {
    fn from_val(v: &Val) -> Option<Self> {
        match v {
            Val::Num(n) => Some(*n as f32),
            _ => None,
        }
    }
}

impl FromVal for Duration {
    fn from_val(v: &Val) -> Option<Self> {
        match v {
            Val::Dur(d) => Some(*d),
            _ => None,
        }
    }
}

impl FromVal for bool {
    fn from_val(v: &Val) -> Option<Self> {
        match v {
            Val::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl FromVal for String {
    fn from_val(v: &Val) -> Option<Self> {
        match v {
            Val::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
}

impl FromVal for PathBuf {
    fn from_val(v: &Val) -> Option<Self> {
        String::from_val(v).map(PathBuf::from)
    }
}

impl FromVal for Vec<String> {
    fn from_val(v: &Val) -> Option<Self> {
        match v {
            Val::List(l) => Some(l.iter().map(|(a, _)| a.clone()).collect()),
            _ => None,
        }
    }
}

impl FromVal for Rotation {
    fn from_val(v: &Val) -> Option<Self> {
        i64::from_val(v).and_then(Rotation::from_degrees)
    }
}

impl FromVal for Bcm {
    fn from_val(v: &Val) -> Option<Self> {
        u8::from_val(v).map(Bcm)
    }
}

/// A checked line key: an offset (`Val::Int`) or a name (`Val::Text`).
impl FromVal for LineSpec {
    fn from_val(v: &Val) -> Option<Self> {
        match v {
            Val::Int(n) => u32::try_from(*n).ok().map(LineSpec::Offset),
            Val::Text(t) => Some(LineSpec::Name(t.clone())),
            _ => None,
        }
    }
}

macro_rules! choice_from_val {
    ($($t:ty),+) => {$(
        impl FromVal for $t {
            fn from_val(v: &Val) -> Option<Self> {
                match v {
                    Val::Text(t) => <$t as Choice>::parse(t),
                    _ => None,
                }
            }
        }
    )+};
}
choice_from_val!(
    Pull,
    Edge,
    LeftIs,
    Performer,
    PanelSize,
    FormatPreference,
    Part
);

impl<T: FromVal> FromVal for Option<T> {
    fn from_val(v: &Val) -> Option<Self> {
        T::from_val(v).map(Some)
    }
}

/// Anything that names a key: what [`Fields`] is asked with.
pub(super) trait Named: Copy {
    fn key_name(self) -> &'static str;
}

impl<T> Named for Key<T> {
    fn key_name(self) -> &'static str {
        self.name
    }
}

impl Named for Spec {
    fn key_name(self) -> &'static str {
        self.name
    }
}

/// The checked keys of one table: values that passed, and keys that had a problem.
#[derive(Debug, Default)]
pub(super) struct Fields {
    pub(super) got: BTreeMap<&'static str, (Val, Span)>,
    pub(super) failed: BTreeSet<&'static str>,
}

impl Fields {
    /// The checked value of `key`, when the file sets it and it is valid.
    pub(super) fn val(&self, key: impl Named) -> Option<&Val> {
        self.got.get(key.key_name()).map(|(v, _)| v)
    }

    /// The value's position, when the key is in the file and valid.
    pub(super) fn span(&self, key: impl Named) -> Option<Span> {
        self.got.get(key.key_name()).map(|(_, s)| s.clone())
    }

    /// False when the key is in the file but had a problem.
    pub(super) fn ok(&self, key: impl Named) -> bool {
        !self.failed.contains(key.key_name())
    }

    /// The file's value of `key`, typed.
    pub(super) fn get<T: FromVal>(&self, key: Key<T>) -> Option<T> {
        self.val(key).and_then(T::from_val)
    }

    /// The file's value of `key`, else its default.
    pub(super) fn get_or_default<T: FromVal>(&self, key: Key<T>) -> T {
        self.get(key).unwrap_or_else(|| key.default())
    }
}

/// A table whose keys are declared with [`table!`]: its defaults and its builder
/// come from the declaration (its keys are the module's `ALL`).
pub(super) trait Table: Sized {
    /// Every key at its default.
    fn defaults() -> Self;
    /// Every key from the file, else its default.
    fn build(f: &Fields) -> Self;
}

/// One kind of a device table (`[camera] kind = "sim"`): its own keys (besides `kind`)
/// and how to build the typed configuration from their checked values.
pub(super) struct Kind<T: 'static> {
    pub(super) name: &'static str,
    pub(super) keys: &'static [Spec],
    pub(super) build: fn(&Fields) -> T,
}

/// A device table whose keys depend on its `kind`; the first kind is the default.
///
/// Adding a kind (say `v4l2`) is one more [`Kind`] entry with its keys and builder.
pub(super) struct Device<T: 'static> {
    pub(super) table: &'static str,
    pub(super) kinds: &'static [Kind<T>],
}

/// Declares the keys of one table, each once: `name: Type = default, rule;` with
/// its doc comment as the help words. Makes a module of key constants named as the
/// keys (`keys::session::action_timeout`), its `ALL` (the checker's table, in the
/// declared order) and, for a struct (`struct T in mod` to define it here,
/// `for T in mod` for an option struct a lower module owns, whose fields are named
/// as the keys), the [`Table`] impl: defaults and builder.
macro_rules! table {
    (
        $(#[$meta:meta])*
        pub struct $t:ident in $keys:ident {
            $( $(#[$doc:meta])* $field:ident : $ty:ty = $default:expr, $rule:expr; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $t {
            $( $(#[$doc])* pub $field: $ty, )*
        }
        table!(for $t in $keys { $( $(#[$doc])* $field : $ty = $default, $rule; )* });
        impl Default for $t {
            fn default() -> Self {
                <$t as $crate::config::decl::Table>::defaults()
            }
        }
    };
    (
        for $t:ident in $keys:ident {
            $( $(#[$doc:meta])* $field:ident : $ty:ty = $default:expr, $rule:expr; )*
        }
    ) => {
        keys!(
            /// The keys of this table, as code names them.
            $keys { $( $(#[$doc])* $field : $ty = $default, $rule; )* }
        );
        impl $crate::config::decl::Table for $t {
            fn defaults() -> Self {
                $t { $( $field: $keys::$field.default(), )* }
            }
            fn build(f: &$crate::config::decl::Fields) -> Self {
                $t { $( $field: f.get_or_default($keys::$field), )* }
            }
        }
    };
}

/// Declares keys without a struct of their own (the `[gpio]` lines, built by hand
/// into `GpioLines`): the module of key constants and its `ALL`.
macro_rules! keys {
    (
        $(#[$mdoc:meta])*
        $keys:ident {
            $( $(#[$doc:meta])* $field:ident : $ty:ty = $default:expr, $rule:expr; )*
        }
    ) => {
        $(#[$mdoc])*
        #[allow(non_upper_case_globals, dead_code)]
        pub(super) mod $keys {
            #[allow(unused_imports)]
            use super::*;
            use $crate::config::decl::{Key, Spec};
            $(
                $(#[$doc])*
                pub(in $crate::config) const $field: Key<$ty> =
                    Key::declare(stringify!($field), $rule, || $default);
            )*
            /// Every key with its rule, in the declared order.
            pub(in $crate::config) const ALL: &[Spec] = &[$($field.spec()),*];
        }
    };
}
