#!/usr/bin/env python3
"""Checks every vendored crate (vendor/<dir>/ with a PATCHES.md) against the crate as published.

For each one: the published crate of the same name and version is fetched through cargo (the
registry is the only network this needs), and
- every vendored file not listed in PATCHES.md ("## Files that differ from the published crate",
  lines "- `path` ...") is byte-identical to the published one;
- every listed file does differ (or is new), and exists;
- the patch file beside it (vendor/<dir>.patch, the code changes under src/, ready to propose
  upstream) applied to the published crate gives exactly the vendored src/.
So an upgrade, an accidental edit or a stale PATCHES.md fails the suite.

Usage: scripts/check-vendor.py [--write-patch]   (--write-patch regenerates the .patch files)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTED = re.compile(r"^- `([^`]+)`")
HEADING = "## Files that differ from the published crate"
# Files of ours inside a vendored tree, not part of the crate.
OWN = {"PATCHES.md"}


def listed_files(patches_md: Path) -> set[str]:
    """The paths listed under HEADING (until the next heading)."""
    files, inside = set(), False
    for line in patches_md.read_text().splitlines():
        if line.startswith("## "):
            inside = line.strip() == HEADING
            continue
        m = LISTED.match(line) if inside else None
        if m:
            files.add(m.group(1))
    return files


def published(name: str, version: str, work: Path) -> Path:
    """The published crate's source directory, fetched through cargo."""
    project = work / "fetch"
    (project / "src").mkdir(parents=True)
    (project / "src" / "lib.rs").write_text("")
    (project / "Cargo.toml").write_text(
        f'[package]\nname = "vendor-check"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n'
        f'[dependencies]\n{name} = "={version}"\n[workspace]\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}
    subprocess.run(["cargo", "fetch", "--quiet"], cwd=project, check=True, env=env)
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--quiet"], cwd=project, check=True, capture_output=True, env=env
        ).stdout
    )
    for p in meta["packages"]:
        if p["name"] == name and p["version"] == version:
            return Path(p["manifest_path"]).parent
    sys.exit(f"check-vendor: cargo did not fetch {name} {version}")


def files_of(tree: Path) -> set[str]:
    return {str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file()}


def src_patch(upstream: Path, vendored: Path, work: Path) -> str:
    """`diff -ruN` of src/, with a/ and b/ prefixes (applies with `git apply` in the crate root)."""
    a, b = work / "a", work / "b"
    shutil.copytree(upstream / "src", a / "src")
    shutil.copytree(vendored / "src", b / "src")
    out = subprocess.run(["diff", "-ruN", "a", "b"], cwd=work, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"check-vendor: diff failed: {out.stderr}")
    # No file times in the headers: the patch is the same whenever it is regenerated.
    return "".join(
        line.split("\t", 1)[0] + "\n" if line.startswith(("--- ", "+++ ")) else line
        for line in out.stdout.splitlines(keepends=True)
    )


def check(dir_: Path, write_patch: bool) -> list[str]:
    cargo = tomllib.loads((dir_ / "Cargo.toml").read_text())["package"]
    name, version = cargo["name"], cargo["version"]
    listed = listed_files(dir_ / "PATCHES.md")
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        upstream = published(name, version, work)
        ours = files_of(dir_) - OWN
        theirs = files_of(upstream)
        for f in sorted(ours):
            new = f not in theirs
            same = not new and (dir_ / f).read_bytes() == (upstream / f).read_bytes()
            if f in listed and same:
                problems.append(f"{dir_.name}/{f} is listed in PATCHES.md but equals the published file")
            elif f not in listed and new:
                problems.append(f"{dir_.name}/{f} is not in the published crate and not listed in PATCHES.md")
            elif f not in listed and not same:
                problems.append(f"{dir_.name}/{f} differs from the published {name} {version} but is not listed in PATCHES.md")
        for f in sorted(listed - ours):
            problems.append(f"PATCHES.md lists {f}, which {dir_.name}/ does not have")
        patch_file = dir_.parent / f"{dir_.name}.patch"
        expected = src_patch(upstream, dir_, work)
        if write_patch:
            patch_file.write_text(expected)
        elif not patch_file.exists():
            problems.append(f"{patch_file.relative_to(ROOT)} is missing (scripts/check-vendor.py --write-patch)")
        else:
            # The patch must turn the published src/ into ours, exactly.
            applied = work / "applied"
            shutil.copytree(upstream / "src", applied / "src")
            res = subprocess.run(["git", "apply", str(patch_file)], cwd=applied, capture_output=True, text=True)
            if res.returncode != 0:
                problems.append(f"{patch_file.relative_to(ROOT)} does not apply to the published {name} {version}: {res.stderr.strip()}")
            else:
                diff = subprocess.run(["diff", "-r", str(applied / "src"), str(dir_ / "src")], capture_output=True, text=True)
                if diff.returncode != 0:
                    problems.append(f"{patch_file.relative_to(ROOT)} applied to the published crate is not {dir_.name}/src:\n{diff.stdout}")
    print(f"check-vendor: {dir_.name} ({name} {version}): {len(listed)} listed file(s), {'ok' if not problems else 'FAILED'}")
    return problems


def main() -> None:
    write_patch = "--write-patch" in sys.argv[1:]
    problems = []
    for dir_ in sorted((ROOT / "vendor").iterdir()):
        if (dir_ / "PATCHES.md").exists():
            problems += check(dir_, write_patch)
    for p in problems:
        print(f"check-vendor: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
