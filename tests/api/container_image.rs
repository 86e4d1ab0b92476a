//! The container image, checked without Docker: the binary started as the `Dockerfile`'s
//! runtime stage starts it (its environment only, not root, in a working directory it
//! cannot write), and the build context `.dockerignore` leaves.

use std::{os::unix::fs::MetadataExt, path::PathBuf, time::Duration};

use crate::harness::{Service, as_image_user, give_to_image_user, http, wait_for_status};

const DOCKERFILE: &str = include_str!("../../Dockerfile");
const DOCKERIGNORE: &str = include_str!("../../.dockerignore");

/// The Dockerfile's instructions, keyword and arguments, with continuation lines joined
/// and comments dropped.
fn instructions() -> Vec<(String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in DOCKERFILE.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
        .iter()
        .filter_map(|line| {
            let (keyword, args) = line.split_once(char::is_whitespace)?;
            Some((keyword.to_ascii_uppercase(), args.trim().to_owned()))
        })
        .collect()
}

/// The instructions of the last stage: the image that runs.
fn runtime_stage() -> Vec<(String, String)> {
    let all = instructions();
    let from = all
        .iter()
        .rposition(|(keyword, _)| keyword == "FROM")
        .expect("a FROM");
    all[from + 1..].to_vec()
}

fn runtime(keyword: &str) -> Vec<String> {
    runtime_stage()
        .into_iter()
        .filter(|(k, _)| k == keyword)
        .map(|(_, args)| args)
        .collect()
}

/// The runtime stage's `ENV`, in `KEY=value` form (the one this Dockerfile uses).
pub fn image_env() -> Vec<(String, String)> {
    runtime("ENV")
        .iter()
        .flat_map(|args| {
            args.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|pair| {
            assert!(
                !pair.contains('"'),
                "ENV {pair}: quoted values are not read here"
            );
            let (key, value) = pair.split_once('=').expect("ENV KEY=value");
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

fn image_database_url() -> String {
    image_env()
        .into_iter()
        .find_map(|(key, value)| (key == "DATABASE_URL").then_some(value))
        .expect("the image sets DATABASE_URL")
}

/// A working directory like the image's `/app` (the image user may read it, not write it)
/// and a volume like its `/data` (the image user's).
struct ImageDirs {
    _root: tempfile::TempDir,
    app: PathBuf,
    data: PathBuf,
}

fn image_dirs() -> ImageDirs {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().expect("temporary directory");
    let chmod = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    chmod(root.path(), 0o755);
    let app = root.path().join("app");
    let data = root.path().join("data");
    std::fs::create_dir(&app).expect("app");
    std::fs::create_dir(&data).expect("data");
    chmod(&app, 0o555);
    give_to_image_user(&data);
    ImageDirs {
        _root: root,
        app,
        data,
    }
}

/// The image's environment but its DATABASE_URL, on a port of the OS's choosing so that it
/// cannot meet another service's.
fn image_env_but_database_url() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = image_env()
        .into_iter()
        .filter(|(key, _)| !["DATABASE_URL", "HOST", "PORT"].contains(&key.as_str()))
        .collect();
    env.extend([
        ("HOST".into(), "127.0.0.1".into()),
        ("PORT".into(), "0".into()),
    ]);
    env
}

#[tokio::test]
async fn without_a_database_url_in_the_images_read_only_workdir_each_command_stops_with_one_line_naming_it()
 {
    let dirs = image_dirs();
    for command in ["serve", "migrate"] {
        let output = as_image_user(&dirs.app)
            .arg(command)
            .envs(image_env_but_database_url())
            // Empty counts as unset: `docker run -e DATABASE_URL= ...`.
            .env("DATABASE_URL", "")
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(20), output)
            .await
            .unwrap_or_else(|_| panic!("{command} kept running"))
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{command}: {stderr}");
        assert!(
            stderr.starts_with("invalid configuration: DATABASE_URL: cannot open sqlite://"),
            "{command}: {stderr}"
        );
        assert!(stderr.contains("set DATABASE_URL"), "{command}: {stderr}");
    }
    let left = std::fs::read_dir(&dirs.app).expect("app").count();
    assert_eq!(left, 0, "nothing was written to the working directory");
}

#[tokio::test]
async fn the_images_own_database_url_points_into_its_volume_and_serves_from_there() {
    let url = image_database_url();
    let volumes = runtime("VOLUME");
    let volume = volumes
        .iter()
        .find(|volume| url.starts_with(&format!("sqlite://{volume}/")))
        .unwrap_or_else(|| panic!("{url} is on none of the image's volumes {volumes:?}"));

    let user = runtime("USER").pop().expect("the image names its user");
    assert!(
        !["root", "0"].contains(&user.split(':').next().unwrap_or_default()),
        "the image runs as {user}"
    );

    let dirs = image_dirs();
    // The volume mounted here, not at its path in the image.
    let local_url = url.replacen(
        &format!("sqlite://{volume}/"),
        &format!("sqlite://{}/", dirs.data.display()),
        1,
    );
    let vars = image_env_but_database_url();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let service = Service::start_as_image_user(&local_url, &dirs.app, &vars).await;
    wait_for_status(
        &http(),
        &service.url("/health/ready"),
        200,
        Duration::from_secs(20),
    )
    .await;

    let probe = as_image_user(&dirs.app)
        .args(["probe", "ready", "--url", &service.base])
        .output()
        .await
        .expect("runs");
    assert_eq!(
        probe.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let file = std::fs::read_dir(&dirs.data)
        .expect("data")
        .flatten()
        .find(|entry| entry.file_name() == "flatmates.db")
        .expect("the database file is on the volume");
    let owner = file.metadata().expect("metadata").uid();
    assert_ne!(owner, 0, "the service ran as root");
    assert_eq!(std::fs::read_dir(&dirs.app).expect("app").count(), 0);
}

#[test]
fn the_build_context_holds_only_what_the_build_copies_and_never_target_or_env_files() {
    let lines: Vec<&str> = DOCKERIGNORE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    assert_eq!(lines.first(), Some(&"*"), "everything is left out first");
    let copied: Vec<String> = instructions()
        .into_iter()
        .filter(|(keyword, args)| keyword == "COPY" && !args.starts_with("--from"))
        .flat_map(|(_, args)| {
            let mut parts: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
            parts.pop(); // the destination
            parts
        })
        .collect();
    assert!(!copied.is_empty());
    for source in &copied {
        assert!(
            lines.contains(&format!("!{source}").as_str()),
            "COPY {source} but .dockerignore leaves it out of the context"
        );
    }
    // Last, so that no exception above brings them back.
    let tail = &lines[lines.len() - 2..];
    assert_eq!(tail, ["**/target", "**/.env"]);
}
