//! Lints of memstat's Android platform files: `init.rc`, `sepolicy/` and the
//! parts of `Android.bp` they depend on (scripts/check_android_bp.sh checks
//! its format and paths). Each lint is a function over text; the tests apply
//! them to the real files, and the `rejects_*` tests to broken inputs, so
//! that each can be seen failing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_clean(what: &str, errors: &[String]) {
    assert!(errors.is_empty(), "{what}:\n  {}", errors.join("\n  "));
}

fn assert_rejects(errors: &[String], expected: &str) {
    assert!(
        errors.iter().any(|e| e.contains(expected)),
        "expected an error containing {expected:?}, got {errors:?}"
    );
}

// ---------------------------------------------------------------------------
// Android IDs

/// AID names (as init spells them: lower case, no `AID_`) to numbers, from the
/// host stand-in of `<cutils/android_filesystem_config.h>`, whose values are
/// the platform's.
fn aids() -> BTreeMap<String, u32> {
    parse_aids(&read(
        "bpf_progs/include/cutils/android_filesystem_config.h",
    ))
}

fn parse_aids(header: &str) -> BTreeMap<String, u32> {
    header
        .lines()
        .filter_map(|l| {
            let mut t = l.split_whitespace();
            (t.next()? == "#define").then_some(())?;
            let name = t.next()?.strip_prefix("AID_")?;
            Some((name.to_lowercase(), t.next()?.parse().ok()?))
        })
        .collect()
}

/// The groups of the pins memstat's objects create: every AID a BPF source
/// names as a map's or program's owner, but root.
fn pin_groups() -> BTreeSet<String> {
    let mut groups = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("bpf_progs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "c") {
            let text = std::fs::read_to_string(&path).unwrap();
            groups.extend(aid_names(&text).into_iter().filter(|a| a != "root"));
        }
    }
    groups
}

fn aid_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter_map(|w| w.strip_prefix("AID_"))
        .map(str::to_lowercase)
        .collect()
}

// ---------------------------------------------------------------------------
// Android.bp: a parser for the subset of Blueprint bpfmt accepts and we use

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn strings(&self, key: &str) -> Vec<&str> {
        match self.get(key) {
            Some(Value::List(l)) => l
                .iter()
                .filter_map(|v| match v {
                    Value::Str(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn flag(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Module {
    kind: String,
    props: Value,
}

impl Module {
    fn name(&self) -> &str {
        self.props.str("name").unwrap_or("")
    }
}

fn bp_tokens(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        Some('/') if prev == '*' => break,
                        Some(c) => prev = c,
                        None => return Err("unterminated /* comment".into()),
                    }
                }
            }
            '"' => {
                let mut s = String::from("\"");
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => s.extend(chars.next()),
                        Some(c) => s.push(c),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(s);
            }
            '{' | '}' | '[' | ']' | ':' | ',' | '=' | '+' => out.push(c.to_string()),
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let mut w = c.to_string();
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        w.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(w);
            }
            c => return Err(format!("unexpected character {c:?}")),
        }
    }
    Ok(out)
}

fn parse_bp(text: &str) -> Result<Vec<Module>, String> {
    let tokens = bp_tokens(text)?;
    let mut pos = 0;
    let mut modules = Vec::new();
    while pos < tokens.len() {
        let kind = tokens[pos].clone();
        if !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("expected a module type, found {kind:?}"));
        }
        pos += 1;
        if tokens.get(pos).map(String::as_str) != Some("{") {
            return Err(format!(
                "{kind}: expected '{{' (variables are not used here)"
            ));
        }
        let props = bp_value(&tokens, &mut pos)?;
        modules.push(Module { kind, props });
    }
    Ok(modules)
}

fn bp_value(t: &[String], pos: &mut usize) -> Result<Value, String> {
    let tok = t.get(*pos).ok_or("unexpected end of file")?.clone();
    *pos += 1;
    match tok.as_str() {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        "[" => {
            let mut items = Vec::new();
            loop {
                if t.get(*pos).map(String::as_str) == Some("]") {
                    *pos += 1;
                    return Ok(Value::List(items));
                }
                items.push(bp_value(t, pos)?);
                match t.get(*pos).map(String::as_str) {
                    Some(",") => *pos += 1,
                    Some("]") => {}
                    other => return Err(format!("expected ',' or ']' in a list, found {other:?}")),
                }
            }
        }
        "{" => {
            let mut entries: Vec<(String, Value)> = Vec::new();
            loop {
                let key = t
                    .get(*pos)
                    .ok_or("unexpected end of file in a map")?
                    .clone();
                *pos += 1;
                if key == "}" {
                    return Ok(Value::Map(entries));
                }
                if t.get(*pos).map(String::as_str) != Some(":") {
                    return Err(format!("expected ':' after {key:?}"));
                }
                *pos += 1;
                if entries.iter().any(|(k, _)| *k == key) {
                    return Err(format!("property {key} given twice"));
                }
                let v = bp_value(t, pos)?;
                entries.push((key, v));
                match t.get(*pos).map(String::as_str) {
                    Some(",") => *pos += 1,
                    Some("}") => {}
                    other => return Err(format!("expected ',' or '}}' in a map, found {other:?}")),
                }
            }
        }
        s => match s.strip_prefix('"') {
            Some(v) => Ok(Value::Str(v.to_string())),
            None => Err(format!("unexpected {s:?}")),
        },
    }
}

/// Where a module installs its file on the device, for the module types
/// memstat uses; None when it installs nothing there (or we cannot tell).
fn install_path(m: &Module) -> Option<String> {
    let partition_specific = [
        "vendor",
        "proprietary",
        "system_ext_specific",
        "product_specific",
    ]
    .iter()
    .any(|p| m.props.flag(p) == Some(true));
    if partition_specific {
        return None;
    }
    let sub = |dir: &str| match m
        .props
        .str("relative_install_path")
        .or(m.props.str("sub_dir"))
    {
        Some(s) => format!("{dir}/{s}"),
        None => dir.to_string(),
    };
    match m.kind.as_str() {
        "rust_binary" | "cc_binary" => Some(format!(
            "{}/{}",
            sub("/system/bin"),
            m.props.str("stem").unwrap_or(m.name())
        )),
        "prebuilt_etc" => Some(format!(
            "{}/{}",
            sub("/system/etc"),
            m.props.str("filename").unwrap_or(m.name())
        )),
        _ => None,
    }
}

/// Android.bp's promises to init.rc and to the bpfloader: one bpf {} module
/// per BPF source, each `memStat<Group>.o` built from
/// `bpf_progs/memStat<Group>.c` without BTF; memstatd installed to
/// /system/bin and requiring every object and its init script, which is
/// installed to /system/etc/init/memstatd.rc from init.rc.
fn lint_android_bp(modules: &[Module], bpf_sources: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    let bpf: Vec<&Module> = modules.iter().filter(|m| m.kind == "bpf").collect();
    for src in bpf_sources {
        let stem = src.trim_end_matches(".c");
        let want = format!("{stem}.o");
        match bpf.iter().find(|m| m.name() == want) {
            None => errors.push(format!(
                "bpf_progs/{src} has no bpf {{ name: {want:?} }} module"
            )),
            Some(m) => {
                if m.props.strings("srcs") != [format!("bpf_progs/{src}")] {
                    errors.push(format!("{want}: srcs must be [\"bpf_progs/{src}\"]"));
                }
                if m.props.flag("btf") != Some(false) {
                    errors.push(format!("{want}: btf must be false"));
                }
            }
        }
    }
    for m in &bpf {
        let src = m.name().trim_end_matches(".o").to_string() + ".c";
        if !bpf_sources.contains(&src) {
            errors.push(format!("bpf module {} has no bpf_progs/{src}", m.name()));
        }
    }
    let Some(daemon) = modules
        .iter()
        .find(|m| m.kind == "rust_binary" && m.name() == "memstatd")
    else {
        errors.push("no rust_binary memstatd".into());
        return errors;
    };
    if install_path(daemon).as_deref() != Some("/system/bin/memstatd") {
        errors.push(format!(
            "memstatd installs to {:?}, not /system/bin/memstatd",
            install_path(daemon)
        ));
    }
    let required = daemon.props.strings("required");
    for m in &bpf {
        if !required.contains(&m.name()) {
            errors.push(format!("memstatd does not require {}", m.name()));
        }
    }
    if !daemon.props.strings("init_rc").is_empty() {
        errors.push("memstatd: init_rc would install init.rc under its own name".into());
    }
    let rc = modules
        .iter()
        .find(|m| m.props.str("src") == Some("init.rc"));
    match rc {
        None => errors.push("no module installs init.rc".into()),
        Some(rc) => {
            if install_path(rc).as_deref() != Some("/system/etc/init/memstatd.rc") {
                errors.push(format!(
                    "init.rc installs to {:?}, not /system/etc/init/memstatd.rc",
                    install_path(rc)
                ));
            }
            if !required.contains(&rc.name()) {
                errors.push(format!("memstatd does not require {}", rc.name()));
            }
        }
    }
    errors
}

fn android_bp() -> Vec<Module> {
    parse_bp(&read("Android.bp")).unwrap_or_else(|e| panic!("Android.bp: {e}"))
}

fn bpf_sources() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("bpf_progs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".c"))
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------
// init.rc

/// Service options init knows (system/core/init/README.md, "Options"), with
/// the number of arguments each takes (min, max).
const SERVICE_OPTIONS: &[(&str, usize, usize)] = &[
    ("capabilities", 0, 64),
    ("class", 1, 16),
    ("console", 0, 1),
    ("critical", 0, 1),
    ("disabled", 0, 0),
    ("enter_namespace", 2, 2),
    ("file", 2, 2),
    ("gentle_kill", 0, 0),
    ("group", 1, 64),
    ("interface", 2, 2),
    ("ioprio", 2, 2),
    ("keycodes", 1, 64),
    ("memcg.limit_in_bytes", 1, 1),
    ("memcg.limit_percent", 1, 1),
    ("memcg.limit_property", 1, 1),
    ("memcg.soft_limit_in_bytes", 1, 1),
    ("memcg.swappiness", 1, 1),
    ("namespace", 1, 1),
    ("oneshot", 0, 0),
    ("onrestart", 1, 64),
    ("oom_score_adj", 1, 1),
    ("override", 0, 0),
    ("priority", 1, 1),
    ("reboot_on_failure", 1, 1),
    ("restart_period", 1, 1),
    ("rlimit", 3, 3),
    ("seclabel", 1, 1),
    ("setenv", 2, 2),
    ("shutdown", 1, 1),
    ("sigstop", 0, 0),
    ("socket", 3, 6),
    ("stdio_to_kmsg", 0, 0),
    ("task_profiles", 1, 64),
    ("timeout_period", 1, 1),
    ("updatable", 0, 0),
    ("user", 1, 1),
];

/// Action commands init knows (system/core/init/README.md, "Commands"), with
/// their argument counts.
const COMMANDS: &[(&str, usize, usize)] = &[
    ("bootchart", 1, 1),
    ("chmod", 2, 2),
    ("chown", 3, 3),
    ("class_reset", 1, 1),
    ("class_restart", 1, 2),
    ("class_start", 1, 1),
    ("class_stop", 1, 1),
    ("copy", 2, 2),
    ("copy_per_line", 2, 2),
    ("domainname", 1, 1),
    ("enable", 1, 1),
    ("exec", 1, 64),
    ("exec_background", 1, 64),
    ("exec_start", 1, 1),
    ("export", 2, 2),
    ("hostname", 1, 1),
    ("ifup", 1, 1),
    ("insmod", 1, 64),
    ("interface_restart", 1, 1),
    ("interface_start", 1, 1),
    ("interface_stop", 1, 1),
    ("load_exports", 1, 1),
    ("load_persist_props", 0, 0),
    ("load_system_props", 0, 0),
    ("loglevel", 1, 1),
    ("mark_post_data", 0, 0),
    ("mkdir", 1, 6),
    ("mount", 3, 64),
    ("mount_all", 0, 64),
    ("perform_apex_config", 0, 1),
    ("readahead", 1, 2),
    ("restart", 1, 2),
    ("restorecon", 1, 64),
    ("restorecon_recursive", 1, 64),
    ("rm", 1, 1),
    ("rmdir", 1, 1),
    ("setprop", 2, 2),
    ("setrlimit", 3, 3),
    ("start", 1, 1),
    ("stop", 1, 1),
    ("swapon_all", 0, 1),
    ("symlink", 2, 2),
    ("sysclktz", 1, 1),
    ("trigger", 1, 1),
    ("umount", 1, 1),
    ("umount_all", 0, 1),
    ("verity_update_state", 0, 0),
    ("wait", 1, 2),
    ("wait_for_prop", 2, 2),
    ("write", 2, 2),
];

/// Event triggers of the platform's init.rc (system/core/rootdir/init.rc).
const EVENTS: &[&str] = &[
    "early-init",
    "init",
    "late-init",
    "early-fs",
    "fs",
    "post-fs",
    "late-fs",
    "post-fs-data",
    "zygote-start",
    "early-boot",
    "boot",
    "charger",
    "shutdown",
];

/// Capability names of `capabilities` (init takes CAP_* without the prefix).
const CAPABILITIES: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
];

#[derive(Debug, Default)]
struct Service {
    name: String,
    path: String,
    options: Vec<(String, Vec<String>)>,
}

impl Service {
    fn option(&self, name: &str) -> Option<&[String]> {
        self.options
            .iter()
            .find(|(o, _)| o == name)
            .map(|(_, a)| a.as_slice())
    }
}

#[derive(Debug, Default)]
struct Action {
    trigger: String,
    commands: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Default)]
struct InitRc {
    services: Vec<Service>,
    actions: Vec<Action>,
}

/// Parses init.rc and checks every line against init's grammar: sections
/// are `on`, `service` and `import`; a service's lines are known options and
/// an action's are known commands, each with a valid number of arguments;
/// users and groups are known AIDs; modes are octal; triggers are known
/// events or `property:name=value`, joined by `&&`.
fn lint_init_rc(text: &str, aids: &BTreeMap<String, u32>) -> (InitRc, Vec<String>) {
    enum Section {
        None,
        Service,
        Action,
    }
    let mut rc = InitRc::default();
    let mut errors = Vec::new();
    let mut section = Section::None;
    for (n, line) in text.lines().enumerate() {
        let at = format!("init.rc:{}", n + 1);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.ends_with('\\') {
            errors.push(format!("{at}: line continuations are not used here"));
            continue;
        }
        let words: Vec<String> = trimmed.split_whitespace().map(String::from).collect();
        let indented = line.starts_with([' ', '\t']);
        if !indented {
            match words[0].as_str() {
                "service" => {
                    if words.len() < 3 {
                        errors.push(format!("{at}: service needs a name and a path"));
                        section = Section::None;
                        continue;
                    }
                    let name = &words[1];
                    if !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c))
                    {
                        errors.push(format!("{at}: bad service name {name:?}"));
                    }
                    if rc.services.iter().any(|s| &s.name == name) {
                        errors.push(format!("{at}: service {name} defined twice"));
                    }
                    if !words[2].starts_with('/') {
                        errors.push(format!("{at}: service path {:?} is not absolute", words[2]));
                    }
                    rc.services.push(Service {
                        name: name.clone(),
                        path: words[2].clone(),
                        options: Vec::new(),
                    });
                    section = Section::Service;
                }
                "on" => {
                    let trigger = words[1..].join(" ");
                    errors.extend(
                        check_trigger(&trigger)
                            .into_iter()
                            .map(|e| format!("{at}: {e}")),
                    );
                    rc.actions.push(Action {
                        trigger,
                        commands: Vec::new(),
                    });
                    section = Section::Action;
                }
                "import" if words.len() == 2 => section = Section::None,
                other => {
                    errors.push(format!("{at}: unknown section keyword {other:?}"));
                    section = Section::None;
                }
            }
            continue;
        }
        let (word, args) = (words[0].clone(), words[1..].to_vec());
        match section {
            Section::None => errors.push(format!("{at}: {word:?} outside a section")),
            Section::Service => {
                match SERVICE_OPTIONS.iter().find(|(o, ..)| *o == word) {
                    None => errors.push(format!("{at}: unknown service option {word:?}")),
                    Some((_, min, max)) if args.len() < *min || args.len() > *max => {
                        errors.push(format!(
                            "{at}: {word} takes {min} to {max} arguments, not {}",
                            args.len()
                        ))
                    }
                    Some(_) => {}
                }
                match word.as_str() {
                    "user" | "group" => {
                        for a in &args {
                            if !aids.contains_key(a) {
                                errors.push(format!("{at}: {word} {a:?} is not a known AID"));
                            }
                        }
                    }
                    "capabilities" => {
                        for a in &args {
                            if !CAPABILITIES.contains(&a.as_str()) {
                                errors.push(format!("{at}: unknown capability {a:?}"));
                            }
                        }
                    }
                    _ => {}
                }
                let service = rc
                    .services
                    .last_mut()
                    .expect("a service section has a service");
                if service.options.iter().any(|(o, _)| *o == word) && word != "onrestart" {
                    errors.push(format!("{at}: option {word} given twice"));
                }
                service.options.push((word, args));
            }
            Section::Action => {
                match COMMANDS.iter().find(|(c, ..)| *c == word) {
                    None => errors.push(format!("{at}: unknown command {word:?}")),
                    Some((_, min, max)) if args.len() < *min || args.len() > *max => {
                        errors.push(format!(
                            "{at}: {word} takes {min} to {max} arguments, not {}",
                            args.len()
                        ))
                    }
                    Some(_) => {}
                }
                errors.extend(
                    check_command(&word, &args, aids)
                        .into_iter()
                        .map(|e| format!("{at}: {e}")),
                );
                rc.actions
                    .last_mut()
                    .expect("an action section has an action")
                    .commands
                    .push((word, args));
            }
        }
    }
    for action in &rc.actions {
        for (cmd, args) in &action.commands {
            if ["start", "stop", "restart", "enable"].contains(&cmd.as_str())
                && !rc.services.iter().any(|s| s.name == args[0])
            {
                errors.push(format!("{cmd} {}: no such service in this file", args[0]));
            }
        }
    }
    (rc, errors)
}

fn check_trigger(trigger: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if trigger.is_empty() {
        return vec!["`on` needs a trigger".into()];
    }
    let mut events = 0;
    for part in trigger.split("&&").map(str::trim) {
        if let Some(prop) = part.strip_prefix("property:") {
            match prop.split_once('=') {
                Some((name, value))
                    if !name.is_empty()
                        && !value.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "._-@:".contains(c)) => {}
                _ => errors.push(format!(
                    "bad property trigger {part:?} (property:name=value)"
                )),
            }
        } else if EVENTS.contains(&part) {
            events += 1;
        } else {
            errors.push(format!("unknown trigger {part:?}"));
        }
    }
    if events > 1 {
        errors.push(format!("{trigger:?} has more than one event trigger"));
    }
    errors
}

fn is_mode(s: &str) -> bool {
    (3..=4).contains(&s.len()) && s.chars().all(|c| ('0'..='7').contains(&c))
}

fn check_command(cmd: &str, args: &[String], aids: &BTreeMap<String, u32>) -> Vec<String> {
    let mut errors = Vec::new();
    let aid = |errors: &mut Vec<String>, a: &str| {
        if !aids.contains_key(a) {
            errors.push(format!("{cmd}: {a:?} is not a known AID"));
        }
    };
    let path = |errors: &mut Vec<String>, p: &str| {
        if !p.starts_with('/') {
            errors.push(format!("{cmd}: {p:?} is not an absolute path"));
        }
    };
    match cmd {
        "mkdir" => {
            path(&mut errors, &args[0]);
            let plain: Vec<&String> = args[1..]
                .iter()
                .filter(|a| !a.starts_with("encryption=") && !a.starts_with("key="))
                .collect();
            if let Some(mode) = plain.first() {
                if !is_mode(mode) {
                    errors.push(format!("mkdir: mode {mode:?} is not octal"));
                }
            }
            for a in plain.iter().skip(1) {
                aid(&mut errors, a);
            }
        }
        "chown" => {
            aid(&mut errors, &args[0]);
            aid(&mut errors, &args[1]);
            path(&mut errors, &args[2]);
        }
        "chmod" => {
            if !is_mode(&args[0]) {
                errors.push(format!("chmod: mode {:?} is not octal", args[0]));
            }
            path(&mut errors, &args[1]);
        }
        "write" | "rm" | "rmdir" | "restorecon" | "restorecon_recursive" => {
            path(&mut errors, &args[0]);
        }
        _ => {}
    }
    errors
}

/// memstat's own promises: memstatd is the binary Android.bp installs,
/// disabled in class main and started by `on property:bpf.progs_loaded=1`;
/// it runs as a known user in every group that owns its pins; its state
/// directory, the one memstatd.rs uses on Android, is made 0700 for that
/// user on post-fs-data.
fn lint_memstatd_service(
    rc: &InitRc,
    installed: &str,
    pin_groups: &BTreeSet<String>,
    daemon_source: &str,
) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(s) = rc.services.iter().find(|s| s.name == "memstatd") else {
        return vec!["no service memstatd".into()];
    };
    if s.path != installed {
        errors.push(format!(
            "service memstatd runs {}, but Android.bp installs it to {installed}",
            s.path
        ));
    }
    if s.option("disabled").is_none() {
        errors.push("memstatd is not disabled: class_start would start it before its pins".into());
    }
    if s.option("class") != Some(&["main".to_string()][..]) {
        errors.push("memstatd is not in class main".into());
    }
    if s.option("oneshot").is_some() {
        errors.push("memstatd is oneshot: init would not restart it".into());
    }
    let user = s.option("user").and_then(|u| u.first()).cloned();
    if user.is_none() {
        errors.push("memstatd has no user: it would run as root".into());
    }
    let groups: BTreeSet<String> = s.option("group").unwrap_or(&[]).iter().cloned().collect();
    for g in pin_groups {
        if !groups.contains(g) {
            errors.push(format!("memstatd is not in group {g}, which owns its pins"));
        }
    }
    let starts = rc.actions.iter().any(|a| {
        a.trigger == "property:bpf.progs_loaded=1"
            && a.commands
                .contains(&("start".into(), vec!["memstatd".into()]))
    });
    if !starts {
        errors.push("no `on property:bpf.progs_loaded=1` action starts memstatd".into());
    }
    let mkdirs: Vec<&Vec<String>> = rc
        .actions
        .iter()
        .filter(|a| a.trigger == "post-fs-data")
        .flat_map(|a| &a.commands)
        .filter(|(c, _)| c == "mkdir")
        .map(|(_, args)| args)
        .collect();
    let state = mkdirs
        .iter()
        .find(|args| daemon_source.contains(&format!("\"{}\"", args[0])));
    match (state, &user) {
        (None, _) => errors.push(
            "no mkdir on post-fs-data of the state directory memstatd.rs uses on Android".into(),
        ),
        (Some(args), Some(user)) => {
            let want = ["0700", user.as_str()];
            if args.len() < 3 || args[1] != want[0] || args[2] != want[1] {
                errors.push(format!(
                    "mkdir {}: must be mode 0700 and owned by {user}, is {:?}",
                    args[0],
                    &args[1..]
                ));
            }
        }
        (Some(_), None) => {}
    }
    errors
}

// ---------------------------------------------------------------------------
// SELinux policy

/// Platform types and attributes our policy names, each with the file of
/// AOSP system/sepolicy (Android 14 to 16) that declares it.
const PLATFORM_TYPES: &[(&str, &str)] = &[
    ("bpfdomain", "public/attributes"),
    ("core_data_file_type", "public/attributes"),
    ("coredomain", "public/attributes"),
    ("data_file_type", "public/attributes"),
    ("domain", "public/attributes"),
    ("exec_type", "public/attributes"),
    ("file_type", "public/attributes"),
    ("service_manager_type", "public/attributes"),
    ("system_file_type", "public/attributes"),
    ("bpfloader", "public/bpfloader.te"),
    ("dumpstate", "public/dumpstate.te"),
    ("init", "public/init.te"),
    ("servicemanager", "public/servicemanager.te"),
    ("shell", "public/shell.te"),
    ("bpf_progs_loaded_prop", "public/property.te"),
    ("debugfs_tracing", "public/file.te"),
    ("fs_bpf", "public/file.te"),
    ("packages_list_file", "public/file.te"),
    ("proc_bpf", "public/file.te"),
    ("proc_buddyinfo", "public/file.te"),
    ("proc_dirty", "public/file.te"),
    ("proc_meminfo", "public/file.te"),
    ("proc_overcommit_memory", "public/file.te"),
    ("proc_page_cluster", "public/file.te"),
    ("proc_pagetypeinfo", "public/file.te"),
    ("proc_pressure_mem", "public/file.te"),
    ("proc_random", "public/file.te"),
    ("proc_uptime", "public/file.te"),
    ("proc_vmstat", "public/file.te"),
    ("proc_watermark_boost_factor", "public/file.te"),
    ("proc_watermark_scale_factor", "public/file.te"),
    ("proc_zoneinfo", "public/file.te"),
    ("sysfs_devices_system_cpu", "public/file.te"),
    ("sysfs_transparent_hugepage", "public/file.te"),
];

/// Tracefs events the platform already labels debugfs_tracing
/// (private/genfs_contexts, Android 14 to 16): a second genfscon for the
/// same path is a policy build error.
const PLATFORM_LABELLED_EVENTS: &[&str] = &[
    "kmem/rss_stat",
    "oom/mark_victim",
    "vmscan/mm_vmscan_direct_reclaim_begin",
    "vmscan/mm_vmscan_direct_reclaim_end",
    "vmscan/mm_vmscan_kswapd_sleep",
    "vmscan/mm_vmscan_kswapd_wake",
];

/// Object classes our policy uses, with their permissions
/// (system/sepolicy private/access_vectors).
const CLASSES: &[(&str, &[&str])] = &[
    (
        "binder",
        &["call", "impersonate", "set_context_mgr", "transfer"],
    ),
    (
        "bpf",
        &[
            "map_create",
            "map_read",
            "map_write",
            "prog_load",
            "prog_run",
        ],
    ),
    ("fd", &["use"]),
    (
        "perf_event",
        &["cpu", "kernel", "open", "read", "tracepoint", "write"],
    ),
    ("service_manager", &["add", "find", "list"]),
];

/// Permissions common to file classes (private/access_vectors, `common file`).
const FILE_PERMS: &[&str] = &[
    "append",
    "audit_access",
    "create",
    "execmod",
    "execute",
    "getattr",
    "ioctl",
    "link",
    "lock",
    "map",
    "mounton",
    "open",
    "quotaon",
    "read",
    "relabelfrom",
    "relabelto",
    "rename",
    "setattr",
    "unlink",
    "watch",
    "watch_reads",
    "write",
];
const FILE_CLASSES: &[&str] = &[
    "chr_file",
    "dir",
    "fifo_file",
    "file",
    "lnk_file",
    "sock_file",
];
const DIR_PERMS: &[&str] = &["add_name", "remove_name", "reparent", "rmdir", "search"];
const FILE_ONLY_PERMS: &[&str] = &["entrypoint", "execute_no_trans"];

/// Permission-set macros of system/sepolicy public/global_macros.
const PERM_MACROS: &[&str] = &[
    "create_dir_perms",
    "create_file_perms",
    "r_dir_perms",
    "r_file_perms",
    "ra_dir_perms",
    "ra_file_perms",
    "rw_dir_perms",
    "rw_file_perms",
    "rx_file_perms",
    "w_dir_perms",
    "w_file_perms",
    "x_file_perms",
];

/// The te_macros our policy calls (system/sepolicy public/te_macros), and
/// the types each names: argument i, or argument i with a suffix; plus the
/// platform types the macro's expansion refers to.
fn macro_types(name: &str, args: &[String]) -> Option<Vec<String>> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let want = |n: usize| (args.len() == n).then_some(());
    Some(match name {
        "init_daemon_domain" => {
            want(1)?;
            vec![arg(0), format!("{}_exec", arg(0)), "init".into()]
        }
        "binder_use" => {
            want(1)?;
            vec![arg(0), "servicemanager".into()]
        }
        "binder_call" | "add_service" | "get_prop" | "r_dir_file" => {
            want(2)?;
            vec![arg(0), arg(1)]
        }
        _ => return None,
    })
}

#[derive(Debug, Default)]
struct Policy {
    /// Types and attributes declared in our files.
    declared: BTreeSet<String>,
    /// Every name used as a type or attribute, with where.
    used: Vec<(String, String)>,
}

fn te_tokens(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        let mut word = String::new();
        for c in line.chars() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                word.push(c);
            } else {
                if !word.is_empty() {
                    out.push((n + 1, std::mem::take(&mut word)));
                }
                if !c.is_whitespace() {
                    out.push((n + 1, c.to_string()));
                }
            }
        }
        if !word.is_empty() {
            out.push((n + 1, word));
        }
    }
    out
}

/// A set of names: `name`, `{ a b -c }`, `~name`, `*` or `self`.
fn te_set(t: &[(usize, String)], pos: &mut usize) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let one = |tok: &str, names: &mut Vec<String>| -> Result<(), String> {
        match tok {
            "-" | "~" | "*" => Ok(()),
            s if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                names.push(s.to_string());
                Ok(())
            }
            s => Err(format!("unexpected {s:?} in a set")),
        }
    };
    let tok = t.get(*pos).ok_or("unexpected end")?.1.clone();
    *pos += 1;
    if tok == "{" {
        loop {
            let tok = t.get(*pos).ok_or("unterminated {")?.1.clone();
            *pos += 1;
            if tok == "}" {
                break;
            }
            one(&tok, &mut names)?;
        }
    } else if tok == "~" {
        return te_set(t, pos);
    } else {
        one(&tok, &mut names)?;
    }
    Ok(names)
}

/// Parses a .te file and checks its statements: declarations, av rules with
/// known classes and permissions, type_transition, and known macros.
fn lint_te(file: &str, text: &str, policy: &mut Policy) -> Vec<String> {
    let t = te_tokens(text);
    let mut errors = Vec::new();
    let mut pos = 0;
    while pos < t.len() {
        let (line, word) = t[pos].clone();
        let at = format!("{file}:{line}");
        pos += 1;
        if let Err(e) = te_statement(&t, &mut pos, &word, &at, policy) {
            errors.push(format!("{at}: {e}"));
            // Resynchronise after the statement's `;` on this line.
            while pos < t.len() && t[pos - 1].1 != ";" && t[pos].0 == line {
                pos += 1;
            }
        }
    }
    errors
}

fn te_expect(t: &[(usize, String)], pos: &mut usize, what: &str) -> Result<(), String> {
    match t.get(*pos) {
        Some((_, s)) if s == what => {
            *pos += 1;
            Ok(())
        }
        other => Err(format!(
            "expected {what:?}, found {:?}",
            other.map(|o| &o.1)
        )),
    }
}

fn te_next_is(t: &[(usize, String)], pos: usize, what: &str) -> bool {
    t.get(pos).is_some_and(|x| x.1 == what)
}

fn te_statement(
    t: &[(usize, String)],
    pos: &mut usize,
    word: &str,
    at: &str,
    policy: &mut Policy,
) -> Result<(), String> {
    let mut used = |names: Vec<String>| {
        for n in names.into_iter().filter(|n| n != "self") {
            policy.used.push((n, at.to_string()));
        }
    };
    match word {
        "type" | "attribute" => {
            let names = te_set(t, pos)?;
            policy.declared.extend(names);
            if word == "type" {
                while te_next_is(t, *pos, ",") {
                    *pos += 1;
                    let attrs = te_set(t, pos)?;
                    for a in attrs {
                        policy.used.push((a, at.to_string()));
                    }
                }
            }
            te_expect(t, pos, ";")
        }
        "typeattribute" => {
            used(te_set(t, pos)?);
            loop {
                used(te_set(t, pos)?);
                if !te_next_is(t, *pos, ",") {
                    break;
                }
                *pos += 1;
            }
            te_expect(t, pos, ";")
        }
        "allow" | "neverallow" | "dontaudit" | "auditallow" => {
            used(te_set(t, pos)?);
            used(te_set(t, pos)?);
            te_expect(t, pos, ":")?;
            let classes = te_set(t, pos)?;
            let perms = te_set(t, pos)?;
            for c in &classes {
                check_perms(c, &perms)?;
            }
            te_expect(t, pos, ";")
        }
        "type_transition" => {
            used(te_set(t, pos)?);
            used(te_set(t, pos)?);
            te_expect(t, pos, ":")?;
            te_set(t, pos)?;
            used(te_set(t, pos)?);
            te_expect(t, pos, ";")
        }
        name if te_next_is(t, *pos, "(") => {
            *pos += 1;
            let mut args = vec![String::new()];
            loop {
                let tok = t.get(*pos).ok_or("unterminated macro call")?.1.clone();
                *pos += 1;
                match tok.as_str() {
                    ")" => break,
                    "," => args.push(String::new()),
                    s => args.last_mut().expect("one argument").push_str(s),
                }
            }
            let types = macro_types(name, &args).ok_or_else(|| {
                format!(
                    "unknown macro or wrong arguments: {name}({})",
                    args.join(", ")
                )
            })?;
            used(types);
            if te_next_is(t, *pos, ";") {
                *pos += 1;
            }
            Ok(())
        }
        other => Err(format!("unknown statement {other:?}")),
    }
}

fn check_perms(class: &str, perms: &[String]) -> Result<(), String> {
    let known: Vec<&str> = if FILE_CLASSES.contains(&class) {
        let mut v = FILE_PERMS.to_vec();
        if class == "dir" {
            v.extend(DIR_PERMS);
        }
        if class == "file" {
            v.extend(FILE_ONLY_PERMS);
        }
        v.extend(PERM_MACROS);
        v
    } else {
        CLASSES
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, p)| p.to_vec())
            .ok_or_else(|| format!("unknown class {class:?}"))?
    };
    for p in perms {
        if !known.contains(&p.as_str()) {
            return Err(format!("{p:?} is not a permission of {class}"));
        }
    }
    Ok(())
}

/// `u:object_r:TYPE:s0`, the only context form our contexts files use.
fn context_type(context: &str) -> Result<String, String> {
    match context.split(':').collect::<Vec<_>>().as_slice() {
        ["u", "object_r", ty, "s0"]
            if !ty.is_empty() && ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            Ok(ty.to_string())
        }
        _ => Err(format!("context {context:?} is not u:object_r:TYPE:s0")),
    }
}

/// A file_contexts path regex must be anchored at `/` and balanced.
fn check_path_regex(re: &str) -> Result<(), String> {
    if !re.starts_with('/') {
        return Err(format!("{re:?} does not start with /"));
    }
    let mut depth: Vec<char> = Vec::new();
    let mut escaped = false;
    for c in re.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '(' | '[' => depth.push(c),
            ')' if depth.pop() != Some('(') => return Err(format!("{re:?}: unbalanced ')'")),
            ']' if depth.pop() != Some('[') => return Err(format!("{re:?}: unbalanced ']'")),
            _ => {}
        }
    }
    if escaped || !depth.is_empty() {
        return Err(format!("{re:?}: unterminated"));
    }
    Ok(())
}

/// Lines of a contexts file without comments and blanks, numbered.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .map(|(n, l)| {
            (
                n + 1,
                l.split('#')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .collect(),
            )
        })
        .filter(|(_, w): &(usize, Vec<&str>)| !w.is_empty())
}

fn lint_file_contexts(text: &str, policy: &mut Policy) -> Vec<String> {
    let mut errors = Vec::new();
    for (n, w) in content_lines(text) {
        let at = format!("file_contexts:{n}");
        let (re, ctx) = match w.as_slice() {
            [re, ctx] => (re, ctx),
            [re, kind, ctx] if ["--", "-d", "-l", "-s", "-p", "-c", "-b"].contains(kind) => {
                (re, ctx)
            }
            _ => {
                errors.push(format!("{at}: expected `path-regex [type] context`"));
                continue;
            }
        };
        if let Err(e) = check_path_regex(re) {
            errors.push(format!("{at}: {e}"));
        }
        match context_type(ctx) {
            Ok(ty) => policy.used.push((ty, at)),
            Err(e) => errors.push(format!("{at}: {e}")),
        }
    }
    errors
}

/// genfs_contexts: `genfscon FS PATH CONTEXT`, each (FS, PATH) once. Returns
/// the tracefs event paths it labels, with their types.
fn lint_genfs_contexts(text: &str, policy: &mut Policy) -> (BTreeMap<String, String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    let mut events = BTreeMap::new();
    for (n, w) in content_lines(text) {
        let at = format!("genfs_contexts:{n}");
        let [kw, fs, path, ctx] = w.as_slice() else {
            errors.push(format!("{at}: expected `genfscon FS PATH CONTEXT`"));
            continue;
        };
        if *kw != "genfscon" {
            errors.push(format!("{at}: expected genfscon, found {kw:?}"));
            continue;
        }
        if !["tracefs", "debugfs", "proc", "sysfs", "bpf"].contains(fs) {
            errors.push(format!("{at}: unknown filesystem {fs:?}"));
        }
        if !path.starts_with('/') {
            errors.push(format!("{at}: path {path:?} does not start with /"));
        }
        if !seen.insert((fs.to_string(), path.to_string())) {
            errors.push(format!("{at}: {fs} {path} labelled twice"));
        }
        let ty = match context_type(ctx) {
            Ok(ty) => ty,
            Err(e) => {
                errors.push(format!("{at}: {e}"));
                continue;
            }
        };
        policy.used.push((ty.clone(), at.clone()));
        if *fs == "tracefs" {
            if let Some(rest) = path.strip_prefix("/events/") {
                match rest.strip_suffix('/') {
                    Some(ev) if ev.split('/').count() == 2 => {
                        events.insert(ev.to_string(), ty);
                    }
                    _ => errors.push(format!(
                        "{at}: {path:?} is not /events/<category>/<event>/ (the trailing / \
                         labels the event's files, not a prefix of other events)"
                    )),
                }
            }
        }
    }
    (events, errors)
}

fn lint_service_contexts(
    text: &str,
    policy: &mut Policy,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut services = BTreeMap::new();
    for (n, w) in content_lines(text) {
        let at = format!("service_contexts:{n}");
        let [name, ctx] = w.as_slice() else {
            errors.push(format!("{at}: expected `name context`"));
            continue;
        };
        match context_type(ctx) {
            Ok(ty) => {
                policy.used.push((ty.clone(), at.clone()));
                if services.insert(name.to_string(), ty).is_some() {
                    errors.push(format!("{at}: service {name} listed twice"));
                }
            }
            Err(e) => errors.push(format!("{at}: {e}")),
        }
    }
    (services, errors)
}

/// Every name used is declared here or is a documented platform type.
fn lint_declarations(policy: &Policy) -> Vec<String> {
    policy
        .used
        .iter()
        .filter(|(n, _)| {
            !policy.declared.contains(n) && !PLATFORM_TYPES.iter().any(|(p, _)| p == n)
        })
        .map(|(n, at)| {
            format!("{at}: {n} is declared neither in sepolicy/ nor in the platform list")
        })
        .collect()
}

/// Every tracefs event memstat attaches to is labelled debugfs_tracing,
/// either by our genfs_contexts or by the platform, never both; and our
/// genfs_contexts labels no event memstat does not attach to.
fn lint_events(events: &[String], ours: &BTreeMap<String, String>) -> Vec<String> {
    let mut errors = Vec::new();
    for ev in events {
        let platform = PLATFORM_LABELLED_EVENTS.contains(&ev.as_str());
        match (ours.get(ev), platform) {
            (Some(_), true) => errors.push(format!(
                "{ev}: the platform labels it already; a second genfscon breaks the policy build"
            )),
            (None, false) => errors.push(format!(
                "{ev}: memstat attaches to it, but no genfscon labels /events/{ev}/"
            )),
            (Some(ty), false) if ty != "debugfs_tracing" => {
                errors.push(format!("{ev}: labelled {ty}, not debugfs_tracing"))
            }
            _ => {}
        }
    }
    for ev in ours.keys() {
        if !events.contains(ev) {
            errors.push(format!(
                "/events/{ev}/ is labelled, but memstat attaches nothing there"
            ));
        }
    }
    errors
}

struct Sepolicy {
    policy: Policy,
    genfs_events: BTreeMap<String, String>,
    services: BTreeMap<String, String>,
    errors: Vec<String>,
}

fn lint_sepolicy_files(files: &[(&str, &str)]) -> Sepolicy {
    let mut policy = Policy::default();
    let mut errors = Vec::new();
    let mut genfs_events = BTreeMap::new();
    let mut services = BTreeMap::new();
    for (name, text) in files {
        if name.ends_with(".te") {
            errors.extend(lint_te(name, text, &mut policy));
        } else {
            match *name {
                "file_contexts" => errors.extend(lint_file_contexts(text, &mut policy)),
                "genfs_contexts" => {
                    let (ev, e) = lint_genfs_contexts(text, &mut policy);
                    genfs_events = ev;
                    errors.extend(e);
                }
                "service_contexts" => {
                    let (s, e) = lint_service_contexts(text, &mut policy);
                    services = s;
                    errors.extend(e);
                }
                other => errors.push(format!("{other}: not a policy file this lint knows")),
            }
        }
    }
    errors.extend(lint_declarations(&policy));
    if services.get("memstat").map(String::as_str) != Some("memstat_service") {
        errors.push("service_contexts does not map memstat to memstat_service".into());
    }
    Sepolicy {
        policy,
        genfs_events,
        services,
        errors,
    }
}

/// Every file of sepolicy/ but its README and the platform patch.
fn sepolicy_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(root().join("sepolicy"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md" && !n.ends_with(".patch"))
        .map(|n| {
            let text = read(&format!("sepolicy/{n}"));
            (n, text)
        })
        .collect();
    files.sort();
    files
}

fn lint_sepolicy() -> Sepolicy {
    let files = sepolicy_files();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    lint_sepolicy_files(&refs)
}

/// The tracefs events memstatd may attach to, one `category/event` a line,
/// from memstat itself.
fn memstat_events() -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .current_dir(root())
        .args([
            "run",
            "-q",
            "-p",
            "memstatd",
            "--bin",
            "memstat-objcheck",
            "--",
            "--events",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo}: {e}"));
    assert!(
        out.status.success(),
        "memstat-objcheck --events failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<String> = String::from_utf8(out.stdout)
        .expect("utf-8 event list")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    assert!(
        !events.is_empty(),
        "memstat-objcheck --events printed no event"
    );
    for ev in &events {
        assert!(
            ev.split('/').count() == 2 && !ev.contains(char::is_whitespace),
            "memstat-objcheck --events printed {ev:?}, not category/event"
        );
    }
    events
}

// ---------------------------------------------------------------------------
// The real files

#[test]
fn android_bp_builds_and_installs_what_init_and_the_bpfloader_need() {
    assert_clean(
        "Android.bp",
        &lint_android_bp(&android_bp(), &bpf_sources()),
    );
}

#[test]
fn init_rc_is_valid_and_starts_memstatd_as_android_bp_installs_it() {
    let aids = aids();
    let (rc, errors) = lint_init_rc(&read("init.rc"), &aids);
    assert_clean("init.rc", &errors);
    let modules = android_bp();
    let daemon = modules
        .iter()
        .find(|m| m.kind == "rust_binary" && m.name() == "memstatd")
        .expect("rust_binary memstatd");
    let installed = install_path(daemon).expect("memstatd installs somewhere");
    let groups = pin_groups();
    assert!(
        groups.contains("system"),
        "the pins are owned by group system: {groups:?}"
    );
    assert_clean(
        "init.rc",
        &lint_memstatd_service(
            &rc,
            &installed,
            &groups,
            &read("memstatd/src/bin/memstatd.rs"),
        ),
    );
}

#[test]
fn sepolicy_declares_what_it_uses_and_parses() {
    let s = lint_sepolicy();
    assert_clean("sepolicy", &s.errors);
    assert!(s.policy.declared.contains("memstatd"));
    assert!(s.services.contains_key("memstat"));
}

#[test]
fn every_tracepoint_memstat_attaches_is_readable_by_memstatd() {
    let s = lint_sepolicy();
    assert_clean("sepolicy", &s.errors);
    assert_clean(
        "genfs_contexts",
        &lint_events(&memstat_events(), &s.genfs_events),
    );
}

#[test]
fn the_platform_patch_names_memstatd_in_every_list_it_touches() {
    let patch = read("sepolicy/system-sepolicy.patch");
    let added: Vec<&str> = patch
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    let removed = patch
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .count();
    assert!(!added.is_empty());
    for l in &added {
        assert!(
            l.contains("memstatd"),
            "the patch adds a line without memstatd: {l}"
        );
    }
    for file in ["a/private/bpfloader.te", "a/private/coredomain.te"] {
        assert!(
            patch.contains(&format!("--- {file}")),
            "the patch does not touch {file}"
        );
    }
    // Each changed neverallow line is the same rule with memstatd added.
    let pairs: Vec<(String, String)> = patch
        .lines()
        .zip(patch.lines().skip(1))
        .filter(|(a, b)| a.starts_with("-neverallow") && b.starts_with("+neverallow"))
        .map(|(a, b)| {
            (
                a[1..].split_whitespace().collect(),
                b[1..].split_whitespace().collect(),
            )
        })
        .map(|(a, b): (Vec<&str>, Vec<&str>)| {
            let b: Vec<&str> = b.into_iter().filter(|w| *w != "-memstatd").collect();
            (a.join(" "), b.join(" "))
        })
        .collect();
    assert_eq!(
        pairs.len(),
        removed,
        "every removed line has its replacement"
    );
    for (before, after) in pairs {
        assert_eq!(before, after, "the patch changes more than the domain list");
    }
}

// ---------------------------------------------------------------------------
// Each lint rejects what it must

const GOOD_RC: &str = "\
on post-fs-data
    mkdir /data/misc/memstat 0700 system system

on property:bpf.progs_loaded=1
    start memstatd

service memstatd /system/bin/memstatd
    class main
    user system
    group system package_info readtracefs
    disabled
";

const DAEMON_SOURCE: &str =
    r#"state_dir: if android { "/data/misc/memstat" } else { "/var/lib/memstat" }"#;

fn rc_errors(text: &str) -> Vec<String> {
    let aids = aids();
    let (rc, mut errors) = lint_init_rc(text, &aids);
    let groups: BTreeSet<String> = ["system".to_string()].into();
    errors.extend(lint_memstatd_service(
        &rc,
        "/system/bin/memstatd",
        &groups,
        DAEMON_SOURCE,
    ));
    errors
}

#[test]
fn the_good_init_rc_fixture_passes() {
    assert_clean("fixture", &rc_errors(GOOD_RC));
}

#[test]
fn rejects_bad_init_rc() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "    user system\n",
            "    usr system\n",
            "unknown service option \"usr\"",
        ),
        (
            "    user system\n",
            "    user sytem\n",
            "\"sytem\" is not a known AID",
        ),
        ("    user system\n", "", "has no user"),
        (
            "    disabled\n",
            "    disabled yes\n",
            "disabled takes 0 to 0 arguments",
        ),
        ("    disabled\n", "", "memstatd is not disabled"),
        ("    disabled\n", "    disabled\n    oneshot\n", "oneshot"),
        ("    class main\n", "    class core\n", "not in class main"),
        (
            " system package_info",
            " package_info",
            "not in group system",
        ),
        (
            "/system/bin/memstatd\n",
            "/vendor/bin/memstatd\n",
            "Android.bp installs it to",
        ),
        (
            "    start memstatd",
            "    start memstat",
            "start memstat: no such service",
        ),
        (
            "    start memstatd",
            "    begin memstatd",
            "unknown command \"begin\"",
        ),
        ("=1\n", "\n", "bad property trigger"),
        ("on property", "on propery", "unknown trigger"),
        (
            "on post-fs-data",
            "on post-fs-data && boot",
            "more than one event trigger",
        ),
        (" 0700 system", " 0799 system", "mode \"0799\" is not octal"),
        (" 0700 system", " 0755 system", "must be mode 0700"),
        (
            "/data/misc/memstat ",
            "/data/misc/memstatd ",
            "no mkdir on post-fs-data",
        ),
        (
            "service memstatd",
            "serv memstatd",
            "unknown section keyword",
        ),
        (
            "    class main\n",
            "    class main \\\n",
            "line continuations",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(GOOD_RC.contains(from), "the fixture has {from:?}");
        let text = GOOD_RC.replacen(from, to, 1);
        assert_rejects(&rc_errors(&text), expected);
    }
    // A second definition of the service.
    let twice = format!("{GOOD_RC}\nservice memstatd /system/bin/memstatd\n    user system\n");
    assert_rejects(&rc_errors(&twice), "defined twice");
    // An option outside any section.
    assert_rejects(
        &rc_errors(&format!("    user system\n{GOOD_RC}")),
        "outside a section",
    );
}

#[test]
fn reads_aids_from_the_filesystem_config_header() {
    let aids = parse_aids("#define AID_ROOT 0\n#define AID_SYSTEM 1000\n/* AID_X */\n");
    assert_eq!(aids.get("system"), Some(&1000));
    assert_eq!(aids.len(), 2);
    assert!(self::aids().contains_key("readtracefs"));
    assert_eq!(
        aid_names("DEFINE_BPF_MAP_GRW(m, ARRAY, uint32_t, v, 1, AID_SYSTEM)"),
        BTreeSet::from(["system".to_string()])
    );
}

const GOOD_BP: &str = r#"
// A comment.
bpf {
    name: "memStatA.o",
    srcs: ["bpf_progs/memStatA.c"],
    btf: false,
}

rust_binary {
    name: "memstatd",
    srcs: ["memstatd/src/bin/memstatd.rs"],
    required: [
        "memStatA.o",
        "memstatd.rc",
    ],
}

prebuilt_etc {
    name: "memstatd.rc",
    src: "init.rc",
    filename: "memstatd.rc",
    relative_install_path: "init",
}
"#;

fn bp_errors(text: &str, sources: &[&str]) -> Vec<String> {
    match parse_bp(text) {
        Ok(m) => lint_android_bp(
            &m,
            &sources.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ),
        Err(e) => vec![e],
    }
}

#[test]
fn rejects_bad_android_bp() {
    assert_clean("fixture", &bp_errors(GOOD_BP, &["memStatA.c"]));
    assert_rejects(
        &bp_errors(GOOD_BP, &["memStatA.c", "memStatB.c"]),
        "memStatB.c has no bpf",
    );
    assert_rejects(&bp_errors(GOOD_BP, &[]), "has no bpf_progs/memStatA.c");
    let cases: &[(&str, &str, &str)] = &[
        ("btf: false", "btf: true", "btf must be false"),
        (
            "\"memStatA.o\",\n        \"memstatd.rc\"",
            "\"memstatd.rc\"",
            "does not require memStatA.o",
        ),
        (
            "\"memStatA.o\",\n        \"memstatd.rc\",",
            "\"memStatA.o\",",
            "does not require memstatd.rc",
        ),
        (
            "relative_install_path: \"init\",",
            "",
            "not /system/etc/init/memstatd.rc",
        ),
        (
            "srcs: [\"memstatd/src/bin/memstatd.rs\"],",
            "stem: \"memstat-daemon\",",
            "not /system/bin/memstatd",
        ),
        (
            "src: \"init.rc\"",
            "src: \"memstatd.rc\"",
            "no module installs init.rc",
        ),
        (
            "name: \"memstatd\",",
            "name: \"memstatd\",\n    name: \"x\",",
            "given twice",
        ),
        ("    btf: false,\n}", "    btf: false,\n", "expected ':'"),
    ];
    for (from, to, expected) in cases {
        assert!(GOOD_BP.contains(from), "the fixture has {from:?}");
        assert_rejects(
            &bp_errors(&GOOD_BP.replacen(from, to, 1), &["memStatA.c"]),
            expected,
        );
    }
}

const GOOD_TE: &str = "\
type memstatd, domain, coredomain;
type memstatd_exec, system_file_type, exec_type, file_type;
typeattribute memstatd bpfdomain;
init_daemon_domain(memstatd)
allow memstatd fs_bpf:file { read write };
allow memstatd bpfloader:bpf { map_read map_write prog_run };
allow memstatd self:perf_event { cpu kernel open write };
allow memstatd { proc_vmstat proc_zoneinfo }:file r_file_perms;
binder_call(shell, memstatd)
";

fn te_errors(te: &str) -> Vec<String> {
    let files = [
        ("memstatd.te", te),
        (
            "service.te",
            "type memstat_service, service_manager_type;\n",
        ),
        (
            "service_contexts",
            "memstat u:object_r:memstat_service:s0\n",
        ),
    ];
    lint_sepolicy_files(&files).errors
}

#[test]
fn rejects_bad_te() {
    assert_clean("fixture", &te_errors(GOOD_TE));
    let cases: &[(&str, &str, &str)] = &[
        ("fs_bpf:file", "fs_bpff:file", "fs_bpff is declared neither"),
        (
            "self:perf_event { cpu kernel",
            "self:perf_event { cpu kernal",
            "\"kernal\" is not a permission of perf_event",
        ),
        ("bpfloader:bpf", "bpfloader:bpff", "unknown class \"bpff\""),
        ("r_file_perms", "r_file_perm", "not a permission of file"),
        (
            "init_daemon_domain(memstatd)",
            "init_daemon(memstatd)",
            "unknown macro",
        ),
        (
            "init_daemon_domain(memstatd)",
            "init_daemon_domain(memstatd, x)",
            "wrong arguments",
        ),
        (
            "binder_call(shell, memstatd)",
            "binder_call(shel, memstatd)",
            "shel is declared neither",
        ),
        (
            "type memstatd_exec,",
            "type memstatd_exe,",
            "memstatd_exec is declared neither",
        ),
        (
            "typeattribute memstatd bpfdomain",
            "typeattribute memstatd bpfdomains",
            "bpfdomains is declared neither",
        ),
        ("{ read write };", "{ read write }", "expected \";\""),
        (
            "allow memstatd self",
            "alow memstatd self",
            "unknown statement \"alow\"",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(GOOD_TE.contains(from), "the fixture has {from:?}");
        assert_rejects(&te_errors(&GOOD_TE.replacen(from, to, 1)), expected);
    }
}

#[test]
fn rejects_bad_contexts_files() {
    let lint = |name: &str, text: &str| {
        let files = [
            ("memstatd.te", GOOD_TE),
            (
                "service.te",
                "type memstat_service, service_manager_type;\n",
            ),
            (
                "service_contexts",
                "memstat u:object_r:memstat_service:s0\n",
            ),
            (name, text),
        ];
        lint_sepolicy_files(&files).errors
    };
    assert_clean(
        "fixture",
        &lint(
            "file_contexts",
            "/system/bin/memstatd u:object_r:memstatd_exec:s0\n",
        ),
    );
    assert_rejects(
        &lint("file_contexts", "/system/bin/memstatd u:object_r:nope:s0\n"),
        "nope is declared neither",
    );
    assert_rejects(
        &lint(
            "file_contexts",
            "/system/bin/memstatd u:r:memstatd_exec:s0\n",
        ),
        "is not u:object_r:TYPE:s0",
    );
    assert_rejects(
        &lint(
            "file_contexts",
            "/data/misc/memstat(/.* u:object_r:memstatd_exec:s0\n",
        ),
        "unterminated",
    );
    assert_rejects(
        &lint("file_contexts", "data/x u:object_r:memstatd_exec:s0\n"),
        "does not start with /",
    );
    assert_rejects(
        &lint("file_contexts", "/x -q u:object_r:memstatd_exec:s0\n"),
        "path-regex [type] context",
    );
    let genfs = "genfscon tracefs /events/kmem/kfree/ u:object_r:debugfs_tracing:s0\n";
    assert_clean("fixture", &lint("genfs_contexts", genfs));
    assert_rejects(&lint("genfs_contexts", &genfs.repeat(2)), "labelled twice");
    assert_rejects(
        &lint("genfs_contexts", &genfs.replace("tracefs", "tracfs")),
        "unknown filesystem",
    );
    assert_rejects(
        &lint("genfs_contexts", &genfs.replace("kfree/", "kfree")),
        "is not /events/",
    );
    assert_rejects(
        &lint("genfs_contexts", &genfs.replace("genfscon", "genfs")),
        "expected genfscon",
    );
    assert_rejects(
        &lint(
            "genfs_contexts",
            &genfs.replace("debugfs_tracing", "debugfs_tracin"),
        ),
        "debugfs_tracin is declared neither",
    );
    assert_rejects(
        &lint("sepolicy_contexts", ""),
        "not a policy file this lint knows",
    );
    // service_contexts: the memstat service and well-formed lines.
    let svc = |text: &str| {
        let files = [
            (
                "service.te",
                "type memstat_service, service_manager_type;\n",
            ),
            ("service_contexts", text),
        ];
        lint_sepolicy_files(&files).errors
    };
    assert_clean("fixture", &svc("memstat u:object_r:memstat_service:s0\n"));
    assert_rejects(
        &svc("memstats u:object_r:memstat_service:s0\n"),
        "does not map memstat",
    );
    assert_rejects(&svc("memstat\n"), "expected `name context`");
    assert_rejects(
        &svc("memstat u:object_r:memstat_service:s0\nmemstat u:object_r:memstat_service:s0\n"),
        "listed twice",
    );
}

#[test]
fn rejects_unlabelled_doubly_labelled_and_stale_events() {
    let ours: BTreeMap<String, String> = [
        ("kmem/kfree".to_string(), "debugfs_tracing".to_string()),
        ("kmem/kmalloc".to_string(), "debugfs_tracing".to_string()),
    ]
    .into();
    let events = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_clean(
        "fixture",
        &lint_events(
            &events(&["kmem/kfree", "kmem/kmalloc", "oom/mark_victim"]),
            &ours,
        ),
    );
    assert_rejects(
        &lint_events(
            &events(&["kmem/kfree", "kmem/kmalloc", "kmem/mm_page_free"]),
            &ours,
        ),
        "kmem/mm_page_free: memstat attaches to it, but no genfscon",
    );
    assert_rejects(
        &lint_events(&events(&["kmem/kfree"]), &ours),
        "/events/kmem/kmalloc/ is labelled, but memstat attaches nothing",
    );
    let mut doubled = ours.clone();
    doubled.insert("kmem/rss_stat".into(), "debugfs_tracing".into());
    assert_rejects(
        &lint_events(
            &events(&["kmem/kfree", "kmem/kmalloc", "kmem/rss_stat"]),
            &doubled,
        ),
        "the platform labels it already",
    );
    let mut wrong = ours.clone();
    wrong.insert("kmem/kfree".into(), "debugfs_tracing_debug".into());
    assert_rejects(
        &lint_events(&events(&["kmem/kfree", "kmem/kmalloc"]), &wrong),
        "not debugfs_tracing",
    );
}
