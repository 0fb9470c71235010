//! What a plugin wrote to stderr before it trapped, made into the readable end of a failure
//! reason: the toolchains' own boilerplate dropped, the author's message kept.

/// Characters of stderr kept in a failure reason (its end: the last thing a plugin says is
/// what went wrong).
const TAIL_CHARS: usize = 512;

/// Lines language runtimes print around every failure, which only hide the author's message:
/// componentize-py's Rust runtime panics after printing the Python traceback, and
/// SpiderMonkey (componentize-js) announces its abort.
const BOILERPLATE: &[&str] = &[
    "Python function threw an unexpected exception",
    "note: run with `RUST_BACKTRACE=1`",
    "Redirecting call to abort() to mozalloc_abort",
];

/// What componentize-js prints when an export throws something that is not the world's
/// `plugin-error` record (an `Error`, a string): the thrown message is lost inside the guest.
const JS_NOT_A_PLUGIN_ERROR: &str = "expected a string, received [undefined]";

/// The end of `stderr` worth showing in a failure reason, on one line; `None` when the plugin
/// said nothing.
pub fn last_words(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !BOILERPLATE.iter().any(|b| l.contains(b)))
        .filter(|l| !(l.starts_with("thread '") && l.contains("panicked at")))
        .collect();
    if lines.is_empty() {
        return None;
    }
    let said = lines.join(" | ");
    let count = said.chars().count();
    let tail: String = said
        .chars()
        .skip(count.saturating_sub(TAIL_CHARS))
        .collect();
    let tail = if count > TAIL_CHARS {
        format!("…{tail}")
    } else {
        tail
    };
    Some(if stderr.contains(JS_NOT_A_PLUGIN_ERROR) {
        format!(
            "a JavaScript export threw something that is not a plugin-error {{code, message}} \
             (an Error or a string loses its message): catch it and throw {{code, message}}; {tail}"
        )
    } else {
        tail
    })
}

#[cfg(test)]
mod tests {
    use super::last_words;

    #[test]
    fn a_python_traceback_keeps_the_exception_and_drops_the_runtime_panic() {
        let stderr = "Traceback (most recent call last):\n  File \"/0/app.py\", line 43, in analyze\napp.Uncaught: deliberate\n\nthread '<unnamed>' (1) panicked at runtime/src/lib.rs:1293:29:\nPython function threw an unexpected exception\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        let words = last_words(stderr).unwrap();
        assert!(words.ends_with("app.Uncaught: deliberate"), "{words}");
        assert!(!words.contains("panicked"), "{words}");
    }

    #[test]
    fn a_javascript_non_plugin_error_gets_a_hint() {
        let stderr = "expected a string, received [undefined]\nStack:\n  export_analyze@x.js:9:1\n\nRedirecting call to abort() to mozalloc_abort\n";
        let words = last_words(stderr).unwrap();
        assert!(words.starts_with("a JavaScript export threw"), "{words}");
        assert!(!words.contains("mozalloc"), "{words}");
    }

    #[test]
    fn long_output_keeps_its_end_and_silence_is_none() {
        let stderr = format!("{}THE END", "x".repeat(5000));
        let words = last_words(&stderr).unwrap();
        assert!(words.ends_with("THE END") && words.starts_with('…'));
        assert_eq!(words.chars().count(), 513);
        assert_eq!(last_words(" \n\n"), None);
    }
}
