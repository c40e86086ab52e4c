//! Android's UID names: the packages of /data/system/packages.list, the
//! platform's AIDs, and the names Android gives the rest of each user's
//! range.
//!
//! packages.list is written by PackageManager (`Settings.
//! writePackageListLPrInternal`), one package per line, space-separated:
//!
//! ```text
//! name appId debuggable dataDir seinfo gids profileableFromShell versionCode profileable installer
//! com.android.chrome 10118 0 /data/user/0/com.android.chrome default:targetSdkVersion=34 3002,3003,3001 0 663311933 1 com.android.vending
//! ```
//!
//! Earlier writers wrote fewer fields: first name, appId, debuggable and
//! dataDir; then seinfo and gids (`none` when empty); then
//! profileableFromShell and versionCode; then profileable and installer
//! (`@system`, `@product`, `@null` or a package). Only name and appId are
//! used here and later fields are ignored, so fields to come do no harm.
//! Packages of a shared UID (`sharedUserId`) have a line each with the same
//! appId; the writer skips packages whose data directory holds a space, and
//! APEXes.
//!
//! A UID is `userId * 100000 + appId`. packages.list says nothing of users,
//! isolated processes or which app an isolated UID serves, so:
//!
//! | appId | name (user 0 / user 10) |
//! |---|---|
//! | an AID | `system` / `u10_system` (as getpwuid) |
//! | 10000–19999, listed | `com.foo` / `com.foo (user 10)`; several packages: `com.a,com.b` |
//! | 10000–19999, not listed | `u0_a123` / `u10_a123` (appId − 10000, as getpwuid) |
//! | 20000–29999: SDK sandbox of app appId − 10000 | `com.foo (sdk sandbox)` / `com.foo (sdk sandbox, user 10)`, or `u0_a123 (sdk sandbox)` |
//! | 30000–39999: private compute core component of app appId − 20000 (Android 17) | `com.foo (pcc component)`, ... |
//! | 90000–98999: isolated, spawned by an app zygote | `u0_i12 (app zygote)` |
//! | 99000–99999: isolated | `u0_i9005 (isolated)` |
//! | 2900–2999, 5000–5999: vendor | a listed package, else `oem_2901` (user 0 only, as getpwuid) |
//!
//! Only an AID wins over a listed package: UID 1000 is `system` although
//! Settings and other packages share it, since system_server is what runs
//! under it. In other users getpwuid names only the AIDs that have
//! processes there (system, radio, log, nfc, bluetooth, shell,
//! secure_element, network_stack); the others are named the same way here.
//!
//! Isolated UIDs are handed out at process start, so which app one serves is
//! not knowable from files; they get getpwuid's name (`u<user>_i<appId −
//! 90000>`, one count over both ranges, so they match `ps`) and what kind
//! of isolated process it is. (`UserHandle.formatUid`, which dumpsys uses,
//! writes 99005, 90012 and 10123 as `u0i5`, `u0ai12` and `u0a123`.) The
//! shared app GIDs (50000–59999) and the cache and external-storage GID
//! ranges are never UIDs, so they get no name.

use super::aid;
use std::collections::HashMap;
use std::fmt;

const PER_USER_RANGE: u32 = 100_000;
const APPS: std::ops::RangeInclusive<u32> = 10_000..=19_999;
const SDK_SANDBOXES: std::ops::RangeInclusive<u32> = 20_000..=29_999;
const PCC_COMPONENTS: std::ops::RangeInclusive<u32> = 30_000..=39_999;
const APP_ZYGOTE_ISOLATED: std::ops::RangeInclusive<u32> = 90_000..=98_999;
const ISOLATED: std::ops::RangeInclusive<u32> = 99_000..=99_999;

/// Lines read at most; a device has a few hundred to a few thousand.
pub const MAX_LINES: usize = 100_000;
/// Longer lines are skipped (a line is typically 100 to 300 bytes).
const MAX_LINE: usize = 4096;
/// A package name is also a directory name under /data/user/<user>.
const MAX_PACKAGE_NAME: usize = 255;
/// The packages of a shared UID are listed up to this length, then counted.
const MAX_SHOWN: usize = 64;

/// The packages of each appId, as shown: sorted, comma-separated, bounded.
#[derive(Debug, Default)]
pub struct Packages {
    by_app: HashMap<u32, Box<str>>,
}

impl Packages {
    fn of(&self, app_id: u32) -> Option<&str> {
        self.by_app.get(&app_id).map(|s| &**s)
    }
}

/// packages.list, read.
#[derive(Debug)]
pub struct Parsed {
    pub packages: Packages,
    /// Lines skipped as malformed.
    pub skipped: usize,
    /// The first of them, and why.
    pub first_skipped: Option<String>,
    /// Set when reading stopped at `MAX_LINES`.
    pub stopped: bool,
}

/// Reads packages.list text. Malformed lines are skipped and counted; blank
/// lines are not lines.
pub fn parse(text: &str) -> Parsed {
    let mut by_app: HashMap<u32, Vec<&str>> = HashMap::new();
    let mut skipped = 0;
    let mut first_skipped = None;
    let mut stopped = false;
    for (i, line) in text.lines().enumerate() {
        if i == MAX_LINES {
            stopped = true;
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        match package(line) {
            Ok((name, app_id)) => by_app.entry(app_id).or_default().push(name),
            Err(why) => {
                skipped += 1;
                first_skipped.get_or_insert_with(|| format!("line {}: {why}", i + 1));
            }
        }
    }
    let by_app = by_app
        .into_iter()
        .map(|(app_id, names)| (app_id, shown(names)))
        .collect();
    Parsed {
        packages: Packages { by_app },
        skipped,
        first_skipped,
        stopped,
    }
}

/// The package name and appId of one line.
fn package(line: &str) -> Result<(&str, u32), String> {
    if line.len() > MAX_LINE {
        return Err(format!("longer than {MAX_LINE} bytes"));
    }
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [name, uid, debuggable, data_dir, ..] = fields[..] else {
        return Err(format!(
            "{} fields in {}; a package name, appId, debuggable flag and data directory \
             come first",
            fields.len(),
            excerpt(line)
        ));
    };
    let valid_name = (1..=MAX_PACKAGE_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    if !valid_name {
        return Err(format!("{} is not a package name", excerpt(name)));
    }
    let app_id: u32 = uid
        .parse()
        .map_err(|_| format!("the appId {} of {name} is not a number", excerpt(uid)))?;
    if app_id >= PER_USER_RANGE {
        return Err(format!(
            "the appId {app_id} of {name} is not below {PER_USER_RANGE}"
        ));
    }
    if debuggable != "0" && debuggable != "1" {
        return Err(format!(
            "the debuggable flag {} of {name} is not 0 or 1",
            excerpt(debuggable)
        ));
    }
    if !data_dir.starts_with('/') {
        return Err(format!(
            "the data directory {} of {name} is not an absolute path",
            excerpt(data_dir)
        ));
    }
    Ok((name, app_id))
}

/// A bad value quoted, at most 40 characters of it.
fn excerpt(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((end, _)) => format!("{:?}...", &s[..end]),
        None => format!("{s:?}"),
    }
}

/// The packages of one appId: sorted, joined with commas while they fit in
/// `MAX_SHOWN` bytes (the first always shows), then `,+N more`.
fn shown(mut names: Vec<&str>) -> Box<str> {
    names.sort_unstable();
    names.dedup();
    let mut shown = String::from(names[0]);
    let mut listed = 1;
    for name in &names[1..] {
        if shown.len() + 1 + name.len() > MAX_SHOWN {
            break;
        }
        shown.push(',');
        shown.push_str(name);
        listed += 1;
    }
    if listed < names.len() {
        shown.push_str(&format!(",+{} more", names.len() - listed));
    }
    shown.into_boxed_str()
}

/// A UID's name: one that exists already, or how to make one.
#[derive(Debug, PartialEq)]
pub enum Name<'a> {
    Known(&'a str),
    Made(Made<'a>),
}

/// A name made from a UID's parts; its `Display` is the name.
#[derive(Debug, PartialEq)]
pub struct Made<'a> {
    user: u32,
    who: Who<'a>,
    /// What kind of process, for those that are not the app itself.
    what: Option<&'static str>,
}

#[derive(Debug, PartialEq)]
enum Who<'a> {
    Aid(&'static str),
    Oem(u32),
    Packages(&'a str),
    /// appId − 10000 of an app packages.list does not list.
    App(u32),
    /// appId − 90000, as getpwuid counts isolated UIDs.
    Isolated(u32),
}

impl fmt::Display for Made<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = self.user;
        match self.who {
            Who::Aid(aid) => write!(f, "u{user}_{aid}")?,
            Who::Oem(id) => write!(f, "oem_{id}")?,
            Who::Packages(packages) => f.write_str(packages)?,
            Who::App(n) => write!(f, "u{user}_a{n}")?,
            Who::Isolated(n) => write!(f, "u{user}_i{n}")?,
        }
        // Package names say nothing of the user: the note does.
        let user_note = matches!(self.who, Who::Packages(_)) && user != 0;
        match (self.what, user_note) {
            (Some(what), true) => write!(f, " ({what}, user {user})"),
            (Some(what), false) => write!(f, " ({what})"),
            (None, true) => write!(f, " (user {user})"),
            (None, false) => Ok(()),
        }
    }
}

/// The name of `uid` on Android, if it has one.
pub fn name(uid: u32, packages: &Packages) -> Option<Name<'_>> {
    let user = uid / PER_USER_RANGE;
    let app_id = uid % PER_USER_RANGE;
    let made = |who, what| Some(Name::Made(Made { user, who, what }));
    if let Some(aid) = aid::name(app_id) {
        return match user {
            0 => Some(Name::Known(aid)),
            _ => made(Who::Aid(aid), None),
        };
    }
    // An app's own UID, or one of the processes it has in its name.
    let (app, what) = match app_id {
        id if APPS.contains(&id) => (id, None),
        id if SDK_SANDBOXES.contains(&id) => (id - 10_000, Some("sdk sandbox")),
        id if PCC_COMPONENTS.contains(&id) => (id - 20_000, Some("pcc component")),
        id if APP_ZYGOTE_ISOLATED.contains(&id) => {
            return made(Who::Isolated(id - 90_000), Some("app zygote"))
        }
        id if ISOLATED.contains(&id) => return made(Who::Isolated(id - 90_000), Some("isolated")),
        id if id < 10_000 => {
            return match packages.of(id) {
                Some(p) if user == 0 => Some(Name::Known(p)),
                Some(p) => made(Who::Packages(p), None),
                None if user == 0 && aid::is_oem(id) => made(Who::Oem(id), None),
                None => None,
            };
        }
        _ => return None,
    };
    match packages.of(app) {
        Some(p) if user == 0 && what.is_none() => Some(Name::Known(p)),
        Some(p) => made(Who::Packages(p), what),
        None => made(Who::App(app - 10_000), what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of each era's format: libpackagelistparser's test (6 and 8
    /// fields), Perfetto's packages.list fixture (10 fields), and lines in
    /// the current writer's format with a shared UID, a system UID and a
    /// vendor one.
    const PACKAGES_LIST: &str = "\
com.test.a0 10014 0 /data/user/0/com.test.a0 platform:privapp:targetSdkVersion=19 none
com.test.a1 10007 1 /data/user/0/com.test.a1 platform:privapp:targetSdkVersion=21 1023
com.test.a2 10011 0 /data/user/0/com.test.a2 media:privapp:targetSdkVersion=30 2001,1065,1023,3003,3007,1024
com.test.a3 10022 0 /data/user/0/com.test.a3 selabel:blah none 1 123
com.package.name 10001 0 /data/user/0/com.package.name platform:privapp:targetSdkVersion=29 1065,3003 0 500 0 @system
com.android.chrome 10118 0 /data/user/0/com.android.chrome default:targetSdkVersion=34 3002,3003,3001 0 663311933 1 com.android.vending
com.android.providers.media 10047 0 /data/user/0/com.android.providers.media media:privapp:targetSdkVersion=34 1023,1015,3003,1077 0 34 1 @system
com.android.providers.downloads 10047 0 /data/user/0/com.android.providers.downloads media:privapp:targetSdkVersion=34 1023,1015,3003,1077 0 34 1 @system
com.android.mtp 10047 0 /data/user/0/com.android.mtp media:privapp:targetSdkVersion=34 1023,1015,3003,1077 0 34 1 @system
com.android.settings 1000 0 /data/user_de/0/com.android.settings platform:system_app:targetSdkVersion=34 3002,3003,3001,1007 0 34 1 @system
com.vendor.tool 2901 0 /data/user/0/com.vendor.tool platform:targetSdkVersion=34 none 0 1 0 @product
";

    fn packages() -> Packages {
        let parsed = parse(PACKAGES_LIST);
        assert_eq!((parsed.skipped, parsed.stopped), (0, false));
        parsed.packages
    }

    fn named(uid: u32, packages: &Packages) -> Option<String> {
        name(uid, packages).map(|n| match n {
            Name::Known(s) => s.to_owned(),
            Name::Made(m) => m.to_string(),
        })
    }

    fn check(packages: &Packages, cases: &[(u32, Option<&str>)]) {
        for &(uid, want) in cases {
            assert_eq!(named(uid, packages).as_deref(), want, "uid {uid}");
        }
    }

    #[test]
    fn apps_by_package() {
        let p = packages();
        check(
            &p,
            &[
                (10014, Some("com.test.a0")),
                (10007, Some("com.test.a1")),
                (10011, Some("com.test.a2")),
                (10022, Some("com.test.a3")),
                (10001, Some("com.package.name")),
                (10118, Some("com.android.chrome")),
                (10999, Some("u0_a999")),
                (10000, Some("u0_a0")),
                (19999, Some("u0_a9999")),
            ],
        );
    }

    #[test]
    fn a_shared_uid_lists_its_packages_in_order_within_bounds() {
        let p = packages();
        // 79 bytes in full: two fit in 64.
        check(
            &p,
            &[(
                10047,
                Some("com.android.mtp,com.android.providers.downloads,+1 more"),
            )],
        );
        let p = parse(
            "com.b 10050 0 /data/user/0/com.b x none\n\
             com.a 10050 0 /data/user/0/com.a x none\n\
             com.c 10050 0 /data/user/0/com.c x none\n",
        )
        .packages;
        check(
            &p,
            &[
                (10050, Some("com.a,com.b,com.c")),
                (1_010_050, Some("com.a,com.b,com.c (user 10)")),
            ],
        );
        // One name longer than the bound still shows, whole.
        let long = "a".repeat(200);
        let p = parse(&format!(
            "{long} 10060 0 /data/user/0/x x none\nb 10060 0 /data/user/0/b x none\n"
        ))
        .packages;
        assert_eq!(named(10060, &p), Some(format!("{long},+1 more")));
    }

    #[test]
    fn other_users() {
        let p = packages();
        check(
            &p,
            &[
                (1_010_118, Some("com.android.chrome (user 10)")),
                (1_110_118, Some("com.android.chrome (user 11)")),
                (1_010_999, Some("u10_a999")),
                (1_001_000, Some("u10_system")),
                (1_001_001, Some("u10_radio")),
                (1_002_000, Some("u10_shell")),
                (100_000, Some("u1_root")),
            ],
        );
    }

    #[test]
    fn isolated_and_app_zygote_uids_say_what_they_are() {
        let p = packages();
        check(
            &p,
            &[
                (99_000, Some("u0_i9000 (isolated)")),
                (99_005, Some("u0_i9005 (isolated)")),
                (99_999, Some("u0_i9999 (isolated)")),
                (90_000, Some("u0_i0 (app zygote)")),
                (90_012, Some("u0_i12 (app zygote)")),
                (98_999, Some("u0_i8999 (app zygote)")),
                (1_099_005, Some("u10_i9005 (isolated)")),
                (1_090_012, Some("u10_i12 (app zygote)")),
            ],
        );
    }

    #[test]
    fn sdk_sandboxes_and_pcc_components_go_with_their_app() {
        let p = packages();
        check(
            &p,
            &[
                (20_118, Some("com.android.chrome (sdk sandbox)")),
                (1_020_118, Some("com.android.chrome (sdk sandbox, user 10)")),
                (20_999, Some("u0_a999 (sdk sandbox)")),
                (1_020_999, Some("u10_a999 (sdk sandbox)")),
                (
                    20_047,
                    Some("com.android.mtp,com.android.providers.downloads,+1 more (sdk sandbox)"),
                ),
                (30_118, Some("com.android.chrome (pcc component)")),
                (
                    1_030_118,
                    Some("com.android.chrome (pcc component, user 10)"),
                ),
                (30_999, Some("u0_a999 (pcc component)")),
            ],
        );
    }

    #[test]
    fn system_uids_by_aid_then_package_then_vendor_range() {
        let p = packages();
        check(
            &p,
            &[
                (0, Some("root")),
                // com.android.settings shares it, but it is system_server's.
                (1000, Some("system")),
                (1013, Some("media")),
                (2000, Some("shell")),
                (65_534, Some("overflowuid")),
                (2901, Some("com.vendor.tool")),
                (1_002_901, Some("com.vendor.tool (user 10)")),
                (2902, Some("oem_2902")),
                (5999, Some("oem_5999")),
                (1_002_902, None),
                (1022, None),
                (6000, None),
            ],
        );
    }

    #[test]
    fn gid_only_ranges_have_no_name() {
        let p = packages();
        for uid in [
            40_000, 49_999, 50_000, 50_118, 59_999, 60_000, 69_999, 89_999,
        ] {
            assert_eq!(named(uid, &p), None, "{uid}");
        }
    }

    #[test]
    fn no_packages_still_names_aids_and_ranges() {
        let p = Packages::default();
        check(
            &p,
            &[
                (1000, Some("system")),
                (10_118, Some("u0_a118")),
                (20_118, Some("u0_a118 (sdk sandbox)")),
                (1_010_118, Some("u10_a118")),
                (99_001, Some("u0_i9001 (isolated)")),
            ],
        );
    }

    #[test]
    fn malformed_lines_are_skipped_and_counted() {
        let parsed = parse(
            "com.good 10100 0 /data/user/0/com.good default:targetSdkVersion=34 none 0 1 1 @null\n\
             \n\
             com.short 10101\n\
             com.nouid abc 0 /data/user/0/com.nouid x none\n\
             com.big 1010102 0 /data/user/0/com.big x none\n\
             com.flag 10103 yes /data/user/0/com.flag x none\n\
             com.rel 10104 0 data/com.rel x none\n\
             com/slash 10105 0 /data/user/0/x x none\n\
             com.caf\u{e9} 10106 0 /data/user/0/x x none\n\
             com.crlf 10107 0 /data/user/0/com.crlf x none\r\n\
             \x00\x01\x02 garbage\n",
        );
        assert_eq!(parsed.skipped, 8);
        assert_eq!(
            parsed.first_skipped.as_deref(),
            Some(
                "line 3: 2 fields in \"com.short 10101\"; a package name, appId, debuggable \
                 flag and data directory come first"
            )
        );
        let p = parsed.packages;
        assert_eq!(p.by_app.len(), 2);
        check(
            &p,
            &[
                (10100, Some("com.good")),
                (10107, Some("com.crlf")),
                (10101, Some("u0_a101")),
            ],
        );
    }

    #[test]
    fn each_reason_names_the_bad_value() {
        let why = |line: &str| package(line).unwrap_err();
        assert_eq!(
            why("com.x abc 0 /d x none"),
            "the appId \"abc\" of com.x is not a number"
        );
        assert_eq!(
            why("com.x 1010102 0 /d x none"),
            "the appId 1010102 of com.x is not below 100000"
        );
        assert_eq!(
            why("com.x 10 2 /d x none"),
            "the debuggable flag \"2\" of com.x is not 0 or 1"
        );
        assert_eq!(
            why("com.x 10 0 d x none"),
            "the data directory \"d\" of com.x is not an absolute path"
        );
        assert_eq!(why("a:b 10 0 /d"), "\"a:b\" is not a package name");
        let long = "x".repeat(256);
        assert_eq!(
            why(&format!("{long} 10 0 /d")),
            format!("\"{}\"... is not a package name", "x".repeat(40))
        );
        assert_eq!(
            why(&format!("a 10 0 /{}", "d".repeat(MAX_LINE))),
            "longer than 4096 bytes"
        );
    }

    #[test]
    fn reading_stops_after_max_lines() {
        let mut text = String::new();
        for i in 0..MAX_LINES + 10 {
            text.push_str(&format!(
                "p{i} {} 0 /data/user/0/p x none\n",
                10_000 + i % 10_000
            ));
        }
        let parsed = parse(&text);
        assert!(parsed.stopped);
        assert_eq!(parsed.skipped, 0);
        assert_eq!(parsed.packages.by_app.len(), 10_000);
        // 10 names per appId, 65 bytes in full: the last is counted.
        assert_eq!(
            parsed.packages.of(10_000),
            Some("p0,p10000,p20000,p30000,p40000,p50000,p60000,p70000,p80000,+1 more")
        );
        assert_eq!(
            parsed.packages.of(10_005),
            Some("p10005,p20005,p30005,p40005,p5,p50005,p60005,p70005,p80005,+1 more")
        );
    }
}
