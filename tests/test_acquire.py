"""Acquisition: mirror copy, and the official download path against a real local HTTP server."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from ids_utils import acquire
from ids_utils.acquire import AcquireError

from .conftest import MIRROR


class _Server(http.server.ThreadingHTTPServer):
    files: dict[str, bytes]
    requests: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    """/ok/NAME serves the file; /truncated/NAME promises more bytes than it sends; else 404."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.requests.append(self.path)
        mode, _, name = self.path.strip("/").partition("/")
        body = self.server.files.get(name)
        if body is None or mode not in ("ok", "truncated"):
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body) + (5_000 if mode == "truncated" else 0)))
        self.end_headers()
        self.wfile.write(body if mode == "ok" else body[: len(body) // 2])
        self.wfile.flush()
        if mode == "truncated":
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server(original_fixture):
    text = Path(original_fixture).read_text().splitlines(keepends=True)
    names = acquire.official_part_names(3)
    files = {
        name: "".join([text[0], *text[1 + 30 * i : 31 + 30 * i]]).encode()
        for i, name in enumerate(names)
    }
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests = files, []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _folder(dest: Path) -> Path:
    return dest / "ciciot2023" / "original"


def test_download_records_checksums_then_verifies(server, tmp_path):
    httpd, url = server
    names = acquire.official_part_names(3)
    done = acquire.download_official(tmp_path, f"{url}/ok/", names, progressbar=False)
    assert [d["action"] for d in done] == ["downloaded"] * 3
    registry = acquire.read_registry(_folder(tmp_path) / acquire.REGISTRY_NAME)
    for name in names:
        assert (_folder(tmp_path) / name).read_bytes() == httpd.files[name]
        assert registry[name] == acquire.sha256(_folder(tmp_path) / name)
        assert (_folder(tmp_path) / name).stat().st_mode & 0o044 == 0o044  # shared, as data is
    requests_before = len(httpd.requests)
    again = acquire.download_official(tmp_path, f"{url}/ok/", names, progressbar=False)
    assert [d["action"] for d in again] == ["present"] * 3
    assert len(httpd.requests) == requests_before  # nothing downloaded twice


def test_wrong_checksum_is_refused_and_leaves_no_file(server, tmp_path):
    _, url = server
    name = acquire.official_part_names(1)[0]
    _folder(tmp_path).mkdir(parents=True)
    acquire.write_registry(_folder(tmp_path) / acquire.REGISTRY_NAME, {name: "0" * 64})
    with pytest.raises(AcquireError, match=name):
        acquire.download_official(tmp_path, f"{url}/ok/", [name], retries=1, progressbar=False)
    assert sorted(p.name for p in _folder(tmp_path).iterdir()) == [acquire.REGISTRY_NAME]


def test_not_found_fails_cleanly(server, tmp_path):
    _, url = server
    name = acquire.official_part_names(1)[0]
    with pytest.raises(AcquireError, match="404"):
        acquire.download_official(tmp_path, f"{url}/gone/", [name], retries=0, progressbar=False)
    assert not any(p.suffix == ".csv" or "tmp" in p.name for p in _folder(tmp_path).iterdir())


def test_truncated_response_is_retried_then_fails_without_partial_file(server, tmp_path):
    httpd, url = server
    name = acquire.official_part_names(1)[0]
    with pytest.raises(AcquireError, match="after 3 attempt"):
        acquire.download_official(
            tmp_path, f"{url}/truncated/", [name], retries=2, progressbar=False
        )
    assert len(httpd.requests) == 3
    assert list(_folder(tmp_path).iterdir()) == []


def test_a_file_changed_after_download_is_detected(server, tmp_path):
    _, url = server
    name = acquire.official_part_names(1)[0]
    acquire.download_official(tmp_path, f"{url}/ok/", [name], progressbar=False)
    (_folder(tmp_path) / name).write_text("tampered\n")
    with pytest.raises(AcquireError, match="sha256 differs"):
        acquire.download_official(tmp_path, f"{url}/ok/", [name], progressbar=False)


def test_malformed_registry(tmp_path):
    path = tmp_path / acquire.REGISTRY_NAME
    path.write_text("not a checksum line\n")
    with pytest.raises(AcquireError, match="line 1"):
        acquire.read_registry(path)


def test_part_names_follow_the_official_pattern():
    names = acquire.official_part_names()
    assert len(names) == 169
    assert names[0] == "part-00000-363d1ba3-8ab5-4f96-bc25-4d5862db7cb9-c000.csv"
    assert names[-1].startswith("part-00168-")


@pytest.mark.skipif(not MIRROR.is_dir(), reason="the offline mirror is not beside this clone")
def test_mirror_copy_places_files_and_is_idempotent(tmp_path):
    first = acquire.copy_from_mirror(MIRROR, tmp_path)
    assert {d["action"] for d in first} == {"copied"}
    assert (tmp_path / "ciciot2023" / "merged" / "CICIoT2023_merged_sample.csv").is_file()
    assert (tmp_path / "ciciot2023" / "fixtures" / "CICIoT2023_original_sample.csv").is_file()
    assert not (tmp_path / "ciciot2023" / "original").exists()  # a fixture is never a source
    assert all(Path(d["dest"]).stat().st_mode & 0o044 == 0o044 for d in first)
    assert {d["action"] for d in acquire.copy_from_mirror(MIRROR, tmp_path)} == {"present"}


def test_corrupt_mirror_file_is_refused(tmp_path, merged_sample):
    mirror = tmp_path / "mirror" / "ciciot2023"
    mirror.mkdir(parents=True)
    (mirror / "CICIoT2023_merged_sample.csv").write_bytes(Path(merged_sample).read_bytes()[:-10])
    with pytest.raises(AcquireError, match="sha256 differs"):
        acquire.copy_from_mirror(tmp_path / "mirror", tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
