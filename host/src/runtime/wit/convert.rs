//! Field-by-field conversion between the generated types of two contract versions.
//!
//! Each version's bindings are their own Rust types even where the WIT did not change, so an
//! older version's module converts its types to the newest and back with [`Convert`]. The macros
//! write the conversions of types whose shape is the same in both versions; a type that changed
//! is converted by hand, next to the version that changed it.

/// Converts a value of one contract version's type into another version's type.
pub(crate) trait Convert<T> {
    /// The converted value.
    fn convert(self) -> T;
}

macro_rules! same_in_every_version {
    ($($t:ty),*) => {$(
        impl Convert<$t> for $t {
            fn convert(self) -> $t {
                self
            }
        }
    )*};
}
same_in_every_version!((), bool, u8, u16, u32, u64, i64, f64, String);

impl<A: Convert<B>, B> Convert<Vec<B>> for Vec<A> {
    fn convert(self) -> Vec<B> {
        self.into_iter().map(Convert::convert).collect()
    }
}

impl<A: Convert<B>, B> Convert<Option<B>> for Option<A> {
    fn convert(self) -> Option<B> {
        self.map(Convert::convert)
    }
}

impl<A: Convert<C>, B: Convert<D>, C, D> Convert<(C, D)> for (A, B) {
    fn convert(self) -> (C, D) {
        (self.0.convert(), self.1.convert())
    }
}

impl<A: Convert<C>, B: Convert<D>, C, D> Convert<Result<C, D>> for Result<A, B> {
    fn convert(self) -> Result<C, D> {
        self.map(Convert::convert).map_err(Convert::convert)
    }
}

/// Records with the same fields in both versions, converted both ways:
/// `[old::Type] <=> [new::Type] { field, ... }`.
macro_rules! records {
    ($([$($a:tt)*] <=> [$($b:tt)*] { $($field:ident),* $(,)? })*) => {$(
        impl $crate::runtime::wit::convert::Convert<$($b)*> for $($a)* {
            fn convert(self) -> $($b)* {
                type Target = $($b)*;
                Target { $($field: $crate::runtime::wit::convert::Convert::convert(self.$field)),* }
            }
        }
        impl $crate::runtime::wit::convert::Convert<$($a)*> for $($b)* {
            fn convert(self) -> $($a)* {
                type Target = $($a)*;
                Target { $($field: $crate::runtime::wit::convert::Convert::convert(self.$field)),* }
            }
        }
    )*};
}

/// Enums and variants with the same cases in both versions, converted both ways:
/// `[old::Type] <=> [new::Type] { Unit, WithPayload(x), ... }`.
macro_rules! variants {
    ($([$($a:tt)*] <=> [$($b:tt)*] { $($case:ident $(($x:ident))?),* $(,)? })*) => {$(
        impl $crate::runtime::wit::convert::Convert<$($b)*> for $($a)* {
            fn convert(self) -> $($b)* {
                type Target = $($b)*;
                match self {
                    $(Self::$case $(($x))? => Target::$case $(($crate::runtime::wit::convert::Convert::convert($x)))?,)*
                }
            }
        }
        impl $crate::runtime::wit::convert::Convert<$($a)*> for $($b)* {
            fn convert(self) -> $($a)* {
                type Target = $($a)*;
                match self {
                    $(Self::$case $(($x))? => Target::$case $(($crate::runtime::wit::convert::Convert::convert($x)))?,)*
                }
            }
        }
    )*};
}

/// Flags with the same names in both versions, converted both ways:
/// `[old::Type] <=> [new::Type] { FLAG, ... }`.
macro_rules! flags {
    ($([$($a:tt)*] <=> [$($b:tt)*] { $($flag:ident),* $(,)? })*) => {$(
        impl $crate::runtime::wit::convert::Convert<$($b)*> for $($a)* {
            fn convert(self) -> $($b)* {
                type Target = $($b)*;
                let mut out = Target::empty();
                $(if self.contains(Self::$flag) { out |= Target::$flag; })*
                out
            }
        }
        impl $crate::runtime::wit::convert::Convert<$($a)*> for $($b)* {
            fn convert(self) -> $($a)* {
                type Target = $($a)*;
                let mut out = Target::empty();
                $(if self.contains(Self::$flag) { out |= Target::$flag; })*
                out
            }
        }
    )*};
}

pub(crate) use {flags, records, variants};
