//! The bindings of the interfaces every world shares (`types`, `host`), generated once so that
//! `crate::Finding` is one type whatever the plugin's kind.
//!
//! The worlds themselves are bound in plugin crates, by the export macros (`__world_bindings!`):
//! bindings carry a description of their world in a `component-type` custom section, which
//! lands in every binary they are compiled into (rustc keeps such sections of every object it
//! links), and `wit-component` unions all those descriptions into the component's type. Bound
//! here, every world would describe its `use`d types as imports of every plugin. The world
//! bound here imports the shared interfaces only, and `wit-component` drops the imports a
//! component does not call.

include!(concat!(env!("OUT_DIR"), "/contract.rs"));

/// Generates the shared interfaces from a world that imports them and nothing else.
#[doc(hidden)]
#[macro_export]
macro_rules! __shared_bindings {
    (
        path: $path:literal,
        types: $types:literal,
        host: $host:literal,
        imports: $imports:literal $(,)?
    ) => {
        wit_bindgen::generate!({
            inline: $imports,
            path: $path,
            // The interfaces belong to the contract's package, not to the inline one.
            generate_all,
        });
    };
}

// The WIT's doc comments become the docs of the generated types; the few fields, variants and
// types the contract leaves undocumented (e.g. `repo-facts.bare`) are documented there or not
// at all, and a released contract is frozen.
#[allow(missing_docs)]
mod shared {
    __with_contract!(__shared_bindings {});
}
pub use shared::trellis;

/// Generates world `$world` in the invoking (plugin) crate, reusing the SDK's shared interfaces.
#[doc(hidden)]
#[macro_export]
macro_rules! __world_bindings {
    (
        path: $path:literal,
        types: $types:literal,
        host: $host:literal,
        imports: $imports:literal,
        world: $world:literal $(,)?
    ) => {
        $crate::__private::wit_bindgen::generate!({
            path: $path,
            world: $world,
            // wit-bindgen prints these paths into source it parses again, where `$crate` means
            // nothing: they name the SDK by its crate name, as serde's derives do.
            with: {
                $types: ::trellis_sdk::__private::types,
                $host: ::trellis_sdk::__private::host,
            },
            runtime_path: "::trellis_sdk::__private::wit_bindgen::rt",
        });
    };
}
