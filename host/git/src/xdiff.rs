//! git's three-way content merge, as `git merge-tree` runs it: merge-ort hands a file both
//! sides changed to `ll_merge`, whose text driver is xdiff's `xdl_merge` with histogram diffs,
//! `XDL_MERGE_ZEALOUS` and no indent heuristic. This is a port of those parts of xdiff (git
//! 2.47): line classification, the histogram diff with its Myers fallback, change compaction,
//! the edit script and the merge with conflict refinement.
//!
//! gix's text merge differs in ways that change the verdict: its histogram diff pairs lines
//! differently (a file git conflicts on merges cleanly, and a branch would look squash-merged),
//! its hunks are post-processed with the indent heuristic (git slides them down instead, so an
//! insertion next to a change on the other side conflicts in git), and adjacent changes are
//! combined differently. Only the verdict and, for clean merges, the merged text are needed.

use std::collections::HashMap;

/// How conflicts are written (`merge.conflictStyle`); `diff3` also merges less eagerly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictStyle {
    Merge,
    Diff3,
    ZealousDiff3,
}

/// The outcome of a three-way merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// Conflicting hunks (0: the merge is clean).
    pub conflicts: usize,
    /// The merged text when the merge is clean.
    pub text: Option<Vec<u8>>,
}

/// xdiff gave up (a histogram bucket overflowed); git's merge fails in the same case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmergeable;

/// Merges `ours` and `theirs`, both changed from `base`, as `xdl_merge` does.
pub fn merge(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    style: ConflictStyle,
) -> Result<Merged, Unmergeable> {
    Ok(match plan(base, ours, theirs, style)? {
        Plan::Take(text) => Merged {
            conflicts: 0,
            text: Some(text.to_vec()),
        },
        Plan::Hunks(merge) => {
            let conflicts = merge.conflicts();
            Merged {
                conflicts,
                text: (conflicts == 0).then(|| merge.text(None)),
            }
        }
    })
}

/// How conflicts are written into a merged text: `merge`-style markers of `size` characters,
/// followed by the sides' names (git's `ll_merge` labels).
#[derive(Debug, Clone, Copy)]
pub struct Markers<'a> {
    pub size: usize,
    pub ours: &'a [u8],
    pub theirs: &'a [u8],
}

/// Merges as [`merge`] does with the `merge` conflict style, and returns the number of
/// conflicts with the merged text, conflicts written with `markers` as
/// `xdl_fill_merge_buffer` writes them: what git keeps in a virtual merge base.
pub fn merge_with_markers(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    markers: Markers<'_>,
) -> Result<(usize, Vec<u8>), Unmergeable> {
    Ok(match plan(base, ours, theirs, ConflictStyle::Merge)? {
        Plan::Take(text) => (0, text.to_vec()),
        Plan::Hunks(merge) => (merge.conflicts(), merge.text(Some(markers))),
    })
}

/// What a merge takes: one side whole (the other changed nothing), or hunks of both.
enum Plan<'a> {
    Take(&'a [u8]),
    Hunks(HunkMerge<'a>),
}

/// The three texts' records and the merge's hunks.
struct HunkMerge<'a> {
    base: Vec<&'a [u8]>,
    ours: Vec<&'a [u8]>,
    theirs: Vec<&'a [u8]>,
    hunks: Vec<Hunk>,
}

/// The hunk-finding part of `xdl_merge`.
fn plan<'a>(
    base: &'a [u8],
    ours: &'a [u8],
    theirs: &'a [u8],
    style: ConflictStyle,
) -> Result<Plan<'a>, Unmergeable> {
    let (base_lines, our_lines, their_lines) = (lines(base), lines(ours), lines(theirs));
    let ours_env = diff(&base_lines, &our_lines)?;
    let theirs_env = diff(&base_lines, &their_lines)?;
    let ours_script = ours_env.script();
    let theirs_script = theirs_env.script();
    if ours_script.is_empty() {
        return Ok(Plan::Take(theirs));
    }
    if theirs_script.is_empty() {
        return Ok(Plan::Take(ours));
    }
    let level = match style {
        ConflictStyle::Merge => Level::Zealous,
        ConflictStyle::Diff3 | ConflictStyle::ZealousDiff3 => Level::Eager,
    };
    let mut hunks = combine(
        base_lines.len() as i64,
        &our_lines,
        &their_lines,
        &ours_script,
        &theirs_script,
        level,
    );
    if style == ConflictStyle::Merge {
        hunks = simplify_non_conflicts(refine_conflicts(&our_lines, &their_lines, hunks)?);
    }
    Ok(Plan::Hunks(HunkMerge {
        base: base_lines,
        ours: our_lines,
        theirs: their_lines,
        hunks,
    }))
}

impl HunkMerge<'_> {
    fn conflicts(&self) -> usize {
        self.hunks
            .iter()
            .filter(|m| m.mode == Mode::Conflict)
            .count()
    }

    /// `xdl_fill_merge_buffer` (without `favor`): conflicts are left out unless `markers`
    /// says how to write them, which a clean merge never needs.
    fn text(&self, markers: Option<Markers<'_>>) -> Vec<u8> {
        let (ours, theirs) = (&self.ours[..], &self.theirs[..]);
        let mut out = Vec::new();
        let mut i = 0i64;
        for m in &self.hunks {
            match m.mode {
                Mode::Ours | Mode::Theirs => {
                    copy_records(&mut out, ours, i, m.i1 - i, None);
                    if m.mode == Mode::Ours {
                        copy_records(&mut out, ours, m.i1, m.chg1, None);
                    } else {
                        copy_records(&mut out, theirs, m.i2, m.chg2, None);
                    }
                    i = m.i1 + m.chg1;
                }
                Mode::Conflict => {
                    let Some(markers) = markers else { continue };
                    copy_records(&mut out, ours, i, m.i1 - i, None);
                    let eol: &[u8] = if self.needs_cr(m) { b"\r\n" } else { b"\n" };
                    let marker = |out: &mut Vec<u8>, c: u8, name: Option<&[u8]>| {
                        out.extend(std::iter::repeat_n(c, markers.size));
                        if let Some(name) = name {
                            out.push(b' ');
                            out.extend_from_slice(name);
                        }
                        out.extend_from_slice(eol);
                    };
                    marker(&mut out, b'<', Some(markers.ours));
                    copy_records(&mut out, ours, m.i1, m.chg1, Some(eol));
                    marker(&mut out, b'=', None);
                    copy_records(&mut out, theirs, m.i2, m.chg2, Some(eol));
                    marker(&mut out, b'>', Some(markers.theirs));
                    i = m.i1 + m.chg1;
                }
                // Both sides made the same change: ours is copied with what follows.
                Mode::Identical => {}
            }
        }
        copy_records(&mut out, ours, i, ours.len() as i64 - i, None);
        out
    }

    /// `is_cr_needed`: markers end in CRLF when the lines before the conflict on both sides
    /// (or their first lines) and the base's first line do.
    fn needs_cr(&self, m: &Hunk) -> bool {
        let ours = is_eol_crlf(&self.ours, if m.i1 > 0 { m.i1 - 1 } else { 0 });
        let theirs = || is_eol_crlf(&self.theirs, if m.i2 > 0 { m.i2 - 1 } else { 0 });
        let base = || is_eol_crlf(&self.base, 0);
        let decided = match ours {
            Some(false) => Some(false),
            _ => match theirs() {
                Some(false) => Some(false),
                _ => base(),
            },
        };
        decided.unwrap_or(false)
    }
}

/// `is_eol_crlf`: whether record `i` ends in CRLF; `None` when the file cannot tell (it is
/// empty, or its only line has no end).
fn is_eol_crlf(recs: &[&[u8]], i: i64) -> Option<bool> {
    let crlf = |rec: &[u8]| rec.len() > 1 && rec[rec.len() - 2] == b'\r';
    let i = usize::try_from(i).ok()?;
    let last = recs.len().checked_sub(1)?;
    let rec = recs.get(i)?;
    if i < last || rec.last() == Some(&b'\n') {
        return Some(crlf(rec));
    }
    if i == 0 {
        return None;
    }
    Some(crlf(recs[i - 1]))
}

/// `xdl_recs_copy`: `count` records from `from`; with `eol`, a last record without a line end
/// gets one (the markers that follow must start a line).
fn copy_records(out: &mut Vec<u8>, recs: &[&[u8]], from: i64, count: i64, eol: Option<&[u8]>) {
    if count < 1 {
        return;
    }
    let copied = recs.iter().skip(from.max(0) as usize).take(count as usize);
    let mut last: Option<&[u8]> = None;
    for rec in copied {
        out.extend_from_slice(rec);
        last = Some(rec);
    }
    if let (Some(eol), Some(last)) = (eol, last)
        && last.last() != Some(&b'\n')
    {
        out.extend_from_slice(eol);
    }
}

/// The records of a text: lines with their newline (the last one possibly without).
fn lines(data: &[u8]) -> Vec<&[u8]> {
    data.split_inclusive(|b| *b == b'\n').collect()
}

/// One side of a diff: records, their equivalence classes and which ones changed.
struct File<'a> {
    recs: Vec<&'a [u8]>,
    /// The class of each record: equal lines share one (xdiff's `ha` after classification).
    class: Vec<u64>,
    /// `rchg` with xdiff's sentinels: index `i + 1` is record `i`; both ends stay false.
    changed: Vec<bool>,
}

impl<'a> File<'a> {
    fn nrec(&self) -> i64 {
        self.recs.len() as i64
    }

    fn is_changed(&self, i: i64) -> bool {
        self.changed.get((i + 1) as usize).copied().unwrap_or(false)
    }

    fn set_changed(&mut self, i: i64, value: bool) {
        self.changed[(i + 1) as usize] = value;
    }
}

/// Two prepared files and their diff (`xdfenv_t`).
struct Env<'a> {
    f1: File<'a>,
    f2: File<'a>,
    /// Occurrences of each class in file 1 and in file 2.
    counts: Vec<(u64, u64)>,
}

/// One change of an edit script (`xdchange_t`).
#[derive(Debug, Clone, Copy)]
struct Change {
    i1: i64,
    i2: i64,
    chg1: i64,
    chg2: i64,
}

/// `xdl_prepare_env`: classifies the records of both files.
fn prepare<'a>(a: &[&'a [u8]], b: &[&'a [u8]]) -> Env<'a> {
    // A fast hash: with SipHash, classifying lines took 9% of the time of git/git's merges
    // between merge bases (6% with foldhash).
    let mut classes: foldhash::HashMap<&[u8], u64> =
        HashMap::with_capacity_and_hasher(a.len() + b.len(), Default::default());
    let mut counts: Vec<(u64, u64)> = Vec::new();
    let mut classify = |recs: &[&'a [u8]], first: bool| -> Vec<u64> {
        recs.iter()
            .map(|line| {
                let next = classes.len() as u64;
                let class = *classes.entry(line).or_insert(next);
                if class == next {
                    counts.push((0, 0));
                }
                let count = &mut counts[class as usize];
                if first {
                    count.0 += 1;
                } else {
                    count.1 += 1;
                }
                class
            })
            .collect()
    };
    let class1 = classify(a, true);
    let class2 = classify(b, false);
    Env {
        f1: File {
            recs: a.to_vec(),
            class: class1,
            changed: vec![false; a.len() + 2],
        },
        f2: File {
            recs: b.to_vec(),
            class: class2,
            changed: vec![false; b.len() + 2],
        },
        counts,
    }
}

/// `xdl_do_diff` with histogram, then the compaction of both sides as `xdl_merge` does it.
fn diff<'a>(a: &[&'a [u8]], b: &[&'a [u8]]) -> Result<Env<'a>, Unmergeable> {
    let mut env = prepare(a, b);
    let (n1, n2) = (env.f1.nrec(), env.f2.nrec());
    histogram(&mut env, 1, n1, 1, n2)?;
    compact(&mut env.f1, &env.f2);
    compact(&mut env.f2, &env.f1);
    Ok(env)
}

impl Env<'_> {
    /// `xdl_build_script`: the changes, first to last.
    fn script(&self) -> Vec<Change> {
        let (f1, f2) = (&self.f1, &self.f2);
        let mut out = Vec::new();
        let (mut i1, mut i2) = (f1.nrec(), f2.nrec());
        while i1 >= 0 || i2 >= 0 {
            if f1.is_changed(i1 - 1) || f2.is_changed(i2 - 1) {
                let (l1, l2) = (i1, i2);
                while f1.is_changed(i1 - 1) {
                    i1 -= 1;
                }
                while f2.is_changed(i2 - 1) {
                    i2 -= 1;
                }
                out.push(Change {
                    i1,
                    i2,
                    chg1: l1 - i1,
                    chg2: l2 - i2,
                });
            }
            i1 -= 1;
            i2 -= 1;
        }
        out.reverse();
        out
    }
}

// --- histogram diff (xhistogram.c) ---

const MAX_CHAIN_LENGTH: u64 = 64;

/// `XDL_HASHLONG`.
fn hash_long(v: u64, bits: u32) -> usize {
    (v.wrapping_add(v >> bits) & ((1u64 << bits) - 1)) as usize
}

/// `xdl_hashbits`.
fn hash_bits(size: u64) -> u32 {
    let (mut val, mut bits) = (1u64, 0u32);
    while val < size && bits < 32 {
        val <<= 1;
        bits += 1;
    }
    bits.max(1)
}

#[derive(Default, Clone, Copy)]
struct Region {
    begin1: u64,
    end1: u64,
    begin2: u64,
    end2: u64,
}

/// `histogram_diff` over 1-based line ranges; the recursion on the part before each common
/// run is kept on an explicit stack (the regions are disjoint, so the order does not matter).
fn histogram(
    env: &mut Env<'_>,
    line1: i64,
    count1: i64,
    line2: i64,
    count2: i64,
) -> Result<(), Unmergeable> {
    let mut todo = vec![(line1, count1, line2, count2)];
    while let Some((mut line1, mut count1, mut line2, mut count2)) = todo.pop() {
        loop {
            if count1 <= 0 && count2 <= 0 {
                break;
            }
            if count1 == 0 {
                for l in line2..line2 + count2 {
                    env.f2.set_changed(l - 1, true);
                }
                break;
            }
            if count2 == 0 {
                for l in line1..line1 + count1 {
                    env.f1.set_changed(l - 1, true);
                }
                break;
            }
            let (lcs, fall_back) = find_lcs(env, line1, count1, line2, count2)?;
            if fall_back {
                classic_diff(env, line1, count1, line2, count2);
                break;
            }
            if lcs.begin1 == 0 && lcs.begin2 == 0 {
                for l in line1..line1 + count1 {
                    env.f1.set_changed(l - 1, true);
                }
                for l in line2..line2 + count2 {
                    env.f2.set_changed(l - 1, true);
                }
                break;
            }
            todo.push((
                line1,
                lcs.begin1 as i64 - line1,
                line2,
                lcs.begin2 as i64 - line2,
            ));
            let (end1, end2) = (line1 + count1 - 1, line2 + count2 - 1);
            count1 = end1 - lcs.end1 as i64;
            line1 = lcs.end1 as i64 + 1;
            count2 = end2 - lcs.end2 as i64;
            line2 = lcs.end2 as i64 + 1;
        }
    }
    Ok(())
}

/// A record of `struct histindex`: the first occurrence of an element and how often it occurs.
struct Occurrence {
    ptr: u64,
    cnt: u64,
}

/// `find_lcs`: the longest common run with the fewest occurrences; `true` when every common
/// element occurs too often (git then falls back to Myers for the region).
fn find_lcs(
    env: &Env<'_>,
    line1: i64,
    count1: i64,
    line2: i64,
    count2: i64,
) -> Result<(Region, bool), Unmergeable> {
    let (a, b) = (&env.f1.class, &env.f2.class);
    let table_bits = hash_bits(count1 as u64);
    let mut bucket_len = vec![0u64; 1usize << table_bits];
    let mut by_class: foldhash::HashMap<u64, usize> = HashMap::default();
    let mut occurrences: Vec<Occurrence> = Vec::new();
    let shift = line1 as u64;
    let mut line_map = vec![0usize; count1 as usize];
    let mut next_ptrs = vec![0u64; count1 as usize];
    let end1 = (line1 + count1 - 1) as u64;
    let end2 = (line2 + count2 - 1) as u64;
    // scanA
    for ptr in (line1 as u64..=end1).rev() {
        let class = a[(ptr - 1) as usize];
        let slot = (ptr - shift) as usize;
        if let Some(&o) = by_class.get(&class) {
            next_ptrs[slot] = occurrences[o].ptr;
            occurrences[o].ptr = ptr;
            occurrences[o].cnt = (occurrences[o].cnt + 1).min(u32::MAX as u64);
            line_map[slot] = o;
            continue;
        }
        let bucket = hash_long(class, table_bits);
        if bucket_len[bucket] == MAX_CHAIN_LENGTH {
            return Err(Unmergeable);
        }
        bucket_len[bucket] += 1;
        by_class.insert(class, occurrences.len());
        line_map[slot] = occurrences.len();
        occurrences.push(Occurrence { ptr, cnt: 1 });
    }
    let cnt_at = |ptr: u64| occurrences[line_map[(ptr - shift) as usize]].cnt;
    let next_at = |ptr: u64| next_ptrs[(ptr - shift) as usize];
    let same = |p1: u64, p2: u64| a[(p1 - 1) as usize] == b[(p2 - 1) as usize];
    let mut lcs = Region::default();
    let mut index_cnt = MAX_CHAIN_LENGTH + 1;
    let mut has_common = false;
    let (line1, line2) = (line1 as u64, line2 as u64);
    let mut b_ptr = line2;
    // try_lcs for every line of B
    while b_ptr <= end2 {
        let mut b_next = b_ptr + 1;
        if let Some(&o) = by_class.get(&b[(b_ptr - 1) as usize]) {
            let rec = &occurrences[o];
            if rec.cnt > index_cnt {
                has_common = true;
            } else {
                has_common = true;
                let mut as_ = rec.ptr;
                loop {
                    let mut np = next_at(as_);
                    let mut bs = b_ptr;
                    let mut ae = as_;
                    let mut be = bs;
                    let mut rc = rec.cnt;
                    while line1 < as_ && line2 < bs && same(as_ - 1, bs - 1) {
                        as_ -= 1;
                        bs -= 1;
                        if 1 < rc {
                            rc = rc.min(cnt_at(as_));
                        }
                    }
                    while ae < end1 && be < end2 && same(ae + 1, be + 1) {
                        ae += 1;
                        be += 1;
                        if 1 < rc {
                            rc = rc.min(cnt_at(ae));
                        }
                    }
                    if b_next <= be {
                        b_next = be + 1;
                    }
                    if lcs.end1 - lcs.begin1 < ae - as_ || rc < index_cnt {
                        lcs = Region {
                            begin1: as_,
                            begin2: bs,
                            end1: ae,
                            end2: be,
                        };
                        index_cnt = rc;
                    }
                    if np == 0 {
                        break;
                    }
                    let mut stop = false;
                    while np <= ae {
                        np = next_at(np);
                        if np == 0 {
                            stop = true;
                            break;
                        }
                    }
                    if stop {
                        break;
                    }
                    as_ = np;
                }
            }
        }
        b_ptr = b_next;
    }
    Ok((lcs, has_common && MAX_CHAIN_LENGTH < index_cnt))
}

/// `xdl_fall_back_diff`: a Myers diff of the region as separate files.
fn classic_diff(env: &mut Env<'_>, line1: i64, count1: i64, line2: i64, count2: i64) {
    let a: Vec<&[u8]> = env.f1.recs[(line1 - 1) as usize..(line1 - 1 + count1) as usize].to_vec();
    let b: Vec<&[u8]> = env.f2.recs[(line2 - 1) as usize..(line2 - 1 + count2) as usize].to_vec();
    let mut sub = prepare(&a, &b);
    myers(&mut sub);
    for i in 0..count1 {
        env.f1.set_changed(line1 - 1 + i, sub.f1.is_changed(i));
    }
    for i in 0..count2 {
        env.f2.set_changed(line2 - 1 + i, sub.f2.is_changed(i));
    }
}

// --- Myers diff (xprepare.c, xdiffi.c) ---

const XDL_MAX_EQLIMIT: i64 = 1024;
const XDL_SIMSCAN_WINDOW: i64 = 100;
const XDL_KPDIS_RUN: i64 = 4;
const XDL_MAX_COST_MIN: i64 = 256;
const XDL_HEUR_MIN_COST: i64 = 256;
const XDL_SNAKE_CNT: i64 = 20;
const XDL_K_HEUR: i64 = 4;
const XDL_LINE_MAX: i64 = i64::MAX;

/// `xdl_bogosqrt`.
fn bogosqrt(mut n: i64) -> i64 {
    let mut i = 1;
    while n > 0 {
        i <<= 1;
        n >>= 2;
    }
    i
}

/// `xdl_clean_mmatch`.
fn clean_mmatch(dis: &[u8], i: i64, mut s: i64, mut e: i64) -> bool {
    if i - s > XDL_SIMSCAN_WINDOW {
        s = i - XDL_SIMSCAN_WINDOW;
    }
    if e - i > XDL_SIMSCAN_WINDOW {
        e = i + XDL_SIMSCAN_WINDOW;
    }
    let (mut rdis0, mut rpdis0) = (0i64, 1i64);
    let mut r = 1;
    while i - r >= s {
        match dis[(i - r) as usize] {
            0 => rdis0 += 1,
            2 => rpdis0 += 1,
            _ => break,
        }
        r += 1;
    }
    if rdis0 == 0 {
        return false;
    }
    let (mut rdis1, mut rpdis1) = (0i64, 1i64);
    r = 1;
    while i + r <= e {
        match dis[(i + r) as usize] {
            0 => rdis1 += 1,
            2 => rpdis1 += 1,
            _ => break,
        }
        r += 1;
    }
    if rdis1 == 0 {
        return false;
    }
    rdis1 += rdis0;
    rpdis1 += rpdis0;
    rpdis1 * XDL_KPDIS_RUN < rpdis1 + rdis1
}

/// The records Myers works on after `xdl_cleanup_records` (`nreff`, `rindex`, `ha`).
struct Reduced {
    rindex: Vec<i64>,
    class: Vec<u64>,
}

/// `xdl_trim_ends`, `xdl_cleanup_records` and `xdl_recs_cmp` with git's heuristics.
fn myers(env: &mut Env<'_>) {
    let (n1, n2) = (env.f1.nrec(), env.f2.nrec());
    // xdl_trim_ends
    let lim = n1.min(n2);
    let mut i = 0;
    while i < lim && env.f1.class[i as usize] == env.f2.class[i as usize] {
        i += 1;
    }
    let dstart = i;
    let lim = lim - dstart;
    let mut j = 0;
    while j < lim && env.f1.class[(n1 - 1 - j) as usize] == env.f2.class[(n2 - 1 - j) as usize] {
        j += 1;
    }
    let (dend1, dend2) = (n1 - j - 1, n2 - j - 1);
    // xdl_cleanup_records
    let classify = |file: &File<'_>, dend: i64, other_count: &dyn Fn(u64) -> u64| -> Vec<u8> {
        let mut dis = vec![0u8; file.recs.len() + 1];
        let mlim = bogosqrt(file.nrec()).min(XDL_MAX_EQLIMIT);
        for i in dstart..=dend {
            let nm = other_count(file.class[i as usize]) as i64;
            dis[i as usize] = if nm == 0 {
                0
            } else if nm >= mlim {
                2
            } else {
                1
            };
        }
        dis
    };
    let counts = &env.counts;
    let dis1 = classify(&env.f1, dend1, &|c| counts[c as usize].1);
    let dis2 = classify(&env.f2, dend2, &|c| counts[c as usize].0);
    let reduce = |file: &mut File<'_>, dis: &[u8], dend: i64| -> Reduced {
        let mut out = Reduced {
            rindex: Vec::new(),
            class: Vec::new(),
        };
        for i in dstart..=dend {
            let d = dis[i as usize];
            if d == 1 || (d == 2 && !clean_mmatch(dis, i, dstart, dend)) {
                out.rindex.push(i);
                out.class.push(file.class[i as usize]);
            } else {
                file.set_changed(i, true);
            }
        }
        out
    };
    let r1 = reduce(&mut env.f1, &dis1, dend1);
    let r2 = reduce(&mut env.f2, &dis2, dend2);
    let (nreff1, nreff2) = (r1.class.len() as i64, r2.class.len() as i64);
    let ndiags = nreff1 + nreff2 + 3;
    let mut kv = Kv {
        f: vec![0; ndiags as usize],
        b: vec![0; ndiags as usize],
        offset: nreff2 + 1,
    };
    let mxcost = bogosqrt(ndiags).max(XDL_MAX_COST_MIN);
    let mut todo = vec![(0, nreff1, 0, nreff2, false)];
    while let Some((mut off1, mut lim1, mut off2, mut lim2, need_min)) = todo.pop() {
        let (ha1, ha2) = (&r1.class, &r2.class);
        while off1 < lim1 && off2 < lim2 && ha1[off1 as usize] == ha2[off2 as usize] {
            off1 += 1;
            off2 += 1;
        }
        while off1 < lim1 && off2 < lim2 && ha1[(lim1 - 1) as usize] == ha2[(lim2 - 1) as usize] {
            lim1 -= 1;
            lim2 -= 1;
        }
        if off1 == lim1 {
            for k in off2..lim2 {
                env.f2.set_changed(r2.rindex[k as usize], true);
            }
        } else if off2 == lim2 {
            for k in off1..lim1 {
                env.f1.set_changed(r1.rindex[k as usize], true);
            }
        } else {
            let spl = split(ha1, off1, lim1, ha2, off2, lim2, &mut kv, need_min, mxcost);
            todo.push((spl.i1, lim1, spl.i2, lim2, spl.min_hi));
            todo.push((off1, spl.i1, off2, spl.i2, spl.min_lo));
        }
    }
}

/// The forward and backward K vectors, indexed by diagonal.
struct Kv {
    f: Vec<i64>,
    b: Vec<i64>,
    offset: i64,
}

impl Kv {
    fn f(&self, d: i64) -> i64 {
        self.f[(d + self.offset) as usize]
    }
    fn b(&self, d: i64) -> i64 {
        self.b[(d + self.offset) as usize]
    }
    fn set_f(&mut self, d: i64, v: i64) {
        self.f[(d + self.offset) as usize] = v;
    }
    fn set_b(&mut self, d: i64, v: i64) {
        self.b[(d + self.offset) as usize] = v;
    }
}

struct Split {
    i1: i64,
    i2: i64,
    min_lo: bool,
    min_hi: bool,
}

/// `xdl_split`: the middle snake of a box, or a heuristic cut when it gets expensive.
#[allow(clippy::too_many_arguments)]
fn split(
    ha1: &[u64],
    off1: i64,
    lim1: i64,
    ha2: &[u64],
    off2: i64,
    lim2: i64,
    kv: &mut Kv,
    need_min: bool,
    mxcost: i64,
) -> Split {
    let (dmin, dmax) = (off1 - lim2, lim1 - off2);
    let (fmid, bmid) = (off1 - off2, lim1 - lim2);
    let odd = (fmid - bmid) & 1 != 0;
    let (mut fmin, mut fmax) = (fmid, fmid);
    let (mut bmin, mut bmax) = (bmid, bmid);
    kv.set_f(fmid, off1);
    kv.set_b(bmid, lim1);
    let h1 = |i: i64| ha1[i as usize];
    let h2 = |i: i64| ha2[i as usize];
    let mut ec = 1i64;
    loop {
        let mut got_snake = false;
        if fmin > dmin {
            fmin -= 1;
            kv.set_f(fmin - 1, -1);
        } else {
            fmin += 1;
        }
        if fmax < dmax {
            fmax += 1;
            kv.set_f(fmax + 1, -1);
        } else {
            fmax -= 1;
        }
        let mut d = fmax;
        while d >= fmin {
            let mut i1 = if kv.f(d - 1) >= kv.f(d + 1) {
                kv.f(d - 1) + 1
            } else {
                kv.f(d + 1)
            };
            let prev1 = i1;
            let mut i2 = i1 - d;
            while i1 < lim1 && i2 < lim2 && h1(i1) == h2(i2) {
                i1 += 1;
                i2 += 1;
            }
            if i1 - prev1 > XDL_SNAKE_CNT {
                got_snake = true;
            }
            kv.set_f(d, i1);
            if odd && bmin <= d && d <= bmax && kv.b(d) <= i1 {
                return Split {
                    i1,
                    i2,
                    min_lo: true,
                    min_hi: true,
                };
            }
            d -= 2;
        }
        if bmin > dmin {
            bmin -= 1;
            kv.set_b(bmin - 1, XDL_LINE_MAX);
        } else {
            bmin += 1;
        }
        if bmax < dmax {
            bmax += 1;
            kv.set_b(bmax + 1, XDL_LINE_MAX);
        } else {
            bmax -= 1;
        }
        let mut d = bmax;
        while d >= bmin {
            let mut i1 = if kv.b(d - 1) < kv.b(d + 1) {
                kv.b(d - 1)
            } else {
                kv.b(d + 1) - 1
            };
            let prev1 = i1;
            let mut i2 = i1 - d;
            while i1 > off1 && i2 > off2 && h1(i1 - 1) == h2(i2 - 1) {
                i1 -= 1;
                i2 -= 1;
            }
            if prev1 - i1 > XDL_SNAKE_CNT {
                got_snake = true;
            }
            kv.set_b(d, i1);
            if !odd && fmin <= d && d <= fmax && i1 <= kv.f(d) {
                return Split {
                    i1,
                    i2,
                    min_lo: true,
                    min_hi: true,
                };
            }
            d -= 2;
        }
        if need_min {
            ec += 1;
            continue;
        }
        if got_snake && ec > XDL_HEUR_MIN_COST {
            let mut best = 0;
            let mut found = None;
            let mut d = fmax;
            while d >= fmin {
                let dd = if d > fmid { d - fmid } else { fmid - d };
                let i1 = kv.f(d);
                let i2 = i1 - d;
                let v = (i1 - off1) + (i2 - off2) - dd;
                if v > XDL_K_HEUR * ec
                    && v > best
                    && off1 + XDL_SNAKE_CNT <= i1
                    && i1 < lim1
                    && off2 + XDL_SNAKE_CNT <= i2
                    && i2 < lim2
                {
                    let mut k = 1;
                    while h1(i1 - k) == h2(i2 - k) {
                        if k == XDL_SNAKE_CNT {
                            best = v;
                            found = Some((i1, i2));
                            break;
                        }
                        k += 1;
                    }
                }
                d -= 2;
            }
            if let Some((i1, i2)) = found.filter(|_| best > 0) {
                return Split {
                    i1,
                    i2,
                    min_lo: true,
                    min_hi: false,
                };
            }
            let mut best = 0;
            let mut found = None;
            let mut d = bmax;
            while d >= bmin {
                let dd = if d > bmid { d - bmid } else { bmid - d };
                let i1 = kv.b(d);
                let i2 = i1 - d;
                let v = (lim1 - i1) + (lim2 - i2) - dd;
                if v > XDL_K_HEUR * ec
                    && v > best
                    && off1 < i1
                    && i1 <= lim1 - XDL_SNAKE_CNT
                    && off2 < i2
                    && i2 <= lim2 - XDL_SNAKE_CNT
                {
                    let mut k = 0;
                    while h1(i1 + k) == h2(i2 + k) {
                        if k == XDL_SNAKE_CNT - 1 {
                            best = v;
                            found = Some((i1, i2));
                            break;
                        }
                        k += 1;
                    }
                }
                d -= 2;
            }
            if let Some((i1, i2)) = found.filter(|_| best > 0) {
                return Split {
                    i1,
                    i2,
                    min_lo: false,
                    min_hi: true,
                };
            }
        }
        if ec >= mxcost {
            let (mut fbest, mut fbest1) = (-1i64, -1i64);
            let mut d = fmax;
            while d >= fmin {
                let mut i1 = kv.f(d).min(lim1);
                let mut i2 = i1 - d;
                if lim2 < i2 {
                    i1 = lim2 + d;
                    i2 = lim2;
                }
                if fbest < i1 + i2 {
                    fbest = i1 + i2;
                    fbest1 = i1;
                }
                d -= 2;
            }
            let (mut bbest, mut bbest1) = (XDL_LINE_MAX, XDL_LINE_MAX);
            let mut d = bmax;
            while d >= bmin {
                let mut i1 = off1.max(kv.b(d));
                let mut i2 = i1 - d;
                if i2 < off2 {
                    i1 = off2 + d;
                    i2 = off2;
                }
                if i1 + i2 < bbest {
                    bbest = i1 + i2;
                    bbest1 = i1;
                }
                d -= 2;
            }
            return if (lim1 + lim2) - bbest < fbest - (off1 + off2) {
                Split {
                    i1: fbest1,
                    i2: fbest - fbest1,
                    min_lo: true,
                    min_hi: false,
                }
            } else {
                Split {
                    i1: bbest1,
                    i2: bbest - bbest1,
                    min_lo: false,
                    min_hi: true,
                }
            };
        }
        ec += 1;
    }
}

// --- compaction (xdl_change_compact without the indent heuristic) ---

/// A group of changed records `[start, end)`, empty between two unchanged ones.
#[derive(Clone, Copy)]
struct Group {
    start: i64,
    end: i64,
}

fn group_init(f: &File<'_>) -> Group {
    let mut g = Group { start: 0, end: 0 };
    while f.is_changed(g.end) {
        g.end += 1;
    }
    g
}

fn group_next(f: &File<'_>, g: &mut Group) -> bool {
    if g.end == f.nrec() {
        return false;
    }
    g.start = g.end + 1;
    g.end = g.start;
    while f.is_changed(g.end) {
        g.end += 1;
    }
    true
}

fn group_previous(f: &File<'_>, g: &mut Group) -> bool {
    if g.start == 0 {
        return false;
    }
    g.end = g.start - 1;
    g.start = g.end;
    while f.is_changed(g.start - 1) {
        g.start -= 1;
    }
    true
}

fn group_slide_down(f: &mut File<'_>, g: &mut Group) -> bool {
    if g.end < f.nrec() && f.class[g.start as usize] == f.class[g.end as usize] {
        f.set_changed(g.start, false);
        g.start += 1;
        f.set_changed(g.end, true);
        g.end += 1;
        while f.is_changed(g.end) {
            g.end += 1;
        }
        true
    } else {
        false
    }
}

fn group_slide_up(f: &mut File<'_>, g: &mut Group) -> bool {
    if g.start > 0 && f.class[(g.start - 1) as usize] == f.class[(g.end - 1) as usize] {
        g.start -= 1;
        f.set_changed(g.start, true);
        g.end -= 1;
        f.set_changed(g.end, false);
        while f.is_changed(g.start - 1) {
            g.start -= 1;
        }
        true
    } else {
        false
    }
}

/// `xdl_change_compact(xdf, xdfo, 0)`: slides each group as far down as it goes, then back up
/// to line up with a change in the other file when it can.
fn compact(f: &mut File<'_>, other: &File<'_>) {
    let mut g = group_init(f);
    let mut go = group_init(other);
    loop {
        if g.end != g.start {
            let mut earliest_end;
            let mut end_matching_other;
            loop {
                let groupsize = g.end - g.start;
                end_matching_other = -1;
                while group_slide_up(f, &mut g) {
                    group_previous(other, &mut go);
                }
                earliest_end = g.end;
                if go.end > go.start {
                    end_matching_other = g.end;
                }
                loop {
                    if !group_slide_down(f, &mut g) {
                        break;
                    }
                    group_next(other, &mut go);
                    if go.end > go.start {
                        end_matching_other = g.end;
                    }
                }
                if groupsize == g.end - g.start {
                    break;
                }
            }
            if g.end != earliest_end && end_matching_other != -1 {
                while go.end == go.start {
                    group_slide_up(f, &mut g);
                    group_previous(other, &mut go);
                }
            }
        }
        if !group_next(f, &mut g) {
            break;
        }
        group_next(other, &mut go);
    }
}

// --- the merge (xmerge.c) ---

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Eager,
    Zealous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Conflict,
    /// No conflict: take side 1 (ours).
    Ours,
    /// No conflict: take side 2 (theirs).
    Theirs,
    /// Resolved by refinement: both sides are identical there.
    Identical,
}

/// `xdmerge_t`: positions in the postimages of ours (`i1`) and theirs (`i2`).
#[derive(Debug, Clone, Copy)]
struct Hunk {
    mode: Mode,
    i1: i64,
    chg1: i64,
    i2: i64,
    chg2: i64,
}

/// `xdl_append_merge`: a hunk touching the previous one is combined with it.
fn append(hunks: &mut Vec<Hunk>, mode: Mode, i1: i64, chg1: i64, i2: i64, chg2: i64) {
    if let Some(m) = hunks
        .last_mut()
        .filter(|m| i1 <= m.i1 + m.chg1 || i2 <= m.i2 + m.chg2)
    {
        if mode != m.mode {
            m.mode = Mode::Conflict;
        }
        m.chg1 = i1 + chg1 - m.i1;
        m.chg2 = i2 + chg2 - m.i2;
        return;
    }
    hunks.push(Hunk {
        mode,
        i1,
        chg1,
        i2,
        chg2,
    });
}

/// The hunk-combining loop of `xdl_do_merge`.
fn combine(
    base_len: i64,
    ours: &[&[u8]],
    theirs: &[&[u8]],
    s1: &[Change],
    s2: &[Change],
    level: Level,
) -> Vec<Hunk> {
    let mut out = Vec::new();
    let (mut a, mut b) = (0usize, 0usize);
    while a < s1.len() && b < s2.len() {
        let (x1, x2) = (s1[a], s2[b]);
        if x1.i1 + x1.chg1 < x2.i1 {
            let i2 = x2.i2 - x2.i1 + x1.i1;
            append(&mut out, Mode::Ours, x1.i2, x1.chg2, i2, x1.chg1);
            a += 1;
            continue;
        }
        if x2.i1 + x2.chg1 < x1.i1 {
            let i1 = x1.i2 - x1.i1 + x2.i1;
            append(&mut out, Mode::Theirs, i1, x2.chg1, x2.i2, x2.chg2);
            b += 1;
            continue;
        }
        let identical = level >= Level::Eager
            && x1.i1 == x2.i1
            && x1.chg1 == x2.chg1
            && x1.chg2 == x2.chg2
            && (0..x1.chg2).all(|k| ours[(x1.i2 + k) as usize] == theirs[(x2.i2 + k) as usize]);
        if !identical {
            let off = x1.i1 - x2.i1;
            let ffo = off + x1.chg1 - x2.chg1;
            let (mut i1, mut i2) = (x1.i2, x2.i2);
            if off > 0 {
                i1 -= off;
            } else {
                i2 += off;
            }
            let mut chg1 = x1.i2 + x1.chg2 - i1;
            let mut chg2 = x2.i2 + x2.chg2 - i2;
            if ffo < 0 {
                chg1 -= ffo;
            } else {
                chg2 += ffo;
            }
            append(&mut out, Mode::Conflict, i1, chg1, i2, chg2);
        }
        let (e1, e2) = (x1.i1 + x1.chg1, x2.i1 + x2.chg1);
        if e1 >= e2 {
            b += 1;
        }
        if e2 >= e1 {
            a += 1;
        }
    }
    // After its last change a side is the base shifted by its length difference.
    let (shift1, shift2) = (ours.len() as i64 - base_len, theirs.len() as i64 - base_len);
    for x1 in &s1[a..] {
        append(
            &mut out,
            Mode::Ours,
            x1.i2,
            x1.chg2,
            x1.i1 + shift2,
            x1.chg1,
        );
    }
    for x2 in &s2[b..] {
        append(
            &mut out,
            Mode::Theirs,
            x2.i1 + shift1,
            x2.chg1,
            x2.i2,
            x2.chg2,
        );
    }
    out
}

/// `xdl_simplify_non_conflicts` at the `ZEALOUS` level merge-ort uses: two conflicts next to
/// each other in the list with at most three lines between them become one.
fn simplify_non_conflicts(hunks: Vec<Hunk>) -> Vec<Hunk> {
    let mut out: Vec<Hunk> = Vec::with_capacity(hunks.len());
    for next in hunks {
        if let Some(m) = out.last_mut()
            && m.mode == Mode::Conflict
            && next.mode == Mode::Conflict
            && next.i1 - (m.i1 + m.chg1) <= 3
        {
            m.chg1 = next.i1 + next.chg1 - m.i1;
            m.chg2 = next.i2 + next.chg2 - m.i2;
            continue;
        }
        out.push(next);
    }
    out
}

/// `xdl_refine_conflicts`: re-diffs both sides of each conflict; identical sides resolve it,
/// otherwise only the differing parts stay conflicts.
fn refine_conflicts(
    ours: &[&[u8]],
    theirs: &[&[u8]],
    hunks: Vec<Hunk>,
) -> Result<Vec<Hunk>, Unmergeable> {
    let mut out = Vec::with_capacity(hunks.len());
    for m in hunks {
        if m.mode != Mode::Conflict || m.chg1 == 0 || m.chg2 == 0 {
            out.push(m);
            continue;
        }
        let a = &ours[m.i1 as usize..(m.i1 + m.chg1) as usize];
        let b = &theirs[m.i2 as usize..(m.i2 + m.chg2) as usize];
        let env = diff(a, b)?;
        let script = env.script();
        if script.is_empty() {
            out.push(Hunk {
                mode: Mode::Identical,
                ..m
            });
            continue;
        }
        for c in script {
            out.push(Hunk {
                mode: Mode::Conflict,
                i1: c.i1 + m.i1,
                chg1: c.chg1,
                i2: c.i2 + m.i2,
                chg2: c.chg2,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[&str]) -> Vec<u8> {
        lines
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .into_bytes()
    }

    fn run(base: &[&str], ours: &[&str], theirs: &[&str]) -> Merged {
        merge(
            &text(base),
            &text(ours),
            &text(theirs),
            ConflictStyle::Merge,
        )
        .expect("merge")
    }

    #[test]
    fn disjoint_changes_merge() {
        let m = run(
            &["a", "b", "c", "d", "e"],
            &["A", "b", "c", "d", "e"],
            &["a", "b", "c", "d", "E"],
        );
        assert_eq!(m.conflicts, 0);
        assert_eq!(m.text, Some(text(&["A", "b", "c", "d", "E"])));
    }

    #[test]
    fn adjacent_changes_conflict_like_git() {
        let m = run(&["a", "b", "c"], &["A", "b", "c"], &["a", "B", "c"]);
        assert_eq!(m.conflicts, 1);
    }

    #[test]
    fn histogram_pairs_lines_like_git() {
        // `git merge-file --diff-algorithm=histogram` conflicts here; Myers merges cleanly.
        let m = run(&["a", "d", "d"], &["d", "a", "a", "d"], &["d", "d"]);
        assert_eq!(m.conflicts, 1);
    }

    #[test]
    fn identical_changes_are_not_conflicts() {
        let m = run(&["a", "b", "c"], &["a", "X", "c"], &["a", "X", "c"]);
        assert_eq!(m.conflicts, 0);
        assert_eq!(m.text, Some(text(&["a", "X", "c"])));
    }
}

/// Differential test against `git merge-file --diff-algorithm=histogram` (the same `xdl_merge`;
/// its level also simplifies conflicts separated by non-alphanumeric lines, which changes
/// their count but not whether there is one). Needs git; `cargo test -- --ignored`.
#[cfg(test)]
mod against_git {
    use super::*;
    use std::process::Command;

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn mutate(rng: &mut Rng, base: &[String], alphabet: &[&str]) -> Vec<String> {
        let mut out = base.to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(out.len() as u64 + 1) as usize;
            match rng.below(3) {
                0 if at < out.len() => {
                    out.remove(at);
                }
                1 => out.insert(
                    at,
                    alphabet[rng.below(alphabet.len() as u64) as usize].into(),
                ),
                _ if at < out.len() => out[at] = format!("x{}", rng.below(3)),
                _ => {}
            }
        }
        out
    }

    /// Checks `cases` random merges against git; returns how many conflicted texts were
    /// compared whole.
    fn check_cases(
        seed: u64,
        cases: usize,
        lines: (u64, u64),
        alphabet: &[&str],
        edits: u64,
    ) -> usize {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut rng = Rng(seed);
        let mut marked_compared = 0;
        for case in 0..cases {
            let n = (lines.0 + rng.below(lines.1 - lines.0)) as usize;
            let base: Vec<String> = (0..n)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize].to_string())
                .collect();
            let mut ours = base.clone();
            let mut theirs = base.clone();
            for _ in 0..1 + rng.below(edits) {
                ours = mutate(&mut rng, &ours, alphabet);
            }
            for _ in 0..1 + rng.below(edits) {
                theirs = mutate(&mut rng, &theirs, alphabet);
            }
            let join = |v: &[String]| v.iter().map(|l| format!("{l}\n")).collect::<String>();
            let (b, o, t) = (join(&base), join(&ours), join(&theirs));
            for (name, data) in [("b", &b), ("o", &o), ("t", &t)] {
                std::fs::write(dir.path().join(name), data).expect("write");
            }
            let out = Command::new("git")
                .current_dir(dir.path())
                .args([
                    "merge-file",
                    "-p",
                    "--diff-algorithm=histogram",
                    "o",
                    "b",
                    "t",
                ])
                .output()
                .expect("git merge-file");
            let git_clean = out.status.code() == Some(0);
            let merged = merge(
                b.as_bytes(),
                o.as_bytes(),
                t.as_bytes(),
                ConflictStyle::Merge,
            )
            .expect("merge");
            let what = || format!("seed {seed} case {case}: {}", dir.path().display());
            assert_eq!(merged.conflicts == 0, git_clean, "{}", what());
            if git_clean {
                assert_eq!(merged.text.as_deref(), Some(&out.stdout[..]), "{}", what());
            }
            // merge-file also joins conflicts separated by lines without letters or digits
            // (merge-ort does not); where every line has one, the conflicted texts are equal.
            if !git_clean
                && ours
                    .iter()
                    .all(|l| l.bytes().any(|b| b.is_ascii_alphanumeric()))
            {
                let out = Command::new("git")
                    .current_dir(dir.path())
                    .args(["merge-file", "-p", "--diff-algorithm=histogram"])
                    .args([
                        "--marker-size=9",
                        "-L",
                        "ours",
                        "-L",
                        "base",
                        "-L",
                        "theirs",
                    ])
                    .args(["o", "b", "t"])
                    .output()
                    .expect("git merge-file");
                let markers = Markers {
                    size: 9,
                    ours: b"ours",
                    theirs: b"theirs",
                };
                let (conflicts, text) =
                    merge_with_markers(b.as_bytes(), o.as_bytes(), t.as_bytes(), markers)
                        .expect("merge");
                assert_eq!(out.status.code(), Some(conflicts as i32), "{}", what());
                assert_eq!(
                    String::from_utf8_lossy(&text),
                    String::from_utf8_lossy(&out.stdout),
                    "{}",
                    what()
                );
                marked_compared += 1;
            }
        }
        marked_compared
    }

    #[test]
    fn conflicts_are_written_with_markers_like_git() {
        // The texts merge-ort keeps in virtual merge bases: markers, sides, CRLF line ends
        // and missing last newlines as xdiff writes them.
        let compared = check_cases(0x51ed_2701_9e3c_4a5b, 300, (2, 16), &["a", "b", "c"], 3)
            + check_cases(0x0dd5_ee1e_7a11_b0b5, 100, (2, 10), &["a\r", "b\r", "c"], 2);
        assert!(compared > 150, "only {compared} conflicted merges compared");
    }

    // Differential tests against `git merge-file`, sized to run in seconds in every test run.
    #[test]
    fn small_files_merge_like_git() {
        check_cases(
            0x9e37_79b9_7f4a_7c15,
            400,
            (2, 14),
            &["a", "b", "c", "d", "}", ""],
            2,
        );
    }

    #[test]
    fn repetitive_files_fall_back_to_myers_like_git() {
        // More than 64 occurrences of every common line: histogram falls back to Myers.
        check_cases(0x2545_f491_4f6c_dd1d, 40, (150, 600), &["}", "", "a"], 40);
    }

    #[test]
    fn large_edits_take_myers_heuristics_like_git() {
        let alphabet: Vec<String> = (0..40).map(|i| format!("line {i}")).collect();
        let alphabet: Vec<&str> = alphabet.iter().map(String::as_str).collect();
        check_cases(0x1234_5678_9abc_def1, 12, (800, 3000), &alphabet, 400);
    }
}
