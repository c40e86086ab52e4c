//! Lints of memstat's Android platform files for the mistakes the platform's
//! own tools make fatal: `git apply` (hunk line counts), checkpolicy (unknown
//! types, neverallows, duplicate genfscon lines), checkfc (file_contexts test
//! data), the service fuzzer bindings test and host_init_verifier (init
//! keywords, AIDs); and the links between Android.bp, memstatd.rc and the
//! policy that a device would only show as denials. The platform names they
//! rely on are listed with where they come from: system/sepolicy 4571ddd,
//! system/core a3b721a. The `rejects_*` tests show each lint failing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_clean(what: &str, errors: &[String]) {
    assert!(errors.is_empty(), "{what}:\n  {}", errors.join("\n  "));
}

fn assert_rejects(errors: &[String], expected: &str) {
    let found = errors.iter().any(|e| e.contains(expected));
    assert!(
        found,
        "expected an error containing {expected:?}, got {errors:?}"
    );
}

const SEPOLICY_PATCH: &str = "patches/system/sepolicy/0001-Add-sepolicy-for-memstatd.patch";

/// Platform types and attributes the patch's new lines name, under the file
/// of system/sepolicy that declares them. Names in the lines the patch keeps
/// or replaces need no entry: the tree has them.
const PLATFORM_TYPES: &str = "
    public/attributes: bpfdomain bpffs_type core_data_file_type coredomain data_file_type
        domain exec_type file_type fs_type service_manager_type sysfs_type system_file_type
    public/file.te: cgroup cgroup_v2 debugfs_tracing packages_list_file proc_bpf proc_buddyinfo
        proc_dirty proc_meminfo proc_overcommit_memory proc_page_cluster proc_pressure_mem
        proc_uptime proc_vmstat proc_watermark_boost_factor proc_watermark_scale_factor
        proc_zoneinfo system_file
    public/service.te: permission_service
    public/{bpfloader,dumpstate,init,servicemanager,shell,system_server}.te: bpfloader
        dumpstate init servicemanager shell system_server";

/// Tracefs events private/genfs_contexts labels already: a second genfscon
/// line for one of them fails the policy build.
const PLATFORM_LABELLED_EVENTS: &str = "kmem/rss_stat oom/mark_victim
    sched/sched_process_exit task/task_newtask
    vmscan/mm_vmscan_direct_reclaim_begin vmscan/mm_vmscan_direct_reclaim_end
    vmscan/mm_vmscan_kswapd_sleep vmscan/mm_vmscan_kswapd_wake";

/// The names of a list, without its `file:` headings.
fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split_whitespace().filter(|w| !w.ends_with(':'))
}

// ---------------------------------------------------------------------------
// The patch

/// One file's part of a unified diff: the lines the patch adds, and those it
/// keeps or removes (text the platform tree has), without their prefix.
#[derive(Default)]
struct FileDiff {
    path: String,
    added: Vec<String>,
    snapshot: Vec<String>,
}

/// Parses `git format-patch` output; errors name the hunks whose lines do
/// not add up to their header, which `git apply` refuses.
fn parse_patch(text: &str) -> (Vec<FileDiff>, Vec<String>) {
    let (mut files, mut errors) = (Vec::<FileDiff>::new(), Vec::new());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("diff --git a/") {
            let path = rest.split(" b/").next().unwrap_or(rest).into();
            let snapshot = Vec::new();
            files.push(FileDiff {
                path,
                added: Vec::new(),
                snapshot,
            });
        }
        let Some(header) = line.strip_prefix("@@ -") else {
            continue;
        };
        let (Some(file), Some((old, new))) = (files.last_mut(), hunk_counts(header)) else {
            errors.push(format!("bad hunk header {line:?}"));
            continue;
        };
        let (mut o, mut n) = (0, 0);
        while o < old || n < new {
            let Some(l) = lines.next() else { break };
            let text = l.get(1..).unwrap_or("").to_string();
            match l.chars().next() {
                Some('+') => n += 1,
                Some('-') => o += 1,
                Some(' ') | None => (o, n) = (o + 1, n + 1),
                _ => break,
            }
            let part = if l.starts_with('+') {
                &mut file.added
            } else {
                &mut file.snapshot
            };
            part.push(text);
        }
        let next = lines.peek().copied().unwrap_or("");
        let more = next.starts_with(' ') || (next.starts_with('+') && !next.starts_with("+++"));
        if (o, n) != (old, new) || more {
            let path = &file.path;
            errors.push(format!(
                "{path}: {line:?} is not {old} old and {new} new lines"
            ));
        }
    }
    (files, errors)
}

/// `a,b +c,d @@ ...` to (b, d); a count left out is 1.
fn hunk_counts(header: &str) -> Option<(usize, usize)> {
    let (old, rest) = header.split_once(" +")?;
    let count = |r: &str| r.split_once(',').map_or(Some(1), |(_, n)| n.parse().ok());
    Some((count(old)?, count(rest.split_once(" @@")?.0)?))
}

fn patch() -> Vec<FileDiff> {
    let (files, errors) = parse_patch(&read(SEPOLICY_PATCH));
    assert_clean(SEPOLICY_PATCH, &errors);
    files
}

fn added<'a>(files: &'a [FileDiff], path: &str) -> &'a [String] {
    let file = files.iter().find(|f| f.path == path);
    file.map_or(&[], |f| &f.added)
}

/// The words of each line that is not blank or a comment.
fn policy_lines(lines: &[String]) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    for words in lines
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
    {
        if words.first().is_some_and(|w| !w.starts_with('#')) {
            out.push(words);
        }
    }
    out
}

/// The TYPE of a `u:object_r:TYPE:s0` context.
fn context_type(context: &str) -> Option<&str> {
    context.strip_prefix("u:object_r:")?.split(':').next()
}

/// The types of the contexts in contexts lines.
fn context_types(lines: &[String]) -> Vec<String> {
    let words = lines.iter().flat_map(|l| l.split_whitespace());
    words.filter_map(context_type).map(String::from).collect()
}

/// What file_contexts lines label: the path of each regex (without its
/// `(/.*)?` and escapes) and its type.
fn labelled_paths(file_contexts: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for w in policy_lines(file_contexts) {
        let path = w[0].trim_end_matches("(/.*)?").replace("\\.", ".");
        let ty = w.last().and_then(|c| context_type(c)).unwrap_or("");
        out.insert(path, ty.to_string());
    }
    out
}

// ---------------------------------------------------------------------------
// Type enforcement text

/// The statements of policy text, comments dropped: rules and declarations
/// up to their `;`, macro calls up to their `)`.
fn statements(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect();
    let joined = lines.join(" ");
    let parts = joined.split([';', ')']).map(str::trim);
    parts.filter(|s| !s.is_empty()).map(String::from).collect()
}

/// The names in part of a statement, without braces, commas, `(`, `-`, `~`.
fn words(part: &str) -> Vec<&str> {
    let words = part.split(|c: char| c.is_whitespace() || "{},(".contains(c));
    let words = words.map(|w| w.trim_start_matches(['-', '~']));
    words.filter(|w| !w.is_empty()).collect()
}

/// An access vector rule: its kind, source and target names, then its
/// classes and permissions; `not` marks complemented permissions.
struct Rule<'a> {
    names: Vec<&'a str>,
    classes: Vec<&'a str>,
    perms: BTreeSet<&'a str>,
    not: bool,
}

fn rule(stmt: &str) -> Option<Rule<'_>> {
    let (head, tail) = stmt.split_once(':')?;
    let tail = tail.trim_start();
    let (classes, perms) = match tail.strip_prefix('{') {
        Some(set) => set.split_once('}')?,
        None => tail.split_once(char::is_whitespace)?,
    };
    let not = perms.trim_start().starts_with('~');
    let (names, classes) = (words(head), words(classes));
    Some(Rule {
        names,
        classes,
        perms: words(perms).into_iter().collect(),
        not,
    })
}

/// The macros of public/te_macros the policy calls, with the types each names.
fn macro_types(name: &str, args: &[&str]) -> Option<Vec<String>> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    match (name, &args[..]) {
        ("init_daemon_domain", [d]) => Some(vec![d.clone(), format!("{d}_exec"), "init".into()]),
        ("binder_use", [d]) => Some(vec![d.clone(), "servicemanager".into()]),
        ("binder_call" | "add_service" | "get_prop" | "r_dir_file", [_, _]) => Some(args),
        _ => None,
    }
}

/// The types .te text declares, and those it uses (with those its macros
/// name); errors for what this lint cannot read.
fn te_names(file: &str, text: &str) -> (BTreeSet<String>, Vec<String>, Vec<String>) {
    let (mut declared, mut used, mut errors) = (BTreeSet::new(), Vec::new(), Vec::new());
    for s in statements(text) {
        if let Some((name, args)) = s.split_once('(') {
            match macro_types(name.trim(), &words(args)) {
                Some(types) => used.extend(types),
                None => errors.push(format!("{file}: unknown macro {}", name.trim())),
            }
            continue;
        }
        let w = words(&s);
        match w[..] {
            ["type", name, ref attributes @ ..] => {
                declared.insert(name.to_string());
                used.extend(attributes.iter().map(|a| a.to_string()));
            }
            ["typeattribute", ref names @ ..] => used.extend(names.iter().map(|n| n.to_string())),
            ["allow" | "neverallow", ..] => match rule(&s) {
                Some(r) => used.extend(r.names[1..].iter().map(|n| n.to_string())),
                None => errors.push(format!("{file}: {s:?} has no `:`")),
            },
            // Members of a set whose first lines the patch keeps.
            _ if s.chars().all(|c| c.is_alphanumeric() || "_- ".contains(c)) => {
                used.extend(w.iter().map(|n| n.to_string()))
            }
            _ => errors.push(format!("{file}: cannot read {s:?}")),
        }
    }
    used.retain(|n| n != "self" && n != "*");
    (declared, used, errors)
}

// ---------------------------------------------------------------------------
// Lints of the sepolicy patch

/// Every type the patch's new lines use is declared by them, named in the
/// tree's lines the patch keeps or replaces, or in PLATFORM_TYPES.
fn lint_types(files: &[FileDiff]) -> Vec<String> {
    let mut known: BTreeSet<String> = names(PLATFORM_TYPES).map(String::from).collect();
    let (mut used, mut errors) = (Vec::new(), Vec::new());
    for f in files {
        known.extend(words(&f.snapshot.join(" ")).into_iter().map(String::from));
        let names = if f.path.ends_with(".te") {
            let (declared, names, e) = te_names(&f.path, &f.added.join("\n"));
            known.extend(declared);
            errors.extend(e);
            names
        } else if f.path == "contexts/plat_file_contexts_test" {
            let lines = policy_lines(&f.added);
            lines
                .iter()
                .filter_map(|w| Some(w.get(1)?.to_string()))
                .collect()
        } else {
            context_types(&f.added)
        };
        used.extend(names.into_iter().map(|n| (&f.path, n)));
    }
    for (file, name) in used.into_iter().filter(|(_, n)| !known.contains(n)) {
        errors.push(format!(
            "{file}: unknown type {name}; a platform one goes in PLATFORM_TYPES"
        ));
    }
    errors
}

/// memstatd's grants on labels a platform neverallow guards come with the
/// exemption the patch must carry.
fn lint_neverallows(files: &[FileDiff]) -> Vec<String> {
    let statements = statements(&added(files, "private/memstatd.te").join("\n"));
    let rules: Vec<Rule> = statements.iter().filter_map(|s| rule(s)).collect();
    let mut errors = Vec::new();
    for r in rules
        .iter()
        .filter(|r| r.names[..2] == ["allow", "memstatd"])
    {
        for (target, class) in r.names[2..]
            .iter()
            .flat_map(|t| r.classes.iter().map(move |c| (t, c)))
        {
            if let Some(e) = missing_exemption(files, &rules, r, target, class) {
                errors.push(format!(
                    "allow memstatd {target}:{class} {:?}: {e}",
                    r.perms
                ));
            }
        }
    }
    errors
}

/// What the patch lacks for memstatd's grant `r` on `t:c`.
fn missing_exemption(
    files: &[FileDiff],
    rules: &[Rule],
    r: &Rule,
    t: &str,
    c: &str,
) -> Option<String> {
    let bpfloader = added(files, "private/bpfloader.te");
    let error = |e: &str| Some(e.to_string());
    match (t, c) {
        ("fs_bpf_memstat", "file") => {
            let guarded: Vec<&str> = ["getattr", "read", "write"]
                .into_iter()
                .filter(|p| r.perms.contains(p))
                .collect();
            let own = bpfloader
                .iter()
                .filter(|l| l.contains("-memstatd } fs_bpf_memstat:file"));
            if !own.clone().any(|l| guarded.iter().all(|p| l.contains(p))) {
                return error("private/bpfloader.te lacks a neverallow of fs_bpf_memstat:file naming -memstatd and these permissions");
            }
            let left_out = bpfloader
                .iter()
                .any(|l| l.contains("-fs_bpf_memstat }:file write"));
            let e = "the bpffs_type:file write neverallow of private/bpfloader.te must leave out fs_bpf_memstat";
            error(e).filter(|_| r.perms.contains("write") && !left_out)
        }
        ("fs_bpf_memstat", _) => None,
        (t, _) if t.starts_with("fs_bpf") => {
            error("memstatd opens only its own pins, fs_bpf_memstat")
        }
        ("debugfs_tracing", "file") => {
            let exempt = added(files, "private/coredomain.te")
                .iter()
                .any(|l| l.trim() == "-memstatd");
            error("the tracefs neverallow of private/coredomain.te must list -memstatd")
                .filter(|_| !exempt)
        }
        ("proc" | "sysfs" | "debugfs" | "device", _) => {
            error("no core domain may use it (private/coredomain.te): skip it on Android")
        }
        (t, "bpf") => {
            let ok = t == "bpfloader"
                && r.perms
                    .iter()
                    .all(|p| ["map_read", "map_write", "prog_run"].contains(p));
            error("memstatd only uses bpfloader's maps and programs").filter(|_| !ok)
        }
        ("self", "perf_event") => {
            let cap = |n: &&Rule| n.names == ["neverallow", "memstatd", "self"] && n.classes == [c];
            let capped = rules
                .iter()
                .filter(cap)
                .any(|n| n.not && n.perms == r.perms);
            error("cap it as gpuservice and lmkd do: neverallow memstatd self:perf_event ~{ the same }").filter(|_| !capped)
        }
        _ => None,
    }
}

/// Every tracefs event memstatd attaches to is labelled debugfs_tracing
/// once: by the platform or by the patch, never both.
fn lint_genfs(files: &[FileDiff], events: &[&str]) -> Vec<String> {
    let (mut ours, mut errors) = (BTreeMap::new(), Vec::new());
    for w in policy_lines(added(files, "private/genfs_contexts")) {
        if let ["genfscon", "tracefs", path, context] = w[..] {
            match path
                .strip_prefix("/events/")
                .and_then(|p| p.strip_suffix('/'))
            {
                Some(event) => _ = ours.insert(event, context),
                None => errors.push(format!("{path}: not /events/CATEGORY/EVENT/")),
            }
        }
    }
    for e in events {
        let platform = names(PLATFORM_LABELLED_EVENTS).any(|p| p == *e);
        let error = match (platform, ours.get(e)) {
            (true, Some(_)) => "the platform labels it; a second genfscon fails the build",
            (false, None) => "memstatd attaches to it, and nothing labels it",
            (false, Some(&c)) if context_type(c) != Some("debugfs_tracing") => {
                "not debugfs_tracing"
            }
            _ => continue,
        };
        errors.push(format!("{e}: {error}"));
    }
    for e in ours.keys().filter(|e| !events.contains(e)) {
        errors.push(format!("{e}: labelled, but memstatd does not attach to it"));
    }
    errors
}

/// Every path the patch labels in private/file_contexts has test data in
/// contexts/plat_file_contexts_test with that type (checkfc -t), and a path
/// under it too when the regex labels a tree.
fn lint_file_contexts_test_data(files: &[FileDiff]) -> Vec<String> {
    let data = policy_lines(added(files, "contexts/plat_file_contexts_test"));
    let data: BTreeSet<(&str, &str)> = data
        .iter()
        .filter_map(|w| Some((w[0], *w.get(1)?)))
        .collect();
    let mut errors = Vec::new();
    for line in added(files, "private/file_contexts")
        .iter()
        .filter(|l| l.starts_with('/'))
    {
        let regex = line.split_whitespace().next().unwrap_or("");
        let (path, ty) = labelled_paths(std::slice::from_ref(line))
            .pop_first()
            .unwrap_or_default();
        let under = data
            .iter()
            .any(|(p, t)| p.starts_with(&format!("{path}/")) && *t == ty);
        if path.contains(|c| "\\()[]*+?|^$".contains(c)) {
            errors.push(format!(
                "{regex}: give it test data, then teach this lint its regex"
            ));
        } else if !data.contains(&(path.as_str(), ty.as_str())) {
            errors.push(format!("{regex}: no test data `{path} {ty}`"));
        } else if regex.ends_with("(/.*)?") && !under {
            errors.push(format!("{regex}: no test data for a path under {path}/"));
        }
    }
    errors
}

/// Every service the patch adds has a fuzzer binding, and every fuzzer it
/// binds is an Android.bp module (fuzzer_bindings_test, and Soong's check
/// that the module exists).
fn lint_fuzzers(files: &[FileDiff], android_bp: &str) -> Vec<String> {
    let mut bindings = BTreeMap::new();
    for line in added(files, "build/soong/service_fuzzer_bindings.go") {
        if let Some((name, value)) = line.trim().split_once(':') {
            let fuzzers: Vec<&str> = value.split('"').skip(1).step_by(2).collect();
            bindings.insert(name.trim_matches('"'), fuzzers);
        }
    }
    let mut errors = Vec::new();
    for w in policy_lines(added(files, "private/service_contexts")) {
        if !bindings.contains_key(w[0]) {
            errors.push(format!(
                "service {}: not in service_fuzzer_bindings.go",
                w[0]
            ));
        }
    }
    for fuzzer in bindings.values().flatten() {
        if !android_bp.contains(&format!("name: \"{fuzzer}\",")) {
            errors.push(format!("fuzzer {fuzzer}: no such module in Android.bp"));
        }
    }
    errors
}

// ---------------------------------------------------------------------------
// Lints of Android.bp and memstatd.rc

/// Every bpf {} module installs to /system/etc/bpf/memstat/, the loader
/// location whose pins the policy labels fs_bpf_memstat: the only pins
/// memstatd may open. The sub_dir is the module's own or that of the one
/// bpf_defaults it names.
fn lint_bpf_modules(android_bp: &str) -> Vec<String> {
    let blocks = |kind: &str| -> Vec<&str> {
        android_bp
            .split(&format!("\n{kind} {{\n"))
            .skip(1)
            .map(|m| m.split("\n}").next().unwrap_or(m))
            .collect()
    };
    let in_memstat = |m: &str| m.contains("\n    sub_dir: \"memstat\",");
    let name = |m: &str| m.split('"').nth(1).unwrap_or(m).to_string();
    let defaults: Vec<String> = blocks("bpf_defaults")
        .into_iter()
        .filter(|d| in_memstat(d))
        .map(name)
        .collect();
    let modules = blocks("bpf");
    let mut errors = Vec::new();
    if modules.is_empty() {
        errors.push("Android.bp has no bpf {} module".into());
    }
    let inherits = |m: &str| {
        defaults
            .iter()
            .any(|d| m.contains(&format!("\n    defaults: [\"{d}\"],")))
    };
    for m in modules.iter().filter(|m| !in_memstat(m) && !inherits(m)) {
        errors.push(format!(
            "bpf {}: no sub_dir: \"memstat\"; its pins would be fs_bpf",
            name(m)
        ));
    }
    errors
}

/// init's commands (system/core init/builtins.cpp) and service options
/// (init/service_parser.cpp), each with its least and most arguments (`*`:
/// no most).
const COMMANDS: &str = "
    bootchart 1 1  chmod 2 2  chown 2 3  class_reset 1 1  class_restart 1 2  class_start 1 1
    class_stop 1 1  copy 2 2  copy_per_line 2 2  domainname 1 1  enable 1 1  exec 1 *
    exec_background 1 *  exec_start 1 1  export 2 2  hostname 1 1  ifup 1 1  init_user0 0 0
    insmod 1 *  installkey 1 1  interface_restart 1 1  interface_start 1 1  interface_stop 1 1
    load_exports 1 1  load_persist_props 0 0  load_system_props 0 0  loglevel 1 1
    mark_post_data 0 0  mkdir 1 6  mount_all 0 *  mount 3 *  perform_apex_config 0 1
    umount 1 1  umount_all 0 1  update_linker_config 0 0  readahead 1 2  restart 1 2
    restorecon 1 *  restorecon_recursive 1 *  rm 1 1  rmdir 1 1  setprop 2 2  setrlimit 3 3
    start 1 1  stop 1 1  swapon_all 0 1  swapoff 1 1  enter_default_mount_ns 0 0  symlink 2 2
    sysclktz 1 1  trigger 1 1  verity_update_state 0 0  wait 1 2  wait_for_prop 2 2  write 2 2";
const SERVICE_OPTIONS: &str = "
    capabilities 0 *  class 1 *  console 0 1  critical 0 2  disabled 0 0  enter_namespace 2 2
    file 2 2  gentle_kill 0 0  group 1 33  interface 2 2  ioprio 2 2  keycodes 1 *
    memcg.limit_in_bytes 1 1  memcg.limit_percent 1 1  memcg.limit_property 1 1
    memcg.soft_limit_in_bytes 1 1  memcg.swappiness 1 1  namespace 1 2  oneshot 0 0
    onrestart 1 *  oom_score_adjust 1 1  override 0 0  priority 1 1  reboot_on_failure 1 1
    restart_period 1 1  rlimit 3 3  seclabel 1 1  setenv 2 2  shared_kallsyms 0 0  shutdown 1 1
    sigstop 0 0  socket 3 6  stdio_to_kmsg 0 0  task_profiles 1 *  timeout_period 1 1
    updatable 0 0  user 1 1  writepid 1 *";
fn keywords(table: &str) -> BTreeMap<&str, (usize, usize)> {
    let words: Vec<&str> = table.split_whitespace().collect();
    let arity = |n: &str| n.parse().unwrap_or(usize::MAX);
    words
        .chunks(3)
        .map(|k| (k[0], (arity(k[1]), arity(k[2]))))
        .collect()
}

/// AID names as init spells them, from the host stand-in of
/// `<cutils/android_filesystem_config.h>`: the platform's values, and
/// AID_MEMSTAT of memstat's system/core patch.
fn aids() -> BTreeSet<String> {
    let header = read("bpf_progs/include/cutils/android_filesystem_config.h");
    let defines = header
        .lines()
        .filter_map(|l| l.strip_prefix("#define AID_"));
    defines
        .filter_map(|d| Some(d.split_whitespace().next()?.to_lowercase()))
        .collect()
}

/// Checks an init script as host_init_verifier does (sections, commands and
/// service options with their argument counts, AIDs, mkdir modes), and that
/// file_contexts labels what memstatd runs and what init makes for it:
/// otherwise init cannot start memstatd in its domain, or memstatd cannot
/// use its state directory. memstatd must have `gentle_kill`, or `stop
/// memstatd` kills it at once, in the middle of writing its state.
fn lint_rc(rc: &str, aids: &BTreeSet<String>, file_contexts: &[String]) -> Vec<String> {
    let (commands, options) = (keywords(COMMANDS), keywords(SERVICE_OPTIONS));
    let labels = labelled_paths(file_contexts);
    let label = |path: &str| labels.get(path).map_or("none", |t| t.as_str());
    let (mut errors, mut section, mut memstatd) = (Vec::new(), "", false);
    let (mut in_memstatd, mut gentle) = (false, false);
    for (n, line) in rc.lines().enumerate() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let mut err = |e: String| errors.push(format!("line {}: {e}", n + 1));
        if w.first().is_none_or(|f| f.starts_with('#')) {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            section = w[0];
            in_memstatd = matches!(w[..], ["service", "memstatd", ..]);
            match w[..] {
                ["on", ..] | ["import", _] => {}
                ["service", "memstatd", path, ..] => {
                    memstatd = true;
                    if label(path) != "memstatd_exec" {
                        err(format!(
                            "{path} is labelled {}, not memstatd_exec",
                            label(path)
                        ));
                    }
                }
                ["service", _, _, ..] => {}
                _ => err(format!("unknown section {:?}", w[0])),
            }
            continue;
        }
        let (table, what) = match section {
            "on" => (&commands, "command"),
            "service" => (&options, "service option"),
            _ => {
                err(format!("{:?} outside a section", w[0]));
                continue;
            }
        };
        gentle |= in_memstatd && w[0] == "gentle_kill";
        let args = &w[1..];
        match table.get(w[0]) {
            None => err(format!("unknown {what} {:?}", w[0])),
            Some(&(min, max)) if args.len() < min || args.len() > max => err(format!(
                "{} takes {min} to {max} arguments, not {}",
                w[0],
                args.len()
            )),
            _ => {}
        }
        let ids = match w[0] {
            "user" | "group" => args,
            "mkdir" => args.get(2..).unwrap_or_default(),
            _ => &[],
        };
        for id in ids
            .iter()
            .filter(|a| !aids.contains(**a) && a.parse::<u32>().is_err())
        {
            err(format!("{id:?} is not a known AID"));
        }
        if let ["mkdir", path, mode, ..] = w[..] {
            if mode.chars().any(|c| !('0'..='7').contains(&c)) {
                err(format!("mode {mode:?} is not octal"));
            }
            if path.starts_with("/data/misc/") && label(path) == "none" {
                err(format!(
                    "{path} has no label of its own; it would be system_data_file"
                ));
            }
        }
    }
    if !memstatd {
        errors.push("no service memstatd".into());
    } else if !gentle {
        errors.push("service memstatd has no gentle_kill".into());
    }
    errors
}

// ---------------------------------------------------------------------------
// Rust under Soong

/// Rust modules of the platform memstat links, under where each is defined:
/// frameworks/native 4f463a6, frameworks/base, and external/rust's crates.
const PLATFORM_RUST_MODULES: &str = "
    frameworks/native libs/binder/rust/Android.bp: libbinder_rs
    frameworks/native libs/binder/rust/tests/parcel_fuzzer/Android.bp: service_fuzzer_defaults_rs
    frameworks/base core/java/Android.bp: android.os.permissions_aidl-rust
    external/rust/android-crates-io: libandroid_logger libbytemuck liblibc liblog_rust libnix
        libproptest libserde libserde_json libthiserror";

/// The Soong module of each crate memstat's Cargo.toml files name; `-` for
/// the one the library uses only on a Linux host (`object`: the host loader).
const CRATE_MODULES: &str = "
    android_logger:libandroid_logger binder:libbinder_rs bytemuck:libbytemuck libc:liblibc
    log:liblog_rust memstatd:libmemstatd nix:libnix object:- proptest:libproptest
    serde:libserde serde_json:libserde_json thiserror:libthiserror";

/// The quoted names of list `list` of module `name` (a module or defaults),
/// with those of the defaults it names.
fn module_list(android_bp: &str, name: &str, list: &str) -> BTreeSet<String> {
    let Some(start) = android_bp.find(&format!("\n    name: \"{name}\",")) else {
        return BTreeSet::new();
    };
    let module = android_bp[start..].split("\n}").next().unwrap_or("");
    let quoted = |list: &str| -> Vec<String> {
        let body = module
            .split(&format!("\n    {list}: ["))
            .nth(1)
            .unwrap_or("");
        let body = body.split(']').next().unwrap_or("");
        body.split('"')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    };
    let mut names: BTreeSet<String> = quoted(list).into_iter().collect();
    for d in quoted("defaults") {
        names.extend(module_list(android_bp, &d, list));
    }
    names
}

/// The crates of a Cargo.toml's dependency tables: (normal, dev).
fn cargo_deps(cargo_toml: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut deps, mut dev, mut table) = (BTreeSet::new(), BTreeSet::new(), "");
    for line in cargo_toml.lines() {
        if line.starts_with('[') {
            table = line;
            continue;
        }
        let Some((krate, _)) = line.split_once(" = ") else {
            continue;
        };
        let krate = krate.split('.').next().unwrap_or(krate).trim().to_string();
        if krate.starts_with('#') {
            continue;
        }
        if table.ends_with("dev-dependencies]") {
            dev.insert(krate);
        } else if table.ends_with("dependencies]") {
            deps.insert(krate);
        }
    }
    (deps, dev)
}

/// A Cargo package: its Cargo.toml's path and text, the modules Android.bp
/// builds from it, and its test module.
type Package<'a> = (&'a str, &'a str, &'a [&'a str], &'a str);

/// Each module a Rust module of Android.bp links is the platform's or
/// Android.bp's own, and each crate a Cargo.toml names is linked by one of
/// the modules built from that package (dev dependencies by its `_test`): a
/// crate Soong does not provide, or one left out of `rustlibs`, fails the
/// Soong build but never the cargo one.
fn lint_rust_modules(android_bp: &str, packages: &[Package]) -> Vec<String> {
    let mut known: BTreeSet<String> = names(PLATFORM_RUST_MODULES).map(String::from).collect();
    for own in android_bp.split("\n    name: \"").skip(1) {
        let own = own.split('"').next().unwrap_or("");
        known.insert(own.into());
        known.insert(format!("{own}-rust"));
    }
    let crate_modules: BTreeMap<&str, &str> = CRATE_MODULES
        .split_whitespace()
        .filter_map(|p| p.split_once(':'))
        .collect();
    let mut errors = Vec::new();
    for &(cargo_toml, text, modules, test) in packages {
        let mut links = |module: &str| {
            let linked = module_list(android_bp, module, "rustlibs");
            if linked.is_empty() {
                errors.push(format!("no Rust module {module} linking anything"));
            }
            for lib in linked.iter().filter(|l| !known.contains(*l)) {
                errors.push(format!(
                    "{module} links {lib}, which the platform does not have"
                ));
            }
            linked
        };
        let mut linked = BTreeSet::new();
        for m in modules {
            linked.extend(links(m));
        }
        let tested = links(test);
        let (deps, dev) = cargo_deps(text);
        let all = deps.iter().map(|d| (d, &linked, modules.join(" or ")));
        for (krate, linked, by) in all.chain(dev.iter().map(|d| (d, &tested, test.to_string()))) {
            match crate_modules.get(krate.as_str()) {
                None => errors.push(format!("{cargo_toml}: crate {krate} has no Soong module")),
                Some(&"-") => {}
                Some(m) if !linked.contains(*m) => {
                    errors.push(format!("{by} does not link {m} ({cargo_toml}: {krate})"))
                }
                Some(_) => {}
            }
        }
    }
    errors
}

/// Rust that Soong can build: it sets no `CARGO_MANIFEST_DIR` (tests read
/// fixtures with include_str!), and `soong` selects the platform's
/// libbinder_rs API in one adapter, whose dump has the platform's signature
/// (`Interface::dump`, frameworks/native libs/binder/rust/src/binder.rs) and
/// which calls the deprecated `get_interface` only for binder_ndk 0.2.
fn lint_soong_rust(sources: &[(String, String)]) -> Vec<String> {
    const ADAPTER: &str = "memstatd/src/transport/binder/libbinder.rs";
    const DUMP: &str = "fn dump(&self, writer: &mut dyn std::io::Write, args: &[&CStr])";
    let mut errors = Vec::new();
    for (path, text) in sources {
        if text.contains("CARGO_MANIFEST_DIR") {
            errors.push(format!(
                "{path}: CARGO_MANIFEST_DIR, which Soong does not set"
            ));
        }
        let soong = text.contains("cfg(soong)") || text.contains("cfg(not(soong))");
        if soong && path != ADAPTER && path != "memstatd/src/transport/mod.rs" {
            errors.push(format!("{path}: cfg(soong) outside the adapter {ADAPTER}"));
        }
    }
    let Some((_, adapter)) = sources.iter().find(|(p, _)| p == ADAPTER) else {
        errors.push(format!("no {ADAPTER}"));
        return errors;
    };
    let mut dump = false;
    for item in adapter.split("\n\n") {
        let flat = item.split_whitespace().collect::<Vec<_>>().join(" ");
        if !flat.contains("#[cfg(soong)]") {
            continue;
        }
        if flat.contains("get_interface(") {
            errors.push(format!(
                "{ADAPTER}: get_interface, deprecated in libbinder_rs"
            ));
        }
        if flat.contains("impl Interface for") {
            dump = true;
            if !flat.contains(DUMP) {
                errors.push(format!("{ADAPTER}: the platform's dump is `{DUMP}`"));
            }
        }
    }
    if !dump {
        errors.push(format!(
            "{ADAPTER}: no dump for the platform's libbinder_rs"
        ));
    }
    errors
}

/// memstatd installs its init script with `init_rc`, which installs it
/// under its own name in /system/etc/init/ and only with the binary.
fn lint_rc_install(android_bp: &str) -> Vec<String> {
    let rc = module_list(android_bp, "memstatd", "init_rc");
    if rc.len() == 1 && rc.contains("memstatd.rc") {
        Vec::new()
    } else {
        vec![format!(
            "memstatd's init_rc is {rc:?}, not [\"memstatd.rc\"]"
        )]
    }
}

/// The Rust sources Soong builds, by path.
fn soong_sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for dir in ["memstatd/src", "memstatd/fuzz", "memstat-cli/src"] {
        walk(&root.join(dir), &root, &mut out);
    }
    out
}

// ---------------------------------------------------------------------------
// The real files

#[test]
fn the_sepolicy_patch_applies_and_uses_only_known_types() {
    assert_clean("types", &lint_types(&patch()));
}

#[test]
fn the_sepolicy_patch_exempts_memstatd_from_the_neverallows_its_grants_meet() {
    let files = patch();
    assert_clean("neverallows", &lint_neverallows(&files));
    let te = added(&files, "private/memstatd.te").join("\n");
    let (declared, _, errors) = te_names("memstatd.te", &te);
    assert_eq!(
        (declared, errors),
        (["memstatd".into(), "memstatd_exec".into()].into(), vec![])
    );
    let neverallows = statements(&te)
        .iter()
        .filter(|s| s.starts_with("neverallow"))
        .count();
    assert_eq!(neverallows, 2);
}

#[test]
fn every_tracepoint_memstatd_attaches_to_is_labelled_once() {
    let events = memstatd::probes::tracepoint_events();
    assert!(events.contains(&"raw_syscalls/sys_exit"), "{events:?}");
    assert_clean("genfs_contexts", &lint_genfs(&patch(), &events));
}

#[test]
fn every_labelled_path_has_file_contexts_test_data() {
    assert_clean(
        "plat_file_contexts_test",
        &lint_file_contexts_test_data(&patch()),
    );
}

#[test]
fn the_memstat_service_has_a_fuzzer() {
    assert_clean(
        "fuzzer bindings",
        &lint_fuzzers(&patch(), &read("Android.bp")),
    );
}

#[test]
fn the_bpf_objects_install_where_their_pins_get_their_label() {
    assert_clean("Android.bp", &lint_bpf_modules(&read("Android.bp")));
}

#[test]
fn the_rust_modules_link_what_the_crates_need_and_the_platform_has() {
    let (memstatd, cli) = (read("memstatd/Cargo.toml"), read("memstat-cli/Cargo.toml"));
    let packages: [Package; 2] = [
        (
            "memstatd/Cargo.toml",
            &memstatd,
            &["libmemstatd", "memstatd"],
            "memstatd_test",
        ),
        (
            "memstat-cli/Cargo.toml",
            &cli,
            &["memstat"],
            "memstat_cli_test",
        ),
    ];
    let errors = lint_rust_modules(&read("Android.bp"), &packages);
    assert_clean("Android.bp", &errors);
}

#[test]
fn memstatd_installs_its_init_script() {
    assert_clean("Android.bp", &lint_rc_install(&read("Android.bp")));
}

#[test]
fn the_rust_builds_under_soong() {
    assert_clean("Rust sources", &lint_soong_rust(&soong_sources()));
}

#[test]
fn memstatd_rc_uses_init_keywords_and_labelled_paths() {
    let files = patch();
    let errors = lint_rc(
        &read("memstatd.rc"),
        &aids(),
        added(&files, "private/file_contexts"),
    );
    assert_clean("memstatd.rc", &errors);
}

// ---------------------------------------------------------------------------
// Each lint rejects what it must

fn diff(path: &str, added: &str, snapshot: &str) -> FileDiff {
    let lines = |s: &str| s.lines().map(String::from).collect();
    let (added, snapshot) = (lines(added), lines(snapshot));
    FileDiff {
        path: path.into(),
        added,
        snapshot,
    }
}

const TE: &str = "
type memstatd, domain, coredomain;
init_daemon_domain(memstatd)
allow memstatd fs_bpf_memstat:file { read write };
allow memstatd debugfs_tracing:file r_file_perms;
allow memstatd self:perf_event { cpu kernel open write };
allow memstatd bpfloader:bpf { map_read map_write prog_run };
neverallow memstatd self:perf_event ~{ cpu kernel open write };
";
const BPFLOADER: &str = "
neverallow { domain -bpfloader -memstatd } fs_bpf_memstat:file { getattr read write };
neverallow { domain -lmkd } { bpffs_type -fs_bpf_vendor -fs_bpf_memstat }:file write;
";

/// A patch of memstatd.te, private/bpfloader.te and private/coredomain.te.
fn te_patch(te: &str, bpfloader: &str, coredomain: &str) -> Vec<FileDiff> {
    let write = "neverallow { domain -lmkd } { bpffs_type -fs_bpf_vendor }:file write;";
    let types = "type memstatd_exec, exec_type;\ntype fs_bpf_memstat, fs_type, bpffs_type;";
    vec![
        diff("private/memstatd.te", te, ""),
        diff("private/file.te", types, ""),
        diff("private/bpfloader.te", bpfloader, write),
        diff("private/coredomain.te", coredomain, "    -lmkd"),
    ]
}

#[test]
fn rejects_malformed_hunks() {
    let good = "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n+b\n c\n";
    let (files, errors) = parse_patch(good);
    assert_clean("good patch", &errors);
    assert_eq!(
        (files[0].added.clone(), files[0].snapshot.len()),
        (vec!["b".into()], 2)
    );
    let short = parse_patch(&good.replace("+1,3", "+1,4")).1;
    assert_rejects(
        &short,
        "f: \"@@ -1,2 +1,4 @@\" is not 2 old and 4 new lines",
    );
    assert_rejects(
        &parse_patch(&format!("{good}+d\n")).1,
        "is not 2 old and 3 new lines",
    );
}

#[test]
fn rejects_unknown_types() {
    let lint = |te: &str, core: &str| lint_types(&te_patch(te, BPFLOADER, core));
    assert_clean("fixture", &lint(TE, "    -memstatd"));
    let typo = TE.replace("bpfloader:bpf", "bpfloadr:bpf");
    assert_rejects(
        &lint(&typo, ""),
        "private/memstatd.te: unknown type bpfloadr",
    );
    assert_rejects(
        &lint(TE, "    -memstat"),
        "private/coredomain.te: unknown type memstat",
    );
    let renamed = TE.replace("init_daemon_domain", "daemon_domain");
    assert_rejects(&lint(&renamed, ""), "unknown macro daemon_domain");
    let fc = "/system/bin/memstatd  u:object_r:memstat_exec:s0";
    let fc = lint_types(&[diff("private/file_contexts", fc, "")]);
    assert_rejects(&fc, "private/file_contexts: unknown type memstat_exec");
    let data = "/data/misc/memstat  memstat_data";
    let data = lint_types(&[diff("contexts/plat_file_contexts_test", data, "")]);
    assert_rejects(&data, "unknown type memstat_data");
}

#[test]
fn rejects_grants_without_their_neverallow_exemption() {
    let lint = |te: &str, bpf: &str, core: &str| lint_neverallows(&te_patch(te, bpf, core));
    let core = "    -memstatd";
    assert_clean("fixture", &lint(TE, BPFLOADER, core));
    assert_rejects(&lint(TE, BPFLOADER, ""), "must list -memstatd");
    let cases = [
        (
            BPFLOADER.replace("-memstatd ", ""),
            "lacks a neverallow of fs_bpf_memstat:file",
        ),
        (
            BPFLOADER.replace("read write };", "read };"),
            "lacks a neverallow",
        ),
        (
            BPFLOADER.replace(" -fs_bpf_memstat }", " }"),
            "must leave out fs_bpf_memstat",
        ),
    ];
    for (bpfloader, expected) in cases {
        assert_rejects(&lint(TE, &bpfloader, core), expected);
    }
    let perf = "{ cpu kernel open write };\nallow";
    let cases = [
        (
            TE.replace("fs_bpf_memstat:file", "fs_bpf:file"),
            "only its own pins",
        ),
        (
            format!("{TE}allow memstatd proc:file r_file_perms;"),
            "no core domain may use it",
        ),
        (
            TE.replace("prog_run }", "prog_run prog_load }"),
            "only uses bpfloader's maps",
        ),
        (
            TE.replace("bpfloader:bpf", "self:bpf"),
            "only uses bpfloader's maps",
        ),
        (
            TE.replace("neverallow memstatd", "# "),
            "cap it as gpuservice and lmkd do",
        ),
        (
            TE.replace(perf, "{ cpu kernel open read write };\nallow"),
            "cap it",
        ),
    ];
    for (te, expected) in cases {
        assert_rejects(&lint(&te, BPFLOADER, core), expected);
    }
}

#[test]
fn rejects_missing_and_duplicate_genfscon_lines() {
    let line = |e: &str| format!("genfscon tracefs /events/{e}/  u:object_r:debugfs_tracing:s0\n");
    let events = ["kmem/kfree", "kmem/rss_stat"];
    let lint = |text: &str| lint_genfs(&[diff("private/genfs_contexts", text, "")], &events);
    assert_clean("fixture", &lint(&line("kmem/kfree")));
    assert_rejects(
        &lint(""),
        "kmem/kfree: memstatd attaches to it, and nothing labels it",
    );
    let twice = line("kmem/kfree") + &line("kmem/rss_stat");
    assert_rejects(&lint(&twice), "kmem/rss_stat: the platform labels it");
    let extra = line("kmem/kfree") + &line("kmem/kmalloc");
    assert_rejects(
        &lint(&extra),
        "kmem/kmalloc: labelled, but memstatd does not attach",
    );
    let wrong = line("kmem/kfree").replace(":debugfs_tracing:", ":debugfs_tracing_debug:");
    assert_rejects(&lint(&wrong), "kmem/kfree: not debugfs_tracing");
    assert_rejects(
        &lint(&line("kmem/kfree").replace("kfree/", "kfree")),
        "not /events/",
    );
}

#[test]
fn rejects_labels_without_test_data() {
    let lint = |fc: &str, data: &str| {
        let fc = diff("private/file_contexts", fc, "");
        lint_file_contexts_test_data(&[fc, diff("contexts/plat_file_contexts_test", data, "")])
    };
    let fc = "/data/misc/memstat(/.*)?  u:object_r:memstatd_data_file:s0";
    let data = "/data/misc/memstat  memstatd_data_file\n/data/misc/memstat/a  memstatd_data_file";
    assert_clean("fixture", &lint(fc, data));
    let top = data.lines().next().unwrap();
    assert_rejects(
        &lint(fc, top),
        "no test data for a path under /data/misc/memstat/",
    );
    let wrong = data.replacen("memstatd_data_file", "system_data_file", 1);
    assert_rejects(
        &lint(fc, &wrong),
        "no test data `/data/misc/memstat memstatd_data_file`",
    );
    let regex = "/system/bin/memstatd[0-9]*  u:object_r:memstatd_exec:s0";
    assert_rejects(&lint(regex, data), "teach this lint its regex");
}

#[test]
fn rejects_services_without_a_fuzzer() {
    let lint = |binding: &str, bp: &str| {
        let service = "memstat  u:object_r:memstat_service:s0";
        let contexts = diff("private/service_contexts", service, "");
        let bindings = diff("build/soong/service_fuzzer_bindings.go", binding, "");
        lint_fuzzers(&[contexts, bindings], bp)
    };
    let binding = r#"		"memstat":   []string{"memstatd_service_fuzzer"},"#;
    let bp = "rust_fuzz {\n    name: \"memstatd_service_fuzzer\",\n}\n";
    assert_clean("fixture", &lint(binding, bp));
    assert_rejects(
        &lint("", bp),
        "service memstat: not in service_fuzzer_bindings.go",
    );
    assert_rejects(
        &lint(binding, ""),
        "fuzzer memstatd_service_fuzzer: no such module",
    );
}

#[test]
fn rejects_bpf_modules_outside_the_memstat_location() {
    let bp = "\nbpf {\n    name: \"memStatOom.o\",\n    sub_dir: \"memstat\",\n}\n";
    assert_clean("fixture", &lint_bpf_modules(bp));
    let flat = bp.replace("    sub_dir: \"memstat\",\n", "");
    assert_rejects(&lint_bpf_modules(&flat), "bpf memStatOom.o: no sub_dir");
    assert_rejects(&lint_bpf_modules(""), "no bpf {} module");
    let defaults = "\nbpf_defaults {\n    name: \"d\",\n    sub_dir: \"memstat\",\n}\n";
    let inheriting = flat.replace("\",\n}", "\",\n    defaults: [\"d\"],\n}");
    assert_clean(
        "fixture",
        &lint_bpf_modules(&format!("{defaults}{inheriting}")),
    );
    let elsewhere = defaults.replace("memstat", "other");
    assert_rejects(
        &lint_bpf_modules(&format!("{elsewhere}{inheriting}")),
        "bpf memStatOom.o: no sub_dir",
    );
}

#[test]
fn rejects_bad_init_scripts() {
    const RC: &str = "
on post-fs-data
    mkdir /data/misc/memstat 0700 memstat memstat

service memstatd /system/bin/memstatd
    class main
    user memstat
    group memstat package_info readtracefs
    gentle_kill
";
    let fc = [
        "/system/bin/memstatd  u:object_r:memstatd_exec:s0".to_string(),
        "/data/misc/memstat(/.*)?  u:object_r:memstatd_data_file:s0".to_string(),
    ];
    let lint = |rc: &str| lint_rc(rc, &aids(), &fc);
    assert_clean("fixture", &lint(RC));
    let cases = [
        (
            "gentle_kill",
            "gentle_kill now",
            "gentle_kill takes 0 to 0 arguments, not 1",
        ),
        ("class main", "clas main", "unknown service option \"clas\""),
        ("    mkdir", "    makedir", "unknown command \"makedir\""),
        (
            "user memstat",
            "user memstats",
            "\"memstats\" is not a known AID",
        ),
        (
            "0700 memstat memstat",
            "0700 memstat sytem",
            "\"sytem\" is not a known AID",
        ),
        ("0700", "0790", "mode \"0790\" is not octal"),
        (
            "/bin/memstatd\n",
            "/bin/memstat\n",
            "is labelled none, not memstatd_exec",
        ),
        (
            "service memstatd",
            "services memstatd",
            "unknown section \"services\"",
        ),
        ("memstat 0700", "memstats 0700", "has no label of its own"),
        ("service memstatd", "service memstat", "no service memstatd"),
        (
            "    gentle_kill\n",
            "",
            "service memstatd has no gentle_kill",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(RC.contains(from), "the fixture has {from:?}");
        assert_rejects(&lint(&RC.replacen(from, to, 1)), expected);
    }
    assert_rejects(
        &lint(&format!("    user memstat\n{RC}")),
        "outside a section",
    );
}

const RUST_BP: &str = "
rust_defaults {
    name: \"libmemstatd_defaults\",
    rustlibs: [
        \"libbinder_rs\",
        \"libnix\",
    ],
}

rust_library {
    name: \"libmemstatd\",
    defaults: [\"libmemstatd_defaults\"],
}

rust_binary {
    name: \"memstatd\",
    rustlibs: [\"libmemstatd\"],
    init_rc: [\"memstatd.rc\"],
}

rust_test {
    name: \"memstatd_test\",
    defaults: [\"libmemstatd_defaults\"],
    rustlibs: [\"libproptest\"],
}
";

const RUST_CARGO: &str = "
[dependencies]
nix.workspace = true

[dev-dependencies]
proptest = { version = \"1\" }

[target.'cfg(target_os = \"android\")'.dependencies]
binder = { package = \"binder_ndk\", version = \"0.2\" }
";

#[test]
fn rejects_rust_modules_the_platform_lacks_or_crates_left_out() {
    let lint = |bp: &str, cargo: &str| {
        let packages: [Package; 1] = [(
            "Cargo.toml",
            cargo,
            &["libmemstatd", "memstatd"],
            "memstatd_test",
        )];
        lint_rust_modules(bp, &packages)
    };
    assert_clean("fixture", &lint(RUST_BP, RUST_CARGO));
    let syscalls = RUST_BP.replace("\"libnix\",", "\"libnix\",\n        \"libsyscalls\",");
    let cargo = format!("{RUST_CARGO}\n[dependencies]\nsyscalls = \"0.8\"\n");
    let errors = lint(&syscalls, &cargo);
    assert_rejects(&errors, "libmemstatd links libsyscalls, which the platform");
    assert_rejects(&errors, "crate syscalls has no Soong module");
    let no_nix = RUST_BP.replace("        \"libnix\",\n", "");
    assert_rejects(
        &lint(&no_nix, RUST_CARGO),
        "libmemstatd or memstatd does not link libnix (Cargo.toml: nix)",
    );
    let no_proptest = RUST_BP.replace("[\"libproptest\"]", "[]");
    assert_rejects(
        &lint(&no_proptest, RUST_CARGO),
        "memstatd_test does not link libproptest",
    );
    assert_clean("fixture", &lint_rc_install(RUST_BP));
    let prebuilt = RUST_BP.replace("    init_rc: [\"memstatd.rc\"],\n", "");
    assert_rejects(&lint_rc_install(&prebuilt), "memstatd's init_rc is {}");
}

#[test]
fn rejects_rust_soong_cannot_build() {
    const ADAPTER: &str = "memstatd/src/transport/binder/libbinder.rs";
    const GOOD: &str = "use std::ffi::CStr;

#[cfg(soong)]
impl Interface for MemStat {
    fn dump(&self, writer: &mut dyn std::io::Write, args: &[&CStr]) -> Result<(), StatusCode> {
        Ok(())
    }
}

#[cfg(soong)]
pub fn check_interface(name: &str) -> Result<(), StatusCode> {
    binder::check_interface(name)
}

#[cfg(not(soong))]
pub fn check_interface(name: &str) -> Result<(), StatusCode> {
    binder::get_interface(name)
}
";
    let sources = |adapter: &str, other: &str| {
        vec![
            (ADAPTER.to_string(), adapter.to_string()),
            ("memstatd/src/system/psi.rs".to_string(), other.to_string()),
        ]
    };
    assert_clean("fixture", &lint_soong_rust(&sources(GOOD, "")));
    let old_dump = GOOD.replace("writer: &mut dyn std::io::Write", "file: &File");
    assert_rejects(
        &lint_soong_rust(&sources(&old_dump, "")),
        "the platform's dump is",
    );
    let deprecated = GOOD.replacen("binder::check_interface", "binder::get_interface", 1);
    assert_rejects(
        &lint_soong_rust(&sources(&deprecated, "")),
        "get_interface, deprecated",
    );
    let no_dump = GOOD.replacen("#[cfg(soong)]\nimpl", "#[cfg(not(soong))]\nimpl", 1);
    assert_rejects(
        &lint_soong_rust(&sources(&no_dump, "")),
        "no dump for the platform's libbinder_rs",
    );
    let fixtures = "const ROOT: &str = concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/tests\");";
    assert_rejects(
        &lint_soong_rust(&sources(GOOD, fixtures)),
        "psi.rs: CARGO_MANIFEST_DIR, which Soong does not set",
    );
    assert_rejects(
        &lint_soong_rust(&sources(GOOD, "#[cfg(soong)]\nuse x;")),
        "psi.rs: cfg(soong) outside the adapter",
    );
}
